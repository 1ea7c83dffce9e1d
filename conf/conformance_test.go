package conf

import (
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

// Recorded conformance level: the test fails if we fall below it.
const (
	wantConfigsMatched = 29
	wantBadHandled     = 14
)

// excludedPrefixes are the live keys of the real daemon's map that the
// configuration does not determine: they belong to the daemon (membership,
// quorum state, message counters).
var excludedKeys = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`^runtime\.members\.`), "membership, written by the daemon on join/leave"},
	{regexp.MustCompile(`^runtime\.votequorum\.`), "votequorum live state"},
	{regexp.MustCompile(`^runtime\.services\.[a-z]+\.[0-9]+\.(rx|tx)$`), "message counters (CounterKeys seeds them at 0)"},
}

func excluded(key string) bool {
	for _, e := range excludedKeys {
		if e.re.MatchString(key) {
			return true
		}
	}
	return false
}

// harnessEnv is node 1 of the conformance harness: hostname node01,
// 192.0.2.1 on eth0, names from harness/hosts, authkey installed (or not).
func harnessEnv(t testing.TB, withKey bool) *Env {
	hosts, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "harness", "hosts"))
	if err != nil {
		t.Fatal(err)
	}
	env := HostsEnv("node01", []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::1"),
	}, hosts)
	keyFile := testenv.Shared(t, "conformance", "corosync", "configs", "knet-crypto.authkey")
	env.ReadFile = func(p string) ([]byte, error) {
		if p == DefaultAuthkeyPath {
			if !withKey {
				return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
			}
			return os.ReadFile(keyFile)
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
	}
	env.Stat = func(p string) (fs.FileMode, error) { return 0o400, nil }
	env.ReadDir = func(string) ([]string, error) { return nil, nil }
	env.OpenLogfile = nil
	env.Chdir = nil
	return env
}

var tsRE = regexp.MustCompile(`(?m)^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})? `)

func maskTS(s string) string { return tsRE.ReplaceAllString(s, "TS ") }

func readExit(t testing.TB, dir, name, which string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, name+".exitcodes"))
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == which {
			n := 0
			for _, c := range f[1] {
				n = n*10 + int(c-'0')
			}
			return n, true
		}
	}
	return 0, false
}

func TestConformance(t *testing.T) {
	base := testenv.Shared(t, "conformance", "corosync")
	cfgDir := filepath.Join(base, "configs")
	expDir := filepath.Join(base, "expected")
	names, _ := filepath.Glob(filepath.Join(cfgDir, "*.conf"))
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no configs")
	}
	t.Logf("excluded from the key comparison (live, daemon-owned):")
	for _, e := range excludedKeys {
		t.Logf("  %s: %s", e.re, e.why)
	}
	now := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	matched, valid, badOK, bad := 0, 0, 0, 0
	for _, path := range names {
		name := strings.TrimSuffix(filepath.Base(path), ".conf")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(expDir, name+".cmapctl")); err == nil {
			valid++
			if checkValid(t, name, data, expDir, now) {
				matched++
			}
		}
		variants := []struct {
			suffix, exitKey string
			withKey         bool
		}{{".error", "corosync-t", true}, {".error-nokey", "corosync-t-nokey", false}}
		for _, v := range variants {
			want, err := os.ReadFile(filepath.Join(expDir, name+v.suffix))
			if err != nil {
				continue
			}
			bad++
			out := Test(DefaultPath, data, harnessEnv(t, v.withKey), Options{})
			got := maskTS(out.Format(now))
			ok := true
			if got != maskTS(string(want)) {
				t.Errorf("%s%s: corosync -t output\n got: %q\nwant: %q", name, v.suffix, got, maskTS(string(want)))
				ok = false
			}
			if code, found := readExit(t, expDir, name, v.exitKey); found && code != out.ExitCode {
				t.Errorf("%s%s: exit %d, want %d", name, v.suffix, out.ExitCode, code)
				ok = false
			}
			if ok {
				badOK++
			}
		}
	}
	t.Logf("configs matched %d/%d, bad configs handled %d/%d", matched, valid, badOK, bad)
	if matched < wantConfigsMatched || badOK < wantBadHandled {
		t.Errorf("conformance fell below the recorded level (%d configs, %d bad)", wantConfigsMatched, wantBadHandled)
	}
}

func checkValid(t *testing.T, name string, data []byte, expDir string, now time.Time) bool {
	ok := true
	c, warns, err := LoadBytes(DefaultPath, data, harnessEnv(t, true), Options{})
	if err != nil {
		t.Errorf("%s: Load: %v", name, err)
		return false
	}
	want, _ := os.ReadFile(filepath.Join(expDir, name+".cmapctl"))
	var wantLines []string
	for _, l := range strings.Split(strings.TrimRight(string(want), "\n"), "\n") {
		key, _, _ := strings.Cut(l, " (")
		if !excluded(key) {
			wantLines = append(wantLines, l)
		}
	}
	var gotLines []string
	for _, kv := range c.Keys() {
		gotLines = append(gotLines, kv.String())
	}
	if d := lineDiff(gotLines, wantLines); d != "" {
		t.Errorf("%s: key tree differs (-ours +corosync):\n%s", name, d)
		ok = false
	}
	if tw, err := os.ReadFile(filepath.Join(expDir, name+".corosync-t")); err == nil {
		out := TestResult(c, warns, nil)
		if got := maskTS(out.Format(now)); got != maskTS(string(tw)) {
			t.Errorf("%s: corosync -t\n got: %q\nwant: %q", name, got, maskTS(string(tw)))
			ok = false
		}
	}
	return ok
}

func lineDiff(got, want []string) string {
	g := map[string]bool{}
	for _, l := range got {
		g[l] = true
	}
	w := map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	var b strings.Builder
	for _, l := range got {
		if !w[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range want {
		if !g[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
