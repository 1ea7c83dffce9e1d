package lrmd

import (
	"fmt"
	"go/parser"
	"go/token"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMapExit(t *testing.T) {
	for _, c := range []struct {
		class, action string
		in, want      int
	}{
		{"ocf", "start", 0, 0}, {"ocf", "monitor", 7, 7}, {"ocf", "monitor", 8, 8}, {"ocf", "monitor", 9, 9},
		{"ocf", "monitor", 10, 1}, {"ocf", "monitor", 190, 190}, {"ocf", "monitor", 191, 191},
		{"ocf", "monitor", 192, 1}, {"ocf", "start", -1, 1}, {"ocf", "start", 255, 1}, {"OCF", "stop", 5, 5},
		{"lsb", "start", 0, 0}, {"lsb", "start", 7, 7}, {"lsb", "start", 8, 1}, {"lsb", "stop", 3, 3},
		{"lsb", "status", 0, 0}, {"lsb", "status", 1, 7}, {"lsb", "status", 2, 7}, {"lsb", "status", 3, 7},
		{"lsb", "status", 4, 1}, {"lsb", "monitor", 3, 7}, {"lsb", "monitor", 150, 5}, {"lsb", "monitor", 151, 4},
		{"lsb", "monitor", 5, 1}, {"service", "monitor", 3, 7}, {"systemd", "start", 7, 7}, {"systemd", "start", 190, 1},
		{"nagios", "start", 2, 2}, {"", "start", 300, 1},
	} {
		if got := MapExit(c.class, c.action, c.in); got != c.want {
			t.Errorf("MapExit(%s, %s, %d) = %d, want %d", c.class, c.action, c.in, got, c.want)
		}
	}
}

func TestExitReason(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, c := range []struct{ class, stderr, want string }{
		{"ocf", "", ""},
		{"ocf", "ocf-exit-reason:disk full\n", "disk full"},
		{"ocf", "noise\nocf-exit-reason:first\nmore\nocf-exit-reason:second one\ntrailing", "second one"},
		{"ocf", "ocf-exit-reason:\n", ""},
		{"ocf", "ocf-exit-reason:" + long, long[:128]},
		{"ocf", "xx ocf-exit-reason:mid-line", "mid-line"},
		{"lsb", "ocf-exit-reason:ignored", ""},
	} {
		if got := ExitReason(c.class, c.stderr); got != c.want {
			t.Errorf("ExitReason(%q) = %q, want %q", c.stderr, got, c.want)
		}
	}
}

func TestReadableInterval(t *testing.T) {
	for ms, want := range map[int64]string{0: "0s", 1: "1ms", 999: "999ms", 1000: "1000ms", 1001: "1.001s",
		1500: "1.500s", 20000: "20s", 60000: "60s", 60001: "1m1ms", 90000: "1m30s",
		3600000: "60m", 86400001: "1d1ms"} {
		if got := ReadableInterval(ms); got != want {
			t.Errorf("ReadableInterval(%d) = %q, want %q", ms, got, want)
		}
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// harness drives a Machine and keeps what it asked for.
type harness struct {
	t       *testing.T
	m       *Machine
	running map[OpID]Run
	killed  map[OpID]string
	notes   []Notify
	log     []string
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, running: map[OpID]Run{}, killed: map[OpID]string{}}
	h.m = NewMachine(func(f string, a ...any) { h.log = append(h.log, fmt.Sprintf(f, a...)) })
	return h
}

func (h *harness) collect() {
	for h.m.HasReady() {
		rd := h.m.Ready()
		h.m.Advance()
		for _, r := range rd.Runs {
			for _, o := range h.running {
				if o.Rsc.ID == r.Rsc.ID {
					h.t.Fatalf("two ops of %s run at once: %s and %s", r.Rsc.ID, o.Action, r.Action)
				}
			}
			h.running[r.Op] = r
		}
		for _, k := range rd.Kills {
			if _, ok := h.running[k.Op]; !ok {
				h.t.Fatalf("kill of op %d that is not running", k.Op)
			}
			h.killed[k.Op] = k.Reason
		}
		h.notes = append(h.notes, rd.Notifies...)
	}
}

func (h *harness) find(rsc, action string) OpID {
	for id, r := range h.running {
		if r.Rsc.ID == rsc && r.Action == action {
			return id
		}
	}
	h.t.Fatalf("%s %s is not running (running: %v)", rsc, action, h.running)
	return 0
}

func (h *harness) complete(at time.Time, id OpID, out Outcome) {
	delete(h.running, id)
	delete(h.killed, id)
	h.m.Complete(at, id, out)
	h.collect()
}

func (h *harness) exec(at time.Time, req ExecRequest) int {
	rc := h.m.Exec(at, req)
	h.collect()
	return rc
}

func (h *harness) tick(at time.Time) { h.m.Tick(at); h.collect() }

func (h *harness) popNotes() []string {
	var out []string
	for _, n := range h.notes {
		out = append(out, fmt.Sprintf("%s_%s_%d call=%d rc=%d st=%d", n.RscID, n.Action, n.IntervalMS, n.CallID, n.RC, n.Status))
	}
	h.notes = nil
	return out
}

func expect(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("notifications:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOneOpPerResource(t *testing.T) {
	h := newHarness(t)
	h.m.Register(t0, Resource{ID: "A", Class: "ocf", Provider: "heartbeat", Type: "Dummy"})
	h.m.Register(t0, Resource{ID: "B", Class: "ocf", Provider: "heartbeat", Type: "Dummy"})
	h.exec(ms(0), ExecRequest{RscID: "A", Action: "start", CallID: 1, TimeoutMS: 20000})
	h.exec(ms(1), ExecRequest{RscID: "A", Action: "monitor", CallID: 2, TimeoutMS: 20000})
	h.exec(ms(2), ExecRequest{RscID: "B", Action: "start", CallID: 3, TimeoutMS: 20000})
	if len(h.running) != 2 || h.m.Queued("A") != 1 {
		t.Fatalf("running %v queued %d", h.running, h.m.Queued("A"))
	}
	h.complete(ms(50), h.find("A", "start"), Outcome{Status: ExecDone, PID: 10})
	mon := h.find("A", "monitor")
	h.complete(ms(60), mon, Outcome{Status: ExecDone, ExitStatus: 7})
	h.complete(ms(70), h.find("B", "start"), Outcome{Status: ExecDone, ExitStatus: 0})
	n := h.notes
	if n[1].QueueTimeMS != 49 || n[1].ExecTimeMS != 10 || n[0].ExecTimeMS != 50 {
		t.Fatalf("times: %+v", n)
	}
	expect(t, h.popNotes(), "A_start_0 call=1 rc=0 st=0", "A_monitor_0 call=2 rc=7 st=0", "B_start_0 call=3 rc=0 st=0")
	if _, ok := h.m.NextDeadline(); ok {
		t.Fatal("deadline left with nothing to do")
	}
}

func TestRecurringAndCancel(t *testing.T) {
	h := newHarness(t)
	h.m.Register(t0, Resource{ID: "A", Class: "ocf", Provider: "heartbeat", Type: "Dummy"})
	h.exec(ms(0), ExecRequest{RscID: "A", Action: "monitor", IntervalMS: 10000, CallID: 5, TimeoutMS: 20000})
	for i := 0; i < 3; i++ {
		id := h.find("A", "monitor")
		h.complete(ms(i*10100+100), id, Outcome{Status: ExecDone})
		if len(h.running) != 0 {
			t.Fatal("recurring monitor re-ran before its interval")
		}
		next, _ := h.m.NextDeadline()
		if want := ms(i*10100 + 10100); !next.Equal(want) {
			t.Fatalf("next run at %v, want %v", next, want)
		}
		h.tick(next.Add(-time.Millisecond))
		if len(h.running) != 0 {
			t.Fatal("ran early")
		}
		h.tick(next)
	}
	if ops, _ := h.m.Recurring("A"); len(ops) != 1 || ops[0].IntervalMS != 10000 {
		t.Fatalf("recurring = %v", ops)
	}
	// Cancel while running: the op is killed and ends cancelled.
	id := h.find("A", "monitor")
	if rc := h.m.Cancel(ms(30400), "A", "monitor", 10000); rc != 0 {
		t.Fatalf("cancel rc %d", rc)
	}
	h.collect()
	if h.killed[id] != "cancel" {
		t.Fatal("running op not killed on cancel")
	}
	h.complete(ms(30401), id, Outcome{Status: ExecError, ExitStatus: 1, Signal: 9})
	got := h.popNotes()
	if got[len(got)-1] != "A_monitor_10000 call=5 rc=0 st=1" {
		t.Fatalf("cancel result %v", got)
	}
	if _, ok := h.m.NextDeadline(); ok {
		t.Fatal("cancelled monitor still scheduled")
	}
	if rc := h.m.Cancel(ms(30500), "A", "monitor", 10000); rc != -EOPNOTSUPP {
		t.Fatalf("second cancel rc %d", rc)
	}
	if rc := h.m.Cancel(ms(30500), "nope", "monitor", 10000); rc != -ENODEV {
		t.Fatalf("cancel of unknown rsc rc %d", rc)
	}
}

func TestStopCancelsRecurring(t *testing.T) {
	h := newHarness(t)
	h.m.Register(t0, Resource{ID: "A", Class: "ocf", Provider: "heartbeat", Type: "Dummy"})
	h.exec(ms(0), ExecRequest{RscID: "A", Action: "monitor", IntervalMS: 5000, CallID: 1})
	h.complete(ms(10), h.find("A", "monitor"), Outcome{Status: ExecDone})
	h.exec(ms(20), ExecRequest{RscID: "A", Action: "stop", CallID: 2})
	h.complete(ms(30), h.find("A", "stop"), Outcome{Status: ExecDone})
	expect(t, h.popNotes(), "A_monitor_5000 call=1 rc=0 st=0", "A_monitor_5000 call=1 rc=0 st=1", "A_stop_0 call=2 rc=0 st=0")
	h.tick(ms(100000))
	if len(h.running) != 0 {
		t.Fatal("monitor ran after stop")
	}
}

func TestTimeout(t *testing.T) {
	h := newHarness(t)
	h.m.Register(t0, Resource{ID: "A", Class: "ocf", Provider: "x", Type: "y"})
	h.exec(ms(0), ExecRequest{RscID: "A", Action: "start", CallID: 1, TimeoutMS: 20000})
	h.exec(ms(0), ExecRequest{RscID: "A", Action: "stop", CallID: 2, TimeoutMS: 20000})
	id := h.find("A", "start")
	if d, _ := h.m.NextDeadline(); !d.Equal(ms(20000)) {
		t.Fatalf("deadline %v", d)
	}
	h.tick(ms(19999))
	if len(h.killed) != 0 {
		t.Fatal("killed early")
	}
	h.tick(ms(20000))
	if h.killed[id] != "timeout" {
		t.Fatal("not killed at its timeout")
	}
	h.complete(ms(20001), id, Outcome{Status: ExecError, ExitStatus: 1, Signal: 9, PID: 77})
	n := h.notes[0]
	if n.Status != ExecTimeout || n.RC != 1 || n.ExitReason != "Resource agent did not complete within 20s" {
		t.Fatalf("timeout result %+v", n)
	}
	h.find("A", "stop") // the next op runs once the killed one is reaped
	if !strings.Contains(strings.Join(h.log, "\n"), "A start (call 1, PID 77) could not be executed: Timed Out (Resource agent did not complete within 20s) (execution time 20.001s)") {
		t.Fatalf("log:\n%s", strings.Join(h.log, "\n"))
	}
}

func TestStartDelayAndMerge(t *testing.T) {
	h := newHarness(t)
	h.m.Register(t0, Resource{ID: "A", Class: "ocf", Provider: "x", Type: "y"})
	h.exec(ms(0), ExecRequest{RscID: "A", Action: "monitor", IntervalMS: 1000, StartDelayMS: 500, CallID: 1})
	if len(h.running) != 0 {
		t.Fatal("ran before start-delay")
	}
	if d, _ := h.m.NextDeadline(); !d.Equal(ms(500)) {
		t.Fatalf("deadline %v", d)
	}
	h.tick(ms(500))
	h.complete(ms(510), h.find("A", "monitor"), Outcome{Status: ExecDone})
	// A duplicate request for the same recurring op takes over its call id
	// and runs it at once instead of adding a second monitor.
	if rc := h.exec(ms(600), ExecRequest{RscID: "A", Action: "monitor", IntervalMS: 1000, CallID: 9}); rc != 9 {
		t.Fatalf("rc %d", rc)
	}
	h.complete(ms(620), h.find("A", "monitor"), Outcome{Status: ExecDone})
	expect(t, h.popNotes(), "A_monitor_1000 call=1 rc=0 st=0", "A_monitor_1000 call=9 rc=0 st=0")
}

func TestNotifyChangesOnly(t *testing.T) {
	h := newHarness(t)
	h.m.Register(t0, Resource{ID: "A", Class: "ocf", Provider: "x", Type: "y"})
	h.exec(ms(0), ExecRequest{RscID: "A", Action: "monitor", IntervalMS: 1000, CallID: 1, CallOpts: OptNotifyChangesOnly})
	at := 0
	for _, rc := range []int{0, 0, 0, 7, 7, 0} {
		h.complete(ms(at+1), h.find("A", "monitor"), Outcome{Status: ExecDone, ExitStatus: rc})
		at += 1001
		h.tick(ms(at))
	}
	expect(t, h.popNotes(), "A_monitor_1000 call=1 rc=0 st=0", "A_monitor_1000 call=1 rc=7 st=0", "A_monitor_1000 call=1 rc=0 st=0")
}

func TestUnregister(t *testing.T) {
	h := newHarness(t)
	h.m.Register(t0, Resource{ID: "A", Class: "ocf", Provider: "x", Type: "y"})
	h.exec(ms(0), ExecRequest{RscID: "A", Action: "start", CallID: 1})
	h.exec(ms(0), ExecRequest{RscID: "A", Action: "monitor", CallID: 2})
	if rc := h.m.Unregister(ms(1), "A"); rc != -EINPROGRESS {
		t.Fatalf("rc %d", rc)
	}
	h.collect()
	h.complete(ms(5), h.find("A", "start"), Outcome{Status: ExecDone})
	if len(h.notes) != 2 || !h.notes[0].RscDeleted || h.notes[0].Status != ExecCancelled || !h.notes[1].RscDeleted {
		t.Fatalf("%+v", h.notes)
	}
	if rc := h.m.Exec(ms(6), ExecRequest{RscID: "A", Action: "start"}); rc != -ENODEV {
		t.Fatalf("exec on unregistered rc %d", rc)
	}
	if rc := h.m.Unregister(ms(6), "A"); rc != 0 {
		t.Fatalf("second unregister rc %d", rc)
	}
}

func TestClientGoneDropsRecurring(t *testing.T) {
	h := newHarness(t)
	h.m.Register(t0, Resource{ID: "A", Class: "ocf", Provider: "x", Type: "y", CallOpts: OptDropRecurring})
	h.m.Register(t0, Resource{ID: "B", Class: "ocf", Provider: "x", Type: "y"})
	for _, r := range []string{"A", "B"} {
		h.exec(ms(0), ExecRequest{RscID: r, Action: "monitor", IntervalMS: 1000, ClientID: "c1"})
		h.complete(ms(1), h.find(r, "monitor"), Outcome{Status: ExecDone})
	}
	h.m.ClientGone(ms(2), "c1")
	h.collect()
	if ops, _ := h.m.Recurring(""); len(ops) != 1 || ops[0].RscID != "B" {
		t.Fatalf("recurring after client left: %v", ops)
	}
}

// TestRandom drives the machine with seeded random requests, completions,
// cancels and clock jumps, and checks its invariants after every step: one op
// per resource, every Run answered by one notification (or a recurring
// re-arm), no deadline in the past after a Tick.
func TestRandom(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 20
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(strconv.FormatInt(seed, 10), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			h := newHarness(t)
			rscs := []string{"A", "B", "C"}
			for _, id := range rscs {
				h.m.Register(t0, Resource{ID: id, Class: "ocf", Provider: "x", Type: "y"})
			}
			now := t0
			call := 0
			actions := []string{"start", "stop", "monitor", "monitor", "promote"}
			for step := 0; step < 300; step++ {
				now = now.Add(time.Duration(r.Intn(3000)) * time.Millisecond)
				switch r.Intn(6) {
				case 0, 1:
					call++
					req := ExecRequest{RscID: rscs[r.Intn(3)], Action: actions[r.Intn(len(actions))], CallID: call,
						TimeoutMS: int64(r.Intn(5000) + 1)}
					if req.Action == "monitor" && r.Intn(2) == 0 {
						req.IntervalMS = int64((r.Intn(3) + 1) * 1000)
					}
					if r.Intn(5) == 0 {
						req.StartDelayMS = int64(r.Intn(2000))
					}
					if rc := h.exec(now, req); rc != call {
						t.Fatalf("exec rc %d", rc)
					}
				case 2, 3:
					for id := range h.running {
						out := Outcome{Status: ExecDone, ExitStatus: r.Intn(10)}
						if _, k := h.killed[id]; k {
							out = Outcome{Status: ExecError, ExitStatus: 1, Signal: 9}
						}
						h.complete(now, id, out)
						break
					}
				case 4:
					h.m.Cancel(now, rscs[r.Intn(3)], "monitor", int64((r.Intn(3)+1)*1000))
					h.collect()
				case 5:
					h.tick(now)
					if d, ok := h.m.NextDeadline(); ok && !d.After(now) {
						// Only a start-delay of a queued op behind a running
						// one may be due: it waits for the resource.
						if len(h.running) == 0 {
							t.Fatalf("deadline %v not after now %v with nothing running", d, now)
						}
					}
				}
			}
			// Drain: answer everything, cancel every recurring op, and the
			// machine must go idle.
			for _, id := range rscs {
				for _, op := range []int64{1000, 2000, 3000} {
					h.m.Cancel(now, id, "monitor", op)
				}
			}
			h.collect()
			for i := 0; i < 1000 && (len(h.running) > 0 || h.m.HasReady()); i++ {
				now = now.Add(10 * time.Second)
				for id := range h.running {
					h.complete(now, id, Outcome{Status: ExecError, Signal: 9})
				}
				h.tick(now)
			}
			for _, id := range rscs {
				for _, op := range []int64{1000, 2000, 3000} {
					h.m.Cancel(now, id, "monitor", op)
				}
			}
			h.collect()
			for i := 0; i < 1000 && (len(h.running) > 0 || len(h.m.ops) > 0); i++ {
				for id := range h.running {
					h.complete(now, id, Outcome{Status: ExecError, Signal: 9})
				}
				now = now.Add(10 * time.Second)
				h.tick(now)
			}
			if len(h.running) != 0 || len(h.m.ops) != 0 {
				for _, o := range h.m.ops {
					t.Logf("left: %+v state=%d cancelled=%v rscActive=%v pending=%d", o.req, o.state, o.cancelled, o.rsc.active != nil, len(o.rsc.pending))
				}
				t.Fatalf("not idle: running %d ops %d", len(h.running), len(h.m.ops))
			}
		})
	}
}

// TestPure enforces rule 1 of docs/style.md: the scheduler does no I/O and
// reads no clock.
func TestPure(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	bad := map[string]bool{"os": true, "os/exec": true, "net": true, "syscall": true, "math/rand": true, "io/ioutil": true}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); bad[p] {
				t.Errorf("%s imports %s", f, p)
			}
		}
		if strings.Contains(string(src), "time.Now(") || strings.Contains(string(src), "go func") {
			t.Errorf("%s reads the clock or starts goroutines", f)
		}
	}
}
