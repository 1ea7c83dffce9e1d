package node

import (
	"encoding/binary"
	"testing"
	"time"

	"ringmaster/totem"
	"ringmaster/totem/pg"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
	"ringmaster/votequorum"
)

// nullTransport swallows what the node sends.
type nullTransport struct{ ch chan transport.Packet }

func (nullTransport) SendMsg(wire.NodeID, wire.Message, bool) error { return nil }
func (t nullTransport) Recv() <-chan transport.Packet               { return t.ch }
func (nullTransport) Close() error                                  { return nil }

func fuzzNode(t testing.TB, f wire.Framing) *Node {
	c, err := NewCorosync(CorosyncConfig{NodeID: 1,
		Votequorum: votequorum.Config{NodeID: 1, Nodelist: []votequorum.NodeVotes{{ID: 1, Votes: 1}, {ID: 2, Votes: 1}}, LocalPos: 0}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Totem: totem.DefaultConfig(1, 2), Framing: f, Transport: nullTransport{make(chan transport.Packet)},
		Services: c.Entries()})
	if err != nil {
		t.Fatal(err)
	}
	c.Attach(n)
	n.start = time.Now()
	if err := n.srp.Step(n.now(), totem.Start{}); err != nil {
		t.Fatal(err)
	}
	n.round()
	return n
}

// FuzzReceive feeds arbitrary datagrams to a node, and arbitrary ordered
// payloads to its totempg/group/service dispatch: nothing may panic, bad
// input is dropped and counted.
func FuzzReceive(f *testing.F) {
	join := wire.Encode(&wire.Join{Header: wire.Header{NodeID: 2}, From: wire.NodeAddr(2), RingSeq: 4,
		Proc: []wire.Addr{wire.NodeAddr(1), wire.NodeAddr(2)}}, wire.V3)
	f.Add(join, []byte{})
	svc := func(id uint32, size int) []byte {
		b := make([]byte, size)
		binary.LittleEndian.PutUint32(b, id)
		binary.LittleEndian.PutUint32(b[8:], uint32(size))
		return b
	}
	for _, m := range [][]byte{svc(2<<16|5, 1568), svc(5<<16, 32), svc(0, 48), svc(4<<16, 24), svc(4<<16|1, 40), svc(1, 552), svc(0, 32)} {
		group := "a"
		if m[2] == 0 && (len(m) == 552 || len(m) == 32) {
			group = "sync"
		}
		iov := append(pg.Groups(group), m)
		pk := pg.NewPacker(1410)
		pkts := pk.Add(iov...)
		if p := pk.Flush(); p != nil {
			pkts = append(pkts, p)
		}
		f.Add([]byte("noise"), pkts[0])
	}
	f.Fuzz(func(t *testing.T, datagram, payload []byte) {
		for _, fr := range []wire.Framing{wire.V3, wire.V2} {
			n := fuzzNode(t, fr)
			n.receive(transport.Packet{Data: datagram}, make(chan transport.Packet))
			n.deliver(totem.Deliver{From: 2, Payload: payload})
			n.round()
		}
	})
}
