#!/usr/bin/env bash
# Where the time of a decision goes under load: `argus serve` (pinned to CPU 0, varied workload,
# memo off, audit on or off) runs while wrk (CPU 1) drives it: WARMUP seconds, then DURATION seconds
# measured. Prints the process CPU time per request of the measured run (all threads: the audit
# thread counts) — the figure to compare on a shared machine, where req/s is noisy — and, with
# PROFILE=1 (the default), the profiles of the decision thread and of the audit thread summarised
# by area (self time; the built bundle's frames mapped back to their sources; FILTER=<pattern> also
# lists the functions of the matching areas). PROFILE=0 measures without the profiler.
# Run bash bench/http/run.sh once first (it generates the policies, the bodies and the seeded registry).
# NODE_FLAGS adds flags to node (e.g. NODE_FLAGS=--trace-gc-nvp, then bench/http/gc-summary.mjs on
# $WORK/profile-audit-<audit>/argus.log: what the decision thread's collections promote and pause).
# Usage: bash bench/http/profile.sh [audit true|false]     (DURATION=10 WARMUP=3 CONNECTIONS=32 PROFILE=1 TOP=24 FILTER= NODE_FLAGS= ARGUS_ARGS="-c file.yaml")
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/argus-bench-http}
VARIED_N=${VARIED_N:-10000}
AUDIT=${1:-true}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-32}
PROFILE=${PROFILE:-1}
TOP=${TOP:-24}
PORT=${ARGUS_BENCH_PORT:-3000}
TOKEN=bench-profile-token-0123456789
P=$WORK/p10
TEMPLATE=$WORK/data-template-$VARIED_N
[[ -f "$TEMPLATE/.seeded" && -f "$P/varied-bodies.jsonl" ]] || { echo "run bash bench/http/run.sh first"; exit 1; }
cd "$ROOT"
# summarise DIR REQUESTS: self time of each profile in DIR by area, per request (profile-summary.mjs).
summarise() { node bench/http/profile-summary.mjs "$1" "$TOP" "$2" ${FILTER:+"$FILTER"}; }
[[ "${SUMMARISE:-}" ]] && { summarise "$SUMMARISE" "${REQUESTS:-0}"; exit 0; }
PROF=$WORK/profile-audit-$AUDIT
rm -rf "$PROF" "$WORK/data-prof" && mkdir -p "$PROF" && cp -a "$TEMPLATE" "$WORK/data-prof"
read -r -a node_flags <<< "${NODE_FLAGS:-}"
[[ "$PROFILE" == 1 ]] && node_flags+=(--cpu-prof --cpu-prof-dir="$PROF")
env ARGUS_LOG_LEVEL=warn ARGUS_ADMIN_TOKEN=$TOKEN ARGUS_AUDIT_ENABLED=$AUDIT ARGUS_DECISION_MEMO=0 \
  taskset -c 0 node "${node_flags[@]}" apps/cli/bin/argus.mjs serve --port "$PORT" --policies "$P" --data-dir "$WORK/data-prof" ${ARGUS_ARGS:-} > "$PROF/argus.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 1800); do curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
cat > "$PROF/load.lua" <<EOF
local bodies = {}
for line in io.lines("$P/varied-bodies.jsonl") do if #line > 0 then bodies[#bodies + 1] = line end end
local i = 0
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer $TOKEN" }
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[i])
end
EOF
load() { taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$1s" --latency -s "$PROF/load.lua" "http://127.0.0.1:$PORT/v1/authorize"; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# Per thread: "name ticks" of every thread of the process (main = the decision thread).
thread_ticks() { for t in /proc/$pid/task/*; do printf '%s\t%s\n' "$([[ ${t##*/} == "$pid" ]] && echo main || echo "thread-${t##*/}")" "$(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')"; done 2>/dev/null; }
[[ "$WARMUP" -gt 0 ]] && load "$WARMUP" > /dev/null
t0=$(ticks)
thread_ticks > "$PROF/threads0.tsv"
load "$DURATION" > "$PROF/wrk.txt"
thread_ticks > "$PROF/threads1.tsv"
t1=$(ticks)
grep -E "requests in|Requests/sec|50%|99%|Non-2xx" "$PROF/wrk.txt"
requests=$(awk '/requests in/ {print $1}' "$PROF/wrk.txt")
echo "CPU per request (process, all threads): $(( (t1 - t0) * 1000000 / $(getconf CLK_TCK) / requests )) µs over $requests requests"
# The same by thread (main = the decision thread; the busiest other one under audit is the audit thread).
awk -F'\t' -v n="$requests" -v hz="$(getconf CLK_TCK)" 'NR == FNR { a[$1] += $2; next } { b[$1] += $2 } END {
  for (k in b) if (b[k] - a[k] > 0) printf "  %-18s %6.1f µs/req\n", k, (b[k] - a[k]) * 1e6 / hz / n }' "$PROF/threads0.tsv" "$PROF/threads1.tsv" | sort -k2 -nr
kill -TERM "$pid"; wait "$pid" || true
trap - EXIT
[[ "$PROFILE" == 1 ]] || exit 0
# Per request: over the warm-up and the measured run (the profile spans both), at the measured rate.
summarise "$PROF" "$(( requests * (WARMUP + DURATION) / DURATION ))"
