package cibadmin

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ringmaster/cib"
	"ringmaster/internal/testenv"
)

// TestShadowCIB: a shadow made by Pacemaker's crm_shadow is found through
// CIB_shadow/CIB_shadow_dir, changed by us, and read back by Pacemaker.
func TestShadowCIB(t *testing.T) {
	crmShadow := testenv.RequireBinary(t, "crm_shadow")
	real := testenv.RequireBinary(t, "cibadmin")
	dir := t.TempDir()
	t.Setenv("CIB_shadow_dir", dir)
	if out, err := exec.Command(crmShadow, "--create-empty", "t1", "--batch").CombinedOutput(); err != nil {
		t.Fatalf("crm_shadow: %v\n%s", err, out)
	}
	env := map[string]string{"CIB_shadow": "t1", "CIB_shadow_dir": dir}
	var out, errb bytes.Buffer
	rc := Run([]string{"-C", "-o", "resources", "-X", `<primitive id="s1" class="ocf" provider="pacemaker" type="Dummy"/>`}, Env{
		Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &errb, Engine: &cib.Engine{},
	})
	if rc != 0 {
		t.Fatalf("create in shadow: rc %d %s", rc, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "shadow.t1")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(real, "-Q", "-o", "resources")
	cmd.Env = append(os.Environ(), "CIB_shadow=t1")
	q, err := cmd.Output()
	if err != nil || !strings.Contains(string(q), `<primitive id="s1"`) {
		t.Fatalf("Pacemaker reading the shadow: %v\n%s", err, q)
	}
}
