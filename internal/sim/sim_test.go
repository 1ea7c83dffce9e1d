package sim

import (
	"testing"
	"time"
)

func TestThreeNodesFormOneRing(t *testing.T) {
	s := New(Options{Seed: 1, Verbose: testing.Verbose()})
	for id := NodeID(1); id <= 3; id++ {
		if err := s.AddNode(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stabilize(30 * time.Second); err != nil {
		t.Fatal(s.Report(200))
	}
	for i := 0; i < 20; i++ {
		if err := s.McastAuto(NodeID(1 + i%3)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stabilize(30 * time.Second); err != nil {
		t.Fatal(s.Report(200))
	}
	if got := s.Node(2).M.RingID(); got.Rep != 1 {
		t.Fatalf("ring %v", got)
	}
}
