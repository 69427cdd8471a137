#!/usr/bin/env bash
# Where the time of a decision goes under load: `argus serve` (pinned to CPU 0, varied workload,
# memo off, audit on or off) runs with --cpu-prof while wrk (CPU 1) drives it for DURATION seconds;
# the profiles of the decision thread and of the audit thread are summarised by area (self time).
# Run bench/http/run.sh once first (it generates the policies, the bodies and the seeded registry).
# Usage: bash bench/http/profile.sh [audit true|false]     (DURATION=10 CONNECTIONS=32)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/argus-bench-http}
VARIED_N=${VARIED_N:-10000}
AUDIT=${1:-true}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${ARGUS_BENCH_PORT:-3000}
TOKEN=bench-profile-token-0123456789
P=$WORK/p10
TEMPLATE=$WORK/data-template-$VARIED_N
[[ -f "$TEMPLATE/.seeded" && -f "$P/varied-bodies.jsonl" ]] || { echo "run bash bench/http/run.sh first"; exit 1; }
cd "$ROOT"
PROF=$WORK/profile-audit-$AUDIT
rm -rf "$PROF" "$WORK/data-prof" && mkdir -p "$PROF" && cp -a "$TEMPLATE" "$WORK/data-prof"
env ARGUS_LOG_LEVEL=warn ARGUS_ADMIN_TOKEN=$TOKEN ARGUS_AUDIT_ENABLED=$AUDIT ARGUS_DECISION_MEMO=0 \
  taskset -c 0 node --cpu-prof --cpu-prof-dir="$PROF" apps/cli/bin/argus.mjs serve --port "$PORT" --policies "$P" --data-dir "$WORK/data-prof" > "$PROF/argus.log" 2>&1 &
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
taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$PROF/load.lua" "http://127.0.0.1:$PORT/v1/authorize" | grep -E "Requests/sec|50%|99%"
kill -TERM "$pid"; wait "$pid" || true
trap - EXIT
node -e '
  const fs = require("fs"); const dir = process.argv[1];
  const area = (f) => {
    const u = f.url || "", n = f.functionName || "";
    if (n === "(garbage collector)") return "gc";
    if (n === "(idle)" || n === "(program)") return n;
    if (/node_modules\/(tsx|esbuild|get-tsconfig)/.test(u)) return "start-up (tsx compiling the sources)";
    if (/libs\/audit|better-sqlite3/.test(u)) return "audit (chain, sinks, record builder)";
    if (/cedar-wasm|wasm:/.test(u) || /^wasm-function|^\$/.test(n)) return "cedar-wasm";
    if (/libs\/engine/.test(u)) return "engine (argus)";
    if (/libs\/store|libs\/governance/.test(u)) return "registry, governance";
    if (/apps\/apdp/.test(u)) return "decision service, routes";
    if (/node:_http|node:http|node:net|node:stream|node:internal\/(streams|http|net)/.test(u)) return "node http/net";
    if (/node:internal\/worker|node:worker|messageport|MessagePort/.test(u + n)) return "thread hand-over";
    if (/^node:/.test(u)) return "node other";
    if (n === "(root)") return "(root)";
    if (u === "") return "native/other (" + n.slice(0, 30) + ")";
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u) || /\/(libs\/[^/]+|apps\/[^/]+)\//.exec(u);
    return m ? m[1] : "other js";
  };
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    const p = JSON.parse(fs.readFileSync(`${dir}/${file}`, "utf8"));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const counts = new Map(); let total = 0;
    const dt = p.timeDeltas || []; 
    p.samples.forEach((id, i) => { const n = byId.get(id); const a = area(n.callFrame); const d = dt[i] || 0; counts.set(a, (counts.get(a) || 0) + d); total += d; });
    const busy = total - (counts.get("(idle)") || 0);
    console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`);
    for (const [a, us] of [...counts].sort((x, y) => y[1] - x[1]).slice(0, 14)) console.log(`  ${a.padEnd(40)} ${(us / 1e6).toFixed(2)} s  ${(100 * us / total).toFixed(1)} %`);
  }' "$PROF"
