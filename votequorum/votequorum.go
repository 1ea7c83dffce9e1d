// Package votequorum decides whether this node's partition is quorate, the way
// corosync's votequorum service does (exec/votequorum.c at v3.1.7): votes and
// expected votes per node exchanged in NODEINFO messages, quorum =
// max(⌊highest_expected/2⌋+1, ⌊total_votes/2⌋+1) that never decreases unless
// allowed, and the special modes two_node, wait_for_all, last_man_standing,
// auto_tie_breaker and allow_downscale.
//
// Machine is pure: the daemon feeds it the sync callbacks of a new membership,
// the votequorum messages delivered by the ring in agreed order, timer expiries
// and library requests, and acts on what Ready returns (messages to multicast,
// quorum changes, cmap keys to set, log lines, the next deadline). The quorum
// device (qdevice) is not supported yet: the qdevice node id 0 carries 0 votes, as
// on a cluster without one.
package votequorum

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NodeState is a node's state as GETINFO reports it.
type NodeState uint32

const (
	StateMember  NodeState = 1
	StateDead    NodeState = 2
	StateLeaving NodeState = 3
)

// Node flags carried in NODEINFO (exec/votequorum.c NODE_FLAGS_*).
const (
	FlagQuorate           uint32 = 1
	FlagLeaving           uint32 = 2
	FlagWFAStatus         uint32 = 4
	FlagFirst             uint32 = 8
	FlagQdeviceRegistered uint32 = 16
	FlagQdeviceAlive      uint32 = 32
	FlagQdeviceCastVote   uint32 = 64
	FlagQdeviceMasterWins uint32 = 128
)

// Info flags returned by GETINFO (include/corosync/votequorum.h VOTEQUORUM_INFO_*).
const (
	InfoTwoNode           uint32 = 1
	InfoQuorate           uint32 = 2
	InfoWaitForAll        uint32 = 4
	InfoLastManStanding   uint32 = 8
	InfoAutoTieBreaker    uint32 = 16
	InfoAllowDownscale    uint32 = 32
	InfoQdeviceRegistered uint32 = 64
	InfoQdeviceAlive      uint32 = 128
	InfoQdeviceCastVote   uint32 = 256
	InfoQdeviceMasterWins uint32 = 512
)

// QdeviceNodeID is the pseudo node id of the quorum device.
const QdeviceNodeID = 0

// ATB is the auto_tie_breaker mode (runtime.votequorum.atb_type).
type ATB uint32

const (
	ATBNone    ATB = 0
	ATBLowest  ATB = 1
	ATBHighest ATB = 2
	ATBList    ATB = 3
)

// DefaultLMSWindow is last_man_standing_window's default (votequorum.5).
const DefaultLMSWindow = 10 * time.Second

// Config is the quorum and nodelist configuration, as votequorum_readconfig reads
// it from cmap. Use ConfigFromKeys to build it from the key tree.
type Config struct {
	NodeID uint32
	// Nodelist holds every node's quorum_votes (0 means the default 1), in
	// nodelist order; LocalPos is this node's position (-1: not in the nodelist).
	Nodelist []NodeVotes
	LocalPos int

	ExpectedVotes         uint32 // quorum.expected_votes (0: from the nodelist)
	Votes                 uint32 // quorum.votes, used without a nodelist
	TwoNode               bool
	WaitForAll            *bool // nil: not configured, follows two_node
	LastManStanding       bool
	LMSWindow             time.Duration
	AutoTieBreaker        bool
	AutoTieBreakerNode    string // "lowest", "highest" or node ids; "" = lowest
	AllowDownscale        bool
	ExpectedVotesTracking bool
	// EVTrackingBarrier is the value of <state_dir>/ev_tracking, read by the
	// daemon at start when expected_votes_tracking (or allow_downscale) is on.
	EVTrackingBarrier uint32
	// QdeviceModel, if set, is refused: quorum devices are not supported yet.
	QdeviceModel string
}

// NodeVotes is one nodelist entry.
type NodeVotes struct {
	ID    uint32
	Votes uint32
}

type node struct {
	id       uint32
	state    NodeState
	votes    uint32
	expected uint32
	flags    uint32
}

// RingID identifies a membership (the representative's node id and a sequence).
type RingID struct {
	Rep uint32
	Seq uint64
}

// Machine is one node's votequorum.
type Machine struct {
	cfg Config

	us      *node
	qdevice *node
	nodes   []*node // every known node except the qdevice, ordered by id

	quorum        uint32
	quorate       bool
	twoNode       bool
	waitForAll    bool
	wfaAutoset    bool
	wfaStatus     bool
	lms           bool
	lmsWindow     time.Duration
	atb, atbInit  ATB
	atbList       []uint32
	allowDown     bool
	evTracking    bool
	evBarrier     uint32
	evTrackBarier uint32
	lowestID      uint32
	highestID     uint32

	members, prevMembers []uint32
	ring                 RingID
	syncInProgress       bool
	syncNodeinfoSent     bool

	now      time.Duration
	lmsAt    time.Duration // 0: timer not armed
	ready    Ready
	lastCmap map[string]uint64
}

// Ready is what the daemon must do after a Step: multicast Messages (in agreed
// order, service votequorum), apply Cmap updates under runtime.votequorum., log
// Logs, tell quorum listeners about Quorum (when non-nil), persist EVTracking
// (when non-nil) to <state_dir>/ev_tracking, and call Timer at Deadline (0: none).
type Ready struct {
	Messages   [][]byte
	Quorum     *QuorumChange
	Cmap       []CmapUpdate
	Logs       []Log
	EVTracking *uint32
	Deadline   time.Duration
}

// QuorumChange is the quorum callback of exec/vsf_quorum.c: the quorate state and
// the member list of the current ring.
type QuorumChange struct {
	Quorate bool
	Members []uint32
	Ring    RingID
}

// CmapUpdate is a runtime.votequorum.* key and its new value.
type CmapUpdate struct {
	Key   string
	Type  string // "u8" or "u32"
	Value uint64
}

// Log is a line for the daemon's log, under subsystem VOTEQ or QUORUM.
type Log struct {
	Subsys   string
	Priority string // "debug", "info", "notice", "warning", "crit"
	Text     string
}

// New reads cfg as votequorum_readconfig does at start-up and returns the machine
// with only this node known. Configuration errors are corosync's own messages.
func New(cfg Config) (*Machine, error) {
	if cfg.LMSWindow == 0 {
		cfg.LMSWindow = DefaultLMSWindow
	}
	m := &Machine{cfg: cfg, lastCmap: map[string]uint64{}}
	m.qdevice = &node{id: QdeviceNodeID}
	m.us = &node{id: cfg.NodeID, state: StateMember, votes: 1, flags: FlagFirst}
	m.nodes = []*node{m.us}
	m.setCmap("this_node_id", "u32", uint64(cfg.NodeID))
	if err := m.readConfig(); err != nil {
		return nil, err
	}
	m.recalculate(false, false)
	m.sendNodeinfo(m.us)
	return m, nil
}

func (m *Machine) readConfig() error {
	cfg := m.cfg
	haveNodelist := cfg.LocalPos >= 0 && len(cfg.Nodelist) > 0
	var nodeVotes, nodeExpected uint32
	if haveNodelist {
		for i, n := range cfg.Nodelist {
			v := n.Votes
			if v == 0 {
				v = 1
			}
			nodeExpected += v
			if i == cfg.LocalPos {
				nodeVotes = v
			}
		}
	}
	expected := cfg.ExpectedVotes
	if !haveNodelist && expected == 0 {
		return fmt.Errorf("configuration error: nodelist or quorum.expected_votes must be configured!")
	}
	if cfg.QdeviceModel != "" {
		if cfg.TwoNode {
			return fmt.Errorf("configuration error: two_node and quorum device cannot be configured at the same time!")
		}
		return fmt.Errorf("configuration error: quorum.device (model %s) is not supported by this votequorum", cfg.QdeviceModel)
	}
	m.twoNode = cfg.TwoNode
	m.allowDown = cfg.AllowDownscale
	if cfg.WaitForAll == nil {
		m.wfaAutoset = true
	} else {
		m.waitForAll = *cfg.WaitForAll
	}
	m.lms, m.lmsWindow = cfg.LastManStanding, cfg.LMSWindow
	m.evTracking = cfg.ExpectedVotesTracking
	if cfg.AutoTieBreaker {
		m.atb = ATBLowest
		if cfg.AutoTieBreakerNode != "" {
			m.parseATB(cfg.AutoTieBreakerNode)
		}
	} else if cfg.AutoTieBreakerNode != "" {
		m.log("VOTEQ", "warning", "auto_tie_breaker_node: is meaningless if auto_tie_breaker is set to 0")
	}
	m.setCmap("atb_type", "u32", uint64(m.atb))
	m.atbInit = m.atb
	if m.allowDown {
		m.evTracking = true
	}
	if m.evTracking {
		m.updateEVTrackingBarrier(cfg.EVTrackingBarrier)
	}
	if m.wfaAutoset {
		m.waitForAll = m.twoNode
	}
	if m.twoNode && m.atb != ATBNone {
		m.log("VOTEQ", "crit", "two_node and auto_tie_breaker are both specified but are not compatible.")
		m.log("VOTEQ", "crit", "two_node has been disabled, please fix your corosync.conf")
		m.twoNode = false
	}
	if m.atb != ATBNone && nodeExpected%2 == 1 && !m.waitForAll {
		if m.lms {
			return fmt.Errorf("configuration error: auto_tie_breaker & last_man_standing not available in odd sized cluster")
		}
		m.log("VOTEQ", "crit", "auto_tie_breaker is set and the cluster has an odd number of nodes.")
		m.log("VOTEQ", "crit", "wait_for_all needs to be set for this configuration but it is missing")
		m.log("VOTEQ", "crit", "Therefore auto_tie_breaker has been disabled. Please fix your corosync.conf")
		m.atb = ATBNone
		m.setCmap("atb_type", "u32", 0)
	}
	if m.evTracking {
		expected = m.evTrackBarier
	}
	if haveNodelist {
		m.us.votes, m.us.expected = nodeVotes, nodeExpected
	} else {
		m.us.votes = 1
		if cfg.Votes != 0 {
			m.us.votes = cfg.Votes
		}
	}
	if expected != 0 {
		m.us.expected = expected
	}
	m.qdevice.votes = 0
	m.updateEVBarrier(m.us.expected)
	m.setCmap("two_node", "u8", b2u(m.twoNode))
	if m.waitForAll {
		m.updateWFAStatus(true)
	}
	return nil
}

// parseATB reads auto_tie_breaker_node: "lowest", "highest" or node ids. Like
// corosync (which stops at the first non-number), a bad value disables ATB.
func (m *Machine) parseATB(s string) {
	m.atb = ATBNone
	switch s {
	case "lowest":
		m.atb = ATBLowest
	case "highest":
		m.atb = ATBHighest
	default:
		var list []uint32
		for _, f := range strings.Fields(s) {
			n, err := strconv.ParseUint(f, 10, 32)
			if err != nil || n == 0 {
				break
			}
			list = append(list, uint32(n))
		}
		if len(list) > 0 {
			m.atb, m.atbList = ATBList, list
		}
	}
	if m.atb == ATBNone {
		m.log("VOTEQ", "warning", "auto_tie_breaker_nodes is not valid. It must be 'lowest', 'highest' or a space-separated list of node IDs. auto_tie_breaker is disabled")
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Ready returns the accumulated output.
func (m *Machine) Ready() Ready { return m.ready }

// Advance clears the output after the daemon acted on it.
func (m *Machine) Advance() { m.ready = Ready{Deadline: m.ready.Deadline} }

func (m *Machine) log(subsys, prio, format string, args ...any) {
	m.ready.Logs = append(m.ready.Logs, Log{Subsys: subsys, Priority: prio, Text: fmt.Sprintf(format, args...)})
}

func (m *Machine) setCmap(key, typ string, v uint64) {
	if old, ok := m.lastCmap[key]; ok && old == v {
		return
	}
	m.lastCmap[key] = v
	m.ready.Cmap = append(m.ready.Cmap, CmapUpdate{Key: "runtime.votequorum." + key, Type: typ, Value: v})
}

func (m *Machine) find(id uint32) *node {
	if id == m.us.id {
		return m.us
	}
	if id == QdeviceNodeID {
		return m.qdevice
	}
	for _, n := range m.nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

func (m *Machine) allocate(id uint32) *node {
	n := &node{id: id}
	i := sort.Search(len(m.nodes), func(i int) bool { return m.nodes[i].id > id })
	m.nodes = append(m.nodes, nil)
	copy(m.nodes[i+1:], m.nodes[i:])
	m.nodes[i] = n
	return n
}

func (m *Machine) updateWFAStatus(on bool) {
	m.wfaStatus = on
	if on {
		m.us.flags |= FlagWFAStatus
	} else {
		m.us.flags &^= FlagWFAStatus
	}
	m.setCmap("wait_for_all_status", "u8", b2u(on))
}

func (m *Machine) updateEVBarrier(v uint32) {
	m.evBarrier = v
	m.setCmap("ev_barrier", "u32", uint64(v))
}

func (m *Machine) updateEVTrackingBarrier(v uint32) {
	m.evTrackBarier = v
	m.setCmap("ev_tracking_barrier", "u32", uint64(v))
	vv := v
	m.ready.EVTracking = &vv
}

// calculate is calculate_quorum: the quorum for the current members, optionally
// with maxExpected overriding the highest expected votes.
func (m *Machine) calculate(allowDecrease bool, maxExpected uint32) (quorum, total uint32) {
	if m.allowDown && allowDecrease && maxExpected != 0 {
		maxExpected = max(m.evBarrier, maxExpected)
	}
	var highest, nodes uint32
	for _, n := range m.nodes {
		if n.state == StateMember {
			highest = max(highest, n.expected)
			total += n.votes
			nodes++
		}
	}
	if m.us.flags&FlagQdeviceCastVote != 0 {
		total += m.qdevice.votes
		nodes++
	}
	if maxExpected > 0 {
		highest = maxExpected
	}
	quorum = max((highest+2)/2, (total+2)/2)
	if !allowDecrease {
		quorum = max(m.quorum, quorum)
	}
	if m.twoNode && nodes <= 2 {
		quorum = 1
	}
	return quorum, total
}

func (m *Machine) updateNodeExpected(v uint32) {
	if v == 0 {
		return
	}
	for _, n := range m.nodes {
		if n.state == StateMember {
			n.expected = v
		}
	}
}

// recalculate is recalculate_quorum.
func (m *Machine) recalculate(allowDecrease, byCurrentNodes bool) {
	var total, members uint32
	for _, n := range m.nodes {
		if n.state == StateMember {
			members++
			total += n.votes
		}
	}
	if m.qdevice.votes != 0 {
		total += m.qdevice.votes
		members++
	}
	if !byCurrentNodes {
		members = 0
	}
	if total > m.us.expected {
		m.us.expected = total
	}
	if m.evTracking && m.us.expected > m.evTrackBarier {
		m.updateEVTrackingBarrier(m.us.expected)
	}
	m.quorum, total = m.calculate(allowDecrease, members)
	m.setCmap("quorum", "u32", uint64(m.quorum))
	m.updateNodeExpected(members)
	m.areWeQuorate(total)
}

func (m *Machine) areWeQuorate(total uint32) {
	if m.waitForAll && m.wfaStatus {
		if total != m.us.expected {
			m.log("VOTEQ", "notice", "Waiting for all cluster members. Current votes: %d expected_votes: %d", total, m.us.expected)
			return
		}
		m.updateWFAStatus(false)
	}
	quorate := m.quorum <= total
	if quorate {
		m.lowestID, m.highestID = m.us.id, m.us.id
		for _, n := range m.nodes {
			if n.state == StateMember {
				m.lowestID = min(m.lowestID, n.id)
				m.highestID = max(m.highestID, n.id)
			}
		}
		m.setCmap("lowest_node_id", "u32", uint64(m.lowestID))
		m.setCmap("highest_node_id", "u32", uint64(m.highestID))
	}
	if m.atb != ATBNone && total == m.us.expected/2 &&
		int(len(m.prevMembers))-len(m.members) < int(m.quorum) && m.checkATB() {
		quorate = true
	}
	change := quorate != m.quorate
	m.quorate = quorate
	if quorate {
		m.us.flags |= FlagQuorate
	} else {
		m.us.flags &^= FlagQuorate
	}
	if m.waitForAll {
		m.updateWFAStatus(!quorate)
	}
	if change && !m.syncInProgress {
		m.notifyQuorum()
	}
}

func (m *Machine) memberHere(id uint32) bool {
	for _, n := range m.nodes {
		if n.state == StateMember && n.id == id {
			return true
		}
	}
	return false
}

func (m *Machine) checkATB() bool {
	switch m.atb {
	case ATBLowest:
		return m.memberHere(m.lowestID)
	case ATBHighest:
		return m.memberHere(m.highestID)
	}
	for i, id := range m.atbList {
		if contains(m.members, id) {
			for _, earlier := range m.atbList[:i] {
				if contains(m.prevMembers, earlier) {
					return false
				}
			}
			return true
		}
	}
	return false
}

func contains(list []uint32, id uint32) bool {
	for _, v := range list {
		if v == id {
			return true
		}
	}
	return false
}

// notifyQuorum is the quorum callback (exec/vsf_quorum.c quorum_api_set_quorum).
func (m *Machine) notifyQuorum() {
	members := append([]uint32(nil), m.members...)
	if len(members) == 0 {
		members = []uint32{m.us.id}
	}
	m.ready.Quorum = &QuorumChange{Quorate: m.quorate, Members: members, Ring: m.ring}
}

func (m *Machine) sendNodeinfo(n *node) {
	m.ready.Messages = append(m.ready.Messages, (&NodeInfo{NodeID: n.id, Votes: n.votes, ExpectedVotes: n.expected, Flags: n.flags}).Marshal())
}

// Quorate reports the current decision.
func (m *Machine) Quorate() bool { return m.quorate }

// SyncInit is the votequorum sync_init callback of a new membership.
func (m *Machine) SyncInit(members []uint32, ring RingID) {
	m.syncInProgress, m.syncNodeinfoSent = true, false
	if len(members) > 1 {
		m.us.flags &^= FlagFirst
	}
	left := false
	for _, id := range m.members {
		if !contains(members, id) {
			left = true
			if n := m.find(id); n != nil {
				n.state = StateDead
			}
		}
	}
	if m.lms {
		if (uint32(len(members)) >= m.quorum && left) ||
			(uint32(len(members)) <= m.quorum && m.atb != ATBNone && m.memberHere(m.lowestID)) {
			m.lmsAt = m.now + m.lmsWindow
			m.ready.Deadline = m.lmsAt
		}
	}
	m.prevMembers = m.members
	m.members = append([]uint32(nil), members...)
	m.ring = ring
}

// SyncProcess is the sync_process callback: it multicasts this node's NODEINFO
// (and the qdevice's) once, and reports that votequorum is done.
func (m *Machine) SyncProcess() (done bool) {
	if !m.syncNodeinfoSent {
		m.sendNodeinfo(m.us)
		m.sendNodeinfo(m.qdevice)
		m.syncNodeinfoSent = true
	}
	return true
}

// SyncActivate is the sync_activate callback: quorum is recalculated for the new
// membership and announced.
func (m *Machine) SyncActivate() {
	m.recalculate(false, false)
	m.notifyQuorum()
	m.syncInProgress = false
}

// Timer fires the last_man_standing timer when its deadline has passed.
func (m *Machine) Timer(now time.Duration) {
	m.now = now
	if m.lmsAt != 0 && now >= m.lmsAt {
		m.lmsAt = 0
		m.ready.Deadline = 0
		if m.quorate {
			m.recalculate(true, true)
		}
	}
}

// SetNow tells the machine the current monotonic time (for arming timers).
func (m *Machine) SetNow(now time.Duration) { m.now = now }

// Deliver handles a votequorum message multicast by sender, in agreed order.
// Malformed messages are refused with an error and change nothing.
func (m *Machine) Deliver(sender uint32, msg []byte) error {
	dec, err := Unmarshal(msg)
	if err != nil {
		return err
	}
	switch d := dec.(type) {
	case *NodeInfo:
		m.nodeinfo(sender, d)
	case *Reconfigure:
		m.reconfigure(d)
	}
	return nil
}

func (m *Machine) nodeinfo(sender uint32, ni *NodeInfo) {
	n := m.find(ni.NodeID)
	isNew := n == nil
	if isNew {
		n = m.allocate(ni.NodeID)
	}
	oldVotes, oldExpected, oldFlags, oldState := n.votes, n.expected, n.flags, n.state
	if isNew {
		oldVotes, oldExpected, oldFlags, oldState = 0, 0, 0, StateDead
	}
	allowDowngrade, byNode := false, false
	if ni.NodeID == QdeviceNodeID {
		s := m.find(sender)
		if !m.quorate && s != nil && s.flags&FlagQuorate != 0 {
			n.votes = ni.Votes
		} else {
			n.votes = max(n.votes, ni.Votes)
		}
	} else {
		n.flags, n.votes, n.state = ni.Flags, ni.Votes, StateMember
		if n.flags&FlagLeaving != 0 {
			n.state = StateLeaving
			allowDowngrade, byNode = true, true
		}
		if !m.quorate && n.flags&FlagQuorate != 0 {
			allowDowngrade = true
			m.us.expected = ni.ExpectedVotes
		}
		if n.flags&FlagQuorate != 0 || m.evTracking {
			n.expected = ni.ExpectedVotes
		} else {
			n.expected = m.us.expected
		}
		if m.lms && n.votes > 1 {
			m.log("VOTEQ", "warning", "Last Man Standing feature is supported only when allcluster nodes votes are set to 1. Disabling LMS.")
			m.lms, m.lmsAt = false, 0
		}
	}
	if isNew || ni.NodeID == m.us.id || n.flags&FlagFirst != 0 || oldVotes != n.votes ||
		oldExpected != n.expected || oldFlags != n.flags || oldState != n.state {
		m.recalculate(allowDowngrade, byNode)
	}
	if m.waitForAll && n.flags&FlagWFAStatus == 0 && n.flags&FlagQuorate != 0 {
		m.updateWFAStatus(false)
	}
}

func (m *Machine) reconfigure(r *Reconfigure) {
	switch r.Param {
	case ParamExpectedVotes:
		m.updateNodeExpected(r.Value)
		m.updateEVBarrier(r.Value)
		if m.evTracking {
			m.us.expected = max(m.us.expected, m.evTrackBarier)
		}
		m.recalculate(true, false)
	case ParamNodeVotes:
		if n := m.find(r.NodeID); n != nil {
			n.votes = r.Value
			m.recalculate(true, false)
		}
	case ParamCancelWFA:
		m.updateWFAStatus(false)
		m.log("VOTEQ", "info", "wait_for_all_status reset by user on node %d.", r.NodeID)
		m.recalculate(false, false)
	}
}

// ErrInvalidParam is CS_ERR_INVALID_PARAM for a library request.
var ErrInvalidParam = fmt.Errorf("CS_ERR_INVALID_PARAM")

// ErrNotFound is CS_ERR_NAME_NOT_FOUND / CS_ERR_NOT_EXIST.
var ErrNotFound = fmt.Errorf("CS_ERR_NOT_EXIST")

// SetExpected is the SETEXPECTED library request (corosync-quorumtool -e).
func (m *Machine) SetExpected(v uint32) error {
	saved := m.allowDown
	m.allowDown = false
	q, total := m.calculate(true, v)
	m.allowDown = saved
	if v < total || (m.quorate && q > total) {
		return ErrInvalidParam
	}
	m.updateNodeExpected(v)
	m.ready.Messages = append(m.ready.Messages, (&Reconfigure{NodeID: m.us.id, Value: v, Param: ParamExpectedVotes}).Marshal())
	return nil
}

// SetVotes is the SETVOTES library request (corosync-quorumtool -v).
func (m *Machine) SetVotes(nodeID, votes uint32) error {
	n := m.find(nodeID)
	if n == nil {
		return ErrNotFound
	}
	saved := n.votes
	n.votes = votes
	q, total := m.calculate(true, 0)
	n.votes = saved
	if q < total/2 || q > total {
		return ErrInvalidParam
	}
	m.ready.Messages = append(m.ready.Messages, (&Reconfigure{NodeID: nodeID, Value: votes, Param: ParamNodeVotes}).Marshal())
	return nil
}

// CancelWaitForAll multicasts the request that ends wait_for_all on every node
// (corosync-cmapctl -s quorum.cancel_wait_for_all u8 1).
func (m *Machine) CancelWaitForAll() {
	m.ready.Messages = append(m.ready.Messages, (&Reconfigure{NodeID: m.us.id, Param: ParamCancelWFA}).Marshal())
}

// Leave is called on clean shutdown: with allow_downscale the others are told
// this node is leaving so their quorum may shrink.
func (m *Machine) Leave() {
	if m.allowDown {
		m.us.flags |= FlagLeaving
		m.sendNodeinfo(m.us)
	}
}

// Info is the GETINFO answer for one node.
type Info struct {
	NodeID          uint32
	State           NodeState
	Votes           uint32
	ExpectedVotes   uint32
	HighestExpected uint32
	TotalVotes      uint32
	Quorum          uint32
	Flags           uint32
	QdeviceVotes    uint32
	QdeviceName     string
}

// GetInfo answers GETINFO for nodeID (0: this node).
func (m *Machine) GetInfo(nodeID uint32) (Info, error) {
	if nodeID == QdeviceNodeID {
		nodeID = m.us.id
	}
	n := m.find(nodeID)
	if n == nil {
		return Info{}, ErrNotFound
	}
	var highest, total uint32
	for _, x := range m.nodes {
		if x.state == StateMember {
			highest = max(highest, x.expected)
			total += x.votes
		}
	}
	if n.flags&FlagQdeviceCastVote != 0 {
		total += m.qdevice.votes
	}
	in := Info{NodeID: n.id, State: n.state, Votes: n.votes, ExpectedVotes: n.expected, HighestExpected: highest,
		TotalVotes: total, Quorum: m.quorum, QdeviceVotes: m.qdevice.votes}
	if m.twoNode {
		in.Flags |= InfoTwoNode
	}
	if m.quorate {
		in.Flags |= InfoQuorate
	}
	if m.waitForAll {
		in.Flags |= InfoWaitForAll
	}
	if m.lms {
		in.Flags |= InfoLastManStanding
	}
	if m.atb != ATBNone {
		in.Flags |= InfoAutoTieBreaker
	}
	if m.allowDown {
		in.Flags |= InfoAllowDownscale
	}
	return in, nil
}

// Members returns the current ring's members (the quorum view list).
func (m *Machine) Members() []uint32 { return append([]uint32(nil), m.members...) }

// Ring returns the ring id of the current membership.
func (m *Machine) Ring() RingID { return m.ring }

// MembersLog renders the quorum view the way exec/vsf_quorum.c logs it:
// "Members[3]: 1 2 3", cut into lines of at most 63 characters of ids with a
// trailing backslash on all but the last.
func MembersLog(members []uint32) []string {
	var lines []string
	i := 0
	for {
		var b strings.Builder
		for ; i < len(members); i++ {
			s := " " + strconv.FormatUint(uint64(members[i]), 10)
			if b.Len()+len(s) >= 64 {
				break
			}
			b.WriteString(s)
		}
		cont := ""
		if i < len(members) {
			cont = "\\"
		}
		lines = append(lines, fmt.Sprintf("Members[%d]:%s%s", len(members), b.String(), cont))
		if i >= len(members) {
			return lines
		}
	}
}

// NodeStatus is one known node and its state, as the library's quorum
// notification lists them (every node votequorum has heard of, by id).
type NodeStatus struct {
	ID    uint32
	State NodeState
}

// NodeStates lists every known node except the quorum device, ordered by id
// (cluster_members_list in votequorum_exec_send_quorum_notification).
func (m *Machine) NodeStates() []NodeStatus {
	out := make([]NodeStatus, 0, len(m.nodes))
	for _, n := range m.nodes {
		out = append(out, NodeStatus{ID: n.id, State: n.state})
	}
	return out
}
