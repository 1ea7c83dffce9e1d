package cpg_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

// A real libcpg client (testdata/cpgclient.c linked against Debian's
// libcpg.so.4) joins a group on our corosync, gets its join change, multicasts
// and gets its own message back, reads the membership, lets corosync-cpgtool
// list the group while it is joined, leaves and finalizes. The same client
// against the real corosync 3.1.7 gives the same lines.
func TestRealLibcpgClient(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespace test")
	}
	testenv.RequireRoot(t)
	gcc := testenv.RequireBinary(t, "gcc")
	cpgtool := testenv.RequireBinary(t, "corosync-cpgtool")
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	const lib = "/usr/lib/x86_64-linux-gnu/libcpg.so.4"
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libcpg: %v", err)
		}
		t.Skip("no libcpg")
	}
	client := filepath.Join(t.TempDir(), "cpgclient")
	if out, err := exec.Command(gcc, "-O", "-o", client, "testdata/cpgclient.c", lib).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	bin := testenv.GoBinary(t, "corosync")
	c := testcluster.New(t, testcluster.Options{Nodes: 1})
	n := c.Node(1)
	conf := "totem {\n\tversion: 2\n\ttransport: udpu\n\tcluster_name: libcpg\n}\n" +
		"nodelist {\n\tnode {\n\t\tring0_addr: 192.0.2.1\n\t\tnodeid: 1\n\t}\n}\n" +
		"quorum {\n\tprovider: corosync_votequorum\n}\n"
	if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := n.Start("corosync", bin, "-f")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = p.Signal(15)
		if err := p.Wait(15 * time.Second); err != nil {
			t.Errorf("corosync did not stop: %v", err)
		}
	}()
	testcluster.Eventually(t, 20*time.Second, 100*time.Millisecond, func() (bool, string) {
		out, _, _ := n.Exec(context.Background(), cmapctl, "-g", "runtime.members.1.status")
		return strings.Contains(out, "joined"), out
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, rc, err := n.Exec(ctx, client, "ringmaster-test", cpgtool)
	if err != nil || rc != 0 {
		t.Fatalf("client: rc %d %v\n%s\n%s", rc, err, out, p.Output())
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		"local 1",
		"join 1",
		"join again 14", // CS_ERR_EXIST
		"CONFCHG ringmaster-test members 1 left 0 joined 1 joined-reason 1",
		"mcast 1",
		"DELIVER ringmaster-test from 1/0: hello-cpg",
		"membership 1 count 1 node 1 self 1",
		"Group Name\t       PID\t   Node ID",
		"ringmaster-test",
		"", // the member line, checked below
		"leave 1",
		"CONFCHG ringmaster-test members 0 left 1 joined 0 left-reason 2",
		"finalize 1",
	}
	if len(lines) != len(want) {
		t.Fatalf("client output:\n%s", out)
	}
	for i, w := range want {
		if w == "" {
			if f := strings.Fields(lines[i]); len(f) < 2 || f[1] != "1" {
				t.Errorf("cpgtool member line %q", lines[i])
			}
			continue
		}
		if lines[i] != w {
			t.Errorf("line %d: %q, want %q\n%s", i, lines[i], w, out)
		}
	}
}
