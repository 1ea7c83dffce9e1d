package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ringmaster/cib"
	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

// ourTools are our builds of Pacemaker's command-line tools, bind-mounted
// over Debian's in the ours-live world. Only tools with a cmd/ of ours are
// listed; the others (crm_diff, crm_verify, stonith_admin, ...) stay Debian's.
var ourTools = []string{"cibadmin", "crm_resource", "crm_attribute", "crm_mon", "crm_node",
	"crm_rule", "crm_simulate", "crm_standby", "crm_failcount", "crm_master"}

// soloConf is a corosync.conf for one node that forms its own one-member ring
// (udpu to itself only, so two such nodes on the test bridge never meet).
// Every world's node is called node01, so that the same command lines (pcs
// constraint location d1 prefers node01) mean the same in each.
func soloConf(n *testcluster.Node) string {
	return fmt.Sprintf(`totem {
	version: 2
	cluster_name: rme2e%d
	transport: udpu
	token: 1000
}
quorum {
	provider: corosync_votequorum
}
logging {
	to_stderr: yes
	to_syslog: no
}
nodelist {
	node {
		ring0_addr: %s
		name: %s
		nodeid: 1
	}
}
`, n.ID(), n.Addr(), "node01")
}

// world is one place a command sequence runs.
type world struct {
	name string
	// run executes argv (argv[0] is "pcs" or "crm") and returns its output
	// (stdout then stderr) and exit code.
	run func(ctx context.Context, argv []string) (string, int)
	// query returns cibadmin -Q of this world, with Debian's cibadmin.
	query func(ctx context.Context) (string, error)
}

// startOurStack runs our corosync and our pacemakerd (with our
// pacemaker-based and pacemaker-fenced) on n and waits until the CIB manager
// answers and crm_mon sees pacemakerd running.
func startOurStack(t *testing.T, ctx context.Context, n *testcluster.Node, daemons string) {
	t.Helper()
	if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(soloConf(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	coro, err := n.Start("corosync", testenv.GoBinary(t, "corosync"), "-f")
	if err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 30*time.Second, 100*time.Millisecond, func() (bool, string) {
		if coro.Exited() {
			t.Fatalf("corosync exited:\n%s", coro.Output())
		}
		o, _, _ := n.Exec(ctx, "corosync-cmapctl", "-g", "runtime.votequorum.this_node_id")
		return strings.Contains(o, "="), o
	})
	pcmkd, err := n.Start("pacemakerd", testenv.GoBinary(t, "pacemakerd"), "-f", "--daemon-dir", daemons)
	if err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 60*time.Second, 250*time.Millisecond, func() (bool, string) {
		if pcmkd.Exited() {
			t.Fatalf("pacemakerd exited:\n%s", pcmkd.Output())
		}
		o, rc, _ := n.Exec(ctx, "/usr/sbin/crm_mon", "-1")
		return rc == 0 && strings.Contains(o, "Pacemaker is running"), o
	})
}

// daemonDir holds only the subdaemons our pacemakerd is to start.
func daemonDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"pacemaker-based", "pacemaker-fenced"} {
		if err := os.Symlink(testenv.GoBinary(t, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// bindOurTools mounts our tools over /usr/sbin/<tool> in n's mount
// namespace (private to the node, so the host keeps Debian's).
func bindOurTools(t *testing.T, ctx context.Context, n *testcluster.Node) {
	t.Helper()
	for _, tool := range ourTools {
		if _, err := os.Stat("/usr/sbin/" + tool); err != nil {
			continue
		}
		if o, rc, err := n.Exec(ctx, "mount", "--bind", testenv.GoBinary(t, tool), "/usr/sbin/"+tool); rc != 0 || err != nil {
			t.Fatalf("bind %s: rc %d %v %s", tool, rc, err, o)
		}
	}
}

func liveWorld(name string, n *testcluster.Node) world {
	return world{
		name: name,
		run: func(ctx context.Context, argv []string) (string, int) {
			cmd := n.Command(ctx, argv...)
			cmd.Env = cleanEnv()
			return runCmd(cmd)
		},
		query: func(ctx context.Context) (string, error) {
			// Whatever is mounted on /usr/sbin/cibadmin in the node; the
			// pacemaker-based tests show both cibadmins print the same.
			cmd := n.Command(ctx, "/usr/sbin/cibadmin", "-Q")
			cmd.Env = cleanEnv()
			return queryCmd(cmd)
		},
	}
}

// fileWorld runs the front-end on a CIB file: on the host with Debian's
// tools (the oracle) when n is nil, else inside n, whose /usr/sbin holds our
// tools. The file is read back with Debian's cibadmin on the host.
func fileWorld(name, file string, n *testcluster.Node) world {
	env := append(cleanEnv(), "CIB_file="+file)
	return world{
		name: name,
		run: func(ctx context.Context, argv []string) (string, int) {
			if argv[0] == "pcs" {
				argv = append([]string{"pcs", "-f", file}, argv[1:]...)
			}
			var cmd *exec.Cmd
			if n != nil {
				cmd = n.Command(ctx, argv...)
			} else {
				cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
			}
			cmd.Env = env
			return runCmd(cmd)
		},
		query: func(ctx context.Context) (string, error) {
			cmd := exec.CommandContext(ctx, "/usr/sbin/cibadmin", "-Q")
			cmd.Env = env
			return queryCmd(cmd)
		},
	}
}

// cleanEnv is the environment without CIB_* variables, with a fixed
// terminal-less locale so front-ends print no colours.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CIB_") || strings.HasPrefix(kv, "TERM=") || strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LC_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "TERM=dumb", "LANG=C.UTF-8")
}

func runCmd(cmd *exec.Cmd) (string, int) {
	var b strings.Builder
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return b.String(), ee.ExitCode()
	}
	if err != nil {
		return b.String() + err.Error(), -1
	}
	return b.String(), 0
}

func queryCmd(cmd *exec.Cmd) (string, error) {
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("cibadmin -Q: %v: %s", err, e.String())
	}
	return o.String(), nil
}

// volatileAttrs are stamped by the CIB manager (or by the tool's host) and
// never by file mode, or differ by when a step ran.
var volatileAttrs = regexp.MustCompile(` (cib-last-written|update-origin|update-client|update-user|have-quorum|dc-uuid|execution-date)="[^"]*"`)

// configOf returns the normalised <configuration> section and the
// admin_epoch.epoch of a cibadmin -Q output.
func configOf(q string) (string, string, error) {
	root, err := cib.ParseXMLString(q)
	if err != nil {
		return "", "", err
	}
	conf := cib.FirstChild(root, "configuration")
	if conf == nil {
		return "", "", fmt.Errorf("no configuration in %q", q)
	}
	ver := cib.AttrOr(root, "admin_epoch", "?") + "." + cib.AttrOr(root, "epoch", "?")
	return volatileAttrs.ReplaceAllString(cib.Serialize(conf, true), ""), ver, nil
}
