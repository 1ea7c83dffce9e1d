package crmverify

import (
	"bufio"
	"bytes"
	"time"

	"os"
	"os/exec"
	"ringmaster/cib"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// TestCLIWithPacemaker compares option handling, sources and output
// formats (testdata/cli.txt) with the installed crm_verify.
func TestCLIWithPacemaker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real crm_verify")
	}
	bin := testenv.RequireBinary(t, "crm_verify")
	sched := testenv.Shared(t, "conformance", "scheduler", "xml")
	f, err := os.Open("testdata/cli.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	passed, total := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tmp := t.TempDir()
		words := shellSplit(strings.NewReplacer("SCHED", sched, "TMP", tmp).Replace(line))[1:]
		total++
		r := runReal(t, bin, words...)
		o := runOursValidated(words...)
		if r != o {
			t.Errorf("%s:\n ours %d %q %q\n real %d %q %q", line, o.code, o.stdout, o.stderr, r.code, r.stdout, r.stderr)
			continue
		}
		passed++
	}
	t.Logf("%d/%d crm_verify invocations identical to Pacemaker 2.1.5", passed, total)
	_ = exec.Command
}

func shellSplit(s string) []string {
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
	return out
}

func runOursValidated(args ...string) golden {
	var out, errb bytes.Buffer
	env := Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Now: time.Now()}
	if v := cib.DefaultSchemaValidator(); v != nil {
		env.Validate = v.Validate
	}
	code := Main(env)
	return golden{code, out.String(), errb.String()}
}
