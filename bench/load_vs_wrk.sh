#!/usr/bin/env bash
# Prints the figures of `llmrca load` against the fake LLM server on loopback, beside wrk's on the
# same server: (1) requests/s, non-streamed 1-token completions of the same request, 64
# connections, one client thread, with the native HTTP client (the default) and with libcurl
# (--http-client curl); (2) concurrent SSE streams held by one client thread;
# (3) schedule lag at a fixed rate.
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
# Both clients send the same request: llmrca's body for the prompt "hello" (one JSONL prompt),
# byte for byte, so that the server does the same work for each. Three alternating rounds of 4 s;
# the medians are printed.
echo '{"prompt": "hello"}' >"$tmp/hello.jsonl"
body='{"max_tokens":1,"stream":false,"temperature":1.0,"prompt":"hello"}'
cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
have_wrk=0
command -v wrk >/dev/null && have_wrk=1
: >"$tmp/wrk_rates"
: >"$tmp/llmrca_rates"
: >"$tmp/curl_rates"
llmrca_rate() {  # llmrca_rate native|curl: requests/s of one 4 s round
  "$llmrca" load --url "$url" --provider openai --no-stream --prompts "$tmp/hello.jsonl" -o 1 \
      -u 64 -t 4s --format json --progress off --http-client "$1" >"$tmp/rate.json"
  grep -m1 '"request_throughput_rps"' "$tmp/rate.json" | grep -o '[0-9.]*'
}
for round in 1 2 3; do
  if [ $have_wrk = 1 ]; then
    wrk -t1 -c64 -d4s -s "$tmp/post.lua" "$url/v1/completions" |
      awk '/Requests\/sec/ {print $2}' >>"$tmp/wrk_rates"
  fi
  llmrca_rate native >>"$tmp/llmrca_rates"
  llmrca_rate curl >>"$tmp/curl_rates"
done
rate=$(median <"$tmp/llmrca_rates")
curl_rate=$(median <"$tmp/curl_rates")
if [ $have_wrk = 1 ]; then
  wrk_rate=$(median <"$tmp/wrk_rates")
  echo "wrk, 1 thread, 64 connections:         $wrk_rate requests/s (median of 3)"
fi
echo "llmrca load, 1 thread, 64 users:       $rate requests/s (median of 3; native HTTP client)"
echo "  the same with --http-client curl:     $curl_rate requests/s (median of 3)"
if [ -n "${wrk_rate:-}" ]; then
  awk -v a="$rate" -v c="$curl_rate" -v b="$wrk_rate" \
    'BEGIN {printf "ratio to wrk: native %.2f, curl %.2f\n", a / b, c / b}'
fi
awk -v a="$rate" -v c="$curl_rate" 'BEGIN {printf "native / curl: %.2f\n", a / c}'

start_server --ttft-ms 2000 --itl-ms 200 --tokens 20
"$llmrca" load --url "$url" --provider vllm --burst 100 -u 5000 -n 5000 --format json \
    --progress off --timeout 60 >"$tmp/streams.json"
echo "llmrca load, 5,000 streams at once:     $(grep -m1 '"max_concurrency"' "$tmp/streams.json" | grep -o '[0-9]*') in flight at the peak, $(grep -m1 '"completed"' "$tmp/streams.json" | grep -o '[0-9]*') completed"

lag_of() {  # lag_of JSON: "p50 X p99 Y" (ms) from a summary
  awk '/"schedule_lag": \{/ {f=1} f && /"p50"|"p99"/ {printf "%s ", $0} f && /"p99"/ {exit}' "$1" |
    tr -d ' ,"' | sed 's/p99/ p99 /; s/p50:/p50 /; s/:/ /'
}
# Schedule lag at Poisson 1,000 requests/s, 5,000 requests, (a) on the 5,000 long streams' server
# above (every request opens a new connection while thousands are open), (b) on a server with
# 64-token streams of 20 ms TTFT and 5 ms ITL (a few hundred in flight).
"$llmrca" load --url "$url" --provider vllm --qps 1000 --qps-distribution poisson -n 5000 \
    --format json --progress off >"$tmp/lag_long.json"
start_server --ttft-ms 20 --itl-ms 5 --tokens 64
"$llmrca" load --url "$url" --provider vllm --qps 1000 --qps-distribution poisson -n 5000 \
    --format json --progress off >"$tmp/lag.json"
echo "llmrca load, Poisson 1,000 requests/s, 64-token streams (5 ms ITL): schedule lag (ms) $(lag_of "$tmp/lag.json"), $(grep -m1 '"max_concurrency"' "$tmp/lag.json" | grep -o '[0-9]*') in flight at the peak"
echo "  the same on the long-stream server: schedule lag (ms) $(lag_of "$tmp/lag_long.json"), $(grep -m1 '"max_concurrency"' "$tmp/lag_long.json" | grep -o '[0-9]*') in flight at the peak"
