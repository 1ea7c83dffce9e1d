package cfg

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"ringmaster/internal/testenv"
	"ringmaster/ipc"
)

type peer struct {
	mu            sync.Mutex
	resps, events [][]byte
}

func (p *peer) Respond(m []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resps = append(p.resps, m)
	return nil
}
func (p *peer) SendEvent(m []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, m)
	return nil
}

func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

func captureNode() ServiceOptions {
	return ServiceOptions{NodeID: 1, Transport: "udpu", MTU: 1410,
		Nodes: []Node{{ID: 1, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}}}
}

// TestVectors replays the cfg requests of corosync-quorumtool -s and
// corosync-cfgtool -s and compares the defined bytes of every answer.
func TestVectors(t *testing.T) {
	n := 0
	for _, file := range []string{"corosync-quorumtool-s.txt", "corosync-cfgtool-s.txt", "corosync-cfgtool-n.txt"} {
		s := NewService(captureNode())
		p := &peer{}
		s.conns[p] = &cfgConn{}
		f, err := os.Open(testenv.Shared(t, "testdata", "ipc", file))
		if err != nil {
			t.Fatal(err)
		}
		var want [][]byte
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) != 4 || fs[1] != "cfg" || fs[2] != "reqresp" {
				continue
			}
			b, _ := hex.DecodeString(fs[3])
			if fs[0] == "C->S" {
				s.request(p, b)
			} else {
				want = append(want, b)
			}
		}
		f.Close()
		if len(p.resps) != len(want) {
			t.Fatalf("%s: %d answers, want %d", file, len(p.resps), len(want))
		}
		for i, w := range want {
			g := p.resps[i]
			if len(g) != len(w) {
				t.Errorf("%s %d: %d bytes, want %d", file, i, len(g), len(w))
				continue
			}
			for _, off := range []int{0, 8, 16, 24, 28} {
				if le32(g, off) != le32(w, off) {
					t.Errorf("%s %d: word @%d = %d, want %d", file, i, off, le32(g, off), le32(w, off))
				}
			}
			switch le32(w, 0) {
			case ResGetNodeAddrs:
				if !bytes.Equal(g[32:], w[32:]) {
					t.Errorf("addresses %x, want %x", g[32:], w[32:])
				}
			case ResNodeStatusGet:
				// reachable..onwire, then link 0: flags, mtu, src address.
				if !bytes.Equal(g[32:33], w[32:33]) || !bytes.Equal(g[40:43], w[40:43]) || le32(g, 44) != le32(w, 44) ||
					string(bytes.TrimRight(g[48:304], "\x00")) != string(bytes.TrimRight(w[48:304], "\x00")) {
					t.Errorf("node status differs:\n%x\n%x", g[24:320], w[24:320])
				}
			}
			n++
		}
	}
	t.Logf("%d cfg answers match the captures", n)
}

func TestNodeStatusOfPeers(t *testing.T) {
	o := captureNode()
	o.Nodes = append(o.Nodes, Node{ID: 2, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.2")}})
	s := NewService(o)
	p := &peer{}
	s.conns[p] = &cfgConn{}
	get := func(id uint32) []byte {
		b := ipc.NewRequest(ReqNodeStatusGet, 16)
		binary.LittleEndian.PutUint32(b[16:], id)
		binary.LittleEndian.PutUint32(b[24:], 1)
		s.request(p, b)
		return p.resps[len(p.resps)-1]
	}
	r := get(2)
	if r[32] != 0 || r[40] != 1 || r[41] != 0 || le32(r, 28) != 2 {
		t.Errorf("node 2 down: reachable %d enabled %d connected %d", r[32], r[40], r[41])
	}
	s.SetMembers([]uint32{1, 2})
	r = get(2)
	if r[32] != 1 || r[41] != 1 || string(bytes.TrimRight(r[48:304], "\x00")) != "192.0.2.2" {
		t.Errorf("node 2 up: %x", r[24:64])
	}
	b := ipc.NewRequest(ReqNodeStatusGet, 16)
	binary.LittleEndian.PutUint32(b[24:], 2)
	s.request(p, b)
	if r := p.resps[len(p.resps)-1]; le32(r, 16) != uint32(csNotSupported) || len(r) != 32 {
		t.Errorf("version 2: %x", r)
	}
}

// TestShutdownHandshake is what pacemakerd does: it tracks, corosync-cfgtool
// -H asks, pacemakerd is asked by a TESTSHUTDOWN event and answers.
func TestShutdownHandshake(t *testing.T) {
	for _, tc := range []struct {
		reply     uint32
		wantErr   int32
		wantCalls int
	}{{1, csOK, 1}, {0, csBusy, 0}} {
		var calls int
		var mu sync.Mutex
		done := make(chan struct{}, 1)
		o := captureNode()
		o.Shutdown = func() { mu.Lock(); calls++; mu.Unlock(); done <- struct{}{} }
		o.AfterFunc = func(time.Duration, func()) func() bool { return func() bool { return true } }
		s := NewService(o)
		pcmk, tool := &peer{}, &peer{}
		s.conns[pcmk], s.conns[tool] = &cfgConn{}, &cfgConn{}
		s.request(pcmk, ipc.NewRequest(ReqTrackStart, 8))
		b := ipc.NewRequest(ReqTryShutdown, 8)
		s.request(tool, b)
		if len(tool.resps) != 0 || len(pcmk.events) != 1 || le32(pcmk.events[0], 0) != ResTestShutdown {
			t.Fatalf("after TRYSHUTDOWN: tool answers %d, tracker events %d", len(tool.resps), len(pcmk.events))
		}
		r := ipc.NewRequest(ReqReplyToShutdown, 8)
		binary.LittleEndian.PutUint32(r[16:], tc.reply)
		s.request(pcmk, r)
		if len(tool.resps) != 1 || int32(le32(tool.resps[0], 16)) != tc.wantErr || le32(tool.resps[0], 0) != ResTryShutdown {
			t.Errorf("reply %d: tool got %x", tc.reply, tool.resps)
		}
		if tc.wantCalls == 1 {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("shutdown not called")
			}
		}
		mu.Lock()
		if calls != tc.wantCalls {
			t.Errorf("reply %d: shutdown called %d times", tc.reply, calls)
		}
		mu.Unlock()
		// No shutdown in progress any more: a reply is refused.
		s.request(pcmk, r)
		if e := int32(le32(pcmk.resps[len(pcmk.resps)-1], 16)); e != csAccess {
			t.Errorf("late reply: %d", e)
		}
	}
}

// FuzzRequest: any bytes are answered at most once, never with a wrong size,
// and never panic.
func FuzzRequest(f *testing.F) {
	for id := int32(-1); id <= 12; id++ {
		f.Add(ipc.NewRequest(id, 16))
	}
	f.Add([]byte{9, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		o := captureNode()
		o.AfterFunc = func(time.Duration, func()) func() bool { return func() bool { return true } }
		s := NewService(o)
		p := &peer{}
		s.conns[p] = &cfgConn{}
		s.request(p, b)
		if len(p.resps) > 1 {
			t.Fatalf("%d responses", len(p.resps))
		}
		for _, r := range p.resps {
			if int(le32(r, 8)) != len(r) {
				t.Fatalf("size field %d for %d bytes", le32(r, 8), len(r))
			}
		}
	})
}
