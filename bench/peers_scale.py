#!/usr/bin/python3
"""The workflow a user scripts today, on the planted data descpipe runs on (bench/peers_scale.sh).

    /usr/bin/python3 bench/peers_scale.py CSV [--steps STEPS] [--vif-rounds-max R]

CSV: the planted table exported by DuckDB (mol_id, smiles, then the descriptors). STEPS is a
comma-separated subset of read,missing,variance,spearman,greedy,vif (default: all, in order):
  read      pandas.read_csv (Debian's pandas has no Parquet reader: no pyarrow)
  missing   +-inf -> NaN, drop columns with more than 50% missing (descpipe's max_missing_ratio)
  variance  scikit-learn VarianceThreshold(0.0): drops the constant columns (NaN-aware)
  spearman  pandas DataFrame.corr(method="spearman") (pairwise-complete, as descpipe's default)
  greedy    the usual recipe: drop every column with |rho| > 0.95 against an earlier column
  vif       statsmodels variance_inflation_factor loop (constant added, NaN -> column median):
            drop the largest VIF while it exceeds 10 (descpipe's vif_threshold)
Every step prints one line as soon as it ends (seconds, peak RSS so far, columns left), so a run
killed by `timeout` still shows how far it got; the VIF loop prints each round.
"""
import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

STEPS = ["read", "missing", "variance", "spearman", "greedy", "vif"]


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # ru_maxrss is KiB


def report(step, seconds, columns, extra=""):
    print(f"peer {step:<9} {seconds:10.2f} s  peak {peak_rss_gb():6.2f} GB  columns {columns}"
          + (f"  {extra}" if extra else ""), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--vif-rounds-max", type=int, default=1_000_000)
    args = parser.parse_args()
    steps = args.steps.split(",")
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        sys.exit(f"unknown steps {unknown}; known: {STEPS}")

    total = 0.0
    start = time.perf_counter()
    frame = pd.read_csv(args.csv)
    seconds = time.perf_counter() - start
    frame = frame.drop(columns=[c for c in ("mol_id", "smiles") if c in frame.columns])
    frame = frame.astype(np.float64)
    if "read" in steps:
        total += seconds
    report("read", seconds, frame.shape[1], f"rows {frame.shape[0]}" + ("" if "read" in steps else " (not counted)"))

    if "missing" in steps:
        start = time.perf_counter()
        frame = frame.replace([np.inf, -np.inf], np.nan)
        frame = frame.loc[:, frame.isna().mean() <= 0.5]
        seconds = time.perf_counter() - start
        total += seconds
        report("missing", seconds, frame.shape[1])

    if "variance" in steps:
        from sklearn.feature_selection import VarianceThreshold
        start = time.perf_counter()
        selector = VarianceThreshold(0.0).fit(frame)
        frame = frame.loc[:, selector.get_support()]
        seconds = time.perf_counter() - start
        total += seconds
        report("variance", seconds, frame.shape[1])

    rho = None
    if "spearman" in steps:
        start = time.perf_counter()
        rho = frame.corr(method="spearman")
        seconds = time.perf_counter() - start
        total += seconds
        report("spearman", seconds, frame.shape[1])

    if "greedy" in steps and rho is not None:
        start = time.perf_counter()
        upper = rho.abs().where(np.triu(np.ones(rho.shape, dtype=bool), k=1))
        drop = [c for c in upper.columns if (upper[c] > 0.95).any()]
        frame = frame.drop(columns=drop)
        seconds = time.perf_counter() - start
        total += seconds
        report("greedy", seconds, frame.shape[1], f"dropped {len(drop)}")
    del rho

    if "vif" in steps:
        from statsmodels.stats.outliers_influence import variance_inflation_factor
        from statsmodels.tools.tools import add_constant
        start = time.perf_counter()
        frame = frame.fillna(frame.median())
        columns = list(frame.columns)
        values = frame.to_numpy()
        del frame
        rounds = 0
        while len(columns) > 1 and rounds < args.vif_rounds_max:
            round_start = time.perf_counter()
            exog = add_constant(values, has_constant="add")
            vifs = [variance_inflation_factor(exog, k + 1) for k in range(len(columns))]
            worst = int(np.argmax(vifs))
            rounds += 1
            print(f"peer vif round {rounds}: {len(columns)} columns, max VIF {vifs[worst]:.4g}, "
                  f"{time.perf_counter() - round_start:.2f} s", flush=True)
            if vifs[worst] <= 10:
                break
            values = np.delete(values, worst, axis=1)
            columns.pop(worst)
        seconds = time.perf_counter() - start
        total += seconds
        finished = rounds < args.vif_rounds_max
        report("vif", seconds, len(columns), f"rounds {rounds}" + ("" if finished else " (stopped early)"))
    print(f"peer total     {total:10.2f} s  peak {peak_rss_gb():6.2f} GB", flush=True)


if __name__ == "__main__":
    main()
