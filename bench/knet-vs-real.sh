#!/usr/bin/env bash
# Ring throughput, latency and memory over knet with aes256/sha256: rings of 2
# and 3 of our corosync and of Debian's corosync 3.1.7 (libknet 1.25), side by
# side, in network namespaces (needs root). Extra flags go to knetbench
# (e.g. --nodes 2 --sizes 1024 --compress lz4).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x bin/corosync ] || go build -o bin/ ./cmd/corosync
exec go run ./bench/knetbench "$@"
