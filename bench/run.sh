#!/usr/bin/env bash
# make bench: every Go benchmark in the tree, then the side-by-side comparisons with
# the real programs (bench/*-vs-real.sh), each printing its ratio. Benchmarks, not
# tests: nothing here passes or fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== Go benchmarks"
go test -run '^$' -bench . -benchmem ./... 2>&1 | grep -Ev '^(PASS|ok|\?)\s' || true
for s in bench/*-vs-real.sh; do
	[ -e "$s" ] || continue
	echo "== $s"
	"$s"
done
