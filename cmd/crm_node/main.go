// Command crm_node shows low-level node information, a drop-in for
// Pacemaker 2.1.5's crm_node. See tools/crmnode.
package main

import (
	"os"

	"ringmaster/tools/crmnode"
)

func main() {
	os.Exit(crmnode.Main(crmnode.Env{
		Args:   os.Args[1:],
		Getenv: os.Getenv,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}))
}
