#!/usr/bin/env bash
# Prints how many concurrent streams one `llmrca serve-sim engine` holds on one core, and the
# tokens/s it streams meanwhile: the engine process is pinned to CPU 0 (taskset), the load
# generator to CPU 1; 2,000 closed-loop users each stream 128 tokens of a 64-token prompt.
# Usage: bench/serve_sim.sh [BUILD_DIR]   (needs 2 CPUs and taskset)
set -euo pipefail
build=${1:-build}
llmrca=$build/llmrca
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

users=${USERS:-2000}
taskset -c 0 "$llmrca" serve-sim engine --port 0 --max-num-seqs "$users" --kv-blocks 100000 \
    --max-num-batched-tokens 65536 --duration 300 >"$tmp/url" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q http "$tmp/url" 2>/dev/null && break; sleep 0.05; done
url=$(grep -o 'http://[0-9.:]*' "$tmp/url")
taskset -c 1 "$llmrca" load --url "$url" --provider vllm -u "$users" -n "$users" -p 64 -o 128 \
    --format json --progress off --timeout 120 >"$tmp/run.json"
field() { grep -m1 "\"$1\"" "$tmp/run.json" | grep -o '[0-9.]*' | head -1; }
echo "serve-sim engine on one core, $users streams of 128 tokens:"
echo "  in flight at the peak: $(field max_concurrency), completed $(field completed) of $users"
echo "  output tokens/s: $(field output_token_throughput_tps)"
awk '/"tpot": \{/ {f=1} f && /"p50"/ {gsub(/[",]/, ""); print "  TPOT p50 (ms): " $2; exit}' "$tmp/run.json"
ps -o rss= -p "$pid" | awk '{printf "  engine RSS: %.0f MiB\n", $1 / 1024}'
