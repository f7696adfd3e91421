#!/usr/bin/env bash
# Pass 4 (all-pairs nHSIC + RDC) against a per-pair loop of the textbook RDC, same data, same run.
#   bench/nonlinear_vs_textbook.sh [BUILD_DIR] [ROWS] [COLS] [PAIRS] [THREADS]
# Defaults: build-bench, 20,000 rows, 500 columns, 300 pairs, 0 threads (every core).
# Issue goals at 20,000 x 500: descpipe all pairs under 60 s and under 2 GB peak RSS.
#
# Data: descpipe_nonlinear_bench generates the table (seeded; groups of ten columns around a
#   latent normal: z, z^2, sin(3z), exp(z), floor(z), round(2|z|) with noise, independent normals
#   and integers; see bench/nonlinear_bench.cpp) and writes it once as CSV (%.17g) into
#   bench/out/nonlinear/ for the Python peer.
# descpipe: descpipe_nonlinear_bench ROWS COLS THREADS under /usr/bin/time -v: CopulaTransform +
#   NonlinearDependence with the default NonlinearOptions (hsic_D 512, rdc_k 20, rdc_seeds 5),
#   in-process seconds per phase (HSIC and each RDC draw from the progress callback) and the
#   process's wall time and maximum RSS (includes generating the data, ~1 s). Then the same with
#   w_rdc = 0 (HSIC only) and w_hsic = 0 (RDC only), for each measure's time and peak alone.
# textbook: bench/rdc_textbook.py (Debian's /usr/bin/python3, numpy/scipy): the R code of
#   Lopez-Paz et al. ported to numpy, PAIRS random pairs x rdc_seeds (5) calls each, timed, and
#   extrapolated to all COLS (COLS - 1) / 2 pairs; plus descpipe's RDC against the textbook's on
#   those pairs (different random projections, so close but not equal).
set -euo pipefail
build="${1:-build-bench}"
rows="${2:-20000}"
cols="${3:-500}"
pairs="${4:-300}"
threads="${5:-0}"
here="$(cd "$(dirname "$0")" && pwd)"
out_dir="${here}/out/nonlinear"
mkdir -p "${out_dir}"
driver="${build}/bench/descpipe_nonlinear_bench"
python=/usr/bin/python3
csv="${out_dir}/nonlinear_${rows}_${cols}.csv"
if [[ ! -f "${csv}" ]]; then
  echo "generating ${csv}"
  "${driver}" "${rows}" "${cols}" --csv "${csv}" --csv-only > /dev/null
fi

# run NAME [driver options]: prints the driver's output and the process's wall time and peak RSS.
run() {
  local name="$1"; shift
  local log="${out_dir}/${name}.log" time_log="${out_dir}/${name}.time"
  /usr/bin/time -v -o "${time_log}" "${driver}" "${rows}" "${cols}" "${threads}" "$@" > "${log}"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "${time_log}")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "${time_log}")
  echo "== descpipe ${name}"
  sed 's/^/  /' "${log}"
  printf '  /usr/bin/time -v           : wall %s (m:ss, with generating the data), max RSS %.1f MB\n' "${wall}" \
    "$(echo "${rss} * 1024 / 1000000" | bc -l)"
}

echo "Pass 4 vs textbook RDC: ${rows} rows x ${cols} columns ($(nproc) cores, $(date -u +%Y-%m-%d))"
run all_pairs --matrices "${out_dir}/m_${rows}_${cols}"
run hsic_only --w-rdc 0
run rdc_only --w-hsic 0
total_s() { awk '/^RESULT/ {for (i = 1; i <= NF; i++) if ($i ~ /^total_s=/) {sub("total_s=", "", $i); print $i}}' "$1"; }
echo "== textbook RDC"
"${python}" "${here}/rdc_textbook.py" "${csv}" "${pairs}" "$(total_s "${out_dir}/all_pairs.log")" \
  "${out_dir}/m_${rows}_${cols}" 5 "$(total_s "${out_dir}/rdc_only.log")" | sed 's/^/  /'
