package cib

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// TestCheckStructureIDs: element ids are unique within the configuration,
// except a <node>'s, which the schema types as text (a remote node shares
// its id with the connection resource).
func TestCheckStructureIDs(t *testing.T) {
	const remote = `<cib validate-with="pacemaker-3.7"><configuration><crm_config/>
<nodes><node id="remote1" uname="remote1" type="remote"/></nodes>
<resources><primitive id="remote1" class="ocf" provider="pacemaker" type="remote"/></resources>
<constraints/></configuration><status/></cib>`
	const dup = `<cib validate-with="pacemaker-3.7"><configuration><crm_config/><nodes/>
<resources><primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
<primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/></resources>
<constraints/></configuration><status/></cib>`
	for _, tc := range []struct {
		xml, err string
	}{{remote, ""}, {dup, "same ID"}} {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(tc.xml); err != nil {
			t.Fatal(err)
		}
		err := CheckStructure(doc.Root())
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("got %v, want %q", err, tc.err)
		}
	}
}
