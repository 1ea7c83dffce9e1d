package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"ringmaster/internal/pcap"
	"ringmaster/internal/testenv"
)

func datagrams(t testing.TB, rel string) []pcap.Datagram {
	t.Helper()
	ds, err := pcap.UDPFile(testenv.Shared(t, "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 {
		t.Fatalf("%s: no datagrams", rel)
	}
	return ds
}

// summary3 prints a 3.x message the way testdata/totem/decode_totem3.py
// does, so our decode can be compared line by line with *.decoded.txt.
func summary3(m Message, wireLen int) string {
	h := m.Hdr()
	kind := map[MsgType]string{TypeOrfToken: "ORF_TOKEN", TypeMcast: "MCAST", TypeMergeDetect: "MERGE_DETECT",
		TypeJoin: "JOIN", TypeCommitToken: "COMMIT_TOKEN", TypeTokenHoldCancel: "TOKEN_HOLD_CANCEL"}[m.Type()]
	s := fmt.Sprintf("%s ver=3 encap=%d nodeid=%d target=%#x", kind, h.Encapsulated, h.NodeID, uint32(h.Target))
	ids := func(l []Addr) string {
		p := make([]string, len(l))
		for i, a := range l {
			p[i] = strconv.Itoa(int(a.Node))
		}
		return "[" + strings.Join(p, ", ") + "]"
	}
	switch m := m.(type) {
	case *OrfToken:
		s += fmt.Sprintf(" seq=%d token_seq=%d aru=%#x aru_addr=%d ring=%s backlog=%d fcc=%d retrans_flg=%d rtr=%d",
			m.Seq, m.TokenSeq, m.Aru, m.AruAddr, m.RingID, m.Backlog, m.FCC, int32(m.RetransFlg), len(m.RTR))
		for _, it := range m.RTR {
			s += fmt.Sprintf(" [%s:%d]", it.RingID, it.Seq)
		}
	case *Mcast:
		s += fmt.Sprintf(" system_from=%d seq=%d this_seqno=%d ring=%s node_id=%d guarantee=%d payload=%d",
			m.From.Node, m.Seq, int32(m.ThisSeqno), m.RingID, m.NodeIDRaw, int32(m.Guarantee), wireLen-45)
	case *MergeDetect:
		s += fmt.Sprintf(" system_from=%d ring=%s", m.From.Node, m.RingID)
	case *Join:
		s += fmt.Sprintf(" system_from=%d ring_seq=%d proc=%s failed=%s", m.From.Node, m.RingSeq, ids(m.Proc), ids(m.Failed))
	case *CommitToken:
		s += fmt.Sprintf(" token_seq=%d ring=%s retrans_flg=%d memb_index=%d addr_entries=%d addrs=%s",
			m.TokenSeq, m.RingID, m.RetransFlg, int32(m.MembIndex), len(m.Addrs), ids(m.Addrs))
		for _, e := range m.Memb {
			s += fmt.Sprintf(" {ring=%s aru=%#x high_delivered=%#x received_flg=%d}", e.RingID, e.Aru, e.HighDelivered, e.ReceivedFlg)
		}
	case *TokenHoldCancel:
		s += fmt.Sprintf(" ring=%s", m.RingID)
	}
	return s
}

// decodedText returns frame number -> SRP summary line from a *.decoded.txt.
func decodedText(t *testing.T, path string) map[int]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	frame := 0
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			n, err := strconv.Atoi(strings.Fields(l)[0][1:])
			if err != nil {
				t.Fatalf("%s: %q", path, l)
			}
			frame = n
			continue
		}
		if strings.HasPrefix(l, "   ") && !strings.HasPrefix(l, "    ") && frame != 0 {
			out[frame] = strings.TrimSpace(l)
			frame = 0
		}
	}
	return out
}

// TestGolden3 decodes every datagram of the corosync 3.1.7 captures,
// re-encodes it to identical bytes (the uninitialised target_nodeid is
// carried in Header.Target, so no mask is needed) and compares the decode
// with the reference decoder's text.
func TestGolden3(t *testing.T) {
	for _, name := range []string{"c3-udp-3node", "c3-udpu-2node", "c3-udpu-3node"} {
		t.Run(name, func(t *testing.T) {
			ds := datagrams(t, "totem/"+name+".pcap")
			want := decodedText(t, testenv.Shared(t, "testdata", "totem", name+".decoded.txt"))
			counts := map[MsgType]int{}
			same, matched := 0, 0
			for _, d := range ds {
				m, err := Decode(d.Payload, V3)
				if err != nil {
					t.Errorf("frame %d: %v", d.Frame, err)
					continue
				}
				counts[m.Type()]++
				if m.Hdr().ForeignEndian {
					t.Errorf("frame %d: foreign endian", d.Frame)
				}
				if got := Encode(m, V3); bytes.Equal(got, d.Payload) {
					same++
				} else {
					t.Errorf("frame %d: re-encode differs\n got %x\nwant %x", d.Frame, got, d.Payload)
				}
				if w, ok := want[d.Frame]; !ok {
					t.Errorf("frame %d missing from decoded.txt", d.Frame)
				} else if got := summary3(m, len(d.Payload)); got != w {
					t.Errorf("frame %d:\n got %s\nwant %s", d.Frame, got, w)
				} else {
					matched++
				}
			}
			if same != len(ds) || matched != len(want) {
				t.Errorf("%d datagrams, %d re-encoded identically, %d of %d decoded.txt lines matched",
					len(ds), same, matched, len(want))
			}
			t.Logf("%s: %d datagrams decoded, %d re-encoded identically, %d/%d decoded.txt lines equal; types %v",
				name, len(ds), same, matched, len(want), counts)
		})
	}
}

func authkey(t testing.TB) []byte {
	k, err := os.ReadFile(testenv.Shared(t, "testdata", "totem2", "authkey"))
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != AuthKeyLen {
		t.Fatalf("authkey is %d bytes", len(k))
	}
	return k
}

var captures2 = []struct {
	name   string
	cipher Cipher
	hash   Hash
	n      int
}{
	{"udpu-crypto", CipherAES256, HashSHA1, 493},
	{"udpu-plain", CipherNone, HashNone, 493},
	{"udp-plain", CipherNone, HashNone, 492},
	{"udpu-aes128-sha256", CipherAES128, HashSHA256, 0},
	{"udpu-none-sha512", CipherNone, HashSHA512, 0},
}

// saltReader replays the salts of captured packets so that Seal reproduces
// the captured ciphertext byte for byte.
type saltReader struct{ b []byte }

func (s *saltReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, errors.New("no salt")
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// TestGolden2 opens every datagram of the corosync 2.4.6 captures with the
// captured configuration and authkey, decodes the 2.x SRP message,
// re-encodes it identically, and re-seals it (with the captured salt) to
// the identical datagram. Flipped bits and a wrong key are rejected.
func TestGolden2(t *testing.T) {
	key := authkey(t)
	for _, c := range captures2 {
		t.Run(c.name, func(t *testing.T) {
			ds := datagrams(t, "totem2/"+c.name+".pcap")
			if c.n != 0 && len(ds) != c.n {
				t.Errorf("%d datagrams, want %d", len(ds), c.n)
			}
			cr, err := NewCrypto(c.cipher, c.hash, key)
			if err != nil {
				t.Fatal(err)
			}
			bad, err := NewCrypto(c.cipher, c.hash, bytes.Repeat([]byte{0x5a}, AuthKeyLen))
			if err != nil {
				t.Fatal(err)
			}
			counts := map[MsgType]int{}
			opened, same, resealed, rejectedFlip, rejectedKey := 0, 0, 0, 0, 0
			for _, d := range ds {
				pt, err := cr.Open(nil, d.Payload)
				if err != nil {
					t.Errorf("frame %d: open: %v", d.Frame, err)
					continue
				}
				opened++
				m, err := Decode(pt, V2)
				if err != nil {
					t.Errorf("frame %d: decode: %v", d.Frame, err)
					continue
				}
				counts[m.Type()]++
				if got := Encode(m, V2); bytes.Equal(got, pt) {
					same++
				} else {
					t.Errorf("frame %d: re-encode differs\n got %x\nwant %x", d.Frame, got, pt)
				}
				if c.cipher != CipherNone {
					cr.Rand = &saltReader{b: d.Payload[4:20]}
				}
				if sealed, err := cr.Seal(nil, pt); err == nil && bytes.Equal(sealed, d.Payload) {
					resealed++
				} else {
					t.Errorf("frame %d: re-seal differs (%v)", d.Frame, err)
				}
				if c.hash != HashNone {
					for _, bit := range []int{0, 8*len(d.Payload) - 1, 8 * 30} {
						fl := append([]byte(nil), d.Payload...)
						fl[bit/8] ^= 1 << (bit % 8)
						if _, err := cr.Open(nil, fl); err != nil {
							rejectedFlip++
						}
					}
					if _, err := bad.Open(nil, d.Payload); errors.Is(err, ErrCryptoDigest) {
						rejectedKey++
					}
				}
			}
			if opened != len(ds) || same != len(ds) || resealed != len(ds) {
				t.Errorf("%d datagrams: %d opened, %d re-encoded, %d re-sealed", len(ds), opened, same, resealed)
			}
			if c.hash != HashNone && (rejectedFlip != 3*len(ds) || rejectedKey != len(ds)) {
				t.Errorf("flipped bits: %d/%d rejected; wrong key: %d/%d rejected", rejectedFlip, 3*len(ds), rejectedKey, len(ds))
			}
			t.Logf("%s (%s/%s): %d datagrams opened+decoded, %d re-encoded identically, %d re-sealed identically; bit flips rejected %d, wrong key rejected %d; types %v",
				c.name, c.cipher, c.hash, len(ds), same, resealed, rejectedFlip, rejectedKey, counts)
		})
	}
}

// TestPlaintextTSV checks the decrypted bytes of every frame of
// udpu-crypto.pcap against the independently decrypted udpu-crypto.plaintext.tsv.
func TestPlaintextTSV(t *testing.T) {
	cr, err := NewCrypto(CipherAES256, HashSHA1, authkey(t))
	if err != nil {
		t.Fatal(err)
	}
	ds := datagrams(t, "totem2/udpu-crypto.pcap")
	byFrame := map[int][]byte{}
	for _, d := range ds {
		byFrame[d.Frame] = d.Payload
	}
	f, err := os.Open(testenv.Shared(t, "testdata", "totem2", "udpu-crypto.plaintext.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	rows := 0
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		fs := strings.Split(l, "\t")
		if len(fs) != 5 {
			t.Fatalf("bad row %q", l)
		}
		fr, _ := strconv.Atoi(fs[0])
		wlen, _ := strconv.Atoi(fs[2])
		want, err := hex.DecodeString(fs[4])
		if err != nil {
			t.Fatal(err)
		}
		raw := byFrame[fr]
		if len(raw) != wlen {
			t.Errorf("frame %d: wire length %d, tsv %d", fr, len(raw), wlen)
		}
		got, err := cr.Open(nil, raw)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("frame %d: plaintext differs (%v)", fr, err)
		}
		m, err := Decode(got, V2)
		if err != nil || m.Type().String() != fs[3] {
			t.Errorf("frame %d: type %v, tsv %s (%v)", fr, m, fs[3], err)
		}
		rows++
	}
	if rows != len(ds) {
		t.Errorf("%d tsv rows, %d datagrams", rows, len(ds))
	}
	t.Logf("%d/%d frames match the plaintext tsv", rows, len(ds))
}

// TestReadmeTimeline2 checks our decode of udpu-crypto.pcap against the
// message table in testdata/totem2/README.md (joins, commit tokens, first
// tokens, leaves).
func TestReadmeTimeline2(t *testing.T) {
	cr, err := NewCrypto(CipherAES256, HashSHA1, authkey(t))
	if err != nil {
		t.Fatal(err)
	}
	byFrame := map[int]Message{}
	for _, d := range datagrams(t, "totem2/udpu-crypto.pcap") {
		pt, err := cr.Open(nil, d.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if byFrame[d.Frame], err = Decode(pt, V2); err != nil {
			t.Fatal(err)
		}
	}
	type row struct {
		frame        int
		typ          MsgType
		nodeid       NodeID
		seq          uint64 // ring_seq of a join, ring seq of a token
		proc, failed int
	}
	rows := []row{
		{1, TypeJoin, 1, 1, 1, 0}, {10, TypeJoin, 2, 1, 1, 0}, {11, TypeJoin, 1, 5, 2, 0}, {13, TypeJoin, 2, 5, 2, 0},
		{14, TypeCommitToken, 1, 9, 0, 0}, {17, TypeCommitToken, 2, 9, 0, 0}, {18, TypeOrfToken, 1, 9, 0, 0},
		{264, TypeJoin, 1, 9, 2, 1}, {279, TypeJoin, 2, 10, 1, 0}, {282, TypeJoin, 2, 14, 2, 0},
		{283, TypeCommitToken, 1, 18, 0, 0}, {287, TypeOrfToken, 1, 18, 0, 0},
		{491, TypeJoin, 0, 18, 1, 1}, {492, TypeJoin, 2, 18, 2, 1}, {493, TypeJoin, 0, 18, 1, 2},
	}
	rep := IPv4Addr(1, 192, 0, 2, 11)
	for _, r := range rows {
		m := byFrame[r.frame]
		if m == nil || m.Type() != r.typ || m.Hdr().NodeID != r.nodeid {
			t.Errorf("frame %d: %v, want %s from %d", r.frame, m, r.typ, r.nodeid)
			continue
		}
		switch m := m.(type) {
		case *Join:
			if m.RingSeq != r.seq || len(m.Proc) != r.proc || len(m.Failed) != r.failed || m.IsLeave() != (r.nodeid == 0) {
				t.Errorf("frame %d: join ring_seq %d proc %v failed %v", r.frame, m.RingSeq, m.Proc, m.Failed)
			}
		case *CommitToken:
			if m.RingID.Seq != r.seq || m.RingID.RepIP != rep || len(m.Addrs) != 2 || !m.Addrs[0].Less2(m.Addrs[1]) {
				t.Errorf("frame %d: commit token %+v", r.frame, m)
			}
		case *OrfToken:
			if m.RingID.Seq != r.seq || m.RingID.RepIP != rep || m.Aru != 0xffffffff || m.Seq != 0 {
				t.Errorf("frame %d: token %+v", r.frame, m)
			}
		}
	}
}
