// Command crm_resource inspects and manages cluster resources, as
// Pacemaker's crm_resource does.
package main

import (
	"os"
	"time"

	"ringmaster/cib"
	"ringmaster/tools/cibadmin"
	"ringmaster/tools/crmresource"
)

func main() {
	eng := &cib.Engine{}
	if v := cib.DefaultSchemaValidator(); v != nil {
		eng.Validate = v.Validate
		eng.Upgrader = v
	}
	os.Exit(crmresource.Main(crmresource.Env{
		Args:   os.Args,
		Getenv: os.Getenv,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Now:    time.Now(),
		Engine: eng,
		Connect: func(client string, timeout time.Duration) (crmresource.Conn, cib.Rc) {
			c, rc := cibadmin.DialLive("cib_rw", client, timeout)
			if rc != cib.OK {
				return nil, rc
			}
			return c, rc
		},
	}))
}
