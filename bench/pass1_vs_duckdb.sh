#!/usr/bin/env bash
# Pass 1 end to end against DuckDB's own aggregate query on the same Parquet file, same run.
#   bench/pass1_vs_duckdb.sh [BUILD_DIR] [ROWS] [COLS] [REPS]
# descpipe: `descpipe run FILE -o OUT --until pass1` (statistics, rules, outputs written).
# DuckDB:   SELECT count(c), avg(c), var_samp(c), min(c), max(c) for every descriptor c,
#           with DuckDB's default parallelism (all cores), through the same libduckdb.
# Prints wall time and peak RSS (from /usr/bin/time) of each, and their ratio, as the median of
# REPS runs.
set -euo pipefail
build="${1:-build-bench}"
rows="${2:-2000000}"
cols="${3:-200}"
reps="${4:-3}"
here="$(cd "$(dirname "$0")" && pwd)"
out_dir="${here}/out"
mkdir -p "${out_dir}"
data="${out_dir}/stats_${rows}_${cols}.parquet"
exec_bin="${build}/bench/duckdb_exec"
[[ -x "${exec_bin}" ]] || exec_bin="${build}/tests/duckdb_exec"
descpipe="${build}/descpipe"
if [[ ! -f "${data}" ]]; then
  echo "generating ${data}"
  bash "${here}/make_stats_data.sh" "${rows}" "${cols}" "${data}" "${exec_bin}"
fi
agg=""
for ((j = 0; j < cols; j++)); do agg+="count(d${j}), avg(d${j}), var_samp(d${j}), min(d${j}), max(d${j}), "; done
query="SELECT ${agg%, } FROM read_parquet('${data}')"

measure() {  # prints "seconds peak_kb"
  local log; log="$(mktemp)"
  /usr/bin/time -f "%e %M" -o "${log}" "$@" > /dev/null
  cat "${log}"; rm -f "${log}"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

d_times=(); d_rss=(); q_times=(); q_rss=()
for ((r = 0; r < reps; r++)); do
  rm -rf "${out_dir}/pass1_run"
  read -r t m < <(measure "${descpipe}" run "${data}" -o "${out_dir}/pass1_run" --until pass1 -q \
                   --set 'metadata_columns=[mol_id, smiles]')
  d_times+=("${t}"); d_rss+=("${m}")
  read -r t m < <(measure "${exec_bin}" "${query}")
  q_times+=("${t}"); q_rss+=("${m}")
done
dt=$(printf '%s\n' "${d_times[@]}" | median); dm=$(printf '%s\n' "${d_rss[@]}" | median)
qt=$(printf '%s\n' "${q_times[@]}" | median); qm=$(printf '%s\n' "${q_rss[@]}" | median)
echo "pass1 ${rows} x ${cols} (median of ${reps}):"
printf '  descpipe run --until pass1 : %6.2f s  peak RSS %6.0f MB   (runs: %s)\n' "${dt}" "$(echo "${dm}/1024" | bc -l)" "${d_times[*]}"
printf '  DuckDB aggregate query     : %6.2f s  peak RSS %6.0f MB   (runs: %s)\n' "${qt}" "$(echo "${qm}/1024" | bc -l)" "${q_times[*]}"
printf '  ratio descpipe / DuckDB    : %6.2f   (goal <= 1.5; peak RSS goal < 1024 MB)\n' "$(echo "${dt}/${qt}" | bc -l)"
