package wire

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// checkDeps fails if a non-test file of the package in dir imports
// something a protocol package must not (no sockets, files, clocks or
// global randomness: docs/style.md rule 1).
func checkDeps(t *testing.T, dir string, bad ...string) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			for _, b := range bad {
				if p == b {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}

var protocolBadDeps = []string{"net", "os", "os/exec", "time", "math/rand", "math/rand/v2", "syscall", "golang.org/x/sys/unix"}

func TestDeps(t *testing.T) {
	checkDeps(t, ".", protocolBadDeps...)
	checkDeps(t, "../pg", protocolBadDeps...)
}
