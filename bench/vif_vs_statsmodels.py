#!/usr/bin/python3
"""Pass 3 against a statsmodels VIF loop, same data, same run.

Usage: bench/vif_vs_statsmodels.py DESCPIPE WORKDIR [P] [N]

P columns (default 300) from P/10 latent factors, N rows (default 1,000), no missing values.
- statsmodels: one round (variance_inflation_factor for every column, a constant added), timed;
  the full iterative elimination is timed for its first 3 rounds and extrapolated over the
  remaining rounds by the cost of a round, ~ (columns left)^3 (one OLS of n x p per column);
  the removal count comes from descpipe's own run (same data, same order: see ctest
  StatsmodelsComparison).
- descpipe: `descpipe run` with vif_correlation: pearson; Pass 3 seconds from the summary table
  (the Pearson matrix is computed in Pass 2 and reported separately).
"""
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from statsmodels.stats.outliers_influence import variance_inflation_factor
from statsmodels.tools.tools import add_constant

descpipe, workdir = sys.argv[1:3]
p = int(sys.argv[3]) if len(sys.argv) > 3 else 300
n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
os.makedirs(workdir, exist_ok=True)
rng = np.random.default_rng(3)
factors = max(2, p // 10)
latent = rng.normal(size=(n, factors))
frame = pd.DataFrame({f"x{j:04d}": latent[:, j % factors] + 0.5 * latent[:, (j * 7 + 3) % factors]
                      + (0.05 + 0.5 * (j % 7) / 7) * rng.normal(size=n) for j in range(p)})
csv = os.path.join(workdir, f"vif_{p}.csv")
with_id = frame.copy()
with_id.insert(0, "mol_id", [f"m{i}" for i in range(n)])
with_id.to_csv(csv, index=False, float_format="%.17g")

out = os.path.join(workdir, f"out_{p}")
proc = subprocess.run([descpipe, "run", csv, "-o", out, "--set", "vif_correlation=pearson",
                       "--set", "spearman_threshold=1.0"], capture_output=True, text=True, check=True)
seconds = {m.group(1): float(m.group(2)) for m in
           re.finditer(r"^(pass\d_\w+)\s+\d+\s+\d+\s+\d+\s+([\d.]+)", proc.stderr, re.M)}
report = json.load(open(os.path.join(out, "pass3_vif.json")))
removals = len(report["removal_order"])
columns = open(os.path.join(out, "pass2_columns.txt")).read().splitlines()

current = list(columns)
round_times = []
for _ in range(3):
    start = time.perf_counter()
    exog = add_constant(frame[current].values)
    vifs = [variance_inflation_factor(exog, k + 1) for k in range(len(current))]
    round_times.append(time.perf_counter() - start)
    current.pop(int(np.argmax(vifs)))
one_round = round_times[0]
per_cube = np.mean([t / (len(columns) - k) ** 3 for k, t in enumerate(round_times)])
full = sum(per_cube * (len(columns) - k) ** 3 for k in range(removals + 1))
print(f"VIF, {n} rows x {len(columns)} columns ({removals} removals to VIF <= 10):")
print(f"  descpipe Pass 3 (full elimination)        : {seconds['pass3_vif']:.4f} s"
      f"   (Pearson matrix in Pass 2: {seconds['pass2_spearman']:.3f} s)")
print(f"  statsmodels one round ({len(columns)} VIFs)          : {one_round:.2f} s")
print(f"  statsmodels full elimination (extrapolated): {full:.0f} s  (3 rounds measured: "
      f"{', '.join(f'{t:.2f}' for t in round_times)} s)")
print(f"  ratio one round / descpipe full           : {one_round / max(seconds['pass3_vif'], 1e-4):.0f}x")
print(f"  ratio full / descpipe full                 : {full / max(seconds['pass3_vif'], 1e-4):.0f}x  (goal >= 1000x)")
print(f"  ratio full / descpipe Pass 2 + Pass 3       : {full / (seconds['pass3_vif'] + seconds['pass2_spearman']):.0f}x")
