package crmverify

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary documents through -X: crm_verify must answer
// with an exit code, never panic.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{
		`<cib/>`, `<cib><configuration/></cib>`, `<foo/>`, `not xml`,
		`<cib validate-with="pacemaker-3.0"><configuration><crm_config/><nodes/><resources><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"><operations><op id="m1" name="monitor" interval="10s"/><op id="m2" name="monitor" interval="PT10S"/></operations></primitive></resources><constraints><rsc_order id="o" first="a" then="b" kind="x"/></constraints></configuration><status/></cib>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var out, errb bytes.Buffer
		Main(Env{Args: []string{"-X", s}, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Now: time.Unix(0, 0)})
	})
}
