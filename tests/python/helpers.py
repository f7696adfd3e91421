"""Comparisons shared by the Python tests."""

import json
import pathlib

_NOT_RESULTS = {"inputs", "fingerprint", "seconds", "peak_rss_bytes", "xxh3_64", "size_bytes",
                "threads"}


def _without_identity(value):
    """run_manifest.json without what names the input or is not a result (as the C++ test's
    DropInputIdentity)."""
    if isinstance(value, dict):
        return {k: _without_identity(v) for k, v in value.items() if k not in _NOT_RESULTS}
    if isinstance(value, list):
        return [_without_identity(v) for v in value]
    return value


def assert_same_outputs(from_file, from_memory, memory=True):
    """Every output file byte for byte; the manifest without the input's identity (`memory`:
    the second run's input was a table in memory)."""
    a, b = pathlib.Path(from_file), pathlib.Path(from_memory)
    names = sorted(p.name for p in a.iterdir() if p.is_file())
    assert len(names) > 5, names
    assert names == sorted(p.name for p in b.iterdir() if p.is_file())
    for name in names:
        if name == "report.html":
            continue  # a view of the other files, with their directory and the run's times
        if name == "run_manifest.json":
            left = json.loads((a / name).read_text())
            right = json.loads((b / name).read_text())
            if memory:
                assert "memory" not in json.dumps(left["inputs"])
                assert "memory" in json.dumps(right["inputs"]), right["inputs"]
            for side in (left, right):
                side["config"].pop("output_dir")
            assert _without_identity(left) == _without_identity(right)
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs"
