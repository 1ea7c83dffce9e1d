package keygen

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

type transcriptCase struct {
	args   []string
	output string
	exit   int
	file   string // "[file ...]" line, if any
}

var fileLineRE = regexp.MustCompile(`^\[file (\S+): (\d+) bytes, mode (\d+) (\S+), root:root\]$`)

// parseTranscript reads expected/keygen.txt: "$ corosync-keygen ARGS",
// the combined output, "[exit N]" and optionally "[file ...]".
func parseTranscript(t *testing.T, text string) []transcriptCase {
	var cases []transcriptCase
	var cur *transcriptCase
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "$ corosync-keygen"):
			cases = append(cases, transcriptCase{args: strings.Fields(strings.TrimPrefix(line, "$ "))})
			cur = &cases[len(cases)-1]
		case cur == nil:
		case strings.HasPrefix(line, "[exit "):
			cur.exit, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "[exit "), "]"))
		case strings.HasPrefix(line, "[file "):
			cur.file = line
		default:
			if cur.file == "" && !(line == "" && cur.exit != 0) {
				cur.output += line + "\n"
			}
		}
	}
	// Each block is followed by one separating blank line.
	for i := range cases {
		cases[i].output = strings.TrimSuffix(cases[i].output, "\n")
	}
	return cases
}

// runOurs runs Run in dir and returns stderr+stdout (C order when captured:
// stderr unbuffered first, buffered stdout at exit) and the exit status.
func runOurs(t *testing.T, dir string, args []string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	code := Run(args, &out, &errb, OSFS{})
	return errb.String() + out.String(), code
}

func TestTranscript(t *testing.T) {
	b, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "expected", "keygen.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cases := parseTranscript(t, string(b))
	if len(cases) < 9 {
		t.Fatalf("parsed %d cases from keygen.txt", len(cases))
	}
	dir := t.TempDir()
	for _, c := range cases {
		got, code := runOurs(t, dir, c.args)
		// The transcript's stdout lines were written after stderr; normalise
		// trailing blank lines the transcript's separator swallowed.
		if strings.TrimRight(got, "\n") != strings.TrimRight(c.output, "\n") {
			t.Errorf("%v: output\n got %q\nwant %q", c.args, got, c.output)
		}
		if code != c.exit {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.exit)
		}
		if c.file != "" {
			m := fileLineRE.FindStringSubmatch(c.file)
			fi, err := os.Stat(filepath.Join(dir, m[1]))
			if err != nil {
				t.Errorf("%v: %v", c.args, err)
				continue
			}
			size, _ := strconv.Atoi(m[2])
			if int(fi.Size()) != size || fmt.Sprintf("%o", fi.Mode().Perm()) != m[3] || fi.Mode().String() != m[4] {
				t.Errorf("%v: file %s is %d bytes %v, want %s", c.args, m[1], fi.Size(), fi.Mode(), c.file)
			}
		}
	}
	// -h alone equals keygen-h.txt.
	h, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "expected", "keygen-h.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := runOurs(t, dir, []string{"corosync-keygen", "-h"}); got != string(h) {
		t.Errorf("-h: got %q want %q", got, h)
	}
}

// TestAgainstReal runs Debian's corosync-keygen and ours side by side on
// option combinations the transcript does not cover.
func TestAgainstReal(t *testing.T) {
	real := testenv.RequireBinary(t, "corosync-keygen")
	argSets := [][]string{
		{"-k", "a1"}, {"-ka2", "-s", "200"}, {"--key-file=a3", "--size=128"}, {"--key", "a4"},
		{"-k"}, {"--size"}, {"--bogus"}, {"--help=x"}, {"-s", "12x"}, {"-s", ""}, {"-lh"},
		{"-k", "a5", "extra", "-s", "300"}, {"-r", "/nonexistent", "-k", "a6"},
		{"-k", "nodir/a7"}, {"--", "-x"}, {"-s", "4097"}, {"-s", "-128"},
	}
	for _, args := range argSets {
		dirA, dirB := t.TempDir(), t.TempDir()
		cmd := exec.Command(real, args...)
		cmd.Dir = dirA
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(se.String(), real+":", "corosync-keygen:") + so.String()
		got, gotCode := runOurs(t, dirB, append([]string{"corosync-keygen"}, args...))
		if got != want || gotCode != code {
			t.Errorf("%q: ours (exit %d)\n%q\nreal (exit %d)\n%q", args, gotCode, got, code, want)
		}
		if a, b := listing(t, dirA), listing(t, dirB); a != b {
			t.Errorf("%q: files differ: ours %s, real %s", args, b, a)
		}
	}
}

func listing(t *testing.T, dir string) string {
	ents, _ := os.ReadDir(dir)
	var s []string
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		s = append(s, fmt.Sprintf("%s:%d:%v", e.Name(), fi.Size(), fi.Mode()))
	}
	return strings.Join(s, " ")
}
