#!/usr/bin/python3
"""descpipe's Python package on a DataFrame in memory (bench/python_fit.sh drives it).

    python_fit.py prepare CSV PICKLE     read_csv (exact doubles) once, pickle the DataFrame
    python_fit.py fit PICKLE OUT         DescriptorSelector().fit on the DataFrame: wall time,
                                         peak RSS over the process before fit, final count
    python_fit.py interrupt PICKLE OUT [DELAYS]
                                         Ctrl-C latency: SIGINT at DELAYS (default 2,6,12,20,
                                         30,45) seconds into a run, one run each

The fit process reads its memory from /proc/self/status: VmRSS just before fit (Python, pandas,
scikit-learn and the DataFrame) and VmHWM, the peak, reset before fit through
/proc/self/clear_refs, so "peak over the DataFrame" is what fitting adds.
"""
import ctypes
import os
import pickle
import signal
import sys
import threading
import time

import numpy as np
import pandas as pd


def status_kib(field):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def prepare(csv, target):
    frame = pd.read_csv(csv, float_precision="round_trip", dtype={"mol_id": str, "smiles": str})
    with open(target + ".tmp", "wb") as handle:
        pickle.dump(frame, handle, protocol=5)
    os.replace(target + ".tmp", target)
    gigabytes = frame.memory_usage().sum() / 1e9
    print(f"prepared {frame.shape[0]} x {frame.shape[1]}: {gigabytes:.2f} GB")


def load(path):
    with open(path, "rb") as handle:
        return pickle.load(handle)


def fit(path, out):
    import descpipe

    frame = load(path)
    usage = frame.memory_usage(index=False)  # no copy (select_dtypes would copy the columns)
    data_gb = sum(usage[c] for c in frame.columns if frame[c].dtype.kind in "fiub") / 1e9
    # Freed heap memory still counted in RSS (the pickle's buffers) would let fit reuse it
    # unseen: give it back first, so the baseline is what the process really holds.
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    before = status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM to the current RSS
    start = time.perf_counter()
    selector = descpipe.DescriptorSelector(metadata_columns=["mol_id", "smiles"],
                                           output_dir=out).fit(frame)
    seconds = time.perf_counter() - start
    peak = status_kib("VmHWM")
    print(f"fit {seconds:.2f} s, final {len(selector.final_)}; numeric data {data_gb:.2f} GB; "
          f"RSS before fit {before / 1e6:.2f} GB, peak during fit {peak / 1e6:.2f} GB, "
          f"added by fit {(peak - before) / 1e6:.2f} GB")
    print("final " + " ".join(selector.final_))


def interrupt(path, out, delays="2,6,12,20,30,45"):
    import descpipe

    frame = load(path)
    for delay in [float(d) for d in delays.split(",")]:
        sent = {}

        def fire():
            sent["at"] = time.monotonic()
            os.kill(os.getpid(), signal.SIGINT)

        timer = threading.Timer(delay, fire)
        timer.start()
        try:
            descpipe.run(frame, out=out, quiet=True, resume=False,
                         metadata_columns=["mol_id", "smiles"])
            timer.cancel()
            print(f"SIGINT at {delay} s: the run had finished")
            break
        except KeyboardInterrupt:
            latency = time.monotonic() - sent["at"]
            print(f"SIGINT at {delay} s: KeyboardInterrupt {latency:.2f} s later")


if __name__ == "__main__":
    {"prepare": prepare, "fit": fit, "interrupt": interrupt}[sys.argv[1]](*sys.argv[2:])
