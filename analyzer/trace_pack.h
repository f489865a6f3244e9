// Packing a finished trace in place: every chunk re-encoded by the address model
// (chunk_packing.h) and compressed with zstd, in packs of consecutive chunks of one stream. The
// records read back are the same, byte for byte; the file is about an eighth of its size.
#pragma once

#include <cstdint>
#include <string>

namespace tidemark {

struct PackOutcome {
  uint64_t bytes_before = 0, bytes_after = 0;
  uint64_t allocations = 0;    // Alloc records in the chunks that were modeled
  size_t chunks = 0, raw_chunks = 0;
  size_t packs = 0, packs_by_stack = 0;  // packs made, and of them by the third rules (Modeled3)
  std::string left_as_is;      // when not packed: why (already packed, aggregate mode, damaged)
  bool nothing_to_pack = false;  // left as it is because it is packed already or in aggregate mode
};

// Packs the trace at path in place (a new file renamed over it, with its permissions). Throws Error
// for a file that is not a readable trace or cannot be written; a trace that is already packed, in
// aggregate mode (no records to pack) or damaged (kept as found) is left as it is, and says why.
// zstd's level 6. On the bench workload (17.5 M allocations, one core, 64 names per size class,
// Free names by allocations ago): level 3 gave 1.63 bytes per allocation in 3.5 s, 6 1.41 in 4.5 s,
// 9 1.37 in 5.1 s, 12 1.33 in 7.3 s; with packs of 8 MiB, 19 gave 1.12 in 82 s. Level 6 with 128
// names: 1.29 in 4.4 s; with the Free names as ranks, 1.19; by the second rules (chunk_packing.h,
// Modeled2), 1.10, and a pandas script's 1.99 -> 1.28; each pack by the second rules or the third
// (Modeled3), whichever zstd makes smaller, 0.92 on the bench workload. The packs are made on every
// core (up to 4), a batch at a time.
PackOutcome packTrace(const std::string& path, int zstd_level = 6);

}  // namespace tidemark
