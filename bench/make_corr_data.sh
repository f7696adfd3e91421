#!/usr/bin/env bash
# Generates a Parquet table for the Pass 2 (Spearman) benchmark: ROWS rows, COLS descriptor
# columns d0..d{COLS-1} plus mol_id (text), reproducible (values are hashes of row, group and
# kind, not random()). Columns come in groups of ten that share a base column B (uniform on
# [0, 1)), so Pass 2 has real clusters to find; kinds by column index % 10:
#   0  B                                   base
#   1  exp(4 B)                            monotone transform of B (rho = 1)
#   2  ln(B + 0.001)                       monotone transform of B (rho = 1)
#   3  B + 0.05 U                          noisy copy (rho ~ 0.99)
#   4  B + 0.3 U, 2% NULL                  noisier copy with missing values (rho ~ 0.95)
#   5  floor(6 B) as INTEGER               integer, heavy ties (6 values), correlated with B
#   6  hash % 5 as INTEGER                 independent integer, heavy ties (5 values)
#   7  U, 2% NULL                          independent, missing values
#   8  10 - B - 0.1 U                      negatively correlated noisy copy
#   9  U + U'                              independent (triangular)
# U, U' are uniforms independent of B and of each other. Every column passes Pass 1's rules.
#   bench/make_corr_data.sh ROWS COLS OUT.parquet [DUCKDB_EXEC]
set -euo pipefail
rows="$1"; cols="$2"; out="$3"
exec_bin="${4:-build/tests/duckdb_exec}"
select="'mol_' || i::VARCHAR AS mol_id"
for ((j = 0; j < cols; j++)); do
  g=$((j / 10)); k=$((j % 10))
  uniform() { echo "((hash(i, ${g}, $1) % 1000003)::DOUBLE / 1000003.0)"; }
  base="$(uniform 0)"
  u="$(uniform "$((k + 1))")"
  missing="hash(i, ${g}, $((k + 100))) % 50 = 0"
  case ${k} in
    0) expr="${base}" ;;
    1) expr="exp(4.0 * ${base})" ;;
    2) expr="ln(${base} + 0.001)" ;;
    3) expr="${base} + 0.05 * ${u}" ;;
    4) expr="CASE WHEN ${missing} THEN NULL ELSE ${base} + 0.3 * ${u} END" ;;
    5) expr="floor(6.0 * ${base})::INTEGER" ;;
    6) expr="(hash(i, ${g}, 6) % 5)::INTEGER" ;;
    7) expr="CASE WHEN ${missing} THEN NULL ELSE ${u} END" ;;
    8) expr="10.0 - ${base} - 0.1 * ${u}" ;;
    *) expr="${u} + $(uniform 20)" ;;
  esac
  select+=", ${expr} AS d${j}"
done
tmp="${out}.tmp-$$"
"${exec_bin}" "COPY (SELECT ${select} FROM range(${rows}) t(i)) TO '${tmp}' (FORMAT parquet, ROW_GROUP_SIZE 122880)" >/dev/null
mv "${tmp}" "${out}"
