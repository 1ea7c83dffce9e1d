// Command crm_verify checks a Pacemaker configuration, a drop-in for
// Pacemaker 2.1.5's crm_verify. See tools/crmverify.
package main

import (
	"os"
	"time"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/tools/cibadmin"
	"ringmaster/tools/crmverify"
)

func main() {
	env := crmverify.Env{
		Args:   os.Args[1:],
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Now:    time.Now(),
		QueryLive: func() (*etree.Element, cib.Rc) {
			c, rc := cibadmin.DialLive("cib_rw", "crm_verify", 30*time.Second)
			if rc != cib.OK {
				return nil, rc
			}
			defer c.Close()
			res := c.Perform(cib.Request{Op: cib.OpQuery, Options: cib.OptSyncCall | cib.OptScopeLocal})
			return res.Output, res.Rc
		},
	}
	if v := cib.DefaultSchemaValidator(); v != nil {
		env.Validate = v.Validate
	}
	os.Exit(crmverify.Main(env))
}
