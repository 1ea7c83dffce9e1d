package cpg

import (
	"fmt"
	"testing"
)

// BenchmarkLibraryMcastRoundTrip: one libcpg MCAST request through the service,
// the exec machine and back as a DELIVER event to 8 joined connections (a
// one-node loop, no sockets): the per-message cost of the library side.
func BenchmarkLibraryMcastRoundTrip(b *testing.B) {
	l := newLoop()
	var peers []*svcPeer
	for i := 0; i < 8; i++ {
		p := &svcPeer{}
		l.s.accept(p)
		l.s.request(p, joinReq("bench", uint32(100+i), 0))
		peers = append(peers, p)
	}
	msg := mcastReq(fmt.Sprintf("%0256d", 0))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.s.request(peers[i%8], msg)
		if i%1024 == 0 {
			for _, p := range peers {
				p.events = p.events[:0]
			}
		}
	}
}
