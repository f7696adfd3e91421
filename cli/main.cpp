// descpipe command line: parses arguments, calls the library, prints errors. No logic here.
#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "descpipe/config.hpp"
#include "descpipe/error.hpp"
#include "descpipe/lineage.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/report.hpp"
#include "descpipe/version.hpp"

namespace {

struct CommonOptions {
  std::vector<std::string> inputs;
  std::string config_file;
  std::vector<std::string> overrides;
  int threads = -1;
  std::string device;
  bool quiet = false;
  bool verbose = false;
};

void AddCommon(CLI::App* command, CommonOptions& options, bool inputs_required) {
  auto* inputs =
      command->add_option("inputs", options.inputs, "Parquet/CSV files, directories or globs");
  if (inputs_required) inputs->required();
  command->add_option("-c,--config", options.config_file, "YAML config file");
  command->add_option("--set", options.overrides, "Override one option: key=value (repeatable)");
  command
      ->add_option("-t,--threads", options.threads,
                   "Worker threads (default: OMP_NUM_THREADS, else the CPUs this process may use)")
      ->check(CLI::Range(0, descpipe::kMaxThreads));
  command->add_flag("-q,--quiet", options.quiet, "Only warnings and errors on stderr");
  command->add_flag("-v,--verbose", options.verbose, "Also debug messages (timings of each step)");
}

descpipe::Config BuildConfig(const CommonOptions& options) {
  descpipe::Config config;
  if (!options.config_file.empty()) config = descpipe::LoadConfigFile(options.config_file, config);
  for (const auto& assignment : options.overrides) descpipe::ApplyOverride(config, assignment);
  if (!options.inputs.empty()) config.inputs = options.inputs;
  if (options.threads >= 0) config.threads = options.threads;
  if (!options.device.empty()) descpipe::ApplyOverride(config, "device=" + options.device);
  return config;
}

descpipe::Context MakeContext(const descpipe::Config& config, bool quiet) {
  descpipe::Context ctx = descpipe::MakeContext(config);
  // A terminal gets a live line; a redirected stderr (a batch job's log) a log line at most every
  // 30 s per pass.
  ctx.set_progress_style(quiet                          ? descpipe::ProgressStyle::kNone
                         : ::isatty(STDERR_FILENO) != 0 ? descpipe::ProgressStyle::kLive
                                                        : descpipe::ProgressStyle::kLog);
  return ctx;
}

// ---- SIGINT / SIGTERM: one line saying what is complete, no temporary left behind -----------

/// The sentence the handler prints: two buffers, filled by SetStatus and published by `g_status`
/// (the handler reads without locks or allocation; it may run on any thread).
char g_status_text[2][1024];
std::atomic<int> g_status{-1};
bool g_stderr_is_tty = false;

void SetStatus(const std::string& text) {
  const int next = g_status.load() == 0 ? 1 : 0;
  const std::size_t length = std::min(text.size(), sizeof(g_status_text[next]) - 1);
  std::memcpy(g_status_text[next], text.data(), length);
  g_status_text[next][length] = '\0';
  g_status.store(next);
}

void WriteAll(const char* text) {
  std::size_t length = std::strlen(text);
  while (length > 0) {
    const ssize_t written = ::write(STDERR_FILENO, text, length);
    if (written <= 0) return;
    text += written;
    length -= static_cast<std::size_t>(written);
  }
}

extern "C" void OnStopSignal(int signal_number) {
  descpipe::RemoveUnfinishedOutputs();
  if (g_stderr_is_tty) WriteAll("\n");  // after a live progress line
  WriteAll(signal_number == SIGINT ? "descpipe: stopped by SIGINT"
                                   : "descpipe: stopped by SIGTERM");
  const int current = g_status.load();
  if (current >= 0) {
    WriteAll(": ");
    WriteAll(g_status_text[current]);
  } else {
    WriteAll("; no output was written");
  }
  WriteAll("\n");
  std::signal(signal_number, SIG_DFL);  // then die of the signal, as the caller expects
  std::raise(signal_number);
}

void InstallStopHandlers() {
  g_stderr_is_tty = ::isatty(STDERR_FILENO) != 0;
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

/// At most 2,000 characters of a logged or printed value: a 50 MB option value or column list
/// must not become a 50 MB line.
std::string Shorten(std::string text) {
  constexpr std::size_t kMax = 2000;
  if (text.size() <= kMax) return text;
  const std::size_t total = text.size();
  text.resize(kMax);
  return text + fmt::format("... ({} characters in all)", total);
}

/// Error messages are printed as one line: callers grep stderr for "error: ".
std::string OneLine(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += "; ";
    } else if (c != '\r') {
      out += c;
    }
  }
  return Shorten(out);
}

void PrintSummary(const descpipe::RunResult& run) {
  std::fprintf(stderr, "\n%-18s %10s %10s %10s %10s %12s\n", "pass", "in", "out", "removed",
               "seconds", "peak RSS");
  double seconds = 0.0;
  std::uint64_t peak = 0;
  for (const auto& pass : run.passes) {
    if (pass.reused) {
      std::fprintf(stderr, "%-18s %10zu %10zu %10zu %10s %12s\n", pass.name.c_str(),
                   pass.columns_in, pass.columns_out, pass.columns_in - pass.columns_out, "reused",
                   "-");
      continue;
    }
    std::fprintf(stderr, "%-18s %10zu %10zu %10zu %10.2f %9.1f MB\n", pass.name.c_str(),
                 pass.columns_in, pass.columns_out, pass.columns_in - pass.columns_out,
                 pass.seconds, static_cast<double>(pass.peak_rss_bytes) / 1e6);
    seconds += pass.seconds;
    peak = std::max(peak, pass.peak_rss_bytes);
  }
  if (!run.passes.empty()) {
    const auto& first = run.passes.front();
    std::fprintf(stderr, "%-18s %10zu %10zu %10zu %10.2f %9.1f MB\n", "total", first.columns_in,
                 run.final_columns.size(), first.columns_in - run.final_columns.size(), seconds,
                 static_cast<double>(peak) / 1e6);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Keep freed memory in the process for the next pass instead of returning it to the system:
  // page faults are expensive on virtual machines, and every pass allocates large buffers that
  // the previous pass has just released. Peak RSS is unchanged (memory is reused, not added).
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1024 << 20);
  // One arena for every thread: memory a reader's or a worker's thread frees stays usable by the
  // next step and goes back to the system when a pass releases it (ReleaseFreedMemory). With an
  // arena per thread it stayed resident (79 MB after Pass 1 of 3,000 columns), outside the memory
  // model that memory_limit bounds (docs/SPEARMAN.md, "Memory"); no slower on our benchmarks.
  mallopt(M_ARENA_MAX, 1);
  CLI::App app{
      "descpipe: turns a wide table of molecular descriptors into a small, non-redundant, "
      "explained set"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "Print the version and exit");

  CommonOptions run_options;
  std::string output_dir;
  std::string until;
  auto* run = app.add_subcommand("run", "Run the pipeline and write every output into OUTDIR");
  AddCommon(run, run_options, false);
  run->add_option("-o,--output", output_dir, "Output directory (or output_dir in the config)");
  run->add_option(
      "--device", run_options.device,
      "Where Passes 2-4 compute: cpu, auto (a GPU when built with CUDA and one is present) or "
      "cuda[:N] (config: device; docs/GPU.md)");
  bool wait = false;
  run->add_flag("--wait", wait,
                "When another descpipe process uses OUTDIR, wait for it instead of failing");
  bool no_resume = false;
  run->add_flag("--no-resume", no_resume,
                "Compute every pass again, even those an earlier run in OUTDIR can give");
  bool exact = false;
  run->add_flag("--exact", exact,
                "Fail instead of sampling rows when a matrix exceeds memory_limit");
  bool no_report = false;
  run->add_flag(
      "--no-report", no_report,
      "Do not write OUTDIR/report.html (an earlier run's report is removed all the same)");
  run->add_option("--until", until,
                  "Stop after this pass: pass1|pass2|pass3|pass4 (default: every pass built)")
      ->check(CLI::IsMember(descpipe::StageNames()));

  CommonOptions stats_options;
  std::string stats_format = "table";
  auto* stats = app.add_subcommand("stats", "Print the Pass 1 statistics of every descriptor");
  AddCommon(stats, stats_options, true);
  stats->add_option("-f,--format", stats_format, "table|csv|json")
      ->check(CLI::IsMember({"table", "csv", "json"}));

  CommonOptions sample_options;
  std::int64_t sample_rows = 0;
  std::int64_t sample_per_file = 0;
  std::string sample_output;
  std::int64_t seed = -1;
  auto* sample = app.add_subcommand("sample", "Write a reproducible row sample (Parquet or CSV)");
  AddCommon(sample, sample_options, true);
  sample->add_option(
      "-n,--rows", sample_rows,
      "Rows in the sample (the rows with the smallest keyed hashes over all inputs)");
  sample->add_option("--per-file", sample_per_file, "Rows sampled from each file instead");
  sample
      ->add_option("-o,--output", sample_output,
                   "Output file: .parquet, .csv or .csv.gz (the format follows the name)")
      ->required();
  sample->add_option("--seed", seed, "Random seed (default: random_seed, 42)");

  CommonOptions apply_options;
  std::string apply_dir;
  std::string apply_output;
  std::string apply_after = "final";
  auto* apply = app.add_subcommand(
      "apply", "Write the metadata and the kept descriptors of a finished run for other tables");
  apply->add_option("outdir", apply_dir, "Output directory of a finished `descpipe run`")
      ->required();
  apply
      ->add_option("inputs", apply_options.inputs,
                   "Tables with the same columns (files, directories, globs)")
      ->required();
  apply
      ->add_option("-o,--output", apply_output,
                   "File to write: .parquet, .csv or .csv.gz (the format follows the name)")
      ->required();
  apply->add_option("--after", apply_after, "Which descriptors: pass2|pass3|final (default final)")
      ->check(CLI::IsMember({"pass2", "pass3", "final"}));
  apply
      ->add_option("-t,--threads", apply_options.threads,
                   "Worker threads (default: OMP_NUM_THREADS, else the CPUs this process may use)")
      ->check(CLI::Range(0, descpipe::kMaxThreads));
  apply->add_flag("-q,--quiet", apply_options.quiet, "Only warnings and errors on stderr");
  apply->add_flag("--wait", wait,
                  "When a descpipe run is writing OUTDIR, wait for it instead of failing");

  CommonOptions config_options;
  std::string config_output_dir;
  bool list_options = false;
  auto* config_command = app.add_subcommand("config",
                                            "Print the effective configuration as YAML (what `run` "
                                            "with the same options would use; --config reads it)");
  AddCommon(config_command, config_options, false);
  config_command->add_option("-o,--output", config_output_dir,
                             "Output directory (or output_dir in the config)");
  config_command->add_option("--device", config_options.device,
                             "cpu, auto or cuda[:N] (config: device)");
  config_command->add_flag("--list", list_options,
                           "List every option with its default, range and meaning instead");

  std::string explain_dir;
  std::string explain_name;
  auto* explain =
      app.add_subcommand("explain", "Why was descriptor NAME removed, and what stands for it now?");
  explain->add_option("outdir", explain_dir, "Output directory of a finished `descpipe run`")
      ->required();
  explain->add_option("name", explain_name, "Input descriptor name")->required();
  explain->add_flag("--wait", wait,
                    "When a descpipe run is writing OUTDIR, wait for it instead of failing");

  std::string report_dir;
  std::string report_output;
  auto* report = app.add_subcommand(
      "report", "Write the HTML report of a run: one self-contained file (docs/REPORT.md)");
  report->add_option("outdir", report_dir, "Output directory of a `descpipe run`")->required();
  report->add_option("-o,--output", report_output, "File to write (default OUTDIR/report.html)");
  report->add_flag("--wait", wait,
                   "When a descpipe run is writing OUTDIR, wait for it instead of failing");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --help-all are "errors" with exit code 0: let CLI11 print the help.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::fprintf(stderr, "error: %s (run with --help for usage)\n", OneLine(e.what()).c_str());
    return 2;
  }
  if (show_version) {
    std::printf("descpipe %s (DuckDB %s)\n", descpipe::Version(), descpipe::DuckDbVersion());
    return 0;
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return 1;
  }

  InstallStopHandlers();
  auto logger = spdlog::stderr_color_mt("descpipe");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");

  try {
    if (run->parsed()) {
      spdlog::set_level(run_options.quiet     ? spdlog::level::warn
                        : run_options.verbose ? spdlog::level::debug
                                              : spdlog::level::info);
      descpipe::Config config = BuildConfig(run_options);
      if (!output_dir.empty()) config.output_dir = output_dir;
      const descpipe::Context ctx = MakeContext(config, run_options.quiet);
      descpipe::RunOptions options;
      options.until =
          until.empty() ? descpipe::LastImplementedStage() : descpipe::ParseStage(until);
      if (exact) config.exact = true;
      options.quiet = run_options.quiet;
      options.resume = !no_resume;
      options.wait = wait;
      options.on_status = SetStatus;
      const descpipe::RunResult result = descpipe::RunPipeline(config, options, ctx);
      if (!no_report) {
        try {
          descpipe::WriteReport(config.output_dir, "", wait);
        } catch (const descpipe::Error&) {
          spdlog::error("the run's results are complete in '{}'; only its report.html failed",
                        config.output_dir);
          throw;
        }
      }
      if (!run_options.quiet) PrintSummary(result);
    } else if (apply->parsed()) {
      spdlog::set_level(apply_options.quiet ? spdlog::level::warn : spdlog::level::info);
      const descpipe::Context ctx(apply_options.threads < 0 ? 0 : apply_options.threads);
      descpipe::ApplyOptions options;
      options.out_dir = apply_dir;
      options.inputs = apply_options.inputs;
      options.output = apply_output;
      options.wait = wait;
      options.after = apply_after == "pass2"   ? descpipe::Stage::kPass2
                      : apply_after == "pass3" ? descpipe::Stage::kPass3
                                               : descpipe::Stage::kPass4;
      descpipe::ApplySelection(options, ctx);
    } else if (config_command->parsed()) {
      if (list_options) {
        std::cout << descpipe::OptionList();
      } else {
        descpipe::Config config = BuildConfig(config_options);
        if (!config_output_dir.empty()) config.output_dir = config_output_dir;
        config.Validate();
        std::cout << descpipe::ConfigYaml(config);
      }
    } else if (report->parsed()) {
      const std::string path = descpipe::WriteReport(report_dir, report_output, wait);
      std::fprintf(stderr, "wrote %s\n", path.c_str());
    } else if (explain->parsed()) {
      std::cout << descpipe::ExplainDescriptor(explain_dir, explain_name, wait);
    } else if (stats->parsed()) {
      spdlog::set_level(stats_options.quiet ? spdlog::level::warn : spdlog::level::info);
      const descpipe::Config config = BuildConfig(stats_options);
      config.Validate();
      const descpipe::Context ctx = MakeContext(config, stats_options.quiet);
      const descpipe::Table table =
          descpipe::WithRunRoles(descpipe::Table::Open(config.ToInputSpec(), ctx), config, ctx);
      const descpipe::Pass1Result result = descpipe::RunPass1(table, config, ctx);
      std::cout << descpipe::FormatPass1(result, stats_format);
    } else if (sample->parsed()) {
      spdlog::set_level(sample_options.quiet ? spdlog::level::warn : spdlog::level::info);
      const descpipe::Config config = BuildConfig(sample_options);
      config.Validate();
      descpipe::OutputFormatOf(sample_output);  // an unknown format fails before any work
      const descpipe::Context ctx = MakeContext(config, sample_options.quiet);
      const descpipe::Table table = descpipe::Table::Open(config.ToInputSpec(), ctx);
      descpipe::SampleSpec spec;
      spec.rows = sample_rows > 0 ? sample_rows : (sample_per_file > 0 ? 0 : config.sample_rows);
      spec.per_file =
          sample_per_file > 0 ? sample_per_file : (sample_rows > 0 ? 0 : config.sample_per_file);
      spec.seed = seed >= 0 ? static_cast<std::uint64_t>(seed) : config.random_seed;
      const std::int64_t rows = descpipe::WriteSample(table, spec, sample_output, ctx);
      spdlog::info("wrote {} rows to {}", rows, sample_output);
    }
  } catch (const descpipe::Error& e) {
    std::fprintf(stderr, "error: %s\n", OneLine(e.what()).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", OneLine(e.what()).c_str());
    return 3;
  }
  return 0;
}
