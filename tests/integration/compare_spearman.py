#!/usr/bin/python3
"""End-to-end check of Pass 2 (Spearman matrix and clusters) against scipy and pandas.

Usage: compare_spearman.py DESCPIPE DUCKDB_EXEC SHARED_PARQUET WORKDIR

(1) Generated data without missing values (heavy ties, integer columns, monotone transforms):
    the .npy matrix must equal scipy.stats.spearmanr and pandas corr(method="spearman") to 1e-9.
(2) Generated data with missing values: must equal pandas df.rank().corr() (the documented
    pairwise definition) to 1e-12.
(3) The shared real table: columns without missing values against scipy to 1e-9, all against
    rank().corr() to 1e-12; the star guarantee (every removed column has |rho| >= threshold with
    its representative) and every Pass 1 survivor either kept or mapped to a kept representative.
Exit code 77 (ctest: skipped) when pandas/scipy are missing.
"""
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import pandas as pd
    import scipy.stats
except ImportError:
    print("numpy/pandas/scipy not available: skipped")
    sys.exit(77)

descpipe, duckdb_exec, shared, workdir = sys.argv[1:5]
os.makedirs(workdir, exist_ok=True)
failures = []


def check(name, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    if not ok:
        failures.append(name)


def run(label, parquet, metadata):
    out = os.path.join(workdir, label)
    subprocess.run([descpipe, "run", parquet, "-o", out, "-q", "--until", "pass2", "--set",
                    "metadata_columns=[" + ", ".join(metadata) + "]"], check=True)
    columns = open(os.path.join(out, "pass1_columns.txt")).read().splitlines()
    matrix = np.load(os.path.join(out, "pass2_spearman_matrix.npy"))
    csv = os.path.join(workdir, label + ".csv")
    subprocess.run([duckdb_exec, f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{csv}'"],
                   stdout=subprocess.DEVNULL, check=True)
    df = pd.read_csv(csv, float_precision="round_trip")[columns].astype(float)
    df = df.replace([np.inf, -np.inf], np.nan)
    report = json.load(open(os.path.join(out, "pass2_spearman.json")))
    kept = open(os.path.join(out, "pass2_columns.txt")).read().splitlines()
    return columns, matrix, df, report, kept


def max_diff(a, b):
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.abs(a - b)
    d[both_nan] = 0.0
    return float(np.nanmax(d)) if d.size else 0.0


def check_clusters(label, columns, matrix, report, kept):
    index = {c: i for i, c in enumerate(columns)}
    threshold = report["threshold"]
    worst = min((abs(matrix[index[c], index[r]]) for c, r in report["removed"].items()), default=1.0)
    check(f"{label} star guarantee", worst >= threshold, f"smallest |rho| removed -> representative {worst:.6f}")
    covered = set(kept) | set(report["removed"])
    check(f"{label} lineage", covered == set(columns) and not (set(kept) & set(report["removed"])),
          f"{len(kept)} kept + {len(report['removed'])} removed = {len(columns)} survivors of Pass 1")
    check(f"{label} representatives kept", all(r in kept for r in report["removed"].values()),
          "every removed column maps to a kept column")


generated = os.path.join(workdir, "complete.parquet")
subprocess.run([duckdb_exec, f"""
COPY (SELECT 'm' || i AS mol_id,
  (hash(i, 1) % 1000003)::DOUBLE AS base,
  ln(1 + (hash(i, 1) % 1000003)::DOUBLE) AS monotone,
  (hash(i, 1) % 1000003)::DOUBLE + (hash(i, 2) % 50000)::DOUBLE AS noisy_copy,
  (hash(i, 3) % 5)::INTEGER AS ties5,
  (hash(i, 3) % 5)::INTEGER * 2 + (hash(i, 4) % 2)::INTEGER AS ties_related,
  (hash(i, 5) % 2)::INTEGER AS flag,
  -((hash(i, 1) % 1000003)::DOUBLE) AS negated,
  (hash(i, 6) % 1000)::DOUBLE / 10 AS independent
FROM range(20000) t(i)) TO '{generated}'"""], stdout=subprocess.DEVNULL, check=True)
columns, matrix, df, report, kept = run("complete", generated, ["mol_id"])
reference = scipy.stats.spearmanr(df.values).correlation
check("complete vs scipy.stats.spearmanr", max_diff(matrix, reference) <= 1e-9,
      f"max |diff| {max_diff(matrix, reference):.2e}")
pandas_ref = df.corr(method="spearman").values
check("complete vs pandas spearman", max_diff(matrix, pandas_ref) <= 1e-9,
      f"max |diff| {max_diff(matrix, pandas_ref):.2e}")
check_clusters("complete", columns, matrix, report, kept)

missing = os.path.join(workdir, "missing.parquet")
subprocess.run([duckdb_exec, f"""
COPY (SELECT 'm' || i AS mol_id,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (hash(i, 1) % 1000)::DOUBLE END AS a,
  CASE WHEN i % 11 = 0 THEN 'NaN'::DOUBLE ELSE (hash(i, 1) % 1000)::DOUBLE + (hash(i, 2) % 30)::DOUBLE END AS b,
  CASE WHEN i % 13 = 0 THEN 'inf'::DOUBLE ELSE (hash(i, 3) % 9)::DOUBLE END AS c,
  (hash(i, 3) % 9)::DOUBLE * 3 + (hash(i, 4) % 4)::DOUBLE AS d,
  CASE WHEN i % 3 = 0 THEN NULL ELSE (hash(i, 5) % 100000)::DOUBLE END AS e
FROM range(15000) t(i)) TO '{missing}'"""], stdout=subprocess.DEVNULL, check=True)
columns, matrix, df, report, kept = run("missing", missing, ["mol_id"])
reference = df.rank().corr().values
check("missing vs pandas rank().corr()", max_diff(matrix, reference) <= 1e-12,
      f"max |diff| {max_diff(matrix, reference):.2e}")

if os.path.exists(shared):
    columns, matrix, df, report, kept = run("nci5k", shared, ["mol_id", "smiles"])
    complete = [i for i, c in enumerate(columns) if df[c].notna().all()]
    reference = scipy.stats.spearmanr(df.iloc[:, complete].values).correlation
    d = max_diff(matrix[np.ix_(complete, complete)], reference)
    check("nci5k complete columns vs scipy", d <= 1e-9, f"{len(complete)} columns, max |diff| {d:.2e}")
    reference = df.rank().corr().values
    d = max_diff(matrix, reference)
    check("nci5k vs pandas rank().corr()", d <= 1e-12, f"max |diff| {d:.2e}")
    pairwise = df.corr(method="spearman").values
    diff = np.abs(matrix - pairwise)
    print(f"info nci5k vs pandas corr(method='spearman'), which re-ranks each pair: max |diff| "
          f"{np.nanmax(diff):.2e}, mean {np.nanmean(diff):.2e}")
    check_clusters("nci5k", columns, matrix, report, kept)
else:
    print(f"{shared} not found: real-table comparison skipped")

sys.exit(1 if failures else 0)
