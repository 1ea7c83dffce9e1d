// Command corosync-cpgtool lists the CPG groups of a running corosync and their
// members, as corosync 3.1.7's tool of that name does; the logic is in
// tools/cpgtool.
package main

import (
	"os"

	"ringmaster/tools/cpgtool"
)

func main() {
	os.Exit(cpgtool.Run(os.Args[0], os.Args[1:], cpgtool.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
}
