package wire

import (
	"bytes"
	"testing"
)

func benchMessages(f Framing) (orf, mcast Message) {
	ms := sampleMessages(f)
	mc := *ms[1].(*Mcast)
	mc.Payload = bytes.Repeat([]byte{1}, 1400)
	tok := *ms[0].(*OrfToken)
	tok.RTR = nil
	return &tok, &mc
}

func BenchmarkDecode(b *testing.B) {
	for _, f := range []Framing{V3, V2} {
		orf, mc := benchMessages(f)
		for _, m := range []Message{orf, mc} {
			buf := Encode(m, f)
			b.Run(f.String()+"/"+m.Type().String(), func(b *testing.B) {
				b.SetBytes(int64(len(buf)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Decode(buf, f); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, f := range []Framing{V3, V2} {
		orf, mc := benchMessages(f)
		for _, m := range []Message{orf, mc} {
			buf := make([]byte, 0, 2048)
			b.Run(f.String()+"/"+m.Type().String(), func(b *testing.B) {
				b.SetBytes(int64(EncodedLen(m, f)))
				b.ReportAllocs()
				for b.Loop() {
					buf = Append(buf[:0], m, f)
				}
			})
		}
	}
}

func BenchmarkCrypto(b *testing.B) {
	for _, cfg := range []struct {
		c Cipher
		h Hash
	}{{CipherAES256, HashSHA1}, {CipherAES128, HashSHA256}, {CipherNone, HashSHA512}, {CipherNone, HashNone}} {
		cr, _ := NewCrypto(cfg.c, cfg.h, testKey)
		for _, n := range []int{70, 1369} { // an ORF token; a full 2.x mcast (99 + 1270)
			pt := bytes.Repeat([]byte{3}, n)
			sealed, _ := cr.Seal(nil, pt)
			name := cfg.c.String() + "-" + cfg.h.String() + "/" + map[int]string{70: "token", 1369: "mcast"}[n]
			buf := make([]byte, 0, 2048)
			b.Run("seal/"+name, func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					buf, _ = cr.Seal(buf[:0], pt)
				}
			})
			b.Run("open/"+name, func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if buf, err = cr.Open(buf[:0], sealed); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
