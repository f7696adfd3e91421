#!/usr/bin/env bash
# Packs a CUDA build of descpipe for a GPU machine that cannot build it (no Debian packages, no
# network: the device machines lent to some sessions). Run here, on a machine where
# `make cuda-build` works; scripts/gpu-check.sh on the GPU machine then uses the bundle.
#   bash scripts/gpu-bundle.sh            -> .gpu-bundle/descpipe-gpu.tar.xz (ignored by git)
# The bundle holds the programs (CLI, GPU tests, GPU benchmark, planted-data generator and its
# recovery check), the shared libraries they load except the C/C++ runtime and CUDA's own
# libraries (the GPU machine's CUDA provides those), and the shared real table.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${BUILD_DIR:-build}-cuda
make --no-print-directory cuda-build BUILD_DIR="${BUILD_DIR:-build}"
[[ -x "$build/descpipe" ]] || { echo "gpu-bundle: no CUDA build in $build (is nvcc installed?)" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/data"
programs=("$build/descpipe" "$build/tests/descpipe_gpu_tests" "$build/descpipe_gpu_bench"
          "$build/descpipe_make_data" "$build/descpipe_check_recovery")
for program in "${programs[@]}"; do
  cp "$program" "$stage/bin/"
done
# Libraries: what ldd resolves, less the system's C/C++ runtime and CUDA's libraries.
for program in "${programs[@]}"; do
  ldd "$program" | awk '/=> \//{print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*) ;;
    libcu*|libnvJitLink*|libnvrtc*|libcuda.so*) ;;
    *) cp -L "$lib" "$stage/lib/" ;;
  esac
done
if [[ -f ../shared/data/nci5k_rdkit.parquet ]]; then
  cp ../shared/data/nci5k_rdkit.parquet "$stage/data/"
fi
{ git rev-parse HEAD | tr -d '\n'; git diff --quiet HEAD -- src include tests bench cli CMakeLists.txt || printf ' +uncommitted'; echo; } \
  > "$stage/COMMIT" 2>/dev/null || true
mkdir -p "$root/.gpu-bundle"
tar -C "$stage" -cf - . | xz -T0 -6 > "$root/.gpu-bundle/descpipe-gpu.tar.xz.tmp"
mv "$root/.gpu-bundle/descpipe-gpu.tar.xz.tmp" "$root/.gpu-bundle/descpipe-gpu.tar.xz"
echo "gpu-bundle: .gpu-bundle/descpipe-gpu.tar.xz ($(du -h .gpu-bundle/descpipe-gpu.tar.xz | cut -f1)):" \
     "$(ls "$stage/bin" | tr '\n' ' ')+ $(ls "$stage/lib" | wc -l) libraries"
