package pengine

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// cib builds a small CIB: nodes "name:state" (state online/offline/lost/standby),
// resources and constraints as XML, status lrm entries per node.
func cib(t testing.TB, props string, nodes []string, resources, constraints string, lrm map[string]string, attrs map[string]string) *etree.Document {
	var b strings.Builder
	b.WriteString(`<cib have-quorum="1" dc-uuid="n1" validate-with="pacemaker-3.8"><configuration><crm_config><cluster_property_set id="p">`)
	b.WriteString(props)
	b.WriteString(`</cluster_property_set></crm_config><nodes>`)
	for i, n := range nodes {
		name := strings.Split(n, ":")[0]
		b.WriteString(`<node id="n` + string(rune('1'+i)) + `" uname="` + name + `">`)
		if strings.HasSuffix(n, ":standby") {
			b.WriteString(`<instance_attributes id="ia` + name + `"><nvpair id="sb` + name + `" name="standby" value="on"/></instance_attributes>`)
		}
		b.WriteString(`</node>`)
	}
	b.WriteString(`</nodes><resources>` + resources + `</resources><constraints>` + constraints + `</constraints></configuration><status>`)
	for i, n := range nodes {
		parts := strings.Split(n, ":")
		name, state := parts[0], "online"
		if len(parts) > 1 {
			state = parts[1]
		}
		id := "n" + string(rune('1'+i))
		switch state {
		case "offline":
			b.WriteString(`<node_state id="` + id + `" uname="` + name + `" in_ccm="false" crmd="offline" join="down" expected="down">`)
		case "lost":
			b.WriteString(`<node_state id="` + id + `" uname="` + name + `" in_ccm="false" crmd="offline" join="down" expected="member">`)
		default:
			b.WriteString(`<node_state id="` + id + `" uname="` + name + `" in_ccm="true" crmd="online" join="member" expected="member">`)
		}
		if a := attrs[name]; a != "" {
			b.WriteString(`<transient_attributes id="` + id + `"><instance_attributes id="ta` + id + `">` + a + `</instance_attributes></transient_attributes>`)
		}
		b.WriteString(`<lrm id="` + id + `"><lrm_resources>` + lrm[name] + `</lrm_resources></lrm></node_state>`)
	}
	b.WriteString(`</status></cib>`)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(b.String()); err != nil {
		t.Fatalf("building CIB: %v", err)
	}
	return doc
}

func started(rsc, op string, rc int) string {
	return `<lrm_resource id="` + rsc + `" class="ocf" provider="heartbeat" type="IPaddr2">` +
		`<lrm_rsc_op id="` + rsc + `_last_0" operation="` + op + `" interval="0" op-status="0" rc-code="` + string(rune('0'+rc)) +
		`" call-id="3" transition-key="1:1:0:x" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>`
}

func summaryOf(t *testing.T, doc *etree.Document) []string {
	t.Helper()
	res, err := Schedule(doc, time.Unix(1700000000, 0), Options{})
	if err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	var out []string
	for _, l := range res.Summary {
		out = append(out, normSummaryLine(l))
	}
	return out
}

func wantSummary(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("summary:\n got %q\nwant %q", got, want)
	}
}

const noFence = `<nvpair id="se" name="stonith-enabled" value="false"/><nvpair id="nq" name="no-quorum-policy" value="ignore"/>`
const vip = `<primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2"><meta_attributes id="vm"><nvpair id="vs" name="resource-stickiness" value="100"/></meta_attributes><operations><op id="vmon" name="monitor" interval="6s"/></operations></primitive>`

// S1: the active node fails; the VIP moves to the survivor and stays
// there when the old node comes back (stickiness).
func TestScenarioFailoverAndStickiness(t *testing.T) {
	lost := cib(t, noFence, []string{"node01:offline", "node02"}, vip, "", map[string]string{"node02": ""}, nil)
	wantSummary(t, summaryOf(t, lost), "* Start vip (node02)")
	back := cib(t, noFence, []string{"node01", "node02"}, vip, "",
		map[string]string{"node02": started("vip", "start", 0), "node01": started("vip", "monitor", 7)}, nil)
	wantSummary(t, summaryOf(t, back))
}

// S1 step 10: standby moves the VIP away.
func TestScenarioStandby(t *testing.T) {
	doc := cib(t, noFence, []string{"node01", "node02:standby"}, vip, "",
		map[string]string{"node02": started("vip", "start", 0), "node01": started("vip", "monitor", 7)}, nil)
	wantSummary(t, summaryOf(t, doc), "* Move vip (node02 -> node01)")
}

// S2: a group starts in order on one node.
func TestScenarioGroup(t *testing.T) {
	grp := `<group id="appgroup"><primitive id="app_fs" class="ocf" provider="heartbeat" type="Filesystem"/><primitive id="VIP" class="ocf" provider="heartbeat" type="IPaddr2"/></group>`
	doc := cib(t, noFence, []string{"node01", "node02"}, grp, "", nil, nil)
	got := summaryOf(t, doc)
	if len(got) != 2 || !strings.HasPrefix(got[0], "* Start app_fs") || !strings.HasPrefix(got[1], "* Start VIP") {
		t.Fatalf("group start: %q", got)
	}
	// both members on the same node
	if got[0][len(got[0])-8:] != got[1][len(got[1])-8:] {
		t.Errorf("group members on different nodes: %q", got)
	}
}

// S3: clone everywhere, the VIP where an instance runs.
func TestScenarioCloneColocation(t *testing.T) {
	rs := `<clone id="web-clone"><primitive id="web" class="ocf" provider="heartbeat" type="nginx"/></clone>` + vip
	cons := `<rsc_colocation id="c" rsc="vip" with-rsc="web-clone" score="INFINITY"/>`
	doc := cib(t, noFence, []string{"node01", "node02"}, rs, cons, nil, nil)
	got := summaryOf(t, doc)
	if len(got) != 3 {
		t.Fatalf("want 2 clone starts and a vip start, got %q", got)
	}
}

// S5: with migration-threshold=1 a failed monitor moves the resource away.
func TestScenarioMigrationThreshold(t *testing.T) {
	r := `<primitive id="pg" class="ocf" provider="heartbeat" type="pgsql"><meta_attributes id="m"><nvpair id="mt" name="migration-threshold" value="1"/></meta_attributes></primitive>`
	lrm := `<lrm_resource id="pg" class="ocf" provider="heartbeat" type="pgsql">` +
		`<lrm_rsc_op id="pg_last_0" operation="start" interval="0" op-status="0" rc-code="0" call-id="3" transition-key="1:1:0:x" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>` +
		`<lrm_rsc_op id="pg_monitor_10000" operation="monitor" interval="10000" op-status="0" rc-code="7" call-id="4" transition-key="1:1:0:x"/>` +
		`</lrm_resource>`
	attrs := `<nvpair id="fc" name="fail-count-pg#monitor_10000" value="1"/>`
	doc := cib(t, noFence, []string{"pm1", "pm2"}, r, "",
		map[string]string{"pm1": lrm, "pm2": started("pg", "monitor", 7)}, map[string]string{"pm1": attrs})
	wantSummary(t, summaryOf(t, doc), "* Recover pg (pm1 -> pm2)")
}

// S5: a failed stop with fencing enabled gets the node fenced and the
// resource recovered elsewhere.
func TestScenarioStopFailureFences(t *testing.T) {
	rs := `<primitive id="fence" class="stonith" type="fence_virsh"/>` + vip
	lrm := `<lrm_resource id="vip" class="ocf" provider="heartbeat" type="IPaddr2">` +
		`<lrm_rsc_op id="vip_last_0" operation="stop" interval="0" op-status="2" rc-code="1" call-id="5" transition-key="1:1:0:x"/>` +
		`</lrm_resource>`
	doc := cib(t, `<nvpair id="nq" name="no-quorum-policy" value="ignore"/>`, []string{"node01", "node02"}, rs, "",
		map[string]string{"node01": lrm + started("fence", "start", 0), "node02": started("vip", "monitor", 7)}, nil)
	got := summaryOf(t, doc)
	joined := strings.Join(got, "\n")
	if !strings.Contains(joined, "* Fence (reboot) node01 'vip failed there'") || !strings.Contains(joined, "vip (node01 -> node02)") {
		t.Errorf("want fencing of node01 and recovery on node02, got %q", got)
	}
}

func TestMalformedCIB(t *testing.T) {
	for _, s := range []string{`<nocib/>`, `<cib/>`, `<cib><configuration><nodes><node uname="x"/></nodes></configuration></cib>`,
		`<cib execution-date="soon"><configuration/></cib>`,
		`<cib><configuration><resources><primitive class="ocf"/></resources></configuration></cib>`} {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(s); err != nil {
			t.Fatal(err)
		}
		if _, err := Schedule(doc, time.Unix(0, 0), Options{}); err == nil {
			t.Errorf("%s: expected an error", s)
		} else if !strings.Contains(err.Error(), "<") && err != ErrNoCIB {
			t.Errorf("%s: error does not name the element: %v", s, err)
		}
	}
}

func FuzzSchedule(f *testing.F) {
	for _, d := range []*etree.Document{
		cib(f, noFence, []string{"node01", "node02"}, vip, "", nil, nil),
		cib(f, noFence, []string{"a", "b:standby"}, `<clone id="c"><primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/></clone>`,
			`<rsc_location id="l" rsc="c" node="a" score="-INFINITY"/>`, map[string]string{"a": started("p", "start", 0)}, nil),
		cib(f, "", []string{"a:lost", "b"}, `<group id="g"><primitive id="x" class="ocf" provider="heartbeat" type="Dummy"/></group>`,
			"", map[string]string{"a": started("x", "start", 0)}, nil),
	} {
		s, _ := d.WriteToString()
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := etree.NewDocument()
		if doc.ReadFromString(s) != nil {
			return
		}
		res, err := Schedule(doc, time.Unix(1700000000, 0), Options{ShowScores: true})
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("scheduler panicked: %v", err)
		}
		if err == nil && res.Graph == nil {
			t.Fatal("nil graph without error")
		}
	})
}
