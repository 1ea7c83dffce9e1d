package e2e

import "testing"

// crmSteps: what issue 5 asks of crmsh. crmsh runs Pacemaker's tools by
// name; in the oracle world CIB_file points them at the file.
var crmSteps = []step{
	{argv: []string{"crm", "configure", "property", "stonith-enabled=false"}},
	{argv: []string{"crm", "configure", "primitive", "p1", "ocf:pacemaker:Dummy", "op", "monitor", "interval=10s"}},
	{argv: []string{"crm", "configure", "primitive", "p2", "ocf:pacemaker:Dummy", "params", "fake=2"}},
	{argv: []string{"crm", "configure", "group", "g1", "p1"}},
	{argv: []string{"crm", "configure", "clone", "c2", "p2"}},
	{argv: []string{"crm", "configure", "location", "l1", "g1", "100:", "node01"}},
	{argv: []string{"crm", "configure", "property", "no-quorum-policy=ignore"}},
	{argv: []string{"crm", "configure", "show"}, output: true},
	{argv: []string{"crm", "configure", "show", "xml"}, output: true},
	{argv: []string{"crm", "resource", "stop", "g1"}},
	{argv: []string{"crm", "resource", "start", "g1"}},
	{argv: []string{"crm", "configure", "delete", "l1"}},
	{argv: []string{"crm", "configure", "delete", "c2"}},
	{argv: []string{"crm", "status"}, liveOnly: true},
}

func TestCrmsh(t *testing.T) {
	t.Parallel()
	runSequence(t, "crm", crmSteps)
}
