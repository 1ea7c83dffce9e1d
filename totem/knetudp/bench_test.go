package knetudp

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"ringmaster/totem/knet"
)

// loopPair opens two knet nodes on 127.0.0.1 with aes256/sha256 and a fixed
// knet_mtu of 1500, so messages are cut into LAN-sized fragments as on a
// real network (loopback's own MTU would allow 64 KiB fragments).
func loopPair(b *testing.B, crypto bool) (a, c *Conn) {
	b.Helper()
	var ports []netip.AddrPort
	var held []*net.UDPConn
	for range 2 {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		held = append(held, u)
		ports = append(ports, u.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	for _, u := range held {
		u.Close()
	}
	var kc *knet.Crypto
	if crypto {
		var err error
		if kc, err = knet.NewCrypto(knet.CryptoConfig{Cipher: "aes256", Hash: "sha256"}, make([]byte, 256)); err != nil {
			b.Fatal(err)
		}
	}
	open := func(self int) *Conn {
		cfg := knet.Config{Self: knet.NodeID(self), Crypto: kc, MTU: 1500, Hosts: []knet.HostConfig{{ID: knet.NodeID(3 - self), Links: []knet.LinkConfig{{
			Local: ports[self-1], Remote: ports[2-self], Priority: 1,
			PingInterval: 250 * time.Millisecond, PongTimeout: 500 * time.Millisecond, PongCount: 2,
		}}}}}
		conn, err := Open(Config{Machine: cfg, QueueLen: 4096})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		return conn
	}
	a, c = open(1), open(2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		for _, conn := range []*Conn{a, c} {
			st := conn.Status()
			ok = ok && len(st) == 1 && st[0].Reachable
		}
		if ok {
			return a, c
		}
		if time.Now().After(deadline) {
			b.Fatal("loopback knet pair did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// benchThroughput sends b.N messages of size bytes from one node to the
// other, with a window of in-flight messages (as the token lets totem send a
// burst), and counts them delivered.
func benchThroughput(b *testing.B, size int, crypto bool) {
	a, c := loopPair(b, crypto)
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	const window = 64
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	sent, got := 0, 0
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for got < b.N {
		for sent < b.N && sent-got < window {
			if err := a.Send(0, msg); err != nil {
				b.Fatal(err)
			}
			sent++
		}
		select {
		case <-c.Recv():
			got++
		case <-time.After(200 * time.Millisecond):
			// A message lost on loopback (full socket buffer): count it and
			// let the window move, as totem would retransmit.
			got++
		case <-timeout.C:
			b.Fatalf("%d of %d delivered", got, b.N)
		}
	}
	b.StopTimer()
	if d := a.Stats.SendErrors.Load(); d > 0 {
		b.Logf("%d send errors", d)
	}
}

func BenchmarkThroughput1KAES(b *testing.B)  { benchThroughput(b, 1024, true) }
func BenchmarkThroughput64KAES(b *testing.B) { benchThroughput(b, 65000, true) }
func BenchmarkThroughput64KPlain(b *testing.B) {
	benchThroughput(b, 65000, false)
}
