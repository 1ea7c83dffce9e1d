package pg

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func msg(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }

// send packs messages (flushing after each batch, like a token arriving)
// and returns the packets.
func send(pk *Packer, batches [][][]byte) [][]byte {
	var out [][]byte
	for _, b := range batches {
		for _, m := range b {
			out = append(out, pk.Add(append(Groups("a"), m)...)...)
		}
		if f := pk.Flush(); f != nil {
			out = append(out, f)
		}
	}
	return out
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		mtu := []int{1410, 1270, 1202, 100}[iter%4]
		var batches [][][]byte
		var all [][]byte
		for b := r.IntN(5) + 1; b > 0; b-- {
			var batch [][]byte
			for k := r.IntN(6); k > 0; k-- {
				n := r.IntN(3000) + 1
				if r.IntN(4) == 0 {
					n = r.IntN(40) + 1
				}
				m := msg(n, byte(len(all)))
				batch = append(batch, m)
				all = append(all, m)
			}
			batches = append(batches, batch)
		}
		pkts := send(NewPacker(mtu), batches)
		as := NewAssembler()
		var got [][]byte
		for _, p := range pkts {
			if len(p) > mtu {
				t.Fatalf("mtu %d: packet of %d bytes", mtu, len(p))
			}
			ms, err := as.Deliver(7, p, false)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ms...)
		}
		if len(got) != len(all) {
			t.Fatalf("iter %d: %d messages delivered, %d sent", iter, len(got), len(all))
		}
		for i := range all {
			gs, body, err := SplitGroups(got[i], false)
			if err != nil || !InGroup(gs, "a") || !bytes.Equal(body, all[i]) {
				t.Fatalf("iter %d msg %d differs (%v)", iter, i, err)
			}
		}
	}
}

func TestFragmentNumbers(t *testing.T) {
	pk := NewPacker(1410)
	pkts := send(pk, [][][]byte{{msg(5000, 1)}})
	var fr, co []uint8
	for _, b := range pkts {
		p, err := Decode(b, false)
		if err != nil {
			t.Fatal(err)
		}
		fr = append(fr, p.Fragmented)
		co = append(co, p.Continuation)
	}
	// 5005 bytes with group header: 1400 + 1400 + 1400 + 805.
	if !bytes.Equal(fr, []byte{1, 2, 3, 0}) || !bytes.Equal(co, []byte{0, 1, 2, 3}) {
		t.Errorf("fragmented %v continuation %v", fr, co)
	}
	// Small messages stage until Flush and then share one packet.
	if out := pk.Add(append(Groups("a"), msg(10, 2))...); out != nil || pk.Pending() != 1 {
		t.Errorf("small message sent at once: %d", len(out))
	}
	pk.Add(append(Groups("sync"), msg(20, 3))...)
	p, err := Decode(pk.Flush(), false)
	if err != nil || len(p.Chunks) != 2 || len(p.Chunks[0]) != 15 || len(p.Chunks[1]) != 28 {
		t.Errorf("packed %+v %v", p, err)
	}
	if pk.Flush() != nil {
		t.Error("second flush not empty")
	}
}

// A receiver that joins in the middle of a fragmented message throws the
// tail away, and with it whatever the same packet carried (as corosync does).
func TestThrowAway(t *testing.T) {
	whole := func(n int, fill byte) []byte { return append(Groups("a")[0], append([]byte("a"), msg(n, fill)...)...) }
	big := whole(2000, 1)
	pkts := [][]byte{
		(&Packet{Fragmented: 1, Chunks: [][]byte{big[:1500]}}).Append(nil),
		(&Packet{Continuation: 1, Chunks: [][]byte{big[1500:], whole(10, 2)}}).Append(nil),
		(&Packet{Chunks: [][]byte{whole(30, 3)}}).Append(nil),
	}
	as := NewAssembler()
	ms, _ := as.Deliver(1, pkts[1], false) // tail of the big message + a whole one
	if len(ms) != 0 || as.Stats.Discarded != 1 {
		t.Errorf("delivered %d from an orphaned continuation", len(ms))
	}
	ms, _ = as.Deliver(1, pkts[2], false)
	if len(ms) != 1 || len(ms[0]) != 35 {
		t.Errorf("next packet: %d messages", len(ms))
	}
	// In order, both come out.
	as = NewAssembler()
	as.Deliver(1, pkts[0], false)
	if ms, _ := as.Deliver(1, pkts[1], false); len(ms) != 2 || !bytes.Equal(ms[0], big) || len(ms[1]) != 15 {
		t.Errorf("in-order delivery: %d messages", len(ms))
	}
	// Partial data is dropped when its sender leaves.
	as = NewAssembler()
	as.Deliver(1, pkts[0], false)
	as.NodeLeft(1)
	if ms, _ := as.Deliver(1, pkts[1], false); len(ms) != 0 {
		t.Error("delivered after NodeLeft")
	}
	// The transitional set is separate.
	as = NewAssembler()
	as.Deliver(1, pkts[0], false)
	as.SetWaitingTransAck(true)
	if ms, _ := as.Deliver(1, pkts[1], false); len(ms) != 0 {
		t.Error("transitional buffers shared with normal ones")
	}
	as.SetWaitingTransAck(false)
	if ms, _ := as.Deliver(1, pkts[1], false); len(ms) != 2 || !bytes.Equal(ms[0], big) {
		t.Errorf("normal buffer lost: %d", len(ms))
	}
}

func TestDecodeErrors(t *testing.T) {
	good := send(NewPacker(1410), [][][]byte{{msg(10, 1)}})[0]
	for _, b := range [][]byte{nil, good[:7], good[:len(good)-1], append(append([]byte(nil), good...), 0),
		{0, 0, 0, 0, 0, 0, 0xff, 0xff}} {
		if _, err := Decode(b, false); !errors.Is(err, ErrLength) {
			t.Errorf("Decode(%x) = %v", b, err)
		}
	}
	as := NewAssembler()
	if _, err := as.Deliver(1, good[:5], false); err == nil || as.Stats.BadLength != 1 {
		t.Error("short packet accepted")
	}
	// Foreign byte order.
	be := []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 7, 0, 1, 0, 1, 'a', 'x', 'y'}
	p, err := Decode(be, true)
	if err != nil || len(p.Chunks) != 1 {
		t.Fatalf("big-endian packet: %v", err)
	}
	gs, body, err := SplitGroups(p.Chunks[0], true)
	if err != nil || string(gs[0]) != "a" || string(body) != "xy" {
		t.Errorf("big-endian groups %q %q %v", gs, body, err)
	}
	if _, _, err := SplitGroups([]byte{5, 0, 1}, false); !errors.Is(err, ErrGroups) {
		t.Error("bad group header accepted")
	}
}

func TestOverflow(t *testing.T) {
	as := NewAssembler()
	pkts := send(NewPacker(1410), [][][]byte{{msg(MaxAssembly+10, 1)}})
	var err error
	for _, p := range pkts {
		if _, err = as.Deliver(1, p, false); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrOverflow) || as.Stats.Overflow != 1 {
		t.Errorf("overflow not reported: %v", err)
	}
}

// FuzzPG feeds arbitrary packets to an Assembler (it must not panic or
// grow without bound), and checks that messages sized by the input survive
// a Packer/Assembler round trip.
func FuzzPG(f *testing.F) {
	for _, b := range send(NewPacker(200), [][][]byte{{msg(500, 1), msg(10, 2)}, {msg(3, 3)}}) {
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 0, 1, 0, 1, 0, 3, 0, 1, 0, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		as := NewAssembler()
		for i := 0; i < 3; i++ {
			if ms, err := as.Deliver(uint32(i%2), b, i == 2); err == nil {
				for _, m := range ms {
					SplitGroups(m, false)
				}
			}
		}
		// The input also read as a stream of packets, each prefixed by a
		// one-byte length, from two senders, with a transitional switch.
		as = NewAssembler()
		for rest, i := b, 0; len(rest) > 1; i++ {
			l := min(int(rest[0]), len(rest)-1)
			as.SetWaitingTransAck(i%5 == 4)
			as.Deliver(uint32(i%3&1), rest[1:1+l], false)
			rest = rest[1+l:]
		}
		if len(b) == 0 {
			return
		}
		mtu := 30 + int(b[0])
		var batch [][]byte
		for i, c := range b[1:] {
			batch = append(batch, msg(int(c)*int(c)%3000+1, byte(i)))
		}
		pk := NewPacker(mtu)
		as = NewAssembler()
		n := 0
		for _, p := range send(pk, [][][]byte{batch}) {
			if len(p) > mtu {
				t.Fatalf("packet %d > mtu %d", len(p), mtu)
			}
			ms, err := as.Deliver(1, p, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if _, body, _ := SplitGroups(m, false); !bytes.Equal(body, batch[n]) {
					t.Fatalf("message %d differs", n)
				}
				n++
			}
		}
		if n != len(batch) {
			t.Fatalf("%d of %d delivered", n, len(batch))
		}
	})
}

func BenchmarkPack(b *testing.B) {
	small, big := msg(100, 1), msg(4000, 2)
	pk := NewPacker(1410)
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < 10; i++ {
			pk.Add(Groups("a")[0], []byte("a"), small)
		}
		pk.Add(Groups("a")[0], []byte("a"), big)
		pk.Flush()
	}
}

func BenchmarkAssemble(b *testing.B) {
	var batch [][]byte
	for i := 0; i < 10; i++ {
		batch = append(batch, msg(100, 1))
	}
	batch = append(batch, msg(4000, 2))
	pkts := send(NewPacker(1410), [][][]byte{batch})
	as := NewAssembler()
	n := 0
	for _, p := range pkts {
		n += len(p)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range pkts {
			if _, err := as.Deliver(1, p, false); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// FuzzAssembler builds well-formed packets with arbitrary fragment and
// continuation numbers and chunk counts (including 0), which random bytes
// rarely reach, to drive the throw-away and partial-move paths.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte{1, 0, 2, 10, 20, 0, 1, 1, 5, 0, 0, 1, 3})
	f.Add([]byte{0, 3, 3, 1, 2, 3, 1, 0, 0, 2, 1, 2, 9, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		as := NewAssembler()
		// general: the same input through the reassembly buffer only; the
		// fresh-message shortcut must not change what is delivered.
		general := NewAssembler()
		general.noFresh = true
		for len(b) >= 3 {
			p := Packet{Fragmented: b[0] % 4, Continuation: b[1] % 4}
			n := int(b[2] % 4)
			b = b[3:]
			for i := 0; i < n && len(b) > 0; i++ {
				p.Chunks = append(p.Chunks, msg(int(b[0]%64), byte(i)))
				b = b[1:]
			}
			ms, err := as.Deliver(1, p.Append(nil), false)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := general.Deliver(1, p.Append(nil), false)
			if len(ms) != len(want) {
				t.Fatalf("%d messages, general path %d", len(ms), len(want))
			}
			for i := range ms {
				if !bytes.Equal(ms[i], want[i]) {
					t.Fatalf("message %d differs from the general path", i)
				}
			}
			if as.normal[1] != nil && general.normal[1] != nil && (as.normal[1].index != general.normal[1].index ||
				as.normal[1].lastFrag != general.normal[1].lastFrag || as.normal[1].throwingOut != general.normal[1].throwingOut ||
				!bytes.Equal(as.normal[1].data[:as.normal[1].index], general.normal[1].data[:general.normal[1].index])) {
				t.Fatalf("state %+v, general path %+v", *as.normal[1], *general.normal[1])
			}
			for _, m := range ms {
				if len(m) > MaxAssembly {
					t.Fatal("oversized message")
				}
			}
		}
	})
}

// BenchmarkAssemblePacked delivers full packets of 80-byte messages (pload's
// 64 B payload with its header), the ring's busiest case, through the
// fresh-message path and through the general reassembly path.
func BenchmarkAssemblePacked(b *testing.B) {
	var batch [][]byte
	for range 160 {
		batch = append(batch, msg(80, 1))
	}
	pkts := send(NewPacker(1410), [][][]byte{batch})
	n := 0
	for _, p := range pkts {
		n += len(p)
	}
	for _, general := range []bool{false, true} {
		name := "fresh"
		if general {
			name = "general"
		}
		b.Run(name, func(b *testing.B) {
			as := NewAssembler()
			as.noFresh = general
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range pkts {
					if _, err := as.Deliver(1, p, false); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
