package crmmon

import (
	"os/exec"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// TestHelpPages: every --help page is the real crm_mon's, printed before
// anything looks for a cluster (crmsh runs `crm_mon --help` first).
func TestHelpPages(t *testing.T) {
	pages := []string{"help", "help-all", "help-output", "help-display", "help-additional", "help-deprecated"}
	for _, p := range pages {
		var out, errOut strings.Builder
		rc := Main(Env{Args: []string{"crm_mon", "-1", "--" + p}, Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errOut})
		if rc != 0 || errOut.Len() != 0 || !strings.HasPrefix(out.String(), "Usage:\n  crm_mon [OPTION?]\n") {
			t.Errorf("--%s: rc %d, stderr %q, stdout %.40q", p, rc, errOut.String(), out.String())
		}
	}
	if testing.Short() {
		return
	}
	testenv.RequireBinary(t, "crm_mon")
	for _, p := range append(pages, "?") {
		arg := "--" + p
		if p == "?" {
			arg = "-?"
		}
		want, err := exec.Command("/usr/sbin/crm_mon", arg).Output()
		if err != nil {
			t.Fatalf("real crm_mon %s: %v", arg, err)
		}
		var out strings.Builder
		Main(Env{Args: []string{"crm_mon", arg}, Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out})
		if out.String() != string(want) {
			t.Errorf("%s differs from the real crm_mon's page", arg)
		}
	}
}
