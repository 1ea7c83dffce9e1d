// Package testcluster builds N-node clusters on one machine out of Linux network
// namespaces, for end-to-end and interoperability tests of our daemons and Debian's.
//
// Layout of a cluster (names carry the creating process's PID and a sequence number,
// so parallel test binaries never collide):
//
//	<prefix>-sw    a switch namespace holding bridge br0 (multicast snooping off)
//	<prefix>-nI    node I: veth eth0 on the bridge, 192.0.2.I/24, lo up, a route for
//	               224.0.0.0/4, hostname node0I (UTS namespace), and a private mount
//	               namespace with fresh tmpfs on /run, /dev/shm, /etc/corosync,
//	               /var/lib/corosync, /var/log/corosync, /var/lib/pacemaker,
//	               /var/log/pacemaker, plus /etc/hosts naming every node.
//
// A node's namespaces are held open by a small holder process; everything that runs
// "in" the node is started with nsenter into the holder's namespaces, so paths such
// as /etc/corosync/corosync.conf and abstract socket names are the node's own. This
// mirrors how the reference outputs in shared/conformance/corosync were made.
//
// Faults use nftables inside the node namespaces (the kernel has no netem here):
// random drop, partitions by peer address. Everything a cluster made is removed by
// Close, which New registers with the test's Cleanup.
package testcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// T is the part of testing.TB a cluster needs. *testing.T and *testing.B satisfy
// it; programs such as the demo provide their own.
type T interface {
	Helper()
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	Failed() bool
}

// Options configures a cluster.
type Options struct {
	// Nodes is the number of nodes (1..250).
	Nodes int
	// Prefix names the namespaces; the default is "rm<pid>-<seq>".
	Prefix string
	// ExtraAddrs adds secondary addresses per node (for a second corosync link),
	// e.g. {1: {"192.0.2.101/24"}}.
	ExtraAddrs map[int][]string
	// KeepLogs keeps the cluster's working directory (process logs) after Close.
	KeepLogs bool
}

// Cluster is a set of nodes on one bridge.
type Cluster struct {
	t      T
	prefix string
	dir    string
	nodes  []*Node
	keep   bool

	mu     sync.Mutex
	procs  []*Proc
	closed bool
}

// Node is one cluster node: its namespaces and what runs in them.
type Node struct {
	c      *Cluster
	id     int
	ns     string // network namespace name
	holder *exec.Cmd
}

var seq atomic.Int32

// Prerequisites lists the programs a cluster needs.
var Prerequisites = []string{"ip", "nsenter", "unshare", "mount", "nft"}

// New creates a cluster of opts.Nodes nodes and registers its teardown with t.Cleanup.
// It calls t.Fatalf if the machine cannot host one (not root, missing tools).
func New(t T, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes < 1 || opts.Nodes > 250 {
		t.Fatalf("testcluster: %d nodes (want 1..250)", opts.Nodes)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("testcluster: network namespaces need root")
	}
	for _, p := range Prerequisites {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("testcluster: %s not installed: %v", p, err)
		}
	}
	sweepStale()
	prefix := opts.Prefix
	if prefix == "" {
		prefix = fmt.Sprintf("rm%d-%d", os.Getpid(), seq.Add(1))
	}
	dir, err := os.MkdirTemp("", prefix+"-")
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	c := &Cluster{t: t, prefix: prefix, dir: dir, keep: opts.KeepLogs}
	t.Cleanup(c.Close)
	if err := c.build(opts); err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	return c
}

// staleNS matches the namespaces New names by default: rm<pid>-<seq>-sw|nI.
var staleNS = regexp.MustCompile(`^rm(\d+)-\d+-(sw|n\d+)$`)

// sweepStale removes namespaces left by clusters whose creating process died
// without tearing them down (a killed test binary or demo). Only names of our
// own pattern whose PID no longer exists are touched.
func sweepStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := staleNS.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		_ = exec.Command("ip", "netns", "del", f[0]).Run()
	}
}

func (c *Cluster) switchNS() string { return c.prefix + "-sw" }

func (c *Cluster) build(opts Options) error {
	if err := writeFile(filepath.Join(c.dir, "hosts"), c.hostsFile(opts.Nodes), 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(c.dir, "resolv.conf"), []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		return err
	}
	sw := c.switchNS()
	steps := [][]string{
		{"ip", "netns", "add", sw},
		{"ip", "-n", sw, "link", "set", "lo", "up"},
		{"ip", "-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"},
		{"ip", "-n", sw, "link", "set", "br0", "up"},
	}
	if err := run(steps...); err != nil {
		return err
	}
	for i := 1; i <= opts.Nodes; i++ {
		n := &Node{c: c, id: i, ns: fmt.Sprintf("%s-n%d", c.prefix, i)}
		c.nodes = append(c.nodes, n)
		port := fmt.Sprintf("p%d", i)
		steps := [][]string{
			{"ip", "netns", "add", n.ns},
			{"ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", n.ns},
			{"ip", "-n", sw, "link", "set", port, "master", "br0"},
			{"ip", "-n", sw, "link", "set", port, "up"},
			{"ip", "-n", n.ns, "link", "set", "lo", "up"},
			{"ip", "-n", n.ns, "addr", "add", n.Addr().String() + "/24", "dev", "eth0"},
		}
		for _, a := range opts.ExtraAddrs[i] {
			steps = append(steps, []string{"ip", "-n", n.ns, "addr", "add", a, "dev", "eth0"})
		}
		steps = append(steps,
			[]string{"ip", "-n", n.ns, "link", "set", "eth0", "up"},
			[]string{"ip", "-n", n.ns, "route", "add", "224.0.0.0/4", "dev", "eth0"},
		)
		if err := run(steps...); err != nil {
			return err
		}
		if err := n.startHolder(); err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
	}
	return nil
}

func (c *Cluster) hostsFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s\t%s\n", nodeAddr(i), hostname(i))
	}
	return b.Bytes()
}

// The holder's script: private mounts for every directory a corosync or Pacemaker
// daemon writes, then wait forever. It prints "ready" once the mounts are in place.
const holderScript = `set -e
mount --make-rprivate /
mount -t tmpfs -o mode=0755 rm-run /run
mkdir -p /run/lock /run/netns /run/user
ln -s /dev/shm /run/shm
mount -t tmpfs -o mode=1777 rm-shm /dev/shm
for d in /etc/corosync /var/lib/corosync /var/log/corosync /var/lib/pacemaker /var/log/pacemaker; do
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755 rm-tmp "$d"
done
mkdir -p /etc/corosync/uidgid.d /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores /var/log/cluster
if getent passwd hacluster >/dev/null; then
	chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker
	chmod 0750 /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox
fi
mount --bind "$1" /etc/hosts
mount --bind "$2" /etc/resolv.conf
hostname "$3"
echo ready
exec sleep 2147483647
`

func (n *Node) startHolder() error {
	cmd := exec.Command("ip", "netns", "exec", n.ns,
		"unshare", "--mount", "--uts", "--propagation", "private", "--",
		"/bin/sh", "-c", holderScript, "holder",
		filepath.Join(n.c.dir, "hosts"), filepath.Join(n.c.dir, "resolv.conf"), n.Hostname())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	n.holder = cmd
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("unexpected %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("holder: %v: %s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		return fmt.Errorf("holder did not come up: %s", stderr.String())
	}
	return nil
}

// Close stops every process the cluster started (by PID: SIGTERM, then SIGKILL
// after 10 s), then removes its namespaces and working directory. On a failed test
// it first logs the tail of every process's output.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	procs := append([]*Proc(nil), c.procs...)
	c.mu.Unlock()

	if c.t.Failed() {
		for _, p := range procs {
			c.t.Logf("--- %s on node %d (pid %d), last output:\n%s", p.name, p.node.id, p.Pid(), tail(p.Output(), 80))
		}
	}
	for _, p := range procs {
		p.stop(10 * time.Second)
	}
	for _, n := range c.nodes {
		if n.holder != nil && n.holder.Process != nil {
			_ = syscall.Kill(-n.holder.Process.Pid, syscall.SIGKILL)
			_ = n.holder.Wait()
		}
		_ = exec.Command("ip", "netns", "del", n.ns).Run()
	}
	_ = exec.Command("ip", "netns", "del", c.switchNS()).Run()
	if !c.keep {
		_ = os.RemoveAll(c.dir)
	}
}

// Node returns node i (1-based).
func (c *Cluster) Node(i int) *Node {
	if i < 1 || i > len(c.nodes) {
		c.t.Fatalf("testcluster: no node %d (cluster has %d)", i, len(c.nodes))
	}
	return c.nodes[i-1]
}

// Nodes returns every node in order.
func (c *Cluster) Nodes() []*Node { return append([]*Node(nil), c.nodes...) }

// Dir is the cluster's working directory on the host (process logs live here).
func (c *Cluster) Dir() string { return c.dir }

func nodeAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}) }
func hostname(i int) string     { return fmt.Sprintf("node%02d", i) }

// ID is the node's number (1-based).
func (n *Node) ID() int { return n.id }

// Addr is the node's address, 192.0.2.ID.
func (n *Node) Addr() netip.Addr { return nodeAddr(n.id) }

// Hostname is node0ID (node01, node02, ...), as /etc/hosts names it.
func (n *Node) Hostname() string { return hostname(n.id) }

// NetNS is the name of the node's network namespace (ip netns).
func (n *Node) NetNS() string { return n.ns }

// HostPath is the path under which the host sees the node's file path.
func (n *Node) HostPath(path string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", n.holderPid()), path)
}

// holderPid is the PID of the sleep process that holds the node's namespaces
// (the ip netns exec / unshare chain execs into it).
func (n *Node) holderPid() int { return n.holder.Process.Pid }

// WriteFile writes a file inside the node's private file system.
func (n *Node) WriteFile(path string, data []byte, mode os.FileMode) error {
	hp := n.HostPath(path)
	if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
		return err
	}
	return writeFile(hp, data, mode)
}

// ReadFile reads a file of the node's private file system.
func (n *Node) ReadFile(path string) ([]byte, error) { return os.ReadFile(n.HostPath(path)) }

// Command returns a command that runs argv inside the node's network, mount and
// UTS namespaces. The caller may set Env, Stdin, Stdout, Stderr before running it.
func (n *Node) Command(ctx context.Context, argv ...string) *exec.Cmd {
	args := append([]string{"-t", strconv.Itoa(n.holderPid()), "-m", "-n", "-u", "--"}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = os.Environ()
	return cmd
}

// Exec runs argv to completion inside the node and returns its stdout and stderr
// (in that order, concatenated) and exit code. err is set only when the program
// could not be run at all or was killed by ctx.
func (n *Node) Exec(ctx context.Context, argv ...string) (out string, rc int, err error) {
	stdout, stderr, rc, err := n.ExecSplit(ctx, argv...)
	return stdout + stderr, rc, err
}

// ExecSplit is Exec with stdout and stderr kept apart.
func (n *Node) ExecSplit(ctx context.Context, argv ...string) (stdout, stderr string, rc int, err error) {
	cmd := n.Command(ctx, argv...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return o.String(), e.String(), ee.ExitCode(), nil
	}
	if err != nil {
		return o.String(), e.String(), -1, err
	}
	return o.String(), e.String(), 0, nil
}

// Do runs f on a locked OS thread switched into the node's network namespace, so
// sockets f creates (abstract unix sockets, UDP) are the node's. Goroutines that f
// starts do not inherit the namespace, but sockets keep the namespace they were
// created in. Files are not affected: use HostPath for the node's files.
func (n *Node) Do(f func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join("/run/netns", n.ns))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", n.ns, err)
	}
	defer func() {
		// If the thread cannot go back, leave it locked: Go then ends the thread
		// with the goroutine instead of reusing it in the wrong namespace.
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return f()
}

// Proc is a long-running process started inside a node.
type Proc struct {
	name string
	node *Node
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// Start runs argv inside the node in the background, its stdout and stderr going to
// a log file in the cluster's directory. The process is stopped by Close if it is
// still running then.
func (n *Node) Start(name string, argv ...string) (*Proc, error) {
	return n.StartEnv(name, nil, argv...)
}

// StartEnv is Start with extra environment variables ("K=V").
func (n *Node) StartEnv(name string, env []string, argv ...string) (*Proc, error) {
	logPath := filepath.Join(n.c.dir, fmt.Sprintf("n%d-%s-%d.log", n.id, name, seq.Add(1)))
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"-t", strconv.Itoa(n.holderPid()), "-m", "-n", "-u", "--"}, argv...)
	cmd := exec.Command("nsenter", args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s on node %d: %w", name, n.id, err)
	}
	p := &Proc{name: name, node: n, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	n.c.mu.Lock()
	n.c.procs = append(n.c.procs, p)
	n.c.mu.Unlock()
	return p, nil
}

// Pid is the process's PID (nsenter execs the program, so it is the program's own).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return syscall.Kill(p.Pid(), sig) }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to end and returns how it ended.
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s on node %d (pid %d) still running after %v", p.name, p.node.id, p.Pid(), timeout)
	}
}

// ExitCode is the exit status once the process has ended (-1 if killed by a signal
// or still running).
func (p *Proc) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Output returns everything the process has written so far.
func (p *Proc) Output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Stop sends SIGTERM and waits up to timeout, then SIGKILLs the process group.
func (p *Proc) Stop(timeout time.Duration) error {
	p.stop(timeout)
	return p.err
}

func (p *Proc) stop(timeout time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.done
}

// Kill sends SIGKILL to the process group and waits for the process to end.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.done
}

// Eventually polls cond every interval until it returns true or timeout passes,
// then fails the test with cond's last explanation.
func Eventually(t T, timeout, interval time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var why string
	for {
		var ok bool
		ok, why = cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %s", timeout, why)
		}
		time.Sleep(interval)
	}
}

func run(steps ...[]string) error {
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(s, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
