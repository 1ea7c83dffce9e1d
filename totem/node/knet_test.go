package node_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"ringmaster/internal/corolog"
	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/totem"
	"ringmaster/totem/knet"
	"ringmaster/totem/knetudp"
	"ringmaster/totem/node"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
	"ringmaster/votequorum"
)

// loopPorts reserves n free UDP ports on 127.0.0.1 (bound, then released).
func loopPorts(t testing.TB, n int) []netip.AddrPort {
	t.Helper()
	var out []netip.AddrPort
	var held []*net.UDPConn
	for range n {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		out = append(out, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	for _, c := range held {
		c.Close()
	}
	return out
}

// loopKnet opens node self's knet over loopback, peers on the other ports,
// with OpenKnet as the daemon does (messages queued by the socket reader).
func loopKnet(t testing.TB, self int, ports []netip.AddrPort, c *knet.Crypto) *node.Knet {
	return openLoopKnet(t, self, ports, c, false)
}

// openLoopKnet is loopKnet; forward selects NewKnet over an open connection
// (a goroutine forwards from knetudp's Recv channel) instead of OpenKnet.
func openLoopKnet(t testing.TB, self int, ports []netip.AddrPort, c *knet.Crypto, forward bool) *node.Knet {
	t.Helper()
	cfg := knet.Config{Self: knet.NodeID(self), Crypto: c}
	for i, p := range ports {
		if i+1 == self {
			continue
		}
		cfg.Hosts = append(cfg.Hosts, knet.HostConfig{ID: knet.NodeID(i + 1), Links: []knet.LinkConfig{{
			Local: ports[self-1], Remote: p, Priority: 1,
			PingInterval: 250 * time.Millisecond, PongTimeout: 500 * time.Millisecond, PongCount: 2,
		}}})
	}
	var k *node.Knet
	if forward {
		conn, err := knetudp.Open(knetudp.Config{Machine: cfg})
		if err != nil {
			t.Fatal(err)
		}
		k = node.NewKnet(conn, wire.NodeID(self))
	} else {
		var err error
		if k, err = node.OpenKnet(knetudp.Config{Machine: cfg}, wire.NodeID(self)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func recvWithin(t testing.TB, k *node.Knet, d time.Duration) transport.Packet {
	t.Helper()
	select {
	case p := <-k.Recv():
		return p
	case <-time.After(d):
		t.Fatal("nothing received")
	}
	return transport.Packet{}
}

// TestKnetTarget: a multicast goes out with target_nodeid 0 and comes back
// to the sender; a unicast carries the destination's id and reaches only it;
// with either constructor.
func TestKnetTarget(t *testing.T) {
	for _, forward := range []bool{false, true} {
		t.Run(map[bool]string{false: "OpenKnet", true: "NewKnet"}[forward], func(t *testing.T) { testKnetTarget(t, forward) })
	}
}

func testKnetTarget(t *testing.T, forward bool) {
	ports := loopPorts(t, 2)
	a, b := openLoopKnet(t, 1, ports, nil, forward), openLoopKnet(t, 2, ports, nil, forward)
	// Both ends must see the other reachable: knet drops data from a host
	// whose link it has not yet brought up, and the multicast is sent once.
	testcluster.Eventually(t, 10*time.Second, 50*time.Millisecond, func() (bool, string) {
		for _, k := range []*node.Knet{a, b} {
			up := false
			for _, s := range k.LinkStatus() {
				up = up || s.Reachable
			}
			if !up {
				return false, fmt.Sprintf("%+v", k.LinkStatus())
			}
		}
		return true, ""
	})
	join := &wire.Join{Header: wire.Header{NodeID: 1}, RingSeq: 4}
	if err := a.SendMsg(transport.All, join, true); err != nil {
		t.Fatal(err)
	}
	if p := recvWithin(t, a, time.Second); p.Msg.Type() != wire.TypeJoin || p.Msg.Hdr().Target != 0 {
		t.Fatalf("own multicast: %+v", p.Msg)
	}
	if p := recvWithin(t, b, 10*time.Second); p.Msg.Type() != wire.TypeJoin || p.Msg.Hdr().Target != 0 {
		t.Fatalf("peer's copy: %+v", p.Msg)
	}
	tok := &wire.OrfToken{Header: wire.Header{NodeID: 1}, Seq: 9}
	if err := a.SendMsg(2, tok, false); err != nil {
		t.Fatal(err)
	}
	if p := recvWithin(t, b, 10*time.Second); p.Msg.Type() != wire.TypeOrfToken || p.Msg.Hdr().Target != 2 {
		t.Fatalf("token at 2: %+v", p.Msg)
	}
	select {
	case p := <-a.Recv():
		t.Fatalf("sender got its unicast back: %+v", p.Msg)
	default:
	}
	// A message to ourselves (a one-node ring's token) is only looped back.
	if err := b.SendMsg(2, tok, false); err != nil {
		t.Fatal(err)
	}
	if p := recvWithin(t, b, time.Second); p.Msg.Type() != wire.TypeOrfToken {
		t.Fatalf("token to self: %+v", p.Msg)
	}
}

// TestKnetLoopbackRing: three node drivers with their services form one
// ring over knet on loopback, plain and with aes256/sha256.
func TestKnetLoopbackRing(t *testing.T) {
	key, err := os.ReadFile(testenv.Shared(t, "testdata", "knet", "authkey"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cc := range []knet.CryptoConfig{{}, {Cipher: "aes256", Hash: "sha256"}} {
		name := "plain"
		if cc.Enabled() {
			name = cc.Cipher + "-" + cc.Hash
		}
		t.Run(name, func(t *testing.T) {
			ports := loopPorts(t, 3)
			var nodes []*node.Node
			synced := make(chan uint32, 16)
			for i := 1; i <= 3; i++ {
				c, err := knet.NewCrypto(cc, key)
				if err != nil {
					t.Fatal(err)
				}
				if !cc.Enabled() {
					c = nil
				}
				k := loopKnet(t, i, ports, c)
				var nl []votequorum.NodeVotes
				for j := 1; j <= 3; j++ {
					nl = append(nl, votequorum.NodeVotes{ID: uint32(j), Votes: 1})
				}
				logf := func(string, string, corolog.Priority, string, ...any) {}
				svc, err := node.NewCorosync(node.CorosyncConfig{NodeID: uint32(i), Log: logf,
					Votequorum: votequorum.Config{NodeID: uint32(i), Nodelist: nl, LocalPos: i - 1}})
				if err != nil {
					t.Fatal(err)
				}
				id := uint32(i)
				n, err := node.New(node.Config{
					Totem:  totem.Config{NodeID: wire.NodeID(i), Token: time.Second}.WithDefaults(3),
					NetMTU: wire.NetMTU(wire.V3, node.KnetNetMTU, nil), Transport: k, Services: svc.Entries(), Log: logf,
					Hooks: node.Hooks{SyncCompleted: func(_ totem.RingID, ms []totem.NodeID) {
						if len(ms) == 3 {
							synced <- id
						}
					}},
				})
				if err != nil {
					t.Fatal(err)
				}
				svc.Attach(n)
				nodes = append(nodes, n)
			}
			ctx, cancel := context.WithCancel(context.Background())
			for _, n := range nodes {
				go n.Run(ctx)
			}
			defer func() {
				cancel()
				for _, n := range nodes {
					<-n.Done()
				}
			}()
			seen := map[uint32]bool{}
			deadline := time.After(30 * time.Second)
			for len(seen) < 3 {
				select {
				case id := <-synced:
					seen[id] = true
				case <-deadline:
					t.Fatalf("synced on 3 members: %v", seen)
				}
			}
		})
	}
}

// BenchmarkKnetMcast: one SRP multicast through the adapter (target set,
// encoded, looped back to ourselves, handed to knet for the peer).
func BenchmarkKnetMcast(b *testing.B) {
	ports := loopPorts(b, 2)
	a, peer := loopKnet(b, 1, ports, nil), loopKnet(b, 2, ports, nil)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-peer.Recv():
			case <-done:
				return
			}
		}
	}()
	m := &wire.Mcast{Header: wire.Header{NodeID: 1}, Payload: make([]byte, 1000)}
	b.ReportAllocs()
	b.SetBytes(1000)
	for b.Loop() {
		if err := a.SendMsg(transport.All, m, false); err != nil {
			b.Fatal(err)
		}
		<-a.Recv()
	}
}
