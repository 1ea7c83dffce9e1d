package ipc

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"testing"
	"time"
)

func cmapGetRequest(key string) []byte {
	m := NewRequest(cmapReqGet, cmapGetReqSize-RequestHeaderSize)
	binary.LittleEndian.PutUint16(m[16:], uint16(len(key)))
	copy(m[24:], key)
	return m
}

func benchRoundTrips(b *testing.B, c *Client) {
	m := cmapGetRequest("totem.cluster_name")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := c.Request(m, 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if len(r) != cmapGetResSize {
			b.Fatalf("reply of %d bytes", len(r))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}

// BenchmarkRoundTrip: synchronous cmap GETs (288-byte request, 40-byte reply)
// from our client to our server, per transport.
func BenchmarkRoundTrip(b *testing.B) {
	for _, tr := range []Transport{Socket, SHM} {
		b.Run(tr.String(), func(b *testing.B) {
			dir, err := os.MkdirTemp("", "rmipc")
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(dir)
			name := fmt.Sprintf("rmbench-%d-%d", os.Getpid(), nameSeq.Add(1))
			s, err := NewServer(name, &cmapHandler{key: "totem.cluster_name", value: "bench"},
				ServerOptions{Transport: Fixed(tr), ShmDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Serve(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			c, err := Dial(name, ClientOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			benchRoundTrips(b, c)
		})
	}
}

// BenchmarkRoundTripRealCorosync: the same GETs from our client to Debian's
// corosync 3.1.7, for a side-by-side figure with BenchmarkRoundTrip.
func BenchmarkRoundTripRealCorosync(b *testing.B) {
	for _, tc := range []struct {
		tr     Transport
		system string
	}{
		{Socket, "system {\n\tqb_ipc_type: socket\n}"},
		{SHM, ""},
	} {
		b.Run(tc.tr.String(), func(b *testing.B) {
			ns := netns(b)
			pid := startCorosync(b, ns, tc.system)
			c := dialIn(b, ns, "cmap", ClientOptions{ShmDir: fmt.Sprintf("/proc/%d/root/dev/shm", pid)})
			benchRoundTrips(b, c)
		})
	}
}

// BenchmarkEvents: events per second from our server to our client (32-byte
// events, sent in bursts of 1000 and read as they come).
func BenchmarkEvents(b *testing.B) {
	for _, tr := range []Transport{Socket, SHM} {
		b.Run(tr.String(), func(b *testing.B) {
			dir, err := os.MkdirTemp("", "rmipc")
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(dir)
			name := fmt.Sprintf("rmbench-%d-%d", os.Getpid(), nameSeq.Add(1))
			s, err := NewServer(name, &echoHandler{}, ServerOptions{Transport: Fixed(tr), ShmDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Serve(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			c, err := Dial(name, ClientOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			body := make([]byte, 4)
			b.ResetTimer()
			for left := b.N; left > 0; {
				n := min(left, 1000)
				binary.LittleEndian.PutUint32(body, uint32(n))
				if _, err := c.Request(req(102, string(body)), 10*time.Second); err != nil {
					b.Fatal(err)
				}
				for range n {
					if _, err := c.RecvEvent(10 * time.Second); err != nil {
						b.Fatal(err)
					}
				}
				left -= n
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
