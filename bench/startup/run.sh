#!/usr/bin/env bash
# Start-up figures of the `argus` command, median of RUNS (default 5), beside `node -e 0`:
#   argus --help wall time, argus serve until GET /healthz answers 200, idle RSS of argus serve.
# Targets (issue 18): --help ≤ 0.4 s, /healthz ≤ 1.5 s, idle RSS ≤ 150 MB.
# Usage: bash bench/startup/run.sh [--runs N] [--bin apps/cli/bin/argus.mjs] [--json]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node bench/startup/measure.mjs "$@"
