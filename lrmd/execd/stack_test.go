package execd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

// TestRealControllerDrivesOurExecutor runs one node of our corosync,
// pacemakerd, CIB manager, fencer and executor, with Debian's attrd,
// scheduler and controller. The real controller registers with our
// executor, probes, and starts a Dummy resource through it; crm_mon shows it
// started and the CIB records the executor's results.
func TestRealControllerDrivesOurExecutor(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespaces and daemons: not in -short")
	}
	testenv.RequireRoot(t)
	const realDir = "/usr/lib/pacemaker"
	for _, d := range []string{"pacemaker-attrd", "pacemaker-schedulerd", "pacemaker-controld"} {
		if _, err := os.Stat(filepath.Join(realDir, d)); err != nil {
			testenv.Unavailable(t, "%s (Debian package pacemaker)", d)
		}
	}
	for _, p := range append(testcluster.Prerequisites, "crm_mon", "cibadmin", "crm_attribute", "corosync-cmapctl") {
		testenv.RequireBinary(t, p)
	}
	t.Parallel() // most of the run is the controller's dc-deadtime wait
	corosync := testenv.GoBinary(t, "corosync")
	pcmkd := testenv.GoBinary(t, "pacemakerd")
	daemons := t.TempDir()
	for _, name := range []string{"pacemaker-based", "pacemaker-fenced", "pacemaker-execd"} {
		if err := os.Symlink(testenv.GoBinary(t, name), filepath.Join(daemons, name)); err != nil {
			t.Fatal(err)
		}
	}
	c := testcluster.New(t, testcluster.Options{Nodes: 1})
	n := c.Node(1)
	conf := "totem {\n\tversion: 2\n\tcluster_name: rmexec\n\ttransport: udpu\n\ttoken: 1000\n}\n" +
		"quorum {\n\tprovider: corosync_votequorum\n}\nlogging {\n\tto_stderr: yes\n\tto_syslog: no\n}\n" +
		"nodelist {\n\tnode {\n\t\tring0_addr: 192.0.2.1\n\t\tname: node01\n\t\tnodeid: 1\n\t}\n}\n"
	if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cs, err := n.Start("corosync", corosync, "-f")
	if err != nil {
		t.Fatal(err)
	}
	execIn := func(argv ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, rc, err := n.Exec(ctx, argv...)
		if err != nil {
			return out + err.Error(), -1
		}
		return out, rc
	}
	testcluster.Eventually(t, 30*time.Second, 100*time.Millisecond, func() (bool, string) {
		if cs.Exited() {
			t.Fatalf("corosync exited:\n%s", cs.Output())
		}
		o, _ := execIn("corosync-cmapctl", "-g", "runtime.votequorum.this_node_id")
		return strings.Contains(o, "="), o
	})
	pm, err := n.Start("pacemakerd", pcmkd, "-f", "--daemon-dir", daemons, "--daemon-dir", realDir)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	testcluster.Eventually(t, 90*time.Second, 500*time.Millisecond, func() (bool, string) {
		if pm.Exited() {
			t.Fatalf("pacemakerd exited:\n%s", pm.Output())
		}
		out, _ = execIn("crm_mon", "-1")
		return strings.Contains(out, "* Current DC: node01") && strings.Contains(out, "* Online: [ node01 ]"), out
	})
	for _, argv := range [][]string{
		{"crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false"},
		{"cibadmin", "--create", "-o", "resources", "-X",
			`<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"><operations><op id="d1-mon" name="monitor" interval="10s"/></operations></primitive>`},
	} {
		if o, rc := execIn(argv...); rc != 0 {
			t.Fatalf("%v: rc %d\n%s", argv, rc, o)
		}
	}
	testcluster.Eventually(t, 60*time.Second, 500*time.Millisecond, func() (bool, string) {
		out, _ = execIn("crm_mon", "-1")
		return strings.Contains(out, "* d1\t(ocf:pacemaker:Dummy):\t Started node01"), out
	})
	// The controller recorded our executor's results (the probe's entry is
	// replaced by the start's): start and the recurring monitor, op-status 0.
	var cib string
	testcluster.Eventually(t, 30*time.Second, 500*time.Millisecond, func() (bool, string) {
		cib, _ = execIn("cibadmin", "-Q", "-o", "status")
		return strings.Contains(cib, `operation_key="d1_monitor_10000"`), cib
	})
	for _, want := range []string{`operation_key="d1_start_0"`, `operation_key="d1_monitor_10000"`, `op-status="0"`} {
		if !strings.Contains(cib, want) {
			t.Errorf("status section lacks %s:\n%s", want, cib)
		}
	}
	if strings.Contains(cib, `op-status="2"`) || strings.Contains(cib, `op-status="4"`) {
		t.Errorf("failed operations recorded:\n%s", cib)
	}
	t.Logf("crm_mon -1:\n%s", out)
}
