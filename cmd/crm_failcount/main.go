// Command crm_failcount is Pacemaker 2.1.5's crm_failcount (a shell wrapper around
// crm_attribute there). See tools/crmattribute.
package main

import (
	"os"

	"ringmaster/tools/crmattribute"
)

func main() { os.Exit(crmattribute.Failcount(crmattribute.ProcessEnv("crm_failcount"))) }
