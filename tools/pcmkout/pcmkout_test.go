package pcmkout

import (
	"strings"
	"testing"
)

func TestFancyTextNesting(t *testing.T) {
	var b strings.Builder
	tx := &Text{W: &b, Fancy: true}
	tx.BeginList("Resources colocated with a")
	tx.Item("b (score=%s, id=c)", ReadableScore(1000000))
	tx.BeginList("")
	tx.BeginList("Locations")
	tx.Item("Node n1 (score=%s, id=l, rsc=b)", ReadableScore(-2000000))
	tx.EndList()
	tx.EndList()
	tx.EndList()
	want := "Resources colocated with a:\n  * b (score=INFINITY, id=c)\n    * Locations:\n      * Node n1 (score=-INFINITY, id=l, rsc=b)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	plain := &Text{W: &b}
	plain.BeginList("Nodes")
	plain.ItemID("node", "resource x is running on: n1")
	plain.EndList()
	if b.String() != "resource x is running on: n1\n" {
		t.Errorf("plain text: %q", b.String())
	}
}

func TestResultEnvelope(t *testing.T) {
	var b strings.Builder
	n := NewNode("nodes", "resource", "a<b")
	n.AddNew("node").Text = "n1"
	Result(&b, "crm_resource -W -r 'a b'", []*Node{n}, 105, []string{"Resource 'x' not found"})
	want := `<pacemaker-result api-version="2.25" request="crm_resource -W -r 'a b'">
  <nodes resource="a&lt;b">
    <node>n1</node>
  </nodes>
  <status code="105" message="No such object">
    <errors>
      <error>Resource 'x' not found</error>
    </errors>
  </status>
</pacemaker-result>
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if q := QuoteCmdline([]string{"crm_resource", "-r", "a b"}); q != "crm_resource -r 'a b'" {
		t.Errorf("QuoteCmdline: %q", q)
	}
}
