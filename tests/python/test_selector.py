"""DescriptorSelector: scikit-learn's estimator checks, pickle, clone, Pipeline, y, set_output."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import descpipe
from descpipe import DescriptorSelector


def test_estimator_checks():
    """Every check of scikit-learn's check_estimator passes with min_effective_n=2. With the
    default (100) the checks that fit 30 rows or fewer are refused by Pass 1 with an
    InvalidInputError (a ValueError), as the CLI refuses them: docs/PYTHON.md lists them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(DescriptorSelector(min_effective_n=2))


def test_default_refuses_tiny_tables_with_a_clear_error():
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(descpipe.InvalidInputError,
                       match=r"Pass 1 would remove all 3 descriptors .*relax min_effective_n"):
        DescriptorSelector().fit(X)


@pytest.fixture(scope="module")
def fitted(shared_frame):
    y = shared_frame["MolLogP"].to_numpy() + np.random.default_rng(5).normal(
        scale=0.1, size=len(shared_frame))
    return DescriptorSelector(verbose=0).fit(shared_frame, y), y


def test_fit_on_a_dataframe(fitted, shared_frame):
    selector, _ = fitted
    support = selector.get_support()
    assert support.shape == (shared_frame.shape[1],)
    names = list(shared_frame.columns)
    assert not support[names.index("mol_id")] and not support[names.index("smiles")]
    assert list(selector.get_feature_names_out()) == selector.final_
    assert list(selector.feature_names_in_) == names
    assert len(selector.lineage_) == 609  # the descriptors of X: no y, no metadata
    assert "__descpipe_y__" not in selector.lineage_.index
    assert (selector.lineage_["represented_by"] != "__descpipe_y__").all()
    assert selector.summary_["columns_out"].iloc[-1] == len(selector.final_)
    transformed = selector.transform(shared_frame)
    assert isinstance(transformed, np.ndarray)
    assert transformed.shape == (len(shared_frame), len(selector.final_))
    assert selector.explain("MolWt").startswith("MolWt: removed in pass ")


def test_y_guides_but_is_never_a_feature(tmp_path):
    rng = np.random.default_rng(11)
    a = rng.normal(size=500)
    X = pd.DataFrame({"a": a, "b": rng.normal(size=500), "c": rng.normal(size=500)})
    y = a + rng.normal(scale=0.05, size=500)
    selector = DescriptorSelector(output_dir=tmp_path).fit(X, y)
    assert "a" in selector.final_
    assert list(selector.get_feature_names_out()) == ["a", "b", "c"]
    manifest = descpipe.Result.load(tmp_path).manifest
    assert manifest["columns"]["target_column"] == "__descpipe_y__"
    with pytest.raises(descpipe.InvalidInputError, match="Unknown label type"):
        DescriptorSelector().fit(X, np.array(["x", "y"] * 250))


def test_set_output_pandas_keeps_the_index(fitted, shared_frame):
    selector, _ = fitted
    frame = shared_frame.set_index("mol_id")
    selector = clone(selector).set_output(transform="pandas").fit(frame)
    out = selector.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == selector.final_
    assert out.index.equals(frame.index)
    assert out.dtypes.equals(frame[selector.final_].dtypes)


def test_pickle_round_trip_keeps_selection_and_lineage(fitted, shared_frame):
    selector, _ = fitted
    data = pickle.dumps(selector)
    assert len(data) < 2_000_000
    restored = pickle.loads(data)
    assert restored.final_ == selector.final_
    assert restored.lineage_.equals(selector.lineage_)
    assert np.array_equal(restored.transform(shared_frame), selector.transform(shared_frame),
                          equal_nan=True)
    assert restored.explain("MolWt") == selector.explain("MolWt")


def test_clone_and_params():
    selector = DescriptorSelector(spearman_threshold=0.9, vif_threshold=5.0)
    params = selector.get_params()
    assert params["spearman_threshold"] == 0.9 and params["nonlinear_threshold"] is None
    assert "inputs" not in params and "target_column" not in params
    copy = clone(selector)
    assert copy.get_params() == params and not hasattr(copy, "final_")
    with pytest.raises(TypeError, match="unknown parameters"):
        DescriptorSelector(spearman_treshold=0.9)
    with pytest.raises(descpipe.InvalidInputError, match="spearman_threshold"):
        DescriptorSelector(spearman_threshold=3.0).fit(np.random.default_rng(1).normal(
            size=(200, 3)))


def test_pipeline_with_a_model(fitted, shared_frame):
    _, y = fitted
    numeric = shared_frame.drop(columns=["mol_id", "smiles"]).replace([np.inf, -np.inf], np.nan)
    numeric = numeric.fillna(0.0)
    model = Pipeline([("select", DescriptorSelector()),
                      ("scale", StandardScaler()), ("ridge", Ridge(alpha=1.0))])
    model.fit(numeric, y)
    kept = model.named_steps["select"].final_
    assert 50 < len(kept) < numeric.shape[1]
    until = DescriptorSelector(until="pass3").fit(numeric)
    assert len(until.final_) > len(kept) and until.lineage_ is None
    with pytest.raises(descpipe.InvalidInputError, match="until=pass3"):
        until.explain("MolWt")
    assert list(model[:-1].get_feature_names_out()) == kept
    assert model.score(numeric, y) > 0.9
    restored = pickle.loads(pickle.dumps(model))
    assert np.array_equal(restored.predict(numeric), model.predict(numeric))
