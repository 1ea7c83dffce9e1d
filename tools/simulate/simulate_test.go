package simulate

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"ringmaster/internal/testenv"
)

// TestSimulateMatchesPacemakerSummary runs the tool on a regression input
// and compares its Transition Summary, byte for byte, with what Pacemaker
// 2.1.5's crm_simulate printed.
func TestSimulateMatchesPacemakerSummary(t *testing.T) {
	dir := testenv.Shared(t, "conformance", "scheduler")
	for _, name := range []string{"simple6", "group5", "662", "migrate-begin", "ticket-promoted-1"} {
		t.Run(name, func(t *testing.T) {
			graph := filepath.Join(t.TempDir(), "graph.xml")
			var out, errb bytes.Buffer
			if rc := Run([]string{"-x", filepath.Join(dir, "xml", name+".xml"), "-S", "-G", graph}, &out, &errb); rc != 0 {
				t.Fatalf("rc %d: %s", rc, errb.String())
			}
			want, err := os.ReadFile(filepath.Join(dir, "summary", name+".summary"))
			if err != nil {
				t.Fatal(err)
			}
			if got, exp := section(out.String()), section(string(want)); got != exp {
				t.Errorf("Transition Summary differs:\n--- got\n%s--- want\n%s", got, exp)
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromFile(graph); err != nil || doc.Root() == nil || doc.Root().Tag != "transition_graph" {
				t.Fatalf("graph not written as <transition_graph>: %v", err)
			}
		})
	}
}

func section(text string) string {
	var b strings.Builder
	in := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "Transition Summary:") {
			in = true
			continue
		}
		if in {
			if l != "" && l[0] != ' ' {
				break
			}
			if strings.HasPrefix(strings.TrimSpace(l), "* ") {
				b.WriteString(l + "\n")
			}
		}
	}
	return b.String()
}

func TestBadInput(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := Run([]string{"-x", filepath.Join(t.TempDir(), "missing.xml")}, &out, &errb); rc == 0 {
		t.Fatal("missing file accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte("<cib><configuration><nodes><node uname='x'/></nodes></configuration></cib>"), 0o644)
	errb.Reset()
	if rc := Run([]string{"-x", bad, "-S"}, &out, &errb); rc == 0 || !strings.Contains(errb.String(), "<node") {
		t.Fatalf("bad CIB: rc=%d stderr=%q", rc, errb.String())
	}
}
