// Command corosync-keygen writes a corosync authkey (see ringmaster/tools/keygen).
//
// Options are parsed by the keygen package itself rather than pflag: its
// getopt_long clone reproduces glibc's exact option error messages, which
// scripts around the real tool may match.
package main

import (
	"bufio"
	"os"

	"golang.org/x/sys/unix"

	"ringmaster/tools/keygen"
)

func main() {
	// C stdio buffers stdout unless it is a terminal, so in a captured run
	// the error lines (stderr, unbuffered) come before the progress lines.
	var out *bufio.Writer
	if _, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS); err != nil {
		out = bufio.NewWriter(os.Stdout)
	}
	var code int
	if out != nil {
		code = keygen.Run(os.Args, out, os.Stderr, keygen.OSFS{})
		out.Flush()
	} else {
		code = keygen.Run(os.Args, os.Stdout, os.Stderr, keygen.OSFS{})
	}
	os.Exit(code)
}
