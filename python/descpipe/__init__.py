"""descpipe: turns a wide table of molecular descriptors into a small, non-redundant, explained
set (docs/PYTHON.md).

    import descpipe
    result = descpipe.run(df, out="run1")            # or a Parquet/CSV path, directory or glob
    result.final, result.lineage, result.explain("MolWt")
    selector = descpipe.DescriptorSelector(spearman_threshold=0.9).fit(df)
"""

from ._descpipe import duckdb_version as _duckdb_version
from ._descpipe import version as _version
from ._run import config_yaml, options, run
from .errors import CudaError, Error, InternalError, InvalidInputError, IoError, NumericalError
from .result import Result

__version__ = _version()
DUCKDB_VERSION = _duckdb_version()


def __getattr__(name):
    # scikit-learn is imported only by those who use the selector.
    if name == "DescriptorSelector":
        from .selector import DescriptorSelector

        return DescriptorSelector
    raise AttributeError(f"module 'descpipe' has no attribute {name!r}")


__all__ = ["run", "Result", "DescriptorSelector", "options", "config_yaml", "Error",
           "InvalidInputError", "IoError", "NumericalError", "CudaError", "InternalError",
           "__version__", "DUCKDB_VERSION"]
