package cib

import (
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// simCluster delivers the managers' CPG messages in one agreed order, the
// way totem does, with optional nodes cut off.
type simCluster struct {
	t       *testing.T
	nodes   map[string]*Manager
	order   []string
	queue   []simMsg
	cut     map[string]bool
	replies map[string][]Message // by node/client
	persist map[string]int
}

type simMsg struct {
	from string
	pm   PeerMessage
}

func newSimCluster(t *testing.T, names ...string) *simCluster {
	s := &simCluster{t: t, nodes: map[string]*Manager{}, order: names, cut: map[string]bool{}, replies: map[string][]Message{}, persist: map[string]int{}}
	for _, n := range names {
		root, _ := ParseXMLString(seedCIB)
		m := NewManager(&Engine{Now: fixedNow}, n, root)
		m.Cluster = true
		s.nodes[n] = m
	}
	return s
}

func (s *simCluster) effects(node string, eff Effects) {
	if eff.Persist != nil {
		s.persist[node]++
	}
	for _, m := range eff.Send {
		s.replies[node+"/"+m.ClientID] = append(s.replies[node+"/"+m.ClientID], m)
	}
	for _, pm := range eff.CPG {
		// Messages travel as text, like the wire.
		x, err := ParseXMLString(Serialize(pm.XML, false))
		if err != nil {
			s.t.Fatal(err)
		}
		s.queue = append(s.queue, simMsg{node, PeerMessage{To: pm.To, XML: x}})
	}
}

func (s *simCluster) run() {
	for i := 0; len(s.queue) > 0 && i < 10000; i++ {
		msg := s.queue[0]
		s.queue = s.queue[1:]
		if s.cut[msg.from] {
			continue
		}
		for _, n := range s.order {
			if s.cut[n] || (msg.pm.To != "" && msg.pm.To != n) {
				continue
			}
			s.effects(n, s.nodes[n].Deliver(msg.from, msg.pm.XML.Copy()))
		}
	}
}

func (s *simCluster) request(node, client string, reqID int32, xml string) {
	s.t.Helper()
	m := s.nodes[node]
	if _, ok := m.clients[client]; !ok {
		m.Connect(client, "root", true)
	}
	s.effects(node, m.Request(client, reqID, 0x200, req(s.t, xml)))
}

// same compares CIBs by their versioned digest, which leaves out what
// every node stamps for itself (cib-last-written, update-*), plus the
// version tuple.
func (s *simCluster) same(names ...string) bool {
	key := func(n string) string {
		c := s.nodes[n].CIB()
		return DigestVersioned(c, FeatureSet) + AttrOr(c, "admin_epoch", "") + "." + AttrOr(c, "epoch", "") + "." + AttrOr(c, "num_updates", "")
	}
	for _, n := range names[1:] {
		if key(n) != key(names[0]) {
			return false
		}
	}
	return true
}

func TestClusterAgreedOrderConverges(t *testing.T) {
	s := newSimCluster(t, "n1", "n2", "n3")
	s.nodes["n1"].Primary = true
	for i := 0; i < 10; i++ {
		node := []string{"n1", "n2", "n3"}[i%3]
		s.request(node, "c-"+node, int32(i+1), fmt.Sprintf(`<cib_command __name__="cib_command" t="cib" cib_async_id="c-%s" cib_op="cib_modify" cib_callid="%d" cib_callopt="4096"><cib_calldata><primitive id="d1" description="v%d"/></cib_calldata></cib_command>`, node, i+1, i))
		s.request(node, "c-"+node, int32(100+i), fmt.Sprintf(`<cib_command t="cib" cib_op="cib_modify" cib_section="status" cib_callid="%d" cib_callopt="0"><cib_calldata><node_state id="1" x="%d"/></cib_calldata></cib_command>`, 100+i, i))
	}
	// Nothing is applied before delivery.
	if AttrOr(s.nodes["n2"].CIB(), "epoch", "") != "5" {
		t.Fatal("a forwarded request was applied before delivery")
	}
	s.run()
	if !s.same("n1", "n2", "n3") {
		t.Fatalf("CIBs diverged:\n%s\n%s", Serialize(s.nodes["n1"].CIB(), true), Serialize(s.nodes["n2"].CIB(), true))
	}
	cur := s.nodes["n3"].CIB()
	if v := AttrOr(cur, "admin_epoch", "") + "." + AttrOr(cur, "epoch", "") + "." + AttrOr(cur, "num_updates", ""); v != "0.15.0" && !strings.HasPrefix(v, "0.15.") {
		t.Errorf("version %s, want 0.15.x", v)
	}
	// Each client got exactly its own replies, on its own node.
	for _, n := range []string{"n1", "n2", "n3"} {
		for key, msgs := range s.replies {
			if strings.HasPrefix(key, n+"/c-") && !strings.HasSuffix(key, n) {
				t.Errorf("%s got replies meant for elsewhere", key)
			}
			_ = msgs
		}
		got := s.replies[n+"/c-"+n]
		if len(got) < 6 {
			t.Errorf("%s: %d replies", n, len(got))
		}
		for _, m := range got {
			if AttrOr(m.XML, "cib_rc", "") != "0" {
				t.Errorf("%s: %s", n, Serialize(m.XML, false))
			}
		}
	}
	if s.persist["n1"] == 0 || s.persist["n1"] != s.persist["n3"] {
		t.Errorf("persisted %v", s.persist)
	}
}

func TestClusterResyncAndPing(t *testing.T) {
	s := newSimCluster(t, "n1", "n2", "n3")
	s.nodes["n1"].Primary = true
	s.cut["n3"] = true
	s.request("n2", "c", 1, `<cib_command t="cib" cib_op="cib_create" cib_section="resources" cib_callid="1" cib_callopt="4096"><cib_calldata><primitive id="new" class="ocf" provider="pacemaker" type="Dummy"/></cib_calldata></cib_command>`)
	s.run()
	if s.same("n1", "n3") || !s.same("n1", "n2") {
		t.Fatal("partition not modelled")
	}
	// n3 rejoins; the DC's controller asks its CIB to sync everybody.
	s.cut["n3"] = false
	s.request("n1", "crmd", 1, `<cib_command t="cib" cib_op="cib_sync" cib_callid="7" cib_callopt="1048576" cib_user="hacluster"/>`)
	s.run()
	if !s.same("n1", "n2", "n3") {
		t.Fatalf("resync failed:\n%s", Serialize(s.nodes["n3"].CIB(), true))
	}
	// A replace that is older is refused (old data), the CIB stays.
	old, _ := ParseXMLString(seedCIB)
	stale := etree.NewElement("copy")
	SetAttr(stale, "cib_op", OpReplace)
	SetAttr(stale, "cib_update", "true")
	SetAttr(stale, "digest", DigestVersioned(old, FeatureSet))
	stale.CreateElement("cib_calldata").AddChild(old)
	before := Serialize(s.nodes["n3"].CIB(), false)
	s.nodes["n3"].Deliver("n2", stale)
	if Serialize(s.nodes["n3"].CIB(), false) != before {
		t.Fatal("older replace applied")
	}
	// A bad digest is refused too.
	newer := s.nodes["n1"].CIB().Copy()
	SetAttr(newer, "epoch", "99")
	bad := etree.NewElement("copy")
	SetAttr(bad, "cib_op", OpReplace)
	SetAttr(bad, "cib_update", "true")
	SetAttr(bad, "digest", "00000000000000000000000000000000")
	bad.CreateElement("cib_calldata").AddChild(newer)
	s.nodes["n3"].Deliver("n2", bad)
	if Serialize(s.nodes["n3"].CIB(), false) != before {
		t.Fatal("replace with a bad digest applied")
	}

	// Digest ping: n3 silently diverges; the primary's ping repairs it.
	SetAttr(FirstChild(FirstChild(FirstChild(s.nodes["n3"].cib, "configuration"), "resources"), "primitive"), "description", "drift")
	s.effects("n1", s.nodes["n1"].Ping())
	s.run()
	if !s.same("n1", "n2", "n3") {
		t.Fatalf("ping did not repair n3:\n%s", Serialize(s.nodes["n3"].CIB(), true))
	}
}

// TestForwardedRequestFormat checks the forwarded request against the
// captured 2.1.5 wire form (pcmk-cpg timeline, crmd's cib_modify).
func TestForwardedRequestFormat(t *testing.T) {
	root, _ := ParseXMLString(seedCIB)
	m := NewManager(&Engine{}, "n1", root)
	m.Cluster = true
	m.Connect("fe970c89-5223-49a4-a272-ab7ad5f7eb55", "hacluster", true)
	eff := m.Request("fe970c89-5223-49a4-a272-ab7ad5f7eb55", 4, 0, req(t, `<cib_command __name__="cib_command" t="cib" cib_async_id="fe970c89-5223-49a4-a272-ab7ad5f7eb55" cib_op="cib_modify" cib_section="nodes" cib_callid="4" cib_callopt="1048832" cib_clientname="crmd"><cib_calldata><node id="1" uname="n1"/></cib_calldata></cib_command>`))
	if len(eff.CPG) != 1 || eff.CPG[0].To != "" || len(eff.Send) != 0 {
		t.Fatalf("%+v", eff)
	}
	got := Serialize(eff.CPG[0].XML, false)
	want := `<cib_command __name__="cib_command" t="cib" cib_async_id="fe970c89-5223-49a4-a272-ab7ad5f7eb55" cib_op="cib_modify" cib_section="nodes" cib_callid="4" cib_callopt="1048832" cib_clientname="crmd" cib_clientid="fe970c89-5223-49a4-a272-ab7ad5f7eb55" acl_target="hacluster" cib_user="hacluster" src="n1" cib_delegated_from="n1">`
	if !strings.HasPrefix(got, want) {
		t.Errorf("forwarded:\n%s\nwant prefix:\n%s", got, want)
	}
	if strings.Contains(got, `cib_update=`) {
		t.Error("forwarded request carries cib_update (would switch peers to legacy mode)")
	}
}

func FuzzDeliver(f *testing.F) {
	f.Add(`<cib_command t="cib" cib_op="cib_modify" cib_callid="4" cib_callopt="1048832" cib_clientid="x" src="n2" cib_delegated_from="n1"><cib_calldata><primitive id="d1" description="z"/></cib_calldata></cib_command>`)
	f.Add(`<copy cib_op="cib_replace" cib_update="true" digest="x"><cib_calldata><cib epoch="9"/></cib_calldata></copy>`)
	f.Add(`<ping t="cib" cib_op="ping" cib_ping_id="1"/>`)
	f.Add(`<cib-reply t="cib" cib_op="ping"><cib_calldata><ping_response digest="x" cib_ping_id="1"/></cib_calldata></cib-reply>`)
	f.Add(`<cib_command t="cib" cib_op="cib_sync_one" cib_callid="1"/>`)
	f.Fuzz(func(t *testing.T, s string) {
		msg, err := ParseXMLString(s)
		if err != nil {
			return
		}
		root, _ := ParseXMLString(seedCIB)
		m := NewManager(&Engine{}, "n1", root)
		m.Cluster, m.Primary = true, true
		m.Connect("x", "root", true)
		m.Deliver("n2", msg)
		m.Ping()
		m.Deliver("n1", msg)
	})
}
