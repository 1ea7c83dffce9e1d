// Command crm_mon shows the cluster's status, as Pacemaker's crm_mon does.
package main

import (
	"os"
	"time"

	"ringmaster/tools/crmmon"
)

func main() {
	os.Exit(crmmon.Main(crmmon.Env{
		Args:   os.Args,
		Getenv: os.Getenv,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Now:    time.Now(),
	}))
}
