#!/usr/bin/env bash
# Ring throughput, latency and memory: a 3-node ring of our corosync and one of
# Debian's corosync 3.1.7, side by side, in network namespaces (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
# Always rebuild: a stale bin/corosync would measure old code.
go build -o bin/ ./cmd/corosync
exec go run ./bench/ringbench "$@"
