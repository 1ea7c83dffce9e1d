package crmrule

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// TestLiveCIB starts our pacemaker-based in a private network namespace
// (abstract sockets are per namespace, so nothing else sees it) and checks
// that our crm_rule and Debian's read the live CIB and agree.
func TestLiveCIB(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a CIB manager")
	}
	testenv.RequireRoot(t)
	unshare := testenv.RequireBinary(t, "unshare")
	real := testenv.RequireBinary(t, "crm_rule")
	ours := testenv.GoBinary(t, "crm_rule")
	based := testenv.GoBinary(t, "pacemaker-based")
	dir := t.TempDir()
	cib, err := os.ReadFile("testdata/cib.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cib.xml"), cib, 0o644); err != nil {
		t.Fatal(err)
	}
	// The script owns the daemon: it starts it, waits (bounded) until a
	// query answers, runs both tools, and kills it by PID.
	script := `
"$BASED" -r "$DIR" -w=false --node-name n1 >"$DIR/based.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for i in $(seq 1 100); do
	"$OURS" -c -r rd-rule >/dev/null 2>&1 && break
	sleep 0.1
done
for args in "-c -r cli-prefer-rule-dummy-not-yet --output-as=xml" "-c -r cli-prefer-rule-dummy-expired -d 20180101" "-c -r dup -r bad-rule"; do
	echo "## $args"
	"$TOOL" $args 2>&1
	echo "rc=$?"
done
`
	run := func(tool string) string {
		cmd := exec.Command(unshare, "-n", "bash", "-c", script)
		cmd.Env = append(os.Environ(), "BASED="+based, "DIR="+dir, "OURS="+ours, "TOOL="+tool)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return strings.ReplaceAll(string(out), tool, "crm_rule")
	}
	want, got := run(real), run(ours)
	if !strings.Contains(want, "rc=111") {
		t.Fatalf("the installed crm_rule could not read our live CIB:\n%s", want)
	}
	if got != want {
		t.Errorf("live CIB:\nreal:\n%s\nours:\n%s", want, got)
	}
}
