"""Result: a finished run's outputs (an OUTDIR) as Python and pandas objects, read on demand."""

import functools
import json
import os

import numpy as np

from . import _descpipe
from .errors import InvalidInputError

_PASS_NAMES = {
    2: 2, "2": 2, "pass2": 2, "spearman": 2,
    4: 4, "4": 4, "pass4": 4, "nonlinear": 4,
}


class Result:
    """The outputs of a run in `out_dir` (docs/RUNS.md lists the files).

    Attributes are read from the files when first used: `final` (list of the final descriptors),
    `stats` (pass1_stats.csv, indexed by descriptor), `lineage` (lineage.csv: one row per input
    descriptor, indexed by it), `spearman`, `hsic`, `rdc` (labelled DataFrames, None when the run
    did not compute them), `summary` (one row per pass), `manifest` (run_manifest.json as a dict).
    Methods: `clusters(pass_)`, `explain(name)`, `report(path)` (the HTML report). In Jupyter a
    Result shows itself as a short summary (`_repr_html_`). `Result.load(out_dir)` opens an
    existing run.
    """

    def __init__(self, out_dir, run=None):
        self.out_dir = os.fspath(out_dir)
        self._run = run
        if not os.path.isfile(self._path("run_manifest.json")):
            raise InvalidInputError(
                f"'{self.out_dir}' holds no descpipe run (no run_manifest.json)")

    @classmethod
    def load(cls, out_dir):
        """The Result of an earlier run in `out_dir` (a `descpipe run` or `descpipe.run`)."""
        return cls(out_dir)

    def __repr__(self):
        final = self.final
        return (f"<descpipe.Result '{self.out_dir}': {len(self.lineage)} descriptors -> "
                f"{len(final)} final>")

    def _path(self, name):
        return os.path.join(self.out_dir, name)

    def _lines(self, name):
        path = self._path(name)
        if not os.path.isfile(path):
            raise InvalidInputError(f"'{path}' is missing: the run did not complete that pass")
        with open(path, encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in handle if line.rstrip("\n")]

    def _json(self, name):
        path = self._path(name)
        if not os.path.isfile(path):
            raise InvalidInputError(f"'{path}' is missing: the run did not complete that pass")
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def _csv(self, name):
        import pandas as pd

        path = self._path(name)
        if not os.path.isfile(path):
            raise InvalidInputError(f"'{path}' is missing: the run did not complete that pass")
        # round_trip: the doubles descpipe wrote, to the last bit (pandas' default parser is not).
        return pd.read_csv(path, float_precision="round_trip", keep_default_na=False,
                           na_values=[""])

    @functools.cached_property
    def manifest(self):
        """run_manifest.json as a dict."""
        return self._json("run_manifest.json")

    @functools.cached_property
    def final(self):
        """The descriptors kept by the last pass the run completed, in input order."""
        passes = [p["stage"] for p in self.manifest.get("passes", [])]
        if not passes:
            raise InvalidInputError(f"the run in '{self.out_dir}' completed no pass")
        last = max(passes)
        return self._lines("final_descriptors.txt" if last == 4 else f"pass{last}_columns.txt")

    @functools.cached_property
    def stats(self):
        """Pass 1's statistics of every descriptor (pass1_stats.csv), indexed by descriptor."""
        return self._csv("pass1_stats.csv").set_index("column")

    @functools.cached_property
    def lineage(self):
        """One row per input descriptor (lineage.csv): fate, pass, reason, representative and the
        direct similarities to it; indexed by descriptor."""
        frame = self._csv("lineage.csv").set_index("descriptor")
        frame["pass"] = frame["pass"].astype("Int64")  # empty for the final descriptors
        return frame

    @functools.cached_property
    def summary(self):
        """One row per pass: columns in and out, seconds, peak RSS, computed or reused."""
        import pandas as pd

        rows = []
        for entry in self.manifest.get("passes", []):
            rows.append({
                "pass": entry["pass"],
                "columns_in": entry.get("columns_in"),
                "columns_out": entry.get("columns_out"),
                "removed": entry.get("columns_in", 0) - entry.get("columns_out", 0),
                "seconds": entry.get("seconds"),
                "peak_rss_bytes": entry.get("peak_rss_bytes"),
                "status": entry.get("status"),
            })
        if self._run is not None:  # this process's run: which passes were reused
            reused = {p["name"]: p["reused"] for p in self._run["passes"]}
            for row in rows:
                if reused.get(row["pass"]):
                    row["status"] = "reused"
        return pd.DataFrame(rows).set_index("pass")

    def _matrix(self, name, labels_file):
        import pandas as pd

        path = self._path(name)
        if not os.path.isfile(path):
            return None
        labels = self._lines(labels_file)
        matrix = np.load(path)
        if matrix.shape != (len(labels), len(labels)):
            raise InvalidInputError(
                f"'{path}' is {matrix.shape[0]} x {matrix.shape[1]}, but {labels_file} names "
                f"{len(labels)} columns")
        return pd.DataFrame(matrix, index=labels, columns=labels)

    @functools.cached_property
    def spearman(self):
        """Spearman's rho of the Pass 1 survivors (a labelled DataFrame), or None."""
        return self._matrix("pass2_spearman_matrix.npy", "pass1_columns.txt")

    @functools.cached_property
    def hsic(self):
        """Normalised HSIC of the Pass 3 survivors (a labelled DataFrame), or None. NaN where
        nonlinear_screening ruled the pair out (its S could not reach the threshold)."""
        return self._matrix("pass4_hsic_matrix.npy", "pass3_columns.txt")

    @functools.cached_property
    def rdc(self):
        """RDC of the Pass 3 survivors (a labelled DataFrame), or None."""
        return self._matrix("pass4_rdc_matrix.npy", "pass3_columns.txt")

    def clusters(self, pass_=2):
        """The clusters of Pass 2 (2, "pass2" or "spearman") or Pass 4 (4, "pass4", "nonlinear"):
        one row per member with its cluster number, representative, whether it was kept and its
        similarity to the representative (rho; or S, nHSIC, RDC and weighted degree)."""
        import pandas as pd

        stage = _PASS_NAMES.get(pass_)
        if stage is None:
            raise InvalidInputError(
                f"clusters({pass_!r}): expected 2 ('spearman') or 4 ('nonlinear')")
        document = self._json("pass2_spearman.json" if stage == 2 else "pass4_nonlinear.json")
        rows = []
        for number, cluster in enumerate(document.get("clusters", [])):
            for member in cluster["members"]:
                row = {"cluster": number, "representative": cluster["representative"],
                       "decided_by": cluster.get("decided_by")}
                row.update(member)
                rows.append(row)
        columns = ["cluster", "column", "representative", "kept", "decided_by"]
        frame = pd.DataFrame(rows)
        if frame.empty:
            return pd.DataFrame(columns=columns)
        rest = [c for c in frame.columns if c not in columns]
        return frame[columns + rest]

    def explain(self, name):
        """Why `name` was removed and what stands for it now (`descpipe explain`'s text)."""
        return _descpipe.explain(self.out_dir, name, False)

    def report(self, path=None, wait=False):
        """Writes the run's HTML report (`descpipe report`; docs/REPORT.md) to `path` (default
        out_dir/report.html) and returns its path. One self-contained file: open it in a
        browser, offline."""
        return _descpipe.write_report(self.out_dir, os.fspath(path) if path else "", wait)

    def _repr_html_(self):
        """A short summary for Jupyter: descriptors in and out of each pass, the final count and
        where the full report is."""
        import html

        passes = self.manifest.get("passes", [])
        rows = "".join(
            f"<tr><td>{html.escape(p['pass'])}</td><td>{p.get('columns_in', '')}</td>"
            f"<td>{p.get('columns_out', '')}</td>"
            f"<td>{p.get('columns_in', 0) - p.get('columns_out', 0)}</td>"
            f"<td>{p.get('seconds') or 0:.2f}</td></tr>" for p in passes)
        descriptors = self.manifest.get("columns", {}).get("descriptors", "?")
        final = passes[-1].get("columns_out", "?") if passes else "?"
        stage = "final" if passes and passes[-1]["pass"] == "pass4_nonlinear" else "kept so far"
        report = self._path("report.html")
        where = (f'The full report: <a href="file://{html.escape(os.path.abspath(report))}">'
                 f"{html.escape(report)}</a>" if os.path.isfile(report)
                 else "<code>result.report()</code> writes the full report")
        return (f"<div><b>descpipe run</b> in <code>{html.escape(self.out_dir)}</code>: "
                f"{descriptors} descriptors &rarr; {final} {stage}."
                "<table><tr><th>pass</th><th>in</th><th>out</th><th>removed</th>"
                f"<th>seconds</th></tr>{rows}</table>{where}.</div>")
