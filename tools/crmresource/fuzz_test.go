package crmresource

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzCrmResource: any CIB and any arguments give output and an exit
// code, never a panic.
func FuzzCrmResource(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "crmmon", "testdata", "scenarios", "*.xml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, "-A -r stash_vip")
			f.Add(b, "--locate -r Nginx-clone --output-as=xml")
		}
	}
	f.Add([]byte(`<cib><configuration><resources><primitive id="a"/></resources><constraints><rsc_colocation id="c" rsc="a" with-rsc="a" score="INFINITY"/></constraints></configuration></cib>`), "-A -r a")
	f.Fuzz(func(t *testing.T, cib []byte, args string) {
		var stdout, stderr bytes.Buffer
		Main(Env{Args: append([]string{"crm_resource"}, strings.Fields(args)...),
			Getenv: func(k string) string {
				if k == "CIB_file" {
					return "-"
				}
				return ""
			},
			Stdin: bytes.NewReader(cib), Stdout: &stdout, Stderr: &stderr, Now: time.Unix(1700000000, 0)})
	})
}
