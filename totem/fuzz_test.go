package totem

import (
	"testing"
	"time"

	"ringmaster/totem/wire"
)

// FuzzMachine feeds one machine (node 1 of a would-be 4-node ring) a stream
// of structurally valid but arbitrary SRP messages and timer ticks built from
// the fuzz input. The machine must never panic, whatever its peers claim.
func FuzzMachine(f *testing.F) {
	f.Add([]byte{3, 2, 1, 2, 0, 4, 2, 1, 5, 9, 1, 2, 0, 3, 0, 0, 1, 0})
	f.Add([]byte{0, 2, 1, 1, 0, 0, 0, 4, 4, 1, 1, 2, 0, 1, 2, 3, 3, 1, 0, 2, 1, 9, 1, 2})
	f.Add([]byte{1, 3, 5, 1, 9, 2, 2, 1, 0, 0, 4, 2, 2, 2, 0, 6, 0, 0, 0, 0, 5, 1, 7})
	f.Fuzz(runFuzzOnce)
}

func runFuzzOnce(t *testing.T, data []byte) {
	{
		cfg := DefaultConfig(1, 4)
		cfg.MissCountConst = 1
		m, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Duration(0)
		_ = m.Step(now, Start{RingSeq: 3})
		r := fuzzReader{b: data}
		for steps := 0; steps < 400 && !r.done(); steps++ {
			now += time.Duration(r.u8()) * time.Millisecond * 20
			var in Input = Tick{}
			switch r.u8() % 9 {
			case 0:
				in = Receive{Msg: fuzzJoin(&r)}
			case 1:
				in = Receive{Msg: fuzzCommit(&r)}
			case 2:
				in = Receive{Msg: fuzzToken(&r)}
			case 3:
				in = Receive{Msg: &wire.Mcast{
					Header: wire.Header{Encapsulated: 1 + r.u8()%2, NodeID: r.node()},
					From:   wire.NodeAddr(r.node()), Seq: r.seq(), RingID: r.ring(),
					Payload: r.bytes(),
				}}
			case 4:
				in = Receive{Msg: &wire.MergeDetect{From: wire.NodeAddr(r.node()), RingID: r.ring()}}
			case 5:
				in = Receive{Msg: &wire.TokenHoldCancel{RingID: r.ring()}}
			case 6:
				in = Send{Payload: r.bytes()}
			case 7:
				// a message built from our own last output, slightly altered
				if rd := m.Ready(); len(rd.Packets) > 0 {
					in = Receive{Msg: rd.Packets[int(r.u8())%len(rd.Packets)].Msg}
				}
			case 8:
				if r.u8()%16 == 0 {
					in = Leave{}
				}
			}
			_ = m.Step(now, in)
			rd := m.Ready()
			if rd.HasDeadline && rd.Deadline < now {
				t.Fatalf("deadline %v before now %v", rd.Deadline, now)
			}
			m.Advance()
		}
	}
}

type fuzzReader struct {
	b []byte
	i int
}

func (r *fuzzReader) done() bool { return r.i >= len(r.b) }
func (r *fuzzReader) u8() uint8 {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}
func (r *fuzzReader) node() NodeID { return NodeID(r.u8() % 5) }
func (r *fuzzReader) seq() uint32 {
	v := uint32(r.u8() % 40)
	if v == 39 {
		return ^uint32(0) - uint32(r.u8())
	}
	return v
}
func (r *fuzzReader) ring() RingID {
	return RingID{Rep: r.node(), Seq: uint64(r.u8() % 24)}
}
func (r *fuzzReader) nodes() []wire.Addr {
	n := int(r.u8() % 6)
	out := make([]wire.Addr, n)
	for i := range out {
		out[i] = wire.NodeAddr(r.node())
	}
	return out
}
func (r *fuzzReader) bytes() []byte {
	n := int(r.u8() % 8)
	out := make([]byte, 0, n)
	for range n {
		out = append(out, r.u8())
	}
	return out
}

func fuzzJoin(r *fuzzReader) *wire.Join {
	return &wire.Join{Header: wire.Header{NodeID: r.node()}, From: wire.NodeAddr(r.node()),
		RingSeq: uint64(r.u8() % 24), Proc: r.nodes(), Failed: r.nodes()}
}

func fuzzCommit(r *fuzzReader) *wire.CommitToken {
	c := &wire.CommitToken{TokenSeq: uint32(r.u8()), RingID: r.ring(), MembIndex: uint32(r.u8() % 7), Addrs: r.nodes()}
	n := len(c.Addrs)
	if r.u8()%8 == 0 {
		n = int(r.u8() % 6)
	}
	c.Memb = make([]wire.MembEntry, n)
	for i := range c.Memb {
		c.Memb[i] = wire.MembEntry{RingID: r.ring(), Aru: r.seq(), HighDelivered: r.seq(), ReceivedFlg: uint32(r.u8() % 2)}
	}
	return c
}

func fuzzToken(r *fuzzReader) *wire.OrfToken {
	t := &wire.OrfToken{Seq: r.seq(), TokenSeq: uint32(r.u8()), Aru: r.seq(), AruAddr: r.node(),
		RingID: r.ring(), Backlog: uint32(r.u8()), FCC: uint32(r.u8()), RetransFlg: uint32(r.u8() % 2)}
	for n := int(r.u8() % 40); n > 0; n-- {
		t.RTR = append(t.RTR, wire.RTRItem{RingID: r.ring(), Seq: r.seq()})
	}
	return t
}
