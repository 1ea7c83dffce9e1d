// Command crm_attribute queries and updates cluster options and node
// attributes, a drop-in for Pacemaker 2.1.5's. See tools/crmattribute.
package main

import (
	"os"

	"ringmaster/tools/crmattribute"
)

func main() { os.Exit(crmattribute.Attribute(crmattribute.ProcessEnv("crm_attribute"))) }
