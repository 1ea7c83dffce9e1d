package crmattribute

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

// TestLiveAgainstOurCIBManager runs our pacemaker-based in a network
// namespace of its own (abstract IPC sockets are per namespace) and sends
// the same crm_attribute and crm_verify -L invocations from the installed
// tools and from ours: both clients must see the same answers. No
// controller or attribute manager runs, so the transient-attribute
// fallbacks are exercised too.
func TestLiveAgainstOurCIBManager(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a CIB manager in a network namespace")
	}
	testenv.RequireRoot(t)
	realAttr := testenv.RequireBinary(t, "crm_attribute")
	realVerify := testenv.RequireBinary(t, "crm_verify")
	testenv.RequireBinary(t, "ip")
	based := testenv.GoBinary(t, "pacemaker-based")
	ourAttr := testenv.GoBinary(t, "crm_attribute")
	ourVerify := testenv.GoBinary(t, "crm_verify")

	ns := fmt.Sprintf("rmcrmattr%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	dir := t.TempDir()
	seed, err := os.ReadFile("testdata/seed-remote.xml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cib.xml"), seed, 0o644)
	var logb bytes.Buffer
	srv := exec.Command("ip", "netns", "exec", ns, based, "-r", dir, "--node-name", "node1")
	srv.Stdout, srv.Stderr = &logb, &logb
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
	})
	run := func(bin string, args ...string) (int, string, string) {
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		code := 0
		if err := cmd.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatal(err)
			}
			code = ee.ExitCode()
		}
		return code, out.String(), errb.String()
	}
	// Wait (bounded) for the manager to answer.
	for i := 0; ; i++ {
		if code, _, _ := run(realAttr, "-n", "stonith-enabled", "-G"); code == 0 {
			break
		}
		if i == 50 {
			t.Fatalf("CIB manager did not come up:\n%s", logb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cases := [][]string{
		{"-n", "stonith-enabled", "-G"},
		{"-n", "stonith-enabled", "-G", "-q"},
		{"-G"},
		{"-G", "--output-as=xml"},
		{"-n", "nosuch", "-G"},
		{"-n", "nosuch", "-G", "-d", "x"},
		{"-N", "node1", "-G"},
		{"-N", "node1", "-n", "standby", "-G"},
		{"-N", "node1", "-l", "reboot", "-G"},
		{"-N", "nosuch", "-n", "x", "-G"},
		{"-N", "node1", "-n", "cpu", "-z", "-G"},
		{"-N", "node1", "-P", "fail-count", "-l", "reboot", "-G"},
		{"-N", "node1", "-n", "location", "-v", "lab"},
		{"-n", "newopt", "-v", "1"},
		{"-N", "node1", "-n", "pingd", "-l", "reboot", "-v", "5"},
		{"-N", "node1", "-n", "pingd", "-l", "reboot", "-D"},
		{"-n", "newopt", "-D"},
		{"-G", "-n", "stonith-enabled", "-s", "second-set"},
	}
	passed := 0
	for _, args := range cases {
		rc, ro, re := run(realAttr, args...)
		oc, oo, oe := run(ourAttr, args...)
		// XML results quote argv[0], the binaries' paths.
		ro = strings.ReplaceAll(ro, realAttr, "crm_attribute")
		oo = strings.ReplaceAll(oo, ourAttr, "crm_attribute")
		if rc != oc || ro != oo || re != oe {
			t.Errorf("crm_attribute %s:\n ours %d %q %q\n real %d %q %q", strings.Join(args, " "), oc, oo, oe, rc, ro, re)
			continue
		}
		passed++
	}
	rc, ro, re := run(realVerify, "-L")
	oc, oo, oe := run(ourVerify, "-L")
	if rc != oc || ro != oo || re != oe {
		t.Errorf("crm_verify -L: ours %d %q %q, real %d %q %q", oc, oo, oe, rc, ro, re)
	} else {
		passed++
	}
	t.Logf("%d/%d live invocations identical between the installed tools and ours", passed, len(cases)+1)
}
