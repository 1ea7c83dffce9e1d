package execd

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/lrmd"
)

// volatileAttrs differ between any two runs (ids, clocks, durations).
var volatileAttrs = map[string]bool{"lrmd_clientid": true, "lrmd_run_time": true, "lrmd_rcchange_time": true,
	"lrmd_exec_time": true, "lrmd_queue_time": true, "lrmd_origin": true}

// normalize prints an element with sorted attributes, volatile values
// replaced by "*", children indented.
func normalize(b *strings.Builder, e *etree.Element, depth int) {
	attrs := make([]string, 0, len(e.Attr))
	for _, a := range e.Attr {
		v := a.Value
		if volatileAttrs[a.Key] {
			v = "*"
		}
		attrs = append(attrs, fmt.Sprintf("%s=%q", a.Key, v))
	}
	sort.Strings(attrs)
	fmt.Fprintf(b, "%s<%s %s>\n", strings.Repeat("  ", depth), e.Tag, strings.Join(attrs, " "))
	for _, c := range e.ChildElements() {
		normalize(b, c, depth+1)
	}
}

func xmlText(x []byte) string {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(x); err != nil || doc.Root() == nil {
		return "unparsable: " + string(x) + "\n"
	}
	var b strings.Builder
	normalize(&b, doc.Root(), 1)
	return b.String()
}

// script runs a fixed conversation with the executor on "lrmd" and returns
// a normalized transcript of every reply and event.
func script(state, siteProv string) (string, error) {
	var out strings.Builder
	var c *Client
	var err error
	for i := 0; i < 100; i++ {
		if c, err = Dial("lrmd", "difftest"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	drain := func(until func(*lrmd.ExecEvent) bool) error {
		for {
			wait := 300 * time.Millisecond
			if until != nil {
				wait = 30 * time.Second
			}
			x, err := c.NextEventXML(wait)
			if err != nil {
				if until == nil {
					return nil
				}
				return err
			}
			out.WriteString("event\n" + xmlText(x))
			if until != nil {
				if ev, err := lrmd.DecodeNotify(x); err == nil && until(ev) {
					return nil
				}
			}
		}
	}
	call := func(label, op string, rsc *lrmd.RscData) (*ReplyXML, error) {
		r, err := c.Call(op, rsc, 0)
		if err == nil && op == lrmd.OpRscExec && r.RC > 0 {
			var b strings.Builder
			normalize(&b, r.Root, 1)
			fmt.Fprintf(&out, "%s\n%s", label, b.String())
			return r, nil
		}
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		normalize(&b, r.Root, 1)
		fmt.Fprintf(&out, "%s\n%s", label, b.String())
		return r, drain(nil)
	}
	execWait := func(label string, rsc *lrmd.RscData, n int) error {
		r, err := call(label, lrmd.OpRscExec, rsc)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := drain(func(ev *lrmd.ExecEvent) bool {
				return ev.Op == lrmd.OpRscExec && ev.Notify.CallID == r.RC
			}); err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
		}
		return nil
	}
	p := map[string]string{"state": state, "CRM_meta_timeout": "20000"}
	steps := []func() error{
		func() error {
			_, err := call("rsc_register", lrmd.OpRscRegister, &lrmd.RscData{ID: "d1", Class: "ocf", Provider: "heartbeat", Type: "Dummy"})
			return err
		},
		func() error {
			_, err := call("rsc_register again", lrmd.OpRscRegister, &lrmd.RscData{ID: "d1", Class: "ocf", Provider: "heartbeat", Type: "Dummy"})
			return err
		},
		func() error { _, err := call("rsc_info", lrmd.OpRscInfo, &lrmd.RscData{ID: "d1"}); return err },
		func() error { _, err := call("rsc_info unknown", lrmd.OpRscInfo, &lrmd.RscData{ID: "zz"}); return err },
		func() error {
			return execWait("probe", &lrmd.RscData{ID: "d1", Action: "monitor", TimeoutMS: 20000, Params: p}, 1)
		},
		func() error {
			return execWait("start", &lrmd.RscData{ID: "d1", Action: "start", TimeoutMS: 20000, Params: p}, 1)
		},
		func() error {
			return execWait("recurring monitor", &lrmd.RscData{ID: "d1", Action: "monitor", IntervalMS: 3600000, TimeoutMS: 20000, Params: p}, 1)
		},
		func() error {
			_, err := call("get_recurring", lrmd.OpGetRecurring, &lrmd.RscData{ID: "d1"})
			return err
		},
		func() error {
			_, err := call("get_recurring unknown", lrmd.OpGetRecurring, &lrmd.RscData{ID: "zz"})
			return err
		},
		func() error {
			// The cancelled notification follows the reply at once (the
			// monitor is waiting for its next interval), so call's drain
			// collects it.
			_, err := call("cancel", lrmd.OpRscCancel, &lrmd.RscData{ID: "d1", Action: "monitor", IntervalMS: 3600000})
			return err
		},
		func() error {
			_, err := call("cancel again", lrmd.OpRscCancel, &lrmd.RscData{ID: "d1", Action: "monitor", IntervalMS: 3600000})
			return err
		},
		func() error {
			return execWait("stop", &lrmd.RscData{ID: "d1", Action: "stop", TimeoutMS: 20000, Params: p}, 1)
		},
		func() error {
			_, err := call("exec unknown rsc", lrmd.OpRscExec, &lrmd.RscData{ID: "zz", Action: "start"})
			return err
		},
		func() error { _, err := call("poke", lrmd.OpPoke, nil); return err },
		func() error { _, err := call("bogus op", "lrmd_bogus", nil); return err },
		func() error { _, err := call("unregister", lrmd.OpRscUnreg, &lrmd.RscData{ID: "d1"}); return err },
		func() error { _, err := call("unregister again", lrmd.OpRscUnreg, &lrmd.RscData{ID: "d1"}); return err },
		// Agent-level failures: a missing agent, a failing start with exit
		// reasons on stderr, a timeout, a start-delay, an LSB status.
		func() error {
			_, err := call("register missing", lrmd.OpRscRegister, &lrmd.RscData{ID: "m1", Class: "ocf", Provider: "heartbeat", Type: "NoSuchAgent"})
			return err
		},
		func() error {
			return execWait("missing start", &lrmd.RscData{ID: "m1", Action: "start", TimeoutMS: 20000, Params: map[string]string{}}, 1)
		},
		func() error {
			_, err := call("register site", lrmd.OpRscRegister, &lrmd.RscData{ID: "s1", Class: "ocf", Provider: siteProv, Type: "site"})
			return err
		},
		func() error {
			return execWait("site failing start", &lrmd.RscData{ID: "s1", Action: "start", TimeoutMS: 20000,
				Params: map[string]string{"state": state + ".site", "fail": "no disk"}}, 1)
		},
		func() error {
			return execWait("site timeout", &lrmd.RscData{ID: "s1", Action: "monitor", TimeoutMS: 500,
				Params: map[string]string{"state": state + ".site", "sleep": "30"}}, 1)
		},
		func() error {
			return execWait("site start-delay", &lrmd.RscData{ID: "s1", Action: "start", TimeoutMS: 20000, StartDelayMS: 300,
				Params: map[string]string{"state": state + ".site"}}, 1)
		},
		func() error {
			return execWait("site stop", &lrmd.RscData{ID: "s1", Action: "stop", TimeoutMS: 20000,
				Params: map[string]string{"state": state + ".site", "envdump": state + ".env", "CRM_meta_on_node": "node01"}}, 1)
		},
		func() error {
			_, err := call("register lsb", lrmd.OpRscRegister, &lrmd.RscData{ID: "l1", Class: "lsb", Type: "corosync"})
			return err
		},
		func() error {
			return execWait("lsb status", &lrmd.RscData{ID: "l1", Action: "monitor", TimeoutMS: 20000}, 1)
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			return out.String(), fmt.Errorf("step %d: %w", i, err)
		}
	}
	return out.String(), nil
}

// TestMatchesRealExecd runs one conversation against Pacemaker 2.1.5's own
// pacemaker-execd and against ours, each in a network-namespace node, and
// compares every reply and notification (attributes, values, order), with
// only ids and clock readings masked.
func TestMatchesRealExecd(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespace test")
	}
	testenv.RequireRoot(t)
	real := "/usr/lib/pacemaker/pacemaker-execd"
	if _, err := os.Stat(real); err != nil {
		testenv.Unavailable(t, "Pacemaker's pacemaker-execd is not installed")
	}
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/Dummy"); err != nil {
		testenv.Unavailable(t, "resource-agents is not installed")
	}
	ours := testenv.GoBinary(t, "pacemaker-execd")
	// The site agent must be where Pacemaker's compiled-in OCF path finds
	// it: an overlay inside each node's private mount namespace.
	prov := fmt.Sprintf("rmdiff%d", os.Getpid())
	extra := overlayRoot(t, prov)
	cl := testcluster.New(t, testcluster.Options{Nodes: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	self, _ := os.Executable()
	transcripts := map[string]string{}
	var envs []map[string]string
	for i, bin := range []string{real, ours} {
		n := cl.Node(i + 1)
		if out, rc, err := n.Exec(ctx, "sh", "-c", overlayMount(extra)); err != nil || rc != 0 {
			t.Fatalf("overlay in node: %v %d %s", err, rc, out)
		}
		if _, err := n.Start("execd", bin); err != nil {
			t.Fatal(err)
		}
		cmd := n.Command(ctx, self, "-test.run=^$")
		cmd.Env = append(os.Environ(), "EXECD_SCRIPT=/run/dummy.state", "EXECD_SITE="+prov)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", bin, err, out)
		}
		transcripts[bin] = string(out)
		b, err := n.ReadFile("/run/dummy.state.env")
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, parseEnv(string(b)))
	}
	// The agent's environment under each daemon, key by key (both daemons
	// were started the same way by the same test process).
	var diffs []string
	for _, k := range unionKeys(envs[0], envs[1]) {
		switch k {
		case "PWD", "OLDPWD", "SHLVL", "_", "INVOCATION_ID", "JOURNAL_STREAM":
			continue
		}
		a, aok := envs[0][k]
		o, ook := envs[1][k]
		if a != o || aok != ook {
			diffs = append(diffs, fmt.Sprintf("%s: pacemaker-execd %q (%v), ours %q (%v)", k, a, aok, o, ook))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("agent environment differs:\n%s", strings.Join(diffs, "\n"))
	} else {
		t.Logf("agent environment identical (%d variables)", len(envs[0]))
	}
	if transcripts[real] != transcripts[ours] {
		t.Fatalf("transcripts differ\n--- pacemaker-execd 2.1.5\n%s\n--- ours\n%s", transcripts[real], transcripts[ours])
	}
	t.Logf("%d lines of replies and notifications identical", strings.Count(transcripts[ours], "\n"))
}

func parseEnv(s string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

func unionKeys(a, b map[string]string) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
