package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The hand-decoded vectors of docs/corosync-wire.md §8.
func TestSpecVectors3(t *testing.T) {
	r15 := RingID{Rep: 1, Seq: 5}
	r19 := RingID{Rep: 1, Seq: 9}
	for _, tc := range []struct {
		name string
		hex  string
		want Message
	}{
		{"join", "70c0 03 03 00 01000000 00000000 | 01000000 01000000 00000000 0100000000000000 | 01000000",
			&Join{Header: Header{NodeID: 1}, From: NodeAddr(1), RingSeq: 1, Proc: []Addr{NodeAddr(1)}}},
		{"merge", "70c0 03 02 00 01000000 5f336b4b | 01000000 | 01000000 0500000000000000",
			&MergeDetect{Header: Header{NodeID: 1, Target: 0x4b6b335f}, From: NodeAddr(1), RingID: r15}},
		{"commit", `70c0 03 04 00 01000000 00000000 | 01000000 | 01000000 0900000000000000 | 00000000 | 01000000 | 02000000 |
			01000000 02000000 | 01000000 0500000000000000 08000000 08000000 01000000 | 000000000000000000000000 00000000 00000000 00000000`,
			&CommitToken{Header: Header{NodeID: 1}, TokenSeq: 1, RingID: r19, MembIndex: 1,
				Addrs: []Addr{NodeAddr(1), NodeAddr(2)},
				Memb:  []MembEntry{{RingID: r15, Aru: 8, HighDelivered: 8, ReceivedFlg: 1}, {}}}},
		{"orf", "70c0 03 00 00 01000000 00000002 00000000 00000000 ffffffff 01000000 01000000 0900000000000000 00000000 00000000 00000000 00000000",
			&OrfToken{Header: Header{NodeID: 1, Target: 0x02000000}, Aru: 0xffffffff, AruAddr: 1, RingID: r19}},
		{"hold-cancel", "70c0 03 05 00 01000000 00000000 | 01000000 0900000000000000",
			&TokenHoldCancel{Header: Header{NodeID: 1}, RingID: r19}},
		{"leave", "70c0 03 03 00 00000000 00000000 | 03000000 02000000 01000000 1600000000000000 | 01000000 02000000 | 03000000",
			&Join{From: NodeAddr(3), RingSeq: 0x16, Proc: []Addr{NodeAddr(1), NodeAddr(2)}, Failed: []Addr{NodeAddr(3)}}},
	} {
		b := unhex(t, tc.hex)
		m, err := Decode(b, V3)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(m, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, m, tc.want)
		}
		if got := Encode(tc.want, V3); !bytes.Equal(got, b) {
			t.Errorf("%s: encode\n got %x\nwant %x", tc.name, got, b)
		}
		if EncodedLen(tc.want, V3) != len(b) {
			t.Errorf("%s: EncodedLen %d, want %d", tc.name, EncodedLen(tc.want, V3), len(b))
		}
	}
	if j, _ := Decode(unhex(t, "70c0 03 03 00 00000000 00000000 03000000 00000000 01000000 1600000000000000 03000000"), V3); !j.(*Join).IsLeave() {
		t.Error("leave not recognised")
	}
}

// The worked example of docs/corosync2-crypto.md §8 (frame 18 of udpu-crypto.pcap).
func TestSpecVector2(t *testing.T) {
	b := unhex(t, `00 00 22ff 01000000 00000000 00000000 ffffffff 01000000
		01000000 0200 c000020b 000000000000000000000000 0900000000000000
		00000000 00000000 00000000 00000000`)
	m, err := Decode(b, V2)
	if err != nil {
		t.Fatal(err)
	}
	want := &OrfToken{Header: Header{NodeID: 1}, Aru: 0xffffffff, AruAddr: 1,
		RingID: RingID{Rep: 1, RepIP: IPv4Addr(1, 192, 0, 2, 11), Seq: 9}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
	if got := Encode(want, V2); !bytes.Equal(got, b) {
		t.Errorf("encode\n got %x\nwant %x", got, b)
	}
}

func sampleMessages(f Framing) []Message {
	r := RingID{Rep: 1, Seq: 0x1122334455667788}
	a := []Addr{NodeAddr(1), NodeAddr(2), NodeAddr(3)}
	if f == V2 {
		ip := func(n byte) IPAddr { return IPv4Addr(NodeID(n), 192, 0, 2, n) }
		r.RepIP = ip(1)
		a = []Addr{Addr2(ip(1)), Addr2(ip(2)), Addr2(ip(3))}
		a[2].IP[1] = IPAddr{NodeID: 3, Family: AFInet6, Addr: [16]byte{0xfe, 0x80, 15: 3}}
	}
	old := r
	old.Seq = 4
	return []Message{
		&OrfToken{Header: Header{NodeID: 2}, Seq: 10, TokenSeq: 99, Aru: 7, AruAddr: 3, RingID: r,
			Backlog: 4, FCC: 5, RetransFlg: 1, RTR: []RTRItem{{RingID: r, Seq: 8}, {RingID: old, Seq: 9}}},
		&Mcast{Header: Header{NodeID: 3, Encapsulated: NotEncapsulated}, From: a[2], Seq: 11, ThisSeqno: 4,
			RingID: r, Guarantee: 1, Payload: []byte("payload bytes")},
		&MergeDetect{Header: Header{NodeID: 1}, From: a[0], RingID: r},
		&Join{Header: Header{NodeID: 1}, From: a[0], RingSeq: 77, Proc: a, Failed: a[1:2]},
		&CommitToken{Header: Header{NodeID: 1}, TokenSeq: 3, RingID: r, MembIndex: 2, Addrs: a,
			Memb: []MembEntry{{RingID: old, Aru: 1, HighDelivered: 2, ReceivedFlg: 1}, {RingID: old, Aru: 3}, {}}},
		&TokenHoldCancel{Header: Header{NodeID: 2}, RingID: r},
	}
}

// A peer of the other byte order: everything but 2.x address bytes and the
// mcast payload is swapped, and Decode converts it back.
func TestForeignEndian(t *testing.T) {
	for _, f := range []Framing{V3, V2} {
		for _, m := range sampleMessages(f) {
			w := writer{swap: true}
			w.encode(m, f)
			got, err := Decode(w.b, f)
			if err != nil {
				t.Fatalf("%s %s: %v", f, m.Type(), err)
			}
			if !got.Hdr().ForeignEndian {
				t.Errorf("%s %s: ForeignEndian not set", f, m.Type())
			}
			got.Hdr().ForeignEndian = false
			if !reflect.DeepEqual(got, m) {
				t.Errorf("%s %s:\n got %+v\nwant %+v", f, m.Type(), got, m)
			}
			if bytes.Equal(w.b, Encode(m, f)) {
				t.Errorf("%s %s: big-endian encoding equals little-endian", f, m.Type())
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, f := range []Framing{V3, V2} {
		for _, m := range sampleMessages(f) {
			b := Encode(m, f)
			if len(b) != EncodedLen(m, f) {
				t.Errorf("%s %s: len %d, EncodedLen %d", f, m.Type(), len(b), EncodedLen(m, f))
			}
			if typ, err := PeekType(b, f); err != nil || typ != m.Type() {
				t.Errorf("%s %s: PeekType %v %v", f, m.Type(), typ, err)
			}
			got, err := Decode(b, f)
			if err != nil {
				t.Fatalf("%s %s: %v", f, m.Type(), err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("%s %s:\n got %+v\nwant %+v", f, m.Type(), got, m)
			}
			// An encapsulated recovery copy carries the whole old mcast.
			if mc, ok := m.(*Mcast); ok {
				enc := &Mcast{Header: Header{NodeID: 1, Encapsulated: Encapsulated}, From: mc.From, RingID: mc.RingID, Payload: b}
				outer, err := Decode(Encode(enc, f), f)
				if err != nil {
					t.Fatal(err)
				}
				inner, err := Decode(outer.(*Mcast).Payload, f)
				if err != nil || !reflect.DeepEqual(inner, m) {
					t.Errorf("%s: encapsulated inner %+v %v", f, inner, err)
				}
			}
		}
	}
	// Sizes given by corosync-wire.md §2.
	sizes := map[Framing][]int{V3: {57 + 2*16, 45 + 13, 29, 33 + 4*4, 41 + 28*3, 25},
		V2: {70 + 2*34, 99 + 13, 83, 69 + 45*4, 54 + 87*3, 38}}
	for f, want := range sizes {
		for i, m := range sampleMessages(f) {
			if n := EncodedLen(m, f); n != want[i] {
				t.Errorf("%s %s: size %d, want %d", f, m.Type(), n, want[i])
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	join3 := Encode(sampleMessages(V3)[3], V3)
	orf2 := Encode(sampleMessages(V2)[0], V2)
	mut := func(b []byte, off int, v ...byte) []byte {
		c := append([]byte(nil), b...)
		copy(c[off:], v)
		return c
	}
	for _, tc := range []struct {
		name string
		b    []byte
		f    Framing
		want error
	}{
		{"empty3", nil, V3, ErrShort},
		{"empty2", nil, V2, ErrShort},
		{"header-only", join3[:13], V3, ErrShort},
		{"truncated-list", join3[:len(join3)-1], V3, ErrShort},
		{"2.3 packet to 3.x", mut(join3, 0, 0xfe, 0xfe), V3, ErrMagic},
		{"version", mut(join3, 2, 2), V3, ErrVersion},
		{"type", mut(join3, 3, 6), V3, ErrType},
		{"huge-count", mut(join3, 17, 0xff, 0xff, 0xff, 0x7f), V3, ErrShort},
		{"3.x packet to 2.x", join3, V2, ErrMagic},
		{"type2", mut(orf2, 0, 9), V2, ErrType},
		{"bad family", mut(orf2, 24+4, 7), V2, ErrAddress},
		{"rtr>30", mut(orf2, 66, 31), V2, ErrTooMany},
		{"rtr short", mut(orf2, 66, 3), V2, ErrShort},
		{"srp_addr count 0", mut(Encode(sampleMessages(V2)[2], V2), 8, 0), V2, ErrAddress},
		{"srp_addr count 3", mut(Encode(sampleMessages(V2)[2], V2), 8, 3), V2, ErrAddress},
	} {
		m, err := Decode(tc.b, tc.f)
		if !errors.Is(err, tc.want) || m != nil {
			t.Errorf("%s: got %v, %v; want %v", tc.name, m, err, tc.want)
		}
	}
	// Trailing bytes after a fixed-size message are tolerated, like corosync.
	if _, err := Decode(append(Encode(sampleMessages(V3)[5], V3), 1, 2, 3), V3); err != nil {
		t.Errorf("trailing bytes: %v", err)
	}
}

func TestLess2(t *testing.T) {
	a := Addr2(IPv4Addr(9, 192, 0, 2, 9))
	b := Addr2(IPv4Addr(1, 192, 0, 2, 10))
	if !a.Less2(b) || b.Less2(a) || a.Less2(a) {
		t.Error("Less2 does not order by ring0 address")
	}
	c := b
	c.Node = 5
	if !b.Equal2(c) || a.Equal2(b) {
		t.Error("Equal2")
	}
}

// checkProperty is shared by the fuzz targets: a decoded message re-encodes
// to a prefix of its input (exactly the input for mcast and for messages
// without trailing bytes), and decodes again to the same value.
func checkProperty(t *testing.T, b []byte, f Framing) {
	m, err := Decode(b, f)
	if err != nil {
		return
	}
	enc := Encode(m, f)
	if !m.Hdr().ForeignEndian && !bytes.HasPrefix(b, enc) {
		t.Fatalf("re-encode is not a prefix of the input\n in %x\nout %x", b, enc)
	}
	m2, err := Decode(enc, f)
	if err != nil {
		t.Fatalf("re-decode: %v", err)
	}
	m.Hdr().ForeignEndian = false
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("re-decode differs\n%+v\n%+v", m, m2)
	}
}

func fuzzSeeds(f *testing.F, fr Framing) {
	for _, m := range sampleMessages(fr) {
		f.Add(Encode(m, fr))
		w := writer{swap: true}
		w.encode(m, fr)
		f.Add(w.b)
	}
}

func FuzzDecode3(f *testing.F) {
	fuzzSeeds(f, V3)
	f.Fuzz(func(t *testing.T, b []byte) { checkProperty(t, b, V3) })
}

func FuzzDecode2(f *testing.F) {
	fuzzSeeds(f, V2)
	f.Fuzz(func(t *testing.T, b []byte) { checkProperty(t, b, V2) })
}

func TestFormat(t *testing.T) {
	want := map[Framing][]string{
		V3: {
			"orf_token nodeid=2 seq=10 token_seq=99 aru=0x7 aru_addr=3 ring=1.1122334455667788 backlog=4 fcc=5 retrans_flg=1 rtr=2 [1.1122334455667788:8] [1.4:9]",
			"mcast nodeid=3 encap=2 from=3 seq=11 this_seqno=4 ring=1.1122334455667788 guarantee=1 payload=13",
			"memb_merge_detect nodeid=1 from=1 ring=1.1122334455667788",
			"memb_join nodeid=1 from=1 ring_seq=77 proc=[1 2 3] failed=[2]",
			"memb_commit_token nodeid=1 token_seq=3 ring=1.1122334455667788 memb_index=2 addrs=[1 2 3] {ring=1.4 aru=0x1 high_delivered=0x2 received_flg=1} {ring=1.4 aru=0x3 high_delivered=0x0 received_flg=0} {ring=0.0 aru=0x0 high_delivered=0x0 received_flg=0}",
			"token_hold_cancel nodeid=2 ring=1.1122334455667788",
		},
	}
	for i, m := range sampleMessages(V3) {
		if got := Format(m); got != want[V3][i] {
			t.Errorf("got  %s\nwant %s", got, want[V3][i])
		}
	}
	j := sampleMessages(V2)[3]
	if got := Format(j); got != "memb_join nodeid=1 from=1/192.0.2.1 ring_seq=77 proc=[1/192.0.2.1 2/192.0.2.2 3/192.0.2.3] failed=[2/192.0.2.2]" {
		t.Errorf("2.x: %s", got)
	}
}
