"""Peer side of bench/pass2_vs_pandas.sh: times pandas' Spearman matrices on the columns that
descpipe's Pass 2 correlated, and compares descpipe's matrix with pandas and scipy.

    /usr/bin/python3 bench/pass2_pandas.py CSV MATRIX.npy N_COLUMNS DESCPIPE_PASS2_SECONDS

CSV holds the first Q of the N_COLUMNS Pass 1 survivors, in pass1_columns.txt order (exported
by DuckDB, read here with float_precision="round_trip": the same doubles descpipe read). When
Q < N_COLUMNS, pandas' times are extrapolated to N_COLUMNS: the ranking part (df.rank(), timed
on its own; corr(method="spearman") ranks every column the same way first) by N / Q, the rest
(the pair loops) by the number of pairs, N(N+1) / (Q(Q+1)) ~ (N/Q)^2.
Prints one "key: value" line per result.
"""
import sys
import time
import warnings

import numpy as np
import pandas as pd
import scipy.stats


def timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def diff_stats(a, b):
    """Largest and mean |a - b| over the entries finite in both, and how many differ in NaN-ness."""
    both = np.isfinite(a) & np.isfinite(b)
    d = np.abs(a[both] - b[both])
    nan_mismatch = int(np.count_nonzero(np.isnan(a) != np.isnan(b)))
    return (float(d.max()) if d.size else float("nan")), (float(d.mean()) if d.size else float("nan")), nan_mismatch


def main():
    csv_path, npy_path, n_total, descpipe_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    df, read_s = timed(lambda: pd.read_csv(csv_path, float_precision="round_trip"))
    n_rows, q = df.shape
    # descpipe treats +-inf as missing (as pandas' corr() does); pandas' rank() would rank them.
    # Untimed preparation, so both peers see the same missing values.
    df = df.astype(np.float64).replace([np.inf, -np.inf], np.nan)
    with_missing = [c for c in df.columns if df[c].isna().any()]
    complete = [c for c in df.columns if c not in set(with_missing)]
    rho = np.load(npy_path)
    assert rho.shape == (n_total, n_total), rho.shape
    rho = rho[:q, :q]

    ranked, rank_s = timed(lambda: df.rank())
    rank_corr, corr_s = timed(lambda: ranked.corr())
    rank_corr_s = rank_s + corr_s
    spearman, spearman_s = timed(lambda: df.corr(method="spearman"))
    warnings.simplefilter("ignore")  # constant columns: NaN, as descpipe
    scipy_rho, scipy_s = timed(lambda: scipy.stats.spearmanr(df[complete].to_numpy()).correlation)
    if np.ndim(scipy_rho) == 0:  # scipy returns a scalar for two columns
        scipy_rho = np.array([[1.0, scipy_rho], [scipy_rho, 1.0]])

    scale = n_total * (n_total + 1) / (q * (q + 1))
    linear = n_total / q

    def extrapolate(seconds):  # ranking linear in the columns, pair loops quadratic
        return rank_s * linear + max(seconds - rank_s, 0.0) * scale
    print(f"rows: {n_rows}")
    print(f"columns_timed: {q} of {n_total}" + ("" if q == n_total else
          f" (first {q} survivors; pandas times EXTRAPOLATED to {n_total} columns: ranking x{linear:.1f},"
          f" pair loops x{scale:.1f} = pairs ratio ~ (p/q)^2)"))
    print(f"columns_with_missing: {len(with_missing)} of {q}")
    print(f"csv_read_seconds_untimed: {read_s:.2f}")
    print(f"pandas_spearman_seconds_measured: {spearman_s:.3f}")
    print(f"pandas_rank_corr_seconds_measured: {rank_corr_s:.3f} (rank {rank_s:.3f} + corr {corr_s:.3f})")
    print(f"scipy_spearmanr_complete_columns_seconds_measured: {scipy_s:.3f} ({len(complete)} columns)")
    full_spearman, full_rank_corr = extrapolate(spearman_s), extrapolate(rank_corr_s)
    kind = "measured" if q == n_total else "extrapolated"
    print(f"pandas_spearman_seconds_for_{n_total}: {full_spearman:.2f} ({kind})")
    print(f"pandas_rank_corr_seconds_for_{n_total}: {full_rank_corr:.2f} ({kind})")
    print(f"ratio_pandas_spearman_over_descpipe_pass2: {full_spearman / descpipe_seconds:.1f}")
    print(f"ratio_pandas_rank_corr_over_descpipe_pass2: {full_rank_corr / descpipe_seconds:.1f}")
    if q == n_total:  # scipy has no pairwise-missing mode: only a reference on complete columns
        print(f"ratio_scipy_spearmanr_complete_columns_over_descpipe_pass2: {scipy_s / descpipe_seconds:.2f}"
              f" (scipy on {len(complete)} of {q} columns; descpipe on all, clusters included)")

    m, a, n = diff_stats(rho, rank_corr.to_numpy())
    print(f"diff_vs_pandas_rank_corr: max {m:.3g} mean {a:.3g} nan_mismatch {n}")
    m, a, n = diff_stats(rho, spearman.to_numpy())
    print(f"diff_vs_pandas_spearman: max {m:.3g} mean {a:.3g} nan_mismatch {n}")
    # Pairs of complete columns: pandas' pairwise re-ranking changes nothing there.
    idx = [df.columns.get_loc(c) for c in complete]
    m, a, n = diff_stats(rho[np.ix_(idx, idx)], spearman.to_numpy()[np.ix_(idx, idx)])
    print(f"diff_vs_pandas_spearman_complete_pairs: max {m:.3g} mean {a:.3g} nan_mismatch {n}")
    if len(complete) >= 2:
        m, a, n = diff_stats(rho[np.ix_(idx, idx)], scipy_rho)
        print(f"diff_vs_scipy_spearmanr_complete_columns: max {m:.3g} mean {a:.3g} nan_mismatch {n} ({len(complete)} columns)")


if __name__ == "__main__":
    main()
