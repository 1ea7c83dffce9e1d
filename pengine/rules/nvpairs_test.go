package rules

import (
	"fmt"
	"testing"
	"time"
)

func TestUnpackNVPairs(t *testing.T) {
	node := map[string]string{"#uname": "n1", "rack": "2"}
	tests := []struct {
		name      string
		xml       string
		overwrite bool
		first     string
		want      string
	}{
		{"first block wins", `<p><instance_attributes id="a"><nvpair id="a1" name="x" value="a"/></instance_attributes>
			<instance_attributes id="b" score="1"><nvpair id="b1" name="x" value="b"/></instance_attributes></p>`,
			false, "", "map[x:b]"},
		{"equal scores: later block first", `<p><instance_attributes id="a"><nvpair id="a1" name="x" value="a"/><nvpair id="a2" name="y" value="a"/></instance_attributes>
			<instance_attributes id="b"><nvpair id="b1" name="x" value="b"/></instance_attributes></p>`,
			false, "", "map[x:b y:a]"},
		{"overwrite: last applied wins", `<p><instance_attributes id="a" score="10"><nvpair id="a1" name="x" value="a"/></instance_attributes>
			<instance_attributes id="b"><nvpair id="b1" name="x" value="b"/></instance_attributes></p>`,
			true, "", "map[x:b]"},
		{"always first", `<p><cluster_property_set id="other" score="100"><nvpair id="o1" name="x" value="o"/></cluster_property_set>
			<cluster_property_set id="cib-bootstrap-options"><nvpair id="c1" name="x" value="c"/></cluster_property_set></p>`,
			false, "cib-bootstrap-options", "map[x:c]"},
		{"rule gates a block", `<p><instance_attributes id="a" score="5"><rule id="r" score="0"><expression id="e" attribute="rack" operation="eq" value="1"/></rule><nvpair id="a1" name="x" value="rack1"/></instance_attributes>
			<instance_attributes id="b"><nvpair id="b1" name="x" value="other"/></instance_attributes></p>`,
			false, "", "map[x:other]"},
		{"#default removes", `<p><instance_attributes id="a" score="5"><nvpair id="a1" name="x" value="a"/></instance_attributes>
			<instance_attributes id="b" score="4"><nvpair id="b1" name="x" value="#DEFAULT"/></instance_attributes>
			<instance_attributes id="c" score="3"><nvpair id="c1" name="x" value="c"/></instance_attributes></p>`,
			false, "", "map[x:c]"},
		{"id-ref block and nvpair", `<cib><p><instance_attributes id-ref="shared"/><instance_attributes id="own"><nvpair id="o1" id-ref="s2"/></instance_attributes></p>
			<q><instance_attributes id="shared" score="1"><nvpair id="s1" name="x" value="shared"/><nvpair id="s2" name="y" value="fromref"/></instance_attributes></q></cib>`,
			false, "", "map[x:shared y:fromref]"},
		{"other block types skipped", `<p><meta_attributes id="m"><nvpair id="m1" name="x" value="meta"/></meta_attributes>
			<instance_attributes id="i"><nvpair id="i1" name="y" value="inst"/></instance_attributes></p>`,
			false, "", "map[y:inst]"},
		{"legacy attributes wrapper", `<p><instance_attributes id="i"><attributes><nvpair id="i1" name="x" value="old"/></attributes></instance_attributes></p>`,
			false, "", "map[x:old]"},
		{"nameless and valueless pairs skipped", `<p><instance_attributes id="i"><nvpair id="i1" name="x"/><nvpair id="i2" value="v"/><nvpair id="i3" name="z" value=""/></instance_attributes></p>`,
			false, "", "map[z:]"},
	}
	for _, tc := range tests {
		root := parseXML(t, tc.xml)
		parent := root
		if root.Tag == "cib" {
			parent = root.SelectElement("p")
		}
		tag := "instance_attributes"
		if tc.first != "" {
			tag = "cluster_property_set"
		}
		got := map[string]string{}
		if _, err := UnpackNVPairsFull(parent, tag, &Context{Now: utcNow, NodeAttrs: node}, got,
			NVPairOptions{Overwrite: tc.overwrite, AlwaysFirst: tc.first}); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if s := fmt.Sprint(got); s != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, s, tc.want)
		}
	}
}

func TestUnpackNVPairsNextChange(t *testing.T) {
	p := parseXML(t, `<p><meta_attributes id="a"><rule id="r" score="0"><date_expression id="d" operation="lt" end="2027-01-01"/></rule>
		<nvpair id="a1" name="x" value="until2027"/></meta_attributes></p>`)
	got := map[string]string{}
	next, err := UnpackNVPairsFull(p, "meta_attributes", &Context{Now: utcNow}, got, NVPairOptions{})
	if err != nil || got["x"] != "until2027" || !next.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("got %v next %v err %v", got, next, err)
	}
}
