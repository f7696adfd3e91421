// The HTML report: one self-contained file per run (docs/REPORT.md).
//
// It is built from a run's outputs alone (run_manifest.json and the files each pass wrote), after
// checking every file it reads against the hash the manifest recorded: a file changed since the
// run is an error naming it, never a report of other results. Apache ECharts, the page's code and
// the data are embedded; the page makes no network request.
#pragma once

#include <string>

namespace descpipe {

/// The report of the run in `out_dir`, as HTML text. The run may have stopped early (--until):
/// the report shows the passes it completed. Throws InvalidInput when `out_dir` holds no run, or a
/// file the report needs is missing, damaged or changed since the run. Reads under OUTDIR's
/// shared lock (`wait`: wait for a run writing OUTDIR instead of failing at once).
std::string BuildReport(const std::string& out_dir, bool wait = false);

/// Writes BuildReport(out_dir) atomically to `output` (default OUTDIR/report.html) and returns
/// the path written.
std::string WriteReport(const std::string& out_dir, const std::string& output = "",
                        bool wait = false);

}  // namespace descpipe
