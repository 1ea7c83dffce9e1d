package totem_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/sim"
	"ringmaster/totem"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden event logs of testdata/*.txt")

// TestScenarios runs the datadriven scripts in testdata/*.txt. A script is a
// list of commands, each followed by "----" and the event log it produced
// (configuration changes, deliveries, faults), then a blank line:
//
//	add-nodes 3            nodes 1..3 (corosync defaults for a 3-node nodelist)
//	partition 1,2|3        only nodes of one group talk
//	cut 1->2               drop one direction of a link
//	drop 10%  /  dup 5%    packet loss / duplication
//	heal                   undo partitions, cuts, loss, duplication
//	advance 3000ms         let virtual time pass
//	mcast 1 "x"            node 1 sends x
//	crash 2  /  leave 2    stop silently / with a leave message
//	restart 2 [wipe]       start again, with (or without) its ringid file
//	stabilize              heal, wait for one ring, probe delivery everywhere
//	status                 each node's state, ring and members
//
// -rewrite regenerates the expected output.
func TestScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no scenarios in testdata/")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

type block struct {
	pre  []string // comments and blank lines before the command
	cmd  string
	line int
	want []string
}

func parseScript(t *testing.T, path string) (blocks []block, trailer []string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var pre []string
	ln := 0
	for sc.Scan() {
		ln++
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			pre = append(pre, line)
			continue
		}
		b := block{pre: pre, cmd: line, line: ln}
		pre = nil
		if !sc.Scan() || sc.Text() != "----" {
			t.Fatalf("%s:%d: command %q not followed by ----", path, ln, line)
		}
		ln++
		for sc.Scan() {
			ln++
			if sc.Text() == "" {
				break
			}
			b.want = append(b.want, sc.Text())
		}
		blocks = append(blocks, b)
	}
	return blocks, pre
}

func runScript(t *testing.T, path string) {
	blocks, trailer := parseScript(t, path)
	env := &scenario{}
	var out strings.Builder
	failed := false
	for _, b := range blocks {
		for _, p := range b.pre {
			out.WriteString(p + "\n")
		}
		got := env.run(t, b.cmd)
		if len(got) == 0 {
			got = []string{"ok"}
		}
		fmt.Fprintf(&out, "%s\n----\n%s\n\n", b.cmd, strings.Join(got, "\n"))
		if !*rewrite && strings.Join(got, "\n") != strings.Join(b.want, "\n") {
			t.Errorf("%s:%d: %s\n got:\n%s\nwant:\n%s", path, b.line, b.cmd, strings.Join(got, "\n"), strings.Join(b.want, "\n"))
			failed = true
		}
		if env.s != nil && env.s.Err() != nil {
			t.Errorf("%s:%d: %s: invariant violated:\n%s", path, b.line, b.cmd, env.s.Report(200))
			return
		}
	}
	for _, p := range trailer {
		out.WriteString(p + "\n")
	}
	if *rewrite {
		text := strings.TrimRight(out.String(), "\n") + "\n"
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if failed {
		t.Log("run with -rewrite to accept the new output")
	}
}

type scenario struct {
	s    *sim.Sim
	mark int
}

func (e *scenario) ids(t *testing.T, arg string) []totem.NodeID {
	var out []totem.NodeID
	for _, f := range strings.Split(arg, ",") {
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatalf("bad node id %q", f)
		}
		out = append(out, totem.NodeID(n))
	}
	return out
}

func percent(t *testing.T, arg string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSuffix(arg, "%"), 64)
	if err != nil {
		t.Fatalf("bad percentage %q", arg)
	}
	return v / 100
}

// run executes one command and returns the log lines it produced.
func (e *scenario) run(t *testing.T, cmd string) []string {
	f := strings.Fields(cmd)
	if e.s == nil && f[0] != "add-nodes" {
		t.Fatalf("first command must be add-nodes")
	}
	switch f[0] {
	case "add-nodes":
		n, _ := strconv.Atoi(f[1])
		if e.s == nil {
			e.s = sim.New(sim.Options{Seed: 1, ClusterSize: n})
		}
		base := len(e.s.IDs())
		for i := 1; i <= n; i++ {
			if err := e.s.AddNode(totem.NodeID(base + i)); err != nil {
				t.Fatal(err)
			}
		}
	case "partition":
		var groups [][]totem.NodeID
		for _, g := range strings.Split(f[1], "|") {
			groups = append(groups, e.ids(t, g))
		}
		e.s.Partition(groups...)
	case "cut":
		ab := strings.Split(f[1], "->")
		a, b := e.ids(t, ab[0]), e.ids(t, ab[1])
		e.s.Cut(a[0], b[0])
	case "drop":
		e.s.SetLoss(percent(t, f[1]), 0)
	case "dup":
		e.s.SetLoss(0, percent(t, f[1]))
	case "heal":
		e.s.Heal()
	case "advance":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			t.Fatal(err)
		}
		_ = e.s.RunFor(d)
	case "mcast":
		payload, err := strconv.Unquote(strings.TrimSpace(strings.TrimPrefix(cmd, f[0]+" "+f[1])))
		if err != nil {
			t.Fatalf("mcast payload: %v", err)
		}
		if err := e.s.Mcast(e.ids(t, f[1])[0], payload); err != nil {
			e.s.Logf("mcast refused: %v", err)
		}
	case "crash":
		e.s.Crash(e.ids(t, f[1])[0])
	case "leave":
		e.s.Stop(e.ids(t, f[1])[0])
	case "restart":
		if err := e.s.Restart(e.ids(t, f[1])[0], len(f) < 3 || f[2] != "wipe"); err != nil {
			t.Fatal(err)
		}
	case "stabilize":
		if err := e.s.Stabilize(60 * time.Second); err != nil {
			return []string{"error: " + err.Error()}
		}
		e.s.Logf("stable")
	case "status":
		for _, id := range e.s.IDs() {
			n := e.s.Node(id)
			if !n.Up {
				e.s.Logf("node %d down", id)
				continue
			}
			e.s.Logf("node %d %s ring=%s members=%v stored-seq=%d", id, n.M.State(), n.M.RingID(), n.M.Members(), n.StoredSeq)
		}
	default:
		t.Fatalf("unknown command %q", f[0])
	}
	log := e.s.Log()
	got := append([]string(nil), log[min(e.mark, len(log)):]...)
	e.mark = len(log)
	for i := range got {
		got[i] = strings.TrimLeft(got[i], " ")
	}
	return got
}
