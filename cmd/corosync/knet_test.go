package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

// knetConf is a corosync.conf for transport knet: three nodes, token 1000,
// crypto when cipher/hash are not "none", and a second link (ring1 on
// 192.0.2.10N) when links is 2.
func knetConf(cipher, hash string, links int, mode string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "totem {\n\tversion: 2\n\tcluster_name: knetring\n\ttransport: knet\n\ttoken: 1000\n")
	fmt.Fprintf(&b, "\tcrypto_cipher: %s\n\tcrypto_hash: %s\n\tlink_mode: %s\n}\n", cipher, hash, mode)
	b.WriteString("quorum {\n\tprovider: corosync_votequorum\n}\nlogging {\n\tto_stderr: yes\n\tto_syslog: no\n\tdebug: off\n}\nnodelist {\n")
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, "\tnode {\n\t\tring0_addr: 192.0.2.%d\n", i)
		if links > 1 {
			fmt.Fprintf(&b, "\t\tring1_addr: 192.0.2.10%d\n", i)
		}
		fmt.Fprintf(&b, "\t\tname: node%02d\n\t\tnodeid: %d\n\t}\n", i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

// knetCluster starts corosync on nodes 1..3 of a fresh cluster, Debian's
// where real[i] is set and ours elsewhere.
type knetCluster struct {
	t       *testing.T
	cl      *testcluster.Cluster
	bins    map[int]string
	procs   map[int]*testcluster.Proc
	cmapctl string
}

func newKnetCluster(t *testing.T, real map[int]bool, cfg string, crypto bool, opts testcluster.Options) *knetCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespaces: not in -short")
	}
	testenv.RequireRoot(t)
	for _, p := range testcluster.Prerequisites {
		testenv.RequireBinary(t, p)
	}
	k := &knetCluster{t: t, bins: map[int]string{}, procs: map[int]*testcluster.Proc{}}
	k.cmapctl = testenv.RequireBinary(t, "corosync-cmapctl")
	realBin, ours := "", ""
	for i := 1; i <= 3; i++ {
		if real[i] {
			if realBin == "" {
				realBin = testenv.RequireBinary(t, "corosync")
			}
			k.bins[i] = realBin
		} else {
			if ours == "" {
				ours = testenv.GoBinary(t, "corosync")
			}
			k.bins[i] = ours
		}
	}
	opts.Nodes = 3
	k.cl = testcluster.New(t, opts)
	var key []byte
	if crypto {
		var err error
		key, err = os.ReadFile(testenv.Shared(t, "testdata", "knet", "authkey"))
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		n := k.cl.Node(i)
		if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if key != nil {
			if err := n.WriteFile("/etc/corosync/authkey", key, 0o400); err != nil {
				t.Fatal(err)
			}
		}
		k.start(i)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, p := range k.procs {
				t.Logf("node %d (%s) output:\n%s", i, k.bins[i], p.Output())
			}
		}
	})
	return k
}

func (k *knetCluster) start(i int) {
	k.t.Helper()
	p, err := k.cl.Node(i).Start("corosync", k.bins[i], "-f")
	if err != nil {
		k.t.Fatal(err)
	}
	k.procs[i] = p
}

// agree waits until the real corosync-cmapctl on every listed node (talking
// to whichever corosync runs there) shows exactly want as joined.
func (k *knetCluster) agree(nodes []int, want []string) {
	k.t.Helper()
	testcluster.Eventually(k.t, 40*time.Second, 250*time.Millisecond, func() (bool, string) {
		for _, i := range nodes {
			j, out := joinedVia(k.cl.Node(i), k.cmapctl)
			if fmt.Sprint(j) != fmt.Sprint(want) {
				return false, fmt.Sprintf("node %d: joined %v, want %v\n%s", i, j, want, out)
			}
		}
		return true, ""
	})
}

// cleanLogs checks that no node logged knet, crypto or decode trouble.
func (k *knetCluster) cleanLogs() {
	k.t.Helper()
	var realIDs []int
	for i, b := range k.bins {
		if b == "/usr/sbin/corosync" { // Debian's
			realIDs = append(realIDs, i)
		}
	}
	for i, p := range k.procs {
		for _, l := range strings.Split(p.Output(), "\n") {
			if realFlushDiscard(l, realIDs...) {
				continue
			}
			ll := strings.ToLower(l)
			for _, bad := range []string{"invalid", "corrupt", "unable to decrypt", "crypto", "error", "discarding", "unknown"} {
				if strings.Contains(ll, bad) && !strings.Contains(ll, "crypto_") {
					k.t.Errorf("node %d (%s): %s", i, k.bins[i], l)
					break
				}
			}
		}
	}
}

// synced waits until node i logged the completion of service synchronisation
// at least n times.
func (k *knetCluster) synced(i, n int) {
	k.t.Helper()
	testcluster.Eventually(k.t, 30*time.Second, 200*time.Millisecond, func() (bool, string) {
		c := strings.Count(k.procs[i].Output(), "Completed service synchronization, ready to provide service.")
		return c >= n, fmt.Sprintf("node %d: %d completed syncs, want %d", i, c, n)
	})
}

var all3 = []string{"1", "2", "3"}

// TestKnetRing: three nodes over knet, every mix of Debian's corosync 3.1.7
// and ours, with and without aes256/sha256 crypto and the shared authkey:
// every node lists all three as joined, every node completed service
// synchronisation, and nobody logs knet or crypto errors.
func TestKnetRing(t *testing.T) {
	for _, c := range []struct {
		name   string
		real   map[int]bool
		crypto bool
		mode   string // two links in this link_mode; one link when ""
	}{
		{"ours3", nil, false, ""},
		{"ours3-aes256", nil, true, ""},
		{"real2-ours1", map[int]bool{1: true, 2: true}, false, ""},
		{"real2-ours1-aes256", map[int]bool{1: true, 2: true}, true, ""},
		{"real1-ours2", map[int]bool{1: true}, false, ""},
		{"real1-ours2-aes256", map[int]bool{1: true}, true, ""},
		{"ours3-2links-rr", nil, false, "rr"},
		{"real1-ours2-2links-active-aes256", map[int]bool{1: true}, true, "active"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cipher, hash := "none", "none"
			if c.crypto {
				cipher, hash = "aes256", "sha256"
			}
			links, mode, opts := 1, "passive", testcluster.Options{}
			if c.mode != "" {
				links, mode, opts.ExtraAddrs = 2, c.mode, secondAddrs()
			}
			k := newKnetCluster(t, c.real, knetConf(cipher, hash, links, mode), c.crypto, opts)
			k.agree([]int{1, 2, 3}, all3)
			for i := 1; i <= 3; i++ {
				k.synced(i, 1)
			}
			k.cleanLogs()
		})
	}
}

// TestKnetRestart: kill -9 of one of our nodes and of a Debian node in a
// mixed knet ring; the others see it leave, and after the restart (knet
// sequence numbers from 0 again) everyone re-agrees.
func TestKnetRestart(t *testing.T) {
	k := newKnetCluster(t, map[int]bool{1: true}, knetConf("aes256", "sha256", 1, "passive"), true, testcluster.Options{})
	k.agree([]int{1, 2, 3}, all3)
	for _, victim := range []int{3, 1} {
		k.procs[victim].Kill()
		var rest []int
		var want []string
		for i := 1; i <= 3; i++ {
			if i != victim {
				rest = append(rest, i)
				want = append(want, fmt.Sprint(i))
			}
		}
		k.agree(rest, want)
		k.start(victim)
		k.agree([]int{1, 2, 3}, all3)
	}
	k.cleanLogs()
}

// secondAddrs gives node N the link 1 address 192.0.2.10N.
func secondAddrs() map[int][]string {
	extra := map[int][]string{}
	for i := 1; i <= 3; i++ {
		extra[i] = []string{fmt.Sprintf("192.0.2.10%d/24", i)}
	}
	return extra
}

// TestKnetTwoLinks: two links in link_mode passive (ring1 on 192.0.2.10N),
// Debian's corosync on node 1 and ours on 2 and 3. Dropping link 0's port
// on node 3 moves traffic to link 1 without a membership change; removing
// the rule brings link 0 back. (active and rr form their rings in
// TestKnetRing.)
func TestKnetTwoLinks(t *testing.T) {
	k := newKnetCluster(t, map[int]bool{1: true}, knetConf("none", "none", 2, "passive"), false, testcluster.Options{ExtraAddrs: secondAddrs()})
	k.agree([]int{1, 2, 3}, all3)
	for i := 1; i <= 3; i++ {
		k.synced(i, 1)
	}
	// libknet guards fresh links against flapping: the pong timeout of a
	// link is multiplied by a backoff that starts at 10 when it comes up and
	// drops by one per second (knet-wire.md §3.2). Cut only once it has
	// decayed, or link 0's failure is noticed after the token is lost, on
	// Debian's nodes as on ours.
	time.Sleep(11 * time.Second)
	before := map[int]int{}
	for i := 1; i <= 3; i++ {
		before[i] = strings.Count(k.procs[i].Output(), "A new membership")
	}
	n3 := k.cl.Node(3)
	nft := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, rc, err := n3.Exec(ctx, append([]string{"nft"}, args...)...); err != nil || rc != 0 {
			t.Fatalf("nft %v: rc %d %v %s", args, rc, err, out)
		}
	}
	nft("add", "table", "inet", "knetcut")
	nft("add", "chain", "inet", "knetcut", "in", "{ type filter hook input priority 0 ; }")
	nft("add", "chain", "inet", "knetcut", "out", "{ type filter hook output priority 0 ; }")
	nft("add", "rule", "inet", "knetcut", "in", "udp", "dport", "5405", "drop")
	nft("add", "rule", "inet", "knetcut", "out", "udp", "dport", "5405", "drop")
	// The real node 1 reports link 0 to node 3 down once its pongs time out.
	testcluster.Eventually(t, 20*time.Second, 250*time.Millisecond, func() (bool, string) {
		o := k.procs[1].Output()
		return strings.Contains(o, "host: 3 link: 0 is down"), "node 1 has not logged link 0 to host 3 down"
	})
	time.Sleep(3 * time.Second) // a few token rotations over link 1 only
	k.agree([]int{1, 2, 3}, all3)
	cfgtool := testenv.RequireBinary(t, "corosync-cfgtool")
	for _, i := range []int{1, 3} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, _, _ := k.cl.Node(i).Exec(ctx, cfgtool, "-n")
		cancel()
		t.Logf("corosync-cfgtool -n on node %d (%s), link 0 of node 3 cut:\n%s", i, k.bins[i], out)
		if i == 3 {
			// Our node reports knet's own link states, as corosync does.
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "LINK: 0 ") && strings.Contains(line, "connected") {
					t.Errorf("our cfgtool -n shows cut link 0 connected: %q", line)
				}
				if strings.Contains(line, "LINK: 1 ") && !strings.Contains(line, "connected") {
					t.Errorf("our cfgtool -n shows link 1 not connected: %q", line)
				}
			}
		}
	}
	nft("delete", "table", "inet", "knetcut")
	testcluster.Eventually(t, 20*time.Second, 250*time.Millisecond, func() (bool, string) {
		o := k.procs[1].Output()
		i := strings.LastIndex(o, "host: 3 link: 0 is down")
		return strings.Contains(o[i:], "host: 3 link: 0 is up"), "node 1 has not logged link 0 to host 3 up again"
	})
	k.agree([]int{1, 2, 3}, all3)
	for i := 1; i <= 3; i++ {
		if c := strings.Count(k.procs[i].Output(), "A new membership"); c != before[i] {
			t.Errorf("node %d: %d memberships after the link cut, %d before: the cut must not change the membership", i, c, before[i])
		}
	}
	k.cleanLogs()
}

// TestKnetMixedCPGOrder: the mixed CPG order test (two Debian nodes, ours as
// node 3, 600 messages) over knet, where totempg packs to the 65536-byte
// net_mtu and knet fragments.
func TestKnetMixedCPGOrder(t *testing.T) { testMixedCPGOrder(t, "knet") }
