package cfg_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

// Debian's Pacemaker 2.1.5 on our corosync (one node): pacemakerd passes its
// checks on cmap, cfg, cpg and quorum, the daemons join their CPG groups, the
// controller becomes DC of a quorate partition, and pacemakerd vetoes
// `corosync-cfgtool -H` through the cfg shutdown handshake (TESTSHUTDOWN,
// REPLYTOSHUTDOWN no), exactly as it does on corosync 3.1.7. Once Pacemaker
// is gone, -H shuts our corosync down cleanly.
func TestPacemakerOnOurCorosync(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespace test")
	}
	testenv.RequireRoot(t)
	pacemakerd := testenv.RequireBinary(t, "pacemakerd")
	crmMon := testenv.RequireBinary(t, "crm_mon")
	cpgtool := testenv.RequireBinary(t, "corosync-cpgtool")
	cfgtool := testenv.RequireBinary(t, "corosync-cfgtool")
	bin := testenv.GoBinary(t, "corosync")
	c := testcluster.New(t, testcluster.Options{Nodes: 1})
	n := c.Node(1)
	conf := "totem {\n\tversion: 2\n\ttransport: udpu\n\tcluster_name: pcmk\n}\n" +
		"nodelist {\n\tnode {\n\t\tring0_addr: 192.0.2.1\n\t\tnodeid: 1\n\t}\n}\n" +
		"quorum {\n\tprovider: corosync_votequorum\n}\n"
	if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	coro, err := n.Start("corosync", bin, "-f")
	if err != nil {
		t.Fatal(err)
	}
	defer coro.Stop(15 * time.Second)
	exec := func(argv ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		out, rc, err := n.Exec(ctx, argv...)
		if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		return out, rc
	}
	testcluster.Eventually(t, 20*time.Second, 100*time.Millisecond, func() (bool, string) {
		out, _ := exec(cpgtool)
		return strings.HasPrefix(out, "Group Name"), out
	})
	pcmk, err := n.StartEnv("pacemakerd", []string{"PCMK_logfile=/var/log/pacemaker/pacemaker.log"}, pacemakerd, "-f")
	if err != nil {
		t.Fatal(err)
	}
	defer pcmk.Stop(30 * time.Second)
	testcluster.Eventually(t, 60*time.Second, 500*time.Millisecond, func() (bool, string) {
		if pcmk.Exited() {
			t.Fatalf("pacemakerd exited:\n%s", pcmk.Output())
		}
		out, _ := exec(crmMon, "-1")
		return strings.Contains(out, "partition with quorum") && strings.Contains(out, "Online: [ node01 ]"), out
	})
	out, _ := exec(cpgtool, "-n")
	groups := strings.Fields(out)
	sort.Strings(groups)
	if strings.Join(groups, " ") != `attrd\x00 cib\x00 crmd\x00 stonith-ng\x00` {
		t.Errorf("CPG groups: %q", groups)
	}
	out, rc := exec(cfgtool, "-H")
	if rc != 0 || !strings.Contains(out, "Could not shutdown (error = 10)") || coro.Exited() {
		t.Errorf("cfgtool -H with Pacemaker running: exit %d\n%s", rc, out)
	}
	if err := pcmk.Stop(60 * time.Second); err != nil {
		t.Logf("pacemakerd: %v", err)
	}
	out, rc = exec(cfgtool, "-H")
	if rc != 0 || strings.Contains(out, "Could not") {
		t.Errorf("cfgtool -H without Pacemaker: exit %d\n%s", rc, out)
	}
	if err := coro.Wait(20 * time.Second); err != nil {
		t.Errorf("corosync did not shut down after cfgtool -H: %v\n%s", err, coro.Output())
	}
}
