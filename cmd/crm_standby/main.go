// Command crm_standby is Pacemaker 2.1.5's crm_standby (a shell wrapper around
// crm_attribute there). See tools/crmattribute.
package main

import (
	"os"

	"ringmaster/tools/crmattribute"
)

func main() { os.Exit(crmattribute.Standby(crmattribute.ProcessEnv("crm_standby"))) }
