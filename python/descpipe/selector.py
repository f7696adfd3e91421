"""DescriptorSelector: descpipe as a scikit-learn feature selector."""

import inspect
import os
import shutil
import tempfile
import zlib

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_array, check_is_fitted

from . import _descpipe
from ._run import PreparedColumns, run, table_columns
from .errors import InvalidInputError

# Options that describe files, not a table in memory (or that fit(X, y) decides): not parameters.
_NOT_PARAMETERS = {"inputs", "output_dir", "union_by_name", "verify_inputs", "na_values",
                   "non_numeric", "sample_per_file", "target_column"}
# The selector's own parameters, after the options.
_OWN_PARAMETERS = {"output_dir": None, "until": None, "verbose": 0}
OPTION_PARAMETERS = [o["name"] for o in _descpipe.options() if o["name"] not in _NOT_PARAMETERS]
_TARGET = "__descpipe_y__"


class DescriptorSelector(SelectorMixin, BaseEstimator):
    """Keeps a small, non-redundant set of descriptors (descpipe's five passes) of X.

    Parameters are descpipe's options (docs/CONFIG.md), all None by default (descpipe's default
    value), plus:
      output_dir: keep the run's outputs there (default: a temporary directory, removed after
          fit; the selection, lineage and explanations are kept in the estimator);
      until: "pass1" .. "pass4", the last pass to run (default: every pass);
      verbose: 0 warnings only, 1 progress and information, 2 debug messages.

    fit(X, y=None): X is a pandas DataFrame (numeric columns are descriptors, the others
    metadata, as for a file; float64 columns are read without a copy) or a 2-D array. y, when
    given, must be numeric: it guides the choice of representatives (representative_criteria's
    `target`) and is never a feature.

    Attributes after fit: final_ (kept descriptor names), lineage_ (one row per descriptor of X:
    fate, pass, reason, representative, direct similarities; None when `until` stopped before
    the last pass, which writes it), stats_ (Pass 1's statistics),
    summary_ (one row per pass), n_features_in_, feature_names_in_ (DataFrames).
    """

    def __init__(self, **params):
        unknown = sorted(set(params) - set(OPTION_PARAMETERS) - set(_OWN_PARAMETERS))
        if unknown:
            raise TypeError(
                f"DescriptorSelector got unknown parameters {unknown}; see "
                f"DescriptorSelector().get_params() for the ones it takes")
        for name in OPTION_PARAMETERS:
            setattr(self, name, params.get(name))
        for name, default in _OWN_PARAMETERS.items():
            setattr(self, name, params.get(name, default))

    def _more_tags(self):
        # NaN is a missing value, as in a file; any number of columns may be metadata.
        return {"allow_nan": True, "requires_y": False, "X_types": ["2darray"]}

    def _options(self):
        # None is descpipe's default: run() leaves such options out.
        return {name: getattr(self, name) for name in OPTION_PARAMETERS}

    def fit(self, X, y=None):
        import pandas as pd

        self._check_feature_names(X, reset=True)
        if isinstance(X, pd.DataFrame):
            table, columns = X, None
            if X.shape[0] < 2 or X.shape[1] < 1:
                raise InvalidInputError(
                    f"Found a DataFrame with {X.shape[0]} sample(s) and {X.shape[1]} column(s) "
                    f"(shape={X.shape}) while a minimum of 2 samples and 1 column is required.")
        else:
            table = check_array(X, dtype="numeric", force_all_finite="allow-nan",
                                ensure_min_samples=2)
            columns = [f"x{j}" for j in range(table.shape[1])]
        self._check_n_features(table, reset=True)
        names = list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else columns
        options = self._options()
        if y is not None:
            y = np.asarray(y)
            if y.ndim != 1 or y.shape[0] != table.shape[0]:
                raise InvalidInputError(
                    f"y must be 1-D with one value per sample ({table.shape[0]}), got shape "
                    f"{y.shape}")
            if y.dtype.kind not in "fiub":
                raise InvalidInputError(
                    f"Unknown label type: y has dtype {y.dtype}; to guide representatives it "
                    f"must be numeric (encode the labels, or fit without y)")
            # y joins the table as target_column: metadata for every pass, never a feature.
            n_rows, data = table_columns(table, columns)
            target = _TARGET
            while target in names:
                target += "_"
            data.append((target, y.astype(np.float64, copy=False), None))
            table, columns = PreparedColumns(n_rows, data), None
            options["target_column"] = target

        keep = self.output_dir is not None
        out = os.fspath(self.output_dir) if keep else tempfile.mkdtemp(prefix="descpipe-fit-")
        try:
            result = run(table, columns=columns, out=out, until=self.until, report=keep,
                         progress=self.verbose >= 1, quiet=self.verbose <= 0,
                         verbose=self.verbose >= 2, **options)
            self.final_ = list(result.final)
            self.stats_ = result.stats
            self.summary_ = result.summary
            # The lineage is written by the last pass: a run stopped earlier (until) has none.
            info = os.path.join(out, "final_cluster_info.json")
            complete = os.path.isfile(os.path.join(out, "lineage.csv"))
            self.lineage_ = result.lineage if complete else None
            self._cluster_info = None
            if complete:
                with open(info, "rb") as handle:
                    self._cluster_info = zlib.compress(handle.read())
        finally:
            if not keep:
                shutil.rmtree(out, ignore_errors=True)
        kept = set(self.final_)
        self._support = np.array([n in kept for n in names], dtype=bool)
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "final_")
        return self._support

    def transform(self, X):
        """The kept descriptors of X: a DataFrame's columns by name (its metadata dropped), an
        array's by position. Output as set_output says (default: an ndarray)."""
        import pandas as pd

        check_is_fitted(self, "final_")
        if not isinstance(X, pd.DataFrame):
            return super().transform(X)
        self._check_feature_names(X, reset=False)
        self._check_n_features(X, reset=False)
        selected = X.loc[:, self.get_feature_names_out()]
        try:
            from sklearn.utils._set_output import _get_output_config

            if _get_output_config("transform", self)["dense"] == "pandas":
                return selected
        except (ImportError, KeyError):
            pass
        return selected.to_numpy()

    def explain(self, name):
        """Why descriptor `name` was removed and what stands for it now (descpipe explain)."""
        check_is_fitted(self, "final_")
        if self._cluster_info is None:
            raise InvalidInputError(
                f"explain needs the lineage, which the last pass writes: this selector ran "
                f"until={self.until}")
        with tempfile.TemporaryDirectory(prefix="descpipe-explain-") as directory:
            with open(os.path.join(directory, "final_cluster_info.json"), "wb") as handle:
                handle.write(zlib.decompress(self._cluster_info))
            return _descpipe.explain(directory, name, False)


# get_params reads the parameters from __init__'s signature: every option, then the own ones.
DescriptorSelector.__init__.__signature__ = inspect.Signature(
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None)
       for n in OPTION_PARAMETERS]
    + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d)
       for n, d in _OWN_PARAMETERS.items()])
