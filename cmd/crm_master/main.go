// Command crm_master is Pacemaker 2.1.5's crm_master (a shell wrapper around
// crm_attribute there). See tools/crmattribute.
package main

import (
	"os"

	"ringmaster/tools/crmattribute"
)

func main() { os.Exit(crmattribute.Master(crmattribute.ProcessEnv("crm_master"))) }
