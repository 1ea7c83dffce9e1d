// Command demo runs a Ringmaster cluster on this machine: N nodes in network
// namespaces (internal/testcluster), our corosync on each, and shows what an admin
// would look at from inside a node. `make demo` runs it; --hold keeps the cluster up
// until Ctrl-C so you can look around with `ip netns exec <ns> ...`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
	stack := pflag.String("stack", "ringmaster", "whose daemons to run: ringmaster or debian")
	hold := pflag.Bool("hold", false, "keep the cluster running until Ctrl-C")
	pflag.Parse()

	bin, err := binDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	corosync, cmapctl := filepath.Join(bin, "corosync"), filepath.Join(bin, "corosync-cmapctl")
	if *stack == "debian" {
		corosync, cmapctl = "/usr/sbin/corosync", "/usr/sbin/corosync-cmapctl"
	}

	t := &demoT{}
	defer t.cleanup()
	fmt.Printf("== %d nodes in network namespaces, %s corosync\n", *nodes, *stack)
	c := testcluster.New(t, testcluster.Options{Nodes: *nodes})
	conf := corosyncConf(*nodes)
	for _, n := range c.Nodes() {
		if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(conf), 0o644); err != nil {
			t.Fatalf("%v", err)
		}
		if _, err := n.Start("corosync", corosync, "-f"); err != nil {
			t.Fatalf("%v", err)
		}
		fmt.Printf("   node %d: %-8s %-12s netns %s\n", n.ID(), n.Hostname(), n.Addr(), n.NetNS())
	}
	fmt.Printf("\n== /etc/corosync/corosync.conf (every node)\n%s\n", conf)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n1 := c.Node(1)
	testcluster.Eventually(t, 30*time.Second, 300*time.Millisecond, func() (bool, string) {
		out, rc, err := n1.Exec(ctx, cmapctl, "-g", "totem.cluster_name")
		return err == nil && rc == 0, out
	})
	show(ctx, n1, cmapctl, "totem.")
	show(ctx, n1, cmapctl, "nodelist.")
	show(ctx, n1, cmapctl, "runtime.config.totem.")
	show(ctx, n1, cmapctl, "-g", "totem.cluster_name")
	show(ctx, n1, "/usr/sbin/corosync-cmapctl", "-g", "runtime.config.totem.token")

	if *hold {
		fmt.Println("cluster is up; Ctrl-C tears it down")
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
	}
	fmt.Println("== tearing down")
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
