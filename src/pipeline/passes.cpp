// Passes 0-4 behind the Pass interface (see passes.hpp).
#include "pipeline/passes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/text.hpp"
#include "pipeline/checkpoint.hpp"
#include "pipeline/lineage_links.hpp"

namespace descpipe {
namespace {

using Json = nlohmann::ordered_json;

std::size_t MultiMemberClusters(const std::vector<Cluster>& clusters) {
  return static_cast<std::size_t>(std::count_if(
      clusters.begin(), clusters.end(), [](const Cluster& c) { return c.members.size() > 1; }));
}

/// Pass 0: a reproducible row sample (sampled_data.parquet), which the later passes read.
class SamplingPass final : public Pass {
 public:
  int stage() const override { return 0; }
  const char* name() const override { return "pass0"; }
  const char* long_name() const override { return "pass0_sampling"; }
  const char* progress_unit() const override { return nullptr; }
  bool Enabled(const Config& config) const override {
    return config.sample_rows > 0 || config.sample_per_file > 0;
  }
  void Load(const PassInputs&, RunState&) const override {}
  void Compute(const PassInputs& in, RunState& state, const ProgressFn&) const override {
    const auto start = std::chrono::steady_clock::now();
    const SampleSpec spec{in.config.sample_rows, in.config.sample_per_file, in.config.random_seed};
    state.sampled_rows = WriteSample(state.table, spec, SamplePath(in.config), in.ctx);
    state.sampling_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::string RemovedIfNextFails(const Config& config) const override { return SamplePath(config); }
  std::vector<std::string> Write(const PassInputs&, const RunState&) const override {
    return {"sampled_data.parquet"};
  }
  /// Later passes read the sample, with the column roles decided on the full input.
  void Prepare(const PassInputs& in, RunState& state) const override {
    InputSpec spec;
    spec.patterns = {SamplePath(in.config)};
    spec.metadata_columns = state.table.metadata_names();
    spec.descriptor_columns = state.table.descriptor_names();
    if (spec.metadata_columns.empty()) spec.n_metadata_cols = 0;
    state.table = Table::Open(spec, in.ctx);
  }
  PassSummary Summary(const RunState& state) const override {
    const std::size_t n = state.table.descriptor_names().size();
    return {long_name(), n, n, state.sampling_seconds, 0};
  }
  std::string LogLine(const PassInputs& in, const RunState& state) const override {
    return fmt::format("pass0: sampled {} rows into {}",
                       GroupThousands(static_cast<std::uint64_t>(state.sampled_rows)),
                       SamplePath(in.config));
  }
  Json ManifestFields(const PassInputs& in, const RunState& state) const override {
    return {{"row_sample",
             {{"rows", state.sampled_rows},
              {"sample_rows", in.config.sample_rows},
              {"sample_per_file", in.config.sample_per_file},
              {"seed", in.config.random_seed}}}};
  }
  std::vector<std::string> Kept(const RunState& state) const override {
    return state.table.descriptor_names();
  }

  static std::string SamplePath(const Config& config) {
    return config.output_dir + "/sampled_data.parquet";
  }
};

/// Pass 1: statistics and filters.
class StatisticsPass final : public Pass {
 public:
  const char* survivors_file() const override { return "pass1_columns.txt"; }
  int stage() const override { return 1; }
  const char* name() const override { return "pass1"; }
  const char* long_name() const override { return "pass1_statistics"; }
  void Load(const PassInputs& in, RunState& state) const override {
    state.pass1 = LoadPass1(in.config.output_dir, state.table.descriptor_names());
  }
  void Compute(const PassInputs& in, RunState& state, const ProgressFn& progress) const override {
    state.pass1 = RunPass1(state.table, in.config, in.ctx, progress,
                           /*keep_values=*/in.options.until >= Stage::kPass2);
  }
  std::vector<std::string> Write(const PassInputs& in, const RunState& state) const override {
    WritePass1Outputs(state.pass1, in.config, in.config.output_dir);
    std::vector<std::string> outputs = {"pass1_stats.csv", "pass1_columns.txt",
                                        "pass1_variance_filtering.json"};
    for (auto& file : SavePass1(state.pass1, in.config.output_dir)) outputs.push_back(file);
    return outputs;
  }
  PassSummary Summary(const RunState& state) const override {
    const Pass1Result& r = state.pass1;
    return {long_name(), r.columns.size(), r.kept.size(), r.seconds, 0};
  }
  std::string LogLine(const PassInputs&, const RunState& state) const override {
    const Pass1Result& r = state.pass1;
    return fmt::format("pass1: {} descriptors in, {} kept, {} removed ({:.2f} s)", r.columns.size(),
                       r.kept.size(), r.columns.size() - r.kept.size(), r.seconds);
  }
  std::vector<std::string> Kept(const RunState& state) const override { return state.pass1.kept; }
  void AddLineage(const PassInputs& in, const RunState& state, LineageLinks& links) const override {
    AddPass1Links(state.pass1, in.config, links);
  }
};

/// Pass 2: Spearman clusters.
class SpearmanPass final : public Pass {
 public:
  const char* survivors_file() const override { return "pass2_columns.txt"; }
  int stage() const override { return 2; }
  const char* name() const override { return "pass2"; }
  const char* long_name() const override { return "pass2_spearman"; }
  void Load(const PassInputs& in, RunState& state) const override {
    state.pass2 = LoadPass2(in.config.output_dir, state.pass1);
  }
  void Compute(const PassInputs& in, RunState& state, const ProgressFn& progress) const override {
    // What Passes 3 and 4 need is kept (and checkpointed) even when the run stops here, so that a
    // later run going further can reuse this pass. Pass 1's values are handed over.
    state.pass2 =
        RunPass2(state.table, state.pass1, std::move(state.pass1.values), in.config, in.ctx,
                 progress, /*pearson=*/in.config.vif_pearson,
                 /*nonlinear_rows=*/static_cast<std::size_t>(in.config.nonlinear_max_rows));
  }
  std::vector<std::string> Write(const PassInputs& in, const RunState& state) const override {
    WritePass2Outputs(state.pass2, in.config, in.config.output_dir);
    std::vector<std::string> outputs = {"pass2_spearman_matrix.npy", "pass2_columns.txt",
                                        "pass2_spearman.json"};
    for (auto& file : SavePass2(state.pass2, in.config.output_dir)) outputs.push_back(file);
    return outputs;
  }
  PassSummary Summary(const RunState& state) const override {
    const Pass2Result& r = state.pass2;
    return {long_name(), r.columns.size(), r.kept.size(), r.seconds, 0};
  }
  std::string LogLine(const PassInputs&, const RunState& state) const override {
    const Pass2Result& r = state.pass2;
    return fmt::format(
        "pass2: {} descriptors in, {} kept, {} removed in {} clusters ({:.2f} s, {} rows)",
        r.columns.size(), r.kept.size(), r.columns.size() - r.kept.size(),
        MultiMemberClusters(r.clusters), r.seconds, GroupThousands(r.rows_used));
  }
  Json ManifestFields(const PassInputs& in, const RunState& state) const override {
    Json rows = {{"total", state.pass2.rows_total}, {"used", state.pass2.rows_used}};
    if (!state.pass2.row_sample_reason.empty()) {
      rows["reason"] = state.pass2.row_sample_reason;
      rows["seed"] = in.config.random_seed;
    }
    return {{"row_sample", rows}};
  }
  std::vector<std::string> Kept(const RunState& state) const override { return state.pass2.kept; }
  void AddLineage(const PassInputs& in, const RunState& state, LineageLinks& links) const override {
    AddPass2Links(state.pass2, in.config, links);
  }
};

/// Pass 3: VIF.
class VifPass final : public Pass {
 public:
  const char* survivors_file() const override { return "pass3_columns.txt"; }
  int stage() const override { return 3; }
  const char* name() const override { return "pass3"; }
  const char* long_name() const override { return "pass3_vif"; }
  const char* progress_unit() const override { return nullptr; }
  void Load(const PassInputs& in, RunState& state) const override {
    state.pass3 = LoadPass3(in.config.output_dir, state.pass2);
  }
  void Compute(const PassInputs& in, RunState& state, const ProgressFn&) const override {
    state.pass3 = RunPass3(state.pass1, state.pass2, in.config, in.ctx);
  }
  std::vector<std::string> Write(const PassInputs& in, const RunState& state) const override {
    WritePass3Outputs(state.pass3, in.config, in.config.output_dir);
    std::vector<std::string> outputs = {"pass3_columns.txt", "pass3_vif.json"};
    for (auto& file : SavePass3(state.pass3, in.config.output_dir)) outputs.push_back(file);
    return outputs;
  }
  PassSummary Summary(const RunState& state) const override {
    const Pass3Result& r = state.pass3;
    return {long_name(), r.columns.size(), r.kept.size(), r.seconds, 0};
  }
  std::string LogLine(const PassInputs& in, const RunState& state) const override {
    const Pass3Result& r = state.pass3;
    return fmt::format("pass3: {} descriptors in, {} kept, {} removed by VIF > {} ({:.2f} s)",
                       r.columns.size(), r.kept.size(), r.vif.removed.size(),
                       in.config.vif_threshold, r.seconds);
  }
  std::vector<std::string> Kept(const RunState& state) const override { return state.pass3.kept; }
  void AddLineage(const PassInputs& in, const RunState& state, LineageLinks& links) const override {
    AddPass3Links(state.pass3, in.config, links);
  }
};

/// Pass 4: nonlinear clusters, the final descriptors and the lineage.
class NonlinearPass final : public Pass {
 public:
  const char* survivors_file() const override { return "final_descriptors.txt"; }
  int stage() const override { return 4; }
  const char* name() const override { return "pass4"; }
  const char* long_name() const override { return "pass4_nonlinear"; }
  const char* progress_unit() const override { return "tiles"; }
  void Load(const PassInputs& in, RunState& state) const override {
    state.pass4 = Pass4Result{};
    state.pass4.kept = LoadFinalDescriptors(in.config.output_dir, state.pass3);
  }
  void Compute(const PassInputs& in, RunState& state, const ProgressFn& progress) const override {
    std::vector<double>().swap(state.pass2.pearson);  // Pass 3's input: not needed any more
    state.pass4 = RunPass4(state.pass1, state.pass2, std::move(state.pass2.nonlinear_sample),
                           state.pass3, in.config, in.ctx, progress);
  }
  std::vector<std::string> Write(const PassInputs& in, const RunState& state) const override {
    WritePass4Outputs(state.pass4, in.config, in.config.output_dir);
    // The lineage: every pass's contribution, followed to the final descriptors.
    LineageLinks links;
    for (const auto& pass : Passes()) pass->AddLineage(in, state, links);
    WriteLineage(state.pass1.columns, state.pass4.kept, links, state.pass2, state.pass4, in.config,
                 in.config.output_dir);
    std::vector<std::string> outputs;
    if (in.config.w_hsic > 0.0) outputs.push_back("pass4_hsic_matrix.npy");
    if (in.config.w_rdc > 0.0) outputs.push_back("pass4_rdc_matrix.npy");
    for (const char* name : {"pass4_nonlinear.json", "final_descriptors.txt",
                             "final_cluster_info.json", "lineage.csv"}) {
      outputs.push_back(name);
    }
    return outputs;
  }
  PassSummary Summary(const RunState& state) const override {
    const Pass4Result& r = state.pass4;
    return {long_name(), r.columns.size(), r.kept.size(), r.seconds, 0};
  }
  std::string LogLine(const PassInputs& in, const RunState& state) const override {
    const Pass4Result& r = state.pass4;
    return fmt::format(
        "pass4: {} descriptors in, {} kept, {} removed in {} clusters ({} edges at S >= {}, {} "
        "rows, {:.2f} s)",
        r.columns.size(), r.kept.size(), r.columns.size() - r.kept.size(),
        MultiMemberClusters(r.clusters), r.edges, in.config.nonlinear_threshold,
        GroupThousands(r.rows_used), r.seconds);
  }
  Json ManifestFields(const PassInputs& in, const RunState& state) const override {
    Json rows = {{"available", state.pass4.rows_available},
                 {"used", state.pass4.rows_used},
                 {"nonlinear_max_rows", in.config.nonlinear_max_rows},
                 {"seed", in.config.random_seed}};
    if (!state.pass4.row_sample_reason.empty()) rows["reason"] = state.pass4.row_sample_reason;
    return {{"row_sample", rows}};
  }
  std::vector<std::string> Kept(const RunState& state) const override { return state.pass4.kept; }
  void AddLineage(const PassInputs& in, const RunState& state, LineageLinks& links) const override {
    AddPass4Links(state.pass4, in.config, links);
  }
};

}  // namespace

const std::vector<std::unique_ptr<Pass>>& Passes() {
  static const std::vector<std::unique_ptr<Pass>> passes = [] {
    std::vector<std::unique_ptr<Pass>> list;
    list.push_back(std::make_unique<SamplingPass>());
    list.push_back(std::make_unique<StatisticsPass>());
    list.push_back(std::make_unique<SpearmanPass>());
    list.push_back(std::make_unique<VifPass>());
    list.push_back(std::make_unique<NonlinearPass>());
    return list;
  }();
  return passes;
}

}  // namespace descpipe
