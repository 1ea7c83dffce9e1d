package transport

import (
	"net/netip"
	"os"
	"testing"

	"ringmaster/totem/wire"
)

// BenchmarkUDPULoopback measures send → receive → decode of a full 3.x
// mcast between two udpu transports on loopback addresses.
func BenchmarkUDPULoopback(b *testing.B) {
	port := uint16(40000 + os.Getpid()%20000)
	l1, l2 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	ms := []Member{{1, l1}, {2, l2}}
	a, err := Open(Config{Mode: UDPU, LocalAddr: l1, Port: port, Members: ms, Framing: wire.V3})
	if err != nil {
		b.Skip(err)
	}
	defer a.Close()
	c, err := Open(Config{Mode: UDPU, LocalAddr: l2, Port: port, Members: ms, Framing: wire.V3, QueueLen: 4096})
	if err != nil {
		b.Skip(err)
	}
	defer c.Close()
	m := &wire.Mcast{Header: wire.Header{NodeID: 1, Encapsulated: wire.NotEncapsulated}, From: wire.NodeAddr(1),
		RingID: wire.RingID{Rep: 1, Seq: 4}, Payload: make([]byte, 1410)}
	pkt := wire.Encode(m, wire.V3)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Send(2, pkt, false); err != nil {
			b.Fatal(err)
		}
		<-c.Recv()
	}
}
