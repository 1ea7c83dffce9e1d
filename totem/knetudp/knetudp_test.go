package knetudp

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/totem/knet"
	"ringmaster/totem/wire"
)

func newCluster(t *testing.T, n int) *testcluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespaces: not in -short")
	}
	testenv.RequireRoot(t)
	for _, p := range testcluster.Prerequisites {
		testenv.RequireBinary(t, p)
	}
	return testcluster.New(t, testcluster.Options{Nodes: n})
}

// config is node self's knet configuration in a cluster of n nodes, link 0 only,
// with corosync's timers for a 2-node cluster (token 3000: ping 750, pong timeout 1500).
func config(self, n int, c *knet.Crypto) knet.Config {
	cfg := knet.Config{Self: knet.NodeID(self), Crypto: c}
	for i := 1; i <= n; i++ {
		if i == self {
			continue
		}
		cfg.Hosts = append(cfg.Hosts, knet.HostConfig{ID: knet.NodeID(i), Links: []knet.LinkConfig{{
			Link:     0,
			Local:    netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(self)}), 5405),
			Remote:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 5405),
			Priority: 1, PingInterval: 750 * time.Millisecond, PongTimeout: 1500 * time.Millisecond, PongCount: 2,
		}}})
	}
	return cfg
}

func open(t *testing.T, n *testcluster.Node, cfg knet.Config) *Conn {
	t.Helper()
	var c *Conn
	if err := n.Do(func() error {
		var err error
		c, err = Open(Config{Machine: cfg, Logf: t.Logf})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitReachable(t *testing.T, c *Conn, host knet.NodeID, mtu int) {
	t.Helper()
	testcluster.Eventually(t, 20*time.Second, 100*time.Millisecond, func() (bool, string) {
		for _, s := range c.Status() {
			if s.Host == host && s.Reachable && c.DataMTU() == mtu {
				return true, ""
			}
		}
		return false, fmt.Sprintf("status %+v, data MTU %d", c.Status(), c.DataMTU())
	})
}

// TestGoNodes: two Go knet nodes in namespaces find each other, discover the
// 1500-byte path (data MTU 1446) and exchange small and fragmented messages.
func TestGoNodes(t *testing.T) {
	cl := newCluster(t, 2)
	a := open(t, cl.Node(1), config(1, 2, nil))
	b := open(t, cl.Node(2), config(2, 2, nil))
	start := time.Now()
	waitReachable(t, a, 2, 1446)
	waitReachable(t, b, 1, 1446)
	t.Logf("reachable after %v", time.Since(start))
	big := bytes.Repeat([]byte("0123456789abcdef"), 400) // 6400 bytes: 5 fragments
	for _, m := range [][]byte{[]byte("hello"), big} {
		if err := a.Send(0, m); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-b.Recv():
			if got.From != 1 || !bytes.Equal(got.Data, m) || !got.Bcast {
				t.Fatalf("got %d bytes from %d", len(got.Data), got.From)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("message not delivered")
		}
	}
}

func knetConf(crypto bool) string {
	c := "\tcrypto_cipher: none\n\tcrypto_hash: none\n"
	if crypto {
		c = "\tcrypto_cipher: aes256\n\tcrypto_hash: sha256\n"
	}
	return "totem {\n\tversion: 2\n\tcluster_name: kntest\n\ttransport: knet\n" + c + "}\n" +
		"nodelist {\n\tnode {\n\t\tring0_addr: 192.0.2.1\n\t\tnodeid: 1\n\t\tname: node01\n\t}\n" +
		"\tnode {\n\t\tring0_addr: 192.0.2.2\n\t\tnodeid: 2\n\t\tname: node02\n\t}\n}\n" +
		"quorum {\n\tprovider: corosync_votequorum\n\ttwo_node: 1\n}\n" +
		"logging {\n\tto_logfile: yes\n\tlogfile: /var/log/corosync/corosync.log\n\tto_stderr: no\n\tdebug: on\n}\n"
}

// TestRealCorosyncPeer puts Debian's corosync 3.1.7 (libknet 1.25) on node 1 and
// our knet node on node 2, without and with aes256/sha256: the real node must
// see our node reachable over a connected link with the right MTU, we must see it,
// and what it sends us must be totem messages addressed from node 1. Its log must
// have no knet or crypto complaint about us.
func TestRealCorosyncPeer(t *testing.T) {
	for _, crypto := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "aes256-sha256"}[crypto], func(t *testing.T) {
			cl := newCluster(t, 2)
			corosync := testenv.RequireBinary(t, "corosync")
			cfgtool := testenv.RequireBinary(t, "corosync-cfgtool")
			real := cl.Node(1)
			var kc *knet.Crypto
			mtu := 1446
			if err := real.WriteFile("/etc/corosync/corosync.conf", []byte(knetConf(crypto)), 0o644); err != nil {
				t.Fatal(err)
			}
			if crypto {
				key, err := os.ReadFile(testenv.Shared(t, "testdata", "knet", "authkey"))
				if err != nil {
					t.Fatal(err)
				}
				if err := real.WriteFile("/etc/corosync/authkey", key, 0o400); err != nil {
					t.Fatal(err)
				}
				if kc, err = knet.NewCrypto(knet.CryptoConfig{Cipher: "aes256", Hash: "sha256"}, key); err != nil {
					t.Fatal(err)
				}
				mtu = 1397
			}
			if _, err := real.Start("corosync", corosync, "-f"); err != nil {
				t.Fatal(err)
			}
			ours := open(t, cl.Node(2), config(2, 2, kc))
			waitReachable(t, ours, 1, mtu)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			want := fmt.Sprintf("LINK: 0 udp (192.0.2.1->192.0.2.2) enabled connected mtu: %d", mtu)
			testcluster.Eventually(t, 20*time.Second, 250*time.Millisecond, func() (bool, string) {
				out, _, err := real.Exec(ctx, cfgtool, "-n")
				return err == nil && strings.Contains(out, "nodeid: 2 reachable") && strings.Contains(out, want), out
			})

			// The real node keeps trying to form a ring with us: its joins and merge
			// detects must arrive as whole totem 3.x messages from node 1.
			deadline := time.After(10 * time.Second)
			for got := 0; got < 3; {
				select {
				case m := <-ours.Recv():
					if m.From != 1 || len(m.Data) < 13 || binary.LittleEndian.Uint16(m.Data) != 0xC070 {
						t.Fatalf("unexpected message from %d: %x", m.From, m.Data[:min(16, len(m.Data))])
					}
					if _, err := wire.Decode(m.Data, wire.V3); err != nil {
						t.Fatalf("totem message from the real node does not decode: %v", err)
					}
					got++
				case <-deadline:
					t.Fatal("no totem traffic from the real node")
				}
			}
			log, _ := real.ReadFile("/var/log/corosync/corosync.log")
			for _, bad := range []string{"Digest does not match", "crypto", "Unable to find source host", "decrypt"} {
				for _, line := range strings.Split(string(log), "\n") {
					if strings.Contains(line, bad) && (strings.Contains(line, "rror") || strings.Contains(line, "arn")) {
						t.Errorf("real corosync complains: %s", line)
					}
				}
			}
			if n := ours.Stats.DroppedCrypto.Load() + ours.Stats.DroppedDecode.Load(); n != 0 {
				t.Errorf("we dropped %d of the real node's packets", n)
			}
		})
	}
}
