// Packing a trace's chunks: the same records, byte for byte, in a fraction of the space.
//
// A full trace spends most of its bytes on addresses (each a delta from the one before, 3 to 5
// bytes). Most of them are predictable from the trace itself: malloc hands out the block of the
// same size that was freed most recently, and a free releases a block whose allocation is in the
// same stretch of the stream. The address model names an Alloc's address by its place among the
// recently freed blocks of its size class, and a Free's by its block's rank among the live blocks
// (or among its stack's, or for an old block how many allocations ago it was made); zstd then
// finds the repetitions of a program's loops in what is left. Unpacking rebuilds every chunk
// exactly, so the reader (trace_reader.h) and everything after it are unchanged.
//
// The packed file (packs of chunks, zstd) is written by trace_pack.h and read by trace_reader.h;
// its layout is in include/tidemark/trace_format.h (PackHeader) and docs/trace-format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "address_map.h"
#include "tidemark/trace_format.h"

namespace tidemark {

// The names of addresses within one pack. The packer and the unpacker make the same changes in the
// same order, so a name means the same address to both. Starts afresh in every pack.
//
// Two sets of rules name them (`rules`: the chunk's PackEncoding); both keep the same state, so
// either can read the names of the other's chunks. `tidemark pack` writes Modeled2.
// - Modeled (the first packed traces): an Alloc's address is the k-th most recently freed block of
//   its size class (k ≤ 128); a Free's block, when made in the last kRankedWithin allocations, is
//   named by its rank among the live blocks counted from the newest (1: the newest live block,
//   whatever was freed after it was made), an older one by kRankedWithin + how many allocations ago
//   it was made.
// - Modeled2: the same, and an Alloc's address that no freed block has is named, when it is where
//   one of the last kEnds allocations ends, by that allocation: where malloc's chunk of it ends
//   (malloc carving its next chunk from the top of the heap or from a block it split), or else
//   where a pymalloc block of its size would (pymalloc carving its next block from a pool); every
//   Free's block by its rank among all the live blocks of the pack.
// - Modeled3: Modeled2's Alloc names; a Free's block by its stack and its rank among the live
//   blocks of that stack in the pack (1: the newest). A native program's loops free their blocks
//   in the same order by stack every time round, which zstd then finds as repeats; a Python
//   program's stacks are mostly new lines, and Modeled2 does better there (the packer tries both).
//   It needs the blocks indexed by stack from the pack's first allocation (indexStacks()).
class AddressModel {
 public:
  void reset();
  // From now on keep each stack's blocks (for Modeled3's names); only before the first allocation.
  void indexStacks() { index_stacks_ = true; }
  bool stacksIndexed() const { return index_stacks_; }
  // Whether a stack id can be kept by stack (its key, 1 + the id, is not 0): a chunk that has the
  // one that cannot is kept raw, a packed one is damaged.
  static bool indexable(uint64_t stack_id) { return stack_id != UINT64_MAX; }

  // A Free's block as Modeled3 names it: rank 0 when it was not allocated in this pack.
  struct StackRank {
    uint64_t stack_id = 0, rank = 0;
  };

  // Packing: the name of an Alloc's address (0: none, the address is written out).
  uint64_t nameAllocation(uint64_t address, uint64_t size, uint64_t stack_id, format::PackEncoding rules);
  // Packing: the name of a Free's address (0: its block was not allocated in this pack); with the
  // stacks indexed, in_stack gets its name by Modeled3 as well.
  uint64_t nameRelease(uint64_t address, format::PackEncoding rules, StackRank* in_stack = nullptr);
  static constexpr uint64_t kRankedWithin = 4096;
  static constexpr uint32_t kEnds = 64;

  // Unpacking: the address a name stands for (for name 0, address is the one written out); false
  // when no address has that name (a damaged pack).
  bool allocationNamed(uint64_t name, uint64_t size, uint64_t stack_id, format::PackEncoding rules, uint64_t& address);
  bool releaseNamed(uint64_t name, format::PackEncoding rules, uint64_t& address);
  bool releaseNamed(StackRank name, uint64_t& address);  // Modeled3, rank ≥ 1

  // The Alloc records seen since the last reset.
  uint64_t allocations() const { return blocks_.size(); }

 private:
  static uint64_t sizeClass(uint64_t size);
  void allocated(uint64_t address, uint64_t size, uint64_t stack_id);
  void released(uint64_t ordinal);

  // Which of a run of blocks (by place: their order of allocation) are live: a bit each, and how
  // many are live in each run of kRunBits places. Most names are of recent blocks, found among the
  // last bits; an older block's rank adds up the runs after it (a pack holds a few hundred).
  class LiveSet {
   public:
    uint64_t append() {  // a new live block; its place
      const uint64_t place = places_++;
      if (place % kRunBits == 0) run_live_.push_back(0);
      if (place % 64 == 0) bits_.push_back(0);
      bits_[place / 64] |= uint64_t{1} << (place % 64);
      ++run_live_[place / kRunBits];
      return place;
    }
    void remove(uint64_t place) {
      bits_[place / 64] &= ~(uint64_t{1} << (place % 64));
      --run_live_[place / kRunBits];
    }
    bool isLive(uint64_t place) const { return place < places_ && bits_[place / 64] >> (place % 64) & 1; }
    uint64_t rankOf(uint64_t place) const;  // the live blocks at this place and after: 1 for the newest
    bool placeOfRank(uint64_t rank, uint64_t& place) const;

   private:
    static constexpr uint64_t kRunBits = 4096;
    std::vector<uint64_t> bits_;
    std::vector<uint32_t> run_live_;
    uint64_t places_ = 0;
  };
  LiveSet live_;  // every block of the pack, by ordinal

  // With the stacks indexed (Modeled3): each stack's blocks, by their place among that stack's.
  struct StackBlocks {
    uint64_t stack_id;
    std::vector<uint32_t> ordinals;  // by place
    LiveSet live;
  };
  bool index_stacks_ = false;
  AddressMap<uint32_t> stack_index_{AddressMap<uint32_t>::Keys::Ids};  // 1 + stack id -> its StackBlocks
  std::vector<StackBlocks> stack_blocks_;

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
    uint32_t stack = 0, place = 0;  // with the stacks indexed: its StackBlocks, its place there
  };
  std::vector<Block> blocks_;  // by allocation ordinal in the pack

  AddressMap<uint64_t> latest_;  // packer: address -> its latest ordinal (address 0 is never named)

  // The last kEnds allocations, newest last, and where each ends: as malloc's chunk (its 8-byte
  // header and 16-byte steps, 32 bytes at least) or as a pymalloc block (16-byte steps).
  struct Made {
    uint64_t malloc_end, pymalloc_end;
  };
  Made recent_[kEnds];
  uint32_t recent_head_ = 0, recent_count_ = 0;
  enum class End { Malloc, Pymalloc };
  uint64_t endOf(uint32_t k, End kind) const;  // of the k-th newest allocation
  // Size classes below kDirectClasses (blocks under 4 KiB) by index, the others by hash.
  static constexpr uint64_t kDirectClasses = 257;
  std::vector<RecentlyFreed> direct_freed_;
  std::unordered_map<uint64_t, RecentlyFreed> other_freed_;
};

// The ids of stacks and Python frames within one pack (Modeled2). The tracker numbers both from one
// counter and defines each (StackDef, PythonStack, PythonFrame) just before its first use, so a
// Python program's trace, with a new stack for every few allocations, is mostly ids that are the
// newest one or next to it: each is written as its distance from the newest id defined in the
// pack (a PythonStack's native stack from the last PythonStack's, a frame's parent from the frame).
struct IdModel {
  uint64_t newest = 0;        // the highest stack or frame id defined in this pack
  uint64_t last_native = 0;   // the native stack of the last PythonStack
};

// What packing a pack's chunks remembers from one chunk to the next; starts afresh in every pack.
struct PackModel {
  AddressModel addresses;
  IdModel ids;
  void reset() {
    addresses.reset();
    ids = {};
  }
};

// One chunk's body (its bytes after the ChunkHeader, without the zeros after its last record) with
// its addresses and ids named by the second rules (Modeled2) appended to by_rank and by the third
// (Modeled3) to by_stack: the two differ in their Frees only. The model's stacks must be indexed
// from the pack's start. False when the chunk is not a plain run of whole records followed by
// zeros (a chunk cut by the end of the file, damage): such a chunk is kept raw (nothing appended).
bool packChunkBody(const uint8_t* chunk, size_t length, uint32_t version, PackModel& model, std::vector<uint8_t>& by_rank,
                   std::vector<uint8_t>& by_stack);
// The chunk (length bytes: its header, then its records, then zeros) from a body packed with
// `rules`. False when the body is damaged (or Modeled3 follows other rules in one pack); out is
// then unspecified.
bool unpackChunkBody(const format::ChunkHeader& header, const uint8_t* body, size_t body_bytes, size_t length,
                     uint32_t version, format::PackEncoding rules, PackModel& model, std::vector<uint8_t>& out);

}  // namespace tidemark
