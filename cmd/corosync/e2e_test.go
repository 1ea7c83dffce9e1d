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
	ctx := context.Background()
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
		out, rc, err := n.Exec(ctx, bin, "-t")
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
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, rc, _ := n.Exec(ctx, cmapctl, "-g", "totem.version")
		cancel()
		if rc == 0 || rc == 1 {
			// 1 = reached the server but no totem.version: served all the same.
			if out, _, _ := n.Exec(context.Background(), cmapctl, "-g", "runtime.force_gather"); strings.Contains(out, "runtime.force_gather") {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("corosync never served cmap\n%s", p.Output())
	return nil
}

func stopCorosync(t *testing.T, p *testcluster.Proc) {
	t.Helper()
	if err := p.Signal(syscall.SIGTERM); err != nil {
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
			out, rc, err := n.Exec(context.Background(), cmapctl)
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
