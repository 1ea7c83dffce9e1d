package testcluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ringmaster/cmap"
	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/ipc"
)

func newCluster(t *testing.T, nodes int) *testcluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespaces: not in -short")
	}
	testenv.RequireRoot(t)
	for _, p := range testcluster.Prerequisites {
		testenv.RequireBinary(t, p)
	}
	return testcluster.New(t, testcluster.Options{Nodes: nodes})
}

// TestNetworkAndFaults checks the plumbing itself: private files and hostnames per
// node, reachability over the bridge, and that a partition and its healing work.
func TestNetworkAndFaults(t *testing.T) {
	c := newCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for _, n := range c.Nodes() {
		if err := n.WriteFile("/etc/corosync/whoami", []byte(n.Hostname()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range c.Nodes() {
		out, rc, err := n.Exec(ctx, "sh", "-c", "hostname; cat /etc/corosync/whoami; grep node03 /etc/hosts")
		want := fmt.Sprintf("%s\n%s192.0.2.3\tnode03\n", n.Hostname(), n.Hostname())
		if err != nil || rc != 0 || out != want {
			t.Fatalf("node %d: rc=%d err=%v out=%q want %q", n.ID(), rc, err, out, want)
		}
	}
	ping := func(from *testcluster.Node, to string) bool {
		_, rc, err := from.Exec(ctx, "ping", "-c1", "-W1", to)
		return err == nil && rc == 0
	}
	testenv.RequireBinary(t, "ping")
	if !ping(c.Node(1), "node03") {
		t.Fatal("node01 cannot reach node03")
	}
	if err := c.Partition([]int{1, 2}, []int{3}); err != nil {
		t.Fatal(err)
	}
	if ping(c.Node(1), "192.0.2.3") || !ping(c.Node(1), "192.0.2.2") {
		t.Fatal("partition 1,2|3 not in effect")
	}
	if err := c.Heal(); err != nil {
		t.Fatal(err)
	}
	if !ping(c.Node(3), "192.0.2.1") {
		t.Fatal("heal did not restore node03 -> node01")
	}
}

// udpuConf is a 3-node corosync 3 config on the cluster network.
func udpuConf(nodes int) string {
	var b strings.Builder
	b.WriteString("totem {\n\tversion: 2\n\tcluster_name: tc\n\ttransport: udpu\n}\n")
	b.WriteString("quorum {\n\tprovider: corosync_votequorum\n}\n")
	b.WriteString("logging {\n\tto_logfile: yes\n\tlogfile: /var/log/corosync/corosync.log\n\tto_stderr: yes\n}\n")
	b.WriteString("nodelist {\n")
	for i := 1; i <= nodes; i++ {
		fmt.Fprintf(&b, "\tnode {\n\t\tring0_addr: 192.0.2.%d\n\t\tname: node%02d\n\t\tnodeid: %d\n\t}\n", i, i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

// TestDebianCorosyncRing brings up three Debian corosync 3.1.7 nodes with udpu
// and checks, through our Go cmap client talking libqb IPC to each real daemon,
// that every node sees all three joined; the real corosync-cmapctl agrees.
func TestDebianCorosyncRing(t *testing.T) {
	c := newCluster(t, 3)
	corosync := testenv.RequireBinary(t, "corosync")
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	conf := udpuConf(3)
	for _, n := range c.Nodes() {
		if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Start("corosync", corosync, "-f"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, n := range c.Nodes() {
		testcluster.Eventually(t, 30*time.Second, 500*time.Millisecond, func() (bool, string) {
			joined, err := joinedMembers(n)
			if err != nil {
				return false, fmt.Sprintf("node %d: %v", n.ID(), err)
			}
			return len(joined) == 3, fmt.Sprintf("node %d sees joined %v", n.ID(), joined)
		})
		out, _, err := n.Exec(ctx, cmapctl, "-b", "runtime.members")
		if err != nil || strings.Count(out, "status (str) = joined") != 3 {
			t.Fatalf("node %d: corosync-cmapctl disagrees with our client: %v\n%s", n.ID(), err, out)
		}
	}
}

// joinedMembers asks the node's corosync over cmap which members are joined.
func joinedMembers(n *testcluster.Node) ([]string, error) {
	var joined []string
	err := n.Do(func() error {
		// The daemon's SHM files live in the node's private /dev/shm.
		cl, err := cmap.Dial(cmap.ClientOptions{IPC: ipc.ClientOptions{ShmDir: n.HostPath("/dev/shm")}, Timeout: 5 * time.Second})
		if err != nil {
			return err
		}
		defer cl.Close()
		keys, err := cl.Keys("runtime.members.")
		if err != nil {
			return err
		}
		for _, k := range keys {
			if !strings.HasSuffix(k.Key, ".status") {
				continue
			}
			v, err := cl.Get(k.Key)
			if err != nil {
				return err
			}
			if v.String() == "joined" {
				joined = append(joined, strings.Split(k.Key, ".")[2])
			}
		}
		return nil
	})
	return joined, err
}
