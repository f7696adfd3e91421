"""Fixtures of the Python package's tests (tests/python; docs/PYTHON.md, "Tests").

Run by ctest (tests/CMakeLists.txt) with PYTHONPATH=build/python and DESCPIPE_CLI=build/descpipe;
by hand: PYTHONPATH=build/python /usr/bin/python3 -m pytest tests/python.
"""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def cli_path():
    return os.environ.get("DESCPIPE_CLI", str(ROOT / "build" / "descpipe"))


def shared_table():
    path = pathlib.Path(os.environ.get("DESCPIPE_SHARED_DATA",
                                       ROOT.parent / "shared" / "data" / "nci5k_rdkit.parquet"))
    if not path.is_file():
        pytest.skip(f"the shared table {path} is not here")
    return path


def run_cli(*args, check=True):
    """The CLI's (exit code, stderr) for `descpipe ARGS`."""
    done = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True,
                          timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"descpipe {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.returncode, done.stderr


@pytest.fixture(scope="session")
def shared_copies(tmp_path_factory):
    """The shared table as Parquet and as CSV with the same rows in the same order (both written
    by `descpipe sample` over every row), for comparing a DataFrame with a file."""
    source = shared_table()
    directory = tmp_path_factory.mktemp("shared")
    parquet, csv = directory / "all.parquet", directory / "all.csv"
    run_cli("sample", source, "-n", "1000000", "-o", parquet, "-q")
    run_cli("sample", source, "-n", "1000000", "-o", csv, "-q")
    return parquet, csv


@pytest.fixture(scope="session")
def shared_frame(shared_copies):
    """The shared table as a DataFrame: every double exact (round_trip), ids as text."""
    import pandas as pd

    return pd.read_csv(shared_copies[1], float_precision="round_trip",
                       dtype={"mol_id": str, "smiles": str})
