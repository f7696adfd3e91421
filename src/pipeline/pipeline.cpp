// Pass orchestration: validates inputs, runs the passes in order, writes their outputs.
#include "descpipe/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>

#include "descpipe/device.hpp"
#include "descpipe/error.hpp"
#include "descpipe/lineage.hpp"
#include "io/atomic_file.hpp"
#include "io/outdir.hpp"
#include "pipeline/checkpoint.hpp"
#include "pipeline/manifest.hpp"
#include "pipeline/passes.hpp"
#include "pipeline/progress.hpp"

namespace descpipe {
namespace fs = std::filesystem;

Stage LastImplementedStage() { return static_cast<Stage>(Passes().back()->stage()); }

std::vector<std::string> StageNames() {
  std::vector<std::string> names;
  for (const auto& pass : Passes()) {
    if (pass->stage() >= static_cast<int>(Stage::kPass1)) names.push_back(pass->name());
  }
  return names;
}

Stage ParseStage(const std::string& name) {
  for (const auto& pass : Passes()) {
    if (pass->stage() >= static_cast<int>(Stage::kPass1) && name == pass->name())
      return static_cast<Stage>(pass->stage());
  }
  std::string names;
  for (const auto& known : StageNames()) names += (names.empty() ? "" : ", ") + known;
  throw InvalidInput(fmt::format("unknown pass '{}' (valid: {})", name, names));
}

void RemoveUnfinishedOutputs() { io::RemoveTemporariesNow(); }

extern "C" char* openblas_get_corename(void);

namespace {

/// OpenBLAS picks its kernels when it loads, from the CPU it recognises. Debian 12's OpenBLAS
/// (0.3.21) does not know AMD Zen 4/5 and runs its AVX2 "Haswell" kernels there, although the
/// AVX-512 "SkylakeX" kernels work and make the matrix products of Passes 2 and 4 ~1.6x faster
/// (docs/PERFORMANCE.md, "Scale"). Only the environment can change the choice, so say how.
void SuggestBlasCoreType() {
#if defined(__x86_64__) && defined(__GNUC__)
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  const char* core = openblas_get_corename();
  if (core == nullptr || (std::strcmp(core, "Haswell") != 0 && std::strcmp(core, "Zen") != 0))
    return;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
    spdlog::info(
        "OpenBLAS runs its {} kernels on this AVX-512 CPU: OPENBLAS_CORETYPE=SkylakeX in the "
        "environment makes the matrix products ~1.6x faster",
        core);
  }
#endif
}

void CheckOutputIsNotInput(const Table& table, const std::string& out_dir) {
  std::error_code ec;
  for (const auto& file : table.files()) {
    DESCPIPE_EXPECTS(!fs::equivalent(file.path, out_dir, ec),
                     "output directory '{}' is the input file '{}'", out_dir, file.path);
    // An input inside the output directory would be an output of an earlier run (for example
    // sampled_data.parquet found again by a recursive directory input).
    DESCPIPE_EXPECTS(!io::IsInsideDirectory(file.path, out_dir),
                     "input file '{}' lies inside the output directory '{}': choose an output "
                     "directory outside the inputs",
                     file.path, out_dir);
  }
}

void ReportOptions(const Config& config) {
  for (const auto& [key, value] : config.ignored_legacy) {
    spdlog::info("option {} = {} of the original descriptor_pipeline has no effect in descpipe",
                 key, value);
  }
}

/// Every file a run writes in OUTDIR or OUTDIR/.checkpoint (pipeline.hpp, checkpoint.hpp): the
/// names whose temporaries a killed run may have left.
const std::vector<std::string>& OutdirFileNames() {
  static const std::vector<std::string> names = {
      "run_manifest.json", "sampled_data.parquet", "pass1_stats.csv", "pass1_columns.txt",
      "pass1_variance_filtering.json", "pass2_spearman_matrix.npy", "pass2_columns.txt",
      "pass2_spearman.json", "pass3_columns.txt", "pass3_vif.json", "pass4_hsic_matrix.npy",
      "pass4_rdc_matrix.npy", "pass4_nonlinear.json", "final_descriptors.txt",
      "final_cluster_info.json", "lineage.csv", "report.html",
      // .checkpoint/
      "pass1.json", "pass2.json", "pass2_pearson.npy", "pass2_nonlinear_rows.npy", "pass3.json"};
  return names;
}

/// Under the exclusive lock: removes the temporaries of killed runs, and makes .checkpoint a real
/// directory (a symlink there would lead checkpoint writes and deletions elsewhere).
void TidyOutputDirectory(const std::string& out_dir) {
  io::EnsureCheckpointDirectory(out_dir);
  // An earlier run's report (descpipe/report.hpp) shows that run's results: gone before any of
  // them is replaced, whether this run writes a report or not.
  const std::string report = out_dir + "/report.html";
  const auto status = std::filesystem::symlink_status(report);
  if (std::filesystem::exists(status) && !std::filesystem::is_directory(status))
    std::filesystem::remove(report);
  const std::size_t removed =
      io::RemoveStaleTemporaries(out_dir, OutdirFileNames()) +
      io::RemoveStaleTemporaries(out_dir + "/.checkpoint", OutdirFileNames());
  if (removed > 0)
    spdlog::info("removed {} temporary file{} left by an interrupted run", removed,
                 removed == 1 ? "" : "s");
}

/// Removes `path` on scope exit unless Keep() was called: a run that fails after Pass 0 leaves no
/// sample behind, and no manifest entry for it (`forget` runs first: the manifest never lists a
/// file that is gone).
class RemoveUnlessKept {
 public:
  RemoveUnlessKept() = default;
  ~RemoveUnlessKept() {
    if (kept_ || path_.empty()) return;
    // Best effort: the run is failing already, and a destructor must not throw. When the
    // manifest cannot be rewritten, the sample stays: it is complete, and listed.
    try {
      if (forget_) forget_();
    } catch (const std::exception& e) {
      spdlog::warn("cannot remove pass0 from the manifest of the failed run: {}", e.what());
      return;
    }
    std::error_code ec;
    fs::remove(path_, ec);
  }
  RemoveUnlessKept(const RemoveUnlessKept&) = delete;
  RemoveUnlessKept& operator=(const RemoveUnlessKept&) = delete;
  void Watch(std::string path, std::function<void()> forget) {
    path_ = std::move(path);
    forget_ = std::move(forget);
  }
  void Keep() { kept_ = true; }

 private:
  std::string path_;
  std::function<void()> forget_;
  bool kept_ = false;
};

/// RunPipeline on `input`, or on the inputs of `config` when `input` is nullptr.
RunResult Run(const Table* input, const Config& config, const RunOptions& options,
              const Context& base_ctx) {
  config.Validate();
  // Seed and memory budget live in both; the manifest records the Config's, so they must agree.
  DESCPIPE_EXPECTS(base_ctx.seed() == config.random_seed,
                   "the Context's seed {} differs from random_seed {}: make the Context with "
                   "MakeContext(config)",
                   base_ctx.seed(), config.random_seed);
  DESCPIPE_EXPECTS(base_ctx.memory_limit_bytes() == EffectiveMemoryLimit(config.memory_limit),
                   "the Context's memory budget ({} bytes) differs from memory_limit ({} bytes): "
                   "make the Context with MakeContext(config)",
                   base_ctx.memory_limit_bytes(), EffectiveMemoryLimit(config.memory_limit));
  DESCPIPE_EXPECTS(options.until <= LastImplementedStage(),
                   "--until pass{} asks for a pass this version does not have (last: pass{})",
                   static_cast<int>(options.until), static_cast<int>(LastImplementedStage()));
  // The device (cpu, auto, cuda[:N]) comes from the config; ChooseDevice refuses an unusable GPU
  // before anything is read or written.
  std::string device;
  const Context ctx = ContextForDevice(base_ctx, config, &device);
  DESCPIPE_EXPECTS(!config.output_dir.empty(),
                   "no output directory given: use -o OUTDIR or output_dir");
  ReportOptions(config);

  // Validate every input before anything is written.
  Table table = input != nullptr ? *input : Table::Open(config.ToInputSpec(), ctx);
  CheckOutputIsNotInput(table, config.output_dir);
  // The target and the identifier columns are metadata for every pass (decided once, here, on
  // the whole input: Pass 0's sample keeps these roles).
  std::vector<IdColumn> id_columns;
  ctx.ThrowIfStopped();
  table = WithRunRoles(table, config, ctx, &id_columns);
  ctx.ThrowIfStopped();
  spdlog::info(
      "input: {}, {} descriptors, {} metadata columns{}", table.Describe(),
      table.descriptor_names().size(), table.metadata_names().size(),
      table.known_row_count() >= 0
          ? fmt::format(", {} rows",
                        GroupThousands(static_cast<std::uint64_t>(table.known_row_count())))
          : "");
  SuggestBlasCoreType();
  io::EnsureOutputDirectory(config.output_dir);
  // One run at a time in OUTDIR (two would mix their passes); apply and explain wait for it too.
  const io::OutdirLock lock(config.output_dir, io::OutdirLock::Mode::kExclusive, options.wait);
  TidyOutputDirectory(config.output_dir);
  // A new manifest with no pass yet: from here on it lists only passes whose outputs are complete
  // (the earlier run's entries stay in memory, as candidates for reuse).
  Manifest manifest(table, config, ctx);
  manifest.SetDevice(device);
  manifest.SetRoles(config.target_column, id_columns);
  manifest.Save();

  // A pass is reused when its fingerprint and files match and every pass before it was reused.
  bool reusing = options.resume;
  bool stale_removed = false;
  // `load` reads the pass's result back (checkpoints and outputs, validated as untrusted input);
  // when it finds them invalid the pass is computed instead, and the log says why.
  auto reuse = [&](const Pass& pass, const std::function<void()>& load) {
    std::string why;
    if (!options.resume) {
      why = "--no-resume";
    } else if (!reusing) {
      why = "an earlier pass was computed";
    } else if (manifest.CanReuse(pass.stage(), &why)) {
      try {
        load();
        spdlog::info("{}: reused from the earlier run in {}", pass.name(), config.output_dir);
        return true;
      } catch (const Error& e) {  // a damaged or forged checkpoint: compute instead of trusting it
        why = fmt::format("its saved result is not valid: {}", e.what());
      }
    }
    if (!stale_removed) {  // at the first computed pass: earlier results from here on no longer
                           // match
      manifest.RemoveStaleOutputs(pass.stage());
      stale_removed = true;
    }
    reusing = false;
    spdlog::info("{}: computed ({})", pass.name(), why);
    return false;
  };
  // What a run stopped now leaves complete in OUTDIR (for the message on SIGINT/SIGTERM).
  std::string complete;
  auto status = [&](const char* running) {
    if (!options.on_status) return;
    options.on_status(fmt::format(
        "{} was running; {} complete in '{}'", running,
        complete.empty() ? std::string("no pass is")
                         : complete + (complete.find(',') == std::string::npos ? " is" : " are"),
        config.output_dir));
  };
  auto finished = [&](const char* pass) {
    complete += complete.empty() ? pass : std::string(", ") + pass;
  };

  RunResult run;
  RunState state;
  state.table = std::move(table);
  const PassInputs in{config, ctx, options};
  RemoveUnlessKept provisional;  // a computed pass's file kept only once the next pass completes
  for (const auto& pass_ptr : Passes()) {
    const Pass& pass = *pass_ptr;
    if (!pass.Enabled(config)) continue;
    if (pass.stage() > static_cast<int>(options.until)) break;
    ctx.ThrowIfStopped();
    ResetPeakRss();
    status(pass.name());
    const bool reused = reuse(pass, [&] { pass.Load(in, state); });
    if (!reused) {
      const char* unit = pass.progress_unit();
      ProgressLine progress(pass.name(),
                            unit != nullptr ? ctx.progress_style() : ProgressStyle::kNone,
                            unit != nullptr ? unit : "rows");
      pass.Compute(in, state, [&](std::uint64_t done, std::int64_t total) {
        progress.Update(done, total);
        if (options.on_progress) options.on_progress(pass.name(), done, total);
        ctx.ThrowIfStopped();  // every caller of a pass's progress is a safe point to stop
      });
      progress.Finish();
    }
    const std::string watched = reused ? std::string() : pass.RemovedIfNextFails(config);
    if (!watched.empty()) {
      provisional.Watch(watched, [&manifest, stage = pass.stage()] { manifest.Forget(stage); });
    }
    pass.Prepare(in, state);
    if (reused) {
      run.passes.push_back(manifest.Reuse(pass.stage()));
    } else {
      const std::vector<std::string> outputs = pass.Write(in, state);
      spdlog::info("{}", pass.LogLine(in, state));
      PassSummary summary = pass.Summary(state);
      summary.peak_rss_bytes = PeakRssBytes();
      run.passes.push_back(summary);
      manifest.RecordPass(pass.stage(), run.passes.back(), outputs, pass.ManifestFields(in, state));
    }
    if (watched.empty()) provisional.Keep();
    finished(pass.name());
    if (pass.stage() >= 1) run.final_columns = pass.Kept(state);
  }
  return run;
}

}  // namespace

RunResult RunPipeline(const Config& config, const RunOptions& options, const Context& ctx) {
  return Run(nullptr, config, options, ctx);
}

RunResult RunPipeline(const Table& input, const Config& config, const RunOptions& options,
                      const Context& ctx) {
  return Run(&input, config, options, ctx);
}

}  // namespace descpipe
