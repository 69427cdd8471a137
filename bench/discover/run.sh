#!/usr/bin/env bash
# Discovery scan-rate benchmark: 2,000 loopback ports, 20 live servers, Argus vs a TCP-connect floor.
# Servers pinned to core 0 (inside scan-rate.ts), the scanner to core 1. Bounded: ~1 minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec timeout 300 taskset -c "${SCANNER_CPU:-1}" node --expose-gc --import tsx bench/discover/scan-rate.ts
