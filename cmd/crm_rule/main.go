// Command crm_rule checks whether rules in the Pacemaker configuration are
// in effect, as Pacemaker's crm_rule does.
package main

import (
	"errors"
	"os"
	"time"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/tools/cibadmin"
	crmrule "ringmaster/tools/crm_rule"
)

func main() {
	os.Exit(crmrule.Main(crmrule.Env{
		Args:     os.Args,
		Getenv:   os.Getenv,
		Stdin:    os.Stdin,
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Now:      time.Now(),
		QueryCIB: queryLive,
	}))
}

// queryLive reads the whole CIB from the running CIB manager, as
// cib__signon_query does when no CIB file is named.
func queryLive() (*etree.Element, error) {
	c, rc := cibadmin.DialLive("cib_ro", "crm_rule", 30*time.Second)
	if rc != cib.OK {
		return nil, errors.New("cannot connect to the CIB manager")
	}
	defer c.Close()
	res := c.Perform(cib.Request{Op: cib.OpQuery})
	if res.Rc != cib.OK || res.Output == nil {
		return nil, errors.New("CIB query failed")
	}
	// The CIB becomes a document of its own, as the tool's input.
	doc := etree.NewDocument()
	doc.SetRoot(res.Output.Copy())
	return doc.Root(), nil
}
