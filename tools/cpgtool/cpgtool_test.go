package cpgtool

import (
	"os"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

func TestHelp(t *testing.T) {
	want, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "expected", "s1-two-node-udpu.cpgtool-h"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	if rc := Run("/usr/sbin/corosync-cpgtool", []string{"-h"}, Env{Stdout: &out, Stderr: &errOut}); rc != 0 || out.String() != string(want) {
		t.Errorf("exit %d\n%s", rc, out.String())
	}
}

// TestGroupText: what fprint_group prints for unprintable bytes, backslashes
// and bytes from 0x80 (a signed char), with and without -e.
func TestGroupText(t *testing.T) {
	for _, tc := range []struct {
		in, esc, raw string
	}{
		{"pcmk", "pcmk", "pcmk"},
		{"a\\b", "a\\\\b", "a\\b"},
		{"x\x01\x7f", "x\\x01\\x7F", "x\x01\x7f"},
		{"\xe9", "\\xFFFFFFE9", "\xe9"},
		{"cib\x00", "cib\\x00", "cib\x00"},
	} {
		if got := groupText(tc.in, true); got != tc.esc {
			t.Errorf("%q escaped: %q, want %q", tc.in, got, tc.esc)
		}
		if got := groupText(tc.in, false); got != tc.raw {
			t.Errorf("%q raw: %q", tc.in, got)
		}
	}
}
