#!/usr/bin/python3
"""The textbook RDC, pair by pair, on a random subset of pairs; extrapolated to all pairs.

Usage: bench/rdc_textbook.py CSV PAIRS DESCPIPE_SECONDS [MATRICES_PREFIX] [DRAWS] [RDC_ONLY_SECONDS]

CSV: the table written by descpipe_nonlinear_bench --csv (header, %.17g values, no missing).
PAIRS: how many pairs (i < j, drawn uniformly without replacement, seeded) are timed.
DESCPIPE_SECONDS: descpipe's all-pairs time (copula + HSIC + RDC), for the ratio.
MATRICES_PREFIX: descpipe_nonlinear_bench --matrices output (PREFIX_rdc.f64, PREFIX_hsic.f64),
  to compare descpipe's RDC with the textbook's on the same pairs (optional).
DRAWS: textbook calls averaged per pair (default 5 = descpipe's rdc_seeds).
RDC_ONLY_SECONDS: descpipe's all-pairs time with w_hsic = 0 (copula + RDC), for a second ratio.

The textbook RDC is the R code published with Lopez-Paz, Hennig and Schoelkopf (NIPS 2013),
ported line by line to numpy/scipy:

    rdc <- function(x, y, k=20, s=1/6, f=sin) {
      x <- cbind(apply(as.matrix(x), 2, function(u) rank(u)/length(u)), 1)
      y <- cbind(apply(as.matrix(y), 2, function(u) rank(u)/length(u)), 1)
      x <- s/ncol(x)*x%*%matrix(rnorm(ncol(x)*k), ncol(x))
      y <- s/ncol(y)*y%*%matrix(rnorm(ncol(y)*k), ncol(y))
      cancor(cbind(f(x), 1), cbind(f(y), 1))$cor[1]
    }

rank() = scipy.stats.rankdata (average ties). cancor centres both sides (the column of ones
becomes zero), takes a QR of each with R's rank detection (tol = 1e-7; here a column-pivoted
QR, scipy.linalg.qr(pivoting=True), keeping the columns with |R_ii| > 1e-7 |R_11|) and returns
the singular values of Qx^T Qy; the first is the RDC. Each call ranks both columns again and
draws fresh projections for x and y (as the R function does); one pair = DRAWS calls, averaged.
"""
import sys
import time

import numpy as np
import pandas as pd
import scipy.linalg
from scipy.stats import rankdata

csv = sys.argv[1]
n_pairs = int(sys.argv[2])
descpipe_seconds = float(sys.argv[3])
prefix = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
draws = int(sys.argv[5]) if len(sys.argv) > 5 else 5
rdc_only_seconds = float(sys.argv[6]) if len(sys.argv) > 6 else None


def orthonormal_basis(features):
    """R's qr(x) in cancor: Q's first rank columns (rank by |R_ii| > 1e-7 |R_11|)."""
    q, r, _ = scipy.linalg.qr(features, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int(np.sum(diagonal > 1e-7 * diagonal[0])) if diagonal.size and diagonal[0] > 0 else 0
    return q[:, :rank]


def cancor_first(x, y):
    qx = orthonormal_basis(x - x.mean(axis=0))
    qy = orthonormal_basis(y - y.mean(axis=0))
    if qx.shape[1] == 0 or qy.shape[1] == 0:
        return 0.0
    return float(np.linalg.svd(qx.T @ qy, compute_uv=False)[0])


def rdc(x, y, rng, k=20, s=1.0 / 6.0, f=np.sin):
    n = x.shape[0]
    cx = np.column_stack([rankdata(x) / n, np.ones(n)])
    cy = np.column_stack([rankdata(y) / n, np.ones(n)])
    fx = f(s / cx.shape[1] * cx @ rng.standard_normal((cx.shape[1], k)))
    fy = f(s / cy.shape[1] * cy @ rng.standard_normal((cy.shape[1], k)))
    # cbind(f(x), 1): the column of ones is centred away by cancor; kept for fidelity.
    return cancor_first(np.column_stack([fx, np.ones(n)]), np.column_stack([fy, np.ones(n)]))


start = time.perf_counter()
data = pd.read_csv(csv, float_precision="round_trip").to_numpy(dtype=np.float64)
read_seconds = time.perf_counter() - start
n, p = data.shape
all_pairs = p * (p - 1) // 2
rng = np.random.default_rng(20261127)
flat = np.sort(rng.choice(all_pairs, size=min(n_pairs, all_pairs), replace=False))
# flat index -> (i, j), i < j, in row order of the upper triangle
starts = np.cumsum([0] + [p - 1 - i for i in range(p - 1)])
rows = np.searchsorted(starts, flat, side="right") - 1
pairs = [(int(i), int(i + 1 + f - starts[i])) for i, f in zip(rows, flat)]
columns = [np.ascontiguousarray(data[:, j]) for j in range(p)]

# Sanity: identical columns give 1.
assert abs(rdc(columns[0], columns[0], np.random.default_rng(1)) - 1.0) < 1e-9

values = np.empty(len(pairs))
draw_rng = np.random.default_rng(42)
start = time.perf_counter()
for t, (i, j) in enumerate(pairs):
    values[t] = np.mean([rdc(columns[i], columns[j], draw_rng) for _ in range(draws)])
loop_seconds = time.perf_counter() - start
per_pair = loop_seconds / len(pairs)
extrapolated = per_pair * all_pairs

# Where a call's time goes (one pair, repeated): ranking, features, cancor.
x, y = columns[pairs[0][0]], columns[pairs[0][1]]
reps = 20
t0 = time.perf_counter()
for _ in range(reps):
    cx = np.column_stack([rankdata(x) / n, np.ones(n)])
    cy = np.column_stack([rankdata(y) / n, np.ones(n)])
t1 = time.perf_counter()
for _ in range(reps):
    fx = np.column_stack([np.sin(0.5 / 6 * cx @ draw_rng.standard_normal((2, 20))), np.ones(n)])
    fy = np.column_stack([np.sin(0.5 / 6 * cy @ draw_rng.standard_normal((2, 20))), np.ones(n)])
t2 = time.perf_counter()
for _ in range(reps):
    cancor_first(fx, fy)
t3 = time.perf_counter()
split = [(t1 - t0) / reps * 1e3, (t2 - t1) / reps * 1e3, (t3 - t2) / reps * 1e3]

print(f"textbook RDC (numpy {np.__version__}, scipy {scipy.__version__}), {n} rows x {p} columns "
      f"(CSV read in {read_seconds:.1f} s, not timed):")
print(f"  {len(pairs)} random pairs x {draws} calls, timed".ljust(44) + f": {loop_seconds:.2f} s")
print(f"  per pair ({draws} calls)".ljust(44) + f": {per_pair * 1e3:.1f} ms  "
      f"(one call: rank {split[0]:.2f} ms, features {split[1]:.2f} ms, cancor {split[2]:.2f} ms)")
print(f"  all {all_pairs:,} pairs, extrapolated".ljust(44) + f": {extrapolated:,.0f} s ({extrapolated / 3600:.2f} h)")
print("  descpipe all pairs, copula + HSIC + RDC".ljust(44) + f": {descpipe_seconds:.2f} s")
print("  ratio textbook RDC / descpipe HSIC + RDC".ljust(44) + f": {extrapolated / descpipe_seconds:,.0f}x")
if rdc_only_seconds:
    print("  descpipe all pairs, RDC only (w_hsic = 0)".ljust(44) + f": {rdc_only_seconds:.2f} s")
    print("  ratio textbook RDC / descpipe RDC only".ljust(44) + f": {extrapolated / rdc_only_seconds:,.0f}x")

if prefix:
    mine = np.fromfile(prefix + "_rdc.f64").reshape(p, p)
    ours = np.array([mine[i, j] for i, j in pairs])
    same = np.array([i // 10 == j // 10 for i, j in pairs])
    diff = np.abs(ours - values)
    print(f"  RDC descpipe vs textbook on the {len(pairs)} pairs: Pearson r {np.corrcoef(ours, values)[0, 1]:.4f}, "
          f"mean |diff| {diff.mean():.4f}, max |diff| {diff.max():.4f}")
    for name, mask in (("same latent group", same), ("different groups", ~same)):
        if mask.any():
            print(f"    {name:18s} ({mask.sum():3d} pairs): mean RDC descpipe {ours[mask].mean():.3f}, "
                  f"textbook {values[mask].mean():.3f}")
