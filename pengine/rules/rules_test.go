package rules

import (
	"fmt"
	"testing"
	"time"

	"github.com/beevik/etree"
)

func parseXML(t testing.TB, s string) *etree.Element {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(s); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return d.Root()
}

func TestAttributeComparisons(t *testing.T) {
	node := map[string]string{"int": "10", "flt": "9.5", "str": "abc", "ver": "1.2.10", "big": "99999999999999999999",
		"hex": "0x10", "mix": "10abc", "#uname": "node1"}
	tests := []struct {
		attr, op, value, typ string
		want                 bool
	}{
		{"int", "gt", "9", "", true},         // integer by default
		{"int", "gt", "9.5", "", true},       // number: '.' on one side
		{"flt", "lt", "10", "", true},        // number
		{"flt", "gt", "9", "integer", false}, // strtoll reads "9.5" as 9
		{"int", "eq", "10.0", "", false},     // eq defaults to string
		{"int", "eq", "10.0", "number", true},
		{"str", "eq", "ABC", "", true}, // strings ignore case
		{"str", "lt", "abd", "string", true},
		{"str", "gt", "9", "", true},             // integer parse fails: string compare
		{"ver", "gt", "1.2.9", "version", true},  // version fields are numbers
		{"ver", "gt", "1.2.9", "string", false},  // but not as strings
		{"big", "gt", "5", "integer", true},      // overflow: strings, "9" > "5"
		{"hex", "eq", "16", "number", true},      // strtod reads hex
		{"hex", "eq", "16", "integer", false},    // strtoll does not: 0 != 16
		{"mix", "eq", "10", "integer", true},     // trailing text ignored
		{"int", "eq", "10", "bogus", true},       // unknown type: always equal
		{"int", "ne", "11", "bogus", false},      // ... in both directions
		{"missing", "ne", "x", "", true},         // absent != value
		{"missing", "lt", "x", "", false},        // ordering needs both sides
		{"missing", "not_defined", "", "", true}, // ...
		{"int", "defined", "", "", true},         // ...
		{"#uname", "eq", "node1", "", true},      // built-ins are node attributes
		{"int", "EQ", "10", "", true},            // operations ignore case
		{"int", "gte", "10", "INTEGER", true},    // and so do types
		{"int", "bogus", "10", "", false},        // unknown operation
	}
	for _, tc := range tests {
		x := fmt.Sprintf(`<rule id="r"><expression id="e" attribute="%s" operation="%s" value="%s"`, tc.attr, tc.op, tc.value)
		if tc.typ != "" {
			x += fmt.Sprintf(` type="%s"`, tc.typ)
		}
		x += "/></rule>"
		got, _ := Evaluate(parseXML(t, x), &Context{Now: utcNow, NodeAttrs: node})
		if got != tc.want {
			t.Errorf("%s %s %q (type %q) = %v, want %v", tc.attr, tc.op, tc.value, tc.typ, got, tc.want)
		}
	}
	// No node: attribute expressions fail, even not_defined.
	if ok, _ := Evaluate(parseXML(t, `<rule id="r"><expression id="e" attribute="x" operation="not_defined"/></rule>`), &Context{Now: utcNow}); ok {
		t.Error("not_defined passed without a node")
	}
}

func TestCompareVersion(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.2.10", "1.2.9", 1}, {"1.0", "1", 0}, {"1", "1.0.0", 0}, {"1.0.1", "1", 1}, {"", "1", -1},
		{"", "", 0}, {"2", "10", -1}, {"1.a", "1.2", -1}, {"a", "b", 0}, {"3.0.14", "3.0.9", 1}, {"-1", "0", -1},
	} {
		if got := CompareVersion(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersion(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestBooleanAndNesting(t *testing.T) {
	node := map[string]string{"a": "1", "b": "2"}
	tests := []struct {
		xml  string
		want bool
	}{
		{`<rule id="r"><expression id="e1" attribute="a" operation="eq" value="1"/><expression id="e2" attribute="b" operation="eq" value="3"/></rule>`, false},
		{`<rule id="r" boolean-op="or"><expression id="e1" attribute="a" operation="eq" value="1"/><expression id="e2" attribute="b" operation="eq" value="3"/></rule>`, true},
		{`<rule id="r" boolean-op="OR"><expression id="e1" attribute="a" operation="eq" value="2"/><expression id="e2" attribute="b" operation="eq" value="3"/></rule>`, false},
		{`<rule id="r"><rule id="n" boolean-op="or"><expression id="e1" attribute="a" operation="eq" value="2"/><expression id="e2" attribute="b" operation="eq" value="2"/></rule></rule>`, true},
		// An empty rule passes an "and" and fails an "or".
		{`<rule id="r"/>`, true},
		{`<rule id="r" boolean-op="or"/>`, false},
		// Unknown elements fail.
		{`<rule id="r"><bogus id="x"/></rule>`, false},
	}
	for _, tc := range tests {
		if got, _ := Evaluate(parseXML(t, tc.xml), &Context{Now: utcNow, NodeAttrs: node}); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.xml, got, tc.want)
		}
	}
}

func TestIDRef(t *testing.T) {
	doc := parseXML(t, `<cib><a><rule id="target"><expression id="e" attribute="a" operation="eq" value="1"/></rule></a>
		<b><rule id-ref="target"/><rule id-ref="nowhere"/></b></cib>`)
	refs := doc.FindElements("//b/rule")
	ctx := &Context{Now: utcNow, NodeAttrs: map[string]string{"a": "2"}}
	if ok, _ := Evaluate(refs[0], ctx); ok {
		t.Error("id-ref should evaluate the target (false here)")
	}
	// A dangling id-ref evaluates nothing, which an "and" passes.
	ok, err := Evaluate(refs[1], ctx)
	if !ok || err == nil {
		t.Errorf("dangling id-ref: %v, %v", ok, err)
	}
}

func TestRoleExpressions(t *testing.T) {
	tests := []struct {
		role, op, value string
		want            bool
	}{
		{"Promoted", "eq", "Promoted", true}, {"Promoted", "eq", "Master", true}, {"Slave", "eq", "Unpromoted", true},
		{"Started", "eq", "Started", true}, {"Started", "ne", "Promoted", false}, // ne only for promotable roles
		{"Unpromoted", "ne", "Promoted", true}, {"Promoted", "defined", "", true}, {"Started", "defined", "", false},
		{"Started", "not_defined", "", true}, {"Promoted", "not_defined", "", false}, {"", "eq", "Started", false},
		{"", "not_defined", "", false},
	}
	for _, tc := range tests {
		x := fmt.Sprintf(`<rule id="r"><expression id="e" attribute="#role" operation="%s" value="%s"/></rule>`, tc.op, tc.value)
		// No node needed for #role.
		if got, _ := Evaluate(parseXML(t, x), &Context{Now: utcNow, Role: tc.role}); got != tc.want {
			t.Errorf("role %q %s %q = %v, want %v", tc.role, tc.op, tc.value, got, tc.want)
		}
	}
}

func TestRscAndOpExpressions(t *testing.T) {
	ocf := &RscInfo{Class: "ocf", Provider: "heartbeat", Type: "IPaddr2"}
	stonith := &RscInfo{Class: "stonith", Type: "fence_xvm"}
	tests := []struct {
		expr string
		rsc  *RscInfo
		op   *OpInfo
		want bool
	}{
		{`<rsc_expression id="e" class="ocf" provider="heartbeat" type="IPaddr2"/>`, ocf, nil, true},
		{`<rsc_expression id="e" class="ocf"/>`, ocf, nil, false}, // provider must match, absence included
		{`<rsc_expression id="e" class="stonith"/>`, stonith, nil, true},
		{`<rsc_expression id="e" type="fence_xvm"/>`, stonith, nil, true},
		{`<rsc_expression id="e" class="ocf" provider="heartbeat"/>`, nil, nil, false},
		{`<op_expression id="e" name="monitor"/>`, nil, &OpInfo{Name: "monitor", Interval: 10 * time.Second}, true},
		{`<op_expression id="e" name="monitor" interval="10s"/>`, nil, &OpInfo{Name: "monitor", Interval: 10 * time.Second}, true},
		{`<op_expression id="e" name="monitor" interval="PT10S"/>`, nil, &OpInfo{Name: "monitor", Interval: 10 * time.Second}, true},
		{`<op_expression id="e" name="monitor" interval="0"/>`, nil, &OpInfo{Name: "monitor", Interval: 10 * time.Second}, false},
		{`<op_expression id="e" name="start" interval="0"/>`, nil, &OpInfo{Name: "start"}, true},
		{`<op_expression id="e" name="start" interval="bogus"/>`, nil, &OpInfo{Name: "start"}, false},
		{`<op_expression id="e" name="Start"/>`, nil, &OpInfo{Name: "start"}, false}, // names are case-sensitive
	}
	for _, tc := range tests {
		x := `<rule id="r">` + tc.expr + `</rule>`
		if got, _ := Evaluate(parseXML(t, x), &Context{Now: utcNow, Rsc: tc.rsc, Op: tc.op}); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestValueSource(t *testing.T) {
	x := parseXML(t, `<rule id="r"><expression id="e" attribute="a" operation="eq" value="p" value-source="param"/></rule>`)
	node := map[string]string{"a": "5"}
	// Without match data the value is literal.
	if ok, _ := Evaluate(x, &Context{Now: utcNow, NodeAttrs: node}); ok {
		t.Error("literal p matched 5")
	}
	if ok, _ := Evaluate(x, &Context{Now: utcNow, NodeAttrs: node, Params: map[string]string{"p": "5"}}); !ok {
		t.Error("param p=5 did not match")
	}
	if ok, _ := Evaluate(x, &Context{Now: utcNow, NodeAttrs: node, Meta: map[string]string{"p": "5"}}); ok {
		t.Error("meta used for value-source=param")
	}
}

func TestRegexExpansion(t *testing.T) {
	re := &RegexMatch{Subject: "db-west-1", Index: []int{0, 9, 3, 7, -1, -1}}
	for in, want := range map[string]string{"%1-score": "west-score", "x%0": "xdb-west-1", "%2y": "y", "%9": "", "a%": "a%"} {
		got, ok := ExpandRegexMatches(in, re)
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("expand %q = %q, want %q", in, got, want)
		}
	}
	ctx := &Context{Now: utcNow, NodeAttrs: map[string]string{"west-ok": "yes"}, Regex: re}
	if ok, _ := Evaluate(parseXML(t, `<rule id="r"><expression id="e" attribute="%1-ok" operation="eq" value="yes"/></rule>`), ctx); !ok {
		t.Error("attribute name with %1 not expanded")
	}
}

func TestRuleScore(t *testing.T) {
	attrs := map[string]string{"s": "25", "inf": "INFINITY", "west": "7"}
	lookup := func(n string) (string, bool) { v, ok := attrs[n]; return v, ok }
	re := &RegexMatch{Subject: "west", Index: []int{0, 4, 0, 4}}
	for x, want := range map[string]int{
		`<rule id="r" score="100"/>`:                   100,
		`<rule id="r" score="-INFINITY"/>`:             -Infinity,
		`<rule id="r" score="infinity"/>`:              0, // INFINITY is case-sensitive
		`<rule id="r" score-attribute="s"/>`:           25,
		`<rule id="r" score-attribute="inf"/>`:         Infinity,
		`<rule id="r" score-attribute="none"/>`:        -Infinity,
		`<rule id="r" score-attribute="%1"/>`:          7,
		`<rule id="r"/>`:                               0,
		`<rule id="r" score="5" score-attribute="s"/>`: 5,
	} {
		if got := RuleScore(parseXML(t, x), lookup, re, HealthScores{}); got != want {
			t.Errorf("%s = %d, want %d", x, got, want)
		}
	}
}

func TestScores(t *testing.T) {
	h := HealthScores{Red: -Infinity, Yellow: -10, Green: 5}
	for in, want := range map[string]int{
		"INFINITY": Infinity, "+INFINITY": Infinity, "-INFINITY": -Infinity, "infinity": 0, "10": 10, "-10": -10,
		"+7": 7, "2000000": Infinity, "-2000000": -Infinity, "12abc": 12, "abc": 0, "": 0, " 5": 5,
		"99999999999999999999": 0, "red": -Infinity, "YELLOW": -10, "green": 5,
	} {
		if got := h.ParseScore(in); got != want {
			t.Errorf("ParseScore(%q) = %d, want %d", in, got, want)
		}
	}
	for _, tc := range [][3]int{
		{1, 2, 3}, {Infinity, -Infinity, -Infinity}, {-Infinity, Infinity, -Infinity}, {Infinity, 5, Infinity},
		{999999, 1, Infinity}, {-999999, -1, -Infinity}, {500000, 499999, 999999}, {Infinity + 5, 0, Infinity},
	} {
		if got := AddScores(tc[0], tc[1]); got != tc[2] {
			t.Errorf("AddScores(%d, %d) = %d, want %d", tc[0], tc[1], got, tc[2])
		}
	}
	for v, want := range map[int]string{Infinity: "INFINITY", 2 * Infinity: "INFINITY", -Infinity: "-INFINITY", 42: "42"} {
		if got := ScoreString(v); got != want {
			t.Errorf("ScoreString(%d) = %q", v, got)
		}
	}
	if _, err := ParseScoreStrict("12abc"); err == nil {
		t.Error("ParseScoreStrict accepted 12abc")
	}
	if v, err := ParseScoreStrict("-INFINITY"); err != nil || v != -Infinity {
		t.Errorf("ParseScoreStrict(-INFINITY) = %d, %v", v, err)
	}
}
