package crmattribute

import (
	"os"
	"time"

	"ringmaster/cib"
	"ringmaster/tools/cibadmin"
)

// ProcessEnv wires the tools to this process: its arguments and standard
// streams, schema validation for CIB files, and the CIB manager's cib_rw
// socket for the live CIB. The controller and the attribute manager are
// left unset: requests that need them report them unreachable exactly as
// Pacemaker's tools do when those daemons are down.
func ProcessEnv(name string) Env {
	eng := &cib.Engine{}
	if v := cib.DefaultSchemaValidator(); v != nil {
		eng.Validate = v.Validate
		eng.Upgrader = v
	}
	return Env{
		Prog:   os.Args[0],
		Args:   os.Args[1:],
		Getenv: os.Getenv,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Engine: eng,
		Connect: func(client string, timeout time.Duration) (Conn, cib.Rc) {
			c, rc := cibadmin.DialLive("cib_rw", client, timeout)
			if rc != cib.OK {
				return nil, rc
			}
			return c, rc
		},
	}
}
