package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

// These tests run our corosync inside a network namespace node, as
// shared/conformance/corosync/harness/node.sh ran the real one, and check it with
// the real Debian tools.

var tsRE = regexp.MustCompile(`(?m)^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d(\.\d{3})? `)

var cleanExitRE = regexp.MustCompile(`notice  \[MAIN  \] (_corosync_exit_error )?Corosync Cluster Engine exiting normally\n$`)

// execIn runs a command in the node with a deadline, so that a client stuck on
// a daemon that stopped answering fails the test instead of hanging it.
func execIn(n *testcluster.Node, argv ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	return n.Exec(ctx, argv...)
}

const execTimeout = 30 * time.Second

func maskTimestamps(s string) string { return tsRE.ReplaceAllString(s, "TS ") }

func expected(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "expected", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exitCodes(t *testing.T, config string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, l := range strings.Split(expected(t, config+".exitcodes"), "\n") {
		var k string
		var v int
		if n, _ := fmt.Sscanf(l, "%s %d", &k, &v); n == 2 {
			out[k] = v
		}
	}
	return out
}

func configs(t *testing.T) []string {
	t.Helper()
	ms, err := filepath.Glob(testenv.Shared(t, "conformance", "corosync", "configs", "*.conf"))
	if err != nil || len(ms) == 0 {
		t.Fatalf("no conformance configs: %v", err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, strings.TrimSuffix(filepath.Base(m), ".conf"))
	}
	sort.Strings(out)
	return out
}

func newNode(t *testing.T) (*testcluster.Node, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespace test")
	}
	testenv.RequireRoot(t)
	bin := testenv.GoBinary(t, "corosync")
	c := testcluster.New(t, testcluster.Options{Nodes: 1, ExtraAddrs: map[int][]string{1: {"192.0.2.101/24"}}})
	// The node resolves the other nodes' names as the reference runs did.
	hosts, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "harness", "hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir(), "hosts"), hosts, 0o644); err != nil {
		t.Fatal(err)
	}
	return c.Node(1), bin
}

func installConfig(t *testing.T, n *testcluster.Node, name string) {
	t.Helper()
	data, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "configs", name+".conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WriteFile("/etc/corosync/corosync.conf", data, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(n.HostPath("/etc/corosync/authkey"))
	if name == "knet-crypto" || name == "bad-crypto-udpu" {
		key, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "configs", "knet-crypto.authkey"))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.WriteFile("/etc/corosync/authkey", key, 0o400); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCorosyncT runs our `corosync -t` on every conformance configuration and
// compares output (timestamps masked) and exit code with the real one's.
func TestCorosyncT(t *testing.T) {
	n, bin := newNode(t)
	pass := 0
	all := configs(t)
	for _, name := range all {
		file := name + ".corosync-t"
		code := "corosync-t"
		if strings.HasPrefix(name, "bad-") {
			if _, err := os.Stat(testenv.Shared(t, "conformance", "corosync", "expected", name+".error")); err == nil {
				file = name + ".error"
			}
		}
		installConfig(t, n, name)
		out, rc, err := execIn(n, bin, "-t")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := expected(t, file)
		wantRC := exitCodes(t, name)[code]
		if maskTimestamps(out) != maskTimestamps(want) || rc != wantRC {
			t.Errorf("%s: corosync -t exit %d, want %d\n--- got\n%s--- want\n%s", name, rc, wantRC, out, want)
			continue
		}
		pass++
	}
	t.Logf("corosync -t: %d of %d configurations identical", pass, len(all))
}

// liveKey reports whether a key belongs to state our corosync does not have yet
// (no ring: membership, quorum) or whose value is volatile (message counters).
func liveKey(line string) (skip, maskValue bool) {
	k, _, _ := strings.Cut(line, " (")
	switch {
	case strings.HasPrefix(k, "runtime.members."), strings.HasPrefix(k, "runtime.votequorum."):
		return true, false
	case strings.HasPrefix(k, "runtime.services.") && (strings.HasSuffix(k, ".rx") || strings.HasSuffix(k, ".tx")):
		return false, true
	}
	return false, false
}

func normaliseDump(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		skip, mask := liveKey(l)
		if skip {
			continue
		}
		if mask {
			if i := strings.Index(l, " = "); i >= 0 {
				l = l[:i] + " = N"
			}
		}
		out = append(out, l)
	}
	return out
}

func startCorosync(t *testing.T, n *testcluster.Node, bin string) *testcluster.Proc {
	t.Helper()
	p, err := n.Start("corosync", bin, "-f")
	if err != nil {
		t.Fatal(err)
	}
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	for i := 0; i < 100; i++ {
		if p.Exited() {
			t.Fatalf("corosync exited: %v\n%s", p.Wait(0), p.Output())
		}
		if out, _, _ := execIn(n, cmapctl, "-g", "runtime.force_gather"); strings.Contains(out, "runtime.force_gather") {
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("corosync never served cmap\n%s", p.Output())
	return nil
}

func stopCorosync(t *testing.T, p *testcluster.Proc) {
	t.Helper()
	stopCorosyncWith(t, p, syscall.SIGTERM)
}

// stopCorosyncWith stops corosync with one of its exit signals (TERM, INT, QUIT)
// and checks the clean shutdown.
func stopCorosyncWith(t *testing.T, p *testcluster.Proc, sig syscall.Signal) {
	t.Helper()
	if err := p.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(15 * time.Second); err != nil {
		t.Fatalf("corosync did not exit cleanly: %v\n%s", err, p.Output())
	}
	if !cleanExitRE.MatchString(p.Output()) {
		t.Errorf("no clean-exit line:\n%s", p.Output())
	}
}

// TestRealCmapctlDump serves each valid configuration with our corosync and lists
// it with the real corosync-cmapctl: every key the real daemon had, except
// membership and quorum state (no ring yet), must be there with the same type and
// value, and nothing else.
func TestRealCmapctlDump(t *testing.T) {
	n, bin := newNode(t)
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	pass, total := 0, 0
	for _, name := range configs(t) {
		if _, err := os.Stat(testenv.Shared(t, "conformance", "corosync", "expected", name+".cmapctl")); err != nil {
			continue
		}
		total++
		t.Run(name, func(t *testing.T) {
			installConfig(t, n, name)
			p := startCorosync(t, n, bin)
			defer stopCorosync(t, p)
			out, rc, err := execIn(n, cmapctl)
			if err != nil || rc != 0 {
				t.Fatalf("cmapctl rc %d %v\n%s", rc, err, out)
			}
			got, want := normaliseDump(out), normaliseDump(expected(t, name+".cmapctl"))
			if d := diffLines(got, want); d != "" {
				t.Errorf("dump differs (-ours +real):\n%s", d)
				return
			}
			pass++
		})
	}
	t.Logf("real corosync-cmapctl against our corosync: %d of %d configurations identical (membership/quorum keys masked)", pass, total)
}

// diffLines is a small set difference, enough to read a failure.
func diffLines(got, want []string) string {
	in := func(s []string) map[string]bool {
		m := map[string]bool{}
		for _, l := range s {
			m[l] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var b strings.Builder
	for _, l := range got {
		if !w[l] {
			b.WriteString("-" + l + "\n")
		}
	}
	for _, l := range want {
		if !g[l] {
			b.WriteString("+" + l + "\n")
		}
	}
	if b.Len() == 0 && strings.Join(got, "\n") != strings.Join(want, "\n") {
		return "same lines, different order\n"
	}
	return b.String()
}

// TestRealCmapctlOperations drives our corosync with the real corosync-cmapctl:
// get, prefixes, set, delete, access errors, the stats map and tracking.
func TestRealCmapctlOperations(t *testing.T) {
	n, bin := newNode(t)
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	installConfig(t, n, "s1-two-node-udpu")
	p := startCorosync(t, n, bin)
	defer stopCorosync(t, p)
	ctx := context.Background()
	run := func(args ...string) (string, int) {
		t.Helper()
		out, rc, err := execIn(n, append([]string{cmapctl}, args...)...)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return out, rc
	}
	for _, c := range []struct {
		args []string
		file string
	}{
		{[]string{"-g", "totem.cluster_name"}, "cmapctl-g-cluster_name"},
		{[]string{"-g", "totem.no_such_key"}, "cmapctl-g-missing"},
		{[]string{"totem."}, "cmapctl-prefix-totem"},
		{[]string{"nodelist.", "quorum."}, "cmapctl-prefix-nodelist-quorum"},
		{[]string{"-h"}, "cmapctl-h"},
	} {
		out, rc := run(c.args...)
		want := expected(t, "s1-two-node-udpu."+c.file)
		if out != want || rc != exitCodes(t, "s1-two-node-udpu")[c.file] {
			t.Errorf("%q: rc %d\n%s--- want\n%s", c.args, rc, out, want)
		}
	}
	for _, s := range []struct {
		args []string
		out  string
		rc   int
	}{
		{[]string{"-s", "test.u32", "u32", "42"}, "", 0},
		{[]string{"-s", "test.str", "str", "hello world"}, "", 0},
		{[]string{"-s", "test.dbl", "dbl", "0.5"}, "", 0},
		{[]string{"-s", "test.i8", "i8", "--", "-7"}, "", 0},
		{[]string{"test."}, "test.dbl (dbl) = 0.500000\ntest.i8 (i8) = -7\ntest.str (str) = hello world\ntest.u32 (u32) = 42\n", 0},
		{[]string{"-q", "-g", "test.str"}, "hello world\n", 0},
		{[]string{"-s", "totem.cluster_name", "str", "x"}, "Failed to set key totem.cluster_name. Error CS_ERR_ACCESS\n", 1},
		{[]string{"-d", "nodelist.node.0.name"}, "Can't delete key nodelist.node.0.name. Error CS_ERR_ACCESS\n", 1},
		{[]string{"-s", "x", "u8", "1"}, "Failed to set key x. Error CS_ERR_NAME_TOO_LONG\n", 1},
		{[]string{"-d", "test.u32"}, "", 0},
		{[]string{"-g", "test.u32"}, "Can't get key test.u32. Error CS_ERR_NOT_EXIST\n", 1},
		{[]string{"-D", "test."}, "", 0},
		{[]string{"test."}, "", 1},
		{[]string{"-m", "stats", "stats.ipcs.global."}, "stats.ipcs.global.active (u64) = 1\nstats.ipcs.global.closed (u64) = ", 0},
	} {
		out, rc := run(s.args...)
		if !strings.HasPrefix(out, s.out) || (s.out == "" && out != "") || rc != s.rc {
			t.Errorf("%q: rc %d %q, want rc %d %q", s.args, rc, out, s.rc, s.out)
		}
	}
	// Only root and uidgid.* users may connect (cs_ipcs_connection_accept).
	nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", cmapctl, "-g", "totem.version"}
	if out, rc, _ := execIn(n, nobody...); rc != 1 || out != "Failed to initialize the cmap API. Error CS_ERR_ACCESS\n" {
		t.Errorf("unprivileged client: rc %d %q", rc, out)
	}
	if !strings.Contains(p.Output(), "error   [MAIN  ] Denied connection attempt from 65534:65534") {
		t.Errorf("no denial logged")
	}

	// Logging follows logging.* changes at run time.
	if strings.Contains(p.Output(), "lib_init_fn") {
		t.Errorf("debug lines before logging.debug was set")
	}
	run("-s", "logging.debug", "str", "on")
	run("-g", "totem.version")
	if !strings.Contains(p.Output(), "debug   [CMAP  ] lib_init_fn: conn=") {
		t.Errorf("logging.debug=on did not take effect:\n%s", p.Output())
	}
	run("-s", "logging.debug", "str", "off")
	out, _ := run("-m", "stats", "stats.ipcs.service0.")
	if !strings.Contains(out, ".procname (str) = corosync-cmapct\n") || !strings.Contains(out, ".requests (u64) = ") {
		t.Errorf("stats of this connection:\n%s", out)
	}

	// Tracking: a real cmapctl -T prints what other clients change.
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tracker := n.Command(tctx, cmapctl, "-T", "track.")
	stdin, err := tracker.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var tout strings.Builder
	tracker.Stdout = &tout
	if err := tracker.Start(); err != nil {
		t.Fatal(err)
	}
	// The tracker has registered once its connection shows in the stats map.
	for i := 0; i < 100; i++ {
		if o, _ := run("-m", "stats", "stats.ipcs.global.active"); strings.Contains(o, "= 2") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	run("-s", "track.a", "u32", "1")
	run("-s", "track.a", "u32", "2")
	run("-s", "other.a", "u32", "2")
	run("-d", "track.a")
	time.Sleep(200 * time.Millisecond)
	stdin.Write([]byte("q\n"))
	stdin.Close()
	if err := tracker.Wait(); err != nil {
		t.Fatalf("tracker: %v", err)
	}
	want := "Type \"q\" to finish\ncreate> track.a (u32) = 1\nmodify> track.a (u32) = 2\ndelete> track.a (u32) = 2\n"
	if tout.String() != want {
		t.Errorf("tracking output:\n%s--- want\n%s", tout.String(), want)
	}
}

// TestStartupLog checks that every line our corosync logs while starting (on
// stderr and in the log file) is a line the real corosync logged in the same
// order for the same configuration; lines about the ring and the other engines
// are the ones still missing.
func TestStartupLog(t *testing.T) {
	n, bin := newNode(t)
	sigs := []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM}
	for i, name := range []string{"s1-two-node-udpu", "logging-subsys-debug", "minimal-udpu", "system-section"} {
		t.Run(name, func(t *testing.T) {
			installConfig(t, n, name)
			p := startCorosync(t, n, bin)
			stopCorosyncWith(t, p, sigs[i])
			// Only the subsystems of the daemon core are compared: MAIN, SERV and
			// QB. The engines (TOTEM, QUORUM, ...) interleave differently and are
			// checked by their own tests.
			core := func(l string) bool {
				return strings.Contains(l, "[MAIN  ]") || strings.Contains(l, "[SERV  ]") || strings.Contains(l, "[QB    ]")
			}
			var ours []string
			for _, l := range strings.Split(maskTimestamps(p.Output()), "\n") {
				if strings.Contains(l, "Node was shut down by a signal") {
					break
				}
				// Lines logged while serving the readiness probes are ours only.
				if l == "" || !core(l) || strings.Contains(l, " ipc cmap: conn") {
					continue
				}
				ours = append(ours, l)
			}
			var real []string
			for _, l := range strings.Split(maskTimestamps(expected(t, name+".startup-n1.log")), "\n") {
				if core(l) {
					real = append(real, l)
				}
			}
			j := 0
			for _, l := range ours {
				for j < len(real) && real[j] != l {
					j++
				}
				if j == len(real) {
					t.Errorf("line not in the real start-up log (in this order): %q\n--- ours\n%s", l, strings.Join(ours, "\n"))
					return
				}
				j++
			}
			t.Logf("%d start-up lines, all in the real log in order", len(ours))
			if name == "s1-two-node-udpu" {
				// to_logfile: the same lines with "[pid] host corosync" in the file.
				b, err := n.ReadFile("/var/log/corosync/corosync.log")
				if err != nil {
					t.Fatal(err)
				}
				re := regexp.MustCompile(`(?m)^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \[\d+\] node01 corosync notice  \[MAIN  \] Corosync Cluster Engine 3\.1\.7 starting up$`)
				if !re.Match(b) {
					t.Errorf("log file:\n%s", b)
				}
			}
		})
	}
}

// TestBackgroundAndLock starts corosync without -f: it returns at once and the
// daemon keeps serving; a second instance is refused by the lock file; SIGTERM
// to the daemon (found through the pid file) stops it and removes the file.
func TestBackgroundAndLock(t *testing.T) {
	n, bin := newNode(t)
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	installConfig(t, n, "minimal-udpu")
	out, rc, err := execIn(n, bin)
	if err != nil || rc != 0 {
		t.Fatalf("corosync: rc %d %v\n%s", rc, err, out)
	}
	var pid int
	for i := 0; i < 100 && pid == 0; i++ {
		if b, err := n.ReadFile("/run/corosync.pid"); err == nil {
			fmt.Sscanf(string(b), "%d", &pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pid <= 0 {
		t.Fatal("no pid file")
	}
	// The daemon is not a child of ours: make sure it goes away.
	defer syscall.Kill(pid, syscall.SIGKILL)
	var got string
	for i := 0; i < 100; i++ {
		if got, _, _ = execIn(n, cmapctl, "-g", "runtime.force_gather"); strings.Contains(got, "(str)") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(got, "runtime.force_gather (str) = no") {
		t.Errorf("background daemon does not serve: %q", got)
	}
	out, rc, _ = execIn(n, bin, "-f")
	if rc != 18 || !strings.Contains(out, "Another Corosync instance is already running.") {
		t.Errorf("second instance: rc %d\n%s", rc, out)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("daemon %d still running after SIGTERM", pid)
	}
	if _, err := n.ReadFile("/run/corosync.pid"); err == nil {
		t.Errorf("pid file left behind")
	}
}

// TestSocketIPC serves cmap over libqb's SOCKET transport (system.qb_ipc_type:
// socket), which the real tools accept as well.
func TestSocketIPC(t *testing.T) {
	n, bin := newNode(t)
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	data, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "configs", "s1-two-node-udpu.conf"))
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, "\nsystem {\n\tqb_ipc_type: socket\n}\n"...)
	if err := n.WriteFile("/etc/corosync/corosync.conf", data, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startCorosync(t, n, bin)
	defer stopCorosync(t, p)
	// SIGUSR2 asks for a state dump; the daemon must survive it.
	if err := p.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if p.Exited() {
		t.Fatalf("SIGUSR2 ended corosync:\n%s", p.Output())
	}
	out, rc, _ := execIn(n, cmapctl, "-g", "totem.cluster_name")
	if rc != 0 || out != expected(t, "s1-two-node-udpu.cmapctl-g-cluster_name") {
		t.Errorf("rc %d %q", rc, out)
	}
	out, _, _ = execIn(n, cmapctl, "-g", "system.qb_ipc_type")
	if out != "system.qb_ipc_type (str) = socket\n" {
		t.Errorf("%q", out)
	}
	dump, rc, _ := execIn(n, cmapctl)
	if rc != 0 || !strings.Contains(dump, "totem.transport (str) = udpu\n") {
		t.Errorf("dump over SOCKET: rc %d\n%s", rc, dump)
	}
}
