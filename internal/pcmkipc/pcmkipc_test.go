package pcmkipc

import (
	"bufio"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// TestDecodeCapturedVectors decodes every Pacemaker message of the IPC
// captures and re-encodes the uncompressed ones byte for byte (header
// padding aside).
func TestDecodeCapturedVectors(t *testing.T) {
	files, _ := filepath.Glob(testenv.Shared(t, "testdata", "ipc", "pcmk-*.txt"))
	if len(files) == 0 {
		testenv.Unavailable(t, "pcmk-*.txt vectors")
	}
	n := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 4 || fields[0] == "#" || fields[2] == "setup" {
				continue
			}
			if !strings.HasPrefix(fields[1], "cib") && fields[1] != "crmd" && fields[1] != "attrd" && fields[1] != "pacemakerd" && fields[1] != "stonith-ng" {
				continue
			}
			raw, err := hex.DecodeString(fields[3])
			if err != nil {
				t.Fatal(err)
			}
			h, xml, err := Decode(raw)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			if len(xml) == 0 || xml[0] != '<' {
				t.Fatalf("%s: payload %q", filepath.Base(f), xml)
			}
			n++
			if h.Flags&FlagCompressed == 0 {
				again, err := Encode(h.ID, h.Flags, xml, 0)
				if err != nil {
					t.Fatal(err)
				}
				if string(again[HeaderSize:]) != string(raw[HeaderSize:h.Size]) || string(again[:4]) != string(raw[:4]) || string(again[24:37]) != string(raw[24:37]) {
					t.Fatalf("%s: re-encoding differs", filepath.Base(f))
				}
			}
		}
		fh.Close()
	}
	t.Logf("decoded %d Pacemaker IPC messages", n)
}

func FuzzDecode(f *testing.F) {
	m, _ := Encode(3, FlagClientResponse, []byte(`<cib_command t="cib"/>`), 0)
	f.Add(m)
	c := append([]byte(nil), m...)
	c[32] |= 1
	f.Add(c)
	f.Fuzz(func(t *testing.T, b []byte) {
		Decode(b)
	})
}
