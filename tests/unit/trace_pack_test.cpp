// Packing (analyzer/trace_pack.h): a packed trace gives back every record exactly as it was
// written, in every stream and chunk; damage stays visible; traces that must not be packed are
// left alone; a damaged packed trace is read or refused with one line, never a crash.
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "chunk_packing.h"
#include "error.h"
#include "replay.h"
#include "trace_builder.h"
#include "trace_pack.h"
#include "trace_reader.h"

using namespace tidemark;
using tmtest::TraceBuilder;

namespace {

std::string tempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tm-pack-" + std::to_string(getpid()) + "-" + name)).string();
}

std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <class T>
uint8_t* encode(const Record& r, uint8_t* bytes, format::ChunkDeltas& deltas) {
  const auto& rec = r.get<T>();
  format::RecordEncoder<T> e(bytes, deltas, 0, rec);
  if constexpr (format::HasElements<T>)
    for (const auto& element : rec.elements) e.add(element);
  return e.end();
}

// Every record as the tracker would encode it, with its seq and stream: two traces that give the
// same text hold the same records in the same order.
std::string recordsOf(const std::string& path, std::vector<std::string>* warnings = nullptr) {
  TraceReader reader(path);
  std::string out;
  reader.forEach([&](const Record& r) {
    uint8_t bytes[1 << 16];
    format::ChunkDeltas deltas{};
    uint8_t* end = bytes;
    switch (r.type) {
#define TM_ENCODE_CASE(name, code) \
  case format::RecordType::name: end = encode<format::name>(r, bytes, deltas); break;
      TIDEMARK_RECORD_TYPES(TM_ENCODE_CASE)
#undef TM_ENCODE_CASE
      case format::RecordType::End:
      case format::RecordType::Count: break;
    }
    bytes[0] = static_cast<uint8_t>(r.type);
    out += std::to_string(r.seq) + ":" + std::to_string(r.stream) + ":";
    out.append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(end - bytes));
    out += '\n';
  });
  if (warnings) *warnings = reader.warnings();
  return out;
}

// A program's life in three threads over many 4 KiB chunks: blocks of a few sizes freed and made
// again (malloc's reuse, which the model names), long-lived blocks freed much later, reallocs,
// mappings, frees of blocks from before the trace, frees in another thread than the allocation.
TraceBuilder busyTrace() {
  TraceBuilder b(4096);
  b.processInfo(1, 42, "/bin/prog", "prog");
  b.stackDef(2, 1, {0x401000, 0x401100});
  b.stackDef(3, 2, {0x401200, 0x401100});
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint64_t, uint64_t>> live;  // (address, size)
  std::vector<uint64_t> freed[4];
  uint64_t seq = 10, next_address = 0x5500'0000'0000;
  for (int i = 0; i < 6000; ++i) {
    uint32_t stream = 1 + static_cast<uint32_t>(rng() % 3);
    b.onStream(stream);
    switch (rng() % 8) {
      case 0: case 1: case 2: {  // a block of one of four sizes, from the freed ones when there are
        size_t c = rng() % 4;
        uint64_t size = 24 + 40 * c;
        uint64_t address = next_address;
        if (!freed[c].empty() && rng() % 4) {
          address = freed[c].back();
          freed[c].pop_back();
        } else {
          next_address += 4096;
        }
        b.alloc(seq++, 1 + static_cast<uint32_t>(c % 2), address, size);
        live.emplace_back(address, size);
        break;
      }
      case 3: case 4: {
        if (live.empty()) break;
        size_t k = rng() % 3 ? live.size() - 1 - rng() % std::min<size_t>(live.size(), 4) : rng() % live.size();
        b.free(seq++, live[k].first);
        freed[(live[k].second - 24) / 40].push_back(live[k].first);
        live.erase(live.begin() + static_cast<ptrdiff_t>(k));
        break;
      }
      case 5:
        if (!live.empty()) {
          uint64_t moved = next_address += 8192;
          b.realloc(seq++, 2, live.back().first, moved, 300);
          live.pop_back();
        }
        break;
      case 6:
        b.free(seq++, 0x1000 + 16 * (rng() % 1000));  // a block from before the trace
        break;
      case 7:
        if (rng() % 4 == 0) b.mmap(seq++, 2, 0x7f00'0000'0000 + 4096 * (rng() % 100), 1 << 20);
        else b.sample(seq, seq * 1000, 1 << 24), ++seq;
        break;
    }
  }
  b.exit(seq, seq * 1000);
  return b;
}

}  // namespace

TEST(TracePack, EveryRecordComesBackExactly) {
  std::string path = tempPath("busy.tmtrace");
  busyTrace().write(path);
  std::string before = recordsOf(path);
  uint64_t bytes_before = std::filesystem::file_size(path);
  PackOutcome o = packTrace(path);
  ASSERT_EQ(o.left_as_is, "");
  EXPECT_EQ(o.raw_chunks, 0u);
  EXPECT_GT(o.chunks, 10u);
  EXPECT_EQ(o.bytes_before, bytes_before);
  EXPECT_EQ(o.bytes_after, std::filesystem::file_size(path));
  EXPECT_LT((o.bytes_after - format::kHeaderSize) * 2, o.bytes_before - format::kHeaderSize);  // random, yet half
  TraceReader reader(path);
  EXPECT_TRUE(reader.packed());
  EXPECT_EQ(reader.header().version, format::kVersion);
  std::vector<std::string> warnings;
  EXPECT_EQ(recordsOf(path, &warnings), before);
  EXPECT_TRUE(warnings.empty());
  // Packed again: nothing to do, and the file is untouched.
  std::string packed = readBytes(path);
  PackOutcome again = packTrace(path);
  EXPECT_TRUE(again.nothing_to_pack);
  EXPECT_EQ(again.left_as_is, "it is packed already");
  EXPECT_EQ(readBytes(path), packed);
  std::filesystem::remove(path);
}

// The packer keeps its blocks by address and by stack in hash tables whose keys cannot be 0: a
// block at address 0 (a hostile or damaged trace's) is written out, not named, and a stack id whose
// key would be 0 keeps its chunk as it was; every record still comes back exactly.
TEST(TracePack, AddressZeroAndTheLastStackIdComeBackExactly) {
  std::string path = tempPath("edges.tmtrace");
  TraceBuilder b(4096);
  b.processInfo(1, 42, "/bin/prog", "prog");
  b.stackDef(2, 1, {0x401000});
  uint64_t seq = 10;
  b.onStream(1);
  for (int round = 0; round < 300; ++round) {
    b.alloc(seq++, 1, 0, 40);
    b.alloc(seq++, 1, 0x5500'0000'1000, 40);
    b.free(seq++, 0);
    b.free(seq++, 0x5500'0000'1000);
  }
  b.onStream(2);
  b.record(seq++, format::Alloc{.stack_id = UINT64_MAX, .address = 0x5500'0000'2000, .size = 24});
  b.free(seq++, 0x5500'0000'2000);
  b.exit(seq, seq * 1000);
  b.write(path);
  const std::string before = recordsOf(path);
  PackOutcome o = packTrace(path);
  ASSERT_EQ(o.left_as_is, "");
  EXPECT_EQ(o.raw_chunks, 1u);  // stream 2's
  EXPECT_GT(o.chunks, 2u);
  std::vector<std::string> warnings;
  EXPECT_EQ(recordsOf(path, &warnings), before);
  EXPECT_TRUE(warnings.empty());
  std::filesystem::remove(path);
  // Unpacking: that stack id in a packed body is damage.
  AddressModel model;
  model.indexStacks();
  uint64_t address = 0x5500'0000'2000;
  EXPECT_FALSE(model.allocationNamed(0, 24, UINT64_MAX, format::PackEncoding::Modeled3, address));
  EXPECT_TRUE(model.allocationNamed(0, 24, UINT64_MAX - 1, format::PackEncoding::Modeled3, address));
}

TEST(TracePack, TheModelNamesWhatMallocReuses) {
  using format::PackEncoding;
  for (PackEncoding rules : {PackEncoding::Modeled, PackEncoding::Modeled2}) {
    SCOPED_TRACE(static_cast<int>(rules));
    AddressModel packer, unpacker;
    // Three blocks freed out of order, each Free naming its block by its rank among the live ones;
    // two of 40 bytes made again, newest freed first; the block of 100 bytes's address then taken
    // by a block of another size (not named: written out).
    uint64_t a = 0x1000, b = 0x2000, c = 0x3000;
    EXPECT_EQ(packer.nameAllocation(a, 40, 1, rules), 0u);
    EXPECT_EQ(packer.nameAllocation(b, 40, 1, rules), 0u);
    EXPECT_EQ(packer.nameAllocation(c, 100, 1, rules), 0u);
    EXPECT_EQ(packer.nameRelease(b, rules), 2u);  // the second newest of the live blocks
    EXPECT_EQ(packer.nameRelease(c, rules), 1u);  // the newest
    EXPECT_EQ(packer.nameRelease(a, rules), 1u);  // made three allocations ago, and now the newest live block
    EXPECT_EQ(packer.nameRelease(0x9999, rules), 0u);  // never allocated here
    EXPECT_EQ(packer.nameAllocation(a, 40, 1, rules), 1u);  // the newest freed of its size
    EXPECT_EQ(packer.nameAllocation(b, 33, 1, rules), 1u);  // 33 bytes is the same size class as 40
    EXPECT_EQ(packer.nameAllocation(c, 500, 1, rules), 0u);
    // The unpacker, given the names, finds the same addresses.
    for (uint64_t address : {a, b, c}) {
      uint64_t x = address;
      ASSERT_TRUE(unpacker.allocationNamed(0, address == c ? 100 : 40, 1, rules, x));
    }
    uint64_t x = 0;
    ASSERT_TRUE(unpacker.releaseNamed(2, rules, x));
    EXPECT_EQ(x, b);
    ASSERT_TRUE(unpacker.releaseNamed(1, rules, x));
    EXPECT_EQ(x, c);
    ASSERT_TRUE(unpacker.releaseNamed(1, rules, x));
    EXPECT_EQ(x, a);
    // a was freed last, so it is the newest freed block of its class; then b.
    ASSERT_TRUE(unpacker.allocationNamed(1, 40, 1, rules, x));
    EXPECT_EQ(x, a);
    ASSERT_TRUE(unpacker.allocationNamed(1, 33, 1, rules, x));  // the same size class as 40
    EXPECT_EQ(x, b);
    // Names that stand for nothing are damage, not an address.
    EXPECT_FALSE(unpacker.allocationNamed(1, 40, 1, rules, x));
    EXPECT_FALSE(unpacker.releaseNamed(100, rules, x));
    EXPECT_FALSE(unpacker.releaseNamed(AddressModel::kRankedWithin + 100, rules, x));

    // A block older than kRankedWithin allocations: by how long ago it was made (Modeled), by its
    // rank among the live blocks like any other (Modeled2).
    AddressModel old_packer, old_unpacker;
    for (uint64_t i = 0; i <= AddressModel::kRankedWithin; ++i) {
      uint64_t address = 0x100000 + 64 * i;
      old_packer.nameAllocation(address, 48, 1, rules);
      ASSERT_TRUE(old_unpacker.allocationNamed(0, 48, 1, rules, address));
    }
    uint64_t name = old_packer.nameRelease(0x100000, rules);
    EXPECT_EQ(name, rules == PackEncoding::Modeled ? 2 * AddressModel::kRankedWithin + 1 : AddressModel::kRankedWithin + 1);
    ASSERT_TRUE(old_unpacker.releaseNamed(name, rules, x));
    EXPECT_EQ(x, 0x100000u);
  }
}

// Modeled2: an address no freed block has, where one of the last allocations ends (malloc carving
// its next chunk from the top of the heap, pymalloc its next block from a pool), is named by that
// allocation.
TEST(TracePack, AFreshChunkIsNamedByTheChunkBeforeIt) {
  using format::PackEncoding;
  AddressModel packer, unpacker, first_rules;
  // malloc's chunks: 40 bytes take 48 (8 of its header, 16-byte steps), 24 bytes 32, 100 bytes 112,
  // 8 bytes 32 (the least); a pymalloc block of 8 bytes takes 16.
  const std::vector<std::pair<uint64_t, uint64_t>> blocks = {
      {0x1000, 40}, {0x1030, 24}, {0x1050, 100}, {0x9000, 40}, {0x10c0, 8}, {0x10d0, 16}};
  const uint64_t pymalloc = 128 + AddressModel::kEnds;  // names past it: where a pymalloc block would end
  // 129: where the newest allocation's chunk ends; 130: the second newest's.
  const std::vector<uint64_t> names = {0, 129, 129, 0, 130, pymalloc + 1};
  for (size_t i = 0; i < blocks.size(); ++i) {
    auto [address, size] = blocks[i];
    EXPECT_EQ(packer.nameAllocation(address, size, 1, PackEncoding::Modeled2), names[i]) << i;
    EXPECT_EQ(first_rules.nameAllocation(address, size, 1, PackEncoding::Modeled), 0u) << i;  // the first rules: written out
    uint64_t x = names[i] ? 0 : address;
    ASSERT_TRUE(unpacker.allocationNamed(names[i], size, 1, PackEncoding::Modeled2, x)) << i;
    EXPECT_EQ(x, address) << i;
  }
  uint64_t x = 0;
  EXPECT_FALSE(unpacker.allocationNamed(129 + 6, 8, 1, PackEncoding::Modeled2, x));  // six allocations only
  EXPECT_FALSE(unpacker.allocationNamed(129, 8, 1, PackEncoding::Modeled, x));       // not a name of the first rules
}

// The third rules (Modeled3) name a Free's block by its stack and its rank among that stack's
// live blocks; an Alloc as the second rules do.
TEST(TracePack, TheThirdRulesNameAFreeByItsStack) {
  using format::PackEncoding;
  AddressModel packer, unpacker;
  packer.indexStacks();
  unpacker.indexStacks();
  // Stack 7 makes a, c, e; stack 9 makes b, d (each at a new address: no names).
  const uint64_t a = 0x1000, b = 0x2000, c = 0x3000, d = 0x4000, e = 0x5000;
  const std::vector<std::pair<uint64_t, uint64_t>> made = {{a, 7}, {b, 9}, {c, 7}, {d, 9}, {e, 7}};
  for (auto [address, stack] : made) {
    EXPECT_EQ(packer.nameAllocation(address, 40, stack, PackEncoding::Modeled3), 0u);
    uint64_t x = address;
    ASSERT_TRUE(unpacker.allocationNamed(0, 40, stack, PackEncoding::Modeled3, x));
  }
  // c: the second newest of stack 7's three (the third newest of all five, by Modeled2). Then a:
  // the second newest of stack 7's two left (the fourth of all); d: the newest of stack 9's (the
  // second of all); e, b: the last of each.
  const std::vector<std::tuple<uint64_t, uint64_t, uint64_t, uint64_t>> freed = {
      {c, 7, 2, 3}, {a, 7, 2, 4}, {d, 9, 1, 2}, {e, 7, 1, 1}, {b, 9, 1, 1}};
  for (auto [address, stack, rank, overall] : freed) {
    AddressModel::StackRank in_stack;
    EXPECT_EQ(packer.nameRelease(address, PackEncoding::Modeled3, &in_stack), overall) << address;
    EXPECT_EQ(in_stack.stack_id, stack) << address;
    EXPECT_EQ(in_stack.rank, rank) << address;
    uint64_t x = 0;
    ASSERT_TRUE(unpacker.releaseNamed(in_stack, x)) << address;
    EXPECT_EQ(x, address);
  }
  // A block not made in the pack has no name; names that stand for nothing are damage.
  AddressModel::StackRank in_stack{1, 1};
  EXPECT_EQ(packer.nameRelease(0x9999, PackEncoding::Modeled3, &in_stack), 0u);
  EXPECT_EQ(in_stack.rank, 0u);
  uint64_t x = 0;
  EXPECT_FALSE(unpacker.releaseNamed({7, 1}, x));   // stack 7 has no live block left
  EXPECT_FALSE(unpacker.releaseNamed({8, 1}, x));   // nor has a stack never seen
  EXPECT_FALSE(unpacker.releaseNamed({9, 0}, x));
  AddressModel not_indexed;
  ASSERT_TRUE(not_indexed.allocationNamed(0, 40, 7, PackEncoding::Modeled3, x = a));
  EXPECT_FALSE(not_indexed.releaseNamed({7, 1}, x));  // its stacks were not indexed from the start
}

// A stack that frees its blocks first in, first out (a queue) beside another's blocks that live a
// little while: each of the queue's blocks, when freed, is the oldest of the stack's (the same name
// every time), while its rank among all the live blocks moves. Every pack is made by the third
// rules. A program that makes
// every block on a new stack and frees the newest (a Python program's lines, roughly) is packed by
// the second. Either way every record comes back.
TEST(TracePack, EachPackIsMadeByTheRulesThatMakeItSmaller) {
  auto queue = [] {
    TraceBuilder b(4096);
    b.processInfo(1, 42, "/bin/prog", "prog");
    b.stackDef(2, 1, {0x401000});
    b.stackDef(3, 2, {0x402000});
    std::mt19937_64 rng(3);
    std::vector<uint64_t> queued, temporaries;
    uint64_t seq = 10, next_address = 0x5500'0000'0000;
    for (int i = 0; i < 20000; ++i) {
      b.alloc(seq++, 1, next_address += 64, 48);  // stack 1: a queue of 40
      queued.push_back(next_address);
      if (queued.size() > 40) {
        b.free(seq++, queued.front());
        queued.erase(queued.begin());
      }
      if (rng() % 2) {  // stack 2: up to 8 blocks, one of them freed now and then
        b.alloc(seq++, 2, next_address += 64, 24);
        temporaries.push_back(next_address);
      }
      if (temporaries.size() > 8 || (!temporaries.empty() && rng() % 3 == 0)) {
        const size_t k = rng() % temporaries.size();
        b.free(seq++, temporaries[k]);
        temporaries.erase(temporaries.begin() + static_cast<ptrdiff_t>(k));
      }
    }
    b.exit(seq, seq * 1000);
    return b;
  };
  auto newStacks = [] {
    TraceBuilder b(4096);
    b.processInfo(1, 42, "/bin/prog", "prog");
    std::mt19937_64 rng(5);
    std::vector<uint64_t> live;
    uint64_t seq = 10, next_address = 0x5500'0000'0000;
    for (uint32_t i = 0; i < 20000; ++i) {
      b.stackDef(seq++, 10 + i, {0x401000 + 16 * i});
      b.alloc(seq++, 10 + i, next_address += 64 * (1 + rng() % 8), 48);
      live.push_back(next_address);
      if (rng() % 2 && !live.empty()) {
        b.free(seq++, live.back());
        live.pop_back();
      }
    }
    b.exit(seq, seq * 1000);
    return b;
  };
  for (bool by_stack : {true, false}) {
    SCOPED_TRACE(by_stack);
    std::string path = tempPath("rules.tmtrace");
    (by_stack ? queue() : newStacks()).write(path);
    const std::string before = recordsOf(path);
    PackOutcome o = packTrace(path);
    ASSERT_EQ(o.left_as_is, "");
    EXPECT_GT(o.packs, 1u);
    EXPECT_EQ(o.packs_by_stack, by_stack ? o.packs : 0u);
    TraceReader reader(path);
    for (const TraceReader::Chunk& c : reader.chunks())
      EXPECT_EQ(c.encoding, by_stack ? format::PackEncoding::Modeled3 : format::PackEncoding::Modeled2);
    EXPECT_EQ(recordsOf(path), before);
    std::filesystem::remove(path);
  }
}

// Traces packed by the builds before (from the trace busyTrace() writes): by the first rules, and
// by the second alone (before session 22). Both still read, record for record.
TEST(TracePack, TracesPackedByEarlierRulesReadTheSame) {
  std::string path = tempPath("busy-again.tmtrace");
  busyTrace().write(path);
  const std::string written = recordsOf(path);
  for (auto [file, rules] : {std::pair{"busy_packed_modeled_v1.tmtrace", format::PackEncoding::Modeled},
                             std::pair{"busy_packed_modeled_v2.tmtrace", format::PackEncoding::Modeled2}}) {
    SCOPED_TRACE(file);
    const std::string packed = std::string(TM_GOLDEN_DIR) + "/" + file;
    TraceReader reader(packed);
    ASSERT_TRUE(reader.packed());
    size_t modeled = 0;
    for (const TraceReader::Chunk& c : reader.chunks()) {
      EXPECT_TRUE(c.encoding == rules || c.encoding == format::PackEncoding::Raw);
      modeled += c.encoding == rules;
    }
    EXPECT_GT(modeled, 10u);
    EXPECT_EQ(recordsOf(packed), written);
  }
  // Packed today, and the same records again.
  ASSERT_EQ(packTrace(path).left_as_is, "");
  EXPECT_EQ(recordsOf(path), written);
  std::filesystem::remove(path);
}

TEST(TracePack, DamageInAChunkIsKeptAndStillReported) {
  std::string path = tempPath("zeroed.tmtrace");
  std::string bytes = busyTrace().write(path);
  // Zeros in the middle of the second chunk's records: that chunk is kept raw, and the reader
  // says what it said before packing.
  size_t at = format::kHeaderSize + 4096 + 600;
  std::fill(bytes.begin() + static_cast<ptrdiff_t>(at), bytes.begin() + static_cast<ptrdiff_t>(at + 40), '\0');
  writeBytes(path, bytes);
  std::vector<std::string> warnings_before, warnings_after;
  std::string before = recordsOf(path, &warnings_before);
  ASSERT_EQ(warnings_before.size(), 1u);
  PackOutcome o = packTrace(path);
  ASSERT_EQ(o.left_as_is, "");
  EXPECT_EQ(o.raw_chunks, 1u);
  EXPECT_EQ(recordsOf(path, &warnings_after), before);
  EXPECT_EQ(warnings_after, warnings_before);
  std::filesystem::remove(path);
}

TEST(TracePack, TracesThatMustNotBePackedAreLeftAlone) {
  // A trace cut short (what a full disk leaves): kept as found, so the damage can be read as it is.
  std::string path = tempPath("cut.tmtrace");
  std::string bytes = busyTrace().write(path);
  writeBytes(path, bytes.substr(0, bytes.size() - 1000));
  PackOutcome cut = packTrace(path);
  EXPECT_FALSE(cut.nothing_to_pack);
  EXPECT_NE(cut.left_as_is.find("it is damaged, and is kept as found (the trace file is cut short"), std::string::npos)
      << cut.left_as_is;
  EXPECT_EQ(readBytes(path), bytes.substr(0, bytes.size() - 1000));

  // A trace whose process still runs on this host: packing would lose what it writes next.
  bytes = busyTrace().write(path);
  format::FileHeader h;
  memcpy(&h, bytes.data(), sizeof h);
  utsname self{};
  ASSERT_EQ(uname(&self), 0);
  memset(h.host, 0, sizeof h.host);
  memcpy(h.host, self.nodename, std::min(strlen(self.nodename), sizeof h.host - 1));
  h.pid = static_cast<uint64_t>(getpid());
  memcpy(bytes.data(), &h, sizeof h);
  writeBytes(path, bytes);
  PackOutcome running = packTrace(path);
  EXPECT_EQ(running.left_as_is, fmt::format("its process (pid {}) may still be writing it: pack it once it has ended", getpid()));
  EXPECT_EQ(readBytes(path), bytes);
  // Once its end is in the header, it is packed.
  h.ended_ns = 1;
  memcpy(bytes.data(), &h, sizeof h);
  writeBytes(path, bytes);
  EXPECT_EQ(packTrace(path).left_as_is, "");

  // A directory that cannot be written: an Error, and the trace as it was.
  if (geteuid() != 0) {
    std::string dir = tempPath("readonly");
    std::filesystem::create_directory(dir);
    std::string inside = dir + "/t.tmtrace";
    bytes = busyTrace().write(inside);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    EXPECT_THROW(packTrace(inside), Error);
    EXPECT_EQ(readBytes(inside), bytes);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
    std::filesystem::remove_all(dir);
  }
  std::filesystem::remove(path);
}

// An aggregate trace's counters, one 64-byte entry per stack id (a Python program's ids are mostly
// its frames', whose entries stay zero: a pandas script's trace was 80 MiB), are packed as they
// are after its records and read back the same.
TEST(TracePack, AnAggregateTracesCountersArePackedAndReadTheSame) {
  std::string path = tempPath("aggregate.tmtrace");
  TraceBuilder b;
  b.processInfo(1, 42, "/bin/prog", "prog");
  b.stackDef(2, 1, {0x401000, 0x401100});
  for (uint64_t seq = 3; seq < 40; ++seq) b.sample(seq, seq * 1000, 1 << 24);
  std::vector<format::StackCounters> counters(20'000);  // 318 pages of 63
  counters[1] = {.live_bytes = 4096, .live_blocks = 2, .peak_bytes = 8192, .peak_blocks = 4, .touched_epoch = 3,
                 .alloc_count = 9, .alloc_bytes = 20000, .mmap_bytes = 0};
  counters[5'000] = {.live_bytes = 0, .live_blocks = 0, .peak_bytes = 64, .peak_blocks = 1, .touched_epoch = 1,
                     .alloc_count = 1, .alloc_bytes = 64, .mmap_bytes = 1 << 20};
  counters[19'999] = {.live_bytes = 24, .live_blocks = 1, .peak_bytes = 24, .peak_blocks = 1, .touched_epoch = 3,
                      .alloc_count = 1, .alloc_bytes = 24, .mmap_bytes = 0};
  b.aggregate({.heap_live = 4120, .heap_peak = 8280, .peak_epoch = 3, .peak_seq = 30, .allocations = 11, .frees = 8,
               .max_stack_id = 19'999},
              counters);
  b.write(path);
  const std::string records = recordsOf(path);
  const std::vector<format::StackCounters> before = TraceReader(path).stackCounters();
  ASSERT_EQ(before.size(), counters.size());
  ASSERT_EQ(memcmp(before.data(), counters.data(), counters.size() * sizeof counters[0]), 0);

  PackOutcome o = packTrace(path);
  ASSERT_EQ(o.left_as_is, "");
  EXPECT_GT(o.packs, 2u);
  EXPECT_LT(o.bytes_after * 20, o.bytes_before);
  TraceReader reader(path);
  EXPECT_TRUE(reader.packed());
  EXPECT_TRUE(reader.aggregated());
  const std::vector<format::StackCounters> after = reader.stackCounters();
  ASSERT_EQ(after.size(), counters.size());
  EXPECT_EQ(memcmp(after.data(), counters.data(), counters.size() * sizeof counters[0]), 0);
  EXPECT_EQ(recordsOf(path), records);
  ReplayResult r = replay(reader);
  EXPECT_EQ(r.heap_peak, 8280u);
  EXPECT_EQ(r.heap_live, 4120u);  // the counters' sum
  EXPECT_EQ(r.peakBytes(1), 8192u);
  EXPECT_EQ(r.stacks[5'000].mmap_bytes, uint64_t{1} << 20);
  EXPECT_EQ(r.stacks[19'999].live_bytes, 24u);
  std::filesystem::remove(path);
}

// A packed trace cut at any point or with bytes flipped is read, in part, or refused with an
// Error; never a crash, a hang or an exception of another kind (this test runs under ASan).
TEST(TracePack, DamagedPackedTracesAreReadOrRefused) {
  std::string path = tempPath("damaged.tmtrace");
  busyTrace().write(path);
  ASSERT_EQ(packTrace(path).left_as_is, "");
  const std::string packed = readBytes(path);
  auto attempt = [&](const std::string& bytes) -> std::string {
    writeBytes(path, bytes);
    try {
      TraceReader reader(path);
      replay(reader);
      return reader.warnings().empty() ? "" : reader.warnings().front();
    } catch (const Error& e) {
      return e.what();
    }
  };
  // Cut inside the second pack: the first pack's records are read, and the cut is said.
  TraceReader whole(path);
  ASSERT_GE(whole.packs().size(), 2u);
  uint64_t second = whole.packs()[1].payload_offset;
  EXPECT_EQ(attempt(packed.substr(0, second + 10)),
            "the packed trace is cut short inside pack 1; events after it are missing");
  for (size_t cut = format::kHeaderSize; cut < packed.size(); cut += 97) attempt(packed.substr(0, cut));
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    std::string bytes = packed;
    size_t at = format::kHeaderSize + rng() % (bytes.size() - format::kHeaderSize);
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
    attempt(bytes);
  }
  // A pack's magic destroyed: one line that says where.
  std::string bad = packed;
  bad[format::kHeaderSize] = 'X';
  EXPECT_NE(attempt(bad).find("corrupt packed trace: pack 0 at offset 4096 has a bad magic"), std::string::npos);
  std::filesystem::remove(path);
}
