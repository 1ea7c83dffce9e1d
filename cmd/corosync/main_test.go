package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// TestCommandLine compares option handling with the real corosync binary (these
// invocations exit before touching any configuration or network).
func TestCommandLine(t *testing.T) {
	real := testenv.RequireBinary(t, "corosync")
	for _, args := range [][]string{{"-v"}, {"-h"}, {"-x"}, {"-c"}, {"-v", "-f"}} {
		var rout, rerr bytes.Buffer
		cmd := exec.Command(real, args...)
		cmd.Stdout, cmd.Stderr = &rout, &rerr
		rc := 0
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatal(err)
			}
			rc = ee.ExitCode()
		}
		var out, errb bytes.Buffer
		got := run(args, &out, &errb)
		wantErr := strings.ReplaceAll(rerr.String(), real+":", "corosync:")
		if got != rc || out.String() != rout.String() || errb.String() != wantErr {
			t.Errorf("%q: rc %d stdout %q stderr %q\nwant rc %d stdout %q stderr %q", args, got, out.String(), errb.String(), rc, rout.String(), wantErr)
		}
	}
}
