package rules

import (
	"testing"
	"time"
)

func TestDateExpressions(t *testing.T) {
	now := time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		expr string
		want DateResult
		next string // when the answer changes, "" for never/unknown
	}{
		{`<date_expression id="d" start="2019-01-01" end="2019-12-31"/>`, DateInRange, "2019-12-31 00:00:01Z"},
		{`<date_expression id="d" operation="in_range" start="2019-07-01"/>`, DateBeforeRange, "2019-07-01 00:00:00Z"},
		{`<date_expression id="d" operation="in_range" end="2019-05-31"/>`, DateAfterRange, ""},
		{`<date_expression id="d" operation="in_range" start="2019-06-01 12:00:00Z" end="2019-06-01 12:00:00Z"/>`, DateInRange, "2019-06-01 12:00:01Z"},
		{`<date_expression id="d" operation="in_range"/>`, DateUndetermined, ""},
		{`<date_expression id="d" operation="in_range" start="2019-05-01"><duration id="u" months="1"/></date_expression>`, DateAfterRange, ""},
		{`<date_expression id="d" operation="in_range" start="2019-05-01"><duration id="u" months="1" hours="12"/></date_expression>`, DateInRange, "2019-06-01 12:00:01Z"},
		{`<date_expression id="d" operation="in_range" start="2019-05-01"><duration id="u" months="1" hours="11" minutes="59" seconds="59"/></date_expression>`, DateAfterRange, ""},
		// A duration is ignored when an end is given.
		{`<date_expression id="d" start="2019-05-01" end="2019-05-02"><duration id="u" years="1"/></date_expression>`, DateAfterRange, ""},
		{`<date_expression id="d" operation="gt" start="2019-06-01 11:59:59Z"/>`, DateInRange, ""},
		{`<date_expression id="d" operation="gt" start="2019-06-01 12:00:00Z"/>`, DateBeforeRange, "2019-06-01 12:00:01Z"},
		{`<date_expression id="d" operation="lt" end="2019-06-01 12:00:01Z"/>`, DateInRange, "2019-06-01 12:00:01Z"},
		{`<date_expression id="d" operation="lt" end="2019-06-01 12:00:00Z"/>`, DateAfterRange, ""},
		{`<date_expression id="d" operation="gt" end="2019-01-01"/>`, DateUndetermined, ""},
		{`<date_expression id="d" operation="LT" end="2020-01-01"/>`, DateInRange, "2020-01-01 00:00:00Z"},
		{`<date_expression id="d" operation="between" start="2019-01-01"/>`, DateUndetermined, ""},
		{`<date_expression id="d" operation="gt" start="garbage"/>`, DateUndetermined, ""},
		{`<date_expression id="d" operation="date_spec"><date_spec id="s" hours="9-17" weekdays="6"/></date_expression>`, DateSatisfied, ""},
		{`<date_expression id="d" operation="date_spec"><date_spec id="s" hours="13-17"/></date_expression>`, DateBeforeRange, ""},
		{`<date_expression id="d" operation="date_spec"/>`, DateSatisfied, ""},
	}
	for _, tc := range tests {
		got, next := EvaluateDate(parseXML(t, tc.expr), &Context{Now: now})
		n := ""
		if next.IsDefined() {
			n = next.String()
		}
		if got != tc.want || n != tc.next {
			t.Errorf("%s = %v (next %q), want %v (next %q)", tc.expr, got, n, tc.want, tc.next)
		}
	}
}

func TestEvaluateWithNext(t *testing.T) {
	now := time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC)
	rule := parseXML(t, `<rule id="r" boolean-op="or">
		<date_expression id="a" operation="gt" start="2019-08-01"/>
		<date_expression id="b" operation="in_range" start="2019-07-01" end="2019-07-31"/>
	</rule>`)
	ok, next, err := EvaluateWithNext(rule, &Context{Now: now})
	if ok || err != nil || !next.Equal(time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("got %v %v %v", ok, next, err)
	}
	// Expressions never evaluated (after an "and" fails) do not count.
	rule = parseXML(t, `<rule id="r"><date_expression id="a" operation="lt" end="2019-01-01"/>
		<date_expression id="b" operation="gt" start="2019-07-01"/></rule>`)
	if _, next, _ := EvaluateWithNext(rule, &Context{Now: now}); !next.IsZero() {
		t.Errorf("next = %v, want none", next)
	}
}

// Cases of Pacemaker's pe_cron_range_satisfied_test.c, plus the parsing
// leniency of pcmk__parse_ll_range.
func TestDateSpec(t *testing.T) {
	tests := []struct {
		now, spec string
		want      DateResult
	}{
		{"2020-01-01", `years="2020"`, DateSatisfied},
		{"2020-01-01", `years="2019"`, DateAfterRange},
		{"2020-01-01", `years="2010-2030"`, DateSatisfied},
		{"2000-01-01", `years="2010-2030"`, DateBeforeRange},
		{"2020-01-01", `years="2010-2015"`, DateAfterRange},
		{"2010-01-01", `years="-2020"`, DateSatisfied},
		{"2010-01-01", `years="2000-"`, DateSatisfied},
		{"2000-10-01", `years="2000-"`, DateSatisfied},
		{"2020-01-30", `yeardays="30"`, DateSatisfied},
		{"2020-02-15", `yeardays="40"`, DateAfterRange},
		{"2016-02-29", `yeardays="60"`, DateSatisfied},
		{"2001-12-31", `years="2001" months="12" monthdays="31"`, DateSatisfied},
		{"2001-06-10", `years="2001" months="6" monthdays="1-10"`, DateSatisfied},
		{"2001-12-31", `years="2001" months="12" monthdays="30"`, DateAfterRange},
		{"2001-06-10", `years="2001" months="6" monthdays="11-10"`, DateBeforeRange},
		{"2009-12-31", `weekyears="2009" weeks="53" weekdays="4"`, DateSatisfied},
		{"2010-01-03", `weekyears="2009" weeks="53" weekdays="7"`, DateSatisfied},
		{"2020-01-01", `months="1,3,5"`, DateSatisfied}, // not understood: ignored
		{"2020-02-01", `months="x" monthdays="2"`, DateBeforeRange},
		{"2020-02-01", `months=""`, DateSatisfied},
		{"2020-02-01", `months="-"`, DateSatisfied},
		{"2020-02-01 10:30:00Z", `hours="10" minutes="30-" seconds="-0"`, DateSatisfied},
		{"2019-06-01", `moon="7"`, DateBeforeRange},
	}
	for _, tc := range tests {
		now, err := ParseDateTime(tc.now, utcNow)
		if err != nil {
			t.Fatal(err)
		}
		spec := parseXML(t, `<date_spec id="s" `+tc.spec+`/>`)
		if got := cronSatisfied(now, spec); got != tc.want {
			t.Errorf("%s with %s = %v, want %v", tc.now, tc.spec, got, tc.want)
		}
	}
}

func TestDateSpecUsesLocalFields(t *testing.T) {
	// 06:30 UTC is 12:00 in India: date_spec looks at the local hour.
	now := time.Date(2019, 6, 1, 6, 30, 0, 0, time.UTC).In(time.FixedZone("IST", 5*3600+1800))
	x := parseXML(t, `<rule id="r"><date_expression id="d" operation="date_spec"><date_spec id="s" hours="12"/></date_expression></rule>`)
	if ok, _ := Evaluate(x, &Context{Now: now}); !ok {
		t.Error("date_spec hours=12 did not match 12:00 IST")
	}
	if ok, _ := Evaluate(x, &Context{Now: now.UTC()}); ok {
		t.Error("date_spec hours=12 matched 06:30 UTC")
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi int64
		ok     bool
	}{
		{"5", 5, 5, true}, {"5-10", 5, 10, true}, {"5-", 5, -1, true}, {"-10", -1, 10, true}, {" 5", 5, 5, true},
		{"", -1, -1, false}, {"-", -1, -1, false}, {"1,3", -1, -1, false}, {"5-x", 5, -1, false}, {"-x", -1, -1, false},
		{"99999999999999999999", -1, -1, false}, {"5--3", 5, -3, true},
	} {
		lo, hi, ok := ParseRange(tc.in)
		if lo != tc.lo || hi != tc.hi || ok != tc.ok {
			t.Errorf("ParseRange(%q) = %d %d %v, want %d %d %v", tc.in, lo, hi, ok, tc.lo, tc.hi, tc.ok)
		}
	}
}

func TestMoonPhase(t *testing.T) {
	// Full moons (phase 4) of 2019 per the nethack formula upstream uses.
	counts := map[int]int{}
	for d := 1; d <= 365; d++ {
		counts[moonPhase(Time{Year: 2019, Day: d})]++
	}
	for p := 0; p < 8; p++ {
		if counts[p] < 20 || counts[p] > 70 {
			t.Errorf("phase %d on %d days of 2019", p, counts[p])
		}
	}
}
