package totem_test

import (
	"fmt"
	"testing"
	"time"

	"ringmaster/internal/sim"
	"ringmaster/totem"
)

// BenchmarkRing offers 40000 messages per virtual second (more than a ring
// can order) and measures the cost of ordering and delivering one message on
// a simulated ring (every node delivers it): wall time per message, and the
// virtual throughput the protocol reaches with 0.2-1 ms links, which is
// bounded by window_size/max_messages and token rotation time.
func BenchmarkRing(b *testing.B) {
	for _, n := range []int{2, 3, 8, 16} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			s := sim.New(sim.Options{Seed: 1, ClusterSize: n})
			for id := 1; id <= n; id++ {
				if err := s.AddNode(totem.NodeID(id)); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Stabilize(time.Minute); err != nil {
				b.Fatal(err)
			}
			start := s.Now()
			b.ResetTimer()
			sent := 0
			for sent < b.N {
				for k := 0; k < 200 && sent < b.N; k++ {
					if s.McastAuto(totem.NodeID(1+sent%n)) == nil {
						sent++
					}
				}
				if err := s.RunFor(5 * time.Millisecond); err != nil {
					b.Fatal(s.Report(50))
				}
			}
			if err := s.Stabilize(time.Minute); err != nil {
				b.Fatal(s.Report(50))
			}
			b.StopTimer()
			if v := (s.Now() - start).Seconds(); v > 0 {
				b.ReportMetric(float64(b.N)/v, "msgs/vsec")
			}
		})
	}
}
