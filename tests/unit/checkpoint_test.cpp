// The replay kept beside a trace: the second analysis reads it and answers the same; anything that
// makes it not the replay of this file by this build (the trace changed, the checkpoint cut or
// damaged, another trace's checkpoint) makes the analysis replay the trace instead.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "analysis.h"
#include "checkpoint.h"
#include "summary_report.h"
#include "trace_builder.h"

using namespace tidemark;
using tmtest::TraceBuilder;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("tm-unit-checkpoint-" + std::to_string(getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() {
    fs::remove_all(dir);
    unsetenv("TIDEMARK_CHECKPOINT");
  }
  std::string path(const char* name) const { return (dir / name).string(); }
};

// A trace of a process that ended: three stacks, a peak, a leak, samples of RSS.
TraceBuilder endedProcess(uint64_t leak) {
  TraceBuilder b;
  b.processInfo(1, 4242, "/bin/backtest", std::string("backtest\0--days\0" "30", 19));
  b.stackDef(2, 1, {0x401000, 0x402000}).stackDef(3, 2, {0x401100, 0x402000}).stackDef(4, 3, {0x401200});
  b.sample(5, 1'000'000, 4 << 20);
  b.alloc(6, 1, 0x1000, 100).alloc(7, 2, 0x2000, 5000).alloc(8, 3, 0x9000, leak).free(9, 0x2000);
  b.sample(10, 2'000'000, 5 << 20).alloc(11, 2, 0x3000, 700).free(12, 0x1000);
  b.exit(13, 3'000'000);
  return b;
}

std::string summaryOf(const std::string& trace) {
  TraceAnalysis analysis(trace, SummaryOptions{});
  return summaryJson(analysis).dump();
}

std::string bytesOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST(Checkpoint, TheSecondAnalysisReadsTheCheckpointAndAnswersTheSame) {
  Scratch s;
  std::string trace = s.path("t.tmtrace");
  endedProcess(321).write(trace);
  setenv("TIDEMARK_CHECKPOINT", "0", 1);
  std::string replayed = summaryOf(trace);
  EXPECT_FALSE(fs::exists(checkpointPath(trace)));

  setenv("TIDEMARK_CHECKPOINT", "1", 1);
  EXPECT_EQ(summaryOf(trace), replayed);
  ASSERT_TRUE(fs::exists(checkpointPath(trace)));
  {
    TraceReader reader(trace);
    std::optional<ReplayResult> kept = loadCheckpoint(reader);
    ASSERT_TRUE(kept.has_value());
    EXPECT_EQ(kept->heap_peak, 5421u);  // 100 + 5000 + 321
    EXPECT_EQ(kept->heap_live, 1021u);
    EXPECT_EQ(kept->stacks[3].live_bytes, 321u);
    EXPECT_EQ(kept->stack_defs[2].frames, (std::vector<uint64_t>{0x401100, 0x402000}));
    EXPECT_EQ(kept->argv, (std::vector<std::string>{"backtest", "--days", "30"}));
    EXPECT_EQ(kept->timeline.size(), 2u);
    EXPECT_EQ(kept->end.state, EndState::ExitCalled);
  }
  EXPECT_EQ(summaryOf(trace), replayed);
}

TEST(Checkpoint, ACheckpointThatIsNotThisTracesReplayIsIgnored) {
  Scratch s;
  setenv("TIDEMARK_CHECKPOINT", "1", 1);
  std::string trace = s.path("t.tmtrace"), other = s.path("o.tmtrace");
  endedProcess(321).write(trace);
  endedProcess(999).write(other);
  std::string own = summaryOf(trace);
  std::string others = summaryOf(other);
  ASSERT_NE(own, others);
  const std::string kept = bytesOf(checkpointPath(trace));
  auto usable = [&] {
    TraceReader reader(trace);
    return loadCheckpoint(reader).has_value();
  };
  ASSERT_TRUE(usable());

  // Another trace's checkpoint in its place.
  fs::copy_file(checkpointPath(other), checkpointPath(trace), fs::copy_options::overwrite_existing);
  EXPECT_FALSE(usable());
  EXPECT_EQ(summaryOf(trace), own);  // and the analysis put its own back
  EXPECT_TRUE(usable());

  // Cut anywhere, or one byte changed anywhere.
  for (size_t at : {size_t{0}, size_t{10}, size_t{60}, kept.size() / 2, kept.size() - 1}) {
    writeBytes(checkpointPath(trace), kept.substr(0, at));
    EXPECT_FALSE(usable()) << "cut at " << at;
    std::string damaged = kept;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x40);
    writeBytes(checkpointPath(trace), damaged);
    EXPECT_FALSE(usable()) << "byte " << at << " changed";
  }
  writeBytes(checkpointPath(trace), kept + "x");
  EXPECT_FALSE(usable());
  writeBytes(checkpointPath(trace), kept);
  EXPECT_TRUE(usable());

  // The trace rewritten with other events, and then only touched: the checkpoint is not its replay.
  endedProcess(123).write(trace);
  EXPECT_FALSE(usable());
  std::string rewritten = summaryOf(trace);
  EXPECT_NE(rewritten, own);
  EXPECT_TRUE(usable());
  ::utimensat(AT_FDCWD, trace.c_str(), nullptr, 0);
  EXPECT_FALSE(usable());
  EXPECT_EQ(summaryOf(trace), rewritten);
}

TEST(Checkpoint, WrittenOnlyWhenAllowedAndForAFinishedTrace) {
  Scratch s;
  std::string trace = s.path("t.tmtrace");
  endedProcess(321).write(trace);
  unsetenv("TIDEMARK_CHECKPOINT");  // by default: only for large traces
  summaryOf(trace);
  EXPECT_FALSE(fs::exists(checkpointPath(trace)));

  // A process that has not ended, its trace changed a moment ago: it may still be written to.
  setenv("TIDEMARK_CHECKPOINT", "1", 1);
  std::string running = s.path("running.tmtrace");
  TraceBuilder b;
  b.stackDef(1, 1, {0x401000}).alloc(2, 1, 0x1000, 64).sample(3, 1'000'000, 1 << 20);
  b.write(running);
  summaryOf(running);
  EXPECT_FALSE(fs::exists(checkpointPath(running)));
  // Unchanged for two minutes: finished (killed), a checkpoint is kept.
  timespec old[2] = {{time(nullptr) - 120, 0}, {time(nullptr) - 120, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, running.c_str(), old, 0), 0);
  summaryOf(running);
  EXPECT_TRUE(fs::exists(checkpointPath(running)));

  // A directory that cannot take it is no error (root writes anywhere: a name taken by a directory).
  std::string blocked = s.path("blocked.tmtrace");
  endedProcess(5).write(blocked);
  fs::create_directory(checkpointPath(blocked));
  EXPECT_NO_THROW(summaryOf(blocked));
  EXPECT_TRUE(fs::is_directory(checkpointPath(blocked)));
  EXPECT_EQ(std::distance(fs::directory_iterator(s.dir), fs::directory_iterator()), 5);  // no file left behind
}

// By default a replay larger than a quarter of its trace is not kept (reading it would save too
// little), and is not built in memory whole to find that out; asked for every trace, it is kept.
TEST(Checkpoint, AReplayLargerThanAQuarterOfItsTraceIsKeptOnlyWhenAskedFor) {
  Scratch s;
  std::string trace = s.path("deep.tmtrace");
  TraceBuilder b(1 << 20);
  uint64_t seq = 1;
  b.processInfo(seq++, 4242, "/bin/backtest", std::string("backtest", 8));
  // Deep stacks far apart: about 8 bytes a frame in the trace, 8 in the replay and the stack's own.
  std::vector<uint64_t> frames(512);
  for (uint32_t id = 1; id <= 13000; ++id) {
    for (size_t i = 0; i < frames.size(); ++i) frames[i] = 0x7f0000000000 + (uint64_t{id} * 7919 + i * 104729) * 4099;
    b.stackDef(seq++, id, frames);
  }
  b.alloc(seq, 1, 0x1000, 100).exit(seq + 1, 3'000'000);
  b.write(trace);
  ASSERT_GE(fs::file_size(trace), kCheckpointMinBytes);

  unsetenv("TIDEMARK_CHECKPOINT");
  std::string replayed = summaryOf(trace);
  EXPECT_FALSE(fs::exists(checkpointPath(trace)));
  setenv("TIDEMARK_CHECKPOINT", "1", 1);
  EXPECT_EQ(summaryOf(trace), replayed);
  ASSERT_TRUE(fs::exists(checkpointPath(trace)));
  EXPECT_GT(fs::file_size(checkpointPath(trace)), fs::file_size(trace) / kCheckpointMaxShare);
  EXPECT_EQ(summaryOf(trace), replayed);
}
