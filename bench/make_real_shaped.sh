#!/usr/bin/env bash
# A real-shaped table of any size, made from the shared RDKit table (issue 20: "a generated
# 20k x 1,000 and 50k x 2,000 of the same kinds of columns"):
#   bench/make_real_shaped.sh BUILD_DIR ROWS DESCRIPTORS OUT.parquet [SHARED.parquet]
# Row i of the first 609 descriptors is molecule (i * 7919) mod 4,994 of the shared table, so
# every column keeps its kind (counts, fragment flags, continuous values, NaN and +-inf) and its
# distinct values. Descriptors past the 609 are the shared table's descriptors again, in order,
# each set read through another row mapping ((i * P_k + k) mod 4,994 for a prime P_k): the same
# distributions, but not copies of the columns before them (they pair each value with other
# molecules). mol_id and smiles stay in front. Written by DuckDB (row groups of 122,880 rows).
set -euo pipefail
build="$1"; rows="$2"; descriptors="$3"; out="$4"
here="$(cd "$(dirname "$0")" && pwd)"
shared="${5:-${here}/../../shared/data/nci5k_rdkit.parquet}"
exec_bin="${build}/tests/duckdb_exec"
[[ -x "${exec_bin}" ]] || { echo "needs ${exec_bin} (a build with tests)" >&2; exit 1; }
[[ -f "${shared}" ]] || { echo "no ${shared}" >&2; exit 1; }
mapfile -t names < <("${exec_bin}" "SELECT column_name FROM (DESCRIBE SELECT * FROM
  read_parquet('${shared}')) WHERE column_name NOT IN ('mol_id', 'smiles')")
/usr/bin/python3 - "${shared}" "${rows}" "${descriptors}" "${out}" "${names[@]}" > "${out}.sql" <<'PY'
import sys
shared, rows, descriptors, out, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
primes = [7919, 104729, 1299709, 15485863, 179424673, 2038074743]
sets = (descriptors + len(names) - 1) // len(names)
if sets > len(primes):
    sys.exit(f"at most {len(primes) * len(names)} descriptors")
quote = lambda name: '"' + name.replace('"', '""') + '"'
select = ["'m' || i AS mol_id", "s0.smiles"]
for j in range(descriptors):
    k, c = divmod(j, len(names))
    alias = names[c] if k == 0 else f"{names[c]}__{k}"
    select.append(f"s{k}.{quote(names[c])} AS {quote(alias)}")
joins = "".join(
    f" JOIN src s{k} ON s{k}.r = (i * {primes[k]}::HUGEINT + {k}) % (SELECT count(*) FROM src)"
    for k in range(sets))
print(f"COPY (WITH src AS (SELECT row_number() OVER () - 1 AS r, * FROM read_parquet('{shared}')) "
      f"SELECT {', '.join(select)} FROM range({rows}) t(i){joins} ORDER BY i) "
      f"TO '{out}' (FORMAT parquet)")
PY
"${exec_bin}" < "${out}.sql" > /dev/null
rm -f "${out}.sql"
echo "${out}: ${rows} rows x ${descriptors} descriptors (real-shaped, from ${shared})"
