// Command crm_rule checks whether rules in the Pacemaker configuration are
// in effect, as Pacemaker's crm_rule does.
package main

import (
	"os"
	"time"

	crmrule "ringmaster/tools/crm_rule"
)

func main() {
	os.Exit(crmrule.Main(crmrule.Env{
		Args:   os.Args,
		Getenv: os.Getenv,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Now:    time.Now(),
	}))
}
