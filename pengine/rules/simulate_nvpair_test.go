package rules

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"ringmaster/internal/testenv"
)

// TestNVPairsAgainstCrmSimulate gives resources random stacks of
// instance_attributes blocks (scores, rules, #default, id-refs, equal
// scores) and compares the parameters crm_simulate puts on each node's
// probe in the transition graph with UnpackNVPairs for that node.
func TestNVPairsAgainstCrmSimulate(t *testing.T) {
	bin := testenv.RequireBinary(t, "crm_simulate")
	n := 200
	if testing.Short() {
		n = 60
	}
	r := rand.New(rand.NewSource(7))
	date := time.Date(2019, 6, 1, 6, 30, 0, 0, time.UTC).Unix()
	var blockIDs, pairIDs []string
	var res strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&res, `<primitive id="r%d" class="ocf" provider="pacemaker" type="Dummy">`, i)
		for b := 0; b < 1+r.Intn(5); b++ {
			bid := fmt.Sprintf("r%d-b%d", i, b)
			if len(blockIDs) > 0 && r.Intn(8) == 0 {
				fmt.Fprintf(&res, `<instance_attributes id-ref="%s"/>`, pick(r, append(blockIDs, "nonexistent")))
				continue
			}
			fmt.Fprintf(&res, `<instance_attributes id="%s"`, bid)
			if s := pick(r, []string{"", "", "0", "5", "5", "-5", "INFINITY", "-INFINITY", "abc", "+INFINITY"}); s != "" {
				fmt.Fprintf(&res, ` score="%s"`, s)
			}
			res.WriteString(">")
			blockIDs = append(blockIDs, bid)
			for k := 0; k < r.Intn(3); k++ {
				rid := fmt.Sprintf("%s-r%d", bid, k)
				fmt.Fprintf(&res, `<rule id="%s" score="0">`, rid)
				if r.Intn(2) == 0 {
					res.WriteString(attrExprXML(r, rid+"-e"))
				} else {
					res.WriteString(dateExprXML(r, rid+"-e"))
				}
				res.WriteString("</rule>")
			}
			for p := 0; p < r.Intn(4); p++ {
				pid := fmt.Sprintf("%s-p%d", bid, p)
				if len(pairIDs) > 0 && r.Intn(8) == 0 {
					fmt.Fprintf(&res, `<nvpair id="%s" id-ref="%s"/>`, pid, pick(r, pairIDs))
					continue
				}
				fmt.Fprintf(&res, `<nvpair id="%s" name="%s" value="%s"/>`, pid,
					pick(r, []string{"x", "y", "z"}), pick(r, []string{bid, bid, "#default", "#DEFAULT", ""}))
				pairIDs = append(pairIDs, pid)
			}
			res.WriteString("</instance_attributes>")
		}
		res.WriteString("</primitive>")
	}
	cib := buildSimCIB(nil, date)
	cib = strings.Replace(cib, "<resources></resources>", "<resources>"+res.String()+"</resources>", 1)

	dir := t.TempDir()
	f, g := filepath.Join(dir, "cib.xml"), filepath.Join(dir, "graph.xml")
	if err := os.WriteFile(f, []byte(cib), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-x", f, "-G", g)
	cmd.Env = []string{"TZ=UTC", "LC_ALL=C", "CIB_shadow_dir=" + dir}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("crm_simulate: %v\n%s", err, out)
	}
	graph := etree.NewDocument()
	if err := graph.ReadFromFile(g); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(cib); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(date, 0).UTC()
	checked := 0
	for _, op := range graph.FindElements("//rsc_op[@operation='monitor']") {
		prim := op.SelectElement("primitive")
		attrs := op.SelectElement("attributes")
		if prim == nil || attrs == nil || attrs.SelectAttrValue("CRM_meta_interval", "0") != "0" {
			continue
		}
		rsc, node := prim.SelectAttrValue("id", ""), op.SelectAttrValue("on_node", "")
		want := map[string]string{}
		for _, a := range attrs.Attr {
			if !strings.HasPrefix(a.Key, "CRM_meta_") && a.Key != "crm_feature_set" {
				want[a.Key] = a.Value
			}
		}
		var nattrs map[string]string
		for _, sn := range simNodes {
			if sn.uname == node {
				nattrs = NodeBuiltins(sn.uname, sn.id, "cluster", sn.id == "2", "ringtest")
				for k, v := range sn.attrs {
					nattrs[k] = v
				}
				AddSiteName(nattrs, "ringtest")
			}
		}
		x := doc.FindElement(fmt.Sprintf("//primitive[@id='%s']", rsc))
		got := map[string]string{}
		UnpackNVPairs(x, "instance_attributes", &Context{Now: now, NodeAttrs: nattrs}, got, false)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s on %s: crm_simulate %v, ours %v\n%s", rsc, node, want, got, elementString(x))
		}
		checked++
	}
	if checked < n {
		t.Fatalf("only %d probes found in the graph", checked)
	}
	t.Logf("%d resource/node parameter sets agree with crm_simulate", checked)
}

func elementString(x *etree.Element) string {
	d := etree.NewDocument()
	d.SetRoot(x.Copy())
	s, _ := d.WriteToString()
	return s
}
