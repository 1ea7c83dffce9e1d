package pcmkipc

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// TestCPGVectors decodes every captured Pacemaker CPG payload and
// re-encodes it: uncompressed messages come back byte for byte, compressed
// ones decode to the same text.
func TestCPGVectors(t *testing.T) {
	files, _ := filepath.Glob(testenv.Shared(t, "testdata", "pcmk-cpg", "vectors", "[0-9]*.bin"))
	if len(files) < 20 {
		t.Fatalf("only %d vectors", len(files))
	}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "00-") {
			continue // the whole corosync exec message, not a payload
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := DecodeCPG(b)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if !bytes.HasPrefix(m.XML, []byte("<")) || m.Sender.Pid == 0 || m.Sender.Uname == "" {
			t.Errorf("%s: decoded %+v", filepath.Base(f), m.Sender)
		}
		out, err := EncodeCPG(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f, "bz2") {
			back, err := DecodeCPG(out)
			if err != nil || !bytes.Equal(back.XML, m.XML) {
				t.Errorf("%s: compressed round trip: %v", filepath.Base(f), err)
			}
			continue
		}
		if !bytes.Equal(out, b) {
			t.Errorf("%s: re-encoded bytes differ", filepath.Base(f))
		}
	}
}

func TestCPGForUs(t *testing.T) {
	m := CPGMessage{Host: CPGPeer{ID: 2, Uname: "n2"}}
	if m.ForUs(1, "n1") || !m.ForUs(2, "N2") {
		t.Fatal("address filter")
	}
	if !(CPGMessage{}).ForUs(7, "x") {
		t.Fatal("broadcast filtered")
	}
}

func FuzzDecodeCPG(f *testing.F) {
	good, _ := EncodeCPG(CPGMessage{ID: 1, Host: CPGPeer{Type: CPGTypeCIB}, Sender: CPGPeer{Pid: 9, Type: CPGTypeCIB, Uname: "n1"}, XML: []byte("<ping/>")})
	f.Add(good)
	f.Add(good[:CPGHeaderSize])
	f.Add(make([]byte, CPGHeaderSize+3))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeCPG(b)
		if err != nil {
			return
		}
		if _, err := EncodeCPG(m); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkCPGRoundTrip(b *testing.B) {
	m := CPGMessage{ID: 1, Sender: CPGPeer{Pid: 1, Type: CPGTypeCIB, Uname: "n1"},
		XML: []byte(`<cib_command __name__="cib_command" t="cib" cib_op="cib_modify" cib_section="status"><cib_calldata><status/></cib_calldata></cib_command>`)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out, _ := EncodeCPG(m)
		if _, err := DecodeCPG(out); err != nil {
			b.Fatal(err)
		}
	}
}
