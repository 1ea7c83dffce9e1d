package crmnode

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// TestCompareWithPacemaker runs each line of testdata/compare.txt with the
// installed crm_node and with ours, with no controller running (as on this
// test machine, and as our cmd/crm_node is wired), and requires the same
// exit code, stdout and stderr.
func TestCompareWithPacemaker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real crm_node a hundred times")
	}
	real := testenv.RequireBinary(t, "crm_node")
	f, err := os.Open("testdata/compare.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OCF_") && !strings.HasPrefix(kv, "CIB_") {
			base = append(base, kv)
		}
	}
	passed, total := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words := shellSplit(line)
		env := map[string]string{}
		for len(words) > 0 && varRE.MatchString(words[0]) {
			k, v, _ := strings.Cut(words[0], "=")
			env[k] = v
			words = words[1:]
		}
		args := words[1:]
		total++
		cmd := exec.Command(real, args...)
		cmd.Args[0] = "crm_node"
		cmd.Env = append([]string(nil), base...)
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var rout, rerr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &rout, &rerr
		rcode := 0
		if err := cmd.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatal(err)
			}
			rcode = ee.ExitCode()
		}
		var oout, oerr bytes.Buffer
		ocode := Main(Env{Args: args, Getenv: func(k string) string { return env[k] }, Stdout: &oout, Stderr: &oerr})
		ok := true
		if ocode != rcode {
			t.Errorf("%s: exit %d, Pacemaker %d", line, ocode, rcode)
			ok = false
		}
		if oout.String() != rout.String() {
			t.Errorf("%s: stdout %q, Pacemaker %q", line, oout.String(), rout.String())
			ok = false
		}
		if oerr.String() != rerr.String() {
			t.Errorf("%s: stderr %q, Pacemaker %q", line, oerr.String(), rerr.String())
			ok = false
		}
		if ok {
			passed++
		}
	}
	t.Logf("%d/%d crm_node invocations identical to Pacemaker 2.1.5", passed, total)
}

var varRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

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
