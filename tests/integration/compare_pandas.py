#!/usr/bin/python3
"""End-to-end check of Pass 1 statistics against pandas.

Usage: compare_pandas.py DESCPIPE DUCKDB_EXEC SHARED_PARQUET WORKDIR

Runs `descpipe stats --format csv` on (1) the shared real table and (2) a generated table with
NULL, NaN, +-inf, huge offsets, ties and integer columns, exports the same data to CSV through
DuckDB, and compares every statistic with pandas: counts, min, max and exact quantiles must be
identical, mean and variance equal to 1e-12 relative, n_distinct and mode equal where exact.
The variance is compared with the exact two-pass variance (math.fsum; `exact_variance`), and
pandas' own is only reported: on a column of 1e9 + U(0, 1) pandas is off by up to 2e-11 relative
on some CPUs (NumPy's summation kernels differ by instruction set: 2e-11 on an AVX-512 EPYC),
which is pandas' rounding, not descpipe's.
Exit code 77 (ctest: skipped) when pandas or the shared table is missing.
"""
import math
import os
import subprocess
import sys

try:
    import numpy as np
    import pandas as pd
except ImportError:
    print("pandas not available: skipped")
    sys.exit(77)

descpipe, duckdb_exec, shared, workdir = sys.argv[1:5]
os.makedirs(workdir, exist_ok=True)
failures = []


def check(name, ok, detail):
    if not ok:
        failures.append(f"{name}: {detail}")


def rel_diff(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    d = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
    d[same] = 0.0
    return d


def exact_variance(column):
    """Sample variance of the finite values to ~1e-15 relative: a correctly rounded mean
    (math.fsum), deviations from it (exact by Sterbenz's lemma where x is near the mean, and
    otherwise rounded once), and an exactly summed square sum."""
    values = column.dropna().to_numpy(dtype=float)
    if len(values) < 2:
        return float("nan")
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


def compare(label, parquet, metadata):
    stats_csv = os.path.join(workdir, label + "_stats.csv")
    data_csv = os.path.join(workdir, label + "_data.csv")
    args = [descpipe, "stats", parquet, "--format", "csv", "-q",
            "--set", "metadata_columns=[" + ", ".join(metadata) + "]"]
    with open(stats_csv, "w") as out:
        subprocess.run(args, stdout=out, check=True)
    subprocess.run([duckdb_exec, f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{data_csv}'"],
                   stdout=subprocess.DEVNULL, check=True)
    # round_trip: pandas' default float parser is not exact.
    s = pd.read_csv(stats_csv, float_precision="round_trip", keep_default_na=False,
                    na_values=["nan"]).set_index("column")
    df = pd.read_csv(data_csv, float_precision="round_trip")
    raw = df[s.index].astype(float)
    valid = raw.replace([np.inf, -np.inf], np.nan)
    n = len(df)
    check(f"{label} n_total", (s["n_total"] == n).all(), "row count differs")
    check(f"{label} n_valid", (s["n_valid"].values == valid.count().values).all(), "n_valid differs")
    n_inf = np.isinf(raw).sum()
    check(f"{label} n_inf", (s["n_inf"].values == n_inf.values).all(), "n_inf differs")
    check(f"{label} n_null+n_nan", ((s["n_null"] + s["n_nan"]).values == raw.isna().sum().values).all(),
          "null + NaN count differs")
    exact_var = pd.Series({c: exact_variance(valid[c]) for c in valid.columns})
    pandas_var = rel_diff(valid.var(ddof=1).values, exact_var.values)
    print(f"{label}: pandas' variance max relative difference from the exact one "
          f"{pandas_var.max():.3g} (reported only)")
    for stat, ref, tol in [("mean", valid.mean(), 1e-12), ("variance", exact_var, 1e-12),
                           ("min", valid.min(), 0.0), ("max", valid.max(), 0.0)]:
        d = rel_diff(s[stat].values, ref.values)
        check(f"{label} {stat}", d.max() <= tol, f"max relative difference {d.max():.3g} (column {s.index[d.argmax()]})")
        source = "the exact value" if stat == "variance" else "pandas"
        print(f"{label}: {stat:9s} max relative difference from {source} {d.max():.3g}")
    exact = s["quantiles_exact"].astype(str).str.lower() == "true"
    for stat, q in [("trim_low", 0.025), ("trim_high", 0.975), ("q25", 0.25), ("q75", 0.75)]:
        ref = valid.quantile(q)
        d = rel_diff(s.loc[exact, stat].values, ref[exact].values)
        worst = d.max() if len(d) else 0.0
        check(f"{label} {stat}", worst == 0.0, f"exact quantile differs by {worst:.3g}")
    print(f"{label}: quantiles identical to pandas on {exact.sum()} of {len(s)} columns (the rest sampled)")
    distinct_exact = s["n_distinct"].astype(str) != ">256"
    nunique = valid.nunique()
    check(f"{label} n_distinct", (s.loc[distinct_exact, "n_distinct"].astype(int).values ==
                                  nunique[distinct_exact].values).all(), "n_distinct differs")
    check(f"{label} n_distinct>256", (nunique[~distinct_exact] > 256).all(), "'>256' on a column with <= 256")
    mode_exact = s["mode_exact"].astype(str).str.lower() == "true"
    for column in s.index[mode_exact & (s["n_valid"] > 0)]:
        counts = valid[column].value_counts()
        top = counts.max()
        expected_mode = min(counts[counts == top].index)
        check(f"{label} mode {column}", s.loc[column, "mode"] == expected_mode and
              abs(s.loc[column, "mode_fraction"] - top / valid[column].count()) < 1e-15,
              f"mode {s.loc[column, 'mode']} vs {expected_mode}")


generated = os.path.join(workdir, "generated.parquet")
subprocess.run([duckdb_exec, f"""
COPY (SELECT i AS mol_id,
  1e9 + ((hash(i, 1) % 1000003)::DOUBLE / 1000003.0) AS offset_1e9,
  CASE WHEN i % 17 = 0 THEN NULL WHEN i % 23 = 0 THEN 'NaN'::DOUBLE
       WHEN i % 29 = 0 THEN 'inf'::DOUBLE WHEN i % 31 = 0 THEN '-inf'::DOUBLE
       ELSE ((hash(i, 2) % 1000)::DOUBLE - 500.0) / 7.0 END AS with_missing,
  (hash(i, 3) % 7)::INTEGER AS small_int,
  (hash(i, 4) % 2)::BOOLEAN AS flag,
  round(((hash(i, 5) % 1000003)::DOUBLE / 1000003.0) * 50, 1) AS ties,
  (hash(i, 6) % 400)::DOUBLE * 0.5 - 3 AS many_distinct,
  -1e-3 + ((hash(i, 7) % 1000003)::DOUBLE / 1000003.0 - 0.5) AS near_zero_mean
FROM range(30000) t(i)) TO '{generated}'"""], stdout=subprocess.DEVNULL, check=True)
compare("generated", generated, ["mol_id"])
if os.path.exists(shared):
    compare("nci5k", shared, ["mol_id", "smiles"])
else:
    print(f"{shared} not found: real-table comparison skipped")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("all statistics agree with pandas")
