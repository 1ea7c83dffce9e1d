package wire

import (
	"bytes"
	"errors"
	"testing"
)

var testKey = bytes.Repeat([]byte("0123456789abcdef"), 8)

func TestCryptoConfig(t *testing.T) {
	if _, err := NewCrypto(CipherAES256, HashNone, testKey); !errors.Is(err, ErrCryptoConfig) {
		t.Errorf("cipher without hash accepted: %v", err)
	}
	if _, err := NewCrypto(CipherNone, HashSHA1, nil); !errors.Is(err, ErrCryptoConfig) {
		t.Errorf("hash without key accepted: %v", err)
	}
	if c, ok := ParseCipher("aes192"); !ok || c != CipherAES192 || c.String() != "aes192" {
		t.Error("ParseCipher")
	}
	if h, ok := ParseHash("sha384"); !ok || h != HashSHA384 || h.String() != "sha384" {
		t.Error("ParseHash")
	}
	// corosync2-crypto.md §4: aes256/sha1 takes 72 bytes off the MTU, none/none 4.
	for _, tc := range []struct {
		c    Cipher
		h    Hash
		want int
	}{{CipherAES256, HashSHA1, 72}, {CipherNone, HashNone, 4}, {CipherNone, HashSHA512, 68}, {CipherAES128, HashSHA256, 84}} {
		cr, err := NewCrypto(tc.c, tc.h, testKey)
		if err != nil {
			t.Fatal(err)
		}
		if cr.Overhead() != tc.want {
			t.Errorf("%s/%s overhead %d, want %d", tc.c, tc.h, cr.Overhead(), tc.want)
		}
	}
}

// Every combination seals and opens, SealedLen is exact, and the wire sizes
// quoted in corosync2-crypto.md §4 come out.
func TestCryptoRoundTrip(t *testing.T) {
	for c := CipherNone; c <= Cipher3DES; c++ {
		for h := HashNone; h <= HashSHA512; h++ {
			cr, err := NewCrypto(c, h, testKey)
			if err != nil {
				continue
			}
			for _, n := range []int{1, 15, 16, 17, 70, 685, 1400} {
				pt := bytes.Repeat([]byte{byte(n)}, n)
				sealed, err := cr.Seal([]byte("prefix"), pt)
				if err != nil {
					t.Fatal(err)
				}
				sealed = sealed[6:]
				if len(sealed) != cr.SealedLen(n) {
					t.Errorf("%s/%s n=%d: sealed %d, SealedLen %d", c, h, n, len(sealed), cr.SealedLen(n))
				}
				got, err := cr.Open(nil, sealed)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("%s/%s n=%d: open %v", c, h, n, err)
				}
			}
		}
	}
	cr, _ := NewCrypto(CipherAES256, HashSHA1, testKey)
	if n := cr.SealedLen(70); n != 120 {
		t.Errorf("aes256/sha1 token: %d, want 120", n)
	}
	cr, _ = NewCrypto(CipherAES128, HashSHA256, testKey)
	if n := cr.SealedLen(685); n != 740 {
		t.Errorf("aes128/sha256 mcast: %d, want 740", n)
	}
}

func TestCryptoRejects(t *testing.T) {
	cr, _ := NewCrypto(CipherAES256, HashSHA1, testKey)
	good, _ := cr.Seal(nil, []byte("a totem message"))
	mut := func(off int, v byte) []byte {
		c := append([]byte(nil), good...)
		c[off] ^= v
		return c
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", good[:4], ErrCryptoShort},
		{"3.x packet", []byte{0x70, 0xc0, 3, 0, 0, 0}, ErrCryptoMarker},
		{"hash marker", mut(1, 1), ErrCryptoHashType},
		{"flip ciphertext", mut(30, 1), ErrCryptoDigest},
		{"flip tag", mut(len(good)-1, 0x80), ErrCryptoDigest},
		{"reserved", withHMAC(mut(2, 1)), ErrCryptoReserved},
		{"bad padding", withHMAC(mut(len(good)-21, 0xff)), ErrCryptoPadding},
		{"partial block", withHMAC(append(append([]byte(nil), good[:len(good)-20]...), 1, 2, 3)), ErrCryptoPadding},
	} {
		if _, err := cr.Open(nil, tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A correctly keyed datagram too short to hold the header after its tag.
	sha, _ := NewCrypto(CipherNone, HashSHA1, testKey)
	for n := 0; n < 4; n++ {
		tiny := append([]byte{0xfe, 0xfe, 0, 0}[:n], hmacOf([]byte{0xfe, 0xfe, 0, 0}[:n])...)
		if _, err := sha.Open(nil, tiny); err == nil {
			t.Errorf("%d-byte body accepted", n)
		}
	}
	if cr.Stats.Digest.Load() != 2 || cr.Stats.Padding.Load() < 1 || cr.Stats.Reserved.Load() != 1 || cr.Stats.Marker.Load() != 2 || cr.Stats.Short.Load() != 1 {
		t.Errorf("stats: short %d marker %d digest %d reserved %d padding %d", cr.Stats.Short.Load(),
			cr.Stats.Marker.Load(), cr.Stats.Digest.Load(), cr.Stats.Reserved.Load(), cr.Stats.Padding.Load())
	}
}

// withHMAC replaces the trailing SHA1 tag of an aes256/sha1 datagram with a
// valid one over the (tampered) body, to reach the checks after the digest.
func withHMAC(b []byte) []byte {
	return append(b[:len(b)-20:len(b)-20], hmacOf(b[:len(b)-20])...)
}

func hmacOf(body []byte) []byte {
	c := &Crypto{hash: HashSHA1, newHash: HashSHA1.new(), hmacKey: testKey}
	mac := c.newMAC()
	mac.Write(body)
	return mac.Sum(nil)
}

func FuzzDecrypt(f *testing.F) {
	cr, _ := NewCrypto(CipherAES256, HashSHA1, testKey)
	for _, n := range []int{0, 15, 70} {
		b, _ := cr.Seal(nil, bytes.Repeat([]byte{7}, n))
		f.Add(b)
	}
	f.Add([]byte{0xfe, 0xfe, 0, 0, 1})
	plain, _ := NewCrypto(CipherNone, HashNone, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		if pt, err := cr.Open(nil, b); err == nil {
			// Authentic: re-sealing with the same salt must give the input back.
			cr2, _ := NewCrypto(CipherAES256, HashSHA1, testKey)
			cr2.Rand = bytes.NewReader(b[4:20])
			if again, err := cr2.Seal(nil, pt); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-seal differs: %x", again)
			}
		}
		if pt, err := plain.Open(nil, b); err == nil && !bytes.Equal(pt, b[4:]) {
			t.Fatal("none/none changed the payload")
		}
	})
}

func TestNetMTU(t *testing.T) {
	aes, _ := NewCrypto(CipherAES256, HashSHA1, testKey)
	none, _ := NewCrypto(CipherNone, HashNone, nil)
	for _, tc := range []struct {
		f    Framing
		c    *Crypto
		want int
	}{{V3, nil, 1410}, {V2, nil, 1270}, {V2, none, 1270}, {V2, aes, 1202}} {
		if got := NetMTU(tc.f, 1500, tc.c); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.f, got, tc.want)
		}
	}
	// The largest mcast in udpu-crypto.pcap is 99 + 1202 bytes of plaintext.
	if aes.SealedLen(99+1202)+28 > 1500 {
		t.Error("a full 2.x aes256/sha1 mcast does not fit a 1500-byte MTU")
	}
}
