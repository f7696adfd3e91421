#!/usr/bin/env bash
# Runs every benchmark: the micro-benchmarks, then the end-to-end comparisons with peers.
#   bench/run_all.sh [BUILD_DIR]      (make bench builds BUILD_DIR=build-bench first)
set -euo pipefail
build="${1:-build-bench}"
here="$(cd "$(dirname "$0")" && pwd)"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%d)"
echo "== micro-benchmarks"
"${build}/bench/descpipe_micro_bench" --benchmark_min_time=0.5
echo "== Pass 2 Gram step against OpenBLAS dsyrk"
"${build}/bench/descpipe_gram_bench"
echo "== Pass 1 against DuckDB"
bash "${here}/pass1_vs_duckdb.sh" "${build}" 2000000 200 3
echo "== Pass 2 against pandas"
bash "${here}/pass2_vs_pandas.sh" "${build}" 200000 1000 80 3
echo "== Pass 3 against statsmodels"
/usr/bin/python3 "${here}/vif_vs_statsmodels.py" "${build}/descpipe" "${here}/out/vif" 300 1000
echo "== Pass 3 kernel, p = 300 and 2,000"
"${build}/bench/descpipe_vif_bench"
echo "== Pass 4 against the textbook RDC"
bash "${here}/nonlinear_vs_textbook.sh" "${build}" 20000 500 300
echo "== Scale: planted tables, descpipe and the peer workflow (pandas, scikit-learn, statsmodels)"
bash "${here}/peers_scale.sh" "${build}" 20000 100
bash "${here}/peers_scale.sh" "${build}" 100000 500 1800 read,missing,variance,spearman,greedy
bash "${here}/scale.sh" "${build}" 100000 2000
bash "${here}/scan_rate.sh" "${build}" 100000 2000 400
echo "(1,000,000 x 2,000, ~15 min with the generation: bash bench/scale.sh ${build} 1000000 2000)"
