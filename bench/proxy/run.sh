#!/usr/bin/env bash
# Proxy benchmark: argus vs a bare http-proxy-middleware proxy vs the upstream directly.
# Proxies pinned to core 0; upstream and load generator to core 1. About 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec taskset -c 1 node --import tsx bench/proxy/run.ts "$@"
