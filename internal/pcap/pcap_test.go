package pcap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"ringmaster/internal/testenv"
)

func TestCaptureFiles(t *testing.T) {
	for _, tc := range []struct {
		file string
		n    int
	}{
		{"totem2/udpu-crypto.pcap", 493},
		{"totem2/udp-plain.pcap", 492},
	} {
		ds, err := UDPFile(testenv.Shared(t, "testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != tc.n {
			t.Errorf("%s: %d datagrams, want %d", tc.file, len(ds), tc.n)
		}
		if len(ds) > 0 && ds[0].Frame != 1 {
			t.Errorf("%s: first frame %d", tc.file, ds[0].Frame)
		}
	}
	ds, err := UDPFile(testenv.Shared(t, "testdata", "totem2/udpu-crypto.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	// Frame 18: first ORF token of ring 9 (corosync2-crypto.md §8).
	d := ds[17]
	if d.Frame != 18 || d.Src != netip.MustParseAddrPort("192.0.2.11:5405") ||
		d.Dst != netip.MustParseAddrPort("192.0.2.12:5405") || len(d.Payload) != 120 {
		t.Errorf("frame 18 = %v %v->%v len %d", d.Frame, d.Src, d.Dst, len(d.Payload))
	}
}

// ngFile builds a small pcapng stream holding one Ethernet/IPv4/UDP frame.
func ngFile(payload []byte) []byte {
	le := binary.LittleEndian
	var b bytes.Buffer
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		b.Write(le.AppendUint32(nil, typ))
		b.Write(le.AppendUint32(nil, n))
		b.Write(body)
		b.Write(le.AppendUint32(nil, n))
	}
	shb := le.AppendUint32(nil, 0x1A2B3C4D)
	shb = append(shb, 1, 0, 0, 0)
	shb = append(shb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	block(0x0A0D0D0A, shb)
	idb := []byte{1, 0, 0, 0, 0, 0, 4, 0}
	idb = append(idb, 9, 0, 1, 0, 9, 0, 0, 0) // if_tsresol = 10^-9
	block(1, idb)
	frame := udpFrame(payload)
	epb := le.AppendUint32(nil, 0)
	ts := uint64(1_700_000_000_123_456_789)
	epb = le.AppendUint32(epb, uint32(ts>>32))
	epb = le.AppendUint32(epb, uint32(ts))
	epb = le.AppendUint32(epb, uint32(len(frame)))
	epb = le.AppendUint32(epb, uint32(len(frame)))
	block(6, append(epb, frame...))
	return b.Bytes()
}

func udpFrame(payload []byte) []byte {
	be := binary.BigEndian
	eth := make([]byte, 12)
	eth = be.AppendUint16(eth, 0x0800)
	ip := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 1, 17, 0, 0, 192, 0, 2, 1, 239, 192, 0, 1}
	be.PutUint16(ip[2:], uint16(20+8+len(payload)))
	udp := be.AppendUint16(nil, 5404)
	udp = be.AppendUint16(udp, 5405)
	udp = be.AppendUint16(udp, uint16(8+len(payload)))
	udp = append(udp, 0, 0)
	return append(append(append(eth, ip...), udp...), payload...)
}

func TestPcapNG(t *testing.T) {
	frames, err := Read(bytes.NewReader(ngFile([]byte("hello"))))
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 {
		t.Fatalf("%d frames", len(frames))
	}
	if got := frames[0].Time.UnixNano(); got != 1_700_000_000_123_456_789 {
		t.Errorf("time %d", got)
	}
	d, ok := frames[0].UDP()
	if !ok || string(d.Payload) != "hello" || d.Dst.String() != "239.192.0.1:5405" {
		t.Errorf("udp %v %+v", ok, d)
	}
}

func TestBadInput(t *testing.T) {
	for _, in := range [][]byte{nil, {1, 2, 3, 4, 5}, ngFile(nil)[:30]} {
		if _, err := Read(bytes.NewReader(in)); err == nil {
			t.Errorf("Read(%x) succeeded", in)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(ngFile([]byte("x")))
	classic := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0}
	fr := udpFrame([]byte("y"))
	rec := binary.LittleEndian.AppendUint32(nil, 1)
	rec = binary.LittleEndian.AppendUint32(rec, 2)
	rec = binary.LittleEndian.AppendUint32(rec, uint32(len(fr)))
	rec = binary.LittleEndian.AppendUint32(rec, uint32(len(fr)))
	f.Add(append(append(classic, rec...), fr...))
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, _ := Read(bytes.NewReader(b))
		for _, fr := range frames {
			fr.UDP()
		}
	})
}
