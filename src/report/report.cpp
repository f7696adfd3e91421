// The HTML report (include/descpipe/report.hpp, docs/REPORT.md): the run's outputs, checked against
// the manifest, gathered into one JSON document and embedded with the page (src/report/assets/)
// and Apache ECharts into one HTML file.
#include "descpipe/report.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <string_view>
#include <vector>

#include "descpipe/config.hpp"
#include "descpipe/error.hpp"
#include "descpipe/lineage.hpp"
#include "descpipe/version.hpp"
#include "io/atomic_file.hpp"
#include "io/fingerprint.hpp"
#include "io/npy.hpp"
#include "io/outdir.hpp"
#include "report/scatter.hpp"

// The assets (src/report/assets.S.in): bytes between each _begin and _end.
extern "C" {
extern const char descpipe_report_html_begin[], descpipe_report_html_end[];
extern const char descpipe_report_css_begin[], descpipe_report_css_end[];
extern const char descpipe_report_js_begin[], descpipe_report_js_end[];
extern const char descpipe_echarts_js_begin[], descpipe_echarts_js_end[];
extern const char descpipe_echarts_license_begin[], descpipe_echarts_license_end[];
extern const char descpipe_echarts_notice_begin[], descpipe_echarts_notice_end[];
extern const char descpipe_echarts_version_begin[], descpipe_echarts_version_end[];
}

namespace descpipe {

ScatterSelection SelectScatterPairs(const double* hsic, const double* rdc, std::size_t p,
                                    double w_hsic, double w_rdc, double floor,
                                    std::size_t max_pairs) {
  // The strongest max_pairs in a heap whose top is the weakest kept: memory stays bounded
  // whatever p.
  const auto stronger = [](const ScatterPair& a, const ScatterPair& b) {
    return a.s != b.s ? a.s > b.s : (a.i != b.i ? a.i < b.i : a.j < b.j);
  };
  ScatterSelection selection;
  std::vector<ScatterPair>& pairs = selection.pairs;
  for (std::size_t i = 0; i < p; ++i) {
    for (std::size_t j = i + 1; j < p; ++j) {
      const double h = hsic[i * p + j], r = rdc[i * p + j];
      if (std::isnan(h) && std::isfinite(r)) {  // nonlinear_screening: S below the threshold
        ++selection.screened;
        continue;
      }
      if (!std::isfinite(h) || !std::isfinite(r)) {
        ++selection.undefined;
        continue;
      }
      if (std::max(h, r) < floor) continue;
      ++selection.above;
      const ScatterPair pair{i, j, (w_hsic * h + w_rdc * r) / (w_hsic + w_rdc)};
      if (pairs.size() < max_pairs) {
        pairs.push_back(pair);
        std::push_heap(pairs.begin(), pairs.end(), stronger);
      } else if (max_pairs > 0 && stronger(pair, pairs.front())) {
        std::pop_heap(pairs.begin(), pairs.end(), stronger);
        pairs.back() = pair;
        std::push_heap(pairs.begin(), pairs.end(), stronger);
      }
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const ScatterPair& a, const ScatterPair& b) {
    return a.i != b.i ? a.i < b.i : a.j < b.j;
  });
  return selection;
}

namespace {

using Json = nlohmann::ordered_json;

std::string_view Asset(const char* begin, const char* end) {
  return {begin, static_cast<std::size_t>(end - begin)};
}

/// The heatmap shows at most this many columns: ECharts draws 560 x 560 cells in 2.8 s in
/// headless Chromium, 1,500 x 1,500 in 22 s (docs/REPORT.md).
constexpr std::size_t kHeatmapMaxColumns = 600;
/// The nHSIC-RDC scatter shows the pairs with max(nHSIC, RDC) >= this floor, at most
/// kScatterMaxPairs of them (the strongest S first).
constexpr double kScatterFloor = 0.1;
constexpr std::size_t kScatterMaxPairs = 20000;

std::string Base64(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::uint32_t a = bytes[i];
    const std::uint32_t b = i + 1 < bytes.size() ? bytes[i + 1] : 0;
    const std::uint32_t c = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const std::uint32_t triple = a << 16 | b << 8 | c;
    out += kAlphabet[triple >> 18 & 63];
    out += kAlphabet[triple >> 12 & 63];
    out += i + 1 < bytes.size() ? kAlphabet[triple >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[triple & 63] : '=';
  }
  return out;
}

void PutUint16(std::vector<std::uint8_t>& bytes, std::size_t value) {
  bytes.push_back(static_cast<std::uint8_t>(value & 0xFF));
  bytes.push_back(static_cast<std::uint8_t>(value >> 8 & 0xFF));
}

/// A value in [0, 1] as 0..65535.
std::size_t Unit16(double value) {
  return static_cast<std::size_t>(std::lround(std::clamp(value, 0.0, 1.0) * 65535.0));
}

/// The run's files, read once each and checked against the hash run_manifest.json recorded.
class RunFiles {
 public:
  RunFiles(std::string out_dir, const Json& manifest) : out_dir_(std::move(out_dir)) {
    for (const auto& pass : manifest.at("passes")) {
      if (!pass.contains("outputs")) continue;
      for (const auto& output : pass.at("outputs")) {
        if (output.contains("xxh3_64") && output.at("xxh3_64").is_string()) {
          hashes_[output.at("file").get<std::string>()] = output.at("xxh3_64").get<std::string>();
        }
      }
    }
  }

  bool Has(const std::string& name) const { return hashes_.count(name) != 0; }

  std::string Path(const std::string& name) const { return io::OutdirFile(out_dir_, name); }

  /// The bytes of `name`; an error when the run did not record it, or it changed since.
  std::string Read(const std::string& name) const {
    const std::string& recorded = Recorded(name);
    std::string bytes = io::ReadRegularFile(Path(name), 1ULL << 34);
    RequireUnchanged(name, io::HashFileContent(bytes) == recorded);
    return bytes;
  }

  Json ReadJson(const std::string& name) const {
    const std::string bytes = Read(name);
    try {
      return Json::parse(bytes);
    } catch (const nlohmann::json::exception& e) {
      throw InvalidInput(fmt::format("'{}' is not valid JSON ({})", Path(name), e.what()));
    }
  }

  std::vector<std::string> ReadLines(const std::string& name) const {
    const std::string bytes = Read(name);
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < bytes.size()) {
      const std::size_t end = bytes.find('\n', at);
      const std::size_t stop = end == std::string::npos ? bytes.size() : end;
      if (stop > at) lines.push_back(bytes.substr(at, stop - at));
      at = stop + 1;
    }
    return lines;
  }

  /// A square float64 matrix of `n` x `n`. Its hash is checked by streaming the file, so that
  /// only the matrix is held, not also its bytes.
  std::vector<double> ReadSquare(const std::string& name, std::size_t n) const {
    const std::string& recorded = Recorded(name);
    DESCPIPE_EXPECTS(io::IsPlainFile(Path(name)), "'{}' is not a regular file", Path(name));
    std::uint64_t size = 0;
    RequireUnchanged(name, io::HashFile(Path(name), &size) == recorded);
    std::size_t rows = 0, cols = 0;
    std::vector<double> values = io::ReadNpy(Path(name), &rows, &cols);
    DESCPIPE_EXPECTS(rows == n && cols == n, "'{}' is {} x {}, but the run lists {} columns",
                     Path(name), rows, cols, n);
    return values;
  }

 private:
  /// The hash the manifest recorded for `name`; an error when it lists no such output or the
  /// file is gone.
  const std::string& Recorded(const std::string& name) const {
    const auto hash = hashes_.find(name);
    DESCPIPE_EXPECTS(hash != hashes_.end(),
                     "'{}' does not list '{}' among the run's outputs; rerun descpipe run",
                     Path("run_manifest.json"), name);
    DESCPIPE_EXPECTS(std::filesystem::exists(std::filesystem::symlink_status(Path(name))),
                     "'{}' is missing though run_manifest.json lists it; rerun descpipe run",
                     Path(name));
    return hash->second;
  }

  void RequireUnchanged(const std::string& name, bool same) const {
    DESCPIPE_EXPECTS(same,
                     "'{}' changed since the run wrote it (its hash is not the one in "
                     "run_manifest.json): the report would not show the run's results; rerun "
                     "descpipe run",
                     Path(name));
  }

  std::string out_dir_;
  std::map<std::string, std::string> hashes_;
};

/// Options whose value differs from the default: [{name, value, default}].
Json ChangedOptions(const Json& config) {
  const Json defaults = ConfigJson(Config{});
  Json changed = Json::array();
  for (const auto& [key, value] : config.items()) {
    if (key == "inputs" || key == "output_dir") continue;
    const bool known = defaults.contains(key);
    if (known && defaults.at(key) == value) continue;
    changed.push_back(
        {{"name", key}, {"value", value}, {"default", known ? defaults.at(key) : nullptr}});
  }
  return changed;
}

/// Pass 2's matrix for the heatmap: columns ordered by cluster (representative first), at most
/// kHeatmapMaxColumns, and the upper triangle as int8 (round(127 rho), -128 for undefined).
Json Heatmap(const RunFiles& files, const Json& pass2) {
  const std::vector<std::string> columns = files.ReadLines("pass1_columns.txt");
  const std::size_t n = columns.size();
  const std::vector<double> rho = files.ReadSquare("pass2_spearman_matrix.npy", n);
  std::map<std::string, std::size_t> index;
  for (std::size_t k = 0; k < n; ++k) index[columns[k]] = k;

  // Clusters of two or more, largest first (stable: the file's order among equals).
  std::vector<std::vector<std::size_t>> clusters;
  std::vector<bool> clustered(n, false);
  for (const auto& cluster : pass2.at("clusters")) {
    std::vector<std::size_t> members{index.at(cluster.at("representative").get<std::string>())};
    for (const auto& member : cluster.at("members")) {
      const std::size_t k = index.at(member.at("column").get<std::string>());
      if (k != members.front()) members.push_back(k);
    }
    for (std::size_t k : members) clustered[k] = true;
    clusters.push_back(std::move(members));
  }
  std::stable_sort(clusters.begin(), clusters.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::vector<std::size_t> order;
  Json blocks = Json::array();
  for (const auto& members : clusters) {
    if (order.size() + members.size() > kHeatmapMaxColumns && n > kHeatmapMaxColumns) break;
    blocks.push_back({order.size(), members.size()});
    order.insert(order.end(), members.begin(), members.end());
  }
  const std::size_t clustered_total =
      static_cast<std::size_t>(std::count(clustered.begin(), clustered.end(), true));
  std::string note;
  if (n <= kHeatmapMaxColumns) {
    for (std::size_t k = 0; k < n; ++k) {
      if (!clustered[k]) order.push_back(k);
    }
  } else if (order.size() == clustered_total) {
    note = fmt::format(
        "{} columns are too many to draw each pair: the heatmap shows the {} columns of Pass 2's "
        "clusters only ({} unclustered columns left out).",
        n, order.size(), n - order.size());
  } else {
    note = fmt::format(
        "{} columns are too many to draw each pair: the heatmap shows the {} columns of Pass 2's "
        "{} largest clusters (of {} clusters, {} clustered columns).",
        n, order.size(), blocks.size(), clusters.size(), clustered_total);
  }
  const std::size_t m = order.size();
  std::vector<std::uint8_t> bytes;
  bytes.reserve(m * (m + 1) / 2);
  for (std::size_t a = 0; a < m; ++a) {
    for (std::size_t b = a; b < m; ++b) {
      const double value = rho[order[a] * n + order[b]];
      const int code = std::isfinite(value)
                           ? static_cast<int>(std::lround(std::clamp(value, -1.0, 1.0) * 127.0))
                           : -128;
      bytes.push_back(static_cast<std::uint8_t>(static_cast<std::int8_t>(code)));
    }
  }
  Json names = Json::array();
  for (std::size_t k : order) names.push_back(columns[k]);
  return {{"columns", names},
          {"total_columns", n},
          {"blocks", blocks},
          {"note", note},
          {"encoding",
           "int8 round(127 rho), -128 undefined; upper "
           "triangle by rows"},
          {"rho", Base64(bytes)}};
}

/// Pass 4's pairs for the nHSIC-RDC scatter: [i, j, nHSIC, RDC] as uint16 each.
Json Scatter(const RunFiles& files, const Json& pass4, const std::vector<std::string>& columns) {
  const std::size_t p = columns.size();
  const std::vector<double> hsic = files.ReadSquare("pass4_hsic_matrix.npy", p);
  const std::vector<double> rdc = files.ReadSquare("pass4_rdc_matrix.npy", p);
  const auto& parameters = pass4.at("parameters");
  const double w_hsic = parameters.at("w_hsic").get<double>();
  const double w_rdc = parameters.at("w_rdc").get<double>();
  const ScatterSelection selection = SelectScatterPairs(hsic.data(), rdc.data(), p, w_hsic, w_rdc,
                                                        kScatterFloor, kScatterMaxPairs);
  const std::vector<ScatterPair>& pairs = selection.pairs;
  const std::size_t above = selection.above, undefined = selection.undefined,
                    screened = selection.screened;
  std::vector<std::uint8_t> bytes;
  bytes.reserve(pairs.size() * 8);
  for (const ScatterPair& pair : pairs) {
    PutUint16(bytes, pair.i);
    PutUint16(bytes, pair.j);
    PutUint16(bytes, Unit16(hsic[pair.i * p + pair.j]));
    PutUint16(bytes, Unit16(rdc[pair.i * p + pair.j]));
  }
  return {{"floor", kScatterFloor},
          {"pairs_total", p * (p - 1) / 2},
          {"pairs_above_floor", above},
          {"pairs_undefined", undefined},
          {"pairs_screened", screened},
          {"pairs_shown", pairs.size()},
          {"encoding", "uint16 little-endian i, j, round(65535 nHSIC), round(65535 RDC)"},
          {"pairs", Base64(bytes)}};
}

/// The JSON the page reads: the manifest, each completed pass's outputs and the derived views.
Json ReportData(const std::string& out_dir, const Json& manifest) {
  const RunFiles files(out_dir, manifest);
  Json data;
  data["descpipe_version"] = Version();
  std::string echarts_version(Asset(descpipe_echarts_version_begin, descpipe_echarts_version_end));
  while (!echarts_version.empty() &&
         std::isspace(static_cast<unsigned char>(echarts_version.back())))
    echarts_version.pop_back();
  data["echarts_version"] = echarts_version;
  data["out_dir"] = std::filesystem::absolute(out_dir).lexically_normal().string();
  data["manifest"] = manifest;
  data["changed_options"] = ChangedOptions(manifest.at("config"));
  std::set<std::string> passes;
  for (const auto& pass : manifest.at("passes")) passes.insert(pass.at("pass").get<std::string>());
  if (passes.count("pass1_statistics") != 0) {
    data["pass1"] = files.ReadJson("pass1_variance_filtering.json");
    data["stats_csv"] = files.Read("pass1_stats.csv");
  }
  if (passes.count("pass2_spearman") != 0) {
    data["pass2"] = files.ReadJson("pass2_spearman.json");
    data["heatmap"] = Heatmap(files, data["pass2"]);
  }
  if (passes.count("pass3_vif") != 0) {
    data["pass3"] = files.ReadJson("pass3_vif.json");
    data["pass3_columns"] = files.ReadLines("pass3_columns.txt");
  }
  if (passes.count("pass4_nonlinear") != 0) {
    Json pass4 = files.ReadJson("pass4_nonlinear.json");
    // Pass 4's matrices are in Pass 3's column order, read above with Pass 3.
    if (!data.contains("pass3_columns"))
      data["pass3_columns"] = files.ReadLines("pass3_columns.txt");
    const auto columns = data.at("pass3_columns").get<std::vector<std::string>>();
    const bool both = files.Has("pass4_hsic_matrix.npy") && files.Has("pass4_rdc_matrix.npy");
    if (!pass4.contains("skipped") && both) data["scatter"] = Scatter(files, pass4, columns);
    if (!pass4.contains("skipped") && !both) {
      data["scatter_missing"] =
          "one measure has weight 0 (w_hsic or w_rdc): its matrix was not "
          "computed, so there is no nHSIC-against-RDC scatter";
    }
    data["pass4"] = std::move(pass4);
    data["final_descriptors"] = files.ReadLines("final_descriptors.txt");
    data["lineage_csv"] = files.Read("lineage.csv");
    Json explain = Json::object();
    for (auto& [name, text] :
         ExplainEveryDescriptor(files.Read("final_cluster_info.json"),
                                files.Path("final_cluster_info.json"), out_dir)) {
      explain[name] = std::move(text);
    }
    data["explain"] = std::move(explain);
  }
  // The funnel shows the manifest's counts: they must be the pass files' own.
  for (const auto& pass : manifest.at("passes")) {
    static const std::map<std::string, std::string> kFiles = {{"pass1_statistics", "pass1"},
                                                              {"pass2_spearman", "pass2"},
                                                              {"pass3_vif", "pass3"},
                                                              {"pass4_nonlinear", "pass4"}};
    const auto key = kFiles.find(pass.at("pass").get<std::string>());
    if (key == kFiles.end()) continue;
    const Json& written = data.at(key->second);
    DESCPIPE_EXPECTS(pass.at("columns_in") == written.at("input_columns") &&
                         pass.at("columns_out") == written.at("output_columns"),
                     "'{}' says {} went from {} to {} columns, its own file {} -> {}; rerun "
                     "descpipe run",
                     files.Path("run_manifest.json"), pass.at("pass").get<std::string>(),
                     pass.at("columns_in").dump(), pass.at("columns_out").dump(),
                     written.at("input_columns").dump(), written.at("output_columns").dump());
  }
  return data;
}

/// `text` inside <script>: JSON never needs a raw '<' (only inside strings, where \u003c reads the
/// same), so none can close the element.
std::string ScriptSafeJson(const Json& json) {
  const std::string text = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + 64);
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// The page template with each {{NAME}} replaced, in one pass (what is inserted is not scanned).
std::string FillTemplate(std::string_view page, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const std::size_t open = page.find("{{", at);
    if (open == std::string_view::npos) break;
    const std::size_t close = page.find("}}", open);
    DESCPIPE_ASSERT(close != std::string_view::npos);
    const std::string name(page.substr(open + 2, close - open - 2));
    const auto value = values.find(name);
    DESCPIPE_ASSERT(value != values.end());
    out.append(page.substr(at, open - at));
    out += value->second;
    at = close + 2;
  }
  out.append(page.substr(at));
  return out;
}

/// BuildReport without taking OUTDIR's lock: the caller holds it.
/// An error unless `out_dir` holds a run (checked before its lock: a lock needs the directory).
void RequireRun(const std::string& out_dir) {
  const std::string manifest_path = out_dir + "/run_manifest.json";
  DESCPIPE_EXPECTS(std::filesystem::exists(std::filesystem::symlink_status(manifest_path)),
                   "cannot read '{}': '{}' is not the output directory of a descpipe run",
                   manifest_path, out_dir);
}

std::string BuildReportHoldingLock(const std::string& out_dir) {
  RequireRun(out_dir);
  const std::string manifest_path = out_dir + "/run_manifest.json";
  Json manifest;
  try {
    manifest = Json::parse(io::ReadRegularFile(manifest_path, 1ULL << 30));
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(
        fmt::format("'{}' is not valid JSON ({}); rerun descpipe run", manifest_path, e.what()));
  }
  Json data;
  try {
    data = ReportData(out_dir, manifest);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(
        fmt::format("the run in '{}' has an output of an unexpected shape ({}); "
                    "rerun descpipe run",
                    out_dir, e.what()));
  }
  std::map<std::string, std::string> values;
  values["TITLE"] = HtmlEscape("descpipe report: " + data.at("out_dir").get<std::string>());
  values["STYLE"] = Asset(descpipe_report_css_begin, descpipe_report_css_end);
  values["ECHARTS"] = Asset(descpipe_echarts_js_begin, descpipe_echarts_js_end);
  values["APP"] = Asset(descpipe_report_js_begin, descpipe_report_js_end);
  values["DATA"] = ScriptSafeJson(data);
  values["ECHARTS_VERSION"] = HtmlEscape(data.at("echarts_version").get<std::string>());
  values["ECHARTS_LICENSE"] =
      HtmlEscape(Asset(descpipe_echarts_license_begin, descpipe_echarts_license_end));
  values["ECHARTS_NOTICE"] =
      HtmlEscape(Asset(descpipe_echarts_notice_begin, descpipe_echarts_notice_end));
  for (const char* script : {"ECHARTS", "APP"}) {
    DESCPIPE_ASSERT(values[script].find("</script") == std::string::npos);
  }
  return FillTemplate(Asset(descpipe_report_html_begin, descpipe_report_html_end), values);
}

}  // namespace

std::string BuildReport(const std::string& out_dir, bool wait) {
  RequireRun(out_dir);
  const io::OutdirLock lock(out_dir, io::OutdirLock::Mode::kShared, wait);
  return BuildReportHoldingLock(out_dir);
}

std::string WriteReport(const std::string& out_dir, const std::string& output, bool wait) {
  const std::string path = output.empty() ? out_dir + "/report.html" : output;
  // Writing into OUTDIR is writing a run's file: under the exclusive lock, as a run writes.
  const bool inside = output.empty() || io::IsInsideDirectory(path, out_dir);
  RequireRun(out_dir);
  const io::OutdirLock lock(
      out_dir, inside ? io::OutdirLock::Mode::kExclusive : io::OutdirLock::Mode::kShared, wait);
  io::WriteFileAtomic(path, BuildReportHoldingLock(out_dir));
  return path;
}

}  // namespace descpipe
