package sim

import (
	"fmt"
	"time"
)

// RandomOptions shapes RandomRun.
type RandomOptions struct {
	MinNodes, MaxNodes int // default 2..5
	Phases             int // fault phases before the final stabilisation; default 2..5 drawn
	MaxPhase           time.Duration
	Verbose            bool
	MaxSteps           uint64
	MaxLog             int
}

// RandomRun builds a cluster from seed and puts it through random faults
// (partitions, asymmetric cuts, loss, duplication, crashes, clean leaves,
// restarts with and without the ringid file) while the nodes multicast, then
// heals everything and checks that the survivors form one ring that delivers.
// Everything is drawn from the seed, so a failure replays exactly.
func RandomRun(seed int64, ro RandomOptions) *Sim {
	if ro.MinNodes == 0 {
		ro.MinNodes = 2
	}
	if ro.MaxNodes < ro.MinNodes {
		ro.MaxNodes = max(ro.MinNodes, 5)
	}
	if ro.MaxPhase == 0 {
		ro.MaxPhase = 8 * time.Second
	}
	s := New(Options{Seed: seed, Verbose: ro.Verbose, MaxSteps: ro.MaxSteps, MaxLog: ro.MaxLog})
	r := s.rng
	n := ro.MinNodes + r.Intn(ro.MaxNodes-ro.MinNodes+1)
	s.opts.ClusterSize = n
	s.opts.MinDelay = time.Duration(50+r.Intn(200)) * time.Microsecond
	s.opts.MaxDelay = s.opts.MinDelay + time.Duration(r.Intn(3000))*time.Microsecond
	s.opts.Codec = r.Intn(4) == 0
	s.opts.TransAck = r.Intn(2) == 0
	s.Logf("random run: %d nodes, delay %v..%v, codec %v, trans ack %v", n, s.opts.MinDelay, s.opts.MaxDelay, s.opts.Codec, s.opts.TransAck)
	for id := 1; id <= n; id++ {
		if err := s.AddNode(NodeID(id)); err != nil {
			s.fail(err)
			return s
		}
	}
	phases := ro.Phases
	if phases == 0 {
		phases = 2 + r.Intn(4)
	}
	for p := 0; p < phases && s.err == nil; p++ {
		s.randomFault()
		s.randomTraffic(time.Duration(1 + r.Int63n(int64(ro.MaxPhase))))
	}
	if s.err != nil {
		return s
	}
	// Sometimes bring everybody back before the final check.
	if r.Intn(2) == 0 {
		for _, id := range s.order {
			if !s.nodes[id].Up {
				_ = s.Restart(id, r.Intn(2) == 0)
			}
		}
	}
	if len(s.Up()) == 0 {
		_ = s.Restart(s.order[0], true)
	}
	// Merging many fragments can take several gather rounds, each ending
	// in a consensus timeout (corosync's algorithm: failed lists spread
	// only among old ring mates); 16 nodes have needed 7 rounds (seed
	// 300807). Allow 12 rounds, at least stabilizeLimit.
	_ = s.Stabilize(max(stabilizeLimit, 12*s.config(s.order[0]).Consensus))
	return s
}

func (s *Sim) randomFault() {
	r := s.rng
	up := s.Up()
	switch k := r.Intn(10); {
	case k < 3: // partition into two or three groups
		groups := make([][]NodeID, 2+r.Intn(2))
		for _, id := range s.order {
			g := r.Intn(len(groups))
			groups[g] = append(groups[g], id)
		}
		s.Partition(groups...)
	case k == 3: // asymmetric cut
		if len(s.order) >= 2 {
			a := s.order[r.Intn(len(s.order))]
			b := s.order[r.Intn(len(s.order))]
			if a != b {
				s.Cut(a, b)
			}
		}
	case k == 4: // lossy, duplicating network
		s.SetLoss(float64(r.Intn(30))/100, float64(r.Intn(15))/100)
	case k == 5: // crash
		if len(up) > 1 {
			s.Crash(up[r.Intn(len(up))])
		}
	case k == 6: // clean leave
		if len(up) > 1 {
			s.Stop(up[r.Intn(len(up))])
		}
	case k == 7: // restart
		for _, id := range s.order {
			if !s.nodes[id].Up {
				_ = s.Restart(id, r.Intn(3) != 0)
				break
			}
		}
	default:
		s.Heal()
	}
}

// randomTraffic runs for d while random nodes multicast in bursts.
func (s *Sim) randomTraffic(d time.Duration) {
	r := s.rng
	end := s.now + d
	for s.err == nil && s.now < end {
		up := s.Up()
		if len(up) > 0 {
			for i := r.Intn(4); i > 0; i-- {
				id := up[r.Intn(len(up))]
				// a full queue is back-pressure, not an error
				_ = s.McastAuto(id)
			}
		}
		step := time.Duration(1+r.Intn(400)) * time.Millisecond
		if s.now+step > end {
			step = end - s.now
		}
		if err := s.RunFor(step); err != nil {
			return
		}
	}
}

// String summarises a run.
func (s *Sim) String() string {
	return fmt.Sprintf("seed=%d nodes=%d t=%v steps=%d packets=%d delivered=%d", s.opts.Seed, len(s.order), s.now, s.steps, s.Packets, s.check.events)
}

// stabilizeLimit bounds the final stabilisation of a random run.
var stabilizeLimit = 90 * time.Second
