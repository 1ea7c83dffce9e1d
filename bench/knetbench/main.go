// Command knetbench measures a totem ring over knet with aes256/sha256 crypto,
// ours against Debian's corosync 3.1.7 + libknet 1.25, on 2 and 3 nodes in
// network namespaces, and prints the ratios:
//
//   - throughput (msgs/s, MB/s) for 64 B, 1 KiB and 64 KiB messages with
//     corosync's own load generator (pload: every node multicasts count
//     messages; each reports the rate at which it delivered them);
//   - the largest RSS of each corosync during the run;
//   - p50/p99 latency of one 64 B CPG message in flight (node 1 sends, node 1
//     delivers in agreed order) through a small libcpg client, the same
//     client against both daemons.
//
// The anchor for real knet aes256/sha256 on 2 nodes: 16.1k msgs/s at
// 1 KiB, 1062 msgs/s (70 MB/s) at 64 KiB, RSS ~105 MB; the goal is at least
// 1.5x the throughput at no more than half the memory.
//
// Run as root (make bench runs it through bench/knet-vs-real.sh).
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"ringmaster/internal/testcluster"
	"ringmaster/totem/node"
)

// benchT satisfies testcluster.T outside a test.
type benchT struct{ cleanups []func() }

func (d *benchT) Helper()                         {}
func (d *benchT) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (d *benchT) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "knetbench: "+format+"\n", args...)
	d.cleanup()
	os.Exit(1)
}
func (d *benchT) Cleanup(f func()) { d.cleanups = append(d.cleanups, f) }
func (d *benchT) Failed() bool     { return false }
func (d *benchT) cleanup() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
	d.cleanups = nil
}

// conf is the benchmark's corosync.conf: knet, aes256/sha256, n nodes,
// everything else corosync's defaults.
func conf(n int, compress string) string {
	var b strings.Builder
	b.WriteString("totem {\n\tversion: 2\n\tcluster_name: knetbench\n\ttransport: knet\n")
	b.WriteString("\tcrypto_cipher: aes256\n\tcrypto_hash: sha256\n")
	if compress != "" && compress != "none" {
		fmt.Fprintf(&b, "\tknet_compression_model: %s\n", compress)
	}
	b.WriteString("}\nquorum {\n\tprovider: corosync_votequorum\n}\nlogging {\n\tto_stderr: yes\n\tto_syslog: no\n}\nnodelist {\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "\tnode {\n\t\tring0_addr: 192.0.2.%d\n\t\tname: node%02d\n\t\tnodeid: %d\n\t}\n", i, i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

type result struct {
	tps, mbs float64
	rssKiB   int
	err      string
}

var showStats = pflag.Bool("show-stats", false, "print node 1's retransmit, token-loss and drop counters as last seen during each pload run")

var ploadRE = regexp.MustCompile(`Writes (\d+) bytes per write\s+([\d.]+) seconds runtime,\s+([\d.]+) TP/S,\s+([\d.]+) MB/S`)

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			if f := strings.Fields(l); len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}

// ring starts corosync (bin) on n fresh namespaced nodes with one authkey
// and waits until node 1 lists all of them as joined.
func ring(t *benchT, bin, cmapctl string, n int, compress string, env []string) (*testcluster.Cluster, []*testcluster.Proc, error) {
	cl := testcluster.New(t, testcluster.Options{Nodes: n})
	key := make([]byte, 256)
	if _, err := rand.Read(key); err != nil {
		return cl, nil, err
	}
	var procs []*testcluster.Proc
	for i := 1; i <= n; i++ {
		nd := cl.Node(i)
		if err := nd.WriteFile("/etc/corosync/corosync.conf", []byte(conf(n, compress)), 0o644); err != nil {
			return cl, procs, err
		}
		if err := nd.WriteFile("/etc/corosync/authkey", key, 0o400); err != nil {
			return cl, procs, err
		}
		p, err := nd.StartEnv("corosync", env, bin, "-f")
		if err != nil {
			return cl, procs, err
		}
		procs = append(procs, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _, _ := cl.Node(1).Exec(ctx, cmapctl, "-b", "runtime.members")
		if strings.Count(out, "status (str) = joined") == n {
			break
		}
		if time.Now().After(deadline) {
			return cl, procs, fmt.Errorf("ring did not form: %s\nnode 1 output:\n%s", out, procs[0].Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // links settle, PMTUd done
	return cl, procs, nil
}

// pload runs one pload round on a fresh n-node ring of bin.
func pload(t *benchT, bin, cmapctl string, n, size, count int, compress string, env []string) result {
	cl, procs, err := ring(t, bin, cmapctl, n, compress, env)
	defer cl.Close()
	if err != nil {
		return result{err: err.Error()}
	}
	n1 := cl.Node(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var r result
	for _, p := range procs {
		r.rssKiB = max(r.rssKiB, rssKiB(p.Pid()))
	}
	for _, kv := range [][]string{{"pload.count", "u32", strconv.Itoa(count)}, {"pload.size", "u32", strconv.Itoa(size)},
		{"pload.start", "str", node.PloadConsent}} {
		if out, rc, err := n1.Exec(ctx, cmapctl, "-s", kv[0], kv[1], kv[2]); err != nil || rc != 0 {
			return result{err: fmt.Sprintf("cmapctl -s %s: %v %s", kv[0], err, out)}
		}
	}
	end := time.Now().Add(4 * time.Minute)
	lastStats := ""
	for time.Now().Before(end) {
		if *showStats {
			c2, cancel2 := context.WithTimeout(ctx, time.Second)
			if out, rc, _ := n1.Exec(c2, cmapctl, "-m", "stats"); rc == 0 {
				lastStats = out
			}
			cancel2()
		}
		done := true
		for _, p := range procs {
			if !p.Exited() {
				done = false
				r.rssKiB = max(r.rssKiB, rssKiB(p.Pid()))
			}
		}
		if done {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if *showStats {
		for _, l := range strings.Split(lastStats, "\n") {
			if strings.Contains(l, "retx") || strings.Contains(l, "token_lost") || strings.Contains(l, "dropped") || strings.Contains(l, "entered") || strings.Contains(l, "errors (u") && !strings.HasSuffix(l, "= 0") {
				fmt.Fprintf(os.Stderr, "  node 1 %s: %s\n", filepath.Base(bin), l)
			}
		}
	}
	var tps, mbs []float64
	for i, p := range procs {
		p.Kill()
		m := ploadRE.FindStringSubmatch(p.Output())
		if m == nil {
			r.err = fmt.Sprintf("node %d printed no pload result", i+1)
			continue
		}
		a, _ := strconv.ParseFloat(m[3], 64)
		b, _ := strconv.ParseFloat(m[4], 64)
		tps, mbs = append(tps, a), append(mbs, b)
	}
	for i := range tps {
		r.tps += tps[i] / float64(len(tps))
		r.mbs += mbs[i] / float64(len(mbs))
	}
	return r
}

// cpgLatencyC is a libcpg client written against the library's ABI (the
// Debian package ships no headers): join a group, then samples times send
// one 64-byte message and wait for its delivery; prints p50 and p99 in µs.
const cpgLatencyC = `#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <sys/uio.h>
typedef uint64_t cpg_handle_t;
struct cpg_name { uint32_t length; char value[128]; };
typedef void (*deliver_fn)(cpg_handle_t, const struct cpg_name *, uint32_t, uint32_t, void *, size_t);
typedef void (*confchg_fn)(cpg_handle_t, const struct cpg_name *, const void *, size_t, const void *, size_t, const void *, size_t);
typedef struct { deliver_fn d; confchg_fn c; } cpg_callbacks_t;
int cpg_initialize(cpg_handle_t *, cpg_callbacks_t *);
int cpg_join(cpg_handle_t, const struct cpg_name *);
int cpg_mcast_joined(cpg_handle_t, int, const struct iovec *, unsigned int);
int cpg_dispatch(cpg_handle_t, int);
static volatile int got;
static void d(cpg_handle_t h, const struct cpg_name *g, uint32_t n, uint32_t p, void *m, size_t l) { got = 1; }
static void c(cpg_handle_t h, const struct cpg_name *g, const void *a, size_t b, const void *e, size_t f, const void *x, size_t y) {}
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
	int n = atoi(argv[1]), i, r;
	cpg_handle_t h; cpg_callbacks_t cb = { d, c }; struct cpg_name g = { 5, "bench" };
	char buf[64] = "ping"; struct iovec iov = { buf, sizeof buf };
	double *lat = calloc(n, sizeof *lat);
	if ((r = cpg_initialize(&h, &cb)) != 1) { fprintf(stderr, "cpg_initialize %d\n", r); return 1; }
	if ((r = cpg_join(h, &g)) != 1) { fprintf(stderr, "cpg_join %d\n", r); return 1; }
	for (i = 0; i < 100; i++) { cpg_dispatch(h, 2); struct timespec z = { 0, 10000000 }; nanosleep(&z, 0); }
	for (i = 0; i < n; i++) {
		double t0 = now();
		got = 0;
		while ((r = cpg_mcast_joined(h, 2, &iov, 1)) == 6) ;
		if (r != 1) { fprintf(stderr, "mcast %d\n", r); return 1; }
		while (!got) cpg_dispatch(h, 2);
		lat[i] = now() - t0;
	}
	qsort(lat, n, sizeof *lat, cmp);
	printf("%.1f %.1f\n", lat[n / 2], lat[n * 99 / 100]);
	return 0;
}
`

func buildClient() (string, func(), error) {
	dir, err := os.MkdirTemp("", "knetbench-")
	if err != nil {
		return "", nil, err
	}
	src, exe := filepath.Join(dir, "lat.c"), filepath.Join(dir, "lat")
	if err := os.WriteFile(src, []byte(cpgLatencyC), 0o644); err != nil {
		return "", nil, err
	}
	if out, err := exec.Command("gcc", "-O2", "-o", exe, src, "/usr/lib/x86_64-linux-gnu/libcpg.so.4").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("gcc: %v %s", err, out)
	}
	return exe, func() { os.RemoveAll(dir) }, nil
}

// latency runs the libcpg client on node 1 of a fresh n-node ring of bin.
func latency(t *benchT, client, bin, cmapctl string, n, samples int) (p50, p99 float64, err error) {
	cl, _, err := ring(t, bin, cmapctl, n, "", nil)
	defer cl.Close()
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, rc, err := cl.Node(1).Exec(ctx, client, strconv.Itoa(samples))
	if err != nil || rc != 0 {
		return 0, 0, fmt.Errorf("client: rc %d %v %s", rc, err, out)
	}
	_, err = fmt.Sscanf(strings.TrimSpace(out), "%g %g", &p50, &p99)
	return p50, p99, err
}

func ratio(a, b float64) string {
	if b <= 0 || a <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func main() {
	ours := pflag.String("ours", "bin/corosync", "our corosync binary")
	real := pflag.String("real", "/usr/sbin/corosync", "Debian's corosync binary")
	cmapctl := pflag.String("cmapctl", "/usr/sbin/corosync-cmapctl", "corosync-cmapctl")
	samples := pflag.Int("samples", 1000, "latency samples")
	nodeCounts := pflag.IntSlice("nodes", []int{2, 3}, "ring sizes")
	sizes := pflag.IntSlice("sizes", []int{64, 1024, 65536}, "message sizes")
	counts := pflag.IntSlice("counts", []int{200000, 50000, 2000}, "pload messages per node, one per size")
	compress := pflag.String("compress", "", "knet_compression_model for the throughput runs (default: none, corosync's)")
	noLatency := pflag.Bool("no-latency", false, "skip the latency runs")
	pflag.Parse()
	if os.Geteuid() != 0 {
		fmt.Println("knetbench: needs root (network namespaces); skipped")
		return
	}
	for _, p := range []*string{ours, real} {
		if abs, err := filepath.Abs(*p); err == nil {
			*p = abs // the daemons start inside the nodes' namespaces
		}
	}
	t := &benchT{}
	defer t.cleanup()
	fmt.Printf("knet ring, aes256/sha256, in network namespaces; pload (corosync's load generator) on every node")
	if *compress != "" {
		fmt.Printf("; knet_compression_model %s", *compress)
	}
	fmt.Println()
	fmt.Printf("%-5s %-6s %12s %12s %9s %9s %10s %10s | %8s %8s\n", "nodes", "size", "ours msg/s", "real msg/s", "ours MB/s", "real MB/s", "ours RSS", "real RSS", "tput o/r", "RSS o/r")
	for _, n := range *nodeCounts {
		for i, size := range *sizes {
			count := 1000
			if i < len(*counts) {
				count = (*counts)[i]
			}
			o := pload(t, *ours, *cmapctl, n, size, count, *compress, nil)
			r := pload(t, *real, *cmapctl, n, size, count, *compress, nil)
			fmt.Printf("%-5d %-6d %12.0f %12.0f %9.2f %9.2f %7d KiB %6d KiB | %8s %8s\n", n, size, o.tps, r.tps, o.mbs, r.mbs,
				o.rssKiB, r.rssKiB, ratio(o.tps, r.tps), ratio(float64(o.rssKiB), float64(r.rssKiB)))
			for _, e := range []string{o.err, r.err} {
				if e != "" {
					fmt.Printf("   note: %s\n", e)
				}
			}
		}
	}
	if *noLatency {
		return
	}
	client, rm, err := buildClient()
	if err != nil {
		fmt.Printf("latency: %v\n", err)
		return
	}
	defer rm()
	fmt.Printf("latency, one 64 B CPG message in flight, node 1 -> delivered on node 1 (%d samples, libcpg client):\n", *samples)
	for _, n := range *nodeCounts {
		op50, op99, oerr := latency(t, client, *ours, *cmapctl, n, *samples)
		rp50, rp99, rerr := latency(t, client, *real, *cmapctl, n, *samples)
		for _, l := range []struct {
			who      string
			p50, p99 float64
			err      error
		}{{"ours", op50, op99, oerr}, {"real", rp50, rp99, rerr}} {
			if l.err != nil {
				fmt.Printf("  %d nodes %-5s %v\n", n, l.who, l.err)
				continue
			}
			fmt.Printf("  %d nodes %-5s p50 %7.0f µs  p99 %7.0f µs\n", n, l.who, l.p50, l.p99)
		}
		if oerr == nil && rerr == nil {
			fmt.Printf("  %d nodes ratio ours/real p50 %s  p99 %s\n", n, ratio(op50, rp50), ratio(op99, rp99))
		}
	}
}
