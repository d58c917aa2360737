#!/usr/bin/env bash
# Checks llmrca's GPU fault parts on a machine with an NVIDIA GPU, driver and CUDA toolkit:
#   1. builds the standalone llmrca-gpu-chaos with nvcc (CMake when present, else nvcc and g++
#      directly), and the fake NVML;
#   2. `info`: the devices, power limits, draw and utilisation, through the real NVML;
#   3. `power-cap --dry-run` on the real GPU (reads only), and an out-of-range wattage refused;
#   4. a real power-cap run with restore, and one ended by SIGTERM, against the FAKE NVML only;
#   5. the CUDA load: a small fixed GPU job (`load --probe`) timed alone, then again while
#      `load` keeps the GPU busy at 100 % for --seconds, with NVML's utilisation sampled; prints
#      the achieved busy share, SM utilisation and the probe's slowdown ratio; then 50 % load.
# It NEVER changes a real GPU's power limit, clocks or MIG mode, and never resets a GPU: every
# power-cap without --dry-run names the fake NVML explicitly (see run_tool below).
#
# usage: src/chaos/gpu/gpu-check.sh [--device I] [--seconds S] [--build-dir DIR]
# env:   NVCC (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc), CXX (default g++),
#        CUDA_ARCH (default native: the GPU at hand), GPU_CHECK_NO_CMAKE=1 (nvcc and g++ only)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src_root=$(cd "$here/../.." && pwd)  # the folder holding chaos/gpu/, for the includes
device=0
seconds=5
build_dir="$(cd "$here/../../.." && pwd)/build-gpu-check"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }
fail() { echo "gpu-check: FAILED: $*" >&2; exit 1; }

nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[[ -x "$nvcc" ]] || fail "no nvcc (set NVCC=/path/to/nvcc)"
cuda_root=$(dirname "$(dirname "$(readlink -f "$nvcc")")")
cuda_arch=${CUDA_ARCH:-native}
cxx=${CXX:-g++}
tool="$build_dir/llmrca-gpu-chaos"
fake="$build_dir/libllmrca_fake_nvml.so"
work=$(mktemp -d /tmp/llmrca-gpu-check.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Runs the tool with a time limit. Refuses any power-cap that could reach a real GPU: without
# --dry-run it must name the fake NVML.
run_tool() {
  local args=" $* "
  if [[ "$args" == *" power-cap "* && "$args" != *" --dry-run "* &&
        "$args" != *" --nvml-library $fake "* ]]; then
    fail "refusing to run a power cap on a real GPU: $*"
  fi
  timeout --signal=TERM $((${seconds%.*} + 120)) "$tool" "$@"
}

# The number after "key": in a one-line JSON text (first occurrence).
json_number() { sed -n "s/.*\"$2\":\\(-\\{0,1\\}[0-9.eE+-]*\\).*/\\1/p" <<<"$1" | head -n 1; }

say "build ($("$nvcc" --version | tail -n 1), CUDA architecture $cuda_arch)"
built=""
if command -v cmake >/dev/null 2>&1 && [[ -z "${GPU_CHECK_NO_CMAKE:-}" ]]; then
  # Warnings are shown, not fatal: the host's compiler may be newer than the one CI uses.
  if cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLLMRCA_WITH_CUDA=ON \
       -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="$cuda_arch" \
       >"$work/cmake.log" 2>&1 &&
     cmake --build "$build_dir" -j "$(nproc)" >"$work/build.log" 2>&1; then
    built=cmake
    grep -A3 "warning:" "$work/build.log" || echo "no compiler warnings"
  else
    tail -n 30 "$work/cmake.log" "$work/build.log" 2>/dev/null || true
    echo "gpu-check: the CMake build failed; building with nvcc and $cxx directly"
  fi
fi
if [[ -z "$built" ]]; then
  mkdir -p "$build_dir"
  nvcc_arch=$cuda_arch  # CMake's "90" is nvcc's "sm_90"
  [[ "$cuda_arch" =~ ^[0-9]+$ ]] && nvcc_arch="sm_$cuda_arch"
  "$nvcc" -std=c++17 -O2 -arch="$nvcc_arch" -Xcompiler=-Wall,-Wextra -I"$src_root" \
    -c "$here/gpu_load.cu" -o "$build_dir/gpu_load.o"
  "$cxx" -std=c++20 -O2 -Wall -Wextra -I"$src_root" \
    "$here/gpu_chaos_main.cc" "$here/gpu_chaos_tool.cc" "$here/gpu_load_options.cc" \
    "$here/nvml.cc" "$build_dir/gpu_load.o" \
    -L"$cuda_root/lib64" -L"$cuda_root/targets/x86_64-linux/lib" -lcudart_static \
    -ldl -lrt -pthread -o "$tool"
  "$cxx" -std=c++20 -O2 -Wall -Wextra -shared -fPIC -fvisibility=hidden \
    "$here/fake_nvml.cc" -o "$fake"
  built=direct
fi
[[ -x "$tool" && -f "$fake" ]] || fail "the build made no $tool or $fake"
if [[ -x "$build_dir/llmrca_chaos_gpu_tests" ]]; then
  say "unit tests (where GoogleTest is installed; the GPU ones run here)"
  "$build_dir/llmrca_chaos_gpu_tests" --gtest_brief=1 || fail "unit tests"
fi

say "info"
run_tool info || fail "info"
info_json=$(run_tool info --json) || fail "info --json"
echo "$info_json"

say "power-cap --dry-run on GPU $device (reads only)"
# The device's own minimum: a wattage it accepts, whatever the board.
# shellcheck disable=SC2001  # a newline per device object
device_json=$(sed 's/},{/}\n{/g' <<<"$info_json" | grep "\"index\":$device," || true)
[[ -n "$device_json" ]] || fail "NVML has no GPU $device"
min_w=$(json_number "$device_json" min_limit_w)
if [[ -z "$min_w" ]]; then
  echo "GPU $device does not support power limits (min_limit_w is null): dry run skipped"
else
  run_tool power-cap --device "$device" --watts "$min_w" --duration 60 --dry-run ||
    fail "power-cap --dry-run"
  if run_tool power-cap --device "$device" --watts 1 --duration 60 --dry-run 2>"$work/err"; then
    fail "1 W was not refused"
  fi
  echo "1 W refused as expected: $(cat "$work/err")"
fi

say "power-cap against the fake NVML (apply, restore on expiry, restore on SIGTERM)"
export LLMRCA_FAKE_NVML_STATE="$work/fake-state"
run_tool power-cap --nvml-library "$fake" --device 0 --watts 150 --duration 1 ||
  fail "fake power-cap"
cat "$LLMRCA_FAKE_NVML_STATE"
grep -q "^set 0 150000$" "$LLMRCA_FAKE_NVML_STATE" || fail "the fake cap was not set"
[[ "$(tail -n 1 "$LLMRCA_FAKE_NVML_STATE")" == "set 0 350000" ]] || fail "not restored"
rm -f "$LLMRCA_FAKE_NVML_STATE"
# Started directly (not through run_tool's subshell) so the SIGTERM reaches the tool itself.
"$tool" power-cap --nvml-library "$fake" --device 0 --watts 150 --duration 60 \
  >"$work/sigterm.json" &
cap_pid=$!
for _ in $(seq 100); do grep -q "^set 0" "$LLMRCA_FAKE_NVML_STATE" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$cap_pid"
wait "$cap_pid" || fail "power-cap after SIGTERM exited $?"
cat "$work/sigterm.json"
grep -q '"outcome":"stopped by signal"' "$work/sigterm.json" || fail "no signal outcome"
[[ "$(tail -n 1 "$LLMRCA_FAKE_NVML_STATE")" == "set 0 350000" ]] || fail "not restored on SIGTERM"
unset LLMRCA_FAKE_NVML_STATE

say "probe alone on CUDA device $device"
probe_kernels=100  # about 0.1 s alone: done well inside the load even at a 20x slowdown
alone=$(run_tool load --probe --device "$device" --kernels "$probe_kernels") || fail "probe"
echo "$alone"
alone_s=$(json_number "$alone" elapsed_s)

say "100 % load for $seconds s, probe under load, NVML utilisation sampled"
run_tool load --device "$device" --load 100 --duration "$seconds" >"$work/load.json" &
load_pid=$!
sleep 1.5  # past the load's start and NVML's utilisation sample period (up to 1 s)
sm_util=()
under=$(run_tool load --probe --device "$device" --kernels "$probe_kernels") || fail "probe under load"
if kill -0 "$load_pid" 2>/dev/null; then
  overlap="yes"
else
  overlap="NO: the load ended first, so the ratio understates the slowdown"
fi
for _ in 1 2 3; do
  sample=$(run_tool info --json | sed 's/},{/}\n{/g' | grep "\"index\":$device," || true)
  sm_util+=("$(json_number "$sample" gpu_util_pct)")
  sleep 0.5
done
wait "$load_pid" || fail "load exited $?"
echo "$under"
cat "$work/load.json"
under_s=$(json_number "$under" elapsed_s)
busy=$(json_number "$(cat "$work/load.json")" busy_share)
nvml_mean=$(json_number "$(cat "$work/load.json")" nvml_gpu_util_mean_pct)

say "50 % load for 3 s"
run_tool load --device "$device" --load 50 --duration 3 --memory 256M >"$work/half.json" ||
  fail "50 % load"
cat "$work/half.json"
half_busy=$(json_number "$(cat "$work/half.json")" busy_share)
half_util=$(json_number "$(cat "$work/half.json")" nvml_gpu_util_mean_pct)

say "summary"
echo "probe ($probe_kernels kernels) alone:      ${alone_s} s"
echo "probe under 100 % load:       ${under_s} s"
echo "slowdown ratio:               $(awk -v a="$alone_s" -v u="$under_s" 'BEGIN { printf "%.2f", u / a }')"
echo "probe ran inside the load:    $overlap"
echo "100 % load busy share:        ${busy} (CUDA events)"
echo "SM utilisation under load:    ${sm_util[*]} % (NVML, sampled by info); mean ${nvml_mean:-n/a} % (the load's own samples)"
echo "50 % load busy share:         ${half_busy}; NVML utilisation mean ${half_util:-n/a} %"
echo "gpu-check: done; no device setting was changed"
