#!/usr/bin/env bash
# Every check of the CUDA backend that needs a GPU, in one run (docs/GPU.md):
#   bash scripts/gpu-check.sh [ROWS] [COLS]        default: 1000000 2000
#  1. Programs: .gpu-bundle/descpipe-gpu.tar.xz when present (scripts/gpu-bundle.sh made it on a
#     machine with the build dependencies), else a CUDA build here (make cuda-build).
#  2. The GPU tests (GPU against CPU: ranks, Spearman/Pearson, HSIC/RDC, VIF, whole runs on the
#     real table and planted data), then compute-sanitizer memcheck with leak check over the kernel
#     tests.
#  3. Kernels: Pass 2's Gram step against cuBLAS alone and against the CPU, and the rank
#     transform (descpipe_gpu_bench at ROWS x COLS).
#  4. The whole pipeline on a planted ROWS x COLS table generated here: --device cuda, then
#     --device cpu; pass times, and the final lists compared.
#  5. A short table of the results, last.
# Environment: GPU_CHECK_SKIP: steps to leave out, comma-separated (tests, sanitizer, kernels,
# cuda, cpu: e.g. a second call on the same machine that only adds the CPU run); GPU_CHECK_OUT (default gpu-check-out): logs and results, also copied to $OUT when
# that is set; GPU_CHECK_BUDGET_S (default 560): later steps get only what is left (each under
# `timeout`), so the table always prints; GPU_CHECK_DATA: where the planted table goes (default
# /tmp/descpipe-gpu-check).
set -uo pipefail
export PATH="$PATH:/usr/local/cuda/bin"  # nvcc, compute-sanitizer
cd "$(dirname "$0")/.."
root=$(pwd)
rows=${1:-1000000}
cols=${2:-2000}
out=${GPU_CHECK_OUT:-$root/gpu-check-out}
data=${GPU_CHECK_DATA:-/tmp/descpipe-gpu-check}
budget=${GPU_CHECK_BUDGET_S:-560}
started=$(date +%s)
mkdir -p "$out" "$data"
skip=",${GPU_CHECK_SKIP:-},"
skipped() { [[ $skip == *",$1,"* ]]; }
declare -a table=()
note() { table+=("$(printf '%-34s %s' "$1" "$2")"); }
left() { echo $(( budget - ($(date +%s) - started) )); }
# Runs a step under the time that is left (minus `reserve` seconds kept for later steps).
step() {
  local name=$1 reserve=$2; shift 2
  local limit=$(( $(left) - reserve ))
  if (( limit < 20 )); then
    echo "== $name: skipped, $(left) s of the budget left" | tee -a "$out/log.txt"
    return 124
  fi
  echo "== $name (at most $limit s)" | tee -a "$out/log.txt"
  local t0=$(date +%s%N)
  timeout --kill-after=10 "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  local tenths=$(( ($(date +%s%N) - t0) / 100000000 ))
  printf '   rc %d, %d.%d s\n' "$rc" $(( tenths / 10 )) $(( tenths % 10 )) | tee -a "$out/log.txt"
  tail -n 5 "$out/$name.log" | sed 's/^/   | /'
  return $rc
}
finish() {
  {
    echo
    echo "== gpu-check: $rows x $cols, $(date -u +%Y-%m-%dT%H:%MZ), $(( $(date +%s) - started )) s"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /'
    for line in "${table[@]}"; do echo "$line"; done
  } | tee -a "$out/summary.txt"
  if [[ -n "${OUT:-}" && -d "${OUT:-}" ]]; then
    cp "$out"/*.txt "$out"/*.log "$OUT"/ 2>/dev/null
  fi
}
trap finish EXIT

# ---- 1. programs -----------------------------------------------------------------------------
if [[ -f .gpu-bundle/descpipe-gpu.tar.xz ]]; then
  bundle=/tmp/descpipe-gpu-bundle
  rm -rf "$bundle" && mkdir -p "$bundle" && tar -C "$bundle" -xJf .gpu-bundle/descpipe-gpu.tar.xz
  bin=$bundle/bin
  cuda_lib=$(dirname "$(ls /usr/local/cuda/lib64/libcublas.so.* 2>/dev/null | head -1)" 2>/dev/null)
  if [[ -z "$cuda_lib" || "$cuda_lib" == "." ]]; then
    cuda_lib=$(dirname "$(find / -name 'libcublas.so.1*' -not -path '*/proc/*' 2>/dev/null | head -1)")
  fi
  export LD_LIBRARY_PATH="$bundle/lib:${cuda_lib}:${LD_LIBRARY_PATH:-}"
  export DESCPIPE_TEST_CLI=$bin/descpipe DESCPIPE_TEST_MAKE_DATA=$bin/descpipe_make_data
  export DESCPIPE_TEST_SHARED_DATA=$bundle/data
  head=$(git rev-parse HEAD 2>/dev/null || true)
  if [[ -n "$head" && "$head" != "$(cut -c1-40 "$bundle/COMMIT" 2>/dev/null)" ]]; then
    note "WARNING" "the bundle was built from another commit than this checkout ($head): rerun scripts/gpu-bundle.sh"
  fi
  note "programs" "bundle of commit $(cut -c1-10 "$bundle/COMMIT" 2>/dev/null)$(grep -o " +uncommitted" "$bundle/COMMIT" 2>/dev/null) (CUDA libraries: $cuda_lib)"
else
  if ! step build 300 make --no-print-directory cuda-build; then
    note "programs" "CUDA build FAILED (see build.log)"
    exit 1
  fi
  bin=$root/build-cuda
  [[ -x $bin/tests/descpipe_gpu_tests ]] && cp "$bin/tests/descpipe_gpu_tests" "$bin/descpipe_gpu_tests"
  note "programs" "built here with CUDA"
fi
gpu_tests=$bin/descpipe_gpu_tests
[[ -x $gpu_tests ]] || gpu_tests=$bin/tests/descpipe_gpu_tests

# ---- 2. tests --------------------------------------------------------------------------------
if skipped tests; then
  note "GPU tests" "skipped (GPU_CHECK_SKIP)"
elif step gpu-tests 240 "$gpu_tests" --gtest_color=no; then
  note "GPU tests" "$(grep -c '^\[       OK \]' "$out/gpu-tests.log") passed, $(grep -c '^\[  SKIPPED \]' "$out/gpu-tests.log" | awk '{print int($1/2)}') skipped"
else
  note "GPU tests" "FAILED: $(grep '^\[  FAILED  \]' "$out/gpu-tests.log" | head -5 | sed 's/\[  FAILED  \] //' | tr '\n' ' ')"
fi
grep '\[ measured \]' "$out/gpu-tests.log" | sed 's/^\[ measured \] /  /' >> "$out/measured.txt" 2>/dev/null
if skipped sanitizer; then
  note "compute-sanitizer" "skipped (GPU_CHECK_SKIP)"
elif command -v compute-sanitizer > /dev/null; then
  kernels='GpuTest.*-GpuTest.*Table*:GpuTest.*Storage*'
  if step sanitizer 200 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 \
       "$gpu_tests" --gtest_filter="$kernels" --gtest_color=no; then
    note "compute-sanitizer memcheck+leaks" "clean ($(grep -c '^\[       OK \]' "$out/sanitizer.log") tests)"
  else
    note "compute-sanitizer memcheck+leaks" "FAILED or stopped (sanitizer.log)"
  fi
else
  note "compute-sanitizer" "not found"
fi

# ---- 3. kernels ------------------------------------------------------------------------------
if skipped kernels; then
  note "kernels" "skipped (GPU_CHECK_SKIP)"
elif step kernels 170 "$bin/descpipe_gpu_bench" "$rows" "$cols" --missing 0.1; then
  while IFS= read -r line; do note "  ${line%%:*}" "${line#*: }"; done < <(grep -E '^(gram|ranks)' "$out/kernels.log")
else
  note "kernels" "FAILED or stopped (kernels.log)"
fi

# ---- 4. whole pipeline -----------------------------------------------------------------------
planted=$data/planted_${rows}x${cols}.parquet
if [[ ! -f $planted ]]; then
  step generate 150 "$bin/descpipe_make_data" "$rows" "$cols" "$planted" || note "planted data" "generation FAILED or stopped"
fi
summary() {  # pass seconds from a run's manifest
  python3 - "$1/run_manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
passes = {p["pass"]: p["seconds"] for p in m["passes"]}
print(" ".join(f"{k} {v:.1f}s" for k, v in passes.items()), f"| total {sum(passes.values()):.1f}s")
EOF
}
if [[ -f $planted ]]; then
  for device in cuda cpu; do
    if skipped "$device"; then
      note "pipeline --device $device" "skipped (GPU_CHECK_SKIP)"
      continue
    fi
    rm -rf "$data/out_$device"
    reserve=$([[ $device == cuda ]] && echo 30 || echo 5)
    if step "run-$device" "$reserve" "$bin/descpipe" run "$planted" -o "$data/out_$device" --device "$device" -v; then
      note "pipeline --device $device" "$(summary "$data/out_$device")"
    else
      note "pipeline --device $device" "FAILED or stopped after $(( $(date +%s) - started )) s of the run (run-$device.log)"
    fi
  done
  if [[ -f $data/out_cpu/final_descriptors.txt && -f $data/out_cuda/final_descriptors.txt ]]; then
    same=yes
    for f in pass1_columns.txt pass2_columns.txt pass3_columns.txt pass4_columns.txt final_descriptors.txt; do
      cmp -s "$data/out_cpu/$f" "$data/out_cuda/$f" || same="no ($f differs)"
    done
    note "final lists GPU == CPU" "$same"
    python3 - "$data/out_cpu" "$data/out_cuda" <<'EOF' >> "$out/measured.txt" 2>&1
import sys
try:
    import numpy as np
except ImportError:
    sys.exit(0)
for name in ["pass2_spearman_matrix.npy", "pass4_hsic_matrix.npy", "pass4_rdc_matrix.npy"]:
    a, b = np.load(f"{sys.argv[1]}/{name}"), np.load(f"{sys.argv[2]}/{name}")
    print(f"  planted {name}: max |gpu - cpu| = {np.nanmax(np.abs(a - b)):.3g}")
EOF
    if [[ -x $bin/descpipe_check_recovery && -f ${planted%.parquet}.truth.json ]]; then
      "$bin/descpipe_check_recovery" "${planted%.parquet}.truth.json" "$data/out_cuda" > "$out/recovery.log" 2>&1
      note "planted truth, GPU run" "$(tail -n 1 "$out/recovery.log")"
    fi
  fi
fi
while IFS= read -r line; do note "measured" "$line"; done < "$out/measured.txt" 2>/dev/null
