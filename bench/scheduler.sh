#!/bin/sh
# Scheduler speed, ours against Pacemaker 2.1.5's crm_simulate, on the same
# synthetic CIBs (pengine.BigCIB): NODESxRESOURCES, graph only (-G -Q; the
# real tool's -S execution simulation is far slower and not compared).
# Prints CPU seconds (user+sys), peak RSS and the ratio. Usage:
#   bench/scheduler.sh [16x200 16x1000 ...]
set -eu
cd "$(dirname "$0")/.."
sizes=${*:-"4x50 16x200 16x1000"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/crm_simulate" ./cmd/crm_simulate
measure() { # prints "cpu_seconds max_rss_kb"
	/usr/bin/time -f "%U %S %M" -o "$tmp/t" "$@" >/dev/null 2>&1 || true
	awk '{printf "%.3f %d\n", $1+$2, $3}' "$tmp/t"
}
printf '%-10s %10s %10s %10s %10s %8s %10s\n' size ours_cpu ours_rss real_cpu real_rss ratio synapses
for s in $sizes; do
	PENGINE_BIGCIB="$tmp/$s.xml" PENGINE_BIGCIB_SIZE="$s" go test -count=1 -run TestWriteBigCIB ./pengine >/dev/null
	set -- $(measure "$tmp/crm_simulate" -x "$tmp/$s.xml" -G "$tmp/ours.xml" -Q)
	ours=$1 ours_rss=$2
	if command -v crm_simulate >/dev/null 2>&1; then
		set -- $(measure env CIB_shadow_dir="$tmp" crm_simulate -x "$tmp/$s.xml" -G "$tmp/real.xml" -Q)
		real=$1 real_rss=$2
	else
		real=nan real_rss=0
	fi
	syn=$(grep -c '<synapse' "$tmp/ours.xml" || true)
	ratio=$(awk -v a="$real" -v b="$ours" 'BEGIN{ if (b > 0 && a == a) printf "%.1fx", a/b; else print "-" }')
	printf '%-10s %10s %10s %10s %10s %8s %10s\n' "$s" "$ours" "$ours_rss" "$real" "$real_rss" "$ratio" "$syn"
done
