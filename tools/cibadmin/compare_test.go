package cibadmin

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"ringmaster/cib"
	"ringmaster/internal/testenv"
)

// TestCompareWithPacemaker runs every scenario of testdata/compare.txt with
// the installed cibadmin and with ours, each on its own copy of the seed
// CIB_file, and requires identical stdout, stderr, exit code and file.
func TestCompareWithPacemaker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real cibadmin ~100 times")
	}
	real := testenv.RequireBinary(t, "cibadmin")
	eng := &cib.Engine{}
	if v := cib.DefaultSchemaValidator(); v != nil {
		eng.Validate = v.Validate
		eng.Upgrader = v
	}
	data, err := os.ReadFile("testdata/compare.txt")
	if err != nil {
		t.Fatal(err)
	}
	type scenario struct {
		seed  string
		lines []string
	}
	var scenarios []*scenario
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutPrefix(line, "seed "); ok {
			scenarios = append(scenarios, &scenario{seed: s})
			continue
		}
		scenarios[len(scenarios)-1].lines = append(scenarios[len(scenarios)-1].lines, line)
	}
	var passed, total atomic.Int32
	t.Cleanup(func() {
		t.Logf("%d/%d cibadmin invocations identical to Pacemaker 2.1.5", passed.Load(), total.Load())
	})
	for i, scn := range scenarios {
		t.Run(fmt.Sprintf("%d-%s", i, scn.seed), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			realFile, ourFile := filepath.Join(dir, "real.xml"), filepath.Join(dir, "ours.xml")
			b, err := os.ReadFile(filepath.Join("testdata", scn.seed))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{realFile, ourFile} {
				if err := os.WriteFile(f, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, line := range scn.lines {
				total.Add(1)
				if compareOne(t, real, eng, line, realFile, ourFile) {
					passed.Add(1)
				}
			}
		})
	}
}

func compareOne(t *testing.T, real string, eng *cib.Engine, line, realFile, ourFile string) bool {
	args, err := shellSplit(line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	cmd := exec.Command(real, args...)
	cmd.Args[0] = "cibadmin" // getopt prints argv[0] in its messages
	cmd.Env = append(os.Environ(), "CIB_file="+realFile)
	var rout, rerr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &rout, &rerr
	rcode := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run cibadmin: %v", err)
		}
		rcode = ee.ExitCode()
	}
	var oout, oerr bytes.Buffer
	ocode := Run(args, Env{
		Prog: "cibadmin",
		Getenv: func(k string) string {
			if k == "CIB_file" {
				return ourFile
			}
			return ""
		},
		Stdin: strings.NewReader(""), Stdout: &oout, Stderr: &oerr, Engine: eng,
	})
	rf, _ := os.ReadFile(realFile)
	of, _ := os.ReadFile(ourFile)
	ok := true
	if rcode != ocode {
		t.Errorf("%s: exit %d, Pacemaker %d", line, ocode, rcode)
		ok = false
	}
	if rout.String() != oout.String() {
		t.Errorf("%s: stdout\n%s\nPacemaker:\n%s", line, oout.String(), rout.String())
		ok = false
	}
	if rerr.String() != oerr.String() {
		t.Errorf("%s: stderr %q, Pacemaker %q", line, oerr.String(), rerr.String())
		ok = false
	}
	if !bytes.Equal(rf, of) {
		t.Errorf("%s: file\n%s\nPacemaker:\n%s", line, of, rf)
		ok = false
		// Keep going from the same state.
		os.WriteFile(ourFile, rf, 0o644)
	}
	return ok
}

// shellSplit splits a command line with POSIX-shell single and double quotes.
func shellSplit(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in := false
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				i++
				cur.WriteByte(s[i])
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}
