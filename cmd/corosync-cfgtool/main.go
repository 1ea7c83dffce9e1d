// Command corosync-cfgtool displays and configures a running corosync, as
// corosync 3.1.7's tool of that name does; the logic is in tools/cfgtool.
package main

import (
	"os"

	"ringmaster/tools/cfgtool"
)

func main() {
	os.Exit(cfgtool.Run(os.Args[0], os.Args[1:], cfgtool.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
}
