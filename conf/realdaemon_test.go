package conf

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

// realDaemonCases are configurations the conformance captures do not cover
// (2.x-era keys, member sections, logging_daemon, uidgid, resources,
// qdevice, pload, many nodes, udp write-backs). Each runs as a one-node
// cluster on 127.0.0.1 in a network namespace of its own; STATEDIR is
// replaced by a temporary directory.
var realDaemonCases = map[string]string{
	"2x-style": `totem {
	version: 2
	secauth: off
	threads: 0
	rrp_mode: none
	nodeid: 1
	transport: udpu
	interface {
		ringnumber: 0
		bindnetaddr: 127.0.0.0
		mcastport: 5405
		ttl: 1
		member {
			memberaddr: 127.0.0.1
		}
		member {
			memberaddr: 127.0.0.2
		}
	}
}
nodelist {
	node {
		ring0_addr: 127.0.0.1
		nodeid: 1
	}
}
quorum {
	provider: corosync_votequorum
	expected_votes: 1
}
aisexec {
	user: root
	group: root
}
service {
	name: pacemaker
	ver: 1
}
`,
	"udp-writeback": `totem {
	version: 2
	cluster_name: wctest
	transport: udp
	config_version: 7
	token: 1000
	token_coefficient: 100
}
nodelist {
	node {
		ring0_addr: 127.0.0.1
		nodeid: 5
	}
}
`,
	"logging-daemon": `totem {
	version: 2
	transport: udpu
}
nodelist {
	node {
		ring0_addr: 127.0.0.1
		nodeid: 1
		name: me
	}
}
logging {
	to_syslog: no
	logging_daemon {
		name: corosync
		debug: off
	}
	logging_daemon {
		name: pacemakerd
		subsys: PCMK
		debug: on
	}
	logging_daemon {
		name: qdevice
		to_stderr: yes
	}
	logger_subsys {
		subsys: CMAP
		debug: on
		debug: off
		to_stderr: no
	}
}
uidgid {
	uid: root
	gid: 0
}
`,
	"resources-pload-qdevice": `totem {
	version: 2
	transport: udpu
}
nodelist {
	node {
		ring0_addr: 127.0.0.1
		nodeid: 9
		quorum_votes: 2
	}
}
resources {
	watchdog_timeout: 10
	system {
		memory_used {
			poll_period: 5000
		}
	}
}
pload {
	count: 10
	size: 300
}
quorum {
	provider: corosync_votequorum
	wait_for_all: 0
	leaving_timeout: 2000
	device {
		votes: 1
		timeout: 10000
		sync_timeout: 30000
		master_wins: 1
		model: net
		net {
			host: 192.0.2.200
			algorithm: ffsplit
		}
	}
}
something: else
`,
	"twelve-nodes": func() string {
		s := "totem {\n\tversion: 2\n\ttransport: udpu\n\tclear_node_high_bit: yes\n}\nnodelist {\n"
		s += "\tnode {\n\t\tring0_addr: 127.0.0.1\n\t}\n"
		for i := 2; i <= 12; i++ {
			s += fmt.Sprintf("\tnode {\n\t\tring0_addr: 192.0.2.%d\n\t\tname: n%d\n\t}\n", 100+i, i)
		}
		return s + "}\n"
	}(),
	"knet-two-links-lo": `totem {
	version: 2
	link_mode: rr
	ip_version: ipv4
	interface {
		linknumber: 1
		knet_link_priority: 3
		mcastport: 6000
	}
}
nodelist {
	node {
		ring0_addr: 127.0.0.1
		ring1_addr: 127.0.0.2
		nodeid: 1
		name: a
	}
	node {
		ring0_addr: 192.0.2.201
		ring1_addr: 192.0.2.202
		nodeid: 2
		name: b
	}
}
`,
	"udp-broadcast-hostname": `totem {
	version: 2
	transport: udp
	interface {
		broadcast: yes
		mcastaddr: 239.1.2.3
	}
}
nodelist {
	node {
		ring0_addr: 127.0.0.1
		name: HOSTNAME
		nodeid: 4
	}
	node {
		ring0_addr: 192.0.2.77
		name: other
		nodeid: 5
	}
	node {
		ring0_addr: 192.0.2.78
		nodeid: 6
	}
}
quorum {
	provider: corosync_votequorum
	two_node: 1
	last_man_standing: 1
	last_man_standing_window: 10000
	auto_tie_breaker: 1
	auto_tie_breaker_node: lowest
}
`,
	"udpu-mixed-noname": `totem {
	version: 2
	transport: udpu
	token: 2000
	interface {
		mcastaddr: 239.9.9.9
		mcastport: 5500
		knet_ping_interval: 100
	}
}
nodelist {
	node {
		ring0_addr: 127.0.0.1
	}
	node {
		ring0_addr: 192.0.2.40
		quorum_votes: 2
	}
	node {
		ring0_addr: 192.0.2.41
		name: named
	}
}
resources {
	process {
		memory_used {
			poll_period: 4000
		}
	}
	watchdog_timeout: 200
}
totem.top: level
`,
	"knet-options": `totem {
	version: 2
	cluster_name: kopts
	knet_pmtud_interval: 60
	knet_mtu: 1200
	knet_compression_model: lz4
	knet_compression_threshold: 100
	knet_compression_level: -1
	block_unlisted_ips: no
	cancel_token_hold_on_retransmit: yes
	token_warning: 0
	send_join: 10
	interface {
		linknumber: 0
		knet_transport: udp
		knet_ping_precision: 1024
		knet_pong_count: 1
		knet_link_priority: 7
	}
}
nodelist {
	node {
		ring0_addr: 127.0.0.1
		nodeid: 3
		name: k3
	}
}
`,
}

// TestRealDaemonKeys starts Debian's corosync on each case and compares its
// cmap (minus the live keys) with Config.Keys.
func TestRealDaemonKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real corosync daemons")
	}
	testenv.RequireRoot(t)
	corosync := testenv.RequireBinary(t, "corosync")
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	ipBin := testenv.RequireBinary(t, "ip")
	for name, text := range realDaemonCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each case has its own namespace and state directory
			compareWithDaemon(t, name, text, corosync, cmapctl, ipBin)
		})
	}
}

// compareWithDaemon runs text as a one-node cluster in a fresh namespace and
// compares the daemon's cmap with Config.Keys.
func compareWithDaemon(t *testing.T, name, text, corosync, cmapctl, ipBin string) {
	if !daemonKeys(t, name, text, corosync, cmapctl, ipBin, true) {
		t.Fatal("corosync did not form a ring")
	}
}

// daemonKeys starts the daemon and compares keys; it reports false when the
// daemon did not come up, which fails the test only when strict.
func daemonKeys(t *testing.T, name, text, corosync, cmapctl, ipBin string, strict bool) bool {
	dir := t.TempDir()
	text = strings.Replace(text, "totem {", "system {\n\tstate_dir: "+dir+"\n}\ntotem {", 1)
	host, _ := os.Hostname()
	text = strings.ReplaceAll(text, "HOSTNAME", host)
	path := filepath.Join(dir, "corosync.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("rmconf%d%s", os.Getpid(), strings.ReplaceAll(name, "-", ""))
	if len(ns) > 60 {
		ns = ns[:60]
	}
	if out, err := exec.Command(ipBin, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command(ipBin, "netns", "del", ns).Run()
	if out, err := exec.Command(ipBin, "netns", "exec", ns, ipBin, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v %s", err, out)
	}
	var logb bytes.Buffer
	// A private mount namespace with its own /run: corosync's lock
	// file (/run/corosync.pid) is not per network namespace.
	unshare := testenv.RequireBinary(t, "unshare")
	cmd := exec.Command(ipBin, "netns", "exec", ns, unshare, "-m", "--propagation", "private",
		"sh", "-c", `mount -t tmpfs tmpfs /run && exec "$0" -f -c "$1"`, corosync, path)
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	var dump string
	for i := 0; i < 60; i++ {
		select {
		case <-done:
			t.Fatalf("corosync exited:\n%s", logb.String())
		default:
		}
		out, err := exec.Command(ipBin, "netns", "exec", ns, cmapctl).Output()
		if err == nil && strings.Contains(string(out), "status (str) = joined") {
			time.Sleep(500 * time.Millisecond)
			out, err = exec.Command(ipBin, "netns", "exec", ns, cmapctl).Output()
			if err == nil {
				dump = string(out)
				break
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if dump == "" {
		if strict {
			t.Fatalf("corosync did not form a ring:\n%s", logb.String())
		}
		return false
	}
	env := SystemEnv()
	env.Addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	c, _, err := LoadBytes(path, []byte(text), env, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var want, got []string
	for _, l := range strings.Split(strings.TrimRight(dump, "\n"), "\n") {
		key, _, _ := strings.Cut(l, " (")
		if !excluded(key) {
			want = append(want, l)
		}
	}
	for _, kv := range c.Keys() {
		got = append(got, kv.String())
	}
	if d := lineDiff(got, want); d != "" {
		t.Errorf("key tree differs (-ours +corosync):\n%s", d)
	}
	return true
}

// TestRealDaemonMutants runs mutated valid configurations (node 1 moved to
// 127.0.0.1) that `corosync -t` accepts as real one-node clusters and
// compares the key trees. RINGMASTER_DAEMON_MUTANTS sets how many (default 4).
func TestRealDaemonMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real corosync daemons")
	}
	testenv.RequireRoot(t)
	corosync := testenv.RequireBinary(t, "corosync")
	cmapctl := testenv.RequireBinary(t, "corosync-cmapctl")
	ipBin := testenv.RequireBinary(t, "ip")
	n := 4
	if s := os.Getenv("RINGMASTER_DAEMON_MUTANTS"); s != "" {
		fmt.Sscan(s, &n)
	}
	var seeds []string
	names, _ := filepath.Glob(testenv.Shared(t, "conformance", "corosync", "configs", "*.conf"))
	for _, p := range names {
		if _, err := os.Stat(strings.Replace(strings.Replace(p, "configs", "expected", 1), ".conf", ".cmapctl", 1)); err != nil {
			continue
		}
		b, _ := os.ReadFile(p)
		s := strings.ReplaceAll(string(b), "192.0.2.1\n", "127.0.0.1\n")
		s = strings.ReplaceAll(s, "192.0.2.1\r\n", "127.0.0.1\r\n")
		s = strings.ReplaceAll(s, "node01", "127.0.0.1")
		s = strings.ReplaceAll(s, "/var/log/corosync/corosync.log", "/dev/null")
		seeds = append(seeds, s)
	}
	for _, s := range realDaemonCases {
		seeds = append(seeds, s)
	}
	dir := t.TempDir()
	r := &lcg{s: 7}
	tried, compared := 0, 0
	for compared < n && tried < 20*n {
		tried++
		text := mutate(r, seeds[r.intn(len(seeds))])
		path := filepath.Join(dir, "t.conf")
		os.WriteFile(path, []byte(strings.Replace(text, "totem {", "system {\n\tstate_dir: "+dir+"\n}\ntotem {", 1)), 0o644)
		if exec.Command(corosync, "-t", "-c", path).Run() != nil {
			continue
		}
		name := fmt.Sprintf("m%d", tried)
		ok := t.Run(name, func(t *testing.T) {
			if !daemonKeys(t, name, text, corosync, cmapctl, ipBin, false) {
				t.Logf("no ring formed; not compared")
			}
		})
		if !ok {
			t.Logf("mutant %s:\n%s", name, text)
		}
		compared++
	}
	t.Logf("daemon mutants compared: %d (of %d generated)", compared, tried)
}
