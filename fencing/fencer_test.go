package fencing

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/internal/testenv"
)

// captured returns the XML of every "#   xml:" line of a shared IPC vector.
func captured(t *testing.T, name string) []string {
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

func parse(t *testing.T, s string) *etree.Element {
	t.Helper()
	e, err := cib.ParseXMLString(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestCrmMonExchange replays crm_mon's two fencer requests from the
// capture against real Pacemaker 2.1.5 (vector pcmk-06) and compares the
// answers byte for byte (the client id and pid are the capture's).
func TestCrmMonExchange(t *testing.T) {
	var reqs, reps []string
	for _, x := range captured(t, "pcmk-06-crm_mon-1.txt") {
		switch {
		case strings.HasPrefix(x, "<stonith_command"):
			reqs = append(reqs, x)
		case strings.HasPrefix(x, "<reply st_op") || strings.HasPrefix(x, "<st-reply"):
			reps = append(reps, x)
		}
	}
	if len(reqs) != 2 || len(reps) != 2 {
		t.Fatalf("capture: %d requests, %d replies", len(reqs), len(reps))
	}
	const id = "f5c1a565-0a1c-479c-8f6d-9c16fe4cb251"
	f := New("node1")
	f.Connect(id, 15212, true)
	wantFlags := []uint32{0x20200, 0x20000}
	for i, r := range reqs {
		eff := f.Request(id, int32(2+3*i), 0x200, parse(t, r), 1795347154, 0, "op")
		if len(eff.Send) != 1 {
			t.Fatalf("request %d: %d messages", i, len(eff.Send))
		}
		m := eff.Send[0]
		if got := cib.Serialize(m.XML, false); got != reps[i] || m.Flags != wantFlags[i] || m.Event {
			t.Errorf("request %d:\n got %s flags %#x event %v\nwant %s flags %#x", i, got, m.Flags, m.Event, reps[i], wantFlags[i])
		}
	}
}

func TestFenceRefusedAndRecorded(t *testing.T) {
	f := New("n1")
	f.Connect("a", 10, true)
	f.Connect("w", 11, false)
	// A watcher subscribed to fencing and history notifications.
	for _, typ := range []string{NotifyFence, NotifyHistory} {
		f.Request("w", 1, 0x200, parse(t, `<stonith_command t="stonith-ng" st_op="st_notify" st_notify_activate="`+typ+`" st_clientname="crm_mon"/>`), 0, 0, "")
	}
	req := `<stonith_command t="stonith-ng" st_op="st_fence" st_callid="3" st_callopt="4096" st_clientname="stonith_admin"><st_calldata><stonith_api_fence st_target="n2" st_device_action="reboot" st_timeout="120" st_tolerance="0" st_delay="-1"/></st_calldata></stonith_command>`
	eff := f.Request("a", 5, 0x200, parse(t, req), 1000, 7, "op-1")
	if len(eff.Send) != 3 {
		t.Fatalf("%d messages", len(eff.Send))
	}
	r := eff.Send[0]
	if r.ClientID != "a" || r.Event || r.ReqID != 5 {
		t.Fatalf("reply %+v", r)
	}
	got := cib.Serialize(r.XML, false)
	for _, want := range []string{`op-status="10"`, `rc-code="1"`, `st_rc="-19"`, `st_op="st_fence"`, `st_callid="3"`, `st_clientname="stonith_admin.10"`, `st_remote_op="op-1"`} {
		if !strings.Contains(got, want) {
			t.Errorf("fence reply lacks %s: %s", want, got)
		}
	}
	if eff.Send[1].ClientID != "w" || !strings.Contains(cib.Serialize(eff.Send[1].XML, false), `subt="st_notify_fence"`) {
		t.Errorf("fence notification: %s", cib.Serialize(eff.Send[1].XML, false))
	}
	h := f.History()
	if len(h) != 1 || h[0].State != StateFailed || h[0].Target != "n2" || h[0].Action != "reboot" || h[0].Completed != 1000 {
		t.Fatalf("history %+v", h)
	}
	// The history answer lists it; a cleanup removes it.
	hist := f.Request("a", 6, 0x200, parse(t, `<stonith_command st_op="st_fence_history" st_callid="4" st_callopt="4096"/>`), 0, 0, "")
	if got := cib.Serialize(hist.Send[0].XML, false); !strings.Contains(got, `<st_history><st_execute st_remote_op="op-1" st_target="n2" st_device_action="reboot" st_origin="n1" st_clientname="stonith_admin.10" st_date="1000" st_date_nsec="7" st_state="4"/></st_history>`) {
		t.Errorf("history: %s", got)
	}
	f.Request("a", 7, 0x200, parse(t, `<stonith_command st_op="st_fence_history" st_callid="5" st_callopt="528384"/>`), 0, 0, "")
	if len(f.History()) != 0 {
		t.Errorf("cleanup kept %+v", f.History())
	}
}

func TestRefusals(t *testing.T) {
	f := New("n1")
	f.Connect("root", 1, true)
	f.Connect("user", 2, false)
	for _, c := range []struct{ client, req, want string }{
		{"root", `<stonith_command st_op="st_device_register" st_callopt="4096"><st_calldata><st_device_id id="f1" agent="fence_dummy" namespace="stonith-ng"/></st_calldata></stonith_command>`, `st_rc="-95"`},
		{"user", `<stonith_command st_op="st_device_register" st_callopt="4096"/>`, `st_rc="-13"`},
		{"root", `<stonith_command st_op="st_bogus" st_callopt="4096"/>`, `exit-reason="Unknown IPC request type &apos;st_bogus&apos; (bug?)"`},
		{"root", `<stonith_command st_op="st_query" st_callopt="4096"><st_calldata><st_device_id st_target="n2" st_device_action="off"/></st_calldata></stonith_command>`, `<stonith_query_capable_device_cb st_target="n2" st-available-devices="0"/>`},
	} {
		eff := f.Request(c.client, 1, 0x200, parse(t, c.req), 0, 0, "x")
		if len(eff.Send) != 1 || !strings.Contains(cib.Serialize(eff.Send[0].XML, false), c.want) {
			var got string
			if len(eff.Send) > 0 {
				got = cib.Serialize(eff.Send[0].XML, false)
			}
			t.Errorf("%s: got %s, want %s", c.req, got, c.want)
		}
	}
	// An asynchronous call is answered with an event.
	eff := f.Request("root", 9, 0, parse(t, `<stonith_command st_op="st_fence_history" st_callid="9" st_callopt="0"/>`), 0, 0, "")
	if len(eff.Send) != 1 || !eff.Send[0].Event || eff.Send[0].Flags != 0x30000 {
		t.Errorf("async history: %+v", eff.Send)
	}
}

func FuzzRequest(f *testing.F) {
	f.Add(`<stonith_command t="stonith-ng" st_op="register" st_clientname="crm_mon"/>`)
	f.Add(`<stonith_command st_op="st_fence"><st_calldata><x st_target="n2"/></st_calldata></stonith_command>`)
	f.Add(`<stonith_command st_op="st_fence_history" st_callopt="1048592"/>`)
	f.Add(`<stonith_command st_op="st_query"/>`)
	f.Add(`<x crm_task="rm_node_cache"/>`)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := cib.ParseXMLString(s)
		if err != nil {
			return
		}
		fc := New("n1")
		fc.Connect("c", 1, true)
		eff := fc.Request("c", 1, 0x200, e, 0, 0, "op")
		for _, m := range eff.Send {
			_ = cib.Serialize(m.XML, false)
		}
		fc.Deliver("n2", e)
	})
}
