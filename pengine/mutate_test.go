package pengine

import (
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"ringmaster/internal/testenv"
)

// TestMutatedCIBsDoNotPanic schedules randomly damaged copies of the
// regression inputs (elements removed, attributes dropped or given odd
// values) and requires a result or an error, never a panic or a hang.
func TestMutatedCIBsDoNotPanic(t *testing.T) {
	if testing.Short() {
		t.Skip("mutation sweep over the regression inputs")
	}
	dir := testenv.Shared(t, "conformance", "scheduler", "xml")
	files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
	rng := rand.New(rand.NewSource(1))
	panics := 0
	for _, f := range files {
		for k := 0; k < 2; k++ {
			doc := etree.NewDocument()
			if doc.ReadFromFile(f) != nil {
				continue
			}
			all := doc.FindElements("//*")
			for m := 0; m < 3 && len(all) > 2; m++ {
				e := all[1+rng.Intn(len(all)-1)]
				switch rng.Intn(3) {
				case 0:
					if p := e.Parent(); p != nil {
						p.RemoveChild(e)
					}
				case 1:
					if len(e.Attr) > 0 {
						e.RemoveAttr(e.Attr[rng.Intn(len(e.Attr))].Key)
					}
				case 2:
					if len(e.Attr) > 0 {
						e.Attr[rng.Intn(len(e.Attr))].Value = []string{"", "INFINITY", "-1", "x:y", "0"}[rng.Intn(5)]
					}
				}
			}
			_, err := Schedule(doc, time.Unix(1700000000, 0), Options{ShowScores: true})
			if err != nil && strings.Contains(err.Error(), "internal error") {
				panics++
				if panics < 6 {
					t.Logf("%s: %v", filepath.Base(f), err)
				}
			}
		}
	}
	if panics > 0 {
		t.Errorf("%d panics", panics)
	}
}
