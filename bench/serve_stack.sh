#!/usr/bin/env bash
# What the study's request path costs and how the router spreads load: the same closed-loop run
# (96 users, 3,000 streamed requests of 128 prompt and 32 output tokens) against
#   1. `serve-sim stack --replicas 3 --nginx`: nginx -> router -> 3 engines (separate processes)
#   2. the same stack's router directly (no nginx)
#   3. one engine directly, with a third of the users (the per-replica load of runs 1 and 2)
# and prints TTFT and E2E medians and p99 of each, and the requests each replica served.
# Usage: bench/serve_stack.sh [BUILD_DIR]   (needs Debian's nginx: apt-get install nginx-light)
set -euo pipefail
build=${1:-build}
llmrca=$build/llmrca
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
"$llmrca" serve-sim stack --replicas 3 --nginx --port "$port" --run-dir "$tmp/run" \
    --duration 600 >"$tmp/stack" 2>"$tmp/stack.err" &
pid=$!
for _ in $(seq 200); do grep -q nginx-proxy "$tmp/stack" 2>/dev/null && break; sleep 0.05; done
entry=http://127.0.0.1:$port
router=$(awk '$1 == "ray-head" {print $2}' "$tmp/stack")
engine=$(awk '$1 == "ray-replicas-0" {print $2}' "$tmp/stack")

run() {  # NAME URL USERS REQUESTS
  "$llmrca" load --url "$2" --provider vllm -u "$3" -n "$4" -p 128 -o 32 --format json \
      --progress off >"$tmp/$1.json"
  local ok ttft50 ttft99 e2e50 e2e99
  ok=$(grep -m1 '"completed"' "$tmp/$1.json" | grep -o '[0-9]*')
  get() { awk -v m="\"$1\": {" -v k="\"$2\"" 'index($0, m) {f=1} f && index($0, k) {gsub(/[",]/, ""); print $2; exit}' "$tmp/$3.json"; }
  ttft50=$(get ttft p50 "$1"); ttft99=$(get ttft p99 "$1"); e2e50=$(get e2e p50 "$1"); e2e99=$(get e2e p99 "$1")
  printf '  %-34s completed %5s of %5s  TTFT p50 %7.2f ms  p99 %7.2f ms  E2E p50 %7.1f ms  p99 %7.1f ms\n' \
      "$5" "$ok" "$4" "$ttft50" "$ttft99" "$e2e50" "$e2e99"
}
echo "closed loop, streamed, 128 prompt + 32 output tokens (llama-3-8b on simulated H100s):"
run nginx "$entry" 96 3000 "nginx -> router -> 3 engines, 96 users"
run router "$router" 96 3000 "router -> 3 engines, 96 users"
run engine "$engine" 32 1000 "one engine, 32 users"
echo "requests each replica served in runs 1 and 2 (the router's ray_serve_deployment_request_counter_total):"
curl -s "$router/metrics" |
  sed -n 's/^ray_serve_deployment_request_counter_total{.*replica="\([^"]*\)".*} \(.*\)$/  \1: \2/p'
