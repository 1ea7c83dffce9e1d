// Package testenv answers the questions tests ask about the machine they run on:
// where the shared conformance data lives, whether we are root, whether a Debian
// binary is installed. Under CI=true a missing prerequisite fails the test instead
// of skipping it, so a green CI run means every test really ran.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where nothing may skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips the test, or fails it under CI, with the reason.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("prerequisite missing under CI: "+format, args...)
	}
	t.Skipf("prerequisite missing: "+format, args...)
}

var (
	sharedOnce sync.Once
	sharedDir  string
)

// SharedDir returns the path of the shared/ folder (docs, testdata, conformance)
// that sits beside the repository checkout, or $RINGMASTER_SHARED if set.
func SharedDir(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() {
		if d := os.Getenv("RINGMASTER_SHARED"); d != "" {
			sharedDir = d
			return
		}
		dir := RepoRoot()
		for dir != "" {
			cand := filepath.Join(filepath.Dir(dir), "shared")
			if fi, err := os.Stat(filepath.Join(cand, "conformance")); err == nil && fi.IsDir() {
				sharedDir = cand
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	})
	if sharedDir == "" {
		Unavailable(t, "shared/ folder beside the checkout (or $RINGMASTER_SHARED)")
	}
	return sharedDir
}

// Shared joins elements onto SharedDir.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{SharedDir(t)}, elem...)...)
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <root>/internal/testenv/testenv.go
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// RequireRoot skips (fails under CI) unless the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "root (network namespaces, abstract sockets of other namespaces)")
	}
}

// RequireBinary returns the path of an installed program, skipping (failing under
// CI) when it is absent.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
			cand := filepath.Join(dir, name)
			if fi, err := os.Stat(cand); err == nil && fi.Mode()&0o111 != 0 {
				return cand
			}
		}
		Unavailable(t, "program %s (install the Debian package that ships it)", name)
	}
	return p
}

var (
	buildMu    sync.Mutex
	buildCache = map[string]string{}
)

// GoBinary builds ./cmd/<name> into <repo>/bin/<name> (once per test process;
// the Go build cache makes repeats cheap) and returns its path.
func GoBinary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache[name]; ok {
		return p
	}
	root := RepoRoot()
	out := filepath.Join(root, "bin", name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, b)
	}
	buildCache[name] = out
	return out
}
