package knet

import "testing"

func BenchmarkSealOpen1K(b *testing.B) {
	key := make([]byte, 256)
	cr, _ := NewCrypto(CryptoConfig{"aes256", "sha256"}, key)
	pkt := Encode(&Data{Node: 1, Seq: 1, FragNum: 1, Payload: make([]byte, 1024)})
	var salt [SaltSize]byte
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(pkt)))
	for i := 0; i < b.N; i++ {
		wire := cr.Seal(buf[:0], pkt, &salt)
		if _, err := cr.Open(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeData(b *testing.B) {
	pkt := Encode(&Data{Node: 1, Seq: 1, FragNum: 1, Payload: make([]byte, 1024)})
	for i := 0; i < b.N; i++ {
		if _, err := Decode(pkt); err != nil {
			b.Fatal(err)
		}
	}
}
