#!/usr/bin/env bash
# Prints the figures of `llmrca load` against the fake LLM server on loopback, beside wrk's on the
# same server: (1) requests/s, non-streamed 1-token completions, 64 connections, one client
# thread; (2) concurrent SSE streams held by one client thread; (3) schedule lag at a fixed rate.
# Usage: bench/load_vs_wrk.sh [BUILD_DIR]   (needs Debian's wrk for the first figure)
set -euo pipefail
build=${1:-build}
llmrca=$build/llmrca
server=$build/src/load/testing/llmrca_fake_llm_server
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

start_server() {  # start_server ARGS...; sets url
  "$server" "$@" >"$tmp/url" &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$tmp/url" ] && break; sleep 0.1; done
  url=$(head -1 "$tmp/url" | grep -o 'http://[0-9.:]*')
}

start_server --ttft-ms 0 --itl-ms 0 --tokens 1
body='{"model":"m","prompt":"hello","max_tokens":1,"stream":false}'
if command -v wrk >/dev/null; then
  cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
  wrk_rate=$(wrk -t1 -c64 -d5s -s "$tmp/post.lua" "$url/v1/completions" | awk '/Requests\/sec/ {print $2}')
  echo "wrk, 1 thread, 64 connections:         $wrk_rate requests/s"
fi
"$llmrca" load --url "$url" --provider openai --no-stream -o 1 -u 64 -t 5s --format json \
    --progress off >"$tmp/rate.json"
rate=$(grep -m1 '"request_throughput_rps"' "$tmp/rate.json" | grep -o '[0-9.]*')
echo "llmrca load, 1 thread, 64 users:       $rate requests/s"
[ -n "${wrk_rate:-}" ] && awk -v a="$rate" -v b="$wrk_rate" 'BEGIN {printf "ratio to wrk: %.2f\n", a / b}'

start_server --ttft-ms 2000 --itl-ms 200 --tokens 20
"$llmrca" load --url "$url" --provider vllm --burst 100 -u 5000 -n 5000 --format json \
    --progress off --timeout 60 >"$tmp/streams.json"
echo "llmrca load, 5,000 streams at once:     $(grep -m1 '"max_concurrency"' "$tmp/streams.json" | grep -o '[0-9]*') in flight at the peak, $(grep -m1 '"completed"' "$tmp/streams.json" | grep -o '[0-9]*') completed"

"$llmrca" load --url "$url" --provider vllm --qps 1000 --qps-distribution poisson -n 5000 \
    --format json --progress off >"$tmp/lag.json"
lag=$(awk '/"schedule_lag": \{/ {f=1} f && /"p50"|"p99"/ {printf "%s ", $0} f && /"p99"/ {exit}' \
    "$tmp/lag.json" | tr -d ' ,"')
echo "llmrca load, Poisson 1,000 requests/s, 64-token streams: schedule lag (ms) $lag"
