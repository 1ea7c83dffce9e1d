package main

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"ringmaster/cmap"
	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/ipc"
)

// BenchmarkCmapGet measures one cmap GET round trip (libcmap's two requests for a
// string: length, then value) over SHM IPC, against our corosync and against the
// real corosync 3.1.7 on the same machine, with the same Go client.
//
//	go test -run xxx -bench CmapGet ./cmd/corosync/
func BenchmarkCmapGet(b *testing.B) {
	testenv.RequireRoot(b)
	for _, impl := range []string{"ours", "real"} {
		b.Run(impl, func(b *testing.B) {
			bin := testenv.RequireBinary(b, "corosync")
			if impl == "ours" {
				bin = testenv.GoBinary(b, "corosync")
			}
			c := testcluster.New(b, testcluster.Options{Nodes: 1})
			n := c.Node(1)
			data, err := os.ReadFile(testenv.Shared(b, "conformance", "corosync", "configs", "s1-two-node-udpu.conf"))
			if err != nil {
				b.Fatal(err)
			}
			if err := n.WriteFile("/etc/corosync/corosync.conf", data, 0o644); err != nil {
				b.Fatal(err)
			}
			p, err := n.Start("corosync", bin, "-f")
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = p.Signal(syscall.SIGTERM); _ = p.Wait(20 * time.Second) }()
			var cl *cmap.Client
			opts := cmap.ClientOptions{IPC: ipc.ClientOptions{ShmDir: fmt.Sprintf("/proc/%d/root/dev/shm", p.Pid())}}
			for i := 0; i < 200 && cl == nil; i++ {
				_ = n.Do(func() error {
					cl, err = cmap.Dial(opts)
					return err
				})
				if cl == nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
			if cl == nil {
				b.Fatalf("cannot connect: %v\n%s", err, p.Output())
			}
			defer cl.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := cl.Get("totem.cluster_name"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
