#!/usr/bin/env bash
# The Python package as users install it (docs/PYTHON.md, "Install"): a wheel made by
# `python3 -m build --wheel --no-isolation` runs in a fresh venv (libduckdb.so inside, RUNPATH
# $ORIGIN), and `pip install --no-build-isolation .` from the checkout works in another.
# Both reuse the CMake build directory BUILD_DIR (DESCPIPE_CMAKE_BUILD_DIR) instead of compiling
# the library again; the full CMake configure-and-build path is the same setup.py without it.
#   packaging_test.sh PYTHON BUILD_DIR WORK_DIR
set -euo pipefail
# A step that fails without output of its own (grep -q, a pipeline) still says which it was.
trap 'echo "packaging_test.sh: line ${LINENO} failed (status $?): ${BASH_COMMAND}" >&2' ERR
python="$1"
build_dir="$(cd "$2" && pwd)"
work="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rm -rf "${work}"
mkdir -p "${work}"
export DESCPIPE_CMAKE_BUILD_DIR="${build_dir}" PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# The checks each venv runs, away from the checkout (nothing found through the source tree).
cat > "${work}/check.py" <<'PY'
import os, subprocess, sys
import numpy as np, pandas as pd
import descpipe
package = os.path.dirname(descpipe.__file__)
assert package.startswith(sys.prefix), (package, sys.prefix)
module = [f for f in os.listdir(package) if f.startswith("_descpipe")][0]
assert os.path.isfile(os.path.join(package, "libduckdb.so"))
dynamic = subprocess.run(["readelf", "-d", os.path.join(package, module)], capture_output=True,
                         text=True, check=True).stdout
assert "[$ORIGIN]" in dynamic and "third_party" not in dynamic, dynamic
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(400, 5)), columns=list("abcde"))
frame["f"] = frame["a"] * 3.0
result = descpipe.run(frame, out=sys.argv[1], quiet=True)
assert "f" not in result.final or "a" not in result.final, result.final
selected = descpipe.DescriptorSelector().fit(frame).get_feature_names_out()
assert list(selected) == result.final, (selected, result.final)
print("ok", descpipe.__version__, package)
PY

echo "== wheel: python3 -m build --wheel --no-isolation"
(cd "${root}" && "${python}" -m build --wheel --no-isolation --outdir "${work}/dist" . >"${work}/build.log" 2>&1) \
  || { tail -30 "${work}/build.log"; exit 1; }
wheel="$(ls "${work}"/dist/descpipe-*.whl)"
unzip -l "${wheel}" | grep -q "descpipe/libduckdb.so"
"${python}" -m venv --system-site-packages "${work}/venv-wheel"
"${work}/venv-wheel/bin/pip" install -q "${wheel}"
(cd "${work}" && "${work}/venv-wheel/bin/python" check.py "${work}/out-wheel")

echo "== pip install --no-build-isolation . from the checkout"
"${python}" -m venv --system-site-packages "${work}/venv-pip"
(cd "${root}" && "${work}/venv-pip/bin/pip" install -q --no-build-isolation .)
(cd "${work}" && "${work}/venv-pip/bin/python" check.py "${work}/out-pip")
