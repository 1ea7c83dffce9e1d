package crmverify

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/scheduler.golden from the installed crm_verify")

// golden is crm_verify's answer for one input: exit code, stdout, stderr.
type golden struct {
	code           int
	stdout, stderr string
}

func runReal(t testing.TB, bin string, args ...string) golden {
	cmd := exec.Command(bin, args...)
	cmd.Args[0] = "crm_verify"
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return golden{code, out.String(), errb.String()}
}

func runOurs(args ...string) golden {
	var out, errb bytes.Buffer
	code := Main(Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Now: time.Now()})
	return golden{code, out.String(), errb.String()}
}

func readGolden(t *testing.T) map[string]golden {
	f, err := os.Open("testdata/scheduler.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]golden{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 4 {
			continue
		}
		code, _ := strconv.Atoi(parts[1])
		so, _ := strconv.Unquote(parts[2])
		se, _ := strconv.Unquote(parts[3])
		out[parts[0]] = golden{code, so, se}
	}
	return out
}

// TestSchedulerCorpus checks every scheduler regression input of
// Pacemaker (shared/conformance/scheduler/xml) against what the installed
// crm_verify -x answered (testdata/scheduler.golden, regenerated with
// -update): the same exit code, stdout and stderr. A sample is re-run
// with the real tool each time to keep the golden honest.
func TestSchedulerCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("schedules 599 CIBs")
	}
	dir := testenv.Shared(t, "conformance", "scheduler", "xml")
	files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no scheduler inputs")
	}
	if *update {
		bin := testenv.RequireBinary(t, "crm_verify")
		var b strings.Builder
		for _, f := range files {
			g := runReal(t, bin, "-x", f)
			fmt.Fprintf(&b, "%s\t%d\t%s\t%s\n", filepath.Base(f), g.code,
				strconv.Quote(strings.ReplaceAll(g.stdout, f, "FILE")), strconv.Quote(strings.ReplaceAll(g.stderr, f, "FILE")))
		}
		if err := os.WriteFile("testdata/scheduler.golden", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readGolden(t)
	if bin, err := exec.LookPath("crm_verify"); err == nil {
		for i := 0; i < len(files); i += 40 {
			f := files[i]
			g := runReal(t, bin, "-x", f)
			g.stdout, g.stderr = strings.ReplaceAll(g.stdout, f, "FILE"), strings.ReplaceAll(g.stderr, f, "FILE")
			if g != want[filepath.Base(f)] {
				t.Errorf("%s: golden is stale: installed crm_verify says %+v", filepath.Base(f), g)
			}
		}
	} else {
		testenv.RequireBinary(t, "crm_verify")
	}
	var mu sync.Mutex
	var mismatched []string
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func(f string) {
			defer func() { <-sem; wg.Done() }()
			g := runOurs("-x", f)
			g.stdout, g.stderr = strings.ReplaceAll(g.stdout, f, "FILE"), strings.ReplaceAll(g.stderr, f, "FILE")
			if w := want[filepath.Base(f)]; g != w {
				mu.Lock()
				mismatched = append(mismatched, fmt.Sprintf("%s: exit %d %q, Pacemaker %d %q", filepath.Base(f), g.code, g.stderr, w.code, w.stderr))
				mu.Unlock()
			}
		}(f)
	}
	wg.Wait()
	sort.Strings(mismatched)
	for _, m := range mismatched {
		t.Log(m)
	}
	matched := len(files) - len(mismatched)
	t.Logf("crm_verify: %d/%d scheduler inputs give Pacemaker 2.1.5's exit code and output", matched, len(files))
	// Floor: raise it as checks are added; never lower it.
	const floor = 597
	if matched < floor {
		t.Errorf("%d matched, below the floor of %d", matched, floor)
	}
}
