package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"ringmaster/cib"
	"ringmaster/internal/pcmkipc"
	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/ipc"
)

// volatile strips what only the CIB manager stamps (file mode never does).
var volatile = regexp.MustCompile(` (cib-last-written|update-origin|update-client|update-user)="[^"]*"`)

type toolStep struct {
	argv []string
}

// steps run with the real tools, once against our CIB manager in a node and
// once against a CIB_file copy with the same tools, which gives the expected
// output (the CIB operations are the same code in Pacemaker either way).
var steps = [][]string{
	{"cibadmin", "-Q"},
	{"cibadmin", "--create", "-o", "resources", "-X", `<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>`},
	{"cibadmin", "--create", "-o", "resources", "-X", `<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>`},
	{"crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false"},
	{"crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-G"},
	{"crm_attribute", "-t", "crm_config", "-n", "no-quorum-policy", "-v", "ignore"},
	{"crm_attribute", "-t", "crm_config", "-n", "no-quorum-policy", "-D"},
	{"crm_attribute", "-t", "crm_config", "-n", "no-quorum-policy", "-G"},
	{"cibadmin", "--modify", "-X", `<primitive id="d1" description="first"/>`},
	{"cibadmin", "--modify", "-X", `<primitive id="nope" description="x"/>`},
	{"cibadmin", "--create", "-o", "nodes", "-X", `<node id="1" uname="node01"/>`},
	{"cibadmin", "--create", "-o", "status", "-X", `<node_state id="1" uname="node01" in_ccm="true"/>`},
	{"cibadmin", "--modify", "-o", "status", "-X", `<node_state id="1" crmd="online"/>`},
	{"cibadmin", "--replace", "-o", "constraints", "-X", `<constraints><rsc_location id="l1" rsc="d1" node="node01" score="100"/></constraints>`},
	{"cibadmin", "-Q", "--xpath", "//rsc_location", "-e"},
	{"cibadmin", "-Q", "--scope", "nodes"},
	{"crm_resource", "--list"},
	{"crm_resource", "--ban", "-r", "d1", "-N", "node01"},
	{"cibadmin", "-Q", "-o", "constraints"},
	{"crm_resource", "--clear", "-r", "d1"},
	{"crm_resource", "-r", "d1", "--meta", "-p", "target-role", "-v", "Stopped"},
	{"crm_resource", "-r", "d1", "--set-parameter", "fake", "-v", "1"},
	{"crm_resource", "-r", "d1", "--get-parameter", "fake"},
	{"crm_attribute", "-N", "node01", "-n", "standby", "-v", "on", "-l", "forever"},
	{"crm_attribute", "-N", "node01", "-n", "standby", "-G", "-l", "forever"},
	{"crm_verify", "-L"},
	{"crm_simulate", "-L", "-S"},
	{"cibadmin", "--delete", "-X", `<rsc_location id="l1"/>`},
	{"cibadmin", "--delete-all", "--xpath", "//nvpair", "--force"},
	{"cibadmin", "--create", "-o", "resources", "-X", `<primitive id="bad"/>`},
	{"cibadmin", "-B"},
	{"cibadmin", "-Q"},
}

func TestRealToolsAgainstOurCIBManager(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons in network namespaces")
	}
	t.Parallel()
	testenv.RequireRoot(t)
	for _, b := range []string{"cibadmin", "crm_attribute", "crm_resource", "crm_verify", "crm_simulate"} {
		testenv.RequireBinary(t, b)
	}
	bin := testenv.GoBinary(t, "pacemaker-based")
	c := testcluster.New(t, testcluster.Options{Nodes: 1})
	n := c.Node(1)
	p, err := n.Start("pacemaker-based", bin, "--node-name", n.Hostname())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	waitReady(t, ctx, n, p)

	// The oracle: the same tools on a CIB_file holding the same start.
	dir := t.TempDir()
	file := filepath.Join(dir, "cib.xml")
	initial, _, _, _ := n.ExecSplit(ctx, "cibadmin", "-Q")
	os.WriteFile(file, []byte(initial), 0o644)

	for _, argv := range steps {
		out, errOut, rc, err := n.ExecSplit(ctx, argv...)
		if err != nil {
			t.Fatalf("%v: %v\ndaemon log:\n%s", argv, err, p.Output())
		}
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "CIB_file="+file)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		wantRC := 0
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				wantRC = ee.ExitCode()
			} else {
				t.Fatal(err)
			}
		}
		wantOut, wantErr := volatile.ReplaceAllString(o.String(), ""), e.String()
		// Through the manager the reply comes to cibadmin_op_callback,
		// which names the operation.
		if rest, ok := strings.CutPrefix(wantErr, "Call failed: "); ok && argv[0] == "cibadmin" {
			op := map[string]string{"--create": "cib_create", "--modify": "cib_modify", "--delete": "cib_delete", "--replace": "cib_replace"}[argv[1]]
			wantErr = "Call " + op + " failed: " + rest
		}
		out = volatile.ReplaceAllString(out, "")
		if strings.Contains(strings.Join(argv, " "), `id="bad"`) {
			// Against the manager a validation failure comes back with
			// the refused CIB; file mode prints it numbered on stderr.
			if rc != 78 || errOut != "Call cib_create failed: Update does not conform to the configured schema\n" || !strings.Contains(out, `<primitive id="bad"/>`) {
				t.Errorf("%v: rc %d stderr %q", argv, rc, errOut)
			}
			continue
		}
		if rc != wantRC || out != wantOut || errOut != wantErr {
			t.Errorf("%v:\n got rc=%d stdout:\n%s\nstderr: %q\nwant rc=%d stdout:\n%s\nstderr: %q",
				argv, rc, out, errOut, wantRC, wantOut, wantErr)
		}
	}

	// Restart: the configuration comes back from disk, the status does not.
	before, _, _, _ := n.ExecSplit(ctx, "cibadmin", "-Q", "-o", "configuration")
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(20 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := cib.ReadAndVerify(n.HostPath("/var/lib/pacemaker/cib/cib.xml"), ""); err != nil {
		t.Fatalf("on-disk CIB: %v", err)
	}
	p, err = n.Start("pacemaker-based", bin, "--node-name", n.Hostname())
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx, n, p)
	after, _, _, _ := n.ExecSplit(ctx, "cibadmin", "-Q", "-o", "configuration")
	if volatile.ReplaceAllString(after, "") != volatile.ReplaceAllString(before, "") {
		t.Errorf("configuration after restart:\n%s\nbefore:\n%s", after, before)
	}
	if st, _, _, _ := n.ExecSplit(ctx, "cibadmin", "-Q", "-o", "status"); strings.TrimSpace(st) != "<status/>" {
		t.Errorf("status after restart: %q", st)
	}
}

func waitReady(t *testing.T, ctx context.Context, n *testcluster.Node, p *testcluster.Proc) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if _, _, rc, _ := n.ExecSplit(ctx, "cibadmin", "-Q", "-o", "nodes"); rc == 0 {
			return
		}
		if p.Exited() {
			t.Fatalf("pacemaker-based exited:\n%s", p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("pacemaker-based not answering:\n%s", p.Output())
}

// TestDiffNotifications subscribes a client to cib_diff_notify, changes the
// CIB with the real cibadmin, and applies the notified patchsets to its own
// copy, which must then equal the manager's CIB.
func TestDiffNotifications(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons in network namespaces")
	}
	t.Parallel()
	testenv.RequireRoot(t)
	testenv.RequireBinary(t, "cibadmin")
	bin := testenv.GoBinary(t, "pacemaker-based")
	c := testcluster.New(t, testcluster.Options{Nodes: 1})
	n := c.Node(1)
	p, err := n.Start("pacemaker-based", bin, "--node-name", n.Hostname())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	waitReady(t, ctx, n, p)

	var cl *ipc.Client
	if err := n.Do(func() (err error) {
		cl, err = ipc.Dial("cib_rw", ipc.ClientOptions{ShmDir: fmt.Sprintf("/proc/%d/root/dev/shm", p.Pid())})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	reqID := int32(0)
	call := func(xml string, flags uint32) string {
		reqID++
		m, _ := pcmkipc.Encode(reqID, flags, []byte(xml), 0)
		if flags&pcmkipc.FlagClientResponse == 0 {
			if err := cl.Send(m); err != nil {
				t.Fatal(err)
			}
			return ""
		}
		r, err := cl.Request(m, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, body, err := pcmkipc.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	reg, _ := cib.ParseXMLString(call(`<cib_command t="cib" cib_op="register" cib_clientname="gotest" cib_callopt="4096"/>`, pcmkipc.FlagClientResponse))
	id := cib.AttrOr(reg, "cib_clientid", "")
	if id == "" {
		t.Fatalf("register reply %s", cib.Serialize(reg, false))
	}
	call(`<cib_command t="cib" cib_op="cib_notify" cib_notify_type="cib_diff_notify" cib_notify_activate="1"/>`, pcmkipc.FlagClientResponse)
	q, _ := cib.ParseXMLString(call(fmt.Sprintf(`<cib_command t="cib" cib_async_id="%s" cib_op="cib_query" cib_callid="2" cib_callopt="4096"/>`, id), pcmkipc.FlagClientResponse))
	if cib.AttrOr(q, "cib_rc", "") != "0" {
		t.Fatalf("query: %s", cib.Serialize(q, false))
	}
	mine := cib.FirstChild(cib.FirstChild(q, "cib_calldata"), "cib").Copy()
	call(fmt.Sprintf(`<cib_command t="cib" cib_async_id="%s" cib_op="cib_query" cib_section="nodes" cib_callid="3" cib_callopt="0"/>`, id), 0)
	if ev, err := cl.RecvEvent(10 * time.Second); err != nil {
		t.Fatalf("async query reply: %v", err)
	} else if _, body, _ := pcmkipc.Decode(ev); !strings.Contains(string(body), `cib_callid="3"`) {
		t.Fatalf("async query reply: %s", body)
	}

	changes := [][]string{
		{"cibadmin", "--create", "-o", "resources", "-X", `<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>`},
		{"cibadmin", "--modify", "-X", `<primitive id="d1" description="x"/>`},
		{"cibadmin", "--create", "-o", "status", "-X", `<node_state id="1" uname="node01"/>`},
		{"cibadmin", "--delete", "-X", `<primitive id="d1"/>`},
	}
	for _, argv := range changes {
		if out, rc, err := n.Exec(ctx, argv...); err != nil || rc != 0 {
			t.Fatalf("%v: rc %d %v %s", argv, rc, err, out)
		}
		ev, err := cl.RecvEvent(10 * time.Second)
		if err != nil {
			t.Fatalf("%v: no notification: %v", argv, err)
		}
		_, body, err := pcmkipc.Decode(ev)
		if err != nil {
			t.Fatal(err)
		}
		note, err := cib.ParseXML(body)
		if err != nil || note.Tag != "notify" || cib.AttrOr(note, "subt", "") != "cib_diff_notify" {
			t.Fatalf("%v: event %s", argv, body)
		}
		diff := cib.FirstChild(cib.FirstChild(note, "cib_update_result"), "diff")
		if rc := cib.ApplyPatchset(mine, diff, true); rc != cib.OK {
			t.Fatalf("%v: applying notified diff: %v\n%s", argv, rc, body)
		}
	}
	full, _, _, _ := n.ExecSplit(ctx, "cibadmin", "-Q")
	want, _ := cib.ParseXMLString(full)
	if volatile.ReplaceAllString(cib.Serialize(mine, true), "") != volatile.ReplaceAllString(cib.Serialize(want, true), "") {
		t.Errorf("CIB rebuilt from notifications:\n%s\nmanager's:\n%s", cib.Serialize(mine, true), full)
	}
}

// TestLargeCIBCompressed uses Pacemaker's default 128 KiB IPC buffer so
// that a large CIB travels bzip2-compressed both ways: cibadmin compresses
// the replace request, we compress the query reply.
func TestLargeCIBCompressed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons in network namespaces")
	}
	t.Parallel()
	testenv.RequireRoot(t)
	testenv.RequireBinary(t, "cibadmin")
	bin := testenv.GoBinary(t, "pacemaker-based")
	c := testcluster.New(t, testcluster.Options{Nodes: 1})
	n := c.Node(1)
	p, err := n.Start("pacemaker-based", bin, "--node-name", n.Hostname(), "--ipc-buffer", "131072")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	waitReady(t, ctx, n, p)
	var sb strings.Builder
	sb.WriteString("<resources>")
	for i := 0; i < 1500; i++ {
		fmt.Fprintf(&sb, `<primitive id="r%d" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="r%d-m"><nvpair id="r%d-t" name="target-role" value="Stopped"/></meta_attributes></primitive>`, i, i, i)
	}
	sb.WriteString("</resources>")
	if err := n.WriteFile("/tmp/resources.xml", []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, rc, err := n.Exec(ctx, "cibadmin", "--replace", "-o", "resources", "-x", "/tmp/resources.xml"); err != nil || rc != 0 {
		t.Fatalf("replace: rc %d %v %s\n%s", rc, err, out, p.Output())
	}
	out, errOut, rc, err := n.ExecSplit(ctx, "cibadmin", "-Q")
	if err != nil || rc != 0 {
		t.Fatalf("query: rc %d %v %s", rc, err, errOut)
	}
	if len(out) < 200000 || !strings.Contains(out, `<primitive id="r1499"`) {
		t.Fatalf("query returned %d bytes", len(out))
	}
}

// TestOurCibadminLive runs the steps on two nodes, each with our CIB
// manager: the real cibadmin on node 1 and ours on node 2 (the other tools
// are the real ones on both), and requires the same output, exit code and
// resulting CIB.
func TestOurCibadminLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons in network namespaces")
	}
	t.Parallel()
	testenv.RequireRoot(t)
	for _, b := range []string{"cibadmin", "crm_attribute", "crm_resource"} {
		testenv.RequireBinary(t, b)
	}
	bin := testenv.GoBinary(t, "pacemaker-based")
	ours := testenv.GoBinary(t, "cibadmin")
	c := testcluster.New(t, testcluster.Options{Nodes: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, n := range c.Nodes() {
		p, err := n.Start("pacemaker-based", bin, "--node-name", "node01")
		if err != nil {
			t.Fatal(err)
		}
		waitReady(t, ctx, n, p)
	}
	n1, n2 := c.Node(1), c.Node(2)
	for _, argv := range steps {
		o1, e1, rc1, err1 := n1.ExecSplit(ctx, argv...)
		argv2 := argv
		if argv[0] == "cibadmin" {
			argv2 = append([]string{ours}, argv[1:]...)
		}
		o2, e2, rc2, err2 := n2.ExecSplit(ctx, argv2...)
		if err1 != nil || err2 != nil {
			t.Fatalf("%v: %v / %v", argv, err1, err2)
		}
		o1, o2 = volatile.ReplaceAllString(o1, ""), volatile.ReplaceAllString(o2, "")
		if o1 != o2 || e1 != e2 || rc1 != rc2 {
			t.Errorf("%v:\nours rc=%d stderr=%q stdout:\n%s\nPacemaker's rc=%d stderr=%q stdout:\n%s", argv, rc2, e2, o2, rc1, e1, o1)
		}
	}
	q1, _, _, _ := n1.ExecSplit(ctx, "cibadmin", "-Q")
	q2, _, _, _ := n2.ExecSplit(ctx, ours, "-Q")
	if volatile.ReplaceAllString(q1, "") != volatile.ReplaceAllString(q2, "") {
		t.Errorf("final CIBs differ:\n%s\n%s", q1, q2)
	}
}
