#!/usr/bin/env bash
# What the HTML report costs (docs/PERFORMANCE.md, "Report"): for the shared table and planted
# tables, the run without a report, then `descpipe report` under /usr/bin/time (wall, peak RSS),
# the file's size, and the time headless chromium takes until every chart has drawn
# (tests/report/browser_check.js, which also runs every browser check).
#   bench/report.sh BUILD_DIR [SHARED_TABLE]
set -euo pipefail
build="$(cd "$1" && pwd)"
shared="${2:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data/nci5k_rdkit.parquet}"
here="$(cd "$(dirname "$0")" && pwd)"
out="${here}/out/report"
mkdir -p "${out}"

measure() {  # name input [run options...]
  local name="$1" input="$2"
  shift 2
  local dir="${out}/${name}"
  rm -rf "${dir}"
  /usr/bin/time -f "%e %M" -o "${out}/run.time" "${build}/descpipe" run "${input}" -o "${dir}" -q \
    --no-report "$@"
  /usr/bin/time -f "%e %M" -o "${out}/report.time" "${build}/descpipe" report "${dir}" 2>/dev/null
  read -r run_s run_kb < "${out}/run.time"
  read -r report_s report_kb < "${out}/report.time"
  local size ready
  size=$(stat -c %s "${dir}/report.html")
  ready=$(node "${here}/../tests/report/browser_check.js" --cli "${build}/descpipe" --outdir "${dir}" |
    sed -n 's/^report ready in \([0-9]*\) ms$/\1/p')
  local columns
  columns=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['columns']['descriptors'])" \
    "${dir}/run_manifest.json")
  printf '%-22s %6s desc  run %6.2f s  report %5.2f s (%4.1f%% of the run), %4d MB peak  %6.2f MB  ready in chromium %5.2f s\n' \
    "${name}" "${columns}" "${run_s}" "${report_s}" "$(echo "100 * ${report_s} / ${run_s}" | bc -l)" \
    "$((report_kb / 1024))" "$(echo "${size} / 1000000" | bc -l)" "$(echo "${ready} / 1000" | bc -l)"
}

[[ -f "${out}/planted_20000x300.parquet" ]] ||
  "${build}/descpipe_make_data" 20000 300 "${out}/planted_20000x300.parquet" >/dev/null
[[ -f "${out}/planted_5000x2000.parquet" ]] ||
  "${build}/descpipe_make_data" 5000 2000 "${out}/planted_5000x2000.parquet" >/dev/null
measure shared_nci5k "${shared}"
measure planted_20000x300 "${out}/planted_20000x300.parquet" --set "metadata_columns=[mol_id, smiles]"
measure planted_5000x2000 "${out}/planted_5000x2000.parquet" --set "metadata_columns=[mol_id, smiles]"
