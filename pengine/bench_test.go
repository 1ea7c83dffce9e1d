package pengine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// BigCIB builds a synthetic cluster: nodes x resources primitives (every
// tenth in a group of five, a few clones), half of them already running,
// with location preferences and a colocation chain, so that placement,
// probes, recurring monitors and ordering all have work to do.
func BigCIB(nodes, resources int) string {
	var b strings.Builder
	b.WriteString(`<cib have-quorum="1" dc-uuid="n1" validate-with="pacemaker-3.8" epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config><cluster_property_set id="cib-bootstrap-options">`)
	b.WriteString(`<nvpair id="o1" name="stonith-enabled" value="false"/><nvpair id="o2" name="no-quorum-policy" value="ignore"/></cluster_property_set></crm_config><nodes>`)
	for i := 1; i <= nodes; i++ {
		fmt.Fprintf(&b, `<node id="n%d" uname="node%d"/>`, i, i)
	}
	b.WriteString(`</nodes><resources>`)
	prim := func(id string) string {
		return fmt.Sprintf(`<primitive id="%s" class="ocf" provider="heartbeat" type="Dummy"><operations><op id="%s-mon" name="monitor" interval="10s"/></operations></primitive>`, id, id)
	}
	groups := 0
	for i := 0; i < resources; {
		switch {
		case i%50 == 0 && i+5 <= resources:
			fmt.Fprintf(&b, `<group id="g%d">`, groups)
			for j := 0; j < 5; j++ {
				b.WriteString(prim(fmt.Sprintf("r%d", i+j)))
			}
			b.WriteString(`</group>`)
			groups++
			i += 5
		case i%97 == 0:
			fmt.Fprintf(&b, `<clone id="c%d">%s</clone>`, i, prim(fmt.Sprintf("r%d", i)))
			i++
		default:
			b.WriteString(prim(fmt.Sprintf("r%d", i)))
			i++
		}
	}
	b.WriteString(`</resources><constraints>`)
	for i := 0; i < resources; i += 7 {
		fmt.Fprintf(&b, `<rsc_location id="l%d" rsc="r%d" node="node%d" score="%d"/>`, i, i, 1+i%nodes, 10+i%50)
	}
	for i := 3; i+1 < resources; i += 31 {
		fmt.Fprintf(&b, `<rsc_colocation id="co%d" rsc="r%d" with-rsc="r%d" score="100"/>`, i, i+1, i)
		fmt.Fprintf(&b, `<rsc_order id="or%d" first="r%d" then="r%d"/>`, i, i, i+1)
	}
	b.WriteString(`</constraints></configuration><status>`)
	for i := 1; i <= nodes; i++ {
		fmt.Fprintf(&b, `<node_state id="n%d" uname="node%d" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="n%d"><lrm_resources>`, i, i, i)
		for r := 0; r < resources/2; r++ {
			if r%nodes != i-1 || r%97 == 0 {
				continue
			}
			fmt.Fprintf(&b, `<lrm_resource id="r%d" class="ocf" provider="heartbeat" type="Dummy">`+
				`<lrm_rsc_op id="r%d_last_0" operation="start" interval="0" op-status="0" rc-code="0" call-id="%d" transition-key="1:1:0:x" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>`+
				`<lrm_rsc_op id="r%d_monitor_10000" operation="monitor" interval="10000" op-status="0" rc-code="0" call-id="%d" transition-key="1:1:0:x"/>`+
				`</lrm_resource>`, r, r, 2*r+1, r, 2*r+2)
		}
		b.WriteString(`</lrm_resources></lrm></node_state>`)
	}
	b.WriteString(`</status></cib>`)
	return b.String()
}

func benchSchedule(b *testing.B, nodes, resources int) {
	text := BigCIB(nodes, resources)
	for i := 0; i < b.N; i++ {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(text); err != nil {
			b.Fatal(err)
		}
		res, err := Schedule(doc, time.Unix(1700000000, 0), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Synapses) == 0 {
			b.Fatal("empty graph")
		}
	}
}

func BenchmarkSchedule2x10(b *testing.B)    { benchSchedule(b, 2, 10) }
func BenchmarkSchedule16x200(b *testing.B)  { benchSchedule(b, 16, 200) }
func BenchmarkSchedule16x1000(b *testing.B) { benchSchedule(b, 16, 1000) }

func TestBigCIBSchedules(t *testing.T) {
	if testing.Short() {
		t.Skip("large synthetic CIB")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(BigCIB(16, 300)); err != nil {
		t.Fatal(err)
	}
	res, err := Schedule(doc, time.Unix(1700000000, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Summary) == 0 {
		t.Fatal("expected starts in the summary")
	}
}
