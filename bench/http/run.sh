#!/usr/bin/env bash
# HTTP benchmark: Argus `POST /v1/authorize` (10 and 100 policies, the Cerbos-equivalent scenario)
# against the peers in one run: bare node:http, express + express.json() (the floor for express),
# and Cerbos 0.55 with the equivalent policies — all through ../shared/bench/cerbos/run.sh, which
# pins the server to CPU 0 and the load generator to CPU 1, warms up, and measures on loopback.
# The decision memo (policy.decisionMemo) is on by default; one pass runs with it off.
# REPS repeats the three 10-policy passes (defaults, memo off, audit off) and prints medians.
# Usage: bash bench/http/run.sh            (REPS=3 DURATION=10 WARMUP=3 CONNECTIONS=32 LOADGEN=autocannon|wrk)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-/tmp/argus-bench-http}
REPS=${REPS:-3}
mkdir -p "$WORK"
cd "$ROOT"
for n in 10 100; do npx tsx bench/policies/generate.ts "$n" "$WORK/p$n" >/dev/null; done
SUMMARY="$WORK/summary.tsv"
: > "$SUMMARY"

# One harness pass: Argus (argus serve on the generated policies) and the given peer targets.
# Appends "<label> <target> <req/s> <p50> <p99>" rows to the summary.
run_one() {
  local label=$1 n=$2 targets=$3 audit=$4 memo=${5:-10000}
  rm -rf "$WORK/data-p$n"
  local out
  out=$(CEDAR_CMD="env ARGUS_LOG_LEVEL=warn ARGUS_AUDIT_ENABLED=$audit ARGUS_DECISION_MEMO=$memo node $ROOT/apps/cli/bin/argus.mjs serve --port 3000 --policies $WORK/p$n --seed $WORK/p$n/seed.json --data-dir $WORK/data-p$n" \
    CEDAR_URL=http://127.0.0.1:3000/v1/authorize \
    CEDAR_BODY=$WORK/p$n/allow-body.json \
    CEDAR_EXPECT='"allow":true' \
    TARGETS="$targets" \
    bash "$SHARED/bench/cerbos/run.sh" 2>&1) || echo "(the harness exited with status $?)"
  echo "$out" | grep -vE '^\[run.sh\] (installing|wrote)' || true
  local dir
  dir=$(echo "$out" | sed -n 's/^results: //p' | tail -1)
  [[ -n "$dir" && -f "$dir/cedar.json" ]] || return 0
  node -e '
    const fs = require("fs"); const [dir, label] = process.argv.slice(1);
    const row = (t, j) => `${label}\t${t}\t${Math.round(j.rps)}\t${j.p50_ms}\t${j.p99_ms}`;
    const out = [row("argus", JSON.parse(fs.readFileSync(`${dir}/cedar.json`)))];
    for (const f of fs.readdirSync(dir)) if (f.endsWith(".json") && !f.includes("autocannon") && f !== "cedar.json") out.push(row(f.slice(0, -5), JSON.parse(fs.readFileSync(`${dir}/${f}`))));
    fs.appendFileSync(process.argv[3], out.join("\n") + "\n");' "$dir" "$label" "$SUMMARY"
}

echo "== peers once: node:http, express"
run_one floors 10 "node-http express" true
for rep in $(seq 1 "$REPS"); do
  echo "== rep $rep/$REPS: argus p10 defaults (audit on, SQLite; memo on) vs cerbos-p10, cerbos-p10-audit"
  run_one defaults 10 "cerbos-p10 cerbos-p10-audit" true
  echo "== rep $rep/$REPS: argus p10, decision memo off (every request calls Cedar) vs cerbos-p10"
  run_one memo-off 10 "cerbos-p10" true 0
  echo "== rep $rep/$REPS: argus p10, audit off vs cerbos-p10"
  run_one audit-off 10 "cerbos-p10" false
done
echo "== argus p100, audit on vs cerbos-p100"
run_one p100 100 "cerbos-p100" true

echo
echo "== medians over the passes (req/s, p50 ms, p99 ms of the median pass)"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"));
  const groups = new Map();
  for (const [label, target, rps, p50, p99] of rows) { const k = `${label}\t${target}`; if (!groups.has(k)) groups.set(k, []); groups.get(k).push({ rps: +rps, p50, p99 }); }
  const med = new Map();
  for (const [k, xs] of groups) { xs.sort((a, b) => a.rps - b.rps); const m = xs[Math.floor(xs.length / 2)]; med.set(k, m); console.log(`${k}\t${m.rps}\t${m.p50}\t${m.p99}\t(passes: ${xs.map((x) => x.rps).join(", ")})`); }
  const r = (a, b) => (med.get(a) && med.get(b) ? (med.get(a).rps / med.get(b).rps).toFixed(2) + "x" : "n/a");
  console.log(`argus defaults / cerbos-p10: ${r("defaults\targus", "defaults\tcerbos-p10")}; / cerbos-p10-audit: ${r("defaults\targus", "defaults\tcerbos-p10-audit")}`);
  console.log(`argus memo off / cerbos-p10: ${r("memo-off\targus", "memo-off\tcerbos-p10")}; argus audit off / cerbos-p10: ${r("audit-off\targus", "audit-off\tcerbos-p10")}`);
  console.log(`argus audit on / audit off: ${r("defaults\targus", "audit-off\targus")}; p100 argus / cerbos-p100: ${r("p100\targus", "p100\tcerbos-p100")}`);
' "$SUMMARY"
