#!/usr/bin/env bash
# make demo: runs the whole pipeline on the shared real table,
# or on a generated table when ../shared is not there, and shows what it wrote.
#   scripts/demo.sh BUILD/descpipe DATA.parquet OUTDIR
set -euo pipefail
descpipe="$1"; data="$2"; out="$3"
build_dir="$(dirname "${descpipe}")"
if [[ ! -f "${data}" ]]; then
  data="${out}-input/generated.parquet"
  echo "demo: ${2} not found; generating 20,000 x 120 descriptors into ${data}"
  mkdir -p "$(dirname "${data}")"
  bash "$(dirname "$0")/../bench/make_stats_data.sh" 20000 120 "${data}" "${build_dir}/tests/duckdb_exec"
fi
echo "demo: descpipe run ${data} -o ${out}"
"${descpipe}" run "${data}" -o "${out}"
echo
echo "demo: outputs in ${out}/"
ls -l "${out}"
echo
echo "demo: removal counts (${out}/pass1_variance_filtering.json)"
sed -n '1,20p' "${out}/pass1_variance_filtering.json"
echo
echo "demo: first rows of ${out}/pass1_stats.csv"
head -n 6 "${out}/pass1_stats.csv" | cut -c 1-200
echo
echo "demo: $(wc -l < "${out}/pass1_columns.txt") descriptors kept by Pass 1 (${out}/pass1_columns.txt)"
echo "demo: $(wc -l < "${out}/pass2_columns.txt") kept by Pass 2 (${out}/pass2_columns.txt)"
echo "demo: $(wc -l < "${out}/pass3_columns.txt") kept by Pass 3, every VIF <= 10 (${out}/pass3_columns.txt, ${out}/pass3_vif.json)"
echo
echo "demo: the first Spearman clusters (${out}/pass2_spearman.json)"
/usr/bin/python3 - "${out}/pass2_spearman.json" <<'PY' 2>/dev/null || head -n 40 "${out}/pass2_spearman.json"
import json, sys
report = json.load(open(sys.argv[1]))
for cluster in report["clusters"][:5]:
    removed = [f'{m["column"]} (rho {m["rho_to_representative"]:.3f})' for m in cluster["members"] if not m["kept"]]
    print(f'  {cluster["representative"]} (chosen by {cluster["decided_by"]}) stands for: {", ".join(removed)}')
print(f'  ... {len(report["clusters"])} clusters, {len(report["removed"])} descriptors removed')
PY
echo
echo "demo: $(wc -l < "${out}/final_descriptors.txt") final descriptors after Pass 4 (${out}/final_descriptors.txt)"
echo
echo "demo: the first nonlinear clusters (${out}/pass4_nonlinear.json)"
/usr/bin/python3 - "${out}/pass4_nonlinear.json" <<'PY' 2>/dev/null || head -n 40 "${out}/pass4_nonlinear.json"
import json, sys
report = json.load(open(sys.argv[1]))
for cluster in report["clusters"][:5]:
    removed = [f'{m["column"]} (S {m["s_to_representative"]:.3f})' for m in cluster["members"] if not m["kept"]]
    print(f'  {cluster["representative"]} (chosen by {cluster["decided_by"]}) stands for: {", ".join(removed)}')
print(f'  ... {len(report["clusters"])} clusters, {len(report["removed"])} descriptors removed')
PY
# One removed descriptor's story, through the lineage (final_cluster_info.json).
name="$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["removed"]; print(max(r, key=lambda k: (len(r[k]["path"]), k)))' "${out}/final_cluster_info.json" 2>/dev/null || head -n 1 "${out}/pass1_columns.txt")"
echo
echo "demo: descpipe explain ${out} ${name}"
"${descpipe}" explain "${out}" "${name}"
echo
echo "demo: the HTML report, one self-contained file (docs/REPORT.md): open it in a browser"
echo "  file://$(cd "${out}" && pwd)/report.html ($(du -h "${out}/report.html" | cut -f1))"

# The same from Python (docs/PYTHON.md): the table as a DataFrame, run in memory, then a
# scikit-learn pipeline. Needs the package the build put in build/python.
if [[ -f "${build_dir}/python/descpipe/__init__.py" ]]; then
  csv="${out}-python/table.csv"
  mkdir -p "${out}-python"
  "${descpipe}" sample "${data}" -n 100000000 -o "${csv}" -q
  echo
  echo "demo: python/examples/quickstart.py (the table as a pandas DataFrame)"
  PYTHONPATH="${build_dir}/python" /usr/bin/python3 "$(dirname "$0")/../python/examples/quickstart.py" \
    "${csv}" "${out}-python/run"
fi
