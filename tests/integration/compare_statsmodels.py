#!/usr/bin/python3
"""Pass 3 (VIF) against statsmodels' variance_inflation_factor, end to end.

Usage: compare_statsmodels.py DESCPIPE WORKDIR

Generates 2,000 rows x 24 columns from 6 latent factors (no missing values), runs
`descpipe run` with vif_correlation: pearson (Pass 2 threshold 1.0 so that it removes nothing
here), and replays the elimination with statsmodels (a constant added, as users do): the removal
order must be the same and every VIF at removal and every final VIF equal to 1e-8 relative.
Exit code 77 (ctest: skipped) without numpy/pandas/statsmodels.
"""
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import pandas as pd
    from statsmodels.stats.outliers_influence import variance_inflation_factor
    from statsmodels.tools.tools import add_constant
except ImportError:
    print("statsmodels not available: skipped")
    sys.exit(77)

descpipe, workdir = sys.argv[1:3]
os.makedirs(workdir, exist_ok=True)
rng = np.random.default_rng(5)
n, p, factors = 2000, 24, 6
latent = rng.normal(size=(n, factors))
data = {}
for j in range(p):
    a, b = j % factors, (j * 5 + 1) % factors
    noise = 0.1 + 0.4 * (j % 4)
    data[f"x{j:02d}"] = latent[:, a] + 0.7 * latent[:, b] + noise * rng.normal(size=n)
frame = pd.DataFrame(data)
csv = os.path.join(workdir, "vif.csv")
frame.insert(0, "mol_id", [f"m{i}" for i in range(n)])
frame.to_csv(csv, index=False, float_format="%.17g")
out = os.path.join(workdir, "out")
subprocess.run([descpipe, "run", csv, "-o", out, "-q", "--until", "pass3", "--set", "vif_correlation=pearson",
                "--set", "spearman_threshold=1.0", "--set", "vif_threshold=5"], check=True)
report = json.load(open(os.path.join(out, "pass3_vif.json")))
columns = open(os.path.join(out, "pass2_columns.txt")).read().splitlines()

failures = []
current = list(columns)
removed = []
while True:
    exog = add_constant(frame[current].values)
    vifs = [variance_inflation_factor(exog, k + 1) for k in range(len(current))]
    worst = int(np.argmax(vifs))
    if vifs[worst] <= 5:
        final = dict(zip(current, vifs))
        break
    removed.append((current[worst], vifs[worst]))
    current.pop(worst)

ours = [(r["column"], r["vif"]) for r in report["removal_order"]]
if [c for c, _ in ours] != [c for c, _ in removed]:
    failures.append(f"removal order differs:\n  descpipe    {[c for c, _ in ours]}\n  statsmodels {[c for c, _ in removed]}")
worst_rel = 0.0
for (c, v), (_, ref) in zip(ours, removed):
    worst_rel = max(worst_rel, abs(v - ref) / ref)
for c, ref in final.items():
    worst_rel = max(worst_rel, abs(report["final_vif"][c] - ref) / ref)
print(f"{len(removed)} removals, {len(final)} survivors; largest relative VIF difference {worst_rel:.2e}")
if worst_rel > 1e-8:
    failures.append(f"VIF differs from statsmodels by {worst_rel:.2e} (> 1e-8)")
if set(report["final_vif"]) != set(final):
    failures.append("survivors differ")
print("\n".join(failures) if failures else "same removals and VIFs as statsmodels")
sys.exit(1 if failures else 0)
