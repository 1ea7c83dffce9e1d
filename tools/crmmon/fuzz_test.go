package crmmon_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringmaster/tools/crmmon"
)

// FuzzCrmMon feeds arbitrary CIB documents and option strings to crm_mon:
// whatever the input, it must answer with output and an exit code, never
// a panic.
func FuzzCrmMon(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "scenarios", "*.xml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			for _, args := range []string{"-1", "-1 -fA -rR", "--output-as=xml --include=all", "-1 -n -b --output-as=html"} {
				f.Add(b, args)
			}
		}
	}
	f.Add([]byte("<cib><configuration/></cib>"), "-1 --resource=x --node=y")
	f.Fuzz(func(t *testing.T, cib []byte, args string) {
		var stdout, stderr bytes.Buffer
		argv := append([]string{"crm_mon"}, strings.Fields(args)...)
		crmmon.Main(crmmon.Env{Args: argv,
			Getenv: func(k string) string {
				if k == "CIB_file" {
					return "-"
				}
				return ""
			},
			Stdin: bytes.NewReader(cib), Stdout: &stdout, Stderr: &stderr, Now: time.Unix(1700000000, 0)})
	})
}
