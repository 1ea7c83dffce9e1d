package knet

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	"ringmaster/internal/pcap"
	"ringmaster/internal/testenv"
)

type capture struct {
	file    string
	crypto  CryptoConfig
	decoded string // knetdump listing of the capture, if any
}

var captures = []capture{
	{file: "a-nocrypto-3node.pcap", decoded: "decoded-a.txt"},
	{file: "b-aes256-sha256-2node.pcap", crypto: CryptoConfig{"aes256", "sha256"}, decoded: "decoded-b-decrypted.txt"},
	{file: "c-twolinks-passive-2node.pcap", decoded: "decoded-c.txt"},
	{file: "d-nss-vs-openssl.pcap", crypto: CryptoConfig{"aes256", "sha256"}},
}

func authkey(t testing.TB) []byte {
	key, err := os.ReadFile(testenv.Shared(t, "testdata", "knet", "authkey"))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// knetDatagrams returns the knet datagrams of a capture (UDP ports 5405..5412).
func knetDatagrams(t testing.TB, file string) []pcap.Datagram {
	all, err := pcap.UDPFile(testenv.Shared(t, "testdata", "knet", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []pcap.Datagram
	for _, d := range all {
		if p := d.Dst.Port(); p >= 5405 && p < 5405+MaxLinks {
			out = append(out, d)
		}
	}
	return out
}

// listing maps frame numbers to "TYPE node=N" from a knetdump listing.
func listing(t testing.TB, file string) map[int]string {
	f, err := os.Open(testenv.Shared(t, "testdata", "knet", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^#(\d+) .* v1 (\w+) node=(\d+)`)
	out := map[int]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.Atoi(m[1])
			out[n] = m[2] + " node=" + m[3]
		}
	}
	return out
}

// TestGoldenCaptures decodes every knet packet of the four captures of real
// corosync 3.1.7 + libknet 1.25, re-encodes it byte for byte, re-seals the crypto
// captures with the packet's own salt to the identical datagram, and checks the
// frame types against the reference listings.
func TestGoldenCaptures(t *testing.T) {
	key := authkey(t)
	for _, c := range captures {
		t.Run(c.file, func(t *testing.T) {
			cr, err := NewCrypto(c.crypto, key)
			if err != nil {
				t.Fatal(err)
			}
			var want map[int]string
			if c.decoded != "" {
				want = listing(t, c.decoded)
			}
			counts := map[Type]int{}
			dgs := knetDatagrams(t, c.file)
			if len(dgs) == 0 {
				t.Fatal("no knet datagrams")
			}
			for _, d := range dgs {
				plain, err := cr.Open(d.Payload)
				if err != nil {
					t.Fatalf("frame %d: open: %v", d.Frame, err)
				}
				p, err := Decode(plain)
				if err != nil {
					t.Fatalf("frame %d: decode: %v", d.Frame, err)
				}
				counts[p.Type()]++
				if got := Encode(p); !bytes.Equal(got, plain) {
					t.Fatalf("frame %d: re-encoded %v differs:\n got %x\nwant %x", d.Frame, p.Type(), got, plain)
				}
				if cr.Enabled() {
					var salt [SaltSize]byte
					copy(salt[:], d.Payload)
					if got := cr.Seal(nil, plain, &salt); !bytes.Equal(got, d.Payload) {
						t.Fatalf("frame %d: re-sealed datagram differs", d.Frame)
					}
					if o := cr.Overhead(len(plain)); len(plain)+o != len(d.Payload) {
						t.Fatalf("frame %d: overhead %d, wire %d = plain %d + %d", d.Frame, o, len(d.Payload), len(plain), len(d.Payload)-len(plain))
					}
				}
				if want != nil {
					if w, ok := want[d.Frame]; !ok || w != fmt.Sprintf("%v node=%d", p.Type(), p.Source()) {
						t.Fatalf("frame %d: we decode %v node=%d, listing says %q", d.Frame, p.Type(), p.Source(), w)
					}
				}
			}
			t.Logf("%d datagrams: %d DATA, %d PING, %d PONG, %d PMTUD, %d PMTUD_REPLY — all decoded and re-encoded identically",
				len(dgs), counts[TypeData], counts[TypePing], counts[TypePong], counts[TypePMTUD], counts[TypePMTUDReply])
		})
	}
}

// TestPongEchoesPing checks on capture a that every PONG is a preceding PING from
// the other side with only the type and node id changed, which is what Reply builds.
func TestPongEchoesPing(t *testing.T) {
	pings := map[string]bool{}
	pongs := 0
	for _, d := range knetDatagrams(t, "a-nocrypto-3node.pcap") {
		p, err := Decode(d.Payload)
		if err != nil {
			t.Fatal(err)
		}
		ping, ok := p.(*Ping)
		if !ok {
			continue
		}
		key := fmt.Sprintf("%s>%s", d.Src.Addr(), d.Dst.Addr())
		if !ping.Pong {
			pings[key+string(d.Payload)] = true
			continue
		}
		pongs++
		// The pong travels back: look for the ping from its destination to its source
		// whose reply by this node is exactly these bytes.
		found := false
		for k := range pings {
			prefix := fmt.Sprintf("%s>%s", d.Dst.Addr(), d.Src.Addr())
			if len(k) > len(prefix) && k[:len(prefix)] == prefix {
				orig, _ := Decode([]byte(k[len(prefix):]))
				if bytes.Equal(Encode(orig.(*Ping).Reply(ping.Node)), d.Payload) {
					found = true
					break
				}
			}
		}
		if !found {
			t.Fatalf("frame %d: pong matches no earlier ping", d.Frame)
		}
	}
	if pongs < 100 {
		t.Fatalf("only %d pongs", pongs)
	}
}

// TestReassembleCapture feeds capture a's DATA through one Receiver per
// (source, destination) pair and checks every reassembled message is a whole totem
// message, including the 4000-byte CPG message sent as three fragments.
func TestReassembleCapture(t *testing.T) {
	rx := map[string]*Receiver{}
	var messages, fragmented int
	var big bool
	for _, d := range knetDatagrams(t, "a-nocrypto-3node.pcap") {
		p, err := Decode(d.Payload)
		if err != nil {
			t.Fatal(err)
		}
		k := d.Src.String() + ">" + d.Dst.String()
		r := rx[k]
		if r == nil {
			r = &Receiver{}
			rx[k] = r
		}
		switch p := p.(type) {
		case *Ping:
			r.Ping(p)
		case *Data:
			msg, ok := r.Data(p)
			if !ok {
				continue
			}
			messages++
			if p.FragNum > 1 {
				fragmented++
			}
			if len(msg) < 13 || binary.LittleEndian.Uint16(msg) != 0xC070 {
				t.Fatalf("frame %d: reassembled message is not a totem 3.x message: %x", d.Frame, msg[:min(len(msg), 16)])
			}
			if bytes.Contains(msg, []byte("n1-BIG:")) {
				big = true
				if len(msg) < 4000 {
					t.Fatalf("big message only %d bytes", len(msg))
				}
			}
		}
	}
	if !big || fragmented == 0 {
		t.Fatalf("big CPG message not reassembled (messages %d, fragmented %d)", messages, fragmented)
	}
	t.Logf("%d messages delivered, %d of them reassembled from fragments", messages, fragmented)
}

// TestCryptoRejects flips one bit anywhere in every datagram of capture b, and
// opens every datagram with a wrong key: each must be refused.
func TestCryptoRejects(t *testing.T) {
	key := authkey(t)
	good, _ := NewCrypto(CryptoConfig{"aes256", "sha256"}, key)
	wrongKey := append([]byte(nil), key...)
	wrongKey[200] ^= 1 // beyond the AES key: only the HMAC notices
	wrong, _ := NewCrypto(CryptoConfig{"aes256", "sha256"}, wrongKey)
	dgs := knetDatagrams(t, "b-aes256-sha256-2node.pcap")
	for i, d := range dgs {
		if _, err := wrong.Open(d.Payload); err == nil {
			t.Fatalf("frame %d: accepted with a wrong key", d.Frame)
		}
		bad := append([]byte(nil), d.Payload...)
		bit := (i * 131) % (len(bad) * 8)
		bad[bit/8] ^= 1 << (bit % 8)
		if _, err := good.Open(bad); err == nil {
			t.Fatalf("frame %d: accepted with bit %d flipped", d.Frame, bit)
		}
	}
	t.Logf("%d datagrams: every flipped bit and the wrong key refused", len(dgs))
}

func TestMTU(t *testing.T) {
	key := make([]byte, 256)
	for i := range key {
		key[i] = byte(i)
	}
	aes256, _ := NewCrypto(CryptoConfig{"aes256", "sha256"}, key)
	for _, tc := range []struct {
		name string
		got  int
		want int
	}{
		{"plain app(1500)", AppMTU(1500, false, nil), 1446},
		{"aes256/sha256 app(1500)", AppMTU(1500, false, aes256), 1397},
		{"plain safe minimum", SafeMTU(nil), 482},
		{"aes256/sha256 safe minimum", SafeMTU(aes256), 421},
		{"plain probe for 1500", ProbeLen(1500, false, nil), 1472},
		{"aes256 sealed probe for 1500", ProbeLen(1500, false, aes256) + aes256.Overhead(ProbeLen(1500, false, aes256)), 1472},
		{"fragments of 4244 at 1446", len(Fragments(make([]byte, 4244), 1446)), 3},
		{"fragments of 4244 at 1397", len(Fragments(make([]byte, 4244), 1397)), 4},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}
