package iso8601

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

func readCases(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open("testdata/cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cases = append(cases, strings.Split(line, "\t"))
	}
	return cases
}

type result struct {
	stdout, stderr string
	rc             int
}

func runReal(t *testing.T, bin, tz string, args []string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"TZ=" + tz, "PCMK_stderr=1", "LC_ALL=C"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	rc := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", bin, args, err)
	}
	return result{out.String(), errb.String(), rc}
}

func runOurs(args []string, loc *time.Location) result {
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == "PCMK_stderr" {
			return "1"
		}
		return ""
	}
	rc := Main(args, env, time.Now().In(loc), &out, &errb)
	return result{out.String(), errb.String(), rc}
}

// TestAgainstInstalled runs every case of testdata/cases.txt through
// Pacemaker's iso8601 and ours, in zones with whole-hour, half-hour and
// negative half-hour offsets, and wants identical stdout, stderr and status.
func TestAgainstInstalled(t *testing.T) {
	bin := testenv.RequireBinary(t, "iso8601")
	cases := readCases(t)
	zones := []string{"UTC", "Asia/Kolkata", "America/St_Johns"}
	if testing.Short() {
		zones = zones[:1]
	}
	type job struct {
		tz   string
		loc  *time.Location
		args []string
	}
	var jobs []job
	for _, tz := range zones {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatalf("zone %s: %v", tz, err)
		}
		for i, args := range cases {
			if testing.Short() && i%4 != 0 {
				continue // a quarter of the cases in -short runs
			}
			// Other zones only matter where a time of day is involved.
			if tz != "UTC" && !strings.Contains(strings.Join(args, " "), ":") {
				continue
			}
			jobs = append(jobs, job{tz, loc, args})
		}
	}
	// Starting the installed tool costs far more than running ours; a few
	// runs at once hide some of that.
	var mu sync.Mutex
	var wg sync.WaitGroup
	pass := 0
	ch := make(chan job)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				want := runReal(t, bin, j.tz, j.args)
				got := runOurs(j.args, j.loc)
				if got != want {
					// A case reading the clock may straddle a second.
					want = runReal(t, bin, j.tz, j.args)
					got = runOurs(j.args, j.loc)
				}
				mu.Lock()
				if got != want {
					t.Errorf("TZ=%s iso8601 %q\nreal: rc=%d\n%s%s\nours: rc=%d\n%s%s", j.tz, j.args,
						want.rc, want.stdout, want.stderr, got.rc, got.stdout, got.stderr)
				} else {
					pass++
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	t.Logf("%d/%d cases identical to the installed iso8601", pass, len(jobs))
}
