"""descpipe.run: what `descpipe run` does, on files or on a table in memory."""

import json
import math
import numbers
import os
import sys

import numpy as np

from . import _descpipe
from .errors import InvalidInputError
from .result import Result

def option_text(name, value):
    """The YAML text of one option's value, as `--set name=TEXT` would take it."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise InvalidInputError(f"option {name}: {value} is not a finite number")
        return repr(value)
    if isinstance(value, (str, os.PathLike)):
        return json.dumps(os.fspath(value))  # JSON strings are YAML: quotes, colons, '#' survive
    if isinstance(value, (list, tuple)):  # names (or percentiles): a YAML list
        items = []
        for item in value:
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, (str, numbers.Real)):
                raise InvalidInputError(
                    f"option {name}: list items must be names or numbers, got {item!r}")
            items.append(item if isinstance(item, str) else float(item)
                         if not isinstance(item, numbers.Integral) else int(item))
        return json.dumps(items)
    raise InvalidInputError(
        f"option {name}: cannot use a value of type {type(value).__name__} ({value!r})")


def config_file_of(config):
    """The YAML file `config` names ("" for none, or for a dict of options)."""
    return "" if config is None or isinstance(config, dict) else os.fspath(config)


def overrides_of(config, options):
    """`key=value` assignments from a config dict and keyword options (None: the default)."""
    assignments = []
    for source in (config if isinstance(config, dict) else {}, options):
        for name, value in source.items():
            if value is None:
                continue
            if isinstance(value, dict):  # a YAML section given as a dict: its keys are options
                for inner, inner_value in value.items():
                    if inner_value is not None:
                        assignments.append(f"{inner}={option_text(inner, inner_value)}")
                continue
            assignments.append(f"{name}={option_text(name, value)}")
    return assignments


def _text_values(values):
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            for v in values]


def _array_column(name, array):
    """(name, values, missing) for one 1-D NumPy array: numeric arrays as they lie."""
    array = np.asarray(array)
    if array.dtype.kind in "fiub":
        unsupported_float = array.dtype.kind == "f" and array.itemsize not in (4, 8)
        if array.dtype.byteorder == ">" or unsupported_float:
            array = array.astype(np.float64)
        return (name, array, None)
    return (name, _text_values(array.tolist()), None)


def _series_column(name, series):
    """(name, values, missing) of a pandas Series; float64 columns are not copied."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        return _array_column(name, series.to_numpy(copy=False))
    values = series.array
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and hasattr(values, "_mask") \
            and hasattr(values, "_data"):  # Int64, Float64, boolean: values and a mask
        data = np.asarray(values._data)
        mask = np.ascontiguousarray(np.asarray(values._mask), dtype=np.uint8)
        return (name, data, mask if mask.any() else None)
    return (name, _text_values(series.tolist()), None)


class PreparedColumns:
    """Columns already in table_columns' form (DescriptorSelector.fit appends y to them)."""

    def __init__(self, n_rows, data):
        self.n_rows = n_rows
        self.data = data


def table_columns(data, columns=None):
    """(name, n_rows, [(column, values, missing)]) of a DataFrame, a 2-D ndarray (with `columns`
    or x0, x1, ...), a structured array or a dict of 1-D arrays."""
    import pandas as pd

    if isinstance(data, PreparedColumns):
        return (data.n_rows, data.data)
    if isinstance(data, pd.DataFrame):
        if columns is not None:
            raise InvalidInputError("columns= names an ndarray's columns; a DataFrame has its own")
        names = [str(c) for c in data.columns]
        return (len(data), [_series_column(names[i], data.iloc[:, i]) for i in range(len(names))])
    if isinstance(data, dict):
        items = [(str(k), np.asarray(v)) for k, v in data.items()]
        rows = {len(v) for _, v in items}
        if len(rows) > 1:
            raise InvalidInputError(f"the dict's columns differ in length: {sorted(rows)}")
        return (rows.pop() if rows else 0, [_array_column(k, v) for k, v in items])
    array = np.asarray(data)
    if array.dtype.names is not None:
        return (len(array), [_array_column(n, array[n]) for n in array.dtype.names])
    if array.ndim != 2:
        raise InvalidInputError(
            f"an in-memory table must be 2-D (rows x columns), got an array of shape "
            f"{array.shape}")
    if columns is None:
        columns = [f"x{j}" for j in range(array.shape[1])]
    columns = [str(c) for c in columns]
    if len(columns) != array.shape[1]:
        raise InvalidInputError(
            f"columns= has {len(columns)} names for an array of {array.shape[1]} columns")
    return (array.shape[0], [_array_column(columns[j], array[:, j]) for j in range(len(columns))])


def _is_table(inputs):
    if isinstance(inputs, (str, os.PathLike)):
        return False
    if isinstance(inputs, (list, tuple)):
        return not all(isinstance(i, (str, os.PathLike)) for i in inputs)
    return inputs is not None


def run(inputs=None, out=None, config=None, *, columns=None, name=None, until=None, resume=True,
        wait=False, report=True, progress=True, verbose=False, quiet=False, **options):
    """Runs the pipeline and returns its Result (the outputs in `out`, as `descpipe run` writes
    them).

    inputs: a path, directory or glob (or a list of them), or a table in memory: a pandas
        DataFrame (numeric columns are descriptors, the others metadata, as for a file), a 2-D
        NumPy array (names from `columns`, else x0, x1, ...), a structured array or a dict of
        1-D arrays. Float64 columns are read where they lie, never copied. None: the config's
        inputs.
    out: the output directory (or output_dir in the config).
    config: a YAML file's path, or a dict of options (sections allowed); keyword options are
        applied after it. Options have the registry's names (docs/CONFIG.md), validated as for
        `--set`; None leaves the default.
    until: "pass1" .. "pass4": stop after that pass.
    resume: reuse the passes an earlier run in `out` can give (False: --no-resume).
    wait: when another run holds `out`, wait for it instead of failing.
    report: write `out`/report.html, the run's HTML report (docs/REPORT.md), as `descpipe run`
        does (False: --no-report).
    progress: True (a live line on a terminal, else a log line every 30 s), False, or a
        callable progress(pass_name, done, total) called on this thread (total <= 0: unknown).
    verbose / quiet: log level of the messages on stderr (debug / warnings only).

    Ctrl-C stops the run within about a second with KeyboardInterrupt; what was complete stays
    in `out` and the next run resumes from it. The GIL is released while the run computes.
    """
    config_file = config_file_of(config)
    overrides = overrides_of(config, options)
    if until is not None and until not in _descpipe.stage_names():
        raise InvalidInputError(
            f"until={until!r}: expected one of {', '.join(_descpipe.stage_names())}")
    log_level = "debug" if verbose else "warning" if quiet else "info"
    if callable(progress):
        style, callback = "none", progress
    elif progress and not quiet:
        style, callback = ("live" if _descpipe.stderr_is_terminal() else "log"), None
    else:
        style, callback = "none", None
    paths, table, n_rows = [], None, 0
    table_name = name or "DataFrame"
    if _is_table(inputs):
        n_rows, table = table_columns(inputs, columns)
        if name is None and not hasattr(inputs, "columns"):
            table_name = "array"
    elif inputs is not None:
        paths = [os.fspath(p) for p in ([inputs] if isinstance(inputs, (str, os.PathLike))
                                        else inputs)]
    sys.stderr.flush()
    result = _descpipe.run(paths, table, table_name, n_rows, config_file, overrides,
                           os.fspath(out) if out is not None else "", until or "", resume, wait,
                           log_level, style, callback)
    if report:
        try:
            _descpipe.write_report(result["out"], "", wait)
        except Exception:
            sys.stderr.write(f"the run's results are complete in '{result['out']}'; only its "
                             "report.html failed\n")
            raise
    return Result(result["out"], run=result)


def options():
    """Every option: a DataFrame with name, pass (-1: none), default, meaning and note."""
    import pandas as pd

    rows = _descpipe.options()
    frame = pd.DataFrame(rows).rename(columns={"group": "pass", "doc": "meaning"})
    return frame.set_index("name")


def config_yaml(config=None, **options):
    """The effective configuration as YAML (what `descpipe config` prints), options validated."""
    return _descpipe.config_yaml(config_file_of(config), overrides_of(config, options))
