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

// BenchmarkSendMsgsTokenVisit sends what one token visit sends on a busy
// 3-node udpu ring: 12 mcasts of a full packet to every other member (the
// sender's own copy is left out) and the token, in one SendMsgs. The
// receivers are not read; the kernel drops what overflows their buffers.
func BenchmarkSendMsgsTokenVisit(b *testing.B) {
	port := uint16(40000 + (os.Getpid()+7)%20000)
	var ms []Member
	for i := 1; i <= 3; i++ {
		ms = append(ms, Member{wire.NodeID(i), netip.AddrFrom4([4]byte{127, 0, 0, byte(i)})})
	}
	var trs []*Transport
	for _, m := range ms {
		tr, err := Open(Config{Mode: UDPU, LocalAddr: m.Addr, Port: port, Members: ms, Framing: wire.V3})
		if err != nil {
			b.Skip(err)
		}
		defer tr.Close()
		trs = append(trs, tr)
	}
	ring := wire.RingID{Rep: 1, Seq: 4}
	var out []Out
	for i := range 12 {
		out = append(out, Out{To: All, Msg: &wire.Mcast{Header: wire.Header{NodeID: 1, Encapsulated: wire.NotEncapsulated},
			From: wire.NodeAddr(1), Seq: uint32(i + 1), RingID: ring, Payload: make([]byte, 1350)}})
	}
	out = append(out, Out{To: 2, Msg: &wire.OrfToken{Header: wire.Header{NodeID: 1}, Seq: 12, RingID: ring}})
	b.ReportAllocs()
	for b.Loop() {
		if err := trs[0].SendMsgs(out); err != nil {
			b.Fatal(err)
		}
	}
}
