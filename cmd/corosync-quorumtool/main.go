// Command corosync-quorumtool shows and changes quorum of a running corosync,
// as corosync 3.1.7's tool of that name does; the logic is in tools/quorumtool.
package main

import (
	"os"

	"ringmaster/tools/quorumtool"
)

func main() {
	os.Exit(quorumtool.Run(os.Args[1:], quorumtool.Env{Prog: os.Args[0], Stdout: os.Stdout, Stderr: os.Stderr}))
}
