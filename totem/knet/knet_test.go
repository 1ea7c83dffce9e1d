package knet

import (
	"bytes"
	"testing"
)

func TestWindow(t *testing.T) {
	var w RxWindow
	accept := func(seq uint16) bool {
		if !w.Check(seq) {
			return false
		}
		w.Deliver(seq)
		return true
	}
	steps := []struct {
		seq  uint16
		want bool
		why  string
	}{
		{1, true, "first message sets the window"},
		{1, false, "duplicate"},
		{2, true, "next"},
		{5, true, "ahead, skipping 3 and 4"},
		{3, true, "late but inside the window"},
		{3, false, "late duplicate"},
		{5, false, "duplicate of the newest"},
		{5 + 4096, true, "ahead by exactly the window"},
		{5, false, "4096 behind shares the newest message's slot: duplicate"},
		{4, true, "more than a window behind: accepted again, libknet's blind spot"},
		{40000, true, "far ahead: reset"},
		{40000, false, "duplicate after reset"},
	}
	for i, s := range steps {
		if got := accept(s.seq); got != s.want {
			t.Fatalf("step %d seq %d (%s): accepted=%v", i, s.seq, s.why, got)
		}
	}

	// Wrap-around: 65535 is followed by 1.
	w.Reset()
	for _, seq := range []uint16{65534, 65535, NextSeq(65535), 2} {
		if !accept(seq) {
			t.Fatalf("seq %d refused across the wrap", seq)
		}
	}
	if accept(65535) {
		t.Fatal("duplicate of 65535 after the wrap accepted")
	}
	if NextSeq(65535) != 1 {
		t.Fatal("NextSeq must skip 0")
	}
}

func TestRestartDetection(t *testing.T) {
	var r Receiver
	d := &Data{Seq: 7, FragNum: 1, Payload: []byte("x")}
	if _, ok := r.Data(d); !ok {
		t.Fatal("first delivery refused")
	}
	if _, ok := r.Data(d); ok {
		t.Fatal("duplicate delivered")
	}
	r.Ping(&Ping{Timed: true, Seq: 7})
	if _, ok := r.Data(d); ok {
		t.Fatal("a ping with the current seq must not reset the window")
	}
	r.Ping(&Ping{Timed: true, Seq: 0}) // the sender restarted
	if _, ok := r.Data(d); !ok {
		t.Fatal("after a seq-0 ping the restarted sender's seq 7 must be new")
	}
	// Untimed pings: reset only when no data arrived since the previous one.
	r.Ping(&Ping{Timed: false, Seq: 7})
	if _, ok := r.Data(d); ok {
		t.Fatal("data arrived before this untimed ping: no reset expected")
	}
	r.Ping(&Ping{Timed: false, Seq: 7})
	r.Ping(&Ping{Timed: false, Seq: 7})
	if _, ok := r.Data(d); !ok {
		t.Fatal("two untimed pings without data in between must reset")
	}
}

func TestReassemblyOrders(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789"), 50)
	frags := Fragments(msg, 64)
	orders := [][]int{
		identity(len(frags)),
		reverse(len(frags)),
		{7, 0, 6, 1, 5, 2, 4, 3},
	}
	for _, order := range orders {
		var r Receiver
		var got []byte
		for i, k := range order {
			d := &Data{Seq: 9, FragNum: uint8(len(frags)), FragSeq: uint8(k + 1), Payload: frags[k]}
			m, ok := r.Data(d)
			if ok != (i == len(order)-1) {
				t.Fatalf("order %v: fragment %d complete=%v", order, k, ok)
			}
			got = m
			// A duplicate fragment changes nothing.
			if _, ok := r.Data(d); ok {
				t.Fatalf("order %v: duplicate fragment completed a message", order)
			}
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("order %v: reassembled %d bytes, differ", order, len(got))
		}
		// The finished message is not delivered again.
		if _, ok := r.Data(&Data{Seq: 9, FragNum: uint8(len(frags)), FragSeq: 1, Payload: frags[0]}); ok {
			t.Fatal("finished message delivered twice")
		}
	}
}

func identity(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func reverse(n int) []int {
	out := identity(n)
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func TestCryptoConfigs(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a, 0xa5, 0x01}, 100)[:256]
	plain := Encode(&Ping{Node: 3, Link: 1, Seq: 12, Timed: true})
	var salt [SaltSize]byte
	copy(salt[:], "0123456789abcdef")
	for _, c := range []string{"none", "aes128", "aes192", "aes256"} {
		for _, h := range []string{"none", "md5", "sha1", "sha256", "sha384", "sha512"} {
			cr, err := NewCrypto(CryptoConfig{c, h}, key)
			if c != "none" && h == "none" {
				if err == nil {
					t.Fatalf("%s without hash accepted", c)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s/%s: %v", c, h, err)
			}
			wire := cr.Seal(nil, plain, &salt)
			if len(wire) != len(plain)+cr.Overhead(len(plain)) {
				t.Fatalf("%s/%s: overhead mismatch", c, h)
			}
			got, err := cr.Open(wire)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("%s/%s: round trip: %v", c, h, err)
			}
		}
	}
	if _, err := NewCrypto(CryptoConfig{"aes256", "sha256"}, key[:100]); err == nil {
		t.Fatal("100-byte key accepted")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(&Ping{Node: 1, Timed: true}))
	f.Add(Encode(&Data{Node: 2, Seq: 1, Bcast: true, FragNum: 1, Payload: []byte{0x70, 0xc0, 3}}))
	f.Add(Encode(&PMTUD{Node: 2, Size: 1500, Len: 64}))
	f.Add([]byte{1, 0x84, 0, 1, 0, 0, 0, 0xdc})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		// Reserved bytes and non-canonical booleans are not carried (real senders
		// write zeros and ones), so the property is: encoding is a fixed point.
		enc := Encode(p)
		p2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", enc, err)
		}
		if again := Encode(p2); !bytes.Equal(again, enc) {
			t.Fatalf("encoding not stable: %x -> %x", enc, again)
		}
	})
}

func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 256)
	cr, _ := NewCrypto(CryptoConfig{"aes256", "sha256"}, key)
	var salt [SaltSize]byte
	f.Add(cr.Seal(nil, Encode(&Ping{Node: 1}), &salt))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := cr.Open(b); err == nil {
			_, _ = Decode(p)
		}
	})
}

// FuzzReceiver drives one host's receive state with arbitrary DATA and PING frames.
func FuzzReceiver(f *testing.F) {
	f.Add([]byte{1, 0, 2, 1, 5, 2, 2, 0, 1, 0, 1, 1})
	f.Fuzz(func(t *testing.T, script []byte) {
		var r Receiver
		for len(script) >= 4 {
			op, seq, num, fs := script[0], uint16(script[1])|uint16(script[2])<<8, script[3]%5, byte(0)
			if len(script) >= 5 {
				fs = script[4] % 6
			}
			script = script[4:]
			if op%4 == 0 {
				r.Ping(&Ping{Timed: op&8 != 0, Seq: seq})
				continue
			}
			payload := bytes.Repeat([]byte{op}, int(op%17)+1)
			if m, ok := r.Data(&Data{Seq: seq, FragNum: num, FragSeq: fs, Payload: payload}); ok && len(m) == 0 && num <= 1 {
				t.Fatal("empty message delivered")
			}
		}
	})
}
