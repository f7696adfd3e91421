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
#include "pipeline/progress.hpp"

namespace descpipe {
namespace fs = std::filesystem;

Stage LastImplementedStage() { return Stage::kPass4; }

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
      "final_cluster_info.json",
      // .checkpoint/
      "pass1.json", "pass2.json", "pass2_pearson.npy", "pass2_nonlinear_rows.npy", "pass3.json"};
  return names;
}

/// Under the exclusive lock: removes the temporaries of killed runs, and makes .checkpoint a real
/// directory (a symlink there would lead checkpoint writes and deletions elsewhere).
void TidyOutputDirectory(const std::string& out_dir) {
  io::EnsureCheckpointDirectory(out_dir);
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
  manifest.Save();

  // A pass is reused when its fingerprint and files match and every pass before it was reused.
  bool reusing = options.resume;
  bool stale_removed = false;
  const char* const names[] = {"pass0", "pass1", "pass2", "pass3", "pass4"};
  // `load` reads the pass's result back (checkpoints and outputs, validated as untrusted input);
  // when it finds them invalid the pass is computed instead, and the log says why.
  auto reuse = [&](int stage, const std::function<void()>& load) {
    std::string why;
    if (!options.resume) {
      why = "--no-resume";
    } else if (!reusing) {
      why = "an earlier pass was computed";
    } else if (manifest.CanReuse(stage, &why)) {
      try {
        load();
        spdlog::info("{}: reused from the earlier run in {}", names[stage], config.output_dir);
        return true;
      } catch (const Error& e) {  // a damaged or forged checkpoint: compute instead of trusting it
        why = fmt::format("its saved result is not valid: {}", e.what());
      }
    }
    if (!stale_removed) {  // at the first computed pass: earlier results from here on no longer
                           // match
      manifest.RemoveStaleOutputs(stage);
      stale_removed = true;
    }
    reusing = false;
    spdlog::info("{}: computed ({})", names[stage], why);
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
  RemoveUnlessKept sample_on_failure;
  ResetPeakRss();
  if (config.sample_rows > 0 || config.sample_per_file > 0) {
    const auto start = std::chrono::steady_clock::now();
    const std::string sample_path = config.output_dir + "/sampled_data.parquet";
    std::int64_t rows = 0;
    status("pass0");
    const bool reused = reuse(0, [] {});
    if (!reused) {
      SampleSpec spec{config.sample_rows, config.sample_per_file, config.random_seed};
      rows = WriteSample(table, spec, sample_path, ctx);
      sample_on_failure.Watch(sample_path, [&manifest] { manifest.Forget(0); });
      spdlog::info("pass0: sampled {} rows into {}",
                   GroupThousands(static_cast<std::uint64_t>(rows)), sample_path);
    }
    // Later passes read the sample, with the column roles decided on the full input.
    InputSpec sample_spec;
    sample_spec.patterns = {sample_path};
    sample_spec.metadata_columns = table.metadata_names();
    sample_spec.descriptor_columns = table.descriptor_names();
    if (sample_spec.metadata_columns.empty()) sample_spec.n_metadata_cols = 0;
    const std::size_t n_descriptors = sample_spec.descriptor_columns.size();
    table = Table::Open(sample_spec, ctx);
    if (reused) {
      run.passes.push_back(manifest.Reuse(0));
    } else {
      run.passes.push_back(
          {"pass0_sampling", n_descriptors, n_descriptors,
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
           PeakRssBytes()});
      manifest.RecordPass(0, run.passes.back(), {"sampled_data.parquet"},
                          {{"row_sample",
                            {{"rows", rows},
                             {"sample_rows", config.sample_rows},
                             {"sample_per_file", config.sample_per_file},
                             {"seed", config.random_seed}}}});
    }
    finished("pass0");
  }

  ResetPeakRss();
  Pass1Result pass1;
  status("pass1");
  if (reuse(1, [&] { pass1 = LoadPass1(config.output_dir, table.descriptor_names()); })) {
    run.passes.push_back(manifest.Reuse(1));
  } else {
    ProgressLine progress("pass1", ctx.show_progress());
    pass1 = RunPass1(
        table, config, ctx,
        [&](std::uint64_t done, std::int64_t total) { progress.Update(done, total); },
        /*keep_values=*/options.until >= Stage::kPass2);
    progress.Finish();
    WritePass1Outputs(pass1, config, config.output_dir);
    std::vector<std::string> outputs = {"pass1_stats.csv", "pass1_columns.txt",
                                        "pass1_variance_filtering.json"};
    for (auto& file : SavePass1(pass1, config.output_dir)) outputs.push_back(file);
    spdlog::info("pass1: {} descriptors in, {} kept, {} removed ({:.2f} s)", pass1.columns.size(),
                 pass1.kept.size(), pass1.columns.size() - pass1.kept.size(), pass1.seconds);
    run.passes.push_back({"pass1_statistics", pass1.columns.size(), pass1.kept.size(),
                          pass1.seconds, PeakRssBytes()});
    manifest.RecordPass(1, run.passes.back(), outputs);
  }
  sample_on_failure.Keep();
  finished("pass1");
  run.final_columns = pass1.kept;
  if (options.until < Stage::kPass2) return run;

  ResetPeakRss();
  Pass2Result pass2;
  status("pass2");
  if (reuse(2, [&] { pass2 = LoadPass2(config.output_dir, pass1); })) {
    run.passes.push_back(manifest.Reuse(2));
  } else {
    ProgressLine progress2("pass2", ctx.show_progress());
    pass2 = RunPass2(
        table, pass1, std::move(pass1.values), config, ctx,
        [&](std::uint64_t done, std::int64_t total) { progress2.Update(done, total); },
        // What Passes 3 and 4 need is kept (and checkpointed) even when the run stops here, so
        // that a later run going further can reuse this pass.
        /*pearson=*/config.vif_pearson,
        /*nonlinear_rows=*/static_cast<std::size_t>(config.nonlinear_max_rows));
    progress2.Finish();
    WritePass2Outputs(pass2, config, config.output_dir);
    std::vector<std::string> outputs = {"pass2_spearman_matrix.npy", "pass2_columns.txt",
                                        "pass2_spearman.json"};
    for (auto& file : SavePass2(pass2, config.output_dir)) outputs.push_back(file);
    spdlog::info("pass2: {} descriptors in, {} kept, {} removed in {} clusters ({:.2f} s, {} rows)",
                 pass2.columns.size(), pass2.kept.size(), pass2.columns.size() - pass2.kept.size(),
                 std::count_if(pass2.clusters.begin(), pass2.clusters.end(),
                               [](const Cluster& c) { return c.members.size() > 1; }),
                 pass2.seconds, GroupThousands(pass2.rows_used));
    run.passes.push_back(
        {"pass2_spearman", pass2.columns.size(), pass2.kept.size(), pass2.seconds, PeakRssBytes()});
    nlohmann::ordered_json pass2_rows = {{"total", pass2.rows_total}, {"used", pass2.rows_used}};
    if (!pass2.row_sample_reason.empty()) {
      pass2_rows["reason"] = pass2.row_sample_reason;
      pass2_rows["seed"] = config.random_seed;
    }
    manifest.RecordPass(2, run.passes.back(), outputs, {{"row_sample", pass2_rows}});
  }
  finished("pass2");
  run.final_columns = pass2.kept;
  if (options.until < Stage::kPass3) return run;

  ResetPeakRss();
  Pass3Result pass3;
  status("pass3");
  if (reuse(3, [&] { pass3 = LoadPass3(config.output_dir, pass2); })) {
    run.passes.push_back(manifest.Reuse(3));
  } else {
    pass3 = RunPass3(pass1, pass2, config, ctx);
    WritePass3Outputs(pass3, config, config.output_dir);
    std::vector<std::string> outputs = {"pass3_columns.txt", "pass3_vif.json"};
    for (auto& file : SavePass3(pass3, config.output_dir)) outputs.push_back(file);
    spdlog::info("pass3: {} descriptors in, {} kept, {} removed by VIF > {} ({:.2f} s)",
                 pass3.columns.size(), pass3.kept.size(), pass3.vif.removed.size(),
                 config.vif_threshold, pass3.seconds);
    run.passes.push_back(
        {"pass3_vif", pass3.columns.size(), pass3.kept.size(), pass3.seconds, PeakRssBytes()});
    manifest.RecordPass(3, run.passes.back(), outputs);
  }
  finished("pass3");
  run.final_columns = pass3.kept;
  if (options.until < Stage::kPass4) return run;

  ResetPeakRss();
  status("pass4");
  if (reuse(4, [&] { run.final_columns = LoadFinalDescriptors(config.output_dir, pass3); })) {
    run.passes.push_back(manifest.Reuse(4));
    return run;
  }
  std::vector<double>().swap(pass2.pearson);  // Pass 3's input: not needed any more
  ProgressLine progress4("pass4", ctx.show_progress(), "tiles");
  const Pass4Result pass4 =
      RunPass4(pass1, pass2, std::move(pass2.nonlinear_sample), pass3, config, ctx,
               [&](std::uint64_t done, std::int64_t total) { progress4.Update(done, total); });
  progress4.Finish();
  WritePass4Outputs(pass4, config, config.output_dir);
  WriteFinalClusterInfo(pass1, pass2, pass3, pass4, config, config.output_dir);
  spdlog::info(
      "pass4: {} descriptors in, {} kept, {} removed in {} clusters ({} edges at S >= {}, {} rows, "
      "{:.2f} s)",
      pass4.columns.size(), pass4.kept.size(), pass4.columns.size() - pass4.kept.size(),
      std::count_if(pass4.clusters.begin(), pass4.clusters.end(),
                    [](const Cluster& c) { return c.members.size() > 1; }),
      pass4.edges, config.nonlinear_threshold, GroupThousands(pass4.rows_used), pass4.seconds);
  run.passes.push_back(
      {"pass4_nonlinear", pass4.columns.size(), pass4.kept.size(), pass4.seconds, PeakRssBytes()});
  std::vector<std::string> pass4_outputs;
  if (config.w_hsic > 0.0) pass4_outputs.push_back("pass4_hsic_matrix.npy");
  if (config.w_rdc > 0.0) pass4_outputs.push_back("pass4_rdc_matrix.npy");
  for (const char* name :
       {"pass4_nonlinear.json", "final_descriptors.txt", "final_cluster_info.json"}) {
    pass4_outputs.push_back(name);
  }
  nlohmann::ordered_json pass4_rows = {{"available", pass4.rows_available},
                                       {"used", pass4.rows_used},
                                       {"nonlinear_max_rows", config.nonlinear_max_rows},
                                       {"seed", config.random_seed}};
  if (!pass4.row_sample_reason.empty()) pass4_rows["reason"] = pass4.row_sample_reason;
  manifest.RecordPass(4, run.passes.back(), pass4_outputs, {{"row_sample", pass4_rows}});
  run.final_columns = pass4.kept;
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
