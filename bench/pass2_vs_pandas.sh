#!/usr/bin/env bash
# Pass 2 (Spearman matrix + clusters) end to end against pandas, same run.
#   bench/pass2_vs_pandas.sh [BUILD_DIR] [ROWS] [COLS] [SUBSET] [REPS]
# Two tables:
#   (a) the shared real table ../shared/data/nci5k_rdkit.parquet (metadata mol_id, smiles);
#   (b) bench/make_corr_data.sh ROWS x COLS (default 200,000 x 1,000; metadata mol_id), made
#       once into bench/out/.
# descpipe: `descpipe run FILE -o OUT` (Pass 1, then Pass 2); the Pass 2 seconds come from the
#   summary table on stderr (reading the survivors again, ranking, the Spearman matrix, the
#   clusters), the whole-run wall time and peak RSS from /usr/bin/time. Median of REPS runs on
#   (a), one run on (b).
# pandas (Debian's /usr/bin/python3): df.corr(method="spearman") and df.rank().corr() on the
#   Pass 1 survivors (pass1_columns.txt, the matrix's column order), exported to CSV by DuckDB
#   first (not timed; Debian's pandas has no Parquet reader). On (b) pandas would take hours, so
#   it runs on the first SUBSET survivors (default 80; the column kinds cycle every ten columns,
#   so any whole number of groups keeps the mix) and its times are extrapolated by the number of
#   pairs (~ p^2); the output says so.
# Accuracy: max and mean |difference| between descpipe's .npy and pandas' rank().corr() (the same
#   definition), pandas' corr(method="spearman") (re-ranks each pair over its common rows, so it
#   differs on pairs with missing values) and scipy.stats.spearmanr (columns without missing).
set -euo pipefail
build="${1:-build-bench}"
rows="${2:-200000}"
cols="${3:-1000}"
subset="${4:-80}"
reps="${5:-3}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "${here}/.." && pwd)"
out_dir="${here}/out"
mkdir -p "${out_dir}"
exec_bin="${build}/bench/duckdb_exec"
[[ -x "${exec_bin}" ]] || exec_bin="${build}/tests/duckdb_exec"
descpipe="${build}/descpipe"
python=/usr/bin/python3
real_table="${root}/../shared/data/nci5k_rdkit.parquet"
generated="${out_dir}/corr_${rows}_${cols}.parquet"
if [[ ! -f "${generated}" ]]; then
  echo "generating ${generated}"
  bash "${here}/make_corr_data.sh" "${rows}" "${cols}" "${generated}" "${exec_bin}"
fi
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# compare NAME FILE METADATA REPS SUBSET
compare() {
  local name="$1" data="$2" metadata="$3" n_reps="$4" n_subset="$5"
  local run_dir="${out_dir}/pass2_run_${name}" log; log="$(mktemp)"
  local pass2_times=() walls=() rss=() pass1_times=()
  for ((r = 0; r < n_reps; r++)); do
    rm -rf "${run_dir}"
    if ! /usr/bin/time -f "%e %M" -o "${log}.time" "${descpipe}" run "${data}" -o "${run_dir}" \
         --set "metadata_columns=${metadata}" 2> "${log}"; then
      cat "${log}" >&2
      exit 1
    fi
    pass1_times+=("$(awk '$1 == "pass1_statistics" {print $5}' "${log}")")
    pass2_times+=("$(awk '$1 == "pass2_spearman" {print $5}' "${log}")")
    read -r t m < "${log}.time"
    walls+=("${t}"); rss+=("${m}")
  done
  local pass2 wall peak
  pass2=$(printf '%s\n' "${pass2_times[@]}" | median)
  wall=$(printf '%s\n' "${walls[@]}" | median)
  peak=$(printf '%s\n' "${rss[@]}" | median)
  local n_columns; n_columns=$(wc -l < "${run_dir}/pass1_columns.txt")
  local take=${n_columns}
  [[ "${n_subset}" -gt 0 && "${n_subset}" -lt "${n_columns}" ]] && take=${n_subset}
  local select
  select=$(head -n "${take}" "${run_dir}/pass1_columns.txt" |
           awk '{gsub(/"/, "\"\""); printf "%s\"%s\"", (NR > 1 ? ", " : ""), $0}')
  local csv="${out_dir}/pass2_${name}.csv"
  "${exec_bin}" "COPY (SELECT ${select} FROM read_parquet('${data}')) TO '${csv}' (HEADER)" > /dev/null

  echo "== ${name}: $(basename "${data}")"
  grep -E "^\[.*pass2:" "${log}" | sed 's/^/  log: /' || true
  printf '  descpipe Pass 2             : %8.2f s   (median of %d: %s)\n' "${pass2}" "${n_reps}" "${pass2_times[*]}"
  printf '  descpipe whole run (wall)   : %8.2f s   (Pass 1: %s s; peak RSS %.0f MB)\n' "${wall}" \
    "${pass1_times[*]}" "$(echo "${peak}/1024" | bc -l)"
  "${python}" "${here}/pass2_pandas.py" "${csv}" "${run_dir}/pass2_spearman_matrix.npy" "${n_columns}" "${pass2}" |
    sed 's/^/  /'
  rm -f "${log}" "${log}.time" "${csv}"
}

echo "pass2 vs pandas ($(nproc) cores; descpipe uses all of them, pandas' corr loops one)"
compare nci5k "${real_table}" "[mol_id, smiles]" "${reps}" 0
compare "corr_${rows}_${cols}" "${generated}" "[mol_id]" 1 "${subset}"
