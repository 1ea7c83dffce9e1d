package totem_test

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/totem"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
)

// TestRealCorosyncRing forms one totem ring of our machine (node 1, the
// representative: it creates the commit token and the first ORF token) and
// two Debian corosync 3.1.7 daemons (nodes 2, 3) over udpu in network
// namespaces. Our node must reach OPERATIONAL with all three members and
// deliver the corosync nodes' messages; corosync must log the same
// membership; our messages must be ordered on the ring; and our clean
// shutdown must be reported by corosync as a leave, not a failure.
func TestRealCorosyncRing(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespaces and real corosync: not with -short")
	}
	testenv.RequireRoot(t)
	corosync := testenv.RequireBinary(t, "corosync")
	for _, p := range testcluster.Prerequisites {
		testenv.RequireBinary(t, p)
	}
	c, procs := corosyncCluster(t, corosync)
	d := startDriver(t, c.Node(1))
	defer d.stop()

	// 1. one ring of three
	testcluster.Eventually(t, 60*time.Second, 100*time.Millisecond, func() (bool, string) {
		st := d.status()
		return st.state == totem.Operational && len(st.members) == 3, fmt.Sprintf("our node: %+v", st)
	})
	ring := d.status().ring
	t.Logf("ring %s formed with members %v", ring, d.status().members)
	if ring.Rep != 1 {
		t.Errorf("ring %s: representative should be node 1 (lowest nodeid)", ring)
	}
	for i, p := range procs {
		want := fmt.Sprintf("A new membership (%s) was formed.", ring)
		testcluster.Eventually(t, 10*time.Second, 100*time.Millisecond, func() (bool, string) {
			return strings.Contains(p.Output(), want), fmt.Sprintf("corosync on node %d has not logged %q", i+2, want)
		})
	}

	// 2. corosync's own traffic (votequorum, sync) reaches us in order
	testcluster.Eventually(t, 10*time.Second, 100*time.Millisecond, func() (bool, string) {
		from := d.deliveredFrom(ring)
		return from[2] > 0 && from[3] > 0, fmt.Sprintf("deliveries on %s by sender: %v", ring, from)
	})

	// 3. our messages (empty totempg packets, which corosync accepts and
	// ignores) are ordered on the ring and come back to us
	empty := []byte{0, 0, 0, 0, 0, 0, 0, 0}
	for i := 0; i < 20; i++ {
		d.send(empty)
	}
	testcluster.Eventually(t, 10*time.Second, 50*time.Millisecond, func() (bool, string) {
		n := d.deliveredFrom(ring)[1]
		return n >= 20, fmt.Sprintf("%d of our 20 messages delivered", n)
	})
	if err := d.orderErr(); err != nil {
		t.Error(err)
	}

	// 4. clean shutdown: corosync reports a leave, not a failure. Like
	// corosync's own memb_leave_message_send, the leave is one join message; a
	// peer still busy forming the ring can miss it and then logs "Failed to
	// receive the leave message" (corosync does the same between its own
	// nodes), so at least one peer must report the leave and every peer must
	// re-form without node 1.
	d.stop()
	left := 0
	for i, p := range procs {
		testcluster.Eventually(t, 20*time.Second, 100*time.Millisecond, func() (bool, string) {
			out := p.Output()
			return strings.Contains(out, "left: 1"), fmt.Sprintf("corosync on node %d: no membership without node 1 yet", i+2)
		})
		if strings.Contains(p.Output(), "failed: 1") {
			t.Logf("corosync on node %d missed the leave message and reported node 1 failed", i+2)
		} else {
			left++
		}
	}
	if left == 0 {
		t.Errorf("no corosync node received our leave message:\n%s", tailLines(procs[0].Output(), 20))
	}
	if t.Failed() || testing.Verbose() {
		for i, p := range procs {
			t.Logf("corosync node %d:\n%s", i+2, tailLines(p.Output(), 40))
		}
	}
}

const interopConf = `totem {
	version: 2
	cluster_name: rmsrp
	transport: udpu
	crypto_cipher: none
	crypto_hash: none
}
nodelist {
	node {
		ring0_addr: 192.0.2.1
		nodeid: 1
	}
	node {
		ring0_addr: 192.0.2.2
		nodeid: 2
	}
	node {
		ring0_addr: 192.0.2.3
		nodeid: 3
	}
}
quorum {
	provider: corosync_votequorum
}
logging {
	to_stderr: yes
	to_syslog: no
	to_logfile: no
}
`

// corosyncCluster makes three namespaced nodes and starts Debian's corosync
// on nodes 2 and 3; node 1 is left for our machine.
func corosyncCluster(t *testing.T, corosync string) (*testcluster.Cluster, []*testcluster.Proc) {
	c := testcluster.New(t, testcluster.Options{Nodes: 3})
	var procs []*testcluster.Proc
	for _, id := range []int{2, 3} {
		procs = append(procs, startCorosync(t, c.Node(id), corosync))
	}
	return c, procs
}

func startCorosync(t *testing.T, n *testcluster.Node, corosync string) *testcluster.Proc {
	if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(interopConf), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := n.Start("corosync", corosync, "-f")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRealCorosyncFaults runs the same three-node ring through faults on
// real sockets: 10% loss on our node's outgoing packets while it sends
// (retransmit requests between our machine and corosync), then a corosync
// node killed (both survivors form a ring of two and corosync reports the
// node as failed), then that node started again (a ring of three again).
func TestRealCorosyncFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespaces and real corosync: not with -short")
	}
	testenv.RequireRoot(t)
	corosync := testenv.RequireBinary(t, "corosync")
	for _, p := range testcluster.Prerequisites {
		testenv.RequireBinary(t, p)
	}
	c, procs := corosyncCluster(t, corosync)
	d := startDriver(t, c.Node(1))
	defer d.stop()
	ringOf := func(n int) totem.RingID {
		testcluster.Eventually(t, 60*time.Second, 100*time.Millisecond, func() (bool, string) {
			st := d.status()
			return st.state == totem.Operational && len(st.members) == n, fmt.Sprintf("want %d members; our node: %+v", n, st)
		})
		return d.status().ring
	}
	ring := ringOf(3)

	// loss: everything we send reaches the ring in the end, in order
	if err := c.Node(1).DropPercent(10); err != nil {
		t.Fatal(err)
	}
	payload := []byte{0, 0, 0, 0, 0, 0, 0, 0}
	for i := 0; i < 200; i++ {
		d.send(payload)
		if i%20 == 19 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	testcluster.Eventually(t, 30*time.Second, 50*time.Millisecond, func() (bool, string) {
		total := 0
		for r, m := range d.allDelivered() {
			if r.Seq >= ring.Seq {
				total += m[1]
			}
		}
		return total >= 200, fmt.Sprintf("%d of our 200 messages delivered", total)
	})
	if err := d.orderErr(); err != nil {
		t.Error(err)
	}
	if err := c.Node(1).DropPercent(0); err != nil {
		t.Fatal(err)
	}
	ring = ringOf(3)

	// crash: node 3's corosync is killed
	procs[1].Kill()
	testcluster.Eventually(t, 30*time.Second, 100*time.Millisecond, func() (bool, string) {
		st := d.status()
		return st.state == totem.Operational && len(st.members) == 2 && st.ring != ring, fmt.Sprintf("our node: %+v", st)
	})
	testcluster.Eventually(t, 10*time.Second, 100*time.Millisecond, func() (bool, string) {
		return strings.Contains(procs[0].Output(), "failed: 3"), "corosync on node 2 has not reported node 3 failed"
	})

	// restart: a ring of three again
	procs = append(procs, startCorosync(t, c.Node(3), corosync))
	r3 := ringOf(3)
	t.Logf("rings: %s, then without node 3, then %s", ring, r3)
	if t.Failed() || testing.Verbose() {
		for i, p := range procs {
			t.Logf("corosync %d:\n%s", i, tailLines(p.Output(), 30))
		}
	}
}

func tailLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// driver runs one Machine over a real udpu transport: the job of the
// corosync daemon's totem loop, reduced to what the test needs.
type driver struct {
	t     *testing.T
	sendC chan []byte
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once

	mu        sync.Mutex
	st        driverStatus
	delivered map[totem.RingID]map[totem.NodeID]int
	lastSeq   map[totem.RingID]uint32
	err       error
}

type driverStatus struct {
	state   totem.State
	ring    totem.RingID
	members []totem.NodeID
}

func startDriver(t *testing.T, n *testcluster.Node) *driver {
	members := []transport.Member{
		{NodeID: 1, Addr: netip.MustParseAddr("192.0.2.1")},
		{NodeID: 2, Addr: netip.MustParseAddr("192.0.2.2")},
		{NodeID: 3, Addr: netip.MustParseAddr("192.0.2.3")},
	}
	var tr *transport.Transport
	if err := n.Do(func() error {
		var err error
		tr, err = transport.Open(transport.Config{Mode: transport.UDPU, LocalAddr: members[0].Addr,
			Members: members, BlockUnlisted: true, Framing: wire.V3, Merge: totem.DefaultMerge})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m, err := totem.New(totem.DefaultConfig(1, 3), func(f string, a ...any) { t.Logf("srp: "+f, a...) })
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, sendC: make(chan []byte, 64), quit: make(chan struct{}), done: make(chan struct{}),
		delivered: map[totem.RingID]map[totem.NodeID]int{}, lastSeq: map[totem.RingID]uint32{}}
	go d.loop(m, tr)
	return d
}

func (d *driver) loop(m *totem.Machine, tr *transport.Transport) {
	defer close(d.done)
	defer tr.Close()
	start := time.Now()
	now := func() time.Duration { return time.Since(start) }
	_ = m.Step(now(), totem.Start{})
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		rd := m.Ready()
		for _, p := range rd.Packets {
			// an nftables drop rule makes sendto fail with EPERM: that is
			// the packet loss we asked for
			_ = tr.SendMsg(p.To, p.Msg, p.Flush)
		}
		d.mu.Lock()
		for _, e := range rd.Events {
			if dl, ok := e.(totem.Deliver); ok {
				if d.delivered[dl.Ring] == nil {
					d.delivered[dl.Ring] = map[totem.NodeID]int{}
				}
				d.delivered[dl.Ring][dl.From]++
				if last, ok := d.lastSeq[dl.Ring]; ok && dl.Seq <= last && d.err == nil {
					d.err = fmt.Errorf("ring %s: seq %d delivered after %d", dl.Ring, dl.Seq, last)
				}
				d.lastSeq[dl.Ring] = dl.Seq
			}
		}
		d.st = driverStatus{state: m.State(), ring: m.RingID(), members: m.Members()}
		d.mu.Unlock()
		m.Advance()
		if rd.State == totem.Down {
			return
		}
		wait := time.Hour
		if rd.HasDeadline {
			wait = max(rd.Deadline-now(), 0)
		}
		timer.Reset(wait)
		select {
		case p := <-tr.Recv():
			if p.Msg != nil {
				_ = m.Step(now(), totem.Receive{Msg: p.Msg})
			}
		case b := <-d.sendC:
			_ = m.Step(now(), totem.Send{Payload: b})
		case <-timer.C:
			_ = m.Step(now(), totem.Tick{})
		case <-d.quit:
			_ = m.Step(now(), totem.Leave{})
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

func (d *driver) stop() {
	d.once.Do(func() { close(d.quit) })
	<-d.done
}

func (d *driver) send(b []byte) { d.sendC <- b }

func (d *driver) status() driverStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

func (d *driver) deliveredFrom(r totem.RingID) map[totem.NodeID]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[totem.NodeID]int{}
	for k, v := range d.delivered[r] {
		out[k] = v
	}
	return out
}

func (d *driver) allDelivered() map[totem.RingID]map[totem.NodeID]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[totem.RingID]map[totem.NodeID]int{}
	for r, m := range d.delivered {
		out[r] = map[totem.NodeID]int{}
		for k, v := range m {
			out[r][k] = v
		}
	}
	return out
}

func (d *driver) orderErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}
