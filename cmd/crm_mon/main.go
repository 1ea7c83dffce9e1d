// Command crm_mon shows the cluster's status, as Pacemaker's crm_mon does.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/tools/cibadmin"
	"ringmaster/tools/crmmon"
)

func main() {
	os.Exit(crmmon.Main(crmmon.Env{
		Args:      os.Args,
		Getenv:    os.Getenv,
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Now:       time.Now(),
		QueryLive: queryLive,
		Console:   &crmmon.ConsoleEnv{In: os.Stdin, Out: os.Stdout},
	}))
}

// queryLive reads the whole CIB from pacemaker-based over cib_rw.
func queryLive() (*etree.Element, error) {
	c, rc := cibadmin.DialLive("cib_rw", "crm_mon", 30*time.Second)
	if rc != cib.OK {
		return nil, fmt.Errorf("connecting to the CIB manager: rc %d", rc)
	}
	defer c.Close()
	res := c.Perform(cib.Request{Op: cib.OpQuery, Options: cib.OptSyncCall | cib.OptScopeLocal})
	if res.Rc != cib.OK || res.Output == nil {
		return nil, fmt.Errorf("querying the CIB: rc %d", res.Rc)
	}
	return res.Output, nil
}
