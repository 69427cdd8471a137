#!/usr/bin/env bash
# HTTP benchmark: Argus `POST /v1/authorize` (10 and 100 policies, the Cerbos-equivalent scenario)
# against the peers in one run: bare node:http, express + express.json() (the floor for express),
# and Cerbos 0.55 with the equivalent policies — all through ../shared/bench/cerbos/run.sh, which
# pins the server to CPU 0 and the load generator to CPU 1, warms up, and measures on loopback.
# The decision memo (policy.decisionMemo) is on by default; one pass runs with it off.
# Usage: bash bench/http/run.sh            (DURATION=10 WARMUP=3 CONNECTIONS=32 LOADGEN=autocannon|wrk)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-/tmp/argus-bench-http}
mkdir -p "$WORK"
cd "$ROOT"
for n in 10 100; do npx tsx bench/policies/generate.ts "$n" "$WORK/p$n" >/dev/null; done

run_one() {
  local n=$1 targets=$2 audit=$3 memo=${4:-10000}
  rm -rf "$WORK/data-p$n"
  CEDAR_CMD="env ARGUS_LOG_LEVEL=warn ARGUS_AUDIT_ENABLED=$audit ARGUS_DECISION_MEMO=$memo node $ROOT/apps/cli/bin/argus.mjs serve --port 3000 --policies $WORK/p$n --seed $WORK/p$n/seed.json --data-dir $WORK/data-p$n" \
  CEDAR_URL=http://127.0.0.1:3000/v1/authorize \
  CEDAR_BODY=$WORK/p$n/allow-body.json \
  CEDAR_EXPECT='"allow":true' \
  TARGETS="$targets" \
  bash "$SHARED/bench/cerbos/run.sh" || echo "(the harness exited with status $?)"
}

echo "== argus p10, audit on (SQLite) vs node:http, express, cerbos-p10, cerbos-p10-audit"
run_one 10 "node-http express cerbos-p10 cerbos-p10-audit" true
echo "== argus p10, audit on, decision memo off (every request calls Cedar) vs cerbos-p10"
run_one 10 "cerbos-p10" true 0
echo "== argus p10, audit off vs cerbos-p10"
run_one 10 "cerbos-p10" false
echo "== argus p100, audit on vs cerbos-p100"
run_one 100 "cerbos-p100" true
