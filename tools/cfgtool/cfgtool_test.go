package cfgtool

import (
	"os"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// TestHelp: -h and no action print the real usage (no daemon needed).
func TestHelp(t *testing.T) {
	want, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "expected", "s1-two-node-udpu.cfgtool-h"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-h"}, nil, {"-b"}} {
		var out, errOut strings.Builder
		if rc := Run("corosync-cfgtool", args, Env{Stdout: &out, Stderr: &errOut}); rc != 0 || out.String() != string(want) {
			t.Errorf("%v: exit %d\n%s", args, rc, out.String())
		}
	}
}

func TestBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"-k", "0"}, "The nodeid was not valid, try a positive number\n"},
		{[]string{"-a", "x"}, "The nodeid was not valid, try a positive number\n"},
		{[]string{"-Q"}, "corosync-cfgtool: invalid option -- 'Q'\n"},
		{[]string{"--nope"}, "corosync-cfgtool: unrecognized option '--nope'\n"},
		{[]string{"--kill"}, "corosync-cfgtool: option '--kill' requires an argument\n"},
	} {
		var out, errOut strings.Builder
		if rc := Run("corosync-cfgtool", tc.args, Env{Stdout: &out, Stderr: &errOut}); rc != 1 || errOut.String() != tc.err {
			t.Errorf("%v: exit %d, stderr %q", tc.args, rc, errOut.String())
		}
	}
}
