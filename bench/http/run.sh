#!/usr/bin/env bash
# HTTP benchmark of the decision API (`POST /v1/authorize`, `argus serve`) beside Cerbos 0.55, one
# core each, in the same run (../shared/bench/cerbos/run.sh pins the load generator to CPU 1; Argus
# is started here pinned to CPU 0 and measured as an already-running server).
#
# Headline — the varied workload: VARIED_N (10,000) distinct bodies (a different registered agent
# each, 500 tools, 9 intents), cycled by wrk, the registry seeded to match, the decision memo OFF,
# the caller authenticated with the admin bearer token (decisions require a credential), audit ON
# with the defaults (audit thread, group commit, signed checkpoints) — against Cerbos on its varied
# target with and without its audit log. Per repetition also: the same with audit off (audit on/off
# ratio), with `durability: strict` (each commit synced to the disk; pass varied-strict), with async
# audit (what group commit costs), and the secondary row: one body repeated with
# the defaults (memo on), against cerbos-p10. Passes `floor` and `floor-sqlite` (not in the default
# list) serve the same requests with bench/http/floor.mjs: Node's cost with no decision made, and
# with a durable SQLite row per request. REPS repetitions; medians, p50/p99, peak RSS.
#
# Usage: bash bench/http/run.sh     (REPS=3 DURATION=10 WARMUP=3 CONNECTIONS=32 VARIED_N=10000 PASSES="...")
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-/tmp/argus-bench-http}
REPS=${REPS:-3}
VARIED_N=${VARIED_N:-10000}
PASSES=${PASSES:-"varied-audit varied-noaudit varied-strict varied-async repeated"}
PORT=${ARGUS_BENCH_PORT:-3000}
TOKEN=${ARGUS_BENCH_TOKEN:-bench-admin-token-$(date +%s)-0123456789}
export LOADGEN=${LOADGEN:-wrk} DURATION=${DURATION:-10} WARMUP=${WARMUP:-3} CONNECTIONS=${CONNECTIONS:-32} VARIED_N
mkdir -p "$WORK"
cd "$ROOT"
command -v wrk >/dev/null || { echo "installing wrk (Debian)"; apt-get install -y wrk >/dev/null; }

P=$WORK/p10
npx tsx bench/policies/generate.ts 10 "$P" >/dev/null
npx tsx bench/http/varied.ts "$VARIED_N" "$P" >/dev/null
SUMMARY=$WORK/summary.tsv
: > "$SUMMARY"
ARGUS_PID=""
RSS_PID=""

wait_ready() {  # seconds
  for _ in $(seq 1 $(($1 * 10))); do curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/healthz" && return 0; sleep 0.1; done
  echo "argus did not answer /healthz in $1 s"; return 1
}

# The registry with VARIED_N agents, seeded once; every pass starts from a copy of it.
TEMPLATE=$WORK/data-template-$VARIED_N
if [[ ! -f "$TEMPLATE/.seeded" ]]; then
  rm -rf "$TEMPLATE"
  echo "== seeding $VARIED_N agents into $TEMPLATE"
  ARGUS_LOG_LEVEL=warn ARGUS_ADMIN_TOKEN=$TOKEN ARGUS_AUDIT_ENABLED=false node apps/cli/bin/argus.mjs serve --port "$PORT" \
    --policies "$P" --seed "$P/varied-seed.json" --data-dir "$TEMPLATE" > "$WORK/seed.log" 2>&1 &
  seed_pid=$!
  wait_ready 600 || { cat "$WORK/seed.log"; kill "$seed_pid"; exit 1; }
  kill -TERM "$seed_pid"; wait "$seed_pid" || true
  rm -rf "$TEMPLATE"/audit* && touch "$TEMPLATE/.seeded"
fi

# start_argus <audit true|false> <memo entries> <durability>: argus serve pinned to CPU 0, peak RSS sampled.
# Durability `floor` / `floor-sqlite` starts bench/http/floor.mjs instead: Node's own cost of the
# same requests with no decision made (and, for floor-sqlite, a durable SQLite row per request).
start_argus() {
  rm -rf "$WORK/data" && cp -a "$TEMPLATE" "$WORK/data"
  if [[ "$3" == floor* ]]; then
    env ARGUS_BENCH_TOKEN="$TOKEN" ${4:+FLOOR_SQLITE="$WORK/data/floor.db"} taskset -c 0 node bench/http/floor.mjs "$PORT" > "$WORK/argus.log" 2>&1 &
  else
    env ARGUS_LOG_LEVEL=warn ARGUS_ADMIN_TOKEN="$TOKEN" ARGUS_AUDIT_ENABLED="$1" ARGUS_DECISION_MEMO="$2" ARGUS_AUDIT_DURABILITY="$3" \
      taskset -c 0 node apps/cli/bin/argus.mjs serve --port "$PORT" --policies "$P" --data-dir "$WORK/data" > "$WORK/argus.log" 2>&1 &
  fi
  ARGUS_PID=$!
  wait_ready 180 || { cat "$WORK/argus.log"; stop_argus; exit 1; }
  : > "$WORK/rss.txt"
  CPU0=$(cpu_ticks "$ARGUS_PID")
  ( while kill -0 "$ARGUS_PID" 2>/dev/null; do awk '/VmHWM/ {print $2}' "/proc/$ARGUS_PID/status" > "$WORK/rss.txt.new" 2>/dev/null && mv "$WORK/rss.txt.new" "$WORK/rss.txt"; sleep 0.5; done ) &
  RSS_PID=$!
}
# utime + stime of a process, in clock ticks (all its threads: the audit thread counts).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
stop_argus() {
  [[ -n "$ARGUS_PID" ]] && CPU1=$(cpu_ticks "$ARGUS_PID")
  [[ -n "$ARGUS_PID" ]] && { kill -TERM "$ARGUS_PID" 2>/dev/null || true; wait "$ARGUS_PID" 2>/dev/null || true; }
  [[ -n "$RSS_PID" ]] && { kill "$RSS_PID" 2>/dev/null || true; wait "$RSS_PID" 2>/dev/null || true; }
  ARGUS_PID=""; RSS_PID=""
}
trap stop_argus EXIT

# Every body a real, allowed decision: a sample of 20 across the file, with the bench credential.
check_bodies() {
  local bad=0 line got
  for i in $(seq 1 20); do
    line=$(sed -n "$(( (i * 499) % VARIED_N + 1 ))p" "$P/varied-bodies.jsonl")
    got=$(curl -s -m 5 -X POST -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" --data-binary "$line" "http://127.0.0.1:$PORT/v1/authorize")
    [[ "$got" == *'"allow":true'* ]] || { bad=$((bad + 1)); echo "not allowed: $line -> ${got:0:300}"; }
  done
  [[ $bad == 0 ]] || { echo "$bad of 20 sample bodies not allowed"; return 1; }
}

# pass <label> <varied 1|0> <audit> <memo> <durability> <cerbos targets>  (an empty list: Argus only;
# the harness reads an empty TARGETS as "its defaults", so a blank is passed)
pass() {
  local label=$1 varied=$2
  start_argus "$3" "$4" "$5" "${FLOOR_DB:-}"
  [[ "$varied" == 1 ]] && check_bodies
  local out
  out=$(CEDAR_URL=http://127.0.0.1:$PORT/v1/authorize CEDAR_BODY=$P/allow-body.json CEDAR_EXPECT='"allow":true' \
    CEDAR_AUTH="Bearer $TOKEN" CEDAR_BODIES=$([[ "$varied" == 1 ]] && echo "$P/varied-bodies.jsonl") TARGETS="${6:- }" \
    bash "$SHARED/bench/cerbos/run.sh" 2>&1) || {
    # The shared harness exits 1 from its clean-up even after a complete run: only say so without results.
    local status=$?
    [[ "$out" == *"results: "* ]] || echo "(the harness exited with status $status)"
  }
  local rss; rss=$(cat "$WORK/rss.txt" 2>/dev/null || echo 0)
  stop_argus
  local ticks=$((CPU1 - CPU0)) hz; hz=$(getconf CLK_TCK)
  echo "$out" | grep -vE '^\[run.sh\] (installing|wrote)' | sed 's/^/  /' | grep -E 'cedar:|cerbos-|req/s|results' || true
  local dir; dir=$(echo "$out" | sed -n 's/^results: //p' | tail -1)
  [[ -n "$dir" && -f "$dir/cedar.json" ]] || { echo "$out" | tail -20; return 0; }
  node -e '
    const fs = require("fs"); const [dir, label, rss, summary, ticks, hz, warmup, duration] = process.argv.slice(1);
    const row = (t, j, kb, cpu = "") => `${label}\t${t}\t${Math.round(j.rps)}\t${j.p50_ms}\t${j.p99_ms}\t${Math.round(kb / 1024)}\t${j.errors ?? 0}\t${j.non2xx ?? 0}\t${cpu}`;
    const a = JSON.parse(fs.readFileSync(`${dir}/cedar.json`));
    // CPU µs per request: the process CPU time from ready to stop over the requests of the warm-up
    // (taken at the measured rate) and of the measured run. Steadier than req/s on a shared machine.
    const cpu = Math.round((+ticks / +hz) * 1e6 / (a.requests * (+warmup + +duration) / +duration));
    const out = [row("argus", a, +rss, cpu)];
    for (const f of fs.readdirSync(dir)) {
      if (!f.endsWith(".json") || f.includes("autocannon") || f === "cedar.json") continue;
      const t = f.slice(0, -5); let kb = 0;
      try { kb = +(/rss_kb=(\d+)/.exec(fs.readFileSync(`${dir}/cerbos-${t}.log`, "utf8")) || [0, 0])[1]; } catch {}
      out.push(row(t, JSON.parse(fs.readFileSync(`${dir}/${f}`)), kb));
    }
    fs.appendFileSync(summary, out.join("\n") + "\n");' "$dir" "$label" "$rss" "$SUMMARY" "$ticks" "$hz" "$WARMUP" "$DURATION"
}

echo "== $(date -u +%FT%TZ) bench/http: REPS=$REPS DURATION=$DURATION WARMUP=$WARMUP CONNECTIONS=$CONNECTIONS VARIED_N=$VARIED_N loadgen=$LOADGEN"
for rep in $(seq 1 "$REPS"); do
  for p in $PASSES; do
    echo "== rep $rep/$REPS: $p"
    case "$p" in
      varied-audit)   pass varied-audit 1 true 0 process "cerbos-p10-varied cerbos-p10-audit-varied" ;;
      varied-noaudit) pass varied-noaudit 1 false 0 process "" ;;
      varied-strict)  pass varied-strict 1 true 0 strict "" ;;
      varied-async)   pass varied-async 1 true 0 async "" ;;
      varied-memo)    pass varied-memo 1 true 10000 process "" ;;
      floor)          pass floor 1 - - floor "" ;;
      floor-sqlite)   FLOOR_DB=1 pass floor-sqlite 1 - - floor "" ;;
      repeated)       pass repeated 0 true 10000 process "cerbos-p10" ;;
      *) echo "unknown pass $p"; exit 1 ;;
    esac
  done
done

echo
echo "== medians over $REPS repetitions (label, target, req/s, p50 ms, p99 ms, peak RSS MiB, Argus CPU µs per request; all passes' req/s)"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => l.split("\t"));
  const groups = new Map();
  for (const [label, target, rps, p50, p99, rss, errors, non2xx, cpu] of rows) {
    const k = `${label}\t${target}`; if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push({ rps: +rps, p50: +p50, p99: +p99, rss: +rss, bad: +errors + +non2xx, cpu: +(cpu || 0) });
  }
  const med = new Map();
  const mid = (xs, f) => { const s = xs.map(f).sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  for (const [k, xs] of groups) {
    const m = { rps: mid(xs, (x) => x.rps), p50: mid(xs, (x) => x.p50), p99: mid(xs, (x) => x.p99), rss: mid(xs, (x) => x.rss), cpu: mid(xs, (x) => x.cpu), bad: Math.max(...xs.map((x) => x.bad)) };
    med.set(k, m);
    console.log(`${k}\t${m.rps}\t${m.p50}\t${m.p99}\t${m.rss}${m.cpu ? "\t" + m.cpu + " cpu-us/req" : ""}\t(passes: ${xs.map((x) => x.rps).join(", ")}${m.bad ? "; errors/non-2xx: " + m.bad : ""})`);
  }
  const r = (a, b, f = "rps") => (med.get(a) && med.get(b) ? (med.get(a)[f] / med.get(b)[f]).toFixed(2) + "x" : "n/a");
  console.log(`HEADLINE varied, memo off, audit on: argus / cerbos-p10-varied ${r("varied-audit\targus", "varied-audit\tcerbos-p10-varied")} req/s, p99 ${r("varied-audit\targus", "varied-audit\tcerbos-p10-varied", "p99")}; / cerbos-p10-audit-varied ${r("varied-audit\targus", "varied-audit\tcerbos-p10-audit-varied")}`);
  console.log(`audit on / audit off (varied, memo off): req/s ${r("varied-audit\targus", "varied-noaudit\targus")}, p99 ${r("varied-audit\targus", "varied-noaudit\targus", "p99")}, CPU per request ${r("varied-audit\targus", "varied-noaudit\targus", "cpu")}`);
  console.log(`strict (each commit synced) / process (the default): req/s ${r("varied-strict\targus", "varied-audit\targus")}, p99 ${r("varied-strict\targus", "varied-audit\targus", "p99")}, CPU per request ${r("varied-strict\targus", "varied-audit\targus", "cpu")}`);
  console.log(`group commit / async audit: req/s ${r("varied-audit\targus", "varied-async\targus")}, p99 ${r("varied-audit\targus", "varied-async\targus", "p99")}, CPU per request ${r("varied-audit\targus", "varied-async\targus", "cpu")}`);
  console.log(`Node floor (bench/http/floor.mjs, no decision): floor / cerbos-p10-varied ${r("floor\targus", "varied-audit\tcerbos-p10-varied")} req/s, CPU per request argus / floor ${r("varied-audit\targus", "floor\targus", "cpu")}; durable floor (a SQLite row per request, group commit) / floor ${r("floor-sqlite\targus", "floor\targus")} req/s`);
  console.log(`secondary, one body repeated (memo on, audit on): argus / cerbos-p10 ${r("repeated\targus", "repeated\tcerbos-p10")}`);
' "$SUMMARY"
