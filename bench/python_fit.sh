#!/usr/bin/env bash
# The Python package against the CLI and against the pandas + scikit-learn + statsmodels workflow
# on the same planted table, one after the other in one run (docs/PERFORMANCE.md, "Python").
#   bench/python_fit.sh BUILD_DIR ROWS COLS [PEER_BUDGET_SECONDS]
# 1. The table (bench/make_data.cpp) as Parquet, its CSV export by DuckDB and the DataFrame read
#    from it (pickled once; none of this is timed).
# 2. The CLI: `descpipe run` on the Parquet file under /usr/bin/time (wall, peak RSS).
# 3. DescriptorSelector().fit on the DataFrame (bench/python_fit.py fit): wall, and the peak
#    memory fitting adds over the process holding the DataFrame; the selection is compared with
#    the CLI's.
# 4. Ctrl-C latency at several points of a run (python_fit.py interrupt).
# 5. bench/peers_scale.py on the same CSV under `timeout PEER_BUDGET_SECONDS` (default 1800).
set -euo pipefail
build="$(cd "$1" && pwd)"; rows="$2"; cols="$3"; budget="${4:-1800}"
here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONPATH="${build}/python${PYTHONPATH:+:${PYTHONPATH}}"
mkdir -p "${here}/out"
data="${here}/out/planted_${rows}x${cols}.parquet"
csv="${here}/out/planted_${rows}x${cols}.csv"
frame="${here}/out/planted_${rows}x${cols}.frame.pickle"
exec_bin="${build}/tests/duckdb_exec"
[[ -x "${exec_bin}" ]] || exec_bin="${build}/bench/duckdb_exec"
[[ -f "${data}" ]] || "${build}/descpipe_make_data" "${rows}" "${cols}" "${data}"
if [[ ! -f "${csv}" ]]; then
  "${exec_bin}" "COPY (SELECT * FROM '${data}') TO '${csv}.tmp' (HEADER)" >/dev/null
  mv "${csv}.tmp" "${csv}"
fi
[[ -f "${frame}" ]] || /usr/bin/python3 "${here}/python_fit.py" prepare "${csv}" "${frame}"

echo "== CLI: descpipe run (Parquet), ${rows} x ${cols}"
log="$(mktemp)"
/usr/bin/time -v -o "${log}.time" "${build}/descpipe" run "${data}" -o "${here}/out/pyfit_cli" \
  --no-resume -q --set "metadata_columns=[mol_id, smiles]"
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "${log}.time"

echo "== Python: DescriptorSelector().fit(DataFrame)"
rm -rf "${here}/out/pyfit_python"
/usr/bin/python3 "${here}/python_fit.py" fit "${frame}" "${here}/out/pyfit_python" | tee "${log}" | grep -v "^final "
if diff <(grep '^final ' "${log}" | cut -d' ' -f2- | tr ' ' '\n') \
        "${here}/out/pyfit_cli/final_descriptors.txt" >/dev/null; then
  echo "selection: the same final descriptors as the CLI"
else
  echo "selection: DIFFERS from the CLI's"
fi

echo "== Python: Ctrl-C latency"
/usr/bin/python3 "${here}/python_fit.py" interrupt "${frame}" "${here}/out/pyfit_interrupt"

echo "== peers on the same table (budget ${budget} s)"
status=0
timeout "${budget}" /usr/bin/time -v -o "${log}.time" /usr/bin/python3 "${here}/peers_scale.py" \
  "${csv}" || status=$?
case "${status}" in
  0) echo "peers: finished" ;;
  124) echo "peers: stopped after ${budget} s (timeout)" ;;
  *) echo "peers: failed with status ${status}" ;;
esac
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "${log}.time" || true
rm -f "${log}" "${log}.time"
