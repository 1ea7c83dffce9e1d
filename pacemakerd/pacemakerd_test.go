package pacemakerd

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ringmaster/cib"
	"ringmaster/internal/testenv"
)

func capturedXML(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "testdata", "ipc", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		if x, ok := strings.CutPrefix(sc.Text(), "#   xml: "); ok {
			out = append(out, x)
		}
	}
	return out
}

// TestPingAsCaptured: crm_mon's ping (vector pcmk-06) gets the ack and
// the reply real pacemakerd sent, byte for byte.
func TestPingAsCaptured(t *testing.T) {
	x := capturedXML(t, "pcmk-06-crm_mon-1.txt")
	if len(x) < 3 || !strings.Contains(x[0], `crm_task="ping"`) {
		t.Fatalf("capture: %v", x)
	}
	req, err := cib.ParseXMLString(x[0])
	if err != nil {
		t.Fatal(err)
	}
	a := Handle(req, 0x200, StateRunning, 1795347154, true)
	if got := cib.Serialize(a.Ack, false); got != x[1] || a.AckFlags != 0x20200 {
		t.Errorf("ack %s flags %#x\nwant %s flags 0x20200", got, a.AckFlags, x[1])
	}
	if got := cib.Serialize(a.Reply, false); got != x[2] || ReplyFlags != 0x30000 {
		t.Errorf("reply %s\nwant %s", got, x[2])
	}
	if a.Shutdown {
		t.Error("ping shuts down")
	}
}

func TestQuitAndUnknown(t *testing.T) {
	req, _ := cib.ParseXMLString(`<create_request_adv t="crmd" subt="request" reference="quit-x-1-0" crm_task="quit" crm_sys_to="pacemakerd" crm_sys_from="1_x"/>`)
	if a := Handle(req, 0x200, StateRunning, 0, false); a.Shutdown || !strings.Contains(cib.Serialize(a.Reply, false), `<shutdown op_status="4"/>`) {
		t.Errorf("unprivileged quit: %+v", a)
	}
	if a := Handle(req, 0x200, StateRunning, 0, true); !a.Shutdown || !strings.Contains(cib.Serialize(a.Reply, false), `<shutdown op_status="0"/>`) {
		t.Errorf("privileged quit: %+v", a)
	}
	req, _ = cib.ParseXMLString(`<create_request_adv crm_task="frobnicate"/>`)
	if a := Handle(req, 0x200, StateRunning, 0, true); a.Reply != nil || cib.Serialize(a.Ack, false) != `<ack function="handle_unknown_request" line="0" status="2"/>` {
		t.Errorf("unknown: %+v", a)
	}
}

func FuzzHandle(f *testing.F) {
	f.Add(`<create_request_adv crm_task="ping" crm_sys_to="pacemakerd" crm_sys_from="1_crm_mon" reference="r"/>`)
	f.Add(`<create_request_adv crm_task="quit"/>`)
	f.Add(`<x/>`)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := cib.ParseXMLString(s)
		if err != nil {
			return
		}
		a := Handle(e, 0x200, StateRunning, 1, false)
		if a.Ack == nil || a.Shutdown {
			t.Fatalf("%+v", a)
		}
	})
}

func TestLogFormat(t *testing.T) {
	var b bytes.Buffer
	l := NewLog(&b, "pacemakerd", "node1", 11861, func() time.Time { return time.Date(2026, 11, 22, 11, 32, 0, 0, time.UTC) })
	l.Notice("main", "Starting Pacemaker %s", "2.1.5")
	l.Debug("main", "hidden")
	if got, want := b.String(), "Nov 22 11:32:00 node1 pacemakerd          [11861] (main) \tnotice: Starting Pacemaker 2.1.5\n"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSupervisor runs fake subdaemons: one stays up, one keeps failing
// (respawned with back-off), one is missing; a shutdown stops them in
// reverse table order.
func TestSupervisor(t *testing.T) {
	dir := t.TempDir()
	write := func(name, script string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("a-up", "trap 'exit 0' TERM\nwhile :; do sleep 0.05; done\n")
	write("b-fails", "exit 3\n")
	write("c-up", "trap 'exit 0' TERM\nwhile :; do sleep 0.05; done\n")
	var log syncBuf
	s := NewSupervisor(Options{
		Children: []Child{{Name: "a-up", Endpoint: "a"}, {Name: "b-fails", Endpoint: "b"}, {Name: "missing", Endpoint: "m"}, {Name: "c-up", Endpoint: "c"}},
		Dirs:     []string{dir},
		Probe:    func(string) bool { return true },
		Backoff:  func(int) time.Duration { return 20 * time.Millisecond },
		Log:      NewLog(&log, "pacemakerd", "n1", 1, nil),
	})
	done := make(chan struct{})
	go func() { s.Run(context.Background()); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(log.String(), "Respawning b-fails") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no respawns:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st, _ := s.State(); st != StateRunning {
		t.Errorf("state %s", st)
	}
	s.Shutdown()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("Run did not return:\n%s", log.String())
	}
	out := log.String()
	c, a := strings.Index(out, "Stopping c-up"), strings.Index(out, "Stopping a-up")
	for _, want := range []string{"Not starting missing", "b-fails[", "exited with status 3 (Unimplemented)", "Shutdown complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if c < 0 || a < c {
		t.Errorf("stop order wrong:\n%s", out)
	}
	if st, _ := s.State(); st != StateShutdownComplete {
		t.Errorf("final state %s", st)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 5: 1600 * time.Millisecond, 30: 10 * time.Second} {
		if got := DefaultBackoff(n); got != want {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", n, got, want)
		}
	}
}
