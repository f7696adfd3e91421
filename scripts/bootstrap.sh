#!/usr/bin/env bash
# Installs everything descpipe needs to build and test on Debian 12:
#   - Debian packages (compiler, BLAS/LAPACK, Eigen, igraph, yaml-cpp, json, CLI11, spdlog, tests,
#     and for the Python package: pybind11, Python's headers, pytest, venv, setuptools, build)
#   - DuckDB 1.4.4 (shared library + C header) from the npm registry into third_party/duckdb
#   - Apache ECharts (embedded into every HTML report) from the npm registry into
#     third_party/echarts, and chrome-remote-interface (the report's browser tests drive Debian's
#     chromium with it) into third_party/node
# Idempotent: does nothing that is already done. Safe to run as root or via sudo.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
duckdb_dir="${here}/third_party/duckdb"
duckdb_version="1.4.4"
duckdb_bindings_pkg="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
duckdb_header_pkg="duckdb@1.4.4"
echarts_dir="${here}/third_party/echarts"
echarts_version="5.6.0"
node_dir="${here}/third_party/node"
cdp_pkg="chrome-remote-interface@0.34.0"

apt_packages=(
  build-essential cmake pkg-config bc time clang-format
  libopenblas-dev liblapack-dev libeigen3-dev
  libigraph-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev libfmt-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nodejs npm
  python3-pandas python3-numpy python3-scipy python3-sklearn python3-statsmodels
  python3-dev pybind11-dev python3-pytest python3-venv python3-setuptools python3-wheel
  python3-build
  chromium
)

missing=()
for pkg in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("${pkg}")
  fi
done
# npm may come from a non-Debian install of Node.js; accept it if the command works.
if command -v npm >/dev/null 2>&1; then
  filtered=()
  for pkg in "${missing[@]+"${missing[@]}"}"; do
    [[ "${pkg}" == "npm" || "${pkg}" == "nodejs" ]] || filtered+=("${pkg}")
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]} > 0)); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  if [[ "$(id -u)" != "0" ]]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# DuckDB: library from the official node bindings package, header from the duckdb package.
if [[ -n "${DUCKDB_ROOT:-}" ]]; then
  echo "bootstrap: using DUCKDB_ROOT=${DUCKDB_ROOT}"
elif [[ -f "${duckdb_dir}/lib/libduckdb.so" && -f "${duckdb_dir}/include/duckdb.h" \
        && "$(cat "${duckdb_dir}/VERSION" 2>/dev/null)" == "${duckdb_version}" ]]; then
  :
else
  echo "bootstrap: fetching DuckDB ${duckdb_version} from the npm registry"
  tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp}"' EXIT
  (cd "${tmp}" && npm pack --silent "${duckdb_bindings_pkg}" "${duckdb_header_pkg}" >/dev/null)
  mkdir -p "${tmp}/bindings" "${tmp}/header"
  tar -xzf "${tmp}"/duckdb-node-bindings-linux-x64-*.tgz -C "${tmp}/bindings"
  tar -xzf "${tmp}"/duckdb-1.4.4.tgz -C "${tmp}/header" package/src/duckdb/src/include/duckdb.h
  lib="$(find "${tmp}/bindings" -name libduckdb.so | head -n 1)"
  if [[ -z "${lib}" ]]; then
    echo "bootstrap: libduckdb.so not found in ${duckdb_bindings_pkg}" >&2
    exit 1
  fi
  rm -rf "${duckdb_dir}"
  mkdir -p "${duckdb_dir}/lib" "${duckdb_dir}/include"
  cp "${lib}" "${duckdb_dir}/lib/libduckdb.so"
  cp "${tmp}/header/package/src/duckdb/src/include/duckdb.h" "${duckdb_dir}/include/duckdb.h"
  echo "${duckdb_version}" > "${duckdb_dir}/VERSION"
fi

# Apache ECharts: the minified bundle, its license and notice (the report embeds all three).
if [[ -f "${echarts_dir}/echarts.min.js" && "$(cat "${echarts_dir}/VERSION" 2>/dev/null)" == "${echarts_version}" ]]; then
  :
else
  echo "bootstrap: fetching Apache ECharts ${echarts_version} from the npm registry"
  tmp_echarts="$(mktemp -d)"
  (cd "${tmp_echarts}" && npm pack --silent "echarts@${echarts_version}" >/dev/null)
  tar -xzf "${tmp_echarts}/echarts-${echarts_version}.tgz" -C "${tmp_echarts}" \
    package/dist/echarts.min.js package/LICENSE package/NOTICE
  rm -rf "${echarts_dir}"
  mkdir -p "${echarts_dir}"
  cp "${tmp_echarts}/package/dist/echarts.min.js" "${tmp_echarts}/package/LICENSE" \
    "${tmp_echarts}/package/NOTICE" "${echarts_dir}/"
  echo "${echarts_version}" > "${echarts_dir}/VERSION"
  rm -rf "${tmp_echarts}"
fi

# The browser tests' driver for chromium's DevTools protocol (tests/report/).
if [[ ! -f "${node_dir}/node_modules/chrome-remote-interface/package.json" \
      || "$(cat "${node_dir}/VERSION" 2>/dev/null)" != "${cdp_pkg}" ]]; then
  echo "bootstrap: installing ${cdp_pkg} from the npm registry"
  rm -rf "${node_dir}"
  mkdir -p "${node_dir}"
  npm install --silent --no-audit --no-fund --prefix "${node_dir}" "${cdp_pkg}" >/dev/null
  echo "${cdp_pkg}" > "${node_dir}/VERSION"
fi
