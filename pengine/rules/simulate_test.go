package rules

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"ringmaster/internal/testenv"
)

// The tests in this file put generated rules into location constraints of
// a synthetic CIB, let the installed crm_simulate (Pacemaker 2.1.5) compute
// allocation scores, and check that Evaluate and RuleScore predict every
// score. One crm_simulate run checks about a thousand rules on three nodes.

type simNode struct {
	id, uname string
	attrs     map[string]string
}

var simNodes = []simNode{
	{"1", "n1", map[string]string{"int": "10", "flt": "9.5", "str": "abc", "ver": "1.2.10", "neg": "-3",
		"big": "99999999999999999999", "ws": " 5", "hex": "0x10", "mix": "10abc", "empty": "", "sa": "5",
		"exp": "1e1", "nan": "nan", "site-name": "paris"}},
	{"2", "n2", map[string]string{"int": "9", "flt": "10.25", "str": "ABC", "ver": "1.2.9", "neg": "-30",
		"big": "-5", "ws": "5 ", "hex": "16", "mix": "abc10", "empty": "x", "sa": "INFINITY", "exp": "10",
		"nan": "1"}},
	{"3", "n3", map[string]string{"sa": "abc", "str": "abd", "ver": "1.10"}},
}

var (
	simAttrNames = []string{"int", "flt", "str", "ver", "neg", "big", "ws", "hex", "mix", "empty", "exp", "nan",
		"missing", "#uname", "#id", "#kind", "#is_dc", "#cluster-name", "#site-name"}
	simValues = []string{"9", "10", "9.5", "10.0", "abc", "ABC", "abd", "1.2.10", "1.2.9", "1.10", "", "0x10",
		"1e1", "inf", "nan", "-3", " 5", "5 ", "n1", "n2", "2", "member", "cluster", "true", "false",
		"ringtest", "paris", "99999999999999999999", "-30", "10abc", "1.2", "+10"}
	simVersionAttrs  = []string{"ver", "int", "flt", "neg", "missing"}
	simVersionValues = []string{"1.2.10", "1.2.9", "1.10", "9", "10", "9.5", "1.2", "", "-3", "1.2.10.0"}
	simOps           = []string{"lt", "lte", "gt", "gte", "eq", "ne", "defined", "not_defined", "EQ", "bogus", ""}
	simTypes         = []string{"", "", "string", "integer", "number", "version", "bogus", "INTEGER"}
)

type simCase struct {
	rule   string // <rule> XML with %s for the id prefix
	params map[string]string
	meta   map[string]string
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

func attrExprXML(r *rand.Rand, id string) string {
	var b strings.Builder
	typ := pick(r, simTypes)
	attrs, values := simAttrNames, simValues
	if typ == "version" {
		// Pacemaker's compare_version never returns when both sides
		// reach a field that does not start with a number.
		attrs, values = simVersionAttrs, simVersionValues
	}
	fmt.Fprintf(&b, `<expression id="%s"`, id)
	fmt.Fprintf(&b, ` attribute="%s"`, pick(r, attrs))
	if op := pick(r, simOps); op != "" {
		fmt.Fprintf(&b, ` operation="%s"`, op)
	}
	if r.Intn(10) > 0 {
		fmt.Fprintf(&b, ` value="%s"`, pick(r, values))
	}
	if typ != "" {
		fmt.Fprintf(&b, ` type="%s"`, typ)
	}
	b.WriteString("/>")
	return b.String()
}

var simDates = []string{"2019-01-01", "2019-06-01 12:00:00", "2019-06-01T12:00:00Z", "2019-06-01 12:00:00 +02:00",
	"2019-152", "2019-W22-6", "2019-06-02", "2020-01-01", "2018-12-31 23:59:59Z", "epoch", "garbage", "",
	"2019-06-01 06:29:59", "2019-06-01 06:30:00", "20190601T063001", "2019-05-31 23:00:00 -01:00"}

func dateExprXML(r *rand.Rand, id string) string {
	var b strings.Builder
	op := pick(r, []string{"in_range", "in_range", "", "gt", "lt", "date_spec", "date_spec", "date_spec", "bogus"})
	fmt.Fprintf(&b, `<date_expression id="%s"`, id)
	if op != "" {
		fmt.Fprintf(&b, ` operation="%s"`, op)
	}
	if r.Intn(3) > 0 {
		fmt.Fprintf(&b, ` start="%s"`, pick(r, simDates))
	}
	useDuration := r.Intn(3) == 0
	if !useDuration && r.Intn(3) > 0 {
		fmt.Fprintf(&b, ` end="%s"`, pick(r, simDates))
	}
	b.WriteString(">")
	if useDuration {
		fmt.Fprintf(&b, `<duration id="%s-d"`, id)
		for _, f := range []string{"years", "months", "weeks", "days", "hours", "minutes", "seconds"} {
			if r.Intn(4) == 0 {
				fmt.Fprintf(&b, ` %s="%d"`, f, r.Intn(40)-8)
			}
		}
		b.WriteString("/>")
	}
	if op == "date_spec" || r.Intn(10) == 0 {
		fmt.Fprintf(&b, `<date_spec id="%s-s"`, id)
		fields := []struct {
			name     string
			lo, span int
		}{{"years", 2017, 4}, {"months", 1, 12}, {"monthdays", 1, 31}, {"hours", 0, 24}, {"minutes", 0, 60},
			{"seconds", 0, 60}, {"yeardays", 140, 30}, {"weekyears", 2018, 3}, {"weeks", 20, 5},
			{"weekdays", 1, 7}, {"moon", 0, 8}}
		for _, f := range fields {
			if r.Intn(4) != 0 {
				continue
			}
			a := f.lo + r.Intn(f.span)
			var v string
			switch r.Intn(6) {
			case 0, 1:
				v = strconv.Itoa(a)
			case 2:
				v = fmt.Sprintf("%d-%d", a, a+r.Intn(f.span))
			case 3:
				v = fmt.Sprintf("%d-", a)
			case 4:
				v = fmt.Sprintf("-%d", a)
			default:
				v = pick(r, []string{"1,3,5", "x", "", "-", fmt.Sprintf("%d-%d", a, a-1)})
			}
			fmt.Fprintf(&b, ` %s="%s"`, f.name, v)
		}
		b.WriteString("/>")
	}
	b.WriteString("</date_expression>")
	return b.String()
}

func genRule(r *rand.Rand, id string, depth int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<rule id="%s"`, id)
	if depth == 0 {
		if r.Intn(5) == 0 {
			b.WriteString(` score-attribute="sa"`)
		} else {
			fmt.Fprintf(&b, ` score="%d"`, 7)
		}
	}
	if op := pick(r, []string{"", "and", "or", "OR"}); op != "" {
		fmt.Fprintf(&b, ` boolean-op="%s"`, op)
	}
	b.WriteString(">")
	n := 1 + r.Intn(3)
	if depth > 0 || r.Intn(2) == 0 {
		n = 1
	}
	for i := 0; i < n; i++ {
		eid := fmt.Sprintf("%s-%d", id, i)
		switch k := r.Intn(10); {
		case k < 5:
			b.WriteString(attrExprXML(r, eid))
		case k < 8:
			b.WriteString(dateExprXML(r, eid))
		case k < 9 && depth < 2:
			b.WriteString(genRule(r, eid, depth+1))
		default:
			vs := pick(r, []string{"param", "meta", "literal", "PARAM"})
			fmt.Fprintf(&b, `<expression id="%s" attribute="%s" operation="%s" value="%s" value-source="%s"/>`,
				eid, pick(r, []string{"int", "str", "flt"}), pick(r, []string{"eq", "ne", "lt", "gt"}),
				pick(r, []string{"p-int", "p-str", "p-missing", "int"}), vs)
		}
	}
	b.WriteString("</rule>")
	return b.String()
}

func buildSimCIB(cases []string, executionDate int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<cib validate-with="none" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="2" execution-date="%d">`, executionDate)
	b.WriteString(`<configuration><crm_config><cluster_property_set id="o">`)
	b.WriteString(`<nvpair id="o1" name="stonith-enabled" value="false"/><nvpair id="o2" name="cluster-name" value="ringtest"/>`)
	b.WriteString(`</cluster_property_set></crm_config><nodes>`)
	for _, n := range simNodes {
		fmt.Fprintf(&b, `<node id="%s" uname="%s"><instance_attributes id="%s-a">`, n.id, n.uname, n.uname)
		for k, v := range n.attrs {
			fmt.Fprintf(&b, `<nvpair id="%s-a-%s" name="%s" value="%s"/>`, n.uname, k, k, v)
		}
		b.WriteString(`</instance_attributes></node>`)
	}
	b.WriteString(`</nodes><resources>`)
	for i := range cases {
		fmt.Fprintf(&b, `<primitive id="r%d" class="ocf" provider="pacemaker" type="Dummy">`, i)
		fmt.Fprintf(&b, `<instance_attributes id="r%d-p"><nvpair id="r%d-p1" name="p-int" value="9.7"/><nvpair id="r%d-p2" name="p-str" value="ABC"/></instance_attributes>`, i, i, i)
		fmt.Fprintf(&b, `<meta_attributes id="r%d-m"><nvpair id="r%d-m1" name="p-int" value="10"/><nvpair id="r%d-m2" name="p-str" value="abd"/></meta_attributes>`, i, i, i)
		b.WriteString(`</primitive>`)
	}
	b.WriteString(`</resources><constraints>`)
	for i, c := range cases {
		fmt.Fprintf(&b, `<rsc_location id="l%d" rsc="r%d">%s</rsc_location>`, i, i, c)
	}
	b.WriteString(`</constraints></configuration><status>`)
	for _, n := range simNodes {
		fmt.Fprintf(&b, `<node_state id="%s" uname="%s" in_ccm="true" crmd="online" join="member" expected="member"/>`, n.id, n.uname)
	}
	b.WriteString(`</status></cib>`)
	return b.String()
}

var scoreLine = regexp.MustCompile(`^pcmk__primitive_assign: r(\d+) allocation score on (n\d): (\S+)$`)

func runSimulate(t *testing.T, bin, tz, cib string, extra ...string) map[string]int {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "cib.xml")
	if err := os.WriteFile(f, []byte(cib), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-x", f, "-s"}, extra...)...)
	cmd.Env = []string{"TZ=" + tz, "LC_ALL=C", "CIB_shadow_dir=" + dir}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("crm_simulate: %v\n%s", err, out)
	}
	scores := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := scoreLine.FindStringSubmatch(sc.Text()); m != nil {
			scores["r"+m[1]+"@"+m[2]] = ParseScore(m[3])
		}
	}
	return scores
}

// predict computes the allocation score of resource i on every node the
// way generate_location_rule combines Evaluate and RuleScore.
func predict(t *testing.T, rule *etree.Element, now time.Time, at Time) map[string]int {
	out := map[string]int{}
	for _, n := range simNodes {
		attrs := NodeBuiltins(n.uname, n.id, "cluster", n.id == "2", "ringtest")
		for k, v := range n.attrs {
			attrs[k] = v
		}
		AddSiteName(attrs, "ringtest")
		ctx := &Context{Now: now, At: at, NodeAttrs: attrs,
			Params: map[string]string{"p-int": "9.7", "p-str": "ABC"},
			Meta:   map[string]string{"p-int": "10", "p-str": "abd"}}
		ok, _ := Evaluate(rule, ctx)
		if !ok {
			out[n.uname] = 0
			continue
		}
		out[n.uname] = RuleScore(rule, func(name string) (string, bool) { v, ok := attrs[name]; return v, ok }, nil, HealthScores{})
	}
	return out
}

func TestRulesAgainstCrmSimulate(t *testing.T) {
	bin := testenv.RequireBinary(t, "crm_simulate")
	type run struct {
		tz   string
		date int64
		n    int
		seed int64
		t    string // crm_simulate -t
	}
	runs := []run{
		{"UTC", time.Date(2019, 6, 1, 6, 30, 0, 0, time.UTC).Unix(), 700, 1, ""},
		{"Asia/Kolkata", time.Date(2019, 6, 1, 6, 30, 0, 0, time.UTC).Unix(), 700, 2, ""},
		{"UTC", time.Date(2020, 2, 29, 23, 59, 59, 0, time.UTC).Unix(), 400, 3, ""},
		// -t without a zone: the date, and every zone-less date in the
		// rules, get the current offset of a -03:30/-02:30 zone.
		{"America/St_Johns", 0, 400, 4, "2019-06-01 04:00:00"},
	}
	if testing.Short() {
		runs = runs[:1]
		runs[0].n = 200
	}
	total, agree, nonzero := 0, 0, 0
	for _, rn := range runs {
		loc, err := time.LoadLocation(rn.tz)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewSource(rn.seed))
		cases := make([]string, rn.n)
		for i := range cases {
			cases[i] = genRule(r, fmt.Sprintf("l%dr", i), 0)
		}
		cib := buildSimCIB(cases, rn.date)
		var extra []string
		var at Time
		now := time.Unix(rn.date, 0).In(loc)
		if rn.t != "" {
			extra = []string{"-t", rn.t}
			now = time.Now().In(loc)
			if at, err = ParseDateTime(rn.t, now); err != nil {
				t.Fatal(err)
			}
		}
		got := runSimulate(t, bin, rn.tz, cib, extra...)
		doc := etree.NewDocument()
		if err := doc.ReadFromString(cib); err != nil {
			t.Fatal(err)
		}
		for i, loc := range doc.FindElements("//rsc_location") {
			rule := loc.SelectElement("rule")
			want := predict(t, rule, now, at)
			for node, w := range want {
				total++
				g, ok := got[fmt.Sprintf("r%d@%s", i, node)]
				if !ok {
					t.Fatalf("no score for r%d on %s in crm_simulate output", i, node)
				}
				if g != w {
					t.Errorf("TZ=%s now=%s rule %s on %s: crm_simulate %d, ours %d",
						rn.tz, now.Format(time.RFC3339), cases[i], node, g, w)
					continue
				}
				agree++
				if w != 0 {
					nonzero++
				}
			}
		}
	}
	t.Logf("%d/%d rule scores agree with crm_simulate (%d of them non-zero)", agree, total, nonzero)
}
