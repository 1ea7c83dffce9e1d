package execd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
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

// benchHelper runs n exec round trips of ocf:heartbeat:Dummy monitor against
// "lrmd" and prints the mean in nanoseconds (run inside a node by
// BenchmarkVsPacemaker).
func benchHelper(n int) int {
	var c *Client
	var err error
	for i := 0; i < 100; i++ {
		if c, err = Dial("lrmd", "bench"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer c.Close()
	if err := c.RegisterRsc("b", "ocf", "heartbeat", "Dummy"); err != nil {
		fmt.Println(err)
		return 1
	}
	p := map[string]string{"state": "/run/bench.state"}
	start := time.Now()
	for i := 0; i < n; i++ {
		call, err := c.Exec("b", "monitor", 0, 20000, 0, p, 0)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		if _, err := c.WaitExec("b", call, 30*time.Second); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	fmt.Println(time.Since(start).Nanoseconds() / int64(n))
	return 0
}

// BenchmarkVsPacemaker runs the same exec round trips (Dummy monitor) through
// Pacemaker 2.1.5's pacemaker-execd and through ours, each in a node of its
// own, and reports both.
func BenchmarkVsPacemaker(b *testing.B) {
	real := "/usr/lib/pacemaker/pacemaker-execd"
	if os.Getuid() != 0 {
		b.Skip("needs root")
	}
	if _, err := os.Stat(real); err != nil {
		b.Skip("pacemaker-execd not installed")
	}
	ours := testenv.GoBinary(b, "pacemaker-execd")
	cl := testcluster.New(b, testcluster.Options{Nodes: 2})
	self, _ := os.Executable()
	for i, bin := range []struct{ name, path string }{{"pacemaker-execd", real}, {"ours", ours}} {
		n := cl.Node(i + 1)
		if _, err := n.Start("execd", bin.path); err != nil {
			b.Fatal(err)
		}
		b.Run(bin.name, func(b *testing.B) {
			cmd := n.Command(context.Background(), self, "-test.run=^$")
			cmd.Env = append(os.Environ(), "EXECD_BENCH="+strconv.Itoa(b.N))
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			ns, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			if err != nil {
				b.Fatalf("%s", out)
			}
			b.ReportMetric(ns/1e6, "ms/exec")
		})
	}
}
