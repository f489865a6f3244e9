// Packing a trace's chunks: the same records, byte for byte, in a fraction of the space.
//
// A full trace spends most of its bytes on addresses (each a delta from the one before, 3 to 5
// bytes). Most of them are predictable from the trace itself: malloc hands out the block of the
// same size that was freed most recently, and a free releases a block whose allocation is in the
// same stretch of the stream. The address model names an Alloc's address by its place among the
// recently freed blocks of its size class, and a Free's by its block's rank among the live blocks
// (or, for an old block, how many allocations ago it was made); zstd then finds the repetitions of a program's loops in what is left. Unpacking rebuilds
// every chunk exactly, so the reader (trace_reader.h) and everything after it are unchanged.
//
// The packed file (packs of chunks, zstd) is written by trace_pack.h and read by trace_reader.h;
// its layout is in include/tidemark/trace_format.h (PackHeader) and docs/trace-format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "tidemark/trace_format.h"

namespace tidemark {

// The names of addresses within one pack. The packer and the unpacker make the same changes in the
// same order, so a name means the same address to both. Starts afresh in every pack.
class AddressModel {
 public:
  void reset();

  // Packing: the name of an Alloc's address (0: none, the address is written out).
  uint64_t nameAllocation(uint64_t address, uint64_t size);
  // Packing: the name of a Free's address (0: its block was not allocated in this pack). A block
  // of the last kRankedWithin allocations is named by its rank among the live blocks, counted from
  // the last (1: the newest live block, whatever was freed after it was made); an older one by
  // kRankedWithin + how many allocations ago it was made.
  uint64_t nameRelease(uint64_t address);
  static constexpr uint64_t kRankedWithin = 4096;

  // Unpacking: the address a name stands for (for name 0, address is the one written out); false
  // when no address has that name (a damaged pack).
  bool allocationNamed(uint64_t name, uint64_t size, uint64_t& address);
  bool releaseNamed(uint64_t name, uint64_t& address);

  // The Alloc records seen since the last reset.
  uint64_t allocations() const { return blocks_.size(); }

 private:
  static uint64_t sizeClass(uint64_t size);
  void released(uint64_t ordinal);

  // The latest freed addresses of one size class, newest last; the oldest goes when it is full.
  class RecentlyFreed {
   public:
    static constexpr uint32_t kCapacity = 128;
    void push(uint64_t address);
    // The name of address: 1 for the newest, 2 for the one before, ...; 0 when it is not here.
    uint64_t nameOf(uint64_t address) const;
    // Takes out the address named name (1 ≤ name ≤ size()).
    uint64_t take(uint64_t name);
    uint32_t size() const { return count_; }

   private:
    uint64_t& at(uint32_t i) { return slots_[(head_ + i) % kCapacity]; }  // i-th oldest
    const uint64_t& at(uint32_t i) const { return slots_[(head_ + i) % kCapacity]; }
    uint64_t slots_[kCapacity];
    uint32_t head_ = 0, count_ = 0;
  };
  RecentlyFreed& freedOfClass(uint64_t size_class);

  struct Block {
    uint64_t address;
    uint64_t size_class;
  };
  std::vector<Block> blocks_;                                  // by allocation ordinal in the pack
  std::vector<uint64_t> live_;                                 // a bit per ordinal: not yet named in a Free
  void setLive(uint64_t ordinal, bool live);
  bool isLive(uint64_t ordinal) const { return live_[ordinal / 64] >> (ordinal % 64) & 1; }
  uint64_t liveFrom(uint64_t ordinal) const;       // live blocks of this ordinal and after
  bool ordinalOfRank(uint64_t rank, uint64_t& ordinal) const;  // within the last kRankedWithin
  std::unordered_map<uint64_t, uint64_t> latest_;              // packer: address -> its latest ordinal
  // Size classes below kDirectClasses (blocks under 4 KiB) by index, the others by hash.
  static constexpr uint64_t kDirectClasses = 257;
  std::vector<RecentlyFreed> direct_freed_;
  std::unordered_map<uint64_t, RecentlyFreed> other_freed_;
};

// One chunk's body (its bytes after the ChunkHeader, without the zeros after its last record) in
// the modeled encoding. False when the chunk is not a plain run of whole records followed by zeros
// (a chunk cut by the end of the file, damage): such a chunk is kept raw.
bool packChunkBody(const uint8_t* chunk, size_t length, uint32_t version, AddressModel& model,
                   std::vector<uint8_t>& body);
// The chunk (length bytes: its header, then its records, then zeros) from a modeled body. False
// when the body is damaged; out is then unspecified.
bool unpackChunkBody(const format::ChunkHeader& header, const uint8_t* body, size_t body_bytes, size_t length,
                     uint32_t version, AddressModel& model, std::vector<uint8_t>& out);

}  // namespace tidemark
