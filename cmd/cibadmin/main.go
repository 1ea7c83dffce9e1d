// Command cibadmin queries and edits the Pacemaker configuration (CIB),
// a drop-in for Pacemaker 2.1.5's cibadmin. See tools/cibadmin.
package main

import (
	"os"
	"time"

	"ringmaster/cib"
	"ringmaster/tools/cibadmin"
)

func main() {
	eng := &cib.Engine{}
	if v := cib.DefaultSchemaValidator(); v != nil {
		eng.Validate = v.Validate
		eng.Upgrader = v
	}
	os.Exit(cibadmin.Run(os.Args[1:], cibadmin.Env{
		Prog:   os.Args[0],
		Getenv: os.Getenv,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Engine: eng,
		Connect: func(name string, timeout time.Duration) (cibadmin.Conn, cib.Rc) {
			c, rc := cibadmin.DialLive("cib_rw", name, timeout)
			if rc != cib.OK {
				return nil, rc
			}
			return c, rc
		},
	}))
}
