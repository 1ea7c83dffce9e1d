package node_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/totem/transport"
)

// realConf is the corosync.conf every node of a mixed ring uses (the Go
// nodes are configured with the same values).
func realConf(mode transport.Mode, nodes int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "totem {\n\tversion: 2\n\tcluster_name: mixed\n\ttransport: %s\n\ttoken: 1000\n", mode)
	if mode == transport.UDP {
		b.WriteString("\tinterface {\n\t\tlinknumber: 0\n\t\tmcastaddr: 239.192.77.1\n\t\tmcastport: 5405\n\t}\n")
	}
	b.WriteString("}\nquorum {\n\tprovider: corosync_votequorum\n}\n")
	b.WriteString("logging {\n\tto_stderr: yes\n\tto_syslog: no\n\ttimestamp: on\n}\n")
	b.WriteString("nodelist {\n")
	for i := 1; i <= nodes; i++ {
		fmt.Fprintf(&b, "\tnode {\n\t\tring0_addr: 192.0.2.%d\n\t\tname: node%02d\n\t\tnodeid: %d\n\t}\n", i, i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

type realNode struct {
	tn   *testcluster.Node
	id   int
	proc *testcluster.Proc
	logs []string // output of earlier runs
}

func (r *realNode) start(t *testing.T, bin string) {
	t.Helper()
	if r.proc != nil {
		r.logs = append(r.logs, r.proc.Output())
	}
	p, err := r.tn.Start("corosync", bin, "-f")
	if err != nil {
		t.Fatal(err)
	}
	r.proc = p
}

func (r *realNode) output() string { return strings.Join(append(r.logs, r.proc.Output()), "\n") }

// joined lists the node ids the real corosync reports as joined, via the real
// corosync-cmapctl.
func (r *realNode) joined(cmapctl string) ([]string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _, err := r.tn.Exec(ctx, cmapctl, "-b", "runtime.members")
	if err != nil {
		return nil, err.Error()
	}
	var ids []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(l, ".status (str) = joined") {
			ids = append(ids, strings.Split(l, ".")[2])
		}
	}
	return ids, out
}

// badRealLine matches what a real corosync logs when it cannot make sense of
// a peer's packet or sync traffic.
var badRealLine = regexp.MustCompile(`(?i)(invalid|corrupt|unknown|malformed|error|assert|can't|unsupported|discarding|mismatch)`)

// TestMixedRing puts Debian's corosync 3.1.7 and Go nodes in one ring, over
// udpu and udp, in both proportions; then kills and restarts a Go node and a
// real node and checks that both sides agree again each time.
// flushDiscard is corosync's note about a join received during a flush.
var flushDiscard = regexp.MustCompile(`Discarding JOIN message during flush, nodeid=(\d+)`)

func TestMixedRing(t *testing.T) {
	for _, tc := range []struct {
		mode transport.Mode
		real []int // node ids run by the real corosync; the rest are Go
	}{
		{transport.UDPU, []int{1, 2}},
		{transport.UDPU, []int{1}},
		{transport.UDP, []int{1, 2}},
		{transport.UDP, []int{1}},
	} {
		t.Run(fmt.Sprintf("%s-%dreal", tc.mode, len(tc.real)), func(t *testing.T) {
			testMixed(t, tc.mode, tc.real)
		})
	}
}

func testMixed(t *testing.T, mode transport.Mode, realIDs []int) {
	const nodes = 3
	cl := newCluster(t, nodes)
	bin := testenv.RequireBinary(t, "corosync")
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	cfg := realConf(mode, nodes)
	isReal := map[int]bool{}
	for _, id := range realIDs {
		isReal[id] = true
	}
	reals := map[int]*realNode{}
	gos := map[int]*goNode{}
	opts := ringOpts{mode: mode, token: time.Second}
	defer func() {
		if t.Failed() {
			for id, r := range reals {
				t.Logf("real node %d output:\n%s", id, r.output())
			}
			var gs []*goNode
			for _, g := range gos {
				gs = append(gs, g)
			}
			dumpLogs(t, gs)
		}
	}()
	for i := 1; i <= nodes; i++ {
		if isReal[i] {
			r := &realNode{tn: cl.Node(i), id: i}
			if err := r.tn.WriteFile("/etc/corosync/corosync.conf", []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			r.start(t, bin)
			reals[i] = r
		} else {
			gos[i] = startGo(t, cl, i, nodes, opts)
		}
	}
	all := []string{"1", "2", "3"}
	agree := func(want []string, within time.Duration) {
		t.Helper()
		testcluster.Eventually(t, within, 200*time.Millisecond, func() (bool, string) {
			for id, r := range reals {
				j, out := r.joined(cmapctl)
				if fmt.Sprint(j) != fmt.Sprint(want) {
					return false, fmt.Sprintf("real node %d: joined %v, want %v\n%s", id, j, want, out)
				}
			}
			for id, g := range gos {
				_, ms, synced := g.view()
				got := strings.Fields(strings.Trim(fmt.Sprint(ms), "[]"))
				if !synced || fmt.Sprint(got) != fmt.Sprint(want) {
					return false, fmt.Sprintf("go node %d: members %v synced %v, want %v", id, ms, synced, want)
				}
			}
			return true, ""
		})
	}
	// The Go side's view of a member that left is "left" on the real side;
	// the joined list is what both sides must share.
	agree(all, 40*time.Second)
	for id, r := range reals {
		if !strings.Contains(r.output(), "Completed service synchronization, ready to provide service.") {
			t.Errorf("real node %d never completed sync", id)
		}
		if !strings.Contains(r.output(), "Members[3]: 1 2 3") {
			t.Errorf("real node %d never logged Members[3]: 1 2 3", id)
		}
	}

	// A Go node dies (kill -9) and comes back.
	var goID int
	for id := range gos {
		goID = id
	}
	gos[goID].kill()
	delete(gos, goID)
	rest := without(all, goID)
	agree(rest, 20*time.Second)
	gos[goID] = startGo(t, cl, goID, nodes, opts)
	agree(all, 30*time.Second)

	// A real node dies (SIGKILL) and comes back.
	realID := realIDs[len(realIDs)-1]
	reals[realID].proc.Kill()
	saved := reals[realID]
	delete(reals, realID)
	agree(without(all, realID), 20*time.Second)
	reals[realID] = saved
	saved.start(t, bin)
	agree(all, 30*time.Second)

	for id, r := range reals {
		for _, l := range strings.Split(r.output(), "\n") {
			// corosync discards joins that arrive while it flushes at the start
			// of a membership round, whoever sent them (two real nodes starting
			// together log it too); the join is sent again.
			if flushDiscard.MatchString(l) {
				continue
			}
			if badRealLine.MatchString(l) {
				t.Errorf("real node %d: %s", id, l)
			}
		}
	}
}

func without(list []string, id int) []string {
	var out []string
	for _, s := range list {
		if s != fmt.Sprint(id) {
			out = append(out, s)
		}
	}
	return out
}
