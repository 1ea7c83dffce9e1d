// Command crm_resource inspects and manages cluster resources, as
// Pacemaker's crm_resource does.
package main

import (
	"os"
	"time"

	"ringmaster/tools/crmresource"
)

func main() {
	os.Exit(crmresource.Main(crmresource.Env{
		Args:   os.Args,
		Getenv: os.Getenv,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Now:    time.Now(),
	}))
}
