// Command demo runs a Ringmaster cluster on this machine: N nodes in network
// namespaces (internal/testcluster), our corosync ring on each, our pacemakerd with
// our CIB manager, fencer and executor (Debian's controller, scheduler and attribute
// manager fill in the daemons not written yet), a floating IP and a clone, crm_mon,
// and a failover when the VIP's node dies. `make demo` runs it; --hold keeps the
// cluster up until Ctrl-C so you can look around with `ip netns exec <ns> ...`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ringmaster/internal/testcluster"
)

// demoT lets a program use testcluster: failures print and exit after cleanup.
type demoT struct {
	cleanups []func()
	failed   bool
}

func (d *demoT) Helper()                         {}
func (d *demoT) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (d *demoT) Fatalf(format string, args ...any) {
	d.failed = true
	fmt.Fprintf(os.Stderr, "demo: "+format+"\n", args...)
	d.cleanup()
	os.Exit(1)
}
func (d *demoT) Cleanup(f func()) { d.cleanups = append(d.cleanups, f) }
func (d *demoT) Failed() bool     { return d.failed }
func (d *demoT) cleanup() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
	d.cleanups = nil
}

func main() {
	nodes := pflag.IntP("nodes", "n", 3, "number of nodes")
	stack := pflag.String("stack", "ringmaster", "whose corosync and core Pacemaker daemons to run: ringmaster or debian")
	hold := pflag.Bool("hold", false, "keep the cluster running until Ctrl-C")
	pflag.Parse()

	bin, err := binDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	corosync, cmapctl, pacemakerd := filepath.Join(bin, "corosync"), filepath.Join(bin, "corosync-cmapctl"), filepath.Join(bin, "pacemakerd")
	if *stack == "debian" {
		corosync, cmapctl, pacemakerd = "/usr/sbin/corosync", "/usr/sbin/corosync-cmapctl", "/usr/sbin/pacemakerd"
	}

	t := &demoT{}
	defer t.cleanup()
	// Ctrl-C (or a closed pipe) at any point still tears the cluster down.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	if !*hold {
		go func() {
			<-sig
			t.cleanup()
			os.Exit(130)
		}()
	}
	fmt.Printf("== %d nodes in network namespaces, %s corosync and Pacemaker core\n", *nodes, *stack)
	c := testcluster.New(t, testcluster.Options{Nodes: *nodes})
	conf := corosyncConf(*nodes)
	procs := map[int][]*testcluster.Proc{}
	for _, n := range c.Nodes() {
		if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(conf), 0o644); err != nil {
			t.Fatalf("%v", err)
		}
		p, err := n.Start("corosync", corosync, "-f")
		if err != nil {
			t.Fatalf("%v", err)
		}
		procs[n.ID()] = append(procs[n.ID()], p)
		fmt.Printf("   node %d: %-8s %-12s netns %s\n", n.ID(), n.Hostname(), n.Addr(), n.NetNS())
	}
	fmt.Printf("\n== /etc/corosync/corosync.conf (every node)\n%s\n", conf)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n1 := c.Node(1)
	testcluster.Eventually(t, 60*time.Second, 300*time.Millisecond, func() (bool, string) {
		out, _, err := n1.Exec(ctx, cmapctl, "-b", "runtime.members")
		return err == nil && strings.Count(out, "status (str) = joined") == *nodes, out
	})
	fmt.Println("== the totem ring has formed")
	show(ctx, n1, cmapctl, "runtime.members.")
	show(ctx, n1, "/usr/sbin/corosync-quorumtool", "-s")

	// Pacemaker: pacemakerd starts the CIB manager, the fencer and the executor
	// from our bin/ (with --stack=ringmaster) and the subdaemons not written
	// yet (controller, scheduler daemon, attribute manager) from Debian.
	daemons := filepath.Join(c.Dir(), "daemons")
	if err := os.MkdirAll(daemons, 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	for _, name := range []string{"pacemaker-based", "pacemaker-fenced", "pacemaker-execd"} {
		if err := os.Symlink(filepath.Join(bin, name), filepath.Join(daemons, name)); err != nil {
			t.Fatalf("%v", err)
		}
	}
	for _, n := range c.Nodes() {
		argv := []string{pacemakerd, "-f", "--daemon-dir", daemons, "--daemon-dir", "/usr/lib/pacemaker"}
		if *stack == "debian" {
			argv = []string{pacemakerd, "-f"}
		}
		p, err := n.Start("pacemakerd", argv...)
		if err != nil {
			t.Fatalf("%v", err)
		}
		procs[n.ID()] = append(procs[n.ID()], p)
	}
	testcluster.Eventually(t, 120*time.Second, time.Second, func() (bool, string) {
		out, rc, _ := n1.Exec(ctx, "crm_mon", "-1")
		return rc == 0 && strings.Contains(out, "partition with quorum") &&
			strings.Contains(out, fmt.Sprintf("%d nodes configured", *nodes)) && strings.Contains(out, "Online: ["), out
	})
	fmt.Println("== Pacemaker is up; a DC is elected")
	show(ctx, n1, "crm_mon", "-1")

	// S1: no fencing device in this demo, a floating IP and a clone.
	run(ctx, n1, "crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "false")
	run(ctx, n1, "cibadmin", "--create", "--scope", "resources", "--xml-text",
		`<primitive id="stash_vip" class="ocf" provider="heartbeat" type="IPaddr2">`+
			`<instance_attributes id="stash_vip-ia"><nvpair id="stash_vip-ip" name="ip" value="192.0.2.100"/>`+
			`<nvpair id="stash_vip-mask" name="cidr_netmask" value="24"/></instance_attributes>`+
			`<operations><op id="stash_vip-mon" name="monitor" interval="6s"/></operations></primitive>`)
	run(ctx, n1, "cibadmin", "--create", "--scope", "resources", "--xml-text",
		`<clone id="web-clone"><primitive id="web" class="ocf" provider="heartbeat" type="Dummy">`+
			`<operations><op id="web-mon" name="monitor" interval="10s"/></operations></primitive></clone>`)
	vipNode := waitStarted(ctx, t, c, n1, *nodes)
	fmt.Printf("== stash_vip runs on %s\n", vipNode.Hostname())
	show(ctx, n1, "crm_mon", "-1")
	show(ctx, vipNode, "ip", "-4", "-br", "addr", "show", "dev", "eth0")

	// Failover: the node with the VIP loses power (everything killed).
	fmt.Printf("== kill -9 of every cluster daemon on %s\n", vipNode.Hostname())
	for _, p := range procs[vipNode.ID()] {
		p.Kill()
	}
	var other *testcluster.Node
	for _, n := range c.Nodes() {
		if n != vipNode {
			other = n
			break
		}
	}
	testcluster.Eventually(t, 120*time.Second, time.Second, func() (bool, string) {
		out, rc, _ := other.Exec(ctx, "crm_mon", "-1")
		return rc == 0 && strings.Contains(out, "OFFLINE: [ "+vipNode.Hostname()+" ]") &&
			regexp.MustCompile(`stash_vip\s.*Started node`).MatchString(out), out
	})
	fmt.Println("== after the failover")
	show(ctx, other, "crm_mon", "-1")

	if *hold {
		fmt.Println("cluster is up; Ctrl-C tears it down")
		<-sig
	}
	fmt.Println("== tearing down")
}

// run executes a command on a node and stops the demo if it fails.
func run(ctx context.Context, n *testcluster.Node, argv ...string) {
	out, rc, err := n.Exec(ctx, argv...)
	fmt.Printf("== %s: %s  (exit %d)\n%s", n.Hostname(), strings.Join(shortArgv(argv), " "), rc, out)
	if err != nil || rc != 0 {
		fmt.Fprintf(os.Stderr, "demo: %s failed\n", argv[0])
		os.Exit(1)
	}
}

// waitStarted waits until the VIP and every clone instance run, and returns the
// VIP's node.
func waitStarted(ctx context.Context, t *demoT, c *testcluster.Cluster, n1 *testcluster.Node, nodes int) *testcluster.Node {
	re := regexp.MustCompile(`stash_vip\s.*Started (node\d+)`)
	var where string
	testcluster.Eventually(t, 120*time.Second, time.Second, func() (bool, string) {
		out, rc, _ := n1.Exec(ctx, "crm_mon", "-1")
		m := re.FindStringSubmatch(out)
		if rc != 0 || m == nil || !strings.Contains(out, "Started: [") {
			return false, out
		}
		where = m[1]
		return true, ""
	})
	for _, n := range c.Nodes() {
		if n.Hostname() == where {
			return n
		}
	}
	t.Fatalf("stash_vip on unknown node %q", where)
	return nil
}

func show(ctx context.Context, n *testcluster.Node, argv ...string) {
	out, rc, err := n.Exec(ctx, argv...)
	fmt.Printf("== %s: %s  (exit %d)\n%s\n", n.Hostname(), strings.Join(shortArgv(argv), " "), rc, out)
	if err != nil {
		fmt.Println("   error:", err)
	}
}

func shortArgv(argv []string) []string {
	out := append([]string(nil), argv...)
	out[0] = filepath.Base(out[0])
	return out
}

func corosyncConf(nodes int) string {
	var b strings.Builder
	b.WriteString("totem {\n    version: 2\n    cluster_name: democluster\n    transport: udpu\n}\n\n")
	b.WriteString("quorum {\n    provider: corosync_votequorum\n}\n\n")
	b.WriteString("logging {\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n    to_syslog: no\n    timestamp: on\n}\n\n")
	b.WriteString("nodelist {\n")
	for i := 1; i <= nodes; i++ {
		fmt.Fprintf(&b, "    node {\n        ring0_addr: 192.0.2.%d\n        name: node%02d\n        nodeid: %d\n    }\n", i, i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

// binDir finds the repository's bin/ (built by `make build`).
func binDir() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("locating the module: %v", err)
	}
	return filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "bin"), nil
}
