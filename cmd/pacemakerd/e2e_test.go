package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

// corosyncConf is a udpu ring of n nodes named node01.. with nodeids 1..
func corosyncConf(n int) string {
	var b strings.Builder
	b.WriteString("totem {\n\tversion: 2\n\tcluster_name: rmpcmk\n\ttransport: udpu\n\ttoken: 1000\n}\n")
	b.WriteString("quorum {\n\tprovider: corosync_votequorum\n")
	if n == 2 {
		b.WriteString("\ttwo_node: 1\n")
	}
	b.WriteString("}\nlogging {\n\tto_stderr: yes\n\tto_syslog: no\n}\nnodelist {\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "\tnode {\n\t\tring0_addr: 192.0.2.%d\n\t\tname: node%02d\n\t\tnodeid: %d\n\t}\n", i, i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

type stack struct {
	n          *testcluster.Node
	corosync   *testcluster.Proc
	pacemakerd *testcluster.Proc
}

func execIn(n *testcluster.Node, argv ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, rc, err := n.Exec(ctx, argv...)
	if err != nil {
		return out + err.Error(), -1
	}
	return out, rc
}

// startStacks runs our corosync and our pacemakerd (which starts our
// pacemaker-based and pacemaker-fenced from bin/) on every node.
func startStacks(t *testing.T, nodes int) []*stack {
	t.Helper()
	return startStacksDirs(t, nodes)
}

// realDaemonDir is where Debian installs Pacemaker's subdaemons.
const realDaemonDir = "/usr/lib/pacemaker"

// startStacksDirs is startStacks with more daemon directories searched
// after ours.
func startStacksDirs(t *testing.T, nodes int, moreDirs ...string) []*stack {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespaces and daemons: not in -short")
	}
	testenv.RequireRoot(t)
	for _, p := range testcluster.Prerequisites {
		testenv.RequireBinary(t, p)
	}
	corosync := testenv.GoBinary(t, "corosync")
	pcmkd := testenv.GoBinary(t, "pacemakerd")
	// Only the subdaemons under test: bin/ may hold others that other
	// packages' tests built.
	daemons := t.TempDir()
	for _, name := range []string{"pacemaker-based", "pacemaker-fenced"} {
		if err := os.Symlink(testenv.GoBinary(t, name), filepath.Join(daemons, name)); err != nil {
			t.Fatal(err)
		}
	}
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	c := testcluster.New(t, testcluster.Options{Nodes: nodes})
	var out []*stack
	for _, n := range c.Nodes() {
		if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(corosyncConf(nodes)), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := n.Start("corosync", corosync, "-f")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &stack{n: n, corosync: p})
	}
	for _, s := range out {
		testcluster.Eventually(t, 30*time.Second, 100*time.Millisecond, func() (bool, string) {
			if s.corosync.Exited() {
				t.Fatalf("corosync exited:\n%s", s.corosync.Output())
			}
			o, _ := execIn(s.n, cmapctl, "-g", "runtime.votequorum.this_node_id")
			return strings.Contains(o, "="), o
		})
	}
	for _, s := range out {
		p, err := s.n.Start("pacemakerd", append([]string{pcmkd, "-f", "--daemon-dir", daemons}, dirFlags(moreDirs)...)...)
		if err != nil {
			t.Fatal(err)
		}
		s.pacemakerd = p
	}
	return out
}

func dirFlags(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		out = append(out, "--daemon-dir", d)
	}
	return out
}

var crmMonVolatile = regexp.MustCompile(`(?m)^(\s*\* Last (updated|change):|Status of pacemakerd: .* \(last updated).*$`)

// compareRealStack loads each CIB the real stack had (shared/testdata/
// realstack) into our CIB manager and checks that the real crm_mon -1 and
// -1 -fA print what they printed on the real stack (times masked).
func compareRealStack(t *testing.T, n *testcluster.Node) {
	t.Helper()
	cases, _ := filepath.Glob(testenv.Shared(t, "testdata", "realstack", "*", "cibadmin-Q.xml"))
	if len(cases) < 4 {
		t.Fatalf("only %d realstack cases", len(cases))
	}
	same := 0
	for i, cibFile := range cases {
		dir := filepath.Dir(cibFile)
		data, err := os.ReadFile(cibFile)
		if err != nil {
			t.Fatal(err)
		}
		// A replace may not go back in version: each case gets a higher
		// admin_epoch (which crm_mon does not print).
		data = []byte(strings.Replace(string(data), `admin_epoch="0"`, fmt.Sprintf(`admin_epoch="%d"`, 10+i), 1))
		if err := n.WriteFile("/tmp/realstack-cib.xml", data, 0o644); err != nil {
			t.Fatal(err)
		}
		if o, rc := execIn(n, "cibadmin", "--replace", "--xml-file", "/tmp/realstack-cib.xml"); rc != 0 {
			t.Errorf("%s: cibadmin --replace: rc %d\n%s", filepath.Base(dir), rc, o)
			continue
		}
		for file, argv := range map[string][]string{"crm_mon-1.txt": {"crm_mon", "-1"}, "crm_mon-1-fA.txt": {"crm_mon", "-1", "-fA"}} {
			want, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			got, rc := execIn(n, argv...)
			g, w := crmMonVolatile.ReplaceAllString(got, "$1"), crmMonVolatile.ReplaceAllString(string(want), "$1")
			if !strings.Contains(string(data), `op-status="-1"`) {
				// 2node-knet's crm_mon -1 ran while a monitor was in
				// flight; the CIB captured after it holds no pending op.
				w = strings.ReplaceAll(w, " (Monitoring)", "")
			}
			if rc != 0 || g != w {
				t.Errorf("%s %v: rc %d\n--- ours:\n%s\n--- real stack:\n%s", filepath.Base(dir), argv, rc, g, w)
				continue
			}
			same++
		}
	}
	t.Logf("crm_mon over the real stack's CIBs: %d/%d outputs identical (times masked)", same, 2*len(cases))
	if o, rc := execIn(n, "cibadmin", "--erase", "--force"); rc != 0 {
		t.Fatalf("cibadmin --erase: rc %d\n%s", rc, o)
	}
}

// TestRealCrmMonAgainstOurStack: the real crm_mon -1, crmadmin -P and
// stonith_admin against our corosync + pacemakerd + based + fenced.
func TestRealCrmMonAgainstOurStack(t *testing.T) {
	st := startStacks(t, 1)
	s := st[0]
	crmMon := testenv.RequireBinary(t, "crm_mon")
	var out string
	var rc int
	testcluster.Eventually(t, 60*time.Second, 250*time.Millisecond, func() (bool, string) {
		if s.pacemakerd.Exited() {
			t.Fatalf("pacemakerd exited:\n%s", s.pacemakerd.Output())
		}
		out, rc = execIn(s.n, crmMon, "-1")
		return rc == 0 && strings.Contains(out, "Cluster Summary"), fmt.Sprintf("rc %d:\n%s", rc, out)
	})
	t.Logf("crm_mon -1:\n%s", out)
	for _, want := range []string{"Status of pacemakerd: 'Pacemaker is running'", "* 0 nodes configured", "* 0 resource instances configured"} {
		if !strings.Contains(out, want) {
			t.Errorf("crm_mon -1 lacks %q:\n%s", want, out)
		}
	}
	compareRealStack(t, s.n)

	// Each step: the real tool, its exit code, and text its output must hold.
	steps := []struct {
		argv []string
		rc   int
		want []string
	}{
		{[]string{"crmadmin", "-P"}, 0, []string{"Status of pacemakerd: 'Pacemaker is running' (last updated "}},
		{[]string{"crmadmin", "-P", "--output-as=xml"}, 0, []string{`<pacemakerd sys_from="pacemakerd" state="running" last_updated=`, `<status code="0" message="OK"/>`}},
		{[]string{"stonith_admin", "-L"}, 0, []string{"0 fence devices found"}},
		{[]string{"stonith_admin", "-l", "node01"}, 0, []string{"0 fence devices found"}},
		{[]string{"stonith_admin", "-H", "*"}, 0, []string{"0 events found"}},
		// No device can fence: refused as Pacemaker refuses it, never a success.
		{[]string{"stonith_admin", "-F", "node01"}, 105, []string{"stonith_admin: Couldn't fence node01: No such device"}},
		{[]string{"stonith_admin", "-H", "node01", "-V"}, 0, []string{"turning off of node01 failed: client=stonith_admin.", "origin=node01", "1 event found"}},
		{[]string{"cibadmin", "--create", "-o", "resources", "-X", `<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>`}, 0, nil},
		{[]string{"crm_mon", "-1"}, 0, []string{"* 1 resource instance configured", "Failed Fencing Actions:", "* turning off of node01 for stonith_admin."}},
		{[]string{"crm_mon", "-1", "--output-as=xml"}, 0, []string{`<pacemakerd sys_from="pacemakerd" state="running"`, `<resources_configured number="1"`, `<fence_event action="off" target="node01" client="stonith_admin.`, `<status code="0" message="OK"/>`}},
	}
	for _, st := range steps {
		o, rc := execIn(s.n, st.argv...)
		if rc != st.rc {
			t.Errorf("%v: rc %d, want %d\n%s", st.argv, rc, st.rc, o)
		}
		for _, w := range st.want {
			if !strings.Contains(o, w) {
				t.Errorf("%v: output lacks %q:\n%s", st.argv, w, o)
			}
		}
	}

	// kill -9 of the CIB manager: the launcher respawns it and the tools
	// work again (the configuration comes back from disk).
	log, _ := s.n.ReadFile("/var/log/pacemaker/pacemaker.log")
	m := regexp.MustCompile(`Forked child (\d+) for process pacemaker-based`).FindStringSubmatch(string(log))
	if m == nil {
		t.Fatalf("no fork of pacemaker-based in the log:\n%s", log)
	}
	pid, _ := strconv.Atoi(m[1])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	testcluster.Eventually(t, 30*time.Second, 200*time.Millisecond, func() (bool, string) {
		o, rc := execIn(s.n, "cibadmin", "-Q", "-o", "resources")
		l, _ := s.n.ReadFile("/var/log/pacemaker/pacemaker.log")
		return rc == 0 && strings.Contains(o, `id="d1"`) && strings.Contains(string(l), "Respawning pacemaker-based subdaemon after unexpected exit"), o + string(l)
	})

	// SIGTERM: the subdaemons stop in reverse order, then the launcher.
	s.pacemakerd.Signal(syscall.SIGTERM)
	if err := s.pacemakerd.Wait(40 * time.Second); err != nil {
		t.Fatalf("pacemakerd after SIGTERM: %v", err)
	}
	log, _ = s.n.ReadFile("/var/log/pacemaker/pacemaker.log")
	fenced := strings.Index(string(log), "Stopping pacemaker-fenced")
	based := strings.Index(string(log), "Stopping pacemaker-based")
	if fenced < 0 || based < fenced || !strings.Contains(string(log), "notice: Shutdown complete") {
		t.Errorf("pacemaker.log:\n%s", log)
	}
	if o, _ := execIn(s.n, crmMon, "-1"); !strings.Contains(o, "launcher") && !strings.Contains(o, "connect") {
		t.Errorf("crm_mon with pacemakerd stopped:\n%s", o)
	}
}

var lastWritten = regexp.MustCompile(` cib-last-written="[^"]*"`)

// TestCIBReplicationTwoNodes: two nodes running our corosync and our
// Pacemaker daemons; changes made with the real cibadmin and crm_attribute
// on either node reach the other over CPG and leave both CIBs identical.
func TestCIBReplicationTwoNodes(t *testing.T) {
	st := startStacks(t, 2)
	cibadmin := testenv.RequireBinary(t, "cibadmin")
	for _, s := range st {
		testcluster.Eventually(t, 60*time.Second, 250*time.Millisecond, func() (bool, string) {
			if s.pacemakerd.Exited() {
				t.Fatalf("pacemakerd exited:\n%s", s.pacemakerd.Output())
			}
			o, rc := execIn(s.n, "crmadmin", "-P")
			return rc == 0 && strings.Contains(o, "'Pacemaker is running'"), o
		})
	}
	// Both CIB managers must be in the group before the first change
	// (a later joiner would need a controller's sync to catch up).
	testcluster.Eventually(t, 30*time.Second, 200*time.Millisecond, func() (bool, string) {
		o, _ := execIn(st[0].n, "corosync-cpgtool")
		return cpgMembers(o, "cib\\x00") == 2, o
	})
	changes := []struct {
		node int
		argv []string
	}{
		{1, []string{cibadmin, "--create", "-o", "resources", "-X", `<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>`}},
		{2, []string{"crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false"}},
		{1, []string{cibadmin, "--modify", "-X", `<primitive id="d1" description="from node01"/>`}},
		{2, []string{cibadmin, "--create", "-o", "nodes", "-X", `<node id="2" uname="node02"/>`}},
	}
	for _, ch := range changes {
		if o, rc := execIn(st[ch.node-1].n, ch.argv...); rc != 0 {
			t.Fatalf("%v on node %d: rc %d\n%s", ch.argv[1:], ch.node, rc, o)
		}
	}
	var q [2]string
	testcluster.Eventually(t, 20*time.Second, 200*time.Millisecond, func() (bool, string) {
		for i, s := range st {
			o, _ := execIn(s.n, cibadmin, "-Q")
			q[i] = lastWritten.ReplaceAllString(o, "")
		}
		return q[0] == q[1] && strings.Contains(q[1], `description="from node01"`) && strings.Contains(q[0], `uname="node02"`),
			fmt.Sprintf("node01:\n%s\nnode02:\n%s", q[0], q[1])
	})
	for _, want := range []string{`epoch="4"`, `name="stonith-enabled" value="false"`, `<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy" description="from node01"/>`} {
		if !strings.Contains(q[1], want) {
			t.Errorf("replicated CIB lacks %s:\n%s", want, q[1])
		}
	}
	// The on-disk copy on node02 holds node01's change too.
	disk, _ := st[1].n.ReadFile("/var/lib/pacemaker/cib/cib.xml")
	if !strings.Contains(string(disk), `description="from node01"`) {
		t.Errorf("node02's cib.xml:\n%s", disk)
	}
}

// cpgMembers counts the members corosync-cpgtool lists under group.
func cpgMembers(out, group string) int {
	n, in := 0, false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, group):
			in = true
		case in && strings.HasPrefix(l, "\t\t"):
			n++
		case in && l != "" && !strings.HasPrefix(l, "\t"):
			in = false
		}
	}
	return n
}

// TestWithRealPacemakerDaemons: our corosync, pacemakerd, CIB manager and
// fencer, with Debian's pacemaker-execd, -attrd, -schedulerd and
// -controld filling the rest of the table (pacemakerd's daemon dirs
// searched in order). The real controller elects itself DC over our CIB
// and CPG, and a Dummy resource created with the real cibadmin is started
// by the real executor.
func TestWithRealPacemakerDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespaces and daemons: not in -short")
	}
	// Most of the run is the controllers' dc-deadtime wait.
	t.Parallel()
	for _, d := range []string{"pacemaker-execd", "pacemaker-attrd", "pacemaker-schedulerd", "pacemaker-controld"} {
		if _, err := os.Stat(filepath.Join(realDaemonDir, d)); err != nil {
			testenv.Unavailable(t, "%s (Debian package pacemaker)", filepath.Join(realDaemonDir, d))
		}
	}
	testenv.RequireBinary(t, "crm_resource")
	st := startStacksDirs(t, 1, realDaemonDir)
	s := st[0]
	var out string
	// The controller waits dc-deadtime (20 s) before electing itself.
	testcluster.Eventually(t, 90*time.Second, 500*time.Millisecond, func() (bool, string) {
		if s.pacemakerd.Exited() {
			t.Fatalf("pacemakerd exited:\n%s", s.pacemakerd.Output())
		}
		out, _ = execIn(s.n, "crm_mon", "-1")
		return strings.Contains(out, "* Current DC: node01 (version 2.1.5-") && strings.Contains(out, "* Online: [ node01 ]"), out
	})
	for _, argv := range [][]string{
		{"crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false"},
		{"cibadmin", "--create", "-o", "resources", "-X", `<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>`},
	} {
		if o, rc := execIn(s.n, argv...); rc != 0 {
			t.Fatalf("%v: rc %d\n%s", argv, rc, o)
		}
	}
	testcluster.Eventually(t, 60*time.Second, 500*time.Millisecond, func() (bool, string) {
		out, _ = execIn(s.n, "crm_mon", "-1")
		return strings.Contains(out, "* d1\t(ocf:pacemaker:Dummy):\t Started node01"), out
	})
	for _, want := range []string{"* Stack: corosync", "partition with quorum", "* 1 node configured", "* 1 resource instance configured"} {
		if !strings.Contains(out, want) {
			t.Errorf("crm_mon -1 lacks %q:\n%s", want, out)
		}
	}
	if o, _ := execIn(s.n, "crm_resource", "--locate", "-r", "d1"); !strings.Contains(o, "resource d1 is running on: node01") {
		t.Errorf("crm_resource --locate: %s", o)
	}
	t.Logf("crm_mon -1:\n%s", out)
}

// TestTwoNodesWithRealPacemakerDaemons: the same mix on two nodes. The
// real controllers elect one DC, which joins the other node (its CIB sync
// travels as our CIB manager's full replace over CPG); a resource created
// on node02 is started by the cluster, and both CIBs stay identical.
func TestTwoNodesWithRealPacemakerDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespaces and daemons: not in -short")
	}
	// Most of the run is the controllers' dc-deadtime wait.
	t.Parallel()
	for _, d := range []string{"pacemaker-execd", "pacemaker-attrd", "pacemaker-schedulerd", "pacemaker-controld"} {
		if _, err := os.Stat(filepath.Join(realDaemonDir, d)); err != nil {
			testenv.Unavailable(t, "%s (Debian package pacemaker)", filepath.Join(realDaemonDir, d))
		}
	}
	st := startStacksDirs(t, 2, realDaemonDir)
	var out string
	testcluster.Eventually(t, 120*time.Second, 500*time.Millisecond, func() (bool, string) {
		for _, s := range st {
			if s.pacemakerd.Exited() {
				t.Fatalf("pacemakerd exited:\n%s", s.pacemakerd.Output())
			}
		}
		out, _ = execIn(st[1].n, "crm_mon", "-1")
		return strings.Contains(out, "* Current DC: node0") && strings.Contains(out, "* Online: [ node01 node02 ]"), out
	})
	for _, argv := range [][]string{
		{"crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false"},
		{"cibadmin", "--create", "-o", "resources", "-X", `<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>`},
	} {
		if o, rc := execIn(st[1].n, argv...); rc != 0 {
			t.Fatalf("%v: rc %d\n%s", argv, rc, o)
		}
	}
	testcluster.Eventually(t, 60*time.Second, 500*time.Millisecond, func() (bool, string) {
		out, _ = execIn(st[0].n, "crm_mon", "-1")
		return strings.Contains(out, "* d1\t(ocf:pacemaker:Dummy):\t Started node0"), out
	})
	var q [2]string
	testcluster.Eventually(t, 30*time.Second, 500*time.Millisecond, func() (bool, string) {
		for i, s := range st {
			o, _ := execIn(s.n, "cibadmin", "-Q")
			q[i] = lastWritten.ReplaceAllString(o, "")
		}
		return q[0] == q[1], fmt.Sprintf("node01:\n%s\nnode02:\n%s", q[0], q[1])
	})
	t.Logf("crm_mon -1 on node01:\n%s", out)

	// node02's CIB manager dies (kill -9) and misses a change; once it
	// is back (respawned, CIB from disk), the cluster brings it up to date.
	log, _ := st[1].n.ReadFile("/var/log/pacemaker/pacemaker.log")
	m := regexp.MustCompile(`Forked child (\d+) for process pacemaker-based`).FindStringSubmatch(string(log))
	if m == nil {
		t.Fatalf("no fork of pacemaker-based on node02:\n%s", log)
	}
	pid, _ := strconv.Atoi(m[1])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if o, rc := execIn(st[0].n, "cibadmin", "--modify", "-X", `<primitive id="d1" description="while node02's CIB was down"/>`); rc != 0 {
		t.Fatalf("cibadmin --modify: rc %d\n%s", rc, o)
	}
	testcluster.Eventually(t, 90*time.Second, 500*time.Millisecond, func() (bool, string) {
		for i, s := range st {
			o, _ := execIn(s.n, "cibadmin", "-Q", "-o", "configuration")
			q[i] = lastWritten.ReplaceAllString(o, "")
		}
		return q[0] == q[1] && strings.Contains(q[1], "while node02"), fmt.Sprintf("node01:\n%s\nnode02:\n%s", q[0], q[1])
	})
	if os.Getenv("RM_DEBUG") != "" {
		t.Logf("node01:\n%s\nnode02:\n%s", st[0].pacemakerd.Output(), st[1].pacemakerd.Output())
	}
}
