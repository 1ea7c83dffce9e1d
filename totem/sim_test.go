package totem_test

import (
	"flag"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ringmaster/internal/sim"
)

var (
	soak         = flag.Bool("soak", false, "run TestSimSoak")
	soakSeeds    = flag.Int("seeds", 0, "TestSimSoak: number of seeds (0 = until -duration)")
	soakDuration = flag.Duration("duration", time.Minute, "TestSimSoak: how long to run when -seeds is 0")
	soakStart    = flag.Int64("seed", 0, "first seed (TestSimRandom/TestSimSoak); a failing seed replays with -seed N -seeds 1")
	soakMaxNodes = flag.Int("max-nodes", 16, "TestSimSoak: largest cluster")
	simVerbose   = flag.Bool("sim-verbose", false, "log every packet and machine log line (to replay one seed: -soak -seed N -seeds 1 -sim-verbose)")
)

// randomSeeds is how many seeds CI runs.
const randomSeeds = 2000

// runSeeds runs seeds [first, first+count) (count<0: until stop) on all
// cores and returns how many ran; the first failure is reported with its
// seed and log.
func runSeeds(t *testing.T, first int64, count int64, stop time.Time, ro sim.RandomOptions) int64 {
	var next, done, failed atomic.Int64
	next.Store(first)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for failed.Load() == 0 {
				seed := next.Add(1) - 1
				if count >= 0 && seed >= first+count {
					return
				}
				if count < 0 && time.Now().After(stop) {
					return
				}
				s := sim.RandomRun(seed, ro)
				if s.Err() != nil {
					if failed.Add(1) == 1 {
						mu.Lock()
						t.Errorf("%v\n%s", s, s.Report(400))
						mu.Unlock()
					}
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return done.Load()
}

func TestSimRandom(t *testing.T) {
	n := int64(randomSeeds)
	if testing.Short() {
		n = 200
	}
	start := time.Now()
	ok := runSeeds(t, *soakStart, n, time.Time{}, sim.RandomOptions{MaxNodes: 5, Verbose: *simVerbose})
	t.Logf("%d/%d seeds passed in %v", ok, n, time.Since(start).Round(time.Millisecond))
}

// TestSimSoak runs random seeds with up to 16 nodes: make soak, or
// go test ./totem -run TestSimSoak -soak [-seeds N | -duration D] [-seed S].
func TestSimSoak(t *testing.T) {
	if !*soak {
		t.Skip("needs -soak")
	}
	count := int64(*soakSeeds)
	if count == 0 {
		count = -1
	}
	start := time.Now()
	ok := runSeeds(t, *soakStart, count, start.Add(*soakDuration), sim.RandomOptions{MaxNodes: *soakMaxNodes, Verbose: *simVerbose})
	t.Logf("soak: %d seeds passed (from seed %d) in %v", ok, *soakStart, time.Since(start).Round(time.Millisecond))
}
