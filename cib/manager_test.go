package cib

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
)

func newTestManager(t *testing.T) *Manager {
	t.Helper()
	root, err := ParseXMLString(seedCIB)
	if err != nil {
		t.Fatal(err)
	}
	return NewManager(&Engine{Now: fixedNow}, "node1", root)
}

func req(t *testing.T, s string) *etree.Element {
	t.Helper()
	e, err := ParseXMLString(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestManagerProtocol(t *testing.T) {
	m := newTestManager(t)
	m.Connect("c1", "root", true)
	m.Connect("ro", "root", false)
	m.Connect("watch", "hacluster", true)

	// register answers on the response channel with the client id, echoing
	// the request flags plus "free" (0x20200 in the captures).
	eff := m.Request("c1", 1, 0x200, req(t, `<cib_command t="cib" cib_op="register" cib_clientname="cibadmin" cib_callopt="4096"/>`))
	if len(eff.Send) != 1 || eff.Send[0].Event || eff.Send[0].ReqID != 1 || eff.Send[0].Flags != 0x20200 ||
		Serialize(eff.Send[0].XML, false) != `<cib_common_callback_worker cib_op="register" cib_clientid="c1"/>` {
		t.Fatalf("register: %+v %s", eff.Send, Serialize(eff.Send[0].XML, false))
	}
	// Subscription with an ack.
	eff = m.Request("watch", 1, 0x200, req(t, `<cib_command t="cib" cib_op="cib_notify" cib_notify_type="cib_diff_notify" cib_notify_activate="1"/>`))
	if len(eff.Send) != 1 || eff.Send[0].XML.Tag != "ack" || AttrOr(eff.Send[0].XML, "status", "") != "0" {
		t.Fatalf("notify ack: %+v", eff.Send)
	}
	// An async query (callopt 0, flags 0) is answered by an event.
	eff = m.Request("c1", 2, 0, req(t, `<cib_command t="cib" cib_async_id="c1" cib_op="cib_query" cib_section="nodes" cib_callid="2" cib_callopt="0"/>`))
	if len(eff.Send) != 1 || !eff.Send[0].Event || eff.Send[0].Flags != 0x30000 {
		t.Fatalf("async query: %+v", eff.Send)
	}
	if got := Serialize(eff.Send[0].XML, false); !strings.HasPrefix(got, `<cib-reply t="cib" cib_op="cib_query" cib_callid="2" cib_clientid="c1" cib_callopt="0" cib_rc="0"><cib_calldata><nodes>`) {
		t.Fatalf("async query reply: %s", got)
	}
	// A sync modify: response to the request, diff notification to the
	// subscriber only, the CIB to persist.
	eff = m.Request("c1", 3, 0x200, req(t, `<cib_command t="cib" cib_op="cib_modify" cib_callid="3" cib_callopt="4096"><cib_calldata><primitive id="d1" description="x"/></cib_calldata></cib_command>`))
	if eff.Persist == nil || AttrOr(eff.Persist, "epoch", "") != "6" || AttrOr(eff.Persist, "update-origin", "") != "node1" || AttrOr(eff.Persist, "update-client", "") != "cibadmin" {
		t.Fatalf("persist: %v", eff.Persist)
	}
	if len(eff.Send) != 2 || eff.Send[0].ClientID != "watch" || !eff.Send[0].Event || eff.Send[1].ClientID != "c1" || eff.Send[1].Event || eff.Send[1].ReqID != 3 {
		t.Fatalf("modify sends: %+v", eff.Send)
	}
	note := Serialize(eff.Send[0].XML, false)
	for _, want := range []string{`<notify t="cib_notify" subt="cib_diff_notify" cib_op="cib_modify" cib_rc="0" cib_object_type="primitive">`,
		`<cib_generation><generation_tuple `, `<cib_update><primitive id="d1" description="x"/></cib_update>`, `<cib_update_result><diff format="2">`} {
		if !strings.Contains(note, want) {
			t.Errorf("notification lacks %s:\n%s", want, note)
		}
	}
	// A status change is not persisted.
	eff = m.Request("c1", 4, 0, req(t, `<cib_command t="cib" cib_op="cib_modify" cib_section="status" cib_callid="4" cib_callopt="0"><cib_calldata><node_state id="1" in_ccm="true"/></cib_calldata></cib_command>`))
	if eff.Persist != nil {
		t.Error("status update persisted")
	}
	// cib_ro may query but not write.
	eff = m.Request("ro", 1, 0x200, req(t, `<cib_command t="cib" cib_op="cib_modify" cib_callid="1" cib_callopt="4096"><cib_calldata><primitive id="d1" description="y"/></cib_calldata></cib_command>`))
	if len(eff.Send) != 1 || AttrOr(eff.Send[0].XML, "cib_rc", "") != "-13" {
		t.Fatalf("cib_ro write: %+v", eff.Send)
	}
	// discard_reply: no reply at all.
	eff = m.Request("c1", 5, 0, req(t, `<cib_command t="cib" cib_op="cib_bump" cib_callid="5" cib_callopt="16"/>`))
	for _, s := range eff.Send {
		if s.ClientID == "c1" {
			t.Error("reply despite cib_discard_reply")
		}
	}
	// Unsubscribe, unknown op, unknown client.
	m.Request("watch", 2, 0, req(t, `<cib_command t="cib" cib_op="cib_notify" cib_notify_type="cib_diff_notify" cib_notify_activate="0"/>`))
	eff = m.Request("c1", 6, 0, req(t, `<cib_command t="cib" cib_op="cib_frob" cib_callid="6" cib_callopt="0"/>`))
	if len(eff.Send) != 1 || AttrOr(eff.Send[0].XML, "cib_rc", "") != "-22" {
		t.Fatalf("unknown op: %+v", eff.Send)
	}
	if eff := m.Request("nobody", 1, 0x200, req(t, `<cib_command cib_op="cib_query"/>`)); len(eff.Send) != 0 {
		t.Error("answered an unknown client")
	}
	m.Disconnect("c1")
	if eff := m.Request("c1", 7, 0x200, req(t, `<cib_command cib_op="cib_query"/>`)); len(eff.Send) != 0 {
		t.Error("answered a disconnected client")
	}
}

func FuzzManagerRequest(f *testing.F) {
	f.Add(uint32(0x200), `<cib_command t="cib" cib_op="register" cib_clientname="x" cib_callopt="4096"/>`)
	f.Add(uint32(0), `<cib_command t="cib" cib_op="cib_modify" cib_callid="3" cib_callopt="4096"><cib_calldata><primitive id="d1" description="x"/></cib_calldata></cib_command>`)
	f.Add(uint32(0), `<cib_command t="cib" cib_op="cib_apply_diff" cib_callopt="0"><cib_calldata><cib_update_diff><diff format="2"/></cib_update_diff></cib_calldata></cib_command>`)
	f.Add(uint32(0), `<cib_command t="cib" cib_op="cib_replace" cib_section="resources" cib_callopt="2"><cib_calldata><cib/></cib_calldata></cib_command>`)
	f.Fuzz(func(t *testing.T, flags uint32, s string) {
		e, err := ParseXMLString(s)
		if err != nil {
			return
		}
		root, _ := ParseXMLString(seedCIB)
		m := NewManager(&Engine{}, "n", root)
		m.Connect("a", "someone", true)
		m.Connect("b", "root", false)
		m.Request("a", 1, flags, e)
		m.Request("b", 1, flags, e)
	})
}

func TestManagerInvalidCIBAnswersEverything(t *testing.T) {
	m := newTestManager(t)
	m.Status = ErrSchemaValidation
	m.Connect("c", "root", true)
	eff := m.Request("c", 1, 0x200, req(t, `<cib_command t="cib" cib_op="cib_query" cib_callid="1" cib_callopt="4096"/>`))
	if len(eff.Send) != 1 || AttrOr(eff.Send[0].XML, "cib_rc", "") != "-203" || FirstChild(FirstChild(eff.Send[0].XML, "cib_calldata"), "cib") == nil {
		t.Fatalf("%+v", eff.Send)
	}
}
