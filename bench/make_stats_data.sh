#!/usr/bin/env bash
# Generates a Parquet table for the Pass 1 benchmark: ROWS rows, COLS descriptor columns plus
# mol_id and smiles, reproducible (values are hashes of row and column, not random()).
# Column kinds cycle: integer counts (0..20), continuous with 5% NULL, constant, binary,
# continuous with a 1e6 offset, continuous uniform.
#   bench/make_stats_data.sh ROWS COLS OUT.parquet [DUCKDB_EXEC]
set -euo pipefail
rows="$1"; cols="$2"; out="$3"
exec_bin="${4:-build/tests/duckdb_exec}"
select="'mol_' || i::VARCHAR AS mol_id, 'C' || i::VARCHAR AS smiles"
for ((j = 0; j < cols; j++)); do
  u="((hash(i, ${j}) % 1000003)::DOUBLE / 1000003.0)"
  case $((j % 6)) in
    0) expr="(hash(i, ${j}) % 21)::INTEGER" ;;
    1) expr="CASE WHEN hash(i, ${j}, 7) % 20 = 0 THEN NULL ELSE ${u} * 100 END" ;;
    2) expr="3.5::DOUBLE" ;;
    3) expr="(hash(i, ${j}) % 2)::INTEGER" ;;
    4) expr="1e6 + ${u}" ;;
    *) expr="${u} * ${j}" ;;
  esac
  select+=", ${expr} AS d${j}"
done
tmp="${out}.tmp-$$"
"${exec_bin}" "COPY (SELECT ${select} FROM range(${rows}) t(i)) TO '${tmp}' (FORMAT parquet, ROW_GROUP_SIZE 122880)" >/dev/null
mv "${tmp}" "${out}"
