package crmrule

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

type result struct {
	stdout, stderr string
	rc             int
}

// TestAgainstInstalled runs every case of testdata/cases.txt through
// Pacemaker's crm_rule and ours, against testdata/cib.xml, in UTC and in a
// +05:30 zone, and wants identical stdout, stderr and status.
func TestAgainstInstalled(t *testing.T) {
	bin := testenv.RequireBinary(t, "crm_rule")
	cib, err := filepath.Abs("testdata/cib.xml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		var args []string
		if line != "" {
			args = strings.Split(line, "\t")
		}
		cases = append(cases, args)
	}
	type job struct {
		tz   string
		args []string
	}
	var jobs []job
	for _, tz := range []string{"UTC", "Asia/Kolkata"} {
		for _, c := range cases {
			if tz != "UTC" && !strings.Contains(strings.Join(c, " "), ":") {
				continue
			}
			jobs = append(jobs, job{tz, c})
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	pass := 0
	ch := make(chan job)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				loc, err := time.LoadLocation(j.tz)
				if err != nil {
					t.Error(err)
					continue
				}
				want := runReal(t, bin, j.tz, cib, j.args)
				got := runOurs(cib, loc, j.args)
				mu.Lock()
				if got != want {
					t.Errorf("TZ=%s crm_rule %q\nreal: rc=%d\n%s---\n%s\nours: rc=%d\n%s---\n%s", j.tz, j.args,
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
	t.Logf("%d/%d cases identical to the installed crm_rule", pass, len(jobs))
}

func runReal(t *testing.T, bin, tz, cib string, args []string) result {
	cmd := exec.Command(bin, args...)
	cmd.Args[0] = "crm_rule"
	cmd.Env = []string{"TZ=" + tz, "LC_ALL=C", "CIB_file=" + cib}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	rc := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Errorf("%s: %v", bin, err)
	}
	return result{out.String(), errb.String(), rc}
}

func runOurs(cib string, loc *time.Location, args []string) result {
	var out, errb bytes.Buffer
	rc := Main(Env{
		Args:   append([]string{"crm_rule"}, args...),
		Getenv: func(k string) string { return map[string]string{"CIB_file": cib}[k] },
		Stdin:  strings.NewReader(""),
		Stdout: &out, Stderr: &errb,
		Now: time.Now().In(loc),
	})
	return result{out.String(), errb.String(), rc}
}
