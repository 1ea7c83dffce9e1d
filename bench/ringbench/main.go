// Command ringbench measures a 3-node totem ring in network namespaces, ours
// and Debian's corosync 3.1.7 on the same setup, and prints the ratio:
//
//   - throughput (msgs/s, MB/s) for 64 B, 1 KiB and 64 KiB messages, with
//     corosync's own load generator (pload: every node multicasts count
//     messages; each node reports the rate at which it delivered count);
//   - p50/p99 latency with one message in flight (a CPG message from node 1
//     until node 1 delivers it in agreed order): for both through a tiny
//     libcpg client, and for ours also through the node driver in process
//     (the ring without IPC);
//   - RSS of each corosync (the largest seen during the pload run) and the
//     CPU time the three daemons used.
//
// The host is usually shared: both rings run in the same invocation, one
// after the other, so that the ratio compares like with like. corosync runs
// SCHED_RR (system.sched_rr, default yes), and so does ours.
//
// Run as root (make bench runs it through bench/ring-vs-real.sh).
package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"ringmaster/cpg"
	"ringmaster/internal/corolog"
	"ringmaster/internal/testcluster"
	"ringmaster/totem"
	"ringmaster/totem/node"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
	"ringmaster/votequorum"
)

type benchT struct {
	cleanups []func()
	failed   bool
}

func (d *benchT) Helper()                         {}
func (d *benchT) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (d *benchT) Fatalf(format string, args ...any) {
	d.failed = true
	fmt.Fprintf(os.Stderr, "ringbench: "+format+"\n", args...)
	d.cleanup()
	os.Exit(1)
}
func (d *benchT) Cleanup(f func()) { d.cleanups = append(d.cleanups, f) }
func (d *benchT) Failed() bool     { return d.failed }
func (d *benchT) cleanup() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
	d.cleanups = nil
}

const nodes = 3

// schedRR is system.sched_rr for both rings (corosync's default is yes).
var schedRR = pflag.Bool("sched-rr", true, "system.sched_rr for both rings (no: both run at normal priority)")

func conf() string {
	var b strings.Builder
	b.WriteString("totem {\n\tversion: 2\n\tcluster_name: bench\n\ttransport: udpu\n}\n")
	if !*schedRR {
		b.WriteString("system {\n\tsched_rr: no\n}\n")
	}
	b.WriteString("quorum {\n\tprovider: corosync_votequorum\n}\nlogging {\n\tto_stderr: yes\n\tto_syslog: no\n}\nnodelist {\n")
	for i := 1; i <= nodes; i++ {
		fmt.Fprintf(&b, "\tnode {\n\t\tring0_addr: 192.0.2.%d\n\t\tnodeid: %d\n\t}\n", i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

type result struct {
	tps, mbs float64
	rssKiB   int
	cpu, sys float64 // CPU seconds (user+system, system) of the three daemons
	err      string
}

// cpuSeconds is utime+stime and stime of pid from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0, 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, st / 100 // USER_HZ
}

var ploadRE = regexp.MustCompile(`Writes (\d+) bytes per write\s+([\d.]+) seconds runtime,\s+([\d.]+) TP/S,\s+([\d.]+) MB/S`)

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}

// pload runs one pload round on a fresh 3-node ring of bin.
func pload(t *benchT, bin, cmapctl string, size, count int, env []string) result {
	cl := testcluster.New(t, testcluster.Options{Nodes: nodes})
	defer func() {
		// Close is registered with Cleanup too; closing twice is harmless.
		cl.Close()
	}()
	var procs []*testcluster.Proc
	for i := 1; i <= nodes; i++ {
		n := cl.Node(i)
		if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(conf()), 0o644); err != nil {
			return result{err: err.Error()}
		}
		p, err := n.StartEnv("corosync", env, bin, "-f")
		if err != nil {
			return result{err: err.Error()}
		}
		procs = append(procs, p)
	}
	n1 := cl.Node(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _, _ := n1.Exec(ctx, cmapctl, "-b", "runtime.members")
		if strings.Count(out, "status (str) = joined") == nodes {
			break
		}
		if time.Now().After(deadline) {
			return result{err: "ring did not form: " + out}
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	for _, kv := range [][]string{{"pload.count", "u32", strconv.Itoa(count)}, {"pload.size", "u32", strconv.Itoa(size)},
		{"pload.start", "str", node.PloadConsent}} {
		if out, rc, err := n1.Exec(ctx, cmapctl, "-s", kv[0], kv[1], kv[2]); err != nil || rc != 0 {
			return result{err: fmt.Sprintf("cmapctl -s %s: %v %s", kv[0], err, out)}
		}
	}
	var r result
	cpu := make([]float64, len(procs))
	sys := make([]float64, len(procs))
	end := time.Now().Add(4 * time.Minute)
	for time.Now().Before(end) {
		time.Sleep(20 * time.Millisecond)
		done := true
		for i, p := range procs {
			if !p.Exited() {
				done = false
				r.rssKiB = max(r.rssKiB, rssKiB(p.Pid()))
				if c, s := cpuSeconds(p.Pid()); c > 0 {
					cpu[i], sys[i] = c, s
				}
			}
		}
		if done {
			break
		}
	}
	var tps, mbs []float64
	for i, p := range procs {
		p.Kill()
		for _, l := range strings.Split(p.Output(), "\n") {
			if strings.HasPrefix(l, "profile: ") {
				fmt.Fprintf(os.Stderr, "node %d %s\n", i+1, l)
			}
		}
		m := ploadRE.FindStringSubmatch(p.Output())
		if m == nil {
			r.err = fmt.Sprintf("node %d printed no pload result", i+1)
			continue
		}
		a, _ := strconv.ParseFloat(m[3], 64)
		b, _ := strconv.ParseFloat(m[4], 64)
		tps, mbs = append(tps, a), append(mbs, b)
	}
	for i := range cpu {
		r.cpu += cpu[i]
		r.sys += sys[i]
	}
	for i := range tps {
		r.tps += tps[i] / float64(len(tps))
		r.mbs += mbs[i] / float64(len(mbs))
	}
	return r
}

// cpgLatencyC is a libcpg client written against the library's ABI (the
// Debian package ships no headers): join a group, then samples times send
// one message and wait for its delivery; prints the sorted latencies in µs.
const cpgLatencyC = `#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

// cpgLatency runs the libcpg client on node 1 of a 3-node ring of bin.
func cpgLatency(t *benchT, bin, cmapctl string, samples int, env []string) (p50, p99 float64, err error) {
	dir, err := os.MkdirTemp("", "ringbench-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "lat.c")
	exe := filepath.Join(dir, "lat")
	if err := os.WriteFile(src, []byte(cpgLatencyC), 0o644); err != nil {
		return 0, 0, err
	}
	if out, err := exec.Command("gcc", "-O2", "-o", exe, src, "/usr/lib/x86_64-linux-gnu/libcpg.so.4").CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("gcc: %v %s", err, out)
	}
	cl := testcluster.New(t, testcluster.Options{Nodes: nodes})
	defer cl.Close()
	for i := 1; i <= nodes; i++ {
		n := cl.Node(i)
		if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(conf()), 0o644); err != nil {
			return 0, 0, err
		}
		if _, err := n.StartEnv("corosync", env, bin, "-f"); err != nil {
			return 0, 0, err
		}
	}
	n1 := cl.Node(1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _, _ := n1.Exec(ctx, cmapctl, "-b", "runtime.members")
		if strings.Count(out, "status (str) = joined") == nodes {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("ring did not form")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	out, rc, err := n1.Exec(ctx, exe, strconv.Itoa(samples))
	if err != nil || rc != 0 {
		return 0, 0, fmt.Errorf("client: rc %d %v %s", rc, err, out)
	}
	_, err = fmt.Sscanf(strings.TrimSpace(out), "%g %g", &p50, &p99)
	return p50, p99, err
}

// goLatency runs three in-process Go nodes (each with its sockets in its own
// namespace) and times CPG messages from node 1 to their delivery on node 1.
func goLatency(t *benchT, samples int) (p50, p99 float64, err error) {
	cl := testcluster.New(t, testcluster.Options{Nodes: nodes})
	defer cl.Close()
	var ms []transport.Member
	for i := 1; i <= nodes; i++ {
		ms = append(ms, transport.Member{NodeID: wire.NodeID(i), Addr: cl.Node(i).Addr()})
	}
	type gn struct {
		n *node.Node
		c *node.Corosync
	}
	var gs []gn
	delivered := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 1; i <= nodes; i++ {
		var tr *transport.Transport
		if err := cl.Node(i).Do(func() error {
			var err error
			tr, err = transport.Open(transport.Config{Mode: transport.UDPU, LocalAddr: cl.Node(i).Addr(), Members: ms, Framing: wire.V3})
			return err
		}); err != nil {
			return 0, 0, err
		}
		addrs := map[uint32]netip.Addr{}
		var nl []votequorum.NodeVotes
		for _, m := range ms {
			addrs[uint32(m.NodeID)] = m.Addr
			nl = append(nl, votequorum.NodeVotes{ID: uint32(m.NodeID), Votes: 1})
		}
		quiet := func(string, string, corolog.Priority, string, ...any) {}
		c, err := node.NewCorosync(node.CorosyncConfig{NodeID: uint32(i), Addrs: addrs, Log: quiet,
			Votequorum: votequorum.Config{NodeID: uint32(i), Nodelist: nl, LocalPos: i - 1}})
		if err != nil {
			return 0, 0, err
		}
		n, err := node.New(node.Config{Totem: totem.DefaultConfig(wire.NodeID(i), nodes), Transport: tr,
			Services: c.Entries(), Log: quiet})
		if err != nil {
			return 0, 0, err
		}
		c.Attach(n)
		if i == 1 {
			c.OnCPG = func(rd cpg.Ready) {
				for _, d := range rd.Deliveries {
					if d.From.Node == 1 {
						delivered <- struct{}{}
					}
				}
			}
		}
		go n.Run(ctx)
		gs = append(gs, gn{n, c})
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok := true
		for _, g := range gs {
			var synced bool
			var m []totem.NodeID
			_ = g.n.Do(func() { synced, m = g.n.Synced(), g.n.Members() })
			ok = ok && synced && len(m) == nodes
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("Go ring did not form")
		}
		time.Sleep(100 * time.Millisecond)
	}
	g := gs[0]
	_ = g.n.Do(func() { g.c.CPGJoin("bench", 1) })
	time.Sleep(time.Second)
	lat := make([]float64, samples)
	payload := make([]byte, 64)
	for i := range lat {
		t0 := time.Now()
		_ = g.n.Do(func() { g.c.CPGMcast("bench", 1, payload) })
		select {
		case <-delivered:
		case <-time.After(10 * time.Second):
			return 0, 0, fmt.Errorf("message %d not delivered", i)
		}
		lat[i] = float64(time.Since(t0).Microseconds())
	}
	for _, g := range gs {
		g.n.Kill()
		<-g.n.Done()
	}
	sort.Float64s(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}

func main() {
	ours := pflag.String("ours", "bin/corosync", "our corosync binary")
	real := pflag.String("real", "/usr/sbin/corosync", "Debian's corosync binary")
	cmapctl := pflag.String("cmapctl", "/usr/sbin/corosync-cmapctl", "corosync-cmapctl")
	samples := pflag.Int("samples", 1000, "latency samples")
	counts := pflag.IntSlice("counts", []int{1500000, 200000, 4000}, "pload messages per node for 64 B, 1 KiB, 64 KiB")
	onlyLatency := pflag.Bool("only-latency", false, "skip the throughput runs")
	single := pflag.Bool("one-proc-row", false, "also measure ours with GOMAXPROCS=1")
	sizes := pflag.IntSlice("sizes", []int{64, 1024, 65536}, "payload sizes to measure (of 64, 1024, 65536)")
	oursEnv := pflag.StringSlice("ours-env", nil, "extra environment for our corosync (e.g. GOMAXPROCS=2)")
	profile := pflag.String("profile", "", "directory for CPU/heap profiles and ring counters of our corosync (RINGMASTER_PROFILE_DIR)")
	pflag.Parse()
	// The daemons start inside each node's own namespaces and working
	// directory: a relative binary path would not resolve there.
	if abs, err := filepath.Abs(*ours); err == nil {
		*ours = abs
	}
	if os.Geteuid() != 0 {
		fmt.Println("ringbench: needs root (network namespaces); skipped")
		return
	}
	t := &benchT{}
	defer t.cleanup()
	fmt.Printf("3-node udpu ring in network namespaces; pload (corosync's load generator) on every node\n")
	fmt.Printf("%-8s %14s %14s %10s | %14s %14s %10s | %s\n", "size", "ours msgs/s", "real msgs/s", "ours MB/s", "real MB/s", "ours RSS KiB", "real RSS KiB", "ours/real msgs/s")
	ourEnv := append([]string(nil), *oursEnv...)
	if *profile != "" {
		ourEnv = append(ourEnv, "RINGMASTER_PROFILE_DIR="+*profile)
	}
	for i, size := range []int{64, 1024, 65536} {
		if *onlyLatency {
			break
		}
		if !slices.Contains(*sizes, size) {
			continue
		}
		count := 1000
		if i < len(*counts) {
			count = (*counts)[i]
		}
		o := pload(t, *ours, *cmapctl, size, count, ourEnv)
		r := pload(t, *real, *cmapctl, size, count, nil)
		ratio := "n/a"
		if r.tps > 0 {
			ratio = fmt.Sprintf("%.2f", o.tps/r.tps)
		}
		fmt.Printf("%-8d %14.0f %14.0f %10.2f | %14.2f %14d %10d | %s\n", size, o.tps, r.tps, o.mbs, r.mbs, o.rssKiB, r.rssKiB, ratio)
		fmt.Printf("%-8s CPU s of the 3 daemons (user+sys, last 20 ms sample): ours %.2f (sys %.2f)  real %.2f (sys %.2f)\n", "", o.cpu, o.sys, r.cpu, r.sys)
		o1 := result{}
		if *single {
			// corosync is single-threaded; ours on one P for comparison.
			o1 = pload(t, *ours, *cmapctl, size, count, append([]string{"GOMAXPROCS=1"}, ourEnv...))
			fmt.Printf("%-8s %14.0f %14s %10.2f | %14s %14d %10s | %.2f  (ours with GOMAXPROCS=1)\n", "", o1.tps, "", o1.mbs, "", o1.rssKiB, "", o1.tps/max(r.tps, 1))
		}
		for _, e := range []string{o.err, r.err, o1.err} {
			if e != "" {
				fmt.Printf("   note: %s\n", e)
			}
		}
	}
	gp50, gp99, gerr := goLatency(t, *samples)
	op50, op99, oerr := cpgLatency(t, *ours, *cmapctl, *samples, ourEnv)
	rp50, rp99, rerr := cpgLatency(t, *real, *cmapctl, *samples, nil)
	fmt.Printf("latency, one 64 B CPG message in flight, node 1 -> delivered on node 1 (%d samples):\n", *samples)
	line := func(what string, p50, p99 float64, err error) {
		if err != nil {
			fmt.Printf("  %-32s %v\n", what, err)
			return
		}
		fmt.Printf("  %-32s p50 %6.0f µs  p99 %6.0f µs\n", what, p50, p99)
	}
	line("ours (libcpg client over IPC):", op50, op99, oerr)
	line("real (libcpg client over IPC):", rp50, rp99, rerr)
	line("ours (in-process, no IPC):", gp50, gp99, gerr)
	if oerr == nil && rerr == nil && rp50 > 0 {
		fmt.Printf("  ratio ours/real (libcpg) p50 %.2f  p99 %.2f\n", op50/rp50, op99/rp99)
	}
}
