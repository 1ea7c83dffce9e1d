package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"ringmaster/totem"
)

// The invariants of extended virtual synchrony (Moser, Amir, Melliar-Smith,
// Agarwal 1994, as Totem provides them) that the checker enforces on every
// event a node hands up:
//
//  1. A regular configuration (ring id) has one member set, whoever installs
//     it, and the installer is a member.
//  2. A transitional configuration precedes every regular one; its members
//     are the installer, all of them members of the installer's previous
//     regular configuration and of the new one; left = old - transitional,
//     joined = new - transitional.
//  3. A message is delivered in the configuration in which it was ordered,
//     at one position (ring, seq) that is the same for every node (one total
//     order); per node, positions only grow and ring seqs only grow.
//  4. No node delivers a message twice, or a message nobody sent.
//  5. Nodes that move together from regular configuration C to the same
//     transitional configuration deliver the same set of C's messages.
//
// Liveness is checked by Stabilize once the network is healed.

type history struct {
	node    *Node
	inc     int
	ring    totem.RingID // current regular configuration (zero before the first)
	inst    *confRec     // its instance
	lastSeq uint32
	inTrans bool
	trans   totem.ConfChange
	seen    map[string]bool
	ringMsg map[totem.RingID][]string
	sent    []string
}

// confRec is one instance of a regular configuration. A ring id names one
// instance, except after a node restarted without its ringid file: then an
// id can be reused by a different group of nodes (what the file prevents).
type confRec struct {
	ring       totem.RingID
	members    []NodeID
	installers [][2]int // node, incarnation
	pos        map[uint32]string
}

// anyAlive reports whether one of the installers still runs.
func (c *checker) anyAlive(inst [][2]int) bool {
	for _, ni := range inst {
		n := c.s.nodes[NodeID(ni[0])]
		if n != nil && n.Up && n.Inc == ni[1] {
			return true
		}
	}
	return false
}

type transKey struct{ newInst, oldInst *confRec }

type transRec struct {
	members []NodeID
	msgs    []string // sorted messages of the old ring, fixed by the first reporter
	who     NodeID
}

type checker struct {
	s      *Sim
	confs  map[totem.RingID][]*confRec
	trans  map[transKey]*transRec
	events int
	// Delivered counts deliveries per payload over all nodes.
	delivered map[string]int
}

func newChecker(s *Sim) *checker {
	return &checker{
		s:         s,
		confs:     map[totem.RingID][]*confRec{},
		trans:     map[transKey]*transRec{},
		delivered: map[string]int{},
	}
}

func (c *checker) newHistory(n *Node) *history {
	return &history{node: n, inc: n.Inc, seen: map[string]bool{}, ringMsg: map[totem.RingID][]string{}}
}

func (c *checker) retire(n *Node) {}

func (c *checker) fail(n *Node, format string, args ...any) {
	c.s.fail(fmt.Errorf("node %d: %s", n.ID, fmt.Sprintf(format, args...)))
}

func (c *checker) event(n *Node, e totem.Event) {
	h := n.hist
	c.events++
	switch e := e.(type) {
	case totem.Deliver:
		c.s.Logf("node %d %v", n.ID, e)
		c.deliver(n, h, e)
	case totem.ConfChange:
		c.s.Logf("node %d %v", n.ID, e)
		if e.Kind == totem.Transitional {
			c.transitional(n, h, e)
		} else {
			c.regular(n, h, e)
		}
	}
}

func (c *checker) deliver(n *Node, h *history, d totem.Deliver) {
	p := string(d.Payload)
	if h.ring == (totem.RingID{}) {
		c.fail(n, "delivered %q before any configuration", p)
		return
	}
	if d.Ring != h.ring {
		c.fail(n, "delivered %q of ring %s while in configuration %s", p, d.Ring, h.ring)
		return
	}
	if h.lastSeq != 0 && d.Seq <= h.lastSeq {
		c.fail(n, "delivered seq %d after seq %d on ring %s", d.Seq, h.lastSeq, d.Ring)
		return
	}
	h.lastSeq = d.Seq
	si, ok := c.s.sent[p]
	if !ok {
		c.fail(n, "delivered %q which nobody sent", p)
		return
	}
	if si.from != d.From {
		c.fail(n, "delivered %q from %d, sent by %d", p, d.From, si.from)
		return
	}
	if h.seen[p] {
		c.fail(n, "delivered %q twice", p)
		return
	}
	h.seen[p] = true
	at := h.inst.pos
	if prev, ok := at[d.Seq]; ok && prev != p {
		c.fail(n, "ring %s seq %d is %q here but %q elsewhere (total order broken)", d.Ring, d.Seq, p, prev)
		return
	}
	at[d.Seq] = p
	h.ringMsg[d.Ring] = append(h.ringMsg[d.Ring], p)
	c.delivered[p]++
}

func (c *checker) transitional(n *Node, h *history, e totem.ConfChange) {
	if h.inTrans {
		c.fail(n, "two transitional configurations in a row")
		return
	}
	if h.ring != (totem.RingID{}) {
		if !slices.Contains(e.Members, n.ID) {
			c.fail(n, "transitional configuration %v without itself", e.Members)
			return
		}
		old := h.inst.members
		if !subset(e.Members, old) {
			c.fail(n, "transitional members %v not in previous configuration %v", e.Members, old)
			return
		}
		if want := minus(old, e.Members); !sameSet(want, e.Left) {
			c.fail(n, "transitional left %v, want %v", e.Left, want)
			return
		}
		if !subset(e.Failed, e.Left) {
			c.fail(n, "failed %v not within left %v", e.Failed, e.Left)
		}
	} else if len(e.Members) != 0 || len(e.Left) != 0 {
		// corosync starts with an empty membership, so the first
		// transitional configuration of a node is empty.
		c.fail(n, "first transitional configuration %v left %v, want none", e.Members, e.Left)
		return
	}
	h.inTrans = true
	h.trans = e
}

func (c *checker) regular(n *Node, h *history, e totem.ConfChange) {
	if !h.inTrans {
		c.fail(n, "regular configuration %s without a transitional one", e.Ring)
		return
	}
	h.inTrans = false
	if e.Ring != h.trans.Ring {
		c.fail(n, "regular ring %s after transitional of ring %s", e.Ring, h.trans.Ring)
		return
	}
	if !slices.Contains(e.Members, n.ID) {
		c.fail(n, "regular configuration %v without itself", e.Members)
		return
	}
	if !subset(h.trans.Members, e.Members) {
		c.fail(n, "transitional %v not within regular %v", h.trans.Members, e.Members)
		return
	}
	if want := minus(e.Members, h.trans.Members); !sameSet(want, e.Joined) {
		c.fail(n, "joined %v, want %v", e.Joined, want)
		return
	}
	rec := c.instance(n, e)
	if rec == nil {
		return
	}
	rec.installers = append(rec.installers, [2]int{int(n.ID), n.Inc})
	if h.ring != (totem.RingID{}) && e.Ring.Seq <= h.ring.Seq {
		c.fail(n, "ring seq went from %s to %s", h.ring, e.Ring)
		return
	}
	// Rule 5: same transitional configuration => same old-ring messages.
	if h.ring != (totem.RingID{}) {
		k := transKey{rec, h.inst}
		msgs := slices.Clone(h.ringMsg[h.ring])
		slices.Sort(msgs)
		if r, ok := c.trans[k]; ok {
			if !sameSet(r.members, h.trans.Members) {
				c.fail(n, "transitional configuration %s<-%s: members %v, node %d had %v", e.Ring, h.ring, h.trans.Members, r.who, r.members)
				return
			}
			if !slices.Equal(r.msgs, msgs) {
				c.fail(n, "moved from %s to %s with node %d but delivered different messages of %s:\n  here:  %s\n  there: %s",
					h.ring, e.Ring, r.who, h.ring, short(msgs), short(r.msgs))
				return
			}
		} else {
			c.trans[k] = &transRec{members: slices.Clone(h.trans.Members), msgs: msgs, who: n.ID}
		}
	}
	delete(h.ringMsg, h.ring)
	h.ring = e.Ring
	h.inst = rec
	h.lastSeq = 0
}

// instance finds or creates the instance of the configuration e installs.
func (c *checker) instance(n *Node, e totem.ConfChange) *confRec {
	list := c.confs[e.Ring]
	for _, r := range list {
		if sameSet(r.members, e.Members) && (!c.s.wiped || c.anyAlive(r.installers)) {
			return r
		}
	}
	for _, r := range list {
		if sameSet(r.members, e.Members) {
			continue // same members, installers all gone: reuse after a wipe
		}
		if !c.s.wiped {
			c.fail(n, "ring %s installed with members %v, elsewhere %v", e.Ring, e.Members, r.members)
			return nil
		}
		for _, ni := range r.installers {
			m := c.s.nodes[NodeID(ni[0])]
			if m != nil && m.Up && m.Inc == ni[1] && slices.Contains(e.Members, m.ID) {
				c.fail(n, "ring %s installed with members %v, while node %d still has it with %v", e.Ring, e.Members, m.ID, r.members)
				return nil
			}
		}
	}
	r := &confRec{ring: e.Ring, members: slices.Clone(e.Members), pos: map[uint32]string{}}
	c.confs[e.Ring] = append(list, r)
	return r
}

func short(l []string) string {
	if len(l) > 40 {
		return strings.Join(l[:40], ",") + fmt.Sprintf(",... (%d)", len(l))
	}
	return strings.Join(l, ",")
}

func subset(a, b []NodeID) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func minus(a, b []NodeID) []NodeID {
	var out []NodeID
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func sameSet(a, b []NodeID) bool { return len(a) == len(b) && subset(a, b) && subset(b, a) }

// Converged reports whether every component of running nodes forms one
// operational ring of exactly its members, with nothing left to send.
func (s *Sim) Converged() bool {
	for _, comp := range s.Components() {
		var ring totem.RingID
		for i, id := range comp {
			n := s.nodes[id]
			if n.M.State() != totem.Operational || n.M.Pending() > 0 {
				return false
			}
			if i == 0 {
				ring = n.M.RingID()
			} else if n.M.RingID() != ring {
				return false
			}
			if n.hist.ring != ring || !sameSet(n.M.Members(), comp) {
				return false
			}
		}
	}
	return true
}

// Stabilize heals the network, runs until every node is in one ring (at most
// limit of virtual time), then has every node send a probe and checks that
// every node delivers every probe, and that every message a running node
// sent in its current incarnation reached its own delivery.
func (s *Sim) Stabilize(limit time.Duration) error {
	s.Heal()
	if err := s.runUntil(limit, s.Converged); err != nil {
		return err
	}
	if !s.Converged() {
		return s.stuck("no single ring after %v", limit)
	}
	var probes []string
	for _, id := range s.Up() {
		s.msgNo[id]++
		p := fmt.Sprintf("probe-n%d-%d", id, s.msgNo[id])
		if err := s.Mcast(id, p); err != nil {
			return s.stuck("probe from %d: %v", id, err)
		}
		probes = append(probes, p)
	}
	all := func() bool {
		for _, id := range s.Up() {
			for _, p := range probes {
				if !s.nodes[id].hist.seen[p] {
					return false
				}
			}
		}
		return true
	}
	if err := s.runUntil(limit, all); err != nil {
		return err
	}
	if !all() {
		return s.stuck("probes not delivered everywhere within %v", limit)
	}
	for _, id := range s.Up() {
		h := s.nodes[id].hist
		for _, p := range h.sent {
			if !h.seen[p] {
				return s.stuck("node %d never delivered its own message %q", id, p)
			}
		}
	}
	return nil
}

func (s *Sim) stuck(format string, args ...any) error {
	var b strings.Builder
	for _, id := range s.order {
		n := s.nodes[id]
		if !n.Up {
			fmt.Fprintf(&b, " [%d down]", id)
			continue
		}
		fmt.Fprintf(&b, " [%d %s ring=%s members=%v pending=%d]", id, n.M.State(), n.M.RingID(), n.M.Members(), n.M.Pending())
	}
	s.fail(fmt.Errorf("liveness: "+format+";"+b.String(), args...))
	return s.err
}

// runUntil runs events until cond holds (checked after each instant) or
// limit of virtual time has passed.
func (s *Sim) runUntil(limit time.Duration, cond func() bool) error {
	end := s.now + limit
	for s.err == nil && !cond() {
		at, ok := s.next()
		if !ok || at > end {
			break
		}
		s.runUntilTime(at)
	}
	return s.err
}
