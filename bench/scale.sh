#!/usr/bin/env bash
# End-to-end run on planted data (bench/make_data.cpp): time, per-pass table, peak RSS and the
# recovery of the planted structure.
#   bench/scale.sh BUILD_DIR ROWS COLS [descpipe run options...]
# The table is made once into bench/out/planted_ROWSxCOLS.parquet (with .truth.json beside it).
# Prints the generation time (when made), descpipe's summary table, /usr/bin/time's wall time and
# peak RSS, and check_recovery's counts; the run's output directory is bench/out/run_ROWSxCOLS*.
set -euo pipefail
build="$1"; rows="$2"; cols="$3"; shift 3
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "${here}/out"
data="${here}/out/planted_${rows}x${cols}.parquet"
if [[ ! -f "${data}" ]]; then
  start=$(date +%s.%N)
  "${build}/descpipe_make_data" "${rows}" "${cols}" "${data}"
  echo "generated in $(echo "$(date +%s.%N) - ${start}" | bc) s: $(du -h "${data}" | cut -f1)"
fi
tag=$(echo "$*" | tr -c 'A-Za-z0-9_=\n' '_' | tr -s '_')
tag="${tag#_}"
out="${here}/out/run_${rows}x${cols}${tag:+_${tag}}"
log="${out}.log"
/usr/bin/time -v "${build}/descpipe" run "${data}" -o "${out}" --no-resume \
  --set "metadata_columns=[mol_id, smiles]" "$@" 2> "${log}" >/dev/null || {
  tail -20 "${log}"; exit 1; }
sed -n '/^pass .*in .*out/,/^total/p' "${log}"
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "${log}"
grep -E "pass2: .*(floats|sample)" "${log}" || true
"${build}/descpipe_check_recovery" "${data%.parquet}.truth.json" "${out}"
