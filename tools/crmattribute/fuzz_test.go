package crmattribute

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ringmaster/cib"
)

// FuzzAttribute runs crm_attribute with arbitrary arguments on a small CIB
// file: whatever the options, it must return an exit code, never panic.
func FuzzAttribute(f *testing.F) {
	for _, s := range []string{
		"-n stonith-enabled -G", "-N node1 -n x -v 1", "-N node1 -P .* -l reboot -D",
		"-t tickets -n t -v granted", "-p -G", "-z -N rn2 -n cpu -v 1", "--output-as=xml -G",
		"-N node1 -P ( -G", "-i '] -n x -G",
	} {
		f.Add(s)
	}
	seed, err := os.ReadFile("testdata/seed-remote.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		path := filepath.Join(t.TempDir(), "cib.xml")
		os.WriteFile(path, seed, 0o644)
		Attribute(Env{
			Args:     strings.Fields(line),
			Getenv:   func(k string) string { return map[string]string{"CIB_file": path}[k] },
			Stdin:    strings.NewReader(""),
			Stdout:   io.Discard,
			Stderr:   &bytes.Buffer{},
			Hostname: func() string { return "node1" },
			Engine:   &cib.Engine{},
		})
	})
}

// FuzzGetoptLong checks the wrappers' option parser on arbitrary words.
func FuzzGetoptLong(f *testing.F) {
	for _, s := range []string{"-GN node1", "--upd=on", "--de", "-N", "--", "-qx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		getoptLong("crm_standby", strings.Split(s, " "), "VqGv:DN:l:i:U:Q",
			[]string{"help", "query", "update:", "delete", "delete-attr", "node:"}, func(string) {})
	})
}
