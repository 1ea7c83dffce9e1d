package keygen

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
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

type memFS struct {
	random []byte
	files  map[string]*memFile
	fail   error
}

type memFile struct {
	bytes.Buffer
	mode os.FileMode
}

func (f *memFile) Chmod(m os.FileMode) error { f.mode = m; return nil }
func (f *memFile) Close() error              { return nil }

func (m *memFS) Open(name string) (io.ReadCloser, error) {
	if name == "/missing" {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	}
	return io.NopCloser(bytes.NewReader(m.random)), nil
}

func (m *memFS) Create(name string) (File, error) {
	if m.fail != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: m.fail}
	}
	f := &memFile{}
	m.files[name] = f
	return f, nil
}

func TestRunFakeFS(t *testing.T) {
	tests := []struct {
		args []string
		fs   *memFS
		code int
		out  string
	}{
		{[]string{"corosync-keygen", "-k", "/k"}, &memFS{random: make([]byte, 300)}, 0,
			"Corosync Cluster Engine Authentication key generator.\nGathering 2048 bits for key from /dev/urandom.\nWriting corosync key to /k.\n"},
		{[]string{"corosync-keygen", "-r", "/missing"}, &memFS{}, 1,
			"corosync-keygen: Failed to open random source: No such file or directory\n" +
				"Corosync Cluster Engine Authentication key generator.\nGathering 2048 bits for key from /missing.\n"},
		{[]string{"corosync-keygen", "-k", "/k", "-s", "128"}, &memFS{random: make([]byte, 100)}, 1,
			"corosync-keygen: Could not read /dev/random: random source /dev/urandom ended\n" +
				"Corosync Cluster Engine Authentication key generator.\nGathering 1024 bits for key from /dev/urandom.\n" +
				"Press keys on your keyboard to generate entropy (224 bits still needed).\n" +
				"Press keys on your keyboard to generate entropy (224 bits still needed).\n"},
		{[]string{"corosync-keygen"}, &memFS{random: make([]byte, 256), fail: syscall.EACCES}, 2,
			"corosync-keygen: Could not create /etc/corosync/authkey: Permission denied\n" +
				"Corosync Cluster Engine Authentication key generator.\nGathering 2048 bits for key from /dev/urandom.\n"},
	}
	for _, tt := range tests {
		tt.fs.files = map[string]*memFile{}
		var out, errb bytes.Buffer
		code := Run(tt.args, &out, &errb, tt.fs)
		if got := errb.String() + out.String(); got != tt.out || code != tt.code {
			t.Errorf("%v: exit %d\n%q\nwant exit %d\n%q", tt.args, code, got, tt.code, tt.out)
		}
		if f := tt.fs.files["/k"]; code == 0 && f != nil && (f.mode != 0o400 || f.Len() != 256) {
			t.Errorf("%v: key %d bytes mode %v", tt.args, f.Len(), f.mode)
		}
	}
}

// FuzzGetopt: no argument vector makes the option parser panic, and the
// exit status is always one corosync-keygen uses.
func FuzzGetopt(f *testing.F) {
	for _, s := range []string{"-k\x00a", "--key-file=x\x00-s\x00200", "-lh", "--\x00-x", "--si=1", "-s\x00", "--he"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := append([]string{"corosync-keygen"}, strings.Split(s, "\x00")...)
		var out, errb bytes.Buffer
		fs := &memFS{random: make([]byte, MaxKeyLen), files: map[string]*memFile{}}
		switch code := Run(args, &out, &errb, fs); code {
		case 0, 1:
		default:
			t.Fatalf("exit %d for %q", code, args)
		}
	})
}
