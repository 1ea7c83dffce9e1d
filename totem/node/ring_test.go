package node_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"ringmaster/cpg"
	"ringmaster/internal/corolog"
	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/totem"
	"ringmaster/totem/node"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
	"ringmaster/votequorum"
)

// ringOpts describes a test ring of in-process Go nodes, each with its
// sockets in its own network namespace.
type ringOpts struct {
	mode    transport.Mode
	framing wire.Framing
	crypto  func() *wire.Crypto
	token   time.Duration
	// vq adjusts the votequorum configuration (nil: plain votequorum).
	vq func(*votequorum.Config)
}

// goNode is one in-process node: the driver, its engines, and what it saw.
type goNode struct {
	t     *testing.T
	tn    *testcluster.Node
	id    uint32
	n     *node.Node
	c     *node.Corosync
	stop  context.CancelFunc
	state string

	mu        sync.Mutex
	logs      []string
	delivered map[string][]string // CPG group -> "node:data" in delivery order
	syncs     int
	tr        *transport.Transport
}

func newCluster(t *testing.T, nodes int) *testcluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespaces: not in -short")
	}
	testenv.RequireRoot(t)
	for _, p := range testcluster.Prerequisites {
		testenv.RequireBinary(t, p)
	}
	return testcluster.New(t, testcluster.Options{Nodes: nodes})
}

func members(cl *testcluster.Cluster, count int) []transport.Member {
	var ms []transport.Member
	for i := 1; i <= count; i++ {
		ms = append(ms, transport.Member{NodeID: wire.NodeID(i), Addr: cl.Node(i).Addr()})
	}
	return ms
}

// startGo starts node i of a ring of size count.
func startGo(t *testing.T, cl *testcluster.Cluster, i, count int, o ringOpts) *goNode {
	t.Helper()
	tn := cl.Node(i)
	g := &goNode{t: t, tn: tn, id: uint32(i), delivered: map[string][]string{}}
	ms := members(cl, count)
	tcfg := transport.Config{
		Mode: o.mode, LocalAddr: tn.Addr(), Members: ms, BlockUnlisted: true,
		McastAddr: netip.MustParseAddr("239.192.77.1"), Framing: orV3(o.framing),
	}
	if o.crypto != nil {
		tcfg.Crypto = o.crypto()
	}
	var crypto *wire.Crypto = tcfg.Crypto
	err := tn.Do(func() error {
		var err error
		g.tr, err = transport.Open(tcfg)
		return err
	})
	if err != nil {
		t.Fatalf("node %d: transport: %v", i, err)
	}
	token := o.token
	if token == 0 {
		token = time.Second
	}
	tc := totem.Config{NodeID: wire.NodeID(i), Token: token}.WithDefaults(count)
	addrs := map[uint32]netip.Addr{}
	var nl []votequorum.NodeVotes
	for _, m := range ms {
		addrs[uint32(m.NodeID)] = m.Addr
		nl = append(nl, votequorum.NodeVotes{ID: uint32(m.NodeID), Votes: 1})
	}
	logf := func(subsys, _ string, p corolog.Priority, format string, args ...any) {
		if p > corolog.Trace {
			return
		}
		line := fmt.Sprintf("[%-6s] %s", subsys, fmt.Sprintf(format, args...))
		g.mu.Lock()
		g.logs = append(g.logs, line)
		g.mu.Unlock()
	}
	vqc := votequorum.Config{NodeID: uint32(i), Nodelist: nl, LocalPos: i - 1}
	if o.vq != nil {
		o.vq(&vqc)
	}
	c, err := node.NewCorosync(node.CorosyncConfig{NodeID: uint32(i), Addrs: addrs, Log: logf, Votequorum: vqc})
	if err != nil {
		t.Fatal(err)
	}
	c.OnCPG = func(rd cpg.Ready) {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, d := range rd.Deliveries {
			g.delivered[d.Group] = append(g.delivered[d.Group], fmt.Sprintf("%d:%s", d.From.Node, d.Data))
		}
	}
	n, err := node.New(node.Config{
		Totem: tc, Framing: o.framing, NetMTU: wire.NetMTU(orV3(o.framing), 1500, crypto),
		Transport: g.tr, Addrs: node.AddrBook(ms), StateDir: tn.HostPath("/var/lib/corosync"),
		Services: c.Entries(), Log: logf,
		Hooks: node.Hooks{SyncCompleted: func(totem.RingID, []totem.NodeID) {
			g.mu.Lock()
			g.syncs++
			g.mu.Unlock()
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Attach(n)
	g.n, g.c = n, c
	ctx, cancel := context.WithCancel(context.Background())
	g.stop = cancel
	go func() {
		if err := n.Run(ctx); err != nil {
			logf("MAIN", "", corolog.Error, "node stopped: %v", err)
		}
	}()
	t.Cleanup(g.kill)
	return g
}

func orV3(f wire.Framing) wire.Framing {
	if f == 0 {
		return wire.V3
	}
	return f
}

// kill stops the node as kill -9 would: no leave message.
func (g *goNode) kill() {
	g.n.Kill()
	<-g.n.Done()
}

// leave stops the node cleanly (SIGTERM).
func (g *goNode) leave() {
	g.stop()
	<-g.n.Done()
}

// view returns the node's synced membership, or nil while not synced.
func (g *goNode) view() (ring totem.RingID, ms []totem.NodeID, synced bool) {
	_ = g.n.Do(func() {
		ring, ms, synced = g.n.Ring(), g.n.Members(), g.n.Synced()
	})
	return
}

func (g *goNode) logText() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.Join(g.logs, "\n")
}

// waitRing waits until every node in gs is synced on one ring with exactly
// the given members.
func waitRing(t *testing.T, gs []*goNode, want []uint32, within time.Duration) totem.RingID {
	t.Helper()
	var ring totem.RingID
	testcluster.Eventually(t, within, 50*time.Millisecond, func() (bool, string) {
		var first totem.RingID
		for i, g := range gs {
			r, ms, synced := g.view()
			if !synced || fmt.Sprint(ms) != fmt.Sprint(want) {
				return false, fmt.Sprintf("node %d: ring %s members %v synced %v (want %v)", g.id, r, ms, synced, want)
			}
			if i == 0 {
				first = r
			} else if r != first {
				return false, fmt.Sprintf("node %d on ring %s, node %d on %s", gs[0].id, first, g.id, r)
			}
		}
		ring = first
		return true, ""
	})
	return ring
}

func ids(n int) []uint32 {
	var out []uint32
	for i := 1; i <= n; i++ {
		out = append(out, uint32(i))
	}
	return out
}

func dumpLogs(t *testing.T, gs []*goNode) {
	t.Helper()
	if !t.Failed() {
		return
	}
	for _, g := range gs {
		if g != nil {
			t.Logf("node %d log:\n%s", g.id, g.logText())
		}
	}
}

// TestGoRingForms: 3 and 5 Go nodes form one ring over udpu and udp, finish
// service synchronisation, agree on quorum, and log membership as corosync.
func TestGoRingForms(t *testing.T) {
	for _, tc := range []struct {
		nodes int
		mode  transport.Mode
	}{{3, transport.UDPU}, {3, transport.UDP}, {5, transport.UDPU}, {5, transport.UDP}} {
		t.Run(fmt.Sprintf("%d-%s", tc.nodes, tc.mode), func(t *testing.T) {
			cl := newCluster(t, tc.nodes)
			var gs []*goNode
			defer func() { dumpLogs(t, gs) }()
			for i := 1; i <= tc.nodes; i++ {
				gs = append(gs, startGo(t, cl, i, tc.nodes, ringOpts{mode: tc.mode}))
			}
			waitRing(t, gs, ids(tc.nodes), 30*time.Second)
			for _, g := range gs {
				var quorate bool
				_ = g.n.Do(func() { quorate = g.c.Quorate() })
				if !quorate {
					t.Errorf("node %d not quorate", g.id)
				}
				text := g.logText()
				for _, want := range []string{
					"[TOTEM ] A new membership (",
					fmt.Sprintf("[QUORUM] Members[%d]: %s", tc.nodes, strings.Trim(fmt.Sprint(ids(tc.nodes)), "[]")),
					"[QUORUM] This node is within the primary component and will provide service.",
					"[MAIN  ] Completed service synchronization, ready to provide service.",
				} {
					if !strings.Contains(text, want) {
						t.Errorf("node %d log lacks %q", g.id, want)
					}
				}
				b, err := g.tn.ReadFile("/var/lib/corosync/ringid_" + fmt.Sprint(g.id))
				if err != nil || len(b) != 8 {
					t.Errorf("node %d: ringid file: %v (%d bytes)", g.id, err, len(b))
				}
			}
		})
	}
}

// TestGoRingKillRestart kills each node of a 3-node Go ring in turn (no leave
// message, as kill -9) and restarts it: the others re-form within token +
// consensus + 1 s, and the restarted node joins again.
func TestGoRingKillRestart(t *testing.T) {
	for _, mode := range []transport.Mode{transport.UDPU, transport.UDP} {
		t.Run(mode.String(), func(t *testing.T) {
			const nodes = 3
			cl := newCluster(t, nodes)
			opts := ringOpts{mode: mode, token: time.Second}
			gs := make([]*goNode, nodes)
			defer func() { dumpLogs(t, gs) }()
			for i := 1; i <= nodes; i++ {
				gs[i-1] = startGo(t, cl, i, nodes, opts)
			}
			waitRing(t, gs, ids(nodes), 30*time.Second)
			tc := totem.Config{NodeID: 1, Token: opts.token}.WithDefaults(nodes)
			bound := tc.Token + tc.Consensus + time.Second
			victims := []int{1, 2, 3}
			if mode == transport.UDP {
				// udp differs only below the SRP: the representative is enough.
				victims = []int{1}
			}
			for _, victim := range victims {
				var rest []*goNode
				var want []uint32
				for _, g := range gs {
					if g.id != uint32(victim) {
						rest = append(rest, g)
						want = append(want, g.id)
					}
				}
				killed := time.Now()
				gs[victim-1].kill()
				waitRing(t, rest, want, bound)
				t.Logf("node %d killed: the others re-formed in %v (bound %v)", victim, time.Since(killed).Round(time.Millisecond), bound)
				gs[victim-1] = startGo(t, cl, victim, nodes, opts)
				waitRing(t, gs, ids(nodes), 30*time.Second)
			}
		})
	}
}

// TestGoRingLossyCPG drops 10% of every node's packets for 30 s while all
// nodes multicast CPG messages: the membership never changes, and every node
// delivers the same messages in the same order, each sender's in send order.
func TestGoRingLossyCPG(t *testing.T) {
	const nodes = 3
	cl := newCluster(t, nodes)
	opts := ringOpts{mode: transport.UDPU, token: time.Second}
	gs := make([]*goNode, nodes)
	defer func() { dumpLogs(t, gs) }()
	for i := 1; i <= nodes; i++ {
		gs[i-1] = startGo(t, cl, i, nodes, opts)
	}
	ring := waitRing(t, gs, ids(nodes), 30*time.Second)
	for _, g := range gs {
		_ = g.n.Do(func() { g.c.CPGJoin("lossy", 1000+g.id) })
	}
	for _, n := range cl.Nodes() {
		if err := n.DropPercent(10); err != nil {
			t.Fatal(err)
		}
	}
	confBefore := make([]uint64, nodes)
	for i, g := range gs {
		_ = g.n.Do(func() { s, _ := g.n.Stats(); confBefore[i] = s.ConfChanges })
	}
	sent := 0
	end := time.Now().Add(30 * time.Second)
	for time.Now().Before(end) {
		for _, g := range gs {
			data := fmt.Sprintf("m%05d", sent)
			_ = g.n.Do(func() { g.c.CPGMcast("lossy", 1000+g.id, []byte(data)) })
		}
		sent++
		time.Sleep(20 * time.Millisecond)
	}
	for _, n := range cl.Nodes() {
		if err := n.DropPercent(0); err != nil {
			t.Fatal(err)
		}
	}
	testcluster.Eventually(t, 20*time.Second, 100*time.Millisecond, func() (bool, string) {
		for _, g := range gs {
			g.mu.Lock()
			got := len(g.delivered["lossy"])
			g.mu.Unlock()
			if got < sent*nodes {
				return false, fmt.Sprintf("node %d delivered %d of %d", g.id, got, sent*nodes)
			}
		}
		return true, ""
	})
	for i, g := range gs {
		r, ms, synced := g.view()
		var confAfter uint64
		_ = g.n.Do(func() { s, _ := g.n.Stats(); confAfter = s.ConfChanges })
		if r != ring || len(ms) != nodes || !synced || confAfter != confBefore[i] {
			t.Errorf("node %d: membership changed under 10%% loss: ring %s -> %s, members %v, confchgs %d -> %d",
				g.id, ring, r, ms, confBefore[i], confAfter)
		}
	}
	ref := gs[0].delivered["lossy"]
	for _, g := range gs[1:] {
		if fmt.Sprint(g.delivered["lossy"]) != fmt.Sprint(ref) {
			t.Fatalf("node %d delivered a different sequence than node 1", g.id)
		}
	}
	next := map[string]int{}
	for _, d := range ref {
		from, data, _ := strings.Cut(d, ":")
		if want := fmt.Sprintf("m%05d", next[from]); data != want {
			t.Fatalf("from node %s: got %s, want %s", from, data, want)
		}
		next[from]++
	}
	var st totem.Stats
	_ = gs[0].n.Do(func() { _, st = gs[0].n.Stats() })
	t.Logf("%d messages per node delivered identically under 10%% loss; node 1 retransmitted %d", sent, st.McastRtx)
}

// TestGoRing2xCrypto runs a Go-only ring in corosync 2.x framing with an
// authkey (aes256 + sha1, the 2.x defaults), carries CPG traffic over it,
// and checks that datagrams sealed with another key or not sealed at all are
// dropped and counted without disturbing the ring.
func TestGoRing2xCrypto(t *testing.T) {
	const nodes = 3
	cl := newCluster(t, nodes)
	key := make([]byte, 128)
	for i := range key {
		key[i] = byte(i*7 + 3)
	}
	mk := func(k []byte) func() *wire.Crypto {
		return func() *wire.Crypto {
			c, err := wire.NewCrypto(wire.CipherAES256, wire.HashSHA1, k)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	opts := ringOpts{mode: transport.UDPU, framing: wire.V2, crypto: mk(key), token: time.Second}
	gs := make([]*goNode, nodes)
	defer func() { dumpLogs(t, gs) }()
	for i := 1; i <= nodes; i++ {
		gs[i-1] = startGo(t, cl, i, nodes, opts)
	}
	ring := waitRing(t, gs, ids(nodes), 30*time.Second)
	for _, g := range gs {
		_ = g.n.Do(func() {
			g.c.CPGJoin("crypt", 7)
			g.c.CPGMcast("crypt", 7, []byte(fmt.Sprintf("hello from %d", g.id)))
		})
	}
	testcluster.Eventually(t, 10*time.Second, 50*time.Millisecond, func() (bool, string) {
		for _, g := range gs {
			g.mu.Lock()
			n := len(g.delivered["crypt"])
			g.mu.Unlock()
			if n != nodes {
				return false, fmt.Sprintf("node %d delivered %d", g.id, n)
			}
		}
		return true, ""
	})
	// Hostile traffic to node 2: a join sealed with the wrong key, a plain
	// 3.x join, and noise.
	wrong := mk(make([]byte, 128))()
	join := &wire.Join{Header: wire.Header{NodeID: 9}, From: wire.NodeAddr(9), Proc: []wire.Addr{wire.NodeAddr(9)}, RingSeq: 99}
	sealed, err := wrong.Seal(nil, wire.Encode(join, wire.V2))
	if err != nil {
		t.Fatal(err)
	}
	before := gs[1].tr.Stats.DroppedCrypto.Load()
	err = cl.Node(1).Do(func() error {
		c, err := net.Dial("udp4", "192.0.2.2:5405")
		if err != nil {
			return err
		}
		defer c.Close()
		for _, b := range [][]byte{sealed, wire.Encode(join, wire.V3), []byte("noise"), make([]byte, 1500)} {
			if _, err := c.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 5*time.Second, 50*time.Millisecond, func() (bool, string) {
		got := gs[1].tr.Stats.DroppedCrypto.Load() - before
		return got >= 4, fmt.Sprintf("node 2 dropped %d hostile datagrams", got)
	})
	time.Sleep(500 * time.Millisecond)
	if r := waitRing(t, gs, ids(nodes), 5*time.Second); r != ring {
		t.Errorf("ring changed from %s to %s after hostile datagrams", ring, r)
	}
}

// TestGoRingLastManStanding drives votequorum's own timer through the node:
// with last_man_standing, after a node dies and the window passes, the
// survivors lower expected votes to what is left.
func TestGoRingLastManStanding(t *testing.T) {
	const nodes = 3
	cl := newCluster(t, nodes)
	opts := ringOpts{mode: transport.UDPU, token: time.Second, vq: func(c *votequorum.Config) {
		c.LastManStanding, c.LMSWindow = true, time.Second
	}}
	gs := make([]*goNode, nodes)
	defer func() { dumpLogs(t, gs) }()
	for i := 1; i <= nodes; i++ {
		gs[i-1] = startGo(t, cl, i, nodes, opts)
	}
	waitRing(t, gs, ids(nodes), 30*time.Second)
	gs[2].kill()
	waitRing(t, gs[:2], []uint32{1, 2}, 20*time.Second)
	testcluster.Eventually(t, 10*time.Second, 100*time.Millisecond, func() (bool, string) {
		var in votequorum.Info
		var err error
		_ = gs[0].n.Do(func() { in, err = gs[0].c.Votequorum.GetInfo(0) })
		return err == nil && in.ExpectedVotes == 2, fmt.Sprintf("expected votes %d (%v)", in.ExpectedVotes, err)
	})
}
