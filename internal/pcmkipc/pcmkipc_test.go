package pcmkipc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
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

// TestCompression round-trips a large payload through compression and
// checks the stream with the system's bzip2 (libbz2, what Pacemaker uses).
func TestCompression(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("<cib>")
	for i := 0; sb.Len() < 300000; i++ {
		sb.WriteString(`<nvpair id="n` + strings.Repeat("x", i%7) + `" name="a" value="b"/>`)
	}
	sb.WriteString("</cib>")
	xml := []byte(sb.String())
	msg, err := Encode(9, FlagServerEvent, xml, 131072)
	if err != nil {
		t.Fatal(err)
	}
	h, body, err := Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	if h.Flags&FlagCompressed == 0 || len(msg) >= 131072 || string(body) != string(xml) {
		t.Fatalf("flags %#x len %d, round trip ok=%v", h.Flags, len(msg), string(body) == string(xml))
	}
	if bz, err := exec.LookPath("bzip2"); err == nil {
		cmd := exec.Command(bz, "-dc")
		cmd.Stdin = bytes.NewReader(msg[HeaderSize:])
		out, err := cmd.Output()
		if err != nil || string(out) != string(xml)+"\x00" {
			t.Fatalf("libbz2 does not read our stream: %v", err)
		}
	}
	if _, err := Encode(1, 0, xml, 100); err == nil {
		t.Fatal("oversized message accepted")
	}
}
