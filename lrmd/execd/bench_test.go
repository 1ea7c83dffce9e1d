package execd

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"ringmaster/lrmd/agents"
)

// BenchmarkExecRoundTrip measures exec request → agent fork/exec → result
// notification through our IPC, with an agent that only exits 0.
func BenchmarkExecRoundTrip(b *testing.B) {
	if os.Getuid() != 0 {
		b.Skip("needs root")
	}
	root := b.TempDir()
	dir := filepath.Join(root, "resource.d", "bench")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "true"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	name := "lrmd-bench-" + filepath.Base(root)
	s, err := New(Options{Name: name, Agents: agents.New(agents.Config{OCFRoot: root})})
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(b.Context())
	defer s.Close()
	c, err := Dial(name, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.RegisterRsc("t", "ocf", "bench", "true"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		call, err := c.Exec("t", "monitor", 0, 20000, 0, nil, 0)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := c.WaitExec("t", call, 30*time.Second); err != nil || n.RC != 0 {
			b.Fatalf("%v %+v", err, n)
		}
	}
}
