#!/usr/bin/env bash
# `npm run bench`: AtomicCluster (system containers) through the real Pulumi CLI against simulated clusters of
# 1, 4, 12 and 24 hosts, 25 ms each way on the SSH path, SSH connection reuse on and off. Writes
# bench/results/latest.{json,md,png}. Options (after `--`): --hosts 1,4  --modes on,off  --latency-ms 25
# --max-unavailable N  --out DIR  --timeout-minutes 30. Needs root and Linux (the simulator's namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
# Setup is quiet when all is in place; its output is shown only when it fails.
if ! out="$(bash scripts/setup 2>&1)"; then printf '%s\n' "$out" >&2; exit 1; fi
exec npx ts-node --transpile-only --project tests/tsconfig.json scripts/bench.ts "$@"
