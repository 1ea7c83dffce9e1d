package e2e

import "testing"

// pcsSteps: what issue 5 asks of pcs, in the order an administrator would
// type it. pcs runs Debian's tools by absolute path (settings.py:
// /usr/sbin/cibadmin, crm_resource, crm_diff, ...), so the ours-live world
// gets ours through bind mounts.
var pcsSteps = []step{
	{argv: []string{"pcs", "property", "set", "stonith-enabled=false"}},
	{argv: []string{"pcs", "property", "set", "no-quorum-policy=ignore"}},
	{argv: []string{"pcs", "property", "unset", "no-quorum-policy"}},
	{argv: []string{"pcs", "resource", "create", "d1", "ocf:pacemaker:Dummy", "op", "monitor", "interval=10s"}},
	{argv: []string{"pcs", "resource", "create", "ip1", "ocf:heartbeat:IPaddr2", "ip=192.0.2.50", "cidr_netmask=24"}},
	{argv: []string{"pcs", "resource", "update", "d1", "fake=1"}},
	{argv: []string{"pcs", "resource", "meta", "d1", "target-role=Stopped"}},
	{argv: []string{"pcs", "constraint", "location", "d1", "prefers", "node01=100"}},
	{argv: []string{"pcs", "constraint", "colocation", "add", "ip1", "with", "d1", "INFINITY"}},
	{argv: []string{"pcs", "constraint", "order", "d1", "then", "ip1"}},
	{argv: []string{"pcs", "resource", "delete", "ip1"}},
	{argv: []string{"pcs", "cluster", "cib"}, output: true},
	{argv: []string{"pcs", "status", "--full"}, liveOnly: true},
}

func TestPcs(t *testing.T) {
	t.Parallel()
	runSequence(t, "pcs", pcsSteps)
}
