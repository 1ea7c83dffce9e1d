package crmmon_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testenv"
	"ringmaster/tools/crmmon"
	"ringmaster/tools/crmresource"
)

// The CLI conformance set (shared/conformance/cli): Pacemaker 2.1.5's own
// crm_mon and crm_resource regression cases, run in-process against our
// tools with the comparison rules of conformance/tools/cli-compare.py.
// The pass count per tool and format must not fall below the recorded
// floor in testdata/conformance-floor.txt.

type sub struct {
	re    *regexp.Regexp
	repl  string
	count int // 0 = all, 1 = first only (Python re.sub count)
}

var subs = func() []sub {
	raw := []struct {
		p, r string
		n    int
	}{
		{`cib-last-written.*>`, `>`, 0},
		{`Last updated: .*`, `Last updated:`, 0},
		{`Last change: .*`, `Last change:`, 0},
		{`\(version .*\)`, `(version)`, 0},
		{`last_update time=".*"`, `last_update time=""`, 0},
		{`last_change time=".*"`, `last_change time=""`, 0},
		{` api-version="[^"]*"`, ` api-version="X"`, 1},
		{` default="[^"]*"`, ` default=""`, 1},
		{` version="[^"]*"`, ` version=""`, 1},
		{`request=".*(crm_[a-zA-Z0-9]*)`, `request="${1}`, 1},
		{`crm_feature_set="[^"]*" `, ``, 1},
		{`validate-with="[^"]*" `, ``, 1},
		{` last-rc-change=['"][-+A-Za-z0-9: ]*['"],?`, ``, 1},
		{`^Migration will take effect until: .*`, `Migration will take effect until:`, 1},
		{` end="[0-9][-+: 0-9]*Z*"`, ` end=""`, 1},
		{` start="[0-9][-+: 0-9]*Z*"`, ` start=""`, 1},
		{`.*\(([A-Za-z_][A-Za-z0-9_]*)@[^)]*\.c:[0-9]+\)`, `${1}`, 1},
		{`^lt-`, ``, 1},
		{`ocf::`, `ocf:`, 1},
		{`Masters:`, `Promoted:`, 1},
		{`Slaves:`, `Unpromoted:`, 1},
		{`Master`, `Promoted`, 1},
		{`Slave`, `Unpromoted`, 1},
	}
	var out []sub
	for _, x := range raw {
		out = append(out, sub{regexp.MustCompile(x.p), x.r, x.n})
	}
	return out
}()

var logLine = regexp.MustCompile(`^\S+\s+(error|warning|notice|info|debug|trace|crit):\s`)
var spaces = regexp.MustCompile(`\s+`)

func normalise(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for _, s := range subs {
			if s.count == 1 {
				if loc := s.re.FindStringSubmatchIndex(line); loc != nil {
					var dst []byte
					dst = s.re.ExpandString(dst, s.repl, line, loc)
					line = line[:loc[0]] + string(dst) + line[loc[1]:]
				}
			} else {
				line = s.re.ReplaceAllString(line, s.repl)
			}
		}
		out = append(out, line)
	}
	return out
}

func squash(lines []string, dropLogs bool) []string {
	var out []string
	for _, l := range lines {
		if dropLogs && logLine.MatchString(l) {
			continue
		}
		out = append(out, spaces.ReplaceAllString(l, ""))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// shellSplit splits a shell-quoted argument string (quotes, backslashes).
func shellSplit(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			in = true
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

type cliCase struct {
	id, tool, format, input string
	stdin                   bool
	rc                      int
	args                    []string
}

func loadCases(t *testing.T, dir string) []cliCase {
	b, err := os.ReadFile(filepath.Join(dir, "cases.tsv"))
	if err != nil {
		t.Fatalf("reading cases: %v", err)
	}
	var out []cliCase
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 7 {
			t.Fatalf("bad case line %q", line)
		}
		rc, _ := strconv.Atoi(f[5])
		out = append(out, cliCase{id: f[0], tool: f[1], format: f[2], input: f[3], stdin: f[4] == "1",
			rc: rc, args: shellSplit(f[6])})
	}
	return out
}

// runCase runs one case in-process and returns stderr+stdout and the exit code.
func runCase(t *testing.T, dir string, c cliCase) (string, int) {
	src := filepath.Join(dir, "inputs", c.input)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("%s: %v", c.id, err)
	}
	cib := filepath.Join(t.TempDir(), c.input)
	if err := os.WriteFile(cib, data, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CIB_file": cib, "PCMK_stderr": "1"}
	if c.stdin {
		env["CIB_file"] = "-"
	}
	var stdout, stderr bytes.Buffer
	args := append([]string{c.tool}, c.args...)
	getenv := func(k string) string { return env[k] }
	now := time.Now()
	var rc int
	switch c.tool {
	case "crm_mon":
		rc = crmmon.Main(crmmon.Env{Args: args, Getenv: getenv, Stdin: bytes.NewReader(data),
			Stdout: &stdout, Stderr: &stderr, Now: now})
	case "crm_resource":
		rc = crmresource.Main(crmresource.Env{Args: args, Getenv: getenv, Stdin: bytes.NewReader(data),
			Stdout: &stdout, Stderr: &stderr, Now: now})
	default:
		t.Fatalf("%s: unknown tool %s", c.id, c.tool)
	}
	return stderr.String() + stdout.String(), rc
}

func readFloor(t *testing.T) map[string]int {
	floor := map[string]int{}
	b, err := os.ReadFile(filepath.Join("testdata", "conformance-floor.txt"))
	if err != nil {
		t.Fatalf("reading floor: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || strings.HasPrefix(line, "#") {
			continue
		}
		n, _ := strconv.Atoi(f[2])
		floor[f[0]+" "+f[1]] = n
	}
	return floor
}

func TestCLIConformance(t *testing.T) {
	dir := testenv.Shared(t, "conformance", "cli")
	cases := loadCases(t, dir)
	pass := map[string]int{}
	total := map[string]int{}
	var failed []string
	for _, c := range cases {
		key := c.tool + " " + c.format
		total[key]++
		got, rc := runCase(t, dir, c)
		exp, err := os.ReadFile(filepath.Join(dir, "expected", c.id+".out"))
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		a, b := squash(normalise(got), true), squash(normalise(string(exp)), true)
		if rc == c.rc && strings.Join(a, "\n") == strings.Join(b, "\n") {
			pass[key]++
			continue
		}
		failed = append(failed, c.id)
	}
	floor := readFloor(t)
	var keys []string
	for k := range total {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sum := 0
	for _, k := range keys {
		t.Logf("%-18s %3d/%3d pass (floor %d)", k, pass[k], total[k], floor[k])
		sum += pass[k]
		if pass[k] < floor[k] {
			t.Errorf("%s: %d cases pass, below the recorded floor %d", k, pass[k], floor[k])
		}
	}
	t.Logf("total %d/%d pass (log lines ignored); failing: %s", sum, len(cases), strings.Join(failed, " "))
	if os.Getenv("RINGMASTER_PRINT_FLOOR") != "" {
		for _, k := range keys {
			fmt.Printf("%s %d\n", k, pass[k])
		}
	}
}
