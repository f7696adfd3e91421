#!/usr/bin/env bash
# descpipe's reader against DuckDB's own scan of the same Parquet columns, same run.
#   bench/scan_rate.sh BUILD_DIR ROWS COLS [COUNT]
# On bench/out/planted_ROWSxCOLS.parquet (bench/scale.sh makes it), the first COUNT descriptors
# (default 400, about one of Pass 2's column blocks at 1,000,000 x 2,000):
#   reader      descpipe_scan_bench: ColumnReader (one DuckDB decoding thread per file, batches
#               copied into column-major buffers, as Passes 1 and 2 read) plus a sum of each column;
#   duckdb Tn   SELECT sum(c), ... FROM read_parquet(FILE) with n DuckDB threads (1 and 2): the
#               rate DuckDB itself reaches decoding the same columns, no copy out.
# One untimed DuckDB read first warms the page cache. Prints seconds and M values/s for each, and the reader's share of DuckDB's 1- and 2-thread rates.
set -euo pipefail
build="$1"; rows="$2"; cols="$3"; count="${4:-400}"
here="$(cd "$(dirname "$0")" && pwd)"
exec_bin="${build}/tests/duckdb_exec"
[[ -x "${exec_bin}" ]] || exec_bin="${build}/bench/duckdb_exec"
data="${here}/out/planted_${rows}x${cols}.parquet"
[[ -f "${data}" ]] || { echo "missing ${data}: run bench/scale.sh ${build} ${rows} ${cols} first" >&2; exit 1; }

names=$("${exec_bin}" "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('${data}'))
                       WHERE column_name NOT IN ('mol_id', 'smiles') LIMIT ${count}" | tail -n +2)
select=$(echo "${names}" | sed 's/.*/sum("&")/' | paste -sd, -)
seconds() { local start; start=$(date +%s.%N); "$@" > /dev/null; echo "$(date +%s.%N) - ${start}" | bc; }

# Warm-up (not timed): the first read of a file larger than the free page cache comes from disk.
"${exec_bin}" "SELECT ${select} FROM read_parquet('${data}')" > /dev/null
reader_line=$("${build}/descpipe_scan_bench" "${data}" 0 "${count}")
echo "${reader_line}"
reader_rate=$(echo "${reader_line}" | sed -E 's/.*s, ([0-9.]+) M values.*/\1/')
values=$(echo "${rows} * ${count}" | bc)
for threads in 1 2; do
  s=$(seconds "${exec_bin}" --threads "${threads}" "SELECT ${select} FROM read_parquet('${data}')")
  rate=$(echo "scale=1; ${values} / ${s} / 1000000" | bc)
  echo "duckdb T${threads}: ${rows} rows x ${count} columns, ${s} s, ${rate} M values/s;" \
       "reader at $(echo "scale=0; 100 * ${reader_rate} / ${rate}" | bc)% of it"
done
