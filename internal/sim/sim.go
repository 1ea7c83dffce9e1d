// Package sim runs Totem SRP machines over a simulated network with a virtual
// clock, deterministically from a seed: per-link delay and jitter (hence
// reordering), loss, duplication, partitions and asymmetric cuts, crashes and
// restarts with or without the persisted ring id. After every step it checks
// the extended virtual synchrony invariants (see check.go); the first
// violation stops the run and is reported with the seed and the event log,
// which replay exactly.
package sim

import (
	"container/heap"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"time"

	"ringmaster/totem"
	"ringmaster/totem/wire"
)

// NodeID is a node id.
type NodeID = totem.NodeID

// Options sets up a simulation.
type Options struct {
	Seed int64
	// Config returns a node's totem configuration; nil means corosync's
	// defaults for a nodelist of ClusterSize nodes (2 when unset).
	Config      func(id NodeID) totem.Config
	ClusterSize int
	// MinDelay/MaxDelay bound the one-way latency of a packet; each packet
	// draws uniformly in between, so packets of one link can overtake each
	// other. Default 0.2ms..1ms.
	MinDelay, MaxDelay time.Duration
	// Loss and Dup are per-packet probabilities (0..1).
	Loss, Dup float64
	// LogEvents keeps a log of deliveries and configuration changes
	// (always kept), and with Verbose also every packet.
	Verbose bool
	// Codec sends every packet through the 3.x wire encoder and decoder,
	// as a real driver would.
	Codec bool
	// OnSend, if set, sees every packet a node transmits (To 0 = multicast).
	OnSend func(at time.Duration, from NodeID, p totem.Packet)
	// TransAck runs the machines with HoldUntilTransAck and acknowledges
	// each new ring 0-20 ms after its regular configuration, standing in
	// for corosync's service synchronisation.
	TransAck bool
	// MaxSteps bounds the number of instants a run may process (0 = 2e6);
	// exceeding it is reported as a failure (a livelock).
	MaxSteps uint64
	// MaxLog bounds the event log (0 = 20000 lines); older lines are dropped.
	MaxLog int
}

// Node is one simulated node.
type Node struct {
	ID  NodeID
	M   *totem.Machine
	Up  bool
	Inc int // incarnation: 1 for the first start, +1 per restart
	// ackAt is when the simulated service sync acknowledges the ring
	// (HoldUntilTransAck); ackPending tells whether one is due.
	ackAt      time.Duration
	ackPending bool
	// StoredSeq is the content of the node's ringid file.
	StoredSeq uint64
	hist      *history
}

// Sim is a running simulation.
type Sim struct {
	opts  Options
	rng   *rand.Rand
	now   time.Duration
	nodes map[NodeID]*Node
	order []NodeID
	q     pktQueue
	seq   uint64

	group map[NodeID]int           // partition group; nodes talk only within a group
	cut   map[[2]NodeID]bool       // directed cuts: from -> to dropped
	link  map[[2]NodeID]linkParams // per-link overrides
	loss  float64
	dup   float64

	log      []string
	logStart int
	check    *checker
	err      error
	steps    uint64
	sent     map[string]sentInfo // payload -> sender incarnation
	msgNo    map[NodeID]int
	Packets  uint64
	wiped    bool // some node restarted without its ringid file
}

type linkParams struct{ min, max time.Duration }

type sentInfo struct {
	from NodeID
	inc  int
}

// New returns an empty simulation.
func New(o Options) *Sim {
	if o.MaxDelay == 0 {
		o.MinDelay, o.MaxDelay = 200*time.Microsecond, time.Millisecond
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = 2_000_000
	}
	if o.MaxLog == 0 {
		o.MaxLog = 20000
	}
	s := &Sim{
		opts:  o,
		rng:   rand.New(rand.NewSource(o.Seed)),
		nodes: map[NodeID]*Node{},
		group: map[NodeID]int{},
		cut:   map[[2]NodeID]bool{},
		link:  map[[2]NodeID]linkParams{},
		loss:  o.Loss,
		dup:   o.Dup,
		sent:  map[string]sentInfo{},
		msgNo: map[NodeID]int{},
	}
	s.check = newChecker(s)
	return s
}

// Now is the virtual time.
func (s *Sim) Now() time.Duration { return s.now }

// Err is the first invariant violation, if any.
func (s *Sim) Err() error { return s.err }

// Seed returns the seed.
func (s *Sim) Seed() int64 { return s.opts.Seed }

// Rand is the simulation's seeded source, for scenario drivers.
func (s *Sim) Rand() *rand.Rand { return s.rng }

// Node returns a node.
func (s *Sim) Node(id NodeID) *Node { return s.nodes[id] }

// IDs returns the node ids in order.
func (s *Sim) IDs() []NodeID { return slices.Clone(s.order) }

// Logf appends a line to the event log.
func (s *Sim) Logf(format string, args ...any) {
	s.log = append(s.log, fmt.Sprintf("%9.3fms ", float64(s.now)/1e6)+fmt.Sprintf(format, args...))
	if len(s.log) > s.opts.MaxLog+s.opts.MaxLog/4 {
		// trim in chunks so that a long run stays linear
		drop := len(s.log) - s.opts.MaxLog
		s.log = slices.Delete(s.log, 0, drop)
		s.logStart += drop
	}
}

// Log returns the event log.
func (s *Sim) Log() []string { return s.log }

// Report formats a failure: seed, error and the tail of the log.
func (s *Sim) Report(tail int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d at %v: %v\n", s.opts.Seed, s.now, s.err)
	l := s.log
	if tail > 0 && len(l) > tail {
		l = l[len(l)-tail:]
	}
	for _, line := range l {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func (s *Sim) config(id NodeID) totem.Config {
	var c totem.Config
	if s.opts.Config != nil {
		c = s.opts.Config(id)
	} else {
		c = totem.DefaultConfig(id, max(2, s.opts.ClusterSize))
	}
	c.HoldUntilTransAck = c.HoldUntilTransAck || s.opts.TransAck
	return c
}

// AddNode creates and starts a node.
func (s *Sim) AddNode(id NodeID) error {
	if _, ok := s.nodes[id]; ok {
		return fmt.Errorf("node %d exists", id)
	}
	n := &Node{ID: id}
	s.nodes[id] = n
	s.order = append(s.order, id)
	slices.Sort(s.order)
	return s.startNode(n)
}

func (s *Sim) startNode(n *Node) error {
	var logf totem.Logf
	if s.opts.Verbose {
		id := n.ID
		logf = func(format string, args ...any) { s.Logf("node %d: "+format, append([]any{id}, args...)...) }
	}
	m, err := totem.New(s.config(n.ID), logf)
	if err != nil {
		return err
	}
	n.M = m
	n.Up = true
	n.ackPending = false
	n.Inc++
	n.hist = s.check.newHistory(n)
	s.Logf("node %d start inc=%d ringseq=%d", n.ID, n.Inc, n.StoredSeq)
	s.stepNode(n, totem.Start{RingSeq: n.StoredSeq})
	return nil
}

// Crash stops a node without a word (its packets in flight still arrive).
func (s *Sim) Crash(id NodeID) {
	n := s.nodes[id]
	if n == nil || !n.Up {
		return
	}
	n.Up = false
	n.M = nil
	s.check.retire(n)
	s.Logf("node %d crash", id)
}

// Stop shuts a node down cleanly: it sends its leave message and stops.
func (s *Sim) Stop(id NodeID) {
	n := s.nodes[id]
	if n == nil || !n.Up {
		return
	}
	s.Logf("node %d leave", id)
	s.stepNode(n, totem.Leave{})
	n.Up = false
	n.M = nil
	s.check.retire(n)
}

// Restart starts a crashed node again; keepRing false wipes its ringid file.
func (s *Sim) Restart(id NodeID, keepRing bool) error {
	n := s.nodes[id]
	if n == nil || n.Up {
		return nil
	}
	if !keepRing {
		n.StoredSeq = 0
		s.wiped = true
	}
	return s.startNode(n)
}

// Partition splits the network into groups; nodes not named form one more
// group of their own.
func (s *Sim) Partition(groups ...[]NodeID) {
	s.group = map[NodeID]int{}
	for i, g := range groups {
		for _, id := range g {
			s.group[id] = i + 1
		}
	}
	s.Logf("partition %v", groups)
}

// Cut drops every packet from -> to (one direction).
func (s *Sim) Cut(from, to NodeID) {
	s.cut[[2]NodeID{from, to}] = true
	s.Logf("cut %d->%d", from, to)
}

// Heal removes partitions, cuts and loss/duplication.
func (s *Sim) Heal() {
	s.group = map[NodeID]int{}
	s.cut = map[[2]NodeID]bool{}
	s.loss, s.dup = 0, 0
	s.Logf("heal")
}

// SetLoss sets the packet loss and duplication probabilities.
func (s *Sim) SetLoss(loss, dup float64) {
	s.loss, s.dup = loss, dup
	s.Logf("loss %.2f dup %.2f", loss, dup)
}

// SetLinkDelay overrides the delay range of one direction of a link.
func (s *Sim) SetLinkDelay(from, to NodeID, min, max time.Duration) {
	s.link[[2]NodeID{from, to}] = linkParams{min, max}
}

// Mcast asks node id to send payload; payload should be unique in the run.
func (s *Sim) Mcast(id NodeID, payload string) error {
	n := s.nodes[id]
	if n == nil || !n.Up {
		return fmt.Errorf("node %d is down", id)
	}
	if _, dup := s.sent[payload]; dup {
		return fmt.Errorf("payload %q already sent", payload)
	}
	err := n.M.Step(s.now, totem.Send{Payload: []byte(payload)})
	if err != nil {
		return err
	}
	s.sent[payload] = sentInfo{from: id, inc: n.Inc}
	n.hist.sent = append(n.hist.sent, payload)
	s.drain(n)
	return nil
}

// McastAuto sends a generated unique payload from id.
func (s *Sim) McastAuto(id NodeID) error {
	s.msgNo[id]++
	return s.Mcast(id, fmt.Sprintf("n%d-%d", id, s.msgNo[id]))
}

// --- the event loop ---

type pkt struct {
	at   time.Duration
	seq  uint64
	from NodeID
	to   NodeID
	msg  wire.Message
}

type pktQueue []*pkt

func (q pktQueue) Len() int { return len(q) }
func (q pktQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q pktQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pktQueue) Push(x any)   { *q = append(*q, x.(*pkt)) }
func (q *pktQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// next returns the time of the next event and whether one exists.
func (s *Sim) next() (time.Duration, bool) {
	var at time.Duration
	ok := false
	if len(s.q) > 0 {
		at, ok = s.q[0].at, true
	}
	for _, id := range s.order {
		n := s.nodes[id]
		if !n.Up {
			continue
		}
		r := n.M.Ready()
		if r.HasDeadline && (!ok || r.Deadline < at) {
			at, ok = r.Deadline, true
		}
		if n.ackPending && (!ok || n.ackAt < at) {
			at, ok = n.ackAt, true
		}
	}
	return at, ok
}

// Step runs the next event; it returns false when nothing is scheduled or
// an invariant failed.
func (s *Sim) Step() bool {
	if s.err != nil {
		return false
	}
	at, ok := s.next()
	if !ok {
		return false
	}
	s.runUntilTime(at)
	return s.err == nil
}

// runUntilTime processes every event at exactly time at.
func (s *Sim) runUntilTime(at time.Duration) {
	if at > s.now {
		s.now = at
	}
	s.steps++
	if s.steps > s.opts.MaxSteps {
		s.fail(fmt.Errorf("step budget of %d exceeded (livelock?)", s.opts.MaxSteps))
		return
	}
	// packets first, in arrival order
	for len(s.q) > 0 && s.q[0].at <= s.now && s.err == nil {
		p := heap.Pop(&s.q).(*pkt)
		n := s.nodes[p.to]
		if n == nil || !n.Up {
			continue
		}
		if s.opts.Verbose {
			s.Logf("recv %d<-%d %s", p.to, p.from, describe(p.msg))
		}
		s.stepNode(n, totem.Receive{Msg: p.msg})
	}
	for _, id := range s.order {
		if s.err != nil {
			return
		}
		n := s.nodes[id]
		if !n.Up {
			continue
		}
		if n.ackPending && n.ackAt <= s.now {
			n.ackPending = false
			s.stepNode(n, totem.TransAck{})
			if s.err != nil || !n.Up {
				continue
			}
		}
		if r := n.M.Ready(); r.HasDeadline && r.Deadline <= s.now {
			s.stepNode(n, totem.Tick{})
		}
	}
}

// RunFor runs events until virtual time now+d (bounded by maxSteps events).
func (s *Sim) RunFor(d time.Duration) error {
	end := s.now + d
	for s.err == nil {
		at, ok := s.next()
		if !ok || at > end {
			break
		}
		s.runUntilTime(at)
	}
	if s.err == nil && s.now < end {
		s.now = end
	}
	return s.err
}

func (s *Sim) stepNode(n *Node, in totem.Input) {
	if err := n.M.Step(s.now, in); err != nil {
		s.fail(fmt.Errorf("node %d step: %w", n.ID, err))
		return
	}
	s.drain(n)
}

// drain acts on a node's Ready: persist, send, hand up, then check.
func (s *Sim) drain(n *Node) {
	if n.M == nil {
		return
	}
	r := n.M.Ready()
	if r.PersistRing != nil {
		n.StoredSeq = r.PersistRing.Seq
	}
	for _, p := range r.Packets {
		s.transmit(n.ID, p)
	}
	for _, e := range r.Events {
		s.check.event(n, e)
		if s.err != nil {
			break
		}
		if cc, ok := e.(totem.ConfChange); ok && cc.Kind == totem.Regular && s.opts.TransAck {
			// the service sync takes a little while
			n.ackPending = true
			n.ackAt = s.now + time.Duration(s.rng.Intn(20_000))*time.Microsecond
		}
	}
	n.M.Advance()
}

func (s *Sim) transmit(from NodeID, p totem.Packet) {
	if s.opts.OnSend != nil {
		s.opts.OnSend(s.now, from, p)
	}
	if s.opts.Verbose {
		s.Logf("send %d->%d %s", from, p.To, describe(p.Msg))
	}
	if p.To != 0 {
		s.deliverTo(from, p.To, p.Msg)
		return
	}
	for _, to := range s.order {
		s.deliverTo(from, to, p.Msg)
	}
}

func (s *Sim) deliverTo(from, to NodeID, msg wire.Message) {
	s.Packets++
	if from == to {
		// the local loop (socketpair / loopback copy) never loses
		s.push(from, to, msg, s.now+10*time.Microsecond)
		return
	}
	if s.group[from] != s.group[to] || s.cut[[2]NodeID{from, to}] {
		return
	}
	if s.loss > 0 && s.rng.Float64() < s.loss {
		return
	}
	copies := 1
	if s.dup > 0 && s.rng.Float64() < s.dup {
		copies = 2
	}
	lp, ok := s.link[[2]NodeID{from, to}]
	if !ok {
		lp = linkParams{s.opts.MinDelay, s.opts.MaxDelay}
	}
	for range copies {
		d := lp.min
		if lp.max > lp.min {
			d += time.Duration(s.rng.Int63n(int64(lp.max - lp.min)))
		}
		s.push(from, to, msg, s.now+d)
	}
}

func (s *Sim) push(from, to NodeID, msg wire.Message, at time.Duration) {
	if s.opts.Codec {
		dec, err := wire.Decode(wire.Encode(msg, wire.V3), wire.V3)
		if err != nil {
			s.fail(fmt.Errorf("codec round trip of %s: %w", describe(msg), err))
			return
		}
		msg = dec
	}
	s.seq++
	heap.Push(&s.q, &pkt{at: at, seq: s.seq, from: from, to: to, msg: msg})
}

func (s *Sim) fail(err error) {
	if s.err == nil {
		s.err = err
		s.Logf("VIOLATION: %v", err)
	}
}

// describe prints a message compactly for the verbose log.
func describe(m wire.Message) string {
	switch m := m.(type) {
	case *wire.OrfToken:
		return fmt.Sprintf("token ring=%s tseq=%d seq=%d aru=%d/%d rtr=%d fcc=%d bl=%d rf=%d", m.RingID, m.TokenSeq, m.Seq, m.Aru, m.AruAddr, len(m.RTR), m.FCC, m.Backlog, m.RetransFlg)
	case *wire.Mcast:
		return fmt.Sprintf("mcast ring=%s seq=%d from=%d encap=%d len=%d", m.RingID, m.Seq, m.From.Node, m.Encapsulated, len(m.Payload))
	case *wire.Join:
		ids := func(a []wire.Addr) []NodeID {
			out := make([]NodeID, len(a))
			for i := range a {
				out[i] = a[i].Node
			}
			return out
		}
		return fmt.Sprintf("join from=%d hdr=%d seq=%d proc=%v failed=%v", m.From.Node, m.NodeID, m.RingSeq, ids(m.Proc), ids(m.Failed))
	case *wire.CommitToken:
		var b strings.Builder
		for i, a := range m.Addrs {
			if i < len(m.Memb) {
				e := m.Memb[i]
				fmt.Fprintf(&b, " {%d old=%s aru=%d hd=%d rf=%d}", a.Node, e.RingID, e.Aru, e.HighDelivered, e.ReceivedFlg)
			}
		}
		return fmt.Sprintf("commit ring=%s tseq=%d idx=%d/%d%s", m.RingID, m.TokenSeq, m.MembIndex, len(m.Addrs), b.String())
	case *wire.MergeDetect:
		return fmt.Sprintf("merge_detect from=%d ring=%s", m.From.Node, m.RingID)
	case *wire.TokenHoldCancel:
		return fmt.Sprintf("hold_cancel ring=%s", m.RingID)
	}
	return fmt.Sprintf("%T", m)
}

// Up returns the ids of running nodes.
func (s *Sim) Up() []NodeID {
	var out []NodeID
	for _, id := range s.order {
		if s.nodes[id].Up {
			out = append(out, id)
		}
	}
	return out
}

// Components returns the groups of running nodes that can talk both ways.
func (s *Sim) Components() [][]NodeID {
	up := s.Up()
	seen := map[NodeID]bool{}
	var out [][]NodeID
	for _, a := range up {
		if seen[a] {
			continue
		}
		var comp []NodeID
		for _, b := range up {
			if !seen[b] && s.group[a] == s.group[b] && !s.cut[[2]NodeID{a, b}] && !s.cut[[2]NodeID{b, a}] {
				comp = append(comp, b)
				seen[b] = true
			}
		}
		out = append(out, comp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}
