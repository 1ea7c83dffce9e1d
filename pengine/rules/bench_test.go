package rules

import (
	"testing"
)

func BenchmarkParseDateTime(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := ParseDateTime("2019-06-01 12:30:00 +02:00", fuzzNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateAttrRule(b *testing.B) {
	rule := parseXML(b, `<rule id="r" boolean-op="or"><expression id="e1" attribute="rack" operation="eq" value="r2"/>
		<expression id="e2" attribute="mem" operation="gte" value="1024"/></rule>`)
	ctx := &Context{Now: fuzzNow, NodeAttrs: map[string]string{"#uname": "n1", "rack": "r1", "mem": "2048"}}
	for i := 0; i < b.N; i++ {
		if ok, _ := Evaluate(rule, ctx); !ok {
			b.Fatal("rule failed")
		}
	}
}

func BenchmarkEvaluateDateRule(b *testing.B) {
	rule := parseXML(b, `<rule id="r"><date_expression id="d" operation="in_range" start="2019-01-01" end="2019-12-31 23:59:59"/>
		<date_expression id="s" operation="date_spec"><date_spec id="ds" hours="9-17" weekdays="1-6"/></date_expression></rule>`)
	ctx := &Context{Now: fuzzNow}
	for i := 0; i < b.N; i++ {
		if ok, _ := Evaluate(rule, ctx); !ok {
			b.Fatal("rule failed")
		}
	}
}

func BenchmarkUnpackNVPairs(b *testing.B) {
	p := parseXML(b, `<primitive id="p">
		<instance_attributes id="a" score="2"><rule id="r" score="0"><expression id="e" attribute="#uname" operation="eq" value="n1"/></rule>
			<nvpair id="a1" name="ip" value="192.0.2.1"/></instance_attributes>
		<instance_attributes id="b"><nvpair id="b1" name="ip" value="192.0.2.2"/><nvpair id="b2" name="cidr_netmask" value="24"/>
			<nvpair id="b3" name="nic" value="eth0"/></instance_attributes></primitive>`)
	ctx := &Context{Now: fuzzNow, NodeAttrs: map[string]string{"#uname": "n1"}}
	for i := 0; i < b.N; i++ {
		m := map[string]string{}
		if err := UnpackNVPairs(p, "instance_attributes", ctx, m, false); err != nil || m["ip"] != "192.0.2.1" {
			b.Fatal(m, err)
		}
	}
}
