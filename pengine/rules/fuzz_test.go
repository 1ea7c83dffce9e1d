package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

var fuzzNow = time.Date(2019, 6, 1, 12, 0, 0, 0, time.FixedZone("", 5*3600+1800))

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"2019-01-01", "20190101T120000Z", "2005-040", "2009-W53-7", "epoch", "T12:00",
		"12:00:00", "2019-01-01 12:00:00 +05:30", "2019-12-31 24:00:00Z", "-5-W01-1", "2019--1-0",
		"99999999999-01-01", "2019-01-01 99999999999:00Z", "2019-01-01T", " 2019-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDateTime(s, fuzzNow)
		if err != nil {
			return
		}
		if !d.Valid() {
			t.Fatalf("%q parsed to invalid %+v", s, d)
		}
		for _, fl := range []FormatFlags{FormatDate | FormatTimeOfDay, FormatDate | FormatTimeOfDay | FormatWithTZ | FormatWeeks,
			FormatDate | FormatOrdinal, FormatSeconds, FormatEpoch} {
			_ = d.Format(fl)
		}
		// Ordinal output of a sane year parses back to the same instant.
		if d.Year >= 1 && d.Year <= 9999 && d.Offset == 0 {
			back, err := ParseDateTime(d.Format(FormatDate|FormatTimeOfDay), fuzzNow)
			if err != nil || back.Compare(d) != 0 {
				t.Fatalf("%q -> %s -> %+v, %v", s, d.Format(FormatDate|FormatTimeOfDay), back, err)
			}
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"P1Y2M3DT4H5M6S", "PT", "P-1M", "P1.5D", "P1W", "PT9999999999S", "P1Z", "P1YM", "P1D/P2D"} {
		f.Add(s)
	}
	base := Time{Year: 2020, Day: 60}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		_ = d.String()
		_ = d.TotalSeconds()
		end := base.Add(d)
		_ = base.Sub(d)
		_ = end.String()
	})
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2005-040/2005-043", "P1M/2005-043", "2019-01-01/P1M", "P1D", "PT2S/P1M", "x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s, fuzzNow)
		if err != nil {
			return
		}
		if !p.Start.Valid() || !p.End.Valid() {
			t.Fatalf("%q: invalid ends %+v", s, p)
		}
	})
}

func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"10", "10s", "1500ms", "2min", "1h", "PT10S", "P1D", "1.5s", "10x", "", " 3 us"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseInterval(s)
		if d < 0 || (err != nil && d != 0) {
			t.Fatalf("%q: %v %v", s, d, err)
		}
		_ = ParseScore(s)
		_, _, _ = ParseRange(s)
		_ = CompareVersion(s, "1.2."+s)
		_, _ = scanDouble(s)
	})
}

// FuzzEvaluate feeds arbitrary XML to the rule evaluator and nvpair
// unpacking: they must answer without panicking.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{
		`<rule id="r"><expression id="e" attribute="a" operation="gt" value="1.5"/></rule>`,
		`<rule id="r" boolean-op="or"><date_expression id="d" operation="date_spec"><date_spec id="s" hours="9-17" moon="4"/></date_expression><rule id-ref="r"/></rule>`,
		`<rule id="r"><date_expression id="d" start="2019-01-01"><duration id="u" years="1" months="-13" hours="99999999"/></date_expression></rule>`,
		`<rule id="r" score-attribute="%1"><expression id="e" attribute="%0" operation="eq" value="v" value-source="meta"/><rsc_expression id="x" class="ocf"/><op_expression id="o" name="monitor" interval="P1D"/></rule>`,
		`<p><instance_attributes id="a" score="INFINITY"><rule id="r"><expression id="e" attribute="#role" operation="ne" value="Promoted"/></rule><nvpair id="n" name="x" value="#default"/></instance_attributes><instance_attributes id-ref="a"/></p>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 || strings.Count(s, "<") > 200 {
			return
		}
		d := etree.NewDocument()
		if d.ReadFromString(s) != nil || d.Root() == nil {
			return
		}
		ctx := &Context{Now: fuzzNow, NodeAttrs: map[string]string{"a": "2", "#uname": "n1"},
			Rsc: &RscInfo{Class: "ocf", Provider: "heartbeat", Type: "Dummy"}, Op: &OpInfo{Name: "monitor"},
			Params: map[string]string{"v": "2"}, Meta: map[string]string{"v": "1.0"},
			Regex: &RegexMatch{Subject: "abc", Index: []int{0, 3, 1, 2}}, Role: "Promoted"}
		_, _, _ = EvaluateWithNext(d.Root(), ctx)
		_, _, _ = EvaluateRules(d.Root(), ctx)
		_ = RuleScore(d.Root(), func(string) (string, bool) { return "1", true }, ctx.Regex, HealthScores{})
		_, _ = UnpackNVPairsFull(d.Root(), "", ctx, map[string]string{}, NVPairOptions{})
	})
}
