#!/usr/bin/env bash
# descpipe against the workflow users script with pandas, scikit-learn and statsmodels, on the
# same planted table (bench/make_data.cpp), one after the other in the same run.
#   bench/peers_scale.sh BUILD_DIR ROWS COLS [BUDGET_SECONDS] [PEER_STEPS]
# 1. descpipe: bench/scale.sh BUILD_DIR ROWS COLS (makes the table once; summary table, peak RSS,
#    recovery counts).
# 2. The table exported to CSV by DuckDB (once, into bench/out/, not timed: Debian's pandas has
#    no Parquet reader).
# 3. bench/peers_scale.py on the CSV under `timeout BUDGET_SECONDS` (default 1800: the issue's
#    30 minutes) and /usr/bin/time -v; PEER_STEPS (default all) picks the peer steps, e.g.
#    read,missing,variance,spearman,greedy to leave out the statsmodels VIF loop.
# Prints one "peer ..." line per finished step, then "peers: finished" or "peers: stopped after
# BUDGET_SECONDS s (timeout)" or the failure, and the peers' wall time and peak RSS.
set -euo pipefail
build="$1"; rows="$2"; cols="$3"; budget="${4:-1800}"; steps="${5:-read,missing,variance,spearman,greedy,vif}"
here="$(cd "$(dirname "$0")" && pwd)"
exec_bin="${build}/tests/duckdb_exec"
[[ -x "${exec_bin}" ]] || exec_bin="${build}/bench/duckdb_exec"
data="${here}/out/planted_${rows}x${cols}.parquet"
csv="${here}/out/planted_${rows}x${cols}.csv"

echo "== descpipe, ${rows} x ${cols}"
bash "${here}/scale.sh" "${build}" "${rows}" "${cols}"

if [[ ! -f "${csv}" ]]; then
  "${exec_bin}" "COPY (SELECT * FROM '${data}') TO '${csv}.tmp' (HEADER)" >/dev/null
  mv "${csv}.tmp" "${csv}"
fi
echo "== peers, ${rows} x ${cols} (CSV $(du -h "${csv}" | cut -f1)), steps ${steps}, budget ${budget} s"
log="$(mktemp)"
status=0
timeout "${budget}" /usr/bin/time -v -o "${log}" /usr/bin/python3 "${here}/peers_scale.py" "${csv}" \
  --steps "${steps}" || status=$?
case "${status}" in
  0) echo "peers: finished" ;;
  124) echo "peers: stopped after ${budget} s (timeout)" ;;
  *) echo "peers: failed with status ${status}" ;;
esac
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "${log}" || true
rm -f "${log}"
