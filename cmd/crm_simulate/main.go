// Command crm_simulate runs the scheduler on a saved CIB, as Pacemaker's tool.
package main

import (
	"os"

	"ringmaster/tools/simulate"
)

func main() {
	os.Exit(simulate.Run(os.Args[1:], os.Stdout, os.Stderr))
}
