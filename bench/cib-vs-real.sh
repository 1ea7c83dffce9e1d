#!/usr/bin/env bash
# CIB update throughput (cib_modify through IPC, 1 and 8 concurrent clients),
# crm_mon -1 latency and pacemaker-based RSS on a 32-node x 2000-resource CIB
# (shared/bench/gen-cib.py, cold status; --status warm for the 43 MB one with
# full operation history): our corosync + pacemakerd + pacemaker-based
# against Debian's corosync + pacemaker-based + pacemaker-fenced (Pacemaker
# 2.1.5, launched by our pacemakerd; --real-pacemakerd for Debian's), one after the other
# in network namespaces (needs root). Extra flags go to cibbench (e.g.
# --clients 1,4,16 --duration 20s --real-pacemakerd).
set -euo pipefail
cd "$(dirname "$0")/.."
for b in corosync pacemakerd pacemaker-based pacemaker-fenced crm_mon; do
	[ -x "bin/$b" ] || go build -o bin/ "./cmd/$b"
done
exec go run ./bench/cibbench "$@"
