package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

const execTimeout = 30 * time.Second

// execIn and execSplitIn run a command in the node with a deadline, so that a
// stuck client fails the test instead of hanging it.
func execIn(n *testcluster.Node, argv ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	return n.Exec(ctx, argv...)
}

func execSplitIn(n *testcluster.Node, argv ...string) (string, string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	return n.ExecSplit(ctx, argv...)
}

// TestAgainstRealCorosync runs the real corosync 3.1.7 in a network namespace node
// and checks that our corosync-cmapctl prints what the real tool prints, for the
// same commands, one after the other.
func TestAgainstRealCorosync(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespace test")
	}
	testenv.RequireRoot(t)
	corosync := testenv.RequireBinary(t, "corosync")
	real := testenv.RequireBinary(t, "corosync-cmapctl")
	ours := testenv.GoBinary(t, "corosync-cmapctl")
	c := testcluster.New(t, testcluster.Options{Nodes: 1})
	n := c.Node(1)
	conf, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "configs", "s1-two-node-udpu.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WriteFile("/etc/corosync/corosync.conf", conf, 0o644); err != nil {
		t.Fatal(err)
	}
	// Nothing running yet: expected/not-running.cmapctl.
	notRunning, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "expected", "not-running.cmapctl"))
	if err != nil {
		t.Fatal(err)
	}
	if out, rc, err := execIn(n, ours); err != nil || rc != 1 || out != string(notRunning) {
		t.Errorf("not running: rc %d %v %q, want rc 1 %q", rc, err, out, notRunning)
	}
	p, err := n.Start("corosync", corosync, "-f")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = p.Signal(syscall.SIGTERM)
		if err := p.Wait(20 * time.Second); err != nil {
			t.Errorf("real corosync: %v", err)
		}
	}()
	ctx := context.Background()
	run := func(bin string, args ...string) (string, string, int) {
		t.Helper()
		o, e, rc, err := execSplitIn(n, append([]string{bin}, args...)...)
		if err != nil {
			t.Fatalf("%s %q: %v", filepath.Base(bin), args, err)
		}
		return o, e, rc
	}
	// Wait for the real daemon to serve (membership formed: runtime.members).
	for i := 0; ; i++ {
		if o, _, _ := run(real, "runtime.members."); strings.Contains(o, "joined") {
			break
		}
		if i == 200 || p.Exited() {
			t.Fatalf("real corosync did not come up\n%s", p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	counters := regexp.MustCompile(`(?m)^(runtime\.services\.\w+\.\d+\.[rt]x \(u64\) = |stats\.[\w.]+ \(\w+\) = ).*$`)
	ipcKeys := regexp.MustCompile(`(?m)^stats\.ipcs\.service\d+\.\d+\.0x[0-9a-f]+\.`)
	mask := func(s string) string {
		return ipcKeys.ReplaceAllString(counters.ReplaceAllString(s, "${1}N"), "stats.ipcs.CONN.")
	}
	// sameAfter runs a command with the real tool and with ours, each after
	// setup (for commands that change the map).
	sameAfter := func(setup func(), args ...string) {
		t.Helper()
		setup()
		ro, re, rrc := run(real, args...)
		setup()
		oo, oe, orc := run(ours, args...)
		// getopt prefixes its messages with argv[0].
		re = strings.ReplaceAll(re, real+":", "corosync-cmapctl:")
		oe = strings.ReplaceAll(oe, ours+":", "corosync-cmapctl:")
		if mask(ro) != mask(oo) || re != oe || rrc != orc {
			t.Errorf("%q:\nours rc %d stdout:\n%s\nstderr: %s\nreal rc %d stdout:\n%s\nstderr: %s", args, orc, oo, oe, rrc, ro, re)
		}
	}
	same := func(args ...string) { t.Helper(); sameAfter(func() {}, args...) }
	for _, args := range [][]string{
		{},
		{"-g", "totem.cluster_name"},
		{"-g", "totem.no_such_key"},
		{"-q", "-g", "totem.cluster_name", "totem.version"},
		{"-g", "runtime.config.totem.token", "resources.system.load_15min.current"},
		{"totem."},
		{"nodelist.", "quorum."},
		{"no_such_prefix."},
		{"-b", "runtime.members."},
		{"-m", "stats", "stats.srp."},
		{"-h"},
		{"-x"},
		{"-g"},
		{"-s", "totem.cluster_name", "str", "x"},
		{"-s", "x", "u8", "1"},
		{"-s", "a.b", "u8", "300"},
		{"-d", "no.such.key"},
		{"-m", "bogus"},
	} {
		same(args...)
	}
	// An unprivileged user is refused by the daemon; both tools say so alike.
	{
		priv := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
		ro, re, rrc := run(priv[0], append(priv[1:], real, "-g", "totem.version")...)
		oo, oe, orc := run(priv[0], append(priv[1:], ours, "-g", "totem.version")...)
		if ro != oo || re != oe || rrc != orc || rrc == 0 {
			t.Errorf("unprivileged: ours rc %d %q %q, real rc %d %q %q", orc, oo, oe, rrc, ro, re)
		}
		t.Logf("unprivileged client: rc %d %s", rrc, strings.TrimSpace(re))
	}
	// Our tool's writes, read back by the real tool, and the other way round.
	for _, step := range []struct {
		setter string
		args   []string
	}{
		{ours, []string{"-s", "rm.test.u16", "u16", "65535"}},
		{real, []string{"-s", "rm.test.str", "str", "hello"}},
		{ours, []string{"-s", "rm.test.flt", "flt", "2.25"}},
		{real, []string{"-s", "rm.test.i64", "i64", "--", "-9000000000"}},
	} {
		if o, e, rc := run(step.setter, step.args...); rc != 0 {
			t.Fatalf("%q: rc %d %s%s", step.args, rc, o, e)
		}
	}
	same("rm.test.")
	restore := func() { run(real, "-s", "rm.test.u16", "u16", "7") }
	sameAfter(restore, "-d", "rm.test.u16")
	same("-g", "rm.test.u16")
	sameAfter(func() { restore(); run(real, "-s", "rm.test.u8", "u8", "7") }, "-D", "rm.test.")
	same("rm.test.")

	// Tracking with our tool against the real daemon.
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tracker := n.Command(tctx, ours, "-T", "track.")
	stdin, err := tracker.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var tout strings.Builder
	tracker.Stdout = &tout
	if err := tracker.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && !strings.Contains(tout.String(), "finish"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	run(real, "-s", "track.a", "u32", "1")
	run(real, "-s", "track.a", "u32", "2")
	run(real, "-s", "track.s", "str", "v")
	run(real, "-d", "track.a")
	time.Sleep(300 * time.Millisecond)
	stdin.Write([]byte("q\n"))
	stdin.Close()
	if err := tracker.Wait(); err != nil {
		t.Fatalf("tracker: %v", err)
	}
	want := "Type \"q\" to finish\ncreate> track.a (u32) = 1\nmodify> track.a (u32) = 2\ncreate> track.s (str) = v\ndelete> track.a (u32) = 2\n"
	if tout.String() != want {
		t.Errorf("tracking output:\n%s--- want\n%s", tout.String(), want)
	}
}
