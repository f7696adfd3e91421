"""descpipe.run and Result: files and tables in memory, progress, Ctrl-C, errors."""

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

import descpipe
from conftest import run_cli, shared_table
from helpers import assert_same_outputs


def test_dataframe_gives_the_same_bytes_as_parquet(shared_copies, shared_frame, tmp_path):
    parquet, _ = shared_copies
    run_cli("run", parquet, "-o", tmp_path / "cli", "-q")
    from_file = descpipe.run(parquet, out=tmp_path / "file", quiet=True)
    from_frame = descpipe.run(shared_frame, out=tmp_path / "frame", quiet=True)
    assert from_frame.final == from_file.final
    assert len(from_frame.final) > 100
    assert_same_outputs(tmp_path / "cli", tmp_path / "file", memory=False)
    assert_same_outputs(tmp_path / "file", tmp_path / "frame")
    # The same DataFrame again: every pass is reused (its content is its fingerprint).
    again = descpipe.run(shared_frame, out=tmp_path / "frame", quiet=True)
    assert set(again.summary["status"]) == {"reused"}


def test_row_major_array_is_read_where_it_lies(shared_frame, tmp_path):
    numeric = shared_frame.select_dtypes("number")
    matrix = np.ascontiguousarray(numeric.to_numpy(dtype=np.float64))  # rows x columns
    from_array = descpipe.run(matrix, columns=list(numeric.columns), out=tmp_path / "array",
                              quiet=True)
    from_frame = descpipe.run(numeric, out=tmp_path / "frame", quiet=True)
    assert from_array.final == from_frame.final
    assert from_array.lineage.equals(from_frame.lineage)


def test_float64_columns_are_not_copied():
    from descpipe._run import table_columns

    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(50, 4)), columns=list("abcd"))
    frame["smiles"] = ["C"] * 50
    n_rows, columns = table_columns(frame)
    assert n_rows == 50
    for name, values, missing in columns[:4]:
        assert np.shares_memory(values, frame[name].to_numpy()), name
        assert missing is None
    assert columns[4][1] == ["C"] * 50  # text: metadata


def test_result_objects(tmp_path):
    result = descpipe.run(shared_table(), out=tmp_path, quiet=True)
    assert result.final == (tmp_path / "final_descriptors.txt").read_text().split()
    assert len(result.lineage) == len(result.stats) == 609
    assert set(result.lineage["fate"]) == {"final", "removed"}
    kept = result.lineage.index[result.lineage["fate"] == "final"]
    assert sorted(kept) == sorted(result.final)
    assert list(result.summary.index) == ["pass1_statistics", "pass2_spearman", "pass3_vif",
                                          "pass4_nonlinear"]
    assert (result.summary["columns_out"].iloc[-1]) == len(result.final)
    rho = result.spearman
    assert rho.shape == (560, 560) and np.allclose(np.diag(rho), 1.0)
    assert list(rho.index) == (tmp_path / "pass1_columns.txt").read_text().split()
    assert result.hsic.shape == result.rdc.shape == (264, 264)
    clusters = result.clusters("spearman")
    assert {"cluster", "column", "representative", "kept", "rho_to_representative"} <= set(
        clusters.columns)
    assert clusters.groupby("cluster")["kept"].sum().eq(1).all()
    assert "s_to_representative" in result.clusters(4).columns
    code, _ = run_cli("explain", tmp_path, "MolWt")
    assert result.explain("MolWt").startswith("MolWt: removed in pass 2")
    loaded = descpipe.Result.load(tmp_path)
    assert loaded.final == result.final and loaded.lineage.equals(result.lineage)


def test_report_and_jupyter_summary(tmp_path):
    out = tmp_path / "run"
    result = descpipe.run(shared_table(), out=out, quiet=True, until="pass3")
    page = (out / "report.html").read_bytes()
    assert page.startswith(b"<!DOCTYPE html>") and len(page) < 3_000_000
    # Result.report() writes what `descpipe report` writes.
    assert result.report(tmp_path / "again.html") == str(tmp_path / "again.html")
    assert (tmp_path / "again.html").read_bytes() == page
    code, _ = run_cli("report", out, "-o", tmp_path / "cli.html")
    assert code == 0 and (tmp_path / "cli.html").read_bytes() == page
    summary = result._repr_html_()
    assert "609 descriptors &rarr; 264 kept so far" in summary
    assert "<td>pass3_vif</td><td>449</td><td>264</td><td>185</td>" in summary
    assert "report.html" in summary
    # report=False writes none, and leaves no earlier one behind.
    descpipe.run(shared_table(), out=out, quiet=True, until="pass2", report=False)
    assert not (out / "report.html").exists()
    assert "result.report()" in descpipe.Result.load(out)._repr_html_()
    # A file changed since the run: the report says which, as the CLI does.
    (out / "pass2_spearman.json").write_text("{}")
    with pytest.raises(descpipe.InvalidInputError, match="pass2_spearman.json' changed since"):
        descpipe.Result.load(out).report()


def test_options_are_the_registry_and_validated(tmp_path):
    frame = pd.DataFrame(np.random.default_rng(2).normal(size=(300, 6)),
                         columns=[f"d{j}" for j in range(6)])
    frame["d5"] = frame["d0"] * 2 + 1  # a copy of d0 for Pass 2
    result = descpipe.run(frame, out=tmp_path / "a", quiet=True, spearman_threshold=0.9,
                          keep_columns=["d5"], until="pass2")
    assert "d5" in result.final and "d0" not in result.final
    assert result.manifest["config"]["spearman_threshold"] == 0.9
    with pytest.raises(descpipe.InvalidInputError,
                       match=r"^unknown option spearman_treshold given to a keyword argument "
                             r"\(did you mean spearman_threshold\?\)$"):
        descpipe.run(frame, out=tmp_path / "b", spearman_treshold=0.9)
    with pytest.raises(ValueError, match="spearman_threshold"):
        descpipe.run(frame, out=tmp_path / "b", spearman_threshold=1.5)
    assert not (tmp_path / "b").exists()  # nothing written before the options are valid
    options = descpipe.options()
    assert "vif_threshold" in options.index and options.loc["vif_threshold", "pass"] == 3
    assert "spearman_threshold: 0.8" in descpipe.config_yaml(spearman_threshold=0.8)
    # A config dict with a section, then keywords on top.
    result = descpipe.run(frame, out=tmp_path / "c", quiet=True, until="pass2",
                          config={"spearman": {"spearman_threshold": 0.5}},
                          spearman_threshold=0.99)
    assert result.manifest["config"]["spearman_threshold"] == 0.99


@pytest.mark.parametrize("case", ["missing_file", "csv_text_value", "bad_option_value"])
def test_errors_have_the_cli_message(case, tmp_path):
    if case == "missing_file":
        args, kwargs = [tmp_path / "nope.parquet"], {}
        expected = descpipe.InvalidInputError
    elif case == "csv_text_value":
        path = tmp_path / "t.csv"
        rows = ["id,a,b"] + [f"m{i},{i},{i * i % 7}" for i in range(200)]
        rows[150] = "m149,#VALUE?,3"
        path.write_text("\n".join(rows) + "\n")
        args, kwargs = [path], {}
        expected = descpipe.InvalidInputError
    else:
        args, kwargs = [shared_table()], {"vif_threshold": 0.5}
        expected = descpipe.InvalidInputError
    sets = [f"--set={k}={v}" for k, v in kwargs.items()]
    code, stderr = run_cli("run", *args, "-o", tmp_path / "cli", "-q", *sets, check=False)
    assert code == 2
    cli_message = stderr.strip().splitlines()[-1]
    assert cli_message.startswith("error: ")
    with pytest.raises(expected) as caught:
        descpipe.run(*args, out=tmp_path / "py", quiet=True, **kwargs)
    message = str(caught.value).replace("a keyword argument", "--set")
    assert "error: " + message == cli_message
    assert isinstance(caught.value, descpipe.Error)


def test_table_errors_name_the_column(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]})
    frame.columns = ["a", "a"]
    with pytest.raises(descpipe.InvalidInputError,
                       match="in-memory table 'DataFrame' has more than one column named \"a\""):
        descpipe.run(frame, out=tmp_path)
    with pytest.raises(descpipe.InvalidInputError, match="must be 2-D"):
        descpipe.run(np.zeros(5), out=tmp_path)
    with pytest.raises(descpipe.IoError) as caught:
        descpipe.run(pd.DataFrame({"x": np.random.default_rng(3).normal(size=300)}),
                     out="/proc/descpipe-cannot", quiet=True)
    assert isinstance(caught.value, OSError)


def _slow_table(rows=150_000, cols=120):
    rng = np.random.default_rng(7)
    base = rng.normal(size=(rows, cols // 3))
    frame = pd.DataFrame(np.hstack([base, np.exp(base), base ** 3]),
                         columns=[f"c{j}" for j in range(cols)])
    return frame


def test_progress_callback_sees_every_computed_pass(tmp_path):
    frame = _slow_table(rows=40_000, cols=60)
    seen = []
    result = descpipe.run(frame, out=tmp_path, quiet=True,
                          progress=lambda name, done, total: seen.append((name, done, total)))
    names = [name for name, _, _ in seen]
    assert "pass1" in names and "pass2" in names
    pass1 = [(d, t) for n, d, t in seen if n == "pass1"]
    assert pass1[-1][0] == 40_000 and all(t in (40_000, -1) for _, t in pass1)
    assert all(d1 <= d2 for (d1, _), (d2, _) in zip(pass1, pass1[1:]))
    assert result.final

    def stop(name, done, total):
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        descpipe.run(frame, out=tmp_path / "stopped", quiet=True, progress=stop)


def _interrupt_at(frame, out, stage):
    """Runs on `frame` and sends SIGINT at `stage`'s first progress report: the seconds from the
    signal to KeyboardInterrupt."""
    sent = {}

    def on_progress(name, done, total):
        if name == stage and "at" not in sent:
            sent["at"] = time.monotonic()
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        descpipe.run(frame, out=out, quiet=True, threads=1, progress=on_progress)
    assert not [p.name for p in out.iterdir() if ".tmp" in p.name]  # no temporary left
    return time.monotonic() - sent["at"]


def test_ctrl_c_stops_within_a_second_and_the_run_resumes(tmp_path):
    frame = _slow_table()
    out = tmp_path / "run"
    # Inside Pass 1's scan: nothing is complete.
    latency = _interrupt_at(frame, out, "pass1")
    assert latency < 1.0, f"KeyboardInterrupt came {latency:.2f} s after SIGINT in pass1"
    # Inside Pass 4: Passes 1-3 are complete, and the next run takes them.
    latency = _interrupt_at(frame, out, "pass4")
    assert latency < 1.0, f"KeyboardInterrupt came {latency:.2f} s after SIGINT in pass4"
    resumed = descpipe.run(frame, out=out, quiet=True, threads=1)
    assert list(resumed.summary["status"]) == ["reused", "reused", "reused", "computed"]
    descpipe.run(frame, out=tmp_path / "fresh", quiet=True, threads=1)
    assert_same_outputs_except_reuse(tmp_path / "fresh", out)


def assert_same_outputs_except_reuse(a, b):
    for name in sorted(p.name for p in a.iterdir() if p.is_file()):
        if name not in ("run_manifest.json", "report.html"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_gil_is_released_while_the_run_computes(tmp_path):
    frame = _slow_table(rows=60_000, cols=60)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    thread = threading.Thread(target=ticker)
    thread.start()
    started = time.monotonic()
    descpipe.run(frame, out=tmp_path, quiet=True, progress=False)
    elapsed = time.monotonic() - started
    stop.set()
    thread.join()
    during = [t for t in ticks if started <= t <= started + elapsed]
    # A thread holding the GIL for the whole run would leave the ticker a handful of ticks.
    assert len(during) >= 0.5 * elapsed / 0.01 * 0.5, (len(during), elapsed)


def test_nullable_and_other_dtypes(tmp_path):
    rng = np.random.default_rng(4)
    n = 400
    frame = pd.DataFrame({
        "id": [f"m{i}" for i in range(n)],
        "when": pd.date_range("2026-01-01", periods=n, freq="H"),
        "kind": pd.Categorical(rng.choice(["a", "b"], size=n)),
        "f32": rng.normal(size=n).astype(np.float32),
        "i16": rng.integers(-50, 50, size=n).astype(np.int16),
        "u8": rng.integers(0, 200, size=n).astype(np.uint8),
        "flag": rng.integers(0, 2, size=n).astype(bool),
        "nullable": pd.array(rng.integers(0, 1000, size=n), dtype="Int64"),
        "nullable_f": pd.array(rng.normal(size=n), dtype="Float64"),
        "plain": rng.normal(size=n),
    })
    frame.loc[[3, 7], "nullable"] = pd.NA
    frame.loc[[5], "nullable_f"] = pd.NA
    frame.loc[[9], "plain"] = np.nan
    result = descpipe.run(frame, out=tmp_path, quiet=True, until="pass1", id_columns="none")
    assert result.manifest["columns"]["metadata"] == ["id", "when", "kind"]
    stats = result.stats
    assert list(stats.index) == ["f32", "i16", "u8", "flag", "nullable", "nullable_f", "plain"]
    assert stats.loc["nullable", "n_null"] == 2 and stats.loc["nullable", "n_nan"] == 0
    assert stats.loc["nullable_f", "n_null"] == 1
    assert stats.loc["plain", "n_nan"] == 1 and stats.loc["plain", "n_null"] == 0
    assert stats.loc["u8", "max"] == frame["u8"].max()
    assert stats.loc["f32", "mean"] == pytest.approx(float(frame["f32"].astype(float).mean()),
                                                    rel=1e-12)
