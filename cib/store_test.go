package cib

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

func sampleCIB(t testing.TB, epoch int) string {
	t.Helper()
	return fmt.Sprintf(`<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="%d" num_updates="7" admin_epoch="0">
  <configuration><crm_config/><nodes><node id="1" uname="node1"/></nodes>
  <resources><primitive id="d%d" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints/></configuration>
  <status><node_state id="1" uname="node1"/></status></cib>`, epoch, epoch)
}

func fixedNow() time.Time { return time.Date(2026, 11, 22, 11, 32, 26, 0, time.Local) }

func TestStoreWriteLoadBackups(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Dir: dir, Now: fixedNow}
	if _, _, err := s.Load(); !errors.Is(err, ErrNoCIB) {
		t.Fatalf("empty dir: %v, want ErrNoCIB", err)
	}
	for i := 1; i <= 3; i++ {
		root, err := ParseXMLString(sampleCIB(t, i))
		if err != nil {
			t.Fatal(err)
		}
		digest, err := s.Write(root)
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		sig, _ := os.ReadFile(filepath.Join(dir, "cib.xml.sig"))
		if string(sig) != digest || len(digest) != 32 {
			t.Fatalf("sig %q, digest %q", sig, digest)
		}
		if AttrInt(root, "num_updates", -1) != 7 {
			t.Fatal("Write modified its argument")
		}
	}
	got, from, err := s.Load()
	if err != nil || from != filepath.Join(dir, "cib.xml") {
		t.Fatalf("load: %v from %s", err, from)
	}
	if FirstChild(got, "status") != nil {
		t.Error("status section was written to disk")
	}
	if AttrOr(got, "num_updates", "") != "0" || AttrOr(got, "cib-last-written", "") != "Sun Nov 22 11:32:26 2026" {
		t.Errorf("version attributes on disk: %s", Serialize(got, false))
	}
	for _, f := range []string{"cib-0.raw", "cib-0.raw.sig", "cib-1.raw", "cib-1.raw.sig"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("backup %s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cib.last")); string(b) != "2" {
		t.Errorf("cib.last = %q, want 2", b)
	}
}

func TestStoreRefusesModifiedFile(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Dir: dir, Now: fixedNow}
	for i := 1; i <= 2; i++ {
		root, _ := ParseXMLString(sampleCIB(t, i))
		if _, err := s.Write(root); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "cib.xml")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `epoch="2"`, `epoch="99"`, 1)), 0o600)

	_, err := ReadAndVerify(p, "")
	var de *DigestError
	if !errors.As(err, &de) {
		t.Fatalf("ReadAndVerify of a hand-edited file: %v, want DigestError", err)
	}
	if !strings.Contains(err.Error(), "modified by hand") {
		t.Errorf("unclear error: %v", err)
	}
	// Load falls back to the newest good backup, like the CIB manager.
	root, from, err := s.Load()
	if err != nil || filepath.Base(from) != "cib-0.raw" || AttrOr(root, "epoch", "") != "1" {
		t.Fatalf("fallback: %v from %s", err, from)
	}
	// A write over a modified file is refused and leaves it alone.
	root2, _ := ParseXMLString(sampleCIB(t, 3))
	if _, err := s.Write(root2); !errors.As(err, &de) {
		t.Fatalf("write over modified file: %v", err)
	}
}

// TestStoreCrashLoop kills a writer with SIGKILL at random moments and
// checks that after recovery cib.xml always parses and matches cib.xml.sig.
func TestStoreCrashLoop(t *testing.T) {
	if os.Getenv("RINGMASTER_CIB_WRITER") != "" {
		return
	}
	iterations := 25
	if testing.Short() {
		iterations = 5
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	torn := 0
	for i := 0; i < iterations; i++ {
		cmd := exec.Command(exe, "-test.run=^TestStoreWriterHelper$")
		cmd.Env = append(os.Environ(), "RINGMASTER_CIB_WRITER="+dir, fmt.Sprintf("RINGMASTER_CIB_SEED=%d", i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+rng.Intn(60)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		// What a reader without recovery would see (Pacemaker's window).
		if _, err := ReadAndVerify(filepath.Join(dir, "cib.xml"), ""); err != nil && !errors.Is(err, ErrNoCIB) {
			torn++
		}
		s := &Store{Dir: dir}
		if err := s.Recover(); err != nil {
			t.Fatalf("iteration %d: recover: %v", i, err)
		}
		if _, err := ReadAndVerify(filepath.Join(dir, "cib.xml"), ""); err != nil && !errors.Is(err, ErrNoCIB) {
			t.Fatalf("iteration %d: after recovery cib.xml is not consistent: %v", i, err)
		}
	}
	t.Logf("%d kills, %d left the pair mid-update before recovery", iterations, torn)
}

// TestStoreWriterHelper is the victim process of TestStoreCrashLoop.
func TestStoreWriterHelper(t *testing.T) {
	dir := os.Getenv("RINGMASTER_CIB_WRITER")
	if dir == "" {
		t.Skip("helper process only")
	}
	s := &Store{Dir: dir}
	for i := 0; i < 100000; i++ {
		root, _ := ParseXMLString(sampleCIB(t, i+1))
		// Grow the document so writes take a measurable time.
		res := FirstChild(FirstChild(root, "configuration"), "resources")
		for k := 0; k < i%200; k++ {
			p := res.CreateElement("primitive")
			SetAttr(p, "id", fmt.Sprintf("r%d", k))
			SetAttr(p, "class", "ocf")
		}
		if _, err := s.Write(root); err != nil {
			// A previous kill may have left a state the next Write
			// refuses; that must never happen.
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(3)
		}
	}
}

// TestStoreInteropWithPacemaker writes the live CIB alternately with
// Pacemaker's cibadmin and ours (CIB_file=/var/lib/pacemaker/cib/cib.xml
// makes both use digests and backups), in a private mount namespace with a
// tmpfs over the CIB directory. Each side verifies the other's digest
// before writing, so success proves the files interoperate.
func TestStoreInteropWithPacemaker(t *testing.T) {
	if testing.Short() {
		t.Skip("mount namespace with the real cibadmin")
	}
	testenv.RequireRoot(t)
	testenv.RequireBinary(t, "cibadmin")
	unshare := testenv.RequireBinary(t, "unshare")
	ours := testenv.GoBinary(t, "cibadmin")
	script := `set -e
mount -t tmpfs tmpfs /var/lib/pacemaker/cib
export CIB_file=/var/lib/pacemaker/cib/cib.xml
cibadmin --empty > $CIB_file
cibadmin -C -o resources -X '<primitive id="real1" class="ocf" provider="pacemaker" type="Dummy"/>'
test -s $CIB_file.sig
OURS -C -o resources -X '<primitive id="ours1" class="ocf" provider="pacemaker" type="Dummy"/>'
cibadmin -C -o resources -X '<primitive id="real2" class="ocf" provider="pacemaker" type="Dummy"/>'
OURS -M -X '<primitive id="real2" description="seen"/>'
cibadmin -Q -o resources
ls /var/lib/pacemaker/cib | sort | tr '\n' ' '; echo
cat /var/lib/pacemaker/cib/cib.last; echo
sed -i 's/real1/edited/' $CIB_file
if OURS -C -o resources -X '<primitive id="x" class="ocf" provider="pacemaker" type="Dummy"/>' 2>/dev/null; then echo "ours accepted a modified file"; exit 1; fi
if cibadmin -C -o resources -X '<primitive id="x" class="ocf" provider="pacemaker" type="Dummy"/>' 2>/dev/null; then echo "pacemaker accepted a modified file"; exit 1; fi
echo done
`
	script = strings.ReplaceAll(script, "OURS", ours)
	out, err := exec.Command(unshare, "-m", "--propagation", "private", "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("interop script: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{`id="real1"`, `id="ours1"`, `id="real2"`, `description="seen"`, "cib-0.raw", "cib-3.raw.sig", "cib.xml.sig", "\ndone\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
}

// TestStoreRecoverStates builds the two states a crash can leave between
// the renames and checks Recover repairs both.
func TestStoreRecoverStates(t *testing.T) {
	for _, swapped := range []bool{false, true} {
		dir := t.TempDir()
		s := &Store{Dir: dir, Now: fixedNow}
		old, _ := ParseXMLString(sampleCIB(t, 1))
		if _, err := s.Write(old); err != nil {
			t.Fatal(err)
		}
		nw, _ := ParseXMLString(sampleCIB(t, 2))
		text := Serialize(nw, true)
		digest := DigestOnDisk(nw)
		// The new signature is staged; with swapped the new cib.xml is
		// already in place (crash between the two renames).
		os.WriteFile(filepath.Join(dir, pendingName), []byte(digest), 0o600)
		if swapped {
			os.WriteFile(filepath.Join(dir, "cib.xml"), []byte(text), 0o600)
			if _, err := ReadAndVerify(filepath.Join(dir, "cib.xml"), ""); err == nil {
				t.Fatal("test setup: pair should not match before recovery")
			}
		}
		if err := s.Recover(); err != nil {
			t.Fatal(err)
		}
		root, err := ReadAndVerify(filepath.Join(dir, "cib.xml"), "")
		if err != nil {
			t.Fatalf("swapped=%v: %v", swapped, err)
		}
		want := "1"
		if swapped {
			want = "2"
		}
		if AttrOr(root, "epoch", "") != want {
			t.Errorf("swapped=%v: epoch %s, want %s", swapped, AttrOr(root, "epoch", ""), want)
		}
		if _, err := os.Stat(filepath.Join(dir, pendingName)); err == nil {
			t.Error("pending signature left behind")
		}
	}
}
