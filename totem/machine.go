package totem

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"ringmaster/totem/wire"
)

// ErrQueueFull is returned by Step for a Send when the pending message queue
// is full (totemsrp_mcast returning -1); the caller retries later.
var ErrQueueFull = errors.New("totem: send queue full")

// ErrDown is returned by Step for a Send before Start or after Leave, and
// for a Start after Leave.
var ErrDown = errors.New("totem: node is not running")

// MaxPending bounds the queue of messages waiting for the token
// (MESSAGE_QUEUE_MAX in totem.h is 512 for udp/udpu builds).
const MaxPending = 512

// timer names the machine's timers; the order breaks ties between timers
// due at the same instant.
type timer uint8

const (
	tToken           timer = iota // token loss (and, in GATHER, the second consensus path)
	tTokenRetransmit              // resend the last token forwarded
	tHold                         // the representative's held token
	tJoin                         // join resend in GATHER
	tConsensus                    // give up waiting for agreement in GATHER
	tMerge                        // merge detect of an idle representative
	numTimers
)

// Logf is the injected logger; nil discards.
type Logf func(format string, args ...any)

// Machine is one node's Totem Single Ring Protocol: membership (GATHER,
// COMMIT, RECOVERY) and the ordered, reliable ring (OPERATIONAL). It is a
// pure state machine: Step feeds it, Ready reads what it wants done, Advance
// acknowledges. It reads no clock, owns no socket and starts no goroutine.
type Machine struct {
	cfg  Config
	logf Logf
	me   NodeID
	now  time.Duration

	state State

	timers [numTimers]struct {
		at    time.Duration
		armed bool
	}

	// membership
	ringID         RingID
	oldRingID      RingID
	tokenRingIDSeq uint64
	procList       []NodeID
	failedList     []NodeID
	membList       []NodeID // current ring
	newMembList    []NodeID // from the commit token
	transMembList  []NodeID
	deliverMemb    []NodeID
	consensus      map[NodeID]bool
	joinSeq        map[NodeID]uint64 // highest ring_seq seen in a join, per sender
	leftVoluntary  map[NodeID]bool
	commitToken    *wire.CommitToken
	failedToRecv   bool
	left           bool // Leave was stepped: the machine is finished

	// ordering
	myAru           uint32
	highSeqReceived uint32
	highDelivered   uint32
	lastReleased    uint32
	lastAru         uint32
	lastSeq         uint32
	seqUnchanged    int
	tokenSeq        uint32
	aruCount        int
	tokenHeld       bool
	retransFlgCount int
	setRetransFlg   bool
	installSeq      uint32
	rotationCounter int
	receivedFlg     bool
	highRingDeliv   uint32
	globalSeqno     uint32

	oldSaved          bool
	oldAru            uint32
	oldHighSeqRecv    uint32
	orfTokenDiscard   bool
	originatedOrf     bool
	mergeOutstanding  bool
	trc, pbl, cbl     uint32
	regular, recovery sortQueue
	pending           []Send
	pendingTrans      []Send // messages sent while waiting for TransAck
	waitingTransAck   bool
	retransQueue      []*wire.Mcast
	lastToken         wire.Message // saved copy of the token last forwarded

	ready Ready
	// persistent is the stored ring seq the driver last acknowledged.
	stats Stats
}

// Stats counts what the machine did; a driver exports them (corosync's
// runtime.totem.pg.mrp.srp.* keys).
type Stats struct {
	OrfTokenRx, OrfTokenTx     uint64
	McastRx, McastTx, McastRtx uint64
	JoinTx, CommitTokenTx      uint64
	GatherEntered              uint64
	CommitEntered              uint64
	RecoveryEntered            uint64
	OperationalEntered         uint64
	TokenLost                  uint64
	ConsensusTimeouts          uint64
	RxDropped                  uint64
}

// New returns a machine in state Down; Step it a Start to bring it up. cfg
// must already carry its defaults (Config.WithDefaults) and pass Validate.
func New(cfg Config, logf Logf) (*Machine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("totem.New: %w", err)
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	m := &Machine{
		cfg:           cfg,
		logf:          logf,
		me:            cfg.NodeID,
		consensus:     map[NodeID]bool{},
		joinSeq:       map[NodeID]uint64{},
		leftVoluntary: map[NodeID]bool{},
		receivedFlg:   true,
		regular:       newSortQueue(0),
		recovery:      newSortQueue(0),
		tokenSeq:      ^uint32(0), // SEQNO_START_TOKEN - 1
		// corosync starts waiting for the first sync's acknowledgement
		waitingTransAck: cfg.HoldUntilTransAck,
	}
	return m, nil
}

// ID returns the node id.
func (m *Machine) ID() NodeID { return m.me }

// State returns the membership state.
func (m *Machine) State() State { return m.state }

// RingID returns the current ring id.
func (m *Machine) RingID() RingID { return m.ringID }

// Members returns the current ring's members (sorted).
func (m *Machine) Members() []NodeID { return slices.Clone(m.membList) }

// Pending returns how many application messages wait for the token.
func (m *Machine) Pending() int { return len(m.pending) + len(m.pendingTrans) }

// queue returns the pending queue in use (totemsrp_mcast, orf_token_mcast):
// with Config.HoldUntilTransAck, the second queue between a regular
// configuration and TransAck.
func (m *Machine) queue() *[]Send {
	if m.waitingTransAck {
		return &m.pendingTrans
	}
	return &m.pending
}

// Stats returns the counters.
func (m *Machine) Stats() Stats { return m.stats }

// Ready returns the work accumulated since the last Advance. The slices stay
// valid until Advance.
func (m *Machine) Ready() Ready {
	r := m.ready
	r.State = m.state
	r.Deadline, r.HasDeadline = m.nextDeadline()
	return r
}

// HasReady reports whether Ready holds packets, events or a ring to persist.
func (m *Machine) HasReady() bool {
	return len(m.ready.Packets) > 0 || len(m.ready.Events) > 0 || m.ready.PersistRing != nil
}

// Advance acknowledges the last Ready: its packets were sent, its events
// handed up and its ring id stored.
func (m *Machine) Advance() { m.ready = Ready{} }

func (m *Machine) nextDeadline() (time.Duration, bool) {
	var at time.Duration
	found := false
	for i := range m.timers {
		t := &m.timers[i]
		if t.armed && (!found || t.at < at) {
			at, found = t.at, true
		}
	}
	return at, found
}

// Step advances virtual time to now, fires the timers due by then, and then
// processes in. now must not go backwards.
func (m *Machine) Step(now time.Duration, in Input) error {
	if now > m.now {
		m.now = now
	}
	m.fireTimers()
	switch in := in.(type) {
	case Start:
		if m.left {
			return ErrDown
		}
		m.start(in.RingSeq)
	case Receive:
		if m.state == Down || in.Msg == nil {
			return nil
		}
		m.receive(in.Msg)
	case Tick, nil:
	case Send:
		if m.state == Down {
			return ErrDown
		}
		q := m.queue()
		if len(*q) >= MaxPending {
			return ErrQueueFull
		}
		*q = append(*q, Send{Payload: in.Payload, Guarantee: in.Guarantee})
		// totemsrp_event_signal: new data wakes a held token.
		m.tokenHoldCancelSend()
	case TransAck:
		// totemsrp_trans_ack: the service sync of the new ring is done.
		// Whatever is still in the second queue goes out first, as
		// corosync drains that queue first.
		if m.waitingTransAck {
			m.waitingTransAck = false
			m.pending = append(m.pendingTrans, m.pending...)
			m.pendingTrans = nil
		}
	case Leave:
		if m.state != Down {
			m.leaveSend()
			m.left = true
			m.state = Down
			for i := range m.timers {
				m.timers[i].armed = false
			}
		}
	default:
		return fmt.Errorf("totem: unknown input %T", in)
	}
	return nil
}

// fireTimers runs every timer whose deadline has passed, earliest first.
// A handler may re-arm timers; the loop is bounded because a re-armed timer
// lies strictly in the future (every interval is positive).
func (m *Machine) fireTimers() {
	for range 4 * numTimers {
		best := -1
		for i := range m.timers {
			t := &m.timers[i]
			if t.armed && t.at <= m.now && (best < 0 || t.at < m.timers[best].at) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		m.timers[best].armed = false
		m.onTimer(timer(best))
	}
}

func (m *Machine) arm(t timer, d time.Duration) {
	m.timers[t].at = m.now + d
	m.timers[t].armed = true
}

func (m *Machine) cancel(t timer) { m.timers[t].armed = false }

func (m *Machine) onTimer(t timer) {
	if m.state == Down {
		return
	}
	switch t {
	case tToken:
		m.tokenTimeout()
	case tTokenRetransmit:
		// timer_function_token_retransmit_timeout
		if m.state != Gather {
			m.tokenRetransmit()
			m.arm(tTokenRetransmit, m.cfg.TokenRetransmit)
		}
	case tHold:
		// timer_function_token_hold_retransmit_timeout
		if m.state == Operational || m.state == Recovery {
			m.tokenRetransmit()
		}
	case tJoin:
		// memb_timer_function_state_gather
		if m.state == Gather || m.state == Commit {
			m.joinSend()
			m.arm(tJoin, m.cfg.Join)
		}
	case tConsensus:
		m.consensusTimeoutExpired()
	case tMerge:
		m.mergeOutstanding = false
		if m.state == Operational && m.ringID.Rep == m.me {
			m.send(0, &wire.MergeDetect{
				Header: wire.Header{NodeID: m.me},
				From:   wire.NodeAddr(m.me),
				RingID: m.ringID,
			}, true)
		}
	}
}

// tokenTimeout is timer_function_orf_token_timeout.
func (m *Machine) tokenTimeout() {
	switch m.state {
	case Operational:
		m.logf("A processor failed, forming new configuration: token timed out (%dms), waiting %dms for consensus.",
			m.cfg.Token/time.Millisecond, m.cfg.Consensus/time.Millisecond)
		m.stats.TokenLost++
		m.gatherEnter("token lost in OPERATIONAL")
	case Gather:
		m.consensusTimeoutExpired()
		m.gatherEnter("consensus timeout")
	case Commit:
		m.stats.TokenLost++
		m.gatherEnter("token lost in COMMIT")
	case Recovery:
		m.stats.TokenLost++
		m.recoveryTokenLoss()
		m.orfTokenDiscard = true
	}
}

func (m *Machine) send(to NodeID, msg wire.Message, flush bool) {
	m.ready.Packets = append(m.ready.Packets, Packet{To: to, Msg: msg, Flush: flush})
}

func (m *Machine) emit(e Event) { m.ready.Events = append(m.ready.Events, e) }

// start is main_iface_change_fn on the first interface-up event.
func (m *Machine) start(loadedSeq uint64) {
	if m.state != Down {
		return
	}
	// corosync increments the loaded seq so that a restarted
	// representative never forms a singleton ring with a used id.
	m.ringID = RingID{Rep: m.me, Seq: loadedSeq + 1}
	m.tokenRingIDSeq = m.ringID.Seq
	m.oldRingID = m.ringID
	m.logf("Created or loaded sequence id %s for this ring.", m.ringID)
	m.gatherEnter("interface change")
}

// --- set helpers over small node lists (order kept, as on the wire) ---

func contains(list []NodeID, n NodeID) bool { return slices.Contains(list, n) }

func merge(dst []NodeID, src ...NodeID) []NodeID {
	for _, n := range src {
		if !contains(dst, n) {
			dst = append(dst, n)
		}
	}
	return dst
}

func subtract(a, b []NodeID) []NodeID {
	var out []NodeID
	for _, n := range a {
		if !contains(b, n) {
			out = append(out, n)
		}
	}
	return out
}

func subset(sub, full []NodeID) bool {
	for _, n := range sub {
		if !contains(full, n) {
			return false
		}
	}
	return true
}

func setEqual(a, b []NodeID) bool {
	return len(a) == len(b) && subset(a, b) && subset(b, a)
}

func addrIDs(as []wire.Addr) []NodeID {
	out := make([]NodeID, len(as))
	for i, a := range as {
		out[i] = a.Node
	}
	return out
}

func idAddrs(ns []NodeID) []wire.Addr {
	out := make([]wire.Addr, len(ns))
	for i, n := range ns {
		out[i] = wire.NodeAddr(n)
	}
	return out
}

func sortedIDs(ns []NodeID) []NodeID {
	out := slices.Clone(ns)
	slices.Sort(out)
	return out
}

// --- GATHER ---

// gatherEnter is memb_state_gather_enter.
func (m *Machine) gatherEnter(why string) {
	m.orfTokenDiscard = true
	m.originatedOrf = false
	m.procList = merge(m.procList, m.me)
	m.joinSend()
	m.arm(tJoin, m.cfg.Join)
	m.arm(tConsensus, m.cfg.Consensus)
	m.cancel(tTokenRetransmit)
	m.cancel(tToken)
	m.cancel(tMerge)
	m.mergeOutstanding = false
	clear(m.consensus)
	m.consensus[m.me] = true
	m.logf("entering GATHER state from %s.", why)
	m.state = Gather
	m.stats.GatherEntered++
}

func (m *Machine) joinSend() {
	m.stats.JoinTx++
	m.send(0, &wire.Join{
		Header:  wire.Header{NodeID: m.me},
		From:    wire.NodeAddr(m.me),
		RingSeq: m.ringID.Seq,
		Proc:    idAddrs(m.procList),
		Failed:  idAddrs(m.failedList),
	}, true)
}

// leaveSend is memb_leave_message_send: a join from nodeid 0 whose proc
// list leaves me out and whose failed list ends with me.
func (m *Machine) leaveSend() {
	m.failedList = merge(m.failedList, m.me)
	active := subtract(m.procList, []NodeID{m.me})
	m.send(0, &wire.Join{
		Header:  wire.Header{NodeID: wire.LeaveNodeID},
		From:    wire.NodeAddr(m.me),
		RingSeq: m.ringID.Seq,
		Proc:    idAddrs(active),
		Failed:  idAddrs(m.failedList),
	}, true)
}

// consensusAgreed is memb_consensus_agreed.
func (m *Machine) consensusAgreed() bool {
	for _, n := range subtract(m.procList, m.failedList) {
		if !m.consensus[n] {
			return false
		}
	}
	return true
}

// consensusTimeoutExpired is memb_state_consensus_timeout_expired.
func (m *Machine) consensusTimeoutExpired() {
	m.stats.ConsensusTimeouts++
	if m.consensusAgreed() {
		clear(m.consensus)
		m.consensus[m.me] = true
		m.arm(tToken, m.cfg.Token)
		return
	}
	var none []NodeID
	for _, n := range m.procList {
		if !m.consensus[n] {
			none = append(none, n)
		}
	}
	m.failedList = merge(m.failedList, none...)
	m.gatherEnter("consensus timeout")
}

// lowestInConfig is memb_lowest_in_config: 3.x picks the lowest nodeid.
func (m *Machine) lowestInConfig() bool {
	memb := subtract(m.procList, m.failedList)
	if len(memb) == 0 {
		return false
	}
	return slices.Min(memb) == m.me
}

// joinProcess is memb_join_process.
func (m *Machine) joinProcess(j *wire.Join) {
	proc, failed := addrIDs(j.Proc), addrIDs(j.Failed)
	from := j.From.Node
	if j.IsLeave() && len(failed) > 0 {
		m.leftVoluntary[failed[len(failed)-1]] = true
	}
	gathered := false
	switch {
	case setEqual(proc, m.procList) && setEqual(failed, m.failedList):
		if !j.IsLeave() {
			m.consensus[from] = true
		}
		if m.consensusAgreed() && m.failedToRecv {
			// Everybody agreed that I failed to receive: form a ring of
			// my own, whatever the lists say.
			m.failedToRecv = false
			m.procList = []NodeID{m.me}
			m.failedList = nil
			m.commitTokenCreate()
			m.commitEnter()
			return
		}
		if m.consensusAgreed() && m.lowestInConfig() {
			m.commitTokenCreate()
			m.commitEnter()
			return
		}
	case subset(proc, m.procList) && subset(failed, m.failedList):
	case contains(m.failedList, from):
	default:
		np, nf := len(m.procList), len(m.failedList)
		m.procList = merge(m.procList, proc...)
		if contains(failed, m.me) {
			m.failedList = merge(m.failedList, from)
		} else if contains(m.membList, from) {
			if !contains(m.failedList, from) {
				m.failedList = merge(m.failedList, failed...)
			} else {
				m.failedList = merge(m.failedList, subtract(failed, m.membList)...)
			}
		}
		// Deviation: corosync re-enters GATHER here even when the join
		// taught it nothing (its failed list is not adopted because the
		// sender is not in our ring). Two such nodes then answer each
		// other's joins forever, each answer restarting the consensus
		// timer so that it never expires. We re-enter only on change;
		// the join timer still repeats our lists every join ms.
		if len(m.procList) != np || len(m.failedList) != nf || m.state != Gather {
			m.gatherEnter("merge during join")
			gathered = true
		}
	}
	if !gathered && m.state == Operational {
		m.gatherEnter("join during OPERATIONAL")
	}
}

func (m *Machine) handleJoin(j *wire.Join) {
	if j.RingSeq > m.tokenRingIDSeq {
		m.tokenRingIDSeq = j.RingSeq
	}
	from := j.From.Node
	// Deviation: a join that names us failed but is older than one
	// already seen from the same sender (a lower ring_seq: sent before the
	// sender's last ring change) is a reordered leftover of a finished
	// gather round; corosync acts on it and fails the sender back, in a
	// round where neither has failed the other. With out-of-phase rounds
	// the same pair can then exclude each other round after round
	// (simulator seed 105441, 15 nodes). Ignoring it costs nothing: if
	// the sender still holds us failed, consensus settles it. Joins that
	// do not name us failed (a restarted sender's, whose ring_seq went
	// back) are processed as usual.
	last, seen := m.joinSeq[from]
	if seen && j.RingSeq < last && contains(addrIDs(j.Failed), m.me) {
		m.stats.RxDropped++
		return
	}
	if !seen || j.RingSeq > last {
		m.joinSeq[from] = j.RingSeq
	}
	switch m.state {
	case Operational:
		// ignore_join_under_operational
		if contains(addrIDs(j.Failed), m.me) {
			return
		}
		if contains(m.membList, from) && j.RingSeq < m.ringID.Seq {
			return
		}
		m.joinProcess(j)
	case Gather:
		m.joinProcess(j)
	case Commit:
		if contains(m.newMembList, from) && j.RingSeq >= m.ringID.Seq {
			m.joinProcess(j)
			m.gatherEnter("join during COMMIT")
		}
	case Recovery:
		if contains(m.newMembList, from) && j.RingSeq >= m.ringID.Seq {
			m.joinProcess(j)
			m.recoveryTokenLoss()
			m.gatherEnter("join during RECOVERY")
		}
	}
}

// recoveryTokenLoss is memb_recovery_state_token_loss: put the old ring's
// receive state back so the next commit token reports it again.
func (m *Machine) recoveryTokenLoss() {
	m.myAru = m.oldAru
	m.highSeqReceived = m.oldHighSeqRecv
	m.gatherEnter("token lost in RECOVERY")
}

// foreign handles an mcast or merge detect from another ring.
func (m *Machine) foreign(from NodeID, why string) {
	switch m.state {
	case Operational:
		m.procList = merge(m.procList, from)
		m.gatherEnter(why + " in OPERATIONAL")
	case Gather:
		if !contains(m.procList, from) {
			m.procList = merge(m.procList, from)
			m.gatherEnter(why + " in GATHER")
		}
	default:
		m.stats.RxDropped++
	}
}

// --- COMMIT ---

// commitTokenCreate is memb_state_commit_token_create.
func (m *Machine) commitTokenCreate() {
	memb := sortedIDs(subtract(m.procList, m.failedList))
	m.commitToken = &wire.CommitToken{
		Header: wire.Header{NodeID: m.me},
		RingID: RingID{Rep: m.me, Seq: m.tokenRingIDSeq + 4},
		Addrs:  idAddrs(memb),
		Memb:   make([]wire.MembEntry, len(memb)),
	}
}

// commitEnter is memb_state_commit_enter followed by the commit token send.
func (m *Machine) commitEnter() {
	if !m.oldSaved {
		m.oldSaved = true
		m.oldRingID = m.ringID
		m.oldAru = m.myAru
		m.oldHighSeqRecv = m.highSeqReceived
	}
	m.commitTokenUpdate()
	m.cancel(tJoin)
	m.cancel(tConsensus)
	m.ringID = m.commitToken.RingID
	rid := m.ringID
	m.ready.PersistRing = &rid
	m.tokenRingIDSeq = m.ringID.Seq
	m.logf("entering COMMIT state.")
	m.state = Commit
	m.stats.CommitEntered++
	m.arm(tTokenRetransmit, m.cfg.TokenRetransmit)
	m.arm(tToken, m.cfg.Token)
	m.trc, m.pbl, m.cbl = 0, 0, 0
	// commit token goes to addr[memb_index % N]
	ct := m.commitToken
	target := ct.Addrs[int(ct.MembIndex)%len(ct.Addrs)].Node
	ct.TokenSeq++
	ct.NodeID = m.me
	m.stats.CommitTokenTx++
	m.sendToken(target, cloneCommit(ct))
	m.arm(tTokenRetransmit, m.cfg.TokenRetransmit)
}

// commitTokenUpdate is memb_state_commit_token_update: fill my entry.
func (m *Machine) commitTokenUpdate() {
	ct := m.commitToken
	m.newMembList = addrIDs(ct.Addrs)
	idx := int(ct.MembIndex)
	if idx >= len(ct.Memb) {
		return
	}
	m.receivedFlg = m.myAru == m.highSeqReceived
	e := &ct.Memb[idx]
	e.RingID = m.oldRingID
	e.Aru = m.oldAru
	e.HighDelivered = m.highDelivered
	e.ReceivedFlg = b2u(m.receivedFlg)
	high := e.Aru
	for i := 0; i <= idx; i++ {
		if ct.Memb[i].RingID == e.RingID && seqLT(high, ct.Memb[i].Aru) {
			high = ct.Memb[i].Aru
		}
	}
	for i := 0; i <= idx; i++ {
		if ct.Memb[i].RingID == e.RingID && seqLT(ct.Memb[i].Aru, high) {
			ct.Memb[i].ReceivedFlg = 0
			if i == idx {
				m.receivedFlg = false
			}
		}
	}
	ct.NodeID = m.me
	ct.MembIndex++
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func cloneCommit(c *wire.CommitToken) *wire.CommitToken {
	n := *c
	n.Addrs = slices.Clone(c.Addrs)
	n.Memb = slices.Clone(c.Memb)
	return &n
}

func cloneOrf(t *wire.OrfToken) *wire.OrfToken {
	n := *t
	n.RTR = slices.Clone(t.RTR)
	return &n
}

// sendToken sends a token and keeps a copy for the retransmit timer.
func (m *Machine) sendToken(to NodeID, tok wire.Message) {
	m.lastToken = tok
	m.send(to, tok, false)
}

// tokenRetransmit resends the saved token (token_retransmit).
func (m *Machine) tokenRetransmit() {
	if m.lastToken == nil {
		return
	}
	var c wire.Message
	switch t := m.lastToken.(type) {
	case *wire.OrfToken:
		c = cloneOrf(t)
	case *wire.CommitToken:
		c = cloneCommit(t)
	}
	m.send(m.successorOf(m.lastToken), c, false)
}

// successorOf returns where a saved token goes: the commit token's target
// or the ring successor.
func (m *Machine) successorOf(tok wire.Message) NodeID {
	if ct, ok := tok.(*wire.CommitToken); ok {
		return ct.Addrs[int(ct.MembIndex)%len(ct.Addrs)].Node
	}
	return m.successor()
}

// successor is the next member after me in the sorted ring (the token
// target set at COMMIT, unchanged through RECOVERY and OPERATIONAL).
func (m *Machine) successor() NodeID {
	list := m.newMembList
	for i, n := range list {
		if n == m.me {
			return list[(i+1)%len(list)]
		}
	}
	return m.me
}

func (m *Machine) handleCommitToken(ct *wire.CommitToken) {
	if len(ct.Addrs) == 0 || len(ct.Memb) != len(ct.Addrs) || int(ct.MembIndex) > len(ct.Addrs) {
		m.stats.RxDropped++
		return
	}
	switch m.state {
	case Gather:
		if setEqual(addrIDs(ct.Addrs), subtract(m.procList, m.failedList)) && ct.RingID.Seq > m.ringID.Seq {
			if int(ct.MembIndex) >= len(ct.Addrs) {
				m.stats.RxDropped++
				return
			}
			m.commitToken = cloneCommit(ct)
			m.commitEnter()
		}
	case Commit:
		if ct.RingID.Seq == m.ringID.Seq && int(ct.MembIndex) == len(ct.Addrs) {
			m.recoveryEnter(cloneCommit(ct))
		}
	case Recovery:
		if m.me == m.ringID.Rep && !m.originatedOrf {
			m.originatedOrf = true
			m.orfTokenSendInitial()
			m.arm(tToken, m.cfg.Token)
			m.arm(tTokenRetransmit, m.cfg.TokenRetransmit)
		}
	}
}

// --- RECOVERY ---

// recoveryEnter is memb_state_recovery_enter.
func (m *Machine) recoveryEnter(ct *wire.CommitToken) {
	m.logf("entering RECOVERY state.")
	m.orfTokenDiscard = false
	m.highRingDeliv = 0
	m.recovery.reinit(0)
	m.retransQueue = nil
	lowRingAru := m.oldHighSeqRecv

	// forward the full commit token once more: this second lap carries
	// everybody into RECOVERY.
	ct.TokenSeq++
	ct.NodeID = m.me
	m.stats.CommitTokenTx++
	m.sendToken(m.successor(), cloneCommit(ct))
	m.arm(tTokenRetransmit, m.cfg.TokenRetransmit)

	m.tokenSeq = ^uint32(0)

	// transitional membership: new members that were in my old ring and
	// report my old ring id.
	m.transMembList = nil
	for _, n := range m.membList {
		for i, a := range ct.Addrs {
			if a.Node == n {
				if ct.Memb[i].RingID == m.oldRingID {
					m.transMembList = append(m.transMembList, n)
				}
				break
			}
		}
	}
	localReceived := true
	for i, a := range ct.Addrs {
		if contains(m.transMembList, a.Node) && ct.Memb[i].ReceivedFlg == 0 {
			m.deliverMemb = slices.Clone(m.transMembList)
			localReceived = false
			break
		}
	}
	if !localReceived {
		for i, a := range ct.Addrs {
			if contains(m.deliverMemb, a.Node) && ct.Memb[i].RingID == m.oldRingID {
				if seqLT(ct.Memb[i].Aru, lowRingAru) {
					lowRingAru = ct.Memb[i].Aru
				}
				if seqLT(m.highRingDeliv, ct.Memb[i].HighDelivered) {
					m.highRingDeliv = ct.Memb[i].HighDelivered
				}
			}
		}
		n := 0
		for s := lowRingAru + 1; seqLTE(s, m.oldHighSeqRecv) && n < queueSize; s, n = s+1, n+1 {
			old := m.regular.get(s)
			if old == nil {
				continue
			}
			m.retransQueue = append(m.retransQueue, &wire.Mcast{
				Header:  wire.Header{Encapsulated: wire.Encapsulated, NodeID: m.me},
				From:    wire.NodeAddr(m.me),
				RingID:  m.ringID,
				Payload: m.encapsulate(old),
			})
		}
		m.logf("Originated %d messages in RECOVERY (%d..%d, queue head %d).", len(m.retransQueue), lowRingAru+1, m.oldHighSeqRecv, m.regular.head)
	}
	m.myAru = 0
	m.aruCount = 0
	m.seqUnchanged = 0
	m.highSeqReceived = 0
	m.installSeq = 0
	m.lastReleased = 0
	m.arm(tToken, m.cfg.Token)
	m.arm(tTokenRetransmit, m.cfg.TokenRetransmit)
	m.state = Recovery
	m.stats.RecoveryEntered++
}

// orfTokenSendInitial is orf_token_send_initial.
func (m *Machine) orfTokenSendInitial() {
	t := &wire.OrfToken{
		Header:  wire.Header{NodeID: m.me},
		Aru:     ^uint32(0),
		AruAddr: m.me,
		RingID:  m.ringID,
	}
	m.setRetransFlg = len(m.retransQueue) > 0
	t.RetransFlg = b2u(m.setRetransFlg)
	m.stats.OrfTokenTx++
	m.sendToken(m.successor(), t)
}

// --- OPERATIONAL ---

// operationalEnter is memb_state_operational_enter.
func (m *Machine) operationalEnter() {
	m.originatedOrf = false
	clear(m.consensus)
	m.oldSaved = false

	// move recovered old-ring messages into the regular queue
	for s := uint32(1); seqLTE(s, m.myAru) && s != 0; s++ {
		outer := m.recovery.get(s)
		if outer == nil || outer.Encapsulated != wire.Encapsulated {
			continue
		}
		inner, err := m.decapsulate(outer.Payload)
		if err != nil {
			m.stats.RxDropped++
			continue
		}
		if inner.RingID == m.oldRingID && m.regular.inRange(inner.Seq) && !m.regular.inUse(inner.Seq) {
			m.regular.add(inner.Seq, inner)
			if seqLT(m.oldHighSeqRecv, inner.Seq) {
				m.oldHighSeqRecv = inner.Seq
			}
		}
	}
	aruSave := m.myAru
	m.myAru = m.oldAru
	m.deliverToApp(false, m.oldHighSeqRecv, m.oldRingID)

	left := subtract(m.membList, m.transMembList)
	joined := subtract(m.newMembList, m.transMembList)
	m.membList = slices.Clone(m.newMembList)
	m.lastReleased = 0
	m.setRetransFlg = false

	var failed []NodeID
	for _, n := range left {
		if !m.leftVoluntary[n] {
			failed = append(failed, n)
		}
	}
	m.emit(ConfChange{Kind: Transitional, Ring: m.ringID, Members: slices.Clone(m.transMembList), Left: left, Failed: failed})
	// From here on new messages wait in a queue of their own until the
	// driver's service sync acknowledges the new ring (TransAck), so that
	// the sync messages of the new ring are ordered first.
	m.waitingTransAck = m.cfg.HoldUntilTransAck
	m.deliverToApp(true, m.oldHighSeqRecv, m.oldRingID)
	m.myAru = aruSave
	m.emit(ConfChange{Kind: Regular, Ring: m.ringID, Members: slices.Clone(m.newMembList), Joined: joined})

	m.regular.copyFrom(&m.recovery)
	m.lastAru = 0
	m.procList = slices.Clone(m.newMembList)
	m.failedList = nil

	// Skip the recovery copies in the (former recovery) queue: delivery of
	// the new ring starts after the highest seq held.
	i := m.highSeqReceived
	for i != 0 && !m.regular.inUse(i) {
		i--
	}
	m.highDelivered = i
	m.regular.release(m.highDelivered)
	m.lastReleased = m.highDelivered

	clear(m.leftVoluntary)
	m.logf("A new membership (%s) was formed. Members joined: %v left: %v", m.ringID, joined, left)
	if len(failed) > 0 {
		m.logf("Failed to receive the leave message. failed: %v", failed)
	}
	m.state = Operational
	m.stats.OperationalEntered++
	m.receivedFlg = true
	m.oldRingID = m.ringID
}

// deliverToApp is messages_deliver_to_app: hand up messages in seq order
// up to end; without skip it stops at the first gap, with skip it steps over
// gaps and over messages from outside the deliver membership.
func (m *Machine) deliverToApp(skip bool, end uint32, ring RingID) {
	base := m.highDelivered
	rng := end - base
	if rng >= queueSize {
		return
	}
	for i := uint32(1); i <= rng; i++ {
		s := base + i
		if !m.regular.inRange(s) {
			break
		}
		msg := m.regular.get(s)
		if msg == nil && !skip {
			break
		}
		m.highDelivered = s
		if msg == nil {
			continue
		}
		if skip && !contains(m.deliverMemb, msg.From.Node) {
			continue
		}
		m.emit(Deliver{From: msg.From.Node, Ring: msg.RingID, Seq: msg.Seq, Payload: msg.Payload})
	}
}

func (m *Machine) receive(msg wire.Message) {
	switch msg := msg.(type) {
	case *wire.OrfToken:
		m.stats.OrfTokenRx++
		m.handleOrfToken(cloneOrf(msg))
	case *wire.Mcast:
		m.stats.McastRx++
		m.handleMcast(msg)
	case *wire.MergeDetect:
		if msg.RingID != m.ringID {
			m.foreign(msg.From.Node, "merge")
		}
	case *wire.Join:
		m.handleJoin(msg)
	case *wire.CommitToken:
		m.handleCommitToken(msg)
	case *wire.TokenHoldCancel:
		if msg.RingID == m.ringID {
			m.seqUnchanged = 0
			if m.ringID.Rep == m.me && m.state != Gather {
				m.tokenRetransmit()
				m.arm(tTokenRetransmit, m.cfg.TokenRetransmit)
			}
		}
	default:
		m.stats.RxDropped++
	}
}

// handleMcast is message_handler_mcast.
func (m *Machine) handleMcast(mc *wire.Mcast) {
	if mc.RingID != m.ringID {
		m.foreign(mc.From.Node, "foreign message")
		return
	}
	q := &m.regular
	if mc.Encapsulated == wire.Encapsulated {
		q = &m.recovery
	} else if m.state == Recovery {
		// A new-ring message that overtook our own move to OPERATIONAL.
		// corosync would store it in the regular queue, which still holds
		// the old ring and is overwritten when recovery ends; we drop it
		// instead and let the retransmit request bring it back.
		m.stats.RxDropped++
		return
	}
	if q.inRange(mc.Seq) && !q.inUse(mc.Seq) {
		q.add(mc.Seq, mc)
		if seqLT(m.highSeqReceived, mc.Seq) {
			m.highSeqReceived = mc.Seq
		}
	}
	m.updateAru()
	if m.state == Operational {
		m.deliverToApp(false, m.highSeqReceived, m.ringID)
	}
}

func (m *Machine) activeQueue() *sortQueue {
	if m.state == Recovery {
		return &m.recovery
	}
	return &m.regular
}

// updateAru is update_aru.
func (m *Machine) updateAru() {
	q := m.activeQueue()
	rng := m.highSeqReceived - m.myAru
	if rng >= queueSize {
		return
	}
	base := m.myAru
	i := uint32(1)
	for ; i <= rng; i++ {
		if !q.inUse(base + i) {
			break
		}
	}
	m.myAru += i - 1
}

// messagesFree is messages_free.
func (m *Machine) messagesFree(tokenAru uint32) {
	releaseTo := tokenAru
	if seqLT(m.lastAru, releaseTo) {
		releaseTo = m.lastAru
	}
	if seqLT(m.highDelivered, releaseTo) {
		releaseTo = m.highDelivered
	}
	if seqLT(releaseTo, m.lastReleased) {
		return
	}
	if releaseTo-m.lastReleased >= queueSize {
		return
	}
	if releaseTo != m.lastReleased {
		m.regular.release(releaseTo)
	}
	m.lastReleased = releaseTo
}

func (m *Machine) backlog() uint32 {
	switch m.state {
	case Operational:
		return uint32(len(*m.queue()))
	case Recovery:
		return uint32(len(m.retransQueue))
	}
	return 0
}

// fccCalculate is fcc_calculate.
func (m *Machine) fccCalculate(t *wire.OrfToken) uint32 {
	allowed := uint32(m.cfg.MaxMessages)
	win := uint32(m.cfg.WindowSize)
	if t.FCC > win {
		allowed = 0
	} else if allowed > win-t.FCC {
		allowed = win - t.FCC
	}
	m.cbl = m.backlog()
	if d := t.Backlog + m.cbl - m.pbl; d != 0 {
		calc := win * m.pbl / d
		if calc > 0 && allowed > calc {
			allowed = calc
		}
	}
	return allowed
}

// orfTokenRTR is orf_token_rtr: answer retransmit requests, then add mine.
func (m *Machine) orfTokenRTR(t *wire.OrfToken, allowed *uint32) uint32 {
	q := m.activeQueue()
	var sent uint32
	kept := t.RTR[:0]
	for i, r := range t.RTR {
		if sent < *allowed && r.RingID == m.ringID {
			if msg := q.get(r.Seq); msg != nil && q.inRange(r.Seq) {
				m.send(0, msg, false)
				m.stats.McastRtx++
				sent++
				continue
			}
		}
		kept = append(kept, t.RTR[i])
	}
	t.RTR = kept
	*allowed -= sent

	rng := t.Seq - m.myAru
	if rng >= queueSize {
		return sent
	}
	for i := uint32(1); len(t.RTR) < wire.MaxRTR && i <= rng; i++ {
		s := m.myAru + i
		if !q.inRange(s) {
			break
		}
		if q.inUse(s) {
			continue
		}
		if q.missCount(s) < m.cfg.MissCountConst {
			continue
		}
		found := false
		for _, r := range t.RTR {
			if r.Seq == s {
				found = true
				break
			}
		}
		if !found {
			t.RTR = append(t.RTR, wire.RTRItem{RingID: m.ringID, Seq: s})
		}
	}
	return sent
}

// orfTokenMcast is orf_token_mcast: send up to allowed new messages.
func (m *Machine) orfTokenMcast(t *wire.OrfToken, allowed uint32) uint32 {
	var n uint32
	q := m.activeQueue()
	for ; n < allowed; n++ {
		var mc *wire.Mcast
		if m.state == Recovery {
			if len(m.retransQueue) == 0 {
				break
			}
			mc = m.retransQueue[0]
			m.retransQueue = m.retransQueue[1:]
		} else {
			q := m.queue()
			if len(*q) == 0 {
				break
			}
			p := (*q)[0]
			*q = (*q)[1:]
			mc = &wire.Mcast{
				Header:    wire.Header{Encapsulated: wire.NotEncapsulated, NodeID: m.me},
				From:      wire.NodeAddr(m.me),
				Guarantee: p.Guarantee,
				Payload:   p.Payload,
			}
		}
		t.Seq++
		mc.Seq = t.Seq
		mc.ThisSeqno = m.globalSeqno
		m.globalSeqno++
		mc.RingID = m.ringID
		q.add(mc.Seq, mc)
		m.send(0, mc, false)
		m.stats.McastTx++
		m.highSeqReceived = t.Seq
	}
	m.updateAru()
	return n
}

// handleOrfToken is message_handler_orf_token.
func (m *Machine) handleOrfToken(t *wire.OrfToken) {
	if m.orfTokenDiscard {
		return
	}
	if t.Seq == m.lastSeq {
		if !m.mergeOutstanding {
			m.arm(tMerge, m.cfg.Merge)
			m.mergeOutstanding = true
		}
		m.seqUnchanged++
	} else {
		m.cancel(tMerge)
		m.mergeOutstanding = false
		m.cancel(tHold)
		m.seqUnchanged = 0
	}
	m.lastSeq = t.Seq

	rep := m.ringID.Rep == m.me
	m.tokenHeld = false
	if rep && m.seqUnchanged > m.cfg.SeqnoUnchangedConst {
		m.tokenHeld = true
	} else if !rep && m.seqUnchanged >= m.cfg.SeqnoUnchangedConst {
		m.tokenHeld = true
	}
	forward := !(rep && m.tokenHeld)

	if m.state == Commit {
		return
	}
	if t.RingID != m.ringID {
		return
	}
	if seqLTE(t.TokenSeq, m.tokenSeq) {
		return
	}
	// Deviation: corosync frees before the two checks above. A token
	// retransmitted by the predecessor then carries the aru we already
	// took as "previous", and messages the rest of the ring never got
	// are released; a later recovery cannot resend them and two nodes
	// that move on together disagree on what the old ring delivered
	// (found by the simulator). Only a fresh token may free messages.
	if m.state == Operational {
		m.messagesFree(t.Aru)
	}
	lastAru := m.lastAru
	m.lastAru = t.Aru

	allowed := m.fccCalculate(t)
	remcast := m.orfTokenRTR(t, &allowed)
	if m.cfg.CancelTokenHoldOnRetransmit && m.tokenHeld && (len(t.RTR) > 0 || remcast > 0) {
		m.tokenHeld = false
		forward = true
	}
	// fcc_rtr_limit: never run further ahead of the release point than
	// the sort queue can hold.
	if seqLT(m.lastReleased+queueSize-allowed-uint32(m.cfg.WindowSize), t.Seq) {
		allowed = 0
	}
	regular := m.orfTokenMcast(t, allowed)

	// fcc_token_update
	sent := remcast + regular
	t.FCC += sent - m.trc
	t.Backlog += m.cbl - m.pbl
	m.trc = sent
	m.pbl = m.cbl

	if seqLT(m.myAru, t.Aru) || t.AruAddr == m.me || t.AruAddr == 0 {
		t.Aru = m.myAru
		if t.Aru == t.Seq {
			t.AruAddr = 0
		} else {
			t.AruAddr = m.me
		}
	}
	if t.Aru == lastAru && t.AruAddr != 0 {
		m.aruCount++
	} else {
		m.aruCount = 0
	}

	if m.aruCount > m.cfg.FailRecvConst && t.AruAddr == m.me {
		m.logf("FAILED TO RECEIVE")
		m.failedToRecv = true
		m.failedList = merge(m.failedList, m.me)
		m.gatherEnter("failed to receive")
		return
	}
	m.tokenSeq = t.TokenSeq
	t.TokenSeq++

	if m.state == Recovery {
		m.recoveryTokenStep(t)
	}

	t.NodeID = m.me
	m.lastToken = cloneOrf(t)
	if forward {
		m.stats.OrfTokenTx++
		m.send(m.successor(), t, false)
	}
	if m.state == Operational {
		m.deliverToApp(false, m.highSeqReceived, m.ringID)
	}
	m.arm(tToken, m.cfg.Token)
	m.arm(tTokenRetransmit, m.cfg.TokenRetransmit)
	if rep && m.tokenHeld {
		m.arm(tHold, m.cfg.Hold)
	}
}

// recoveryTokenStep is the RECOVERY part of the token handler: the
// retrans_flg handshake that decides when every member holds every old-ring
// message it can get, and the two extra rotations before OPERATIONAL.
func (m *Machine) recoveryTokenStep(t *wire.OrfToken) {
	if len(m.retransQueue) > 0 {
		if t.RetransFlg == 0 {
			t.RetransFlg = 1
			m.setRetransFlg = true
		}
	} else if t.RetransFlg == 1 && m.setRetransFlg {
		t.RetransFlg = 0
		m.setRetransFlg = false
	}
	if t.RetransFlg == 0 {
		m.retransFlgCount++
	} else {
		m.retransFlgCount = 0
	}
	if m.retransFlgCount == 2 {
		m.installSeq = t.Seq
	}
	if m.retransFlgCount >= 2 && !m.receivedFlg && seqLTE(m.installSeq, m.myAru) {
		m.receivedFlg = true
		m.deliverMemb = slices.Clone(m.transMembList)
	}
	if m.retransFlgCount >= 3 && seqLTE(m.installSeq, t.Aru) {
		m.rotationCounter++
	} else {
		m.rotationCounter = 0
	}
	if m.rotationCounter == 2 {
		m.operationalEnter()
		m.rotationCounter = 0
		m.retransFlgCount = 0
	}
}

// tokenHoldCancelSend is token_hold_cancel_send: only a node that marked
// the token held asks for it back.
func (m *Machine) tokenHoldCancelSend() {
	if !m.tokenHeld {
		return
	}
	m.tokenHeld = false
	m.send(0, &wire.TokenHoldCancel{Header: wire.Header{NodeID: m.me}, RingID: m.ringID}, true)
}
