package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

// step is one front-end command of a sequence.
type step struct {
	argv []string
	// output: the command prints something whose text must match the
	// oracle's (after masking what only a live cluster prints).
	output bool
	// liveOnly: the command needs a running cluster and has no file-mode
	// counterpart; only its exit code is checked (and must be 0).
	liveOnly bool
	// known maps a world name to the understood reason why that world
	// differs from the oracle on this step; the difference is logged, not
	// failed. A step in this map that no longer differs is reported too.
	known map[string]string
}

// stepTimeout bounds one front-end command (pcs alone takes seconds to
// start on a loaded machine).
const stepTimeout = 2 * time.Minute

// result is what one world gave for one step.
type result struct {
	out, config, version string
	rc                   int
	took                 time.Duration
}

// runSequence sets up the three worlds, runs steps in each (in parallel)
// and compares every live world's step with the oracle's.
func runSequence(t *testing.T, frontend string, steps []step) {
	if testing.Short() {
		t.Skip("network namespaces and daemons: not in -short")
	}
	testenv.RequireRoot(t)
	for _, p := range append([]string{frontend, "cibadmin", "crm_mon", "crm_resource", "crm_diff", "corosync-cmapctl"}, testcluster.Prerequisites...) {
		testenv.RequireBinary(t, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	daemons := daemonDir(t)
	for _, tool := range ourTools {
		testenv.GoBinary(t, tool)
	}
	c := testcluster.New(t, testcluster.Options{Nodes: 2})
	var wg sync.WaitGroup
	for _, n := range c.Nodes() {
		wg.Add(1)
		go func() { defer wg.Done(); startOurStack(t, ctx, n, daemons) }()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	bindOurTools(t, ctx, c.Node(2))

	real, ours := liveWorld("real-live", c.Node(1)), liveWorld("ours-live", c.Node(2))
	initial, err := real.query(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "oracle.xml"), filepath.Join(dir, "ours.xml")}
	for _, f := range files {
		if err := os.WriteFile(f, []byte(initial), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	worlds := []world{fileWorld("oracle", files[0], nil), real, ours, fileWorld("ours-file", files[1], c.Node(2))}
	results := make([][]result, len(worlds))
	for i, w := range worlds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range steps {
				var r result
				if s.liveOnly && (w.name == "oracle" || w.name == "ours-file") {
					results[i] = append(results[i], r)
					continue
				}
				sctx, cancel := context.WithTimeout(ctx, stepTimeout)
				t0 := time.Now()
				r.out, r.rc = w.run(sctx, s.argv)
				r.took = time.Since(t0)
				timedOut := sctx.Err() != nil
				cancel()
				if timedOut {
					// Nothing after this step would mean anything.
					break
				}
				q, err := w.query(ctx)
				if err == nil {
					r.config, r.version, err = configOf(q)
				}
				if err != nil {
					r.config = "query failed: " + err.Error()
				}
				results[i] = append(results[i], r)
			}
		}()
	}
	wg.Wait()

	ran := len(steps)
	for i, w := range worlds {
		if n := len(results[i]); n < len(steps) {
			if reason, ok := steps[n].known[w.name]; ok {
				t.Logf("%s: %q did not finish within %v, as known (%s)", w.name, strings.Join(steps[n].argv, " "), stepTimeout, reason)
				ran = min(ran, n)
				continue
			}
			t.Errorf("%s: %q did not finish within %v (a loaded machine?); steps from there on are not compared",
				w.name, strings.Join(steps[n].argv, " "), stepTimeout)
			ran = min(ran, n)
		}
	}
	steps = steps[:ran]
	oracle := results[0]
	agree := map[string]int{}
	for si, s := range steps {
		cmdline := strings.Join(s.argv, " ")
		var took []string
		for wi := range worlds {
			took = append(took, worlds[wi].name+" "+results[wi][si].took.Round(time.Millisecond).String())
		}
		t.Logf("$ %s\n  oracle rc=%d (%s)\n%s", cmdline, oracle[si].rc, strings.Join(took, ", "), indent(oracle[si].out))
		for wi := 1; wi < len(worlds); wi++ {
			w, r := worlds[wi], results[wi][si]
			if s.liveOnly && w.name == "ours-file" {
				continue
			}
			var diffs []string
			if s.liveOnly {
				if r.rc != 0 {
					diffs = append(diffs, "exit code "+itoa(r.rc))
				}
			} else {
				o := oracle[si]
				if r.rc != o.rc {
					diffs = append(diffs, "exit code "+itoa(r.rc)+", oracle "+itoa(o.rc))
				}
				if r.config != o.config {
					diffs = append(diffs, "configuration:\n"+indent(r.config)+"\n  oracle's:\n"+indent(o.config))
				}
				if s.output && maskLive(r.out) != maskLive(o.out) {
					diffs = append(diffs, "output:\n"+indent(r.out)+"\n  oracle's:\n"+indent(o.out))
				}
			}
			reason, known := s.known[w.name]
			switch {
			case len(diffs) == 0 && known:
				t.Errorf("%s: %s: no longer differs (was known: %s)", w.name, cmdline, reason)
			case len(diffs) == 0:
				agree[w.name]++
			case known:
				t.Logf("%s: %s: differs as known (%s): %s", w.name, cmdline, reason, strings.Join(diffs, "; "))
			default:
				t.Errorf("%s: %s (rc %d):\n%s\n  differs: %s", w.name, cmdline, r.rc, indent(r.out), strings.Join(diffs, "\n  "))
			}
		}
	}
	fileSteps := 0
	for _, s := range steps {
		if !s.liveOnly {
			fileSteps++
		}
	}
	t.Logf("%s: steps agreeing with the oracle: real tools on our daemons %d/%d, our tools on our daemons %d/%d, our tools on a CIB file %d/%d",
		frontend, agree["real-live"], len(steps), agree["ours-live"], len(steps), agree["ours-file"], fileSteps)
}

// maskLive removes what differs between a live CIB and a file only by
// where and when it ran.
func maskLive(s string) string {
	return volatileAttrs.ReplaceAllString(s, "")
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func itoa(i int) string { return strconv.Itoa(i) }
