// OUTDIR as a trust boundary and the run's own guarantees (docs/RUNS.md): inputs identified by
// their content, one run at a time, nothing outside OUTDIR ever written or deleted because of
// what a file inside it says, forged checkpoints never trusted, temporaries never followed and
// cleaned after kills, options out of range refused, SIGINT/SIGTERM ending with one line.
#include "io/outdir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "descpipe/table.hpp"
#include "io/fingerprint.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::CliResult;
using testing::Contains;
using testing::Lines;
using testing::ListDir;
using testing::ReadFile;
using testing::RunCli;
using testing::RunSql;
using testing::TempDir;
using testing::WriteFile;
using Json = nlohmann::json;
namespace fs = std::filesystem;

/// rows x (id + 6 groups of 4 related columns): every pass has something to do.
void MakeTable(const std::string& path, int rows, int groups = 6) {
  std::string select = "range AS id";
  for (int group = 0; group < groups; ++group) {
    const std::string g = std::to_string(group);
    const std::string base = "((hash(range, " + g + ") % 100000)::DOUBLE / 50000 - 1)";
    select += ", " + base + " AS g" + g + "_x";
    select += ", " + base + " * 2 + (hash(range, " + std::to_string(group + 50) +
              ") % 100)::DOUBLE / 1e4 AS g" + g + "_copy";
    select += ", " + base + " * " + base + " AS g" + g + "_square";
    select +=
        ", (hash(range, " + std::to_string(group + 90) + ") % 1000)::DOUBLE AS g" + g + "_noise";
  }
  RunSql("COPY (SELECT " + select + " FROM range(" + std::to_string(rows) + ")) TO " +
         QuoteLiteral(path) + " (FORMAT parquet)");
}

/// "reused" or "computed" for pass `pass`, from the log.
std::string Decision(const CliResult& result, int pass) {
  const std::string prefix = "pass" + std::to_string(pass) + ": ";
  return Contains(result.err, prefix + "reused")     ? "reused"
         : Contains(result.err, prefix + "computed") ? "computed"
                                                     : "?";
}

/// The run ended with exit code 2 and exactly one line on stderr, "error: ...", containing `part`.
::testing::AssertionResult OneErrorLine(const CliResult& result, const std::string& part) {
  const std::vector<std::string> lines = Lines(result.err);
  if (result.exit_code != 2 || lines.size() != 1 || lines[0].rfind("error: ", 0) != 0) {
    return ::testing::AssertionFailure() << "exit " << result.exit_code << ", stderr:\n"
                                         << result.err;
  }
  return Contains(lines[0], part);
}

class OutdirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = dir_ / "data.parquet";
    out_ = dir_ / "out";
    MakeTable(input_, 2000);
  }
  CliResult Run(std::vector<std::string> extra = {}, const std::string& out = "") {
    std::vector<std::string> args = {
        "run", input_, "-o", out.empty() ? out_ : out, "--set", "metadata_columns=[id]"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args, 300);
  }
  Json Manifest() const { return Json::parse(ReadFile(out_ + "/run_manifest.json")); }
  /// Rewrites the manifest's record of OUTDIR/`name` (size and hash) after a forgery of that file:
  /// what someone editing OUTDIR by hand can always do.
  void ForgeRecord(const std::string& name) {
    Json manifest = Manifest();
    for (auto& pass : manifest.at("passes")) {
      for (auto& output : pass.at("outputs")) {
        if (output.at("file") != name) continue;
        std::uint64_t size = 0;
        output["xxh3_64"] = io::HashFile(out_ + "/" + name, &size);
        output["size_bytes"] = size;
      }
    }
    WriteFile(out_ + "/run_manifest.json", manifest.dump(2));
  }

  TempDir dir_;
  std::string input_;
  std::string out_;
};

// ---- inputs identified by content (issue item 3) ----------------------------------------------

/// Flips one byte of `path` at `offset` and puts the modification time back (touch -r).
void EditKeepingSizeAndTime(const std::string& path, std::size_t offset) {
  const auto time = fs::last_write_time(path);
  std::string bytes = ReadFile(path);
  ASSERT_LT(offset, bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x01);
  WriteFile(path, bytes);
  fs::last_write_time(path, time);
}

TEST_F(OutdirTest, SameSizeEditWithTheTimePutBackIsNeverReused) {
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  const std::uintmax_t size = fs::file_size(input_);
  // A byte inside the data pages (the file starts with "PAR1" and its first column chunk).
  EditKeepingSizeAndTime(input_, 100);
  ASSERT_EQ(fs::file_size(input_), size);
  const CliResult rerun = Run();
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(Decision(rerun, 1), "computed") << rerun.err;
  EXPECT_TRUE(Contains(rerun.err, "pass1: computed (its inputs or options changed)")) << rerun.err;
  // Touching the file without changing it reuses everything (verify_inputs: full hashes bytes).
  fs::last_write_time(input_, fs::file_time_type::clock::now());
  const CliResult touched = Run();
  ASSERT_EQ(touched.exit_code, 0) << touched.err;
  for (int pass = 1; pass <= 4; ++pass) EXPECT_EQ(Decision(touched, pass), "reused") << touched.err;
  EXPECT_EQ(Manifest().at("inputs").at("verify_inputs"), "full");
  EXPECT_EQ(Manifest().at("inputs").at("files").at(0).at("xxh3_64").get<std::string>().size(), 16u);
}

TEST_F(OutdirTest, FastVerificationSeesFooterEdgesAndSampledBlocks) {
  ASSERT_EQ(Run({"-q", "--set", "verify_inputs=fast"}).exit_code, 0);
  EXPECT_EQ(Manifest().at("inputs").at("verify_inputs"), "fast");
  EXPECT_EQ(
      Manifest().at("inputs").at("files").at(0).at("xxh3_64_sampled").get<std::string>().size(),
      16u);
  // The table is small: its first MiB is all of it, so any same-size edit is seen.
  EditKeepingSizeAndTime(input_, fs::file_size(input_) / 2);
  const CliResult rerun = Run({"--set", "verify_inputs=fast"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(Decision(rerun, 1), "computed") << rerun.err;
  // Switching the method recomputes (the two fingerprints differ), and is recorded.
  const CliResult full = Run();
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_EQ(Decision(full, 1), "computed") << full.err;
}

TEST_F(OutdirTest, SampledHashCoversFooterAndBlocksOfALargeFile) {
  // 8 MiB of bytes named .parquet with a footer: the sampled hash changes with the footer, the
  // size, a sampled block and the first MiB, and not with a byte between the samples (the
  // documented limit of verify_inputs: fast).
  const std::string path = dir_ / "large.parquet";
  std::string bytes(8u << 20, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>((i * 2654435761u) >> 24);
  const std::uint32_t footer = 4096;
  std::memcpy(bytes.data() + bytes.size() - 8, &footer, 4);
  std::memcpy(bytes.data() + bytes.size() - 4, "PAR1", 4);
  WriteFile(path, bytes);
  const std::string original = io::SampledFileHash(path, FileFormat::kParquet);
  auto changed_at = [&](std::size_t offset) {
    std::string copy = bytes;
    copy[offset] = static_cast<char>(copy[offset] ^ 0x40);
    WriteFile(path, copy);
    return io::SampledFileHash(path, FileFormat::kParquet) != original;
  };
  EXPECT_TRUE(changed_at(bytes.size() - 8 - footer + 10));  // footer
  EXPECT_TRUE(changed_at(10));                              // first MiB
  EXPECT_TRUE(
      changed_at(bytes.size() / 2 + (bytes.size() / 64 - (64u << 10)) / 2 + 5));  // block 32
  EXPECT_FALSE(
      changed_at((2u << 20) + 3));  // between the samples: only verify_inputs: full sees it
  std::uint64_t size = 0;
  WriteFile(path, bytes);
  const std::string whole = io::HashFile(path, &size, 1);
  EXPECT_EQ(size, bytes.size());
  EXPECT_EQ(io::HashFile(path, &size, 4), whole) << "the full hash does not depend on threads";
  bytes[(2u << 20) + 3] ^= 0x40;
  WriteFile(path, bytes);
  EXPECT_NE(io::HashFile(path, &size, 2), whole);
}

// ---- names read from OUTDIR (item 10) and what OUTDIR may hold (item 11) ----------------------

TEST_F(OutdirTest, CraftedManifestNeverDeletesOrReadsOutsideOutdir) {
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  const std::string victim = dir_ / "victim.txt";
  WriteFile(victim, "precious");
  Json manifest = Manifest();
  for (const std::string& name :
       {std::string("../victim.txt"), victim, std::string(".checkpoint/../../victim.txt")}) {
    manifest["passes"][1]["outputs"].push_back(
        {{"file", name}, {"size_bytes", 8}, {"xxh3_64", "0"}});
  }
  WriteFile(out_ + "/run_manifest.json", manifest.dump(2));
  // A changed option makes the run delete the recorded outputs of Pass 1 onwards.
  const CliResult rerun = Run({"--set", "variance_threshold=0.001"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(ReadFile(victim), "precious");
  EXPECT_TRUE(Contains(rerun.err, "not a file descpipe writes in the output directory"))
      << rerun.err;
  // Same options but a manifest naming a file outside: that pass is never reused.
  manifest = Manifest();
  manifest["passes"][1]["outputs"].push_back(
      {{"file", "../victim.txt"}, {"size_bytes", 8}, {"xxh3_64", "0"}});
  WriteFile(out_ + "/run_manifest.json", manifest.dump(2));
  const CliResult again = Run({"--set", "variance_threshold=0.001"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Decision(again, 1), "reused") << again.err;
  EXPECT_TRUE(Contains(again.err,
                       "pass2: computed (the manifest names a file outside the output directory)"))
      << again.err;
  EXPECT_EQ(ReadFile(victim), "precious");
}

TEST_F(OutdirTest, DamagedManifestOfAnyShapeMeansNothingIsReused) {
  for (const std::string& text :
       {std::string("{"), std::string("[]"), std::string("{\"passes\": 3}"),
        std::string("{\"passes\": [{\"stage\": \"one\", \"outputs\": 7}, 5, null]}"),
        std::string("{\"passes\": [{\"stage\": 1, \"fingerprint\": 12, \"outputs\": [3]}]}")}) {
    ASSERT_EQ(Run({"-q"}).exit_code, 0);
    WriteFile(out_ + "/run_manifest.json", text);
    const CliResult rerun = Run();
    ASSERT_EQ(rerun.exit_code, 0) << text << "\n" << rerun.err;
    EXPECT_EQ(Decision(rerun, 1), "computed") << text;
  }
}

TEST_F(OutdirTest, SymlinksInOutdirAreNeverFollowed) {
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  const std::string victim = dir_ / "victim.txt";
  WriteFile(victim, "precious");
  const std::string elsewhere = dir_ / "elsewhere";
  fs::create_directory(elsewhere);
  // An output replaced by a symlink: not reused, and the rerun replaces the link, not the target.
  fs::remove(out_ + "/pass1_stats.csv");
  fs::create_symlink(victim, out_ + "/pass1_stats.csv");
  // Temporaries of an earlier version's naming and of this one's, planted as symlinks.
  fs::create_symlink(victim, out_ + "/pass1_columns.txt.tmp-123-0");
  fs::create_symlink(victim, out_ + "/pass2_columns.txt.tmp-AbC123");
  // .checkpoint as a symlink to another directory.
  fs::rename(out_ + "/.checkpoint", dir_ / "old_checkpoint");
  fs::create_symlink(elsewhere, out_ + "/.checkpoint");
  const CliResult rerun = Run();
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(Decision(rerun, 1), "computed") << rerun.err;
  EXPECT_TRUE(Contains(rerun.err, "removed 2 temporary files")) << rerun.err;
  EXPECT_EQ(ReadFile(victim), "precious");
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(out_ + "/pass1_stats.csv")));
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(out_ + "/.checkpoint")));
  EXPECT_TRUE(ListDir(elsewhere).empty());
  for (const std::string& name : ListDir(out_))
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
  // A FIFO under an output's name is not opened (it would block): the pass is computed again.
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  fs::remove(out_ + "/pass3_vif.json");
  ASSERT_EQ(::mkfifo((out_ + "/pass3_vif.json").c_str(), 0600), 0);
  const CliResult fifo = Run();
  ASSERT_FALSE(fifo.timed_out);
  ASSERT_EQ(fifo.exit_code, 0) << fifo.err;
  EXPECT_EQ(Decision(fifo, 3), "computed") << fifo.err;
}

TEST_F(OutdirTest, TemporariesAreCreatedExclusively) {
  // A pre-existing file at every name the old scheme would have used cannot be overwritten: the
  // new names are random (mkostemp) and created with O_EXCL.
  const std::string victim = dir_ / "victim.txt";
  WriteFile(victim, "precious");
  fs::create_directory(out_);
  for (int pid = 0; pid < 64; ++pid) {
    fs::create_symlink(victim, out_ + "/pass1_stats.csv.tmp-" + std::to_string(pid) + "-0");
  }
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  EXPECT_EQ(ReadFile(victim), "precious");
}

// ---- forged checkpoints (item 13) --------------------------------------------------------------

TEST_F(OutdirTest, ForgedCheckpointsWithMatchingHashesAreComputedAgain) {
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  const std::string reference = ReadFile(out_ + "/final_descriptors.txt");
  struct Forgery {
    const char* file;
    int pass;
    void (*edit)(Json&);
  };
  const std::vector<Forgery> forgeries = {
      {".checkpoint/pass3.json", 3,
       [](Json& j) {
         j["survivors"] = {0, 1, 100000};
       }},
      {".checkpoint/pass3.json", 3, [](Json& j) { j["removed"][0][3] = 999999; }},
      {".checkpoint/pass3.json", 3, [](Json& j) { j["survivors"] = "all"; }},
      {".checkpoint/pass2.json", 2, [](Json& j) { j["clusters"][0]["representative"] = 123456; }},
      {".checkpoint/pass2.json", 2, [](Json& j) { j["clusters"] = Json::array(); }},
      {".checkpoint/pass2.json", 2, [](Json& j) { j["nonlinear_rows"] = 1000000000; }},
      {".checkpoint/pass2.json", 2, [](Json& j) { j.erase("rows_used"); }},
      {".checkpoint/pass1.json", 1, [](Json& j) { j["decisions"][0][0] = 42; }},
      {".checkpoint/pass1.json", 1, [](Json& j) { j["columns"][0] = "not_a_column"; }},
      {".checkpoint/pass1.json", 1, [](Json& j) { j["stats"] = Json::array(); }},
      {".checkpoint/pass1.json", 1, [](Json& j) { j["kept"].push_back("g0_x"); }},
  };
  for (const Forgery& forgery : forgeries) {
    ASSERT_EQ(Run({"-q", "--no-resume"}).exit_code, 0);
    Json checkpoint = Json::parse(ReadFile(out_ + "/" + forgery.file));
    forgery.edit(checkpoint);
    WriteFile(out_ + "/" + forgery.file, checkpoint.dump());
    ForgeRecord(forgery.file);
    const CliResult rerun = Run();
    ASSERT_EQ(rerun.exit_code, 0) << forgery.file << " " << checkpoint.dump().substr(0, 200) << "\n"
                                  << rerun.err;
    EXPECT_EQ(Decision(rerun, forgery.pass), "computed") << rerun.err;
    EXPECT_TRUE(Contains(rerun.err, "its saved result is not valid")) << rerun.err;
    EXPECT_EQ(ReadFile(out_ + "/final_descriptors.txt"), reference);
  }
  // A matrix whose header promises more values than the file holds, and final descriptors that
  // did not survive Pass 3.
  ASSERT_EQ(Run({"-q", "--no-resume"}).exit_code, 0);
  std::string npy = ReadFile(out_ + "/pass2_spearman_matrix.npy");
  const std::size_t shape = npy.find("'shape': (");
  npy.replace(shape, npy.find(')', shape) - shape, "'shape': (4611686018427387904, 4");
  WriteFile(out_ + "/pass2_spearman_matrix.npy", npy);
  ForgeRecord("pass2_spearman_matrix.npy");
  const CliResult matrix = Run();
  ASSERT_EQ(matrix.exit_code, 0) << matrix.err;
  EXPECT_EQ(Decision(matrix, 2), "computed") << matrix.err;
  WriteFile(out_ + "/final_descriptors.txt", "id\n");
  ForgeRecord("final_descriptors.txt");
  const CliResult final_list = Run();
  ASSERT_EQ(final_list.exit_code, 0) << final_list.err;
  EXPECT_EQ(Decision(final_list, 4), "computed") << final_list.err;
  EXPECT_EQ(ReadFile(out_ + "/final_descriptors.txt"), reference);
}

TEST_F(OutdirTest, ExplainAndApplyRefuseADamagedLineage) {
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  Json lineage = Json::parse(ReadFile(out_ + "/final_cluster_info.json"));
  lineage["final"][0].erase("column");
  lineage["removed"] = {{"g0_copy", {{"pass", "two"}}}};
  WriteFile(out_ + "/final_cluster_info.json", lineage.dump());
  EXPECT_TRUE(OneErrorLine(RunCli({"explain", out_, "g0_copy"}), "not a valid lineage file"));
  Json manifest = Manifest();
  manifest["columns"]["metadata"] = 5;
  WriteFile(out_ + "/run_manifest.json", manifest.dump());
  EXPECT_TRUE(OneErrorLine(RunCli({"apply", out_, input_, "-o", dir_ / "x.parquet"}), "damaged"));
}

// ---- one run at a time (item 12) ---------------------------------------------------------------

TEST_F(OutdirTest, SecondRunIntoALockedOutdirFailsNamingTheHolder) {
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  const std::string before = ReadFile(out_ + "/run_manifest.json");
  {
    // This process plays the first run: it holds OUTDIR's exclusive lock.
    const io::OutdirLock held(out_, io::OutdirLock::Mode::kExclusive, false);
    const CliResult second = Run({"-q", "--set", "variance_threshold=0.001"});
    EXPECT_TRUE(OneErrorLine(
        second, "in use by another descpipe process (pid " + std::to_string(::getpid()) + ")"));
    EXPECT_EQ(ReadFile(out_ + "/run_manifest.json"), before) << "the second run wrote nothing";
    // Readers are refused too while a run writes.
    EXPECT_TRUE(
        OneErrorLine(RunCli({"explain", out_, "g0_x"}), "in use by another descpipe process"));
    EXPECT_TRUE(OneErrorLine(RunCli({"apply", out_, input_, "-o", dir_ / "x.parquet"}), "in use"));
  }
  {
    // Readers share: explain works while another reader holds the shared lock; a run does not.
    const io::OutdirLock reading(out_, io::OutdirLock::Mode::kShared, false);
    EXPECT_EQ(RunCli({"explain", out_, "g0_x"}).exit_code, 0);
    EXPECT_TRUE(OneErrorLine(Run({"-q"}), "in use"));
  }
}

TEST_F(OutdirTest, WaitWaitsForTheHolder) {
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  auto held = std::make_unique<io::OutdirLock>(out_, io::OutdirLock::Mode::kExclusive, false);
  std::atomic<bool> done{false};
  CliResult waited;
  std::thread second([&] {
    waited = Run({"--wait", "--set", "variance_threshold=0.001"});
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  const bool finished_while_held = done;
  held.reset();
  second.join();
  EXPECT_FALSE(finished_while_held) << waited.err;
  ASSERT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_TRUE(Contains(waited.err, "in use by another descpipe process: waiting for it"))
      << waited.err;
  EXPECT_EQ(Decision(waited, 1), "computed");
}

// ---- apply never writes into OUTDIR (item 14)
// ----------------------------------------------------

TEST_F(OutdirTest, ApplyRefusesEveryPathInsideOutdir) {
  ASSERT_EQ(Run({"-q"}).exit_code, 0);
  const std::string final_list = ReadFile(out_ + "/final_descriptors.txt");
  fs::create_directory(dir_ / "sub");
  fs::create_directory_symlink(out_, dir_ / "sub/link_to_out");
  for (const std::string& target :
       {out_ + "/final_descriptors.txt", out_ + "/new.parquet", out_ + "/.checkpoint/x.parquet",
        dir_ / "sub/../out/final_descriptors.txt",
        dir_ / "sub/link_to_out/final_descriptors.txt"}) {
    EXPECT_TRUE(OneErrorLine(RunCli({"apply", out_, input_, "-o", target}),
                             "inside the run's output directory"))
        << target;
  }
  EXPECT_EQ(ReadFile(out_ + "/final_descriptors.txt"), final_list);
  EXPECT_EQ(RunCli({"apply", out_, input_, "-o", dir_ / "outside.parquet", "-q"}).exit_code, 0);
}

// ---- options (items 4, 15, 16, 18, 19) ----------------------------------------------------------

TEST_F(OutdirTest, OptionsOutOfRangeAreOneErrorLineNamingOptionValueAndRange) {
  struct Case {
    std::vector<std::string> args;
    std::string part;
  };
  const std::vector<Case> cases = {
      {{"--set", "w_hsic=.inf"}, "option w_hsic must be a finite number in [0, 1000000]"},
      {{"--set", "w_hsic=1e308"}, "got 1e308"},
      {{"--set", "leiden_resolution=.inf"}, "leiden_resolution"},
      {{"--set", "threads=4294967297"}, "option threads must be an integer in [0, 4096]"},
      {{"--set", "hsic_D=4294967298"}, "option hsic_D must be an integer in [2, 65536]"},
      {{"--set", "nonlinear_topk=-4294967295"}, "nonlinear_topk"},
      {{"--set", "memory_limit=0.4B"}, "option memory_limit must be a size in [1048576"},
      {{"--set", "vif_threshold=1"}, "option vif_threshold must be a finite number in (1,"},
      {{"--set", "rdc_seeds=1000000"}, "option rdc_seeds must be an integer in [1, 100]"},
      {{"--set", "leiden_iterations=1e9"},
       "option leiden_iterations must be an integer in [-1, 1000]"},
      {{"--threads", "65536"}, "--threads"},
  };
  for (const Case& c : cases) {
    const CliResult result = Run(c.args);
    EXPECT_TRUE(OneErrorLine(result, c.part)) << c.args.back();
    EXPECT_FALSE(fs::exists(out_)) << "nothing is written before the options are checked";
  }
}

TEST_F(OutdirTest, ThreadsBeyondFourPerCoreAreCappedWithAWarning) {
  const CliResult result = Run({"--threads", "4096"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.err, "threads = 4096 is more than 4 per hardware thread"))
      << result.err;
}

TEST_F(OutdirTest, HugeConfigValuesAreShortenedInTheLog) {
  const std::string config = dir_ / "big.yaml";
  WriteFile(config, "prefer_gpu: \"" + std::string(2000000, 'x') + "\"\n" +
                        std::string(3000000, 'y') + ": 1\n");
  const CliResult unknown = Run({"--config", config});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_LT(unknown.err.size(), 3000u) << "the unknown key is shortened in the error line";
  WriteFile(config, "prefer_gpu: \"" + std::string(2000000, 'x') + "\"\n");
  const CliResult legacy = Run({"--config", config});
  ASSERT_EQ(legacy.exit_code, 0) << legacy.err.substr(0, 500);
  for (const std::string& line : Lines(legacy.err))
    EXPECT_LT(line.size(), 1000u) << line.substr(0, 200);
  EXPECT_TRUE(Contains(legacy.err, "characters)")) << legacy.err.substr(0, 2000);
}

/// Starts `descpipe args` with stderr to `err_path`, waits until stderr contains `marker`, sends
/// `signal_number`; returns the wait status (0 and a failure when the marker never came).
int InterruptAt(const std::vector<std::string>& args, const std::string& err_path,
                const std::string& marker, int signal_number) {
  // Created before the fork: the marker must come from this run, not from an older file.
  WriteFile(err_path, "");
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_TRUNC, 0644);
    ::dup2(err_fd, STDERR_FILENO);
    std::vector<std::string> copies = args;
    std::string program = testing::CliPath();
    std::vector<char*> argv = {program.data()};
    for (auto& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ADD_FAILURE() << "the run ended before '" << marker << "':\n" << ReadFile(err_path);
      return status;
    }
    if (Contains(ReadFile(err_path), marker)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, signal_number);
  ::waitpid(pid, &status, 0);
  return status;
}

TEST_F(OutdirTest, SigintAndSigtermSayWhatIsCompleteAndTheRerunResumes) {
  MakeTable(input_, testing::kSanitizerBuild ? 3000 : 20000, 10);
  // Pass 4 made slow on purpose (many features and draws), so the signal lands inside it.
  const std::vector<std::string> slow = {
      "run",   input_,        "-o",    out_,          "--set", "metadata_columns=[id]",
      "--set", "hsic_D=8192", "--set", "rdc_seeds=50"};
  for (const int signal_number : {SIGINT, SIGTERM}) {
    fs::remove_all(out_);
    const std::string err_path = dir_ / ("stderr" + std::to_string(signal_number) + ".txt");
    const int status = InterruptAt(slow, err_path, "pass4: computed", signal_number);
    ASSERT_TRUE(WIFSIGNALED(status)) << ReadFile(err_path);
    EXPECT_EQ(WTERMSIG(status), signal_number);
    const std::string err = ReadFile(err_path);
    const std::string name = signal_number == SIGINT ? "SIGINT" : "SIGTERM";
    EXPECT_TRUE(Contains(err, "descpipe: stopped by " + name +
                                  ": pass4 was running; pass1, pass2, pass3 are complete in '" +
                                  out_ + "'"))
        << err;
    for (const std::string& name_in_out : ListDir(out_)) {
      EXPECT_EQ(name_in_out.find(".tmp-"), std::string::npos) << name_in_out;
    }
    std::vector<std::string> resume = slow;
    resume.insert(resume.end(), {"--set", "hsic_D=64", "--set", "rdc_seeds=2"});
    const CliResult rerun = RunCli(resume, 300);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_EQ(Decision(rerun, 3), "reused") << rerun.err;
  }
}

}  // namespace
}  // namespace descpipe
