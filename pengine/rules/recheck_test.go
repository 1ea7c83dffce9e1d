package rules

import (
	"strconv"
	"testing"
	"time"

	"github.com/beevik/etree"

	"ringmaster/internal/testenv"
)

// TestRecheckByConformance checks EvaluateWithNext against the recheck-by
// times Pacemaker wrote into the transition graphs of the scheduler
// conformance cases whose only time-dependent inputs are date rules: the
// earliest future change of any rule is the recheck time.
func TestRecheckByConformance(t *testing.T) {
	dir := testenv.Shared(t, "conformance", "scheduler")
	for _, name := range []string{"location-date-rules-1", "location-date-rules-2", "nvpair-date-rules-1"} {
		cib := etree.NewDocument()
		if err := cib.ReadFromFile(dir + "/xml/" + name + ".xml"); err != nil {
			t.Fatal(err)
		}
		graph := etree.NewDocument()
		if err := graph.ReadFromFile(dir + "/exp/" + name + ".exp"); err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.ParseInt(graph.Root().SelectAttrValue("recheck-by", "0"), 10, 64)
		ed, _ := strconv.ParseInt(cib.Root().SelectAttrValue("execution-date", "0"), 10, 64)
		now := time.Unix(ed, 0).UTC()
		var nodes []map[string]string
		for _, n := range cib.FindElements("//nodes/node") {
			attrs := NodeBuiltins(n.SelectAttrValue("uname", ""), n.SelectAttrValue("id", ""), "cluster", false, "")
			nodes = append(nodes, attrs)
		}
		var best time.Time
		consider := func(next time.Time) {
			if !next.IsZero() && next.After(now) && (best.IsZero() || next.Before(best)) {
				best = next
			}
		}
		for _, r := range cib.FindElements("//rule") {
			switch r.Parent().Tag {
			case "rule":
				continue // evaluated with its parent
			case "rsc_location":
				for _, attrs := range nodes {
					_, next, _ := EvaluateWithNext(r, &Context{Now: now, NodeAttrs: attrs, Meta: map[string]string{}})
					consider(next)
				}
			default:
				_, next, _ := EvaluateWithNext(r, &Context{Now: now})
				consider(next)
			}
		}
		if best.Unix() != want {
			t.Errorf("%s: earliest rule change %d (%s), graph recheck-by %d", name, best.Unix(), best, want)
		}
	}
}
