package transport

import (
	"errors"
	"os"
	"testing"
	"time"

	"ringmaster/totem/wire"
)

// directWithin reads with d until a packet matching ok arrives (bounded).
func directWithin(t *testing.T, d *Direct, what string, ok func(Packet) bool) Packet {
	t.Helper()
	for range 200 {
		pkts, err := d.Read(time.Now().Add(50*time.Millisecond), nil)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, ErrWoken) {
			t.Fatalf("%s: %v", what, err)
		}
		for _, p := range pkts {
			if ok(p) {
				return p
			}
		}
	}
	t.Fatalf("%s: nothing received", what)
	return Packet{}
}

// A driver that receives on its own goroutine (Direct) gets what the
// receiver had queued before, then reads the socket itself; a regular mcast
// to All is not copied back to its sender, a join is; and batched sends keep
// their order.
func TestUDPUDirect(t *testing.T) {
	n := newTestNet(t)
	a := open(t, n.a, Config{Mode: UDPU, LocalAddr: ip1, Members: members, Framing: wire.V3})
	b := open(t, n.b, Config{Mode: UDPU, LocalAddr: ip2, Members: members, Framing: wire.V3})
	if err := a.SendMsg(All, join(1), true); err != nil {
		t.Fatal(err)
	}
	waitCounter(t, "b received the early join", b.Stats.Received.Load, 1)
	db := b.Direct()
	if db == nil || b.Direct() != db {
		t.Fatal("Direct: not one receiver")
	}
	directWithin(t, db, "queued join", isType(wire.TypeJoin))

	// Woken and timed-out reads return without packets.
	db.Wake()
	if pkts, err := db.Read(time.Time{}, nil); !errors.Is(err, ErrWoken) || len(pkts) != 0 {
		t.Fatalf("after Wake: %v %v", pkts, err)
	}
	if _, err := db.Read(time.Now().Add(20*time.Millisecond), nil); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle read: %v", err)
	}

	da := a.Direct()
	ring := wire.RingID{Rep: 1, Seq: 4}
	var out []Out
	for i := range 5 {
		out = append(out, Out{To: All, Msg: &wire.Mcast{Header: wire.Header{NodeID: 1, Encapsulated: wire.NotEncapsulated},
			From: wire.NodeAddr(1), Seq: uint32(i + 1), RingID: ring, Payload: []byte{byte(i)}}})
	}
	out = append(out, Out{To: 2, Msg: &wire.OrfToken{Header: wire.Header{NodeID: 1}, Seq: 5, RingID: ring}})
	if err := a.SendMsgs(out); err != nil {
		t.Fatal(err)
	}
	var seqs []uint32
	directWithin(t, db, "mcasts then token", func(p Packet) bool {
		switch m := p.Msg.(type) {
		case *wire.Mcast:
			seqs = append(seqs, m.Seq)
		case *wire.OrfToken:
			return true
		}
		return false
	})
	if len(seqs) != 5 || seqs[0] != 1 || seqs[4] != 5 {
		t.Errorf("mcasts before the token: %v", seqs)
	}
	// a: its own join comes back, its mcasts do not.
	if err := a.SendMsg(All, join(1), true); err != nil {
		t.Fatal(err)
	}
	directWithin(t, da, "own join", func(p Packet) bool {
		if p.Msg.Type() == wire.TypeMcast {
			t.Errorf("own mcast %d came back", p.Msg.(*wire.Mcast).Seq)
		}
		return p.Msg.Type() == wire.TypeJoin
	})
}
