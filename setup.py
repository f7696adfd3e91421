"""Builds descpipe's Python extension through CMake (docs/PYTHON.md, "Building").

setuptools' build_ext configures this checkout with CMake (the library, no tests, no CUDA),
builds the target descpipe_python and installs it with libduckdb.so next to it (the module's
RUNPATH is $ORIGIN), so an installed package or a wheel needs nothing from the build tree.

Environment:
  DESCPIPE_CMAKE_BUILD_DIR  an existing CMake build directory (e.g. build, after `make build`):
                            only the module target is built there (no configure), saving the
                            library's compilation; the test of the packaging uses it.
  DUCKDB_ROOT               a DuckDB install (lib/libduckdb.so, include/duckdb.h); otherwise
                            scripts/bootstrap.sh fetches DuckDB into third_party/duckdb.
  CMAKE_BUILD_PARALLEL_LEVEL  compile jobs (default: the CPUs).
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(descpipe VERSION ([0-9.]+)", text).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        existing = os.environ.get("DESCPIPE_CMAKE_BUILD_DIR")
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        if existing:
            build_dir = pathlib.Path(existing).resolve()
        else:
            build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
            duckdb = ROOT / "third_party" / "duckdb" / "lib" / "libduckdb.so"
            if not os.environ.get("DUCKDB_ROOT") and not duckdb.is_file():
                subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh")], check=True)
            subprocess.run(
                ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                 "-DDESCPIPE_BUILD_TESTS=OFF", "-DDESCPIPE_ENABLE_CUDA=OFF",
                 "-DDESCPIPE_BUILD_PYTHON=ON", f"-DPython_EXECUTABLE={sys.executable}"],
                check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "descpipe_python",
                        "-j", jobs], check=True)
        stage = pathlib.Path(self.build_temp).resolve() / "stage"
        shutil.rmtree(stage, ignore_errors=True)
        subprocess.run(["cmake", "--install", str(build_dir), "--component", "python",
                        "--prefix", str(stage)], check=True)
        target = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        modules = list((stage / "descpipe").glob("_descpipe*.so"))
        if len(modules) != 1:
            raise RuntimeError(f"expected one _descpipe module in {stage}, found {modules}")
        shutil.copy2(modules[0], target)
        shutil.copy2(stage / "descpipe" / "libduckdb.so", target.parent / "libduckdb.so")


setup(
    version=project_version(),
    ext_modules=[Extension("descpipe._descpipe", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
)
