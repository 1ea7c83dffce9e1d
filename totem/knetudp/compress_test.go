package knetudp

import (
	"bytes"
	"testing"
	"time"

	"ringmaster/totem/knet"
)

// TestGoNodesCompression: node 1 sends zlib, node 2 zstd; each decompresses
// what the other sends by the model in the packet, and the handle and link
// counters behind stats.knet.* move.
func TestGoNodesCompression(t *testing.T) {
	cl := newCluster(t, 2)
	models := map[int]knet.CompressModel{1: knet.CompressZlib, 2: knet.CompressZstd}
	conns := map[int]*Conn{}
	for i := 1; i <= 2; i++ {
		var c *Conn
		if err := cl.Node(i).Do(func() error {
			var err error
			c, err = Open(Config{Machine: config(i, 2, nil), Logf: t.Logf, Compress: knet.CompressConfig{Model: models[i], Threshold: 10, Level: 1}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	waitReachable(t, conns[1], 2, 1446)
	waitReachable(t, conns[2], 1, 1446)
	msgs := [][]byte{[]byte("tiny"), bytes.Repeat([]byte("compress me "), 1000)}
	for from, to := range map[int]int{1: 2, 2: 1} {
		for _, m := range msgs {
			if err := conns[from].Send(0, m); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-conns[to].Recv():
				if !bytes.Equal(got.Data, m) {
					t.Fatalf("%d -> %d: got %d bytes, want %d", from, to, len(got.Data), len(m))
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%d -> %d: message not delivered", from, to)
			}
		}
		hs := conns[from].HandleStats()
		if hs.TxCompressedPackets != 1 || hs.TxUncompressedPackets != 1 || hs.TxCompressedSizeBytes >= hs.TxCompressedOriginalBytes {
			t.Errorf("node %d tx stats %+v", from, hs)
		}
		hr := conns[to].HandleStats()
		if hr.RxCompressedPackets != 1 || hr.RxCompressedOriginalBytes != uint64(len(msgs[1])) {
			t.Errorf("node %d rx stats %+v", to, hr)
		}
		lc := conns[from].LinkCounters(knet.NodeID(to), 0)
		if lc == nil || lc.TxData.Load() < 2 || lc.TxPing.Load() == 0 || lc.RxPong.Load() == 0 || lc.TxPMTU.Load() == 0 {
			t.Errorf("node %d link counters to %d: %+v", from, to, lc)
		}
	}
}
