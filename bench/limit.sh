#!/usr/bin/env bash
# descpipe beside the machine's floor on one table, in one run (issue 20; docs/PERFORMANCE.md,
# "Toward the machine's limit"). Prints each measurement and the ratios the issue tracks.
#   bench/limit.sh BUILD_DIR TABLE.parquet [METADATA_COLUMNS] [PANDAS]
# METADATA_COLUMNS: the run's metadata_columns (default "[mol_id, smiles]"); PANDAS: 1 to time
# pandas' Spearman on Pass 1's survivors (minutes on large tables; default 1).
# Floors, each a whole process on the same file (the page cache warmed by one untimed read):
#   duckdb_agg    count, avg, var_samp, min, max of every descriptor (finite values), all threads
#   duckdb_scan1  sum() of every descriptor with 1 DuckDB thread; duckdb_scan2 with 2
#   dsyrk         OpenBLAS dsyrk of a rows x (Pass 1 survivors) matrix (scipy, all threads): the
#                 Gram product exact Spearman needs
#   pandas        DataFrame.corr(method="spearman") on Pass 1's survivors (the CSV export is not
#                 timed)
# descpipe: `descpipe run TABLE --until pass2 --no-report` (whole process), and each pass's time
# from run_manifest.json.
set -euo pipefail
build="$(cd "$1" && pwd)"; table="$2"; metadata="${3:-[mol_id, smiles]}"; pandas="${4:-1}"
here="$(cd "$(dirname "$0")" && pwd)"
exec_bin="${build}/tests/duckdb_exec"
[[ -x "${exec_bin}" ]] || exec_bin="${build}/bench/duckdb_exec"
work="${here}/out/limit"
rm -rf "${work}"; mkdir -p "${work}"
seconds() { local start; start=$(date +%s.%N); "$@" > /dev/null; echo "$(date +%s.%N) - ${start}" | bc; }
# duckdb_exec [--threads N] reading its statement from FILE (too long for one argument).
sql_seconds() {  # FILE [THREADS]
  local start; start=$(date +%s.%N)
  "${exec_bin}" ${2:+--threads "$2"} < "$1" > /dev/null
  echo "$(date +%s.%N) - ${start}" | bc
}

out="${work}/run"
"${build}/descpipe" run "${table}" -o "${out}" -q --until pass2 --no-report \
  --set "metadata_columns=${metadata}" > /dev/null   # warms the page cache; not timed
rm -rf "${out}"
run_s=$(seconds "${build}/descpipe" run "${table}" -o "${out}" -q --until pass2 --no-report \
  --set "metadata_columns=${metadata}")
read -r pass1_s pass2_s rows p1 p2 < <(/usr/bin/python3 - "${out}" <<'PY'
import json, sys
m = json.load(open(sys.argv[1] + "/run_manifest.json"))
p = {x["pass"]: x for x in m["passes"]}
rows = sum(f.get("rows", 0) for f in m["inputs"]["files"])
print(p["pass1_statistics"]["seconds"], p["pass2_spearman"]["seconds"], rows,
      p["pass1_statistics"]["columns_out"], p["pass2_spearman"]["columns_out"])
PY
)
# The descriptors as DuckDB sees them, in chunks of SQL small enough for one argument.
mapfile -t names < <("${exec_bin}" "SELECT column_name FROM (DESCRIBE SELECT * FROM
  read_parquet('${table}')) WHERE column_name NOT IN (SELECT unnest(string_split(
  trim('${metadata}', '[]'), ', ')))")
agg=""; sum=""
for c in "${names[@]}"; do
  v="CASE WHEN isfinite(\"${c}\") THEN \"${c}\" END"
  agg+="count(${v}), avg(${v}), var_samp(${v}), min(${v}), max(${v}), "
  sum+="sum(\"${c}\"), "
done
printf 'SELECT %s FROM read_parquet(%s)' "${agg%, }" "'${table}'" > "${work}/agg.sql"
printf 'SELECT %s FROM read_parquet(%s)' "${sum%, }" "'${table}'" > "${work}/sum.sql"
agg_s=$(sql_seconds "${work}/agg.sql")
scan1_s=$(sql_seconds "${work}/sum.sql" 1)
scan2_s=$(sql_seconds "${work}/sum.sql" 2)
dsyrk_s=$(/usr/bin/python3 -c "
import time, numpy as np, scipy.linalg.blas as blas
a = np.asfortranarray(np.random.default_rng(0).random((${rows}, ${p1})))
t = time.perf_counter(); blas.dsyrk(1.0, a, trans=1); print(time.perf_counter() - t)")
pandas_s=nan
if [[ "${pandas}" == 1 ]]; then
  cols=$(sed 's/.*/"&"/' "${out}/pass1_columns.txt" | paste -sd, -)
  printf "COPY (SELECT %s FROM read_parquet('%s')) TO '%s' (HEADER)" "${cols}" "${table}" \
    "${work}/survivors.csv" > "${work}/export.sql"
  "${exec_bin}" < "${work}/export.sql" > /dev/null
  pandas_s=$(/usr/bin/python3 -c "
import time, pandas as pd
df = pd.read_csv('${work}/survivors.csv', float_precision='round_trip')
t = time.perf_counter(); df.corr(method='spearman'); print(time.perf_counter() - t)")
fi
/usr/bin/python3 - "${table}" "${rows}" "${#names[@]}" "${p1}" "${p2}" "${run_s}" "${pass1_s}" \
  "${pass2_s}" "${agg_s}" "${scan1_s}" "${scan2_s}" "${dsyrk_s}" "${pandas_s}" <<'PY'
import sys
t, rows, cols, p1, p2 = sys.argv[1], *map(int, sys.argv[2:6])
run, pass1, pass2, agg, scan1, scan2, dsyrk, pandas = map(float, sys.argv[6:14])
print(f"{t}: {rows:,} rows x {cols:,} descriptors; Pass 1 keeps {p1:,}, Pass 2 keeps {p2:,}")
print(f"  descpipe --until pass2 (process) {run:7.2f} s   Pass 1 {pass1:6.2f} s   Pass 2 {pass2:6.2f} s")
print(f"  DuckDB aggregate {agg:6.2f} s   scan 1 thread {scan1:6.2f} s   2 threads {scan2:6.2f} s")
print(f"  dsyrk {rows:,} x {p1:,} {dsyrk:6.2f} s   pandas spearman on the survivors {pandas:7.2f} s")
print(f"  Pass 1 / DuckDB aggregate          {pass1 / agg:5.2f}x   (goal <= 1.5x)")
print(f"  pandas spearman / passes 0-2       {pandas / run:5.1f}x   (goal >= 30x)")
print(f"  passes 0-2 / (2-thread scan + dsyrk) {run / (scan2 + dsyrk):5.2f}x")
PY
