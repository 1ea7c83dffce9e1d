package node_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"ringmaster/cpg"
	"ringmaster/totem"
	"ringmaster/totem/node"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
	"ringmaster/votequorum"
)

// loopRing starts n in-process nodes on 127.0.0.1..n (loopback needs no
// namespace or root), on a port of their own, and returns them once synced.
// deliveries receives one value per CPG message delivered on node 1.
func loopRing(b *testing.B, count int) ([]*node.Node, []*node.Corosync, chan int) {
	b.Helper()
	port := uint16(20000 + os.Getpid()%20000)
	var ms []transport.Member
	for i := 1; i <= count; i++ {
		ms = append(ms, transport.Member{NodeID: wire.NodeID(i), Addr: netip.AddrFrom4([4]byte{127, 0, 0, byte(i)})})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var ns []*node.Node
	var cs []*node.Corosync
	deliveries := make(chan int, 1<<16)
	for i := 1; i <= count; i++ {
		tr, err := transport.Open(transport.Config{Mode: transport.UDPU, LocalAddr: ms[i-1].Addr, Port: port, Members: ms, Framing: wire.V3, QueueLen: 4096})
		if err != nil {
			b.Skipf("loopback ring: %v", err)
		}
		var nl []votequorum.NodeVotes
		for _, m := range ms {
			nl = append(nl, votequorum.NodeVotes{ID: uint32(m.NodeID), Votes: 1})
		}
		c, err := node.NewCorosync(node.CorosyncConfig{NodeID: uint32(i), Votequorum: votequorum.Config{NodeID: uint32(i), Nodelist: nl, LocalPos: i - 1}})
		if err != nil {
			b.Fatal(err)
		}
		n, err := node.New(node.Config{Totem: totem.DefaultConfig(wire.NodeID(i), count), Transport: tr, Services: c.Entries()})
		if err != nil {
			b.Fatal(err)
		}
		c.Attach(n)
		if i == 1 {
			c.OnCPG = func(rd cpg.Ready) {
				for range rd.Deliveries {
					deliveries <- 1
				}
			}
		}
		go n.Run(ctx)
		ns, cs = append(ns, n), append(cs, c)
	}
	b.Cleanup(func() {
		cancel()
		for _, n := range ns {
			<-n.Done()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, n := range ns {
			var synced bool
			var m []totem.NodeID
			_ = n.Do(func() { synced, m = n.Synced(), n.Members() })
			ok = ok && synced && len(m) == count
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("loopback ring did not form")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ns, cs, deliveries
}

// BenchmarkRingCPG: CPG messages from node 1 of a 3-node loopback ring,
// counted when node 1 delivers them in agreed order, up to 256 in flight.
func BenchmarkRingCPG(b *testing.B) {
	for _, size := range []int{64, 1024, 65536} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			ns, cs, del := loopRing(b, 3)
			payload := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			sent, got := 0, 0
			for got < b.N {
				for sent < b.N && sent-got < 256 {
					batch := min(b.N-sent, 256-(sent-got))
					_ = ns[0].Do(func() {
						for range batch {
							cs[0].CPGMcast("bench", 1, payload)
						}
					})
					sent += batch
				}
				select {
				case <-del:
					got++
				case <-time.After(20 * time.Second):
					b.Fatalf("stalled at %d of %d", got, b.N)
				}
			}
		})
	}
}
