package quorumtool

import (
	"os"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

func expected(t *testing.T, name string) string {
	b, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "expected", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHelpAndVersion: -h and -V need no daemon and print the real texts.
func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct{ arg, file string }{{"-h", "s1-two-node-udpu.quorumtool-h"}, {"-V", "s1-two-node-udpu.quorumtool-V"}} {
		var out, errOut strings.Builder
		rc := Run([]string{tc.arg}, Env{Prog: "corosync-quorumtool", Stdout: &out, Stderr: &errOut})
		if want := expected(t, tc.file); rc != 0 || out.String() != want || errOut.Len() != 0 {
			t.Errorf("%s: exit %d\n%s--- want\n%s", tc.arg, rc, out.String(), want)
		}
	}
}

func TestBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"-e", "0"}, "New expected votes value was not valid, try a positive number\n"},
		{[]string{"-v", "-1"}, "New votes value was not valid, try a positive number or zero\n"},
		{[]string{"-n", "x"}, "The nodeid was not valid, try a positive number\n"},
		{[]string{"-o", "q"}, "Invalid ordering option. valid orders are a(address), i(node ID) or n(name)\n"},
		{[]string{"-Z"}, "corosync-quorumtool: invalid option -- 'Z'\n"},
		{[]string{"-e"}, "corosync-quorumtool: option requires an argument -- 'e'\n"},
	} {
		var out, errOut strings.Builder
		rc := Run(tc.args, Env{Prog: "corosync-quorumtool", Stdout: &out, Stderr: &errOut})
		if rc != 1 || errOut.String() != tc.err {
			t.Errorf("%v: exit %d, stderr %q", tc.args, rc, errOut.String())
		}
	}
}
