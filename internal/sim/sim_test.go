package sim

import (
	"testing"
	"time"

	"ringmaster/totem"
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

// The checker must catch what it claims to: feed it forged events.
func TestCheckerCatchesViolations(t *testing.T) {
	forge := []struct {
		name string
		ev   func(s *Sim) totem.Event
	}{
		{"reordered", func(s *Sim) totem.Event {
			return totem.Deliver{From: 1, Ring: s.Node(1).M.RingID(), Seq: 1, Payload: []byte("n1-1")}
		}},
		{"unsent", func(s *Sim) totem.Event {
			return totem.Deliver{From: 1, Ring: s.Node(1).M.RingID(), Seq: 99, Payload: []byte("ghost")}
		}},
		{"wrong ring", func(s *Sim) totem.Event {
			return totem.Deliver{From: 1, Ring: totem.RingID{Rep: 1, Seq: 1}, Seq: 99, Payload: []byte("n1-1")}
		}},
		{"regular without transitional", func(s *Sim) totem.Event {
			return totem.ConfChange{Kind: totem.Regular, Ring: totem.RingID{Rep: 1, Seq: 99}, Members: []NodeID{1, 2}}
		}},
		{"transitional outside old ring", func(s *Sim) totem.Event {
			return totem.ConfChange{Kind: totem.Transitional, Ring: totem.RingID{Rep: 1, Seq: 99}, Members: []NodeID{1, 7}}
		}},
	}
	for _, f := range forge {
		s := New(Options{Seed: 3})
		_ = s.AddNode(1)
		_ = s.AddNode(2)
		if err := s.Stabilize(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		_ = s.McastAuto(1)
		_ = s.McastAuto(1)
		if err := s.Stabilize(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		s.check.event(s.Node(1), f.ev(s))
		if s.Err() == nil {
			t.Errorf("%s: not caught", f.name)
		}
	}
}
