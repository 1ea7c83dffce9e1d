// Package cpg is corosync's closed process groups (exec/cpg.c at v3.1.7): which
// process on which node belongs to which named group, kept identical on every node
// by messages in the ring's agreed order, with configuration-change callbacks for
// joins, leaves and node failures, and group messages delivered in that same order.
//
// Machine is the cluster-wide part ("exec" side) as a pure state machine: the
// daemon hands it the messages of service 2 as the ring delivers them and the sync
// callbacks of a new ring (it implements svcsync.Service), and local processes'
// join, leave and mcast requests; Ready returns the messages to multicast and the
// configuration changes and deliveries for local clients. The per-connection
// library side (libcpg's IPC) sits on top of it.
package cpg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// Reasons in configuration changes (CONFCHG_CPG_REASON_*).
const (
	ReasonJoin     uint32 = 1
	ReasonLeave    uint32 = 2
	ReasonNodeDown uint32 = 3
	ReasonNodeUp   uint32 = 4
	ReasonProcDown uint32 = 5
)

// Process is one member of a group: a process (pid) on a node.
type Process struct {
	Node uint32
	Pid  uint32
}

// Address is a member with the reason it appears in a change (mar_cpg_address_t).
type Address struct {
	Node   uint32
	Pid    uint32
	Reason uint32
}

type member struct {
	group string // the raw name bytes, as many as its length says
	Process
}

// ConfChg is a configuration change of one group, for local clients in it:
// Members after the change, and who joined and left.
type ConfChg struct {
	Group   string
	Members []Process
	Joined  []Address
	Left    []Address
}

// Delivery is a group message for local clients of Group.
type Delivery struct {
	Group string
	From  Process
	Data  []byte
	// Partial carries PARTIAL_MCAST fragments: the total length and the fragment
	// type (1 first, 2 continued, 3 last); zero for whole messages.
	Partial     bool
	TotalLen    uint32
	PartialType uint32
}

// TotemMembership is the ring membership reported to libcpg clients that track
// it (cpg_model_v1 totem_confchg).
type TotemMembership struct {
	RingRep uint32
	RingSeq uint64
	Members []uint32
}

// Ready is the output: Messages to multicast (service cpg, agreed order),
// ConfChgs and Deliveries for local clients, Totem when the ring membership
// changed, and Logs (subsystem CPG).
type Ready struct {
	Messages   [][]byte
	ConfChgs   []ConfChg
	Deliveries []Delivery
	Totem      *TotemMembership
	Logs       []string
}

type syncState int

const (
	syncDownlist syncState = iota
	syncJoinlist
)

// Machine is one node's view of every group.
type Machine struct {
	self uint32

	procs      []member // process_info_list, sorted by node then pid
	members    []uint32
	oldMembers []uint32
	downlist   []uint32
	sync       syncState
	joinlists  []joinlistEntry
	ringRep    uint32
	ringSeq    uint64

	ready Ready
}

type joinlistEntry struct {
	sender uint32
	pid    uint32
	group  string
}

// New returns the machine of node self.
func New(self uint32) *Machine { return &Machine{self: self} }

// Ready returns the accumulated output.
func (m *Machine) Ready() Ready { return m.ready }

// Advance clears the output.
func (m *Machine) Advance() { m.ready = Ready{} }

func (m *Machine) logf(format string, args ...any) {
	m.ready.Logs = append(m.ready.Logs, fmt.Sprintf(format, args...))
}

// Groups lists every group with its members, in name order.
func (m *Machine) Groups() map[string][]Process {
	out := map[string][]Process{}
	for _, p := range m.procs {
		out[p.group] = append(out[p.group], p.Process)
	}
	return out
}

// Members returns the members of one group, ordered by node and pid.
func (m *Machine) Members(group string) []Process {
	var out []Process
	for _, p := range m.procs {
		if p.group == group {
			out = append(out, p.Process)
		}
	}
	return out
}

// KnownIn reports whether any process of node is in group; corosync delivers a
// group message only from such a node.
func (m *Machine) KnownIn(node uint32, group string) bool {
	for _, p := range m.procs {
		if p.Node == node && p.group == group {
			return true
		}
	}
	return false
}

func (m *Machine) find(group string, pid, node uint32) int {
	for i, p := range m.procs {
		if p.Pid == pid && p.Node == node && p.group == group {
			return i
		}
	}
	return -1
}

// Local requests from processes on this node: they go through the ring and take
// effect when delivered, on every node in the same order.

// Join asks for pid to join group.
func (m *Machine) Join(group string, pid uint32) {
	m.ready.Messages = append(m.ready.Messages, encodeJoinLeave(fnProcJoin, group, pid, ReasonJoin))
}

// Leave asks for pid to leave group; reason is ReasonLeave, or ReasonProcDown when
// the process went away without leaving.
func (m *Machine) Leave(group string, pid, reason uint32) {
	m.ready.Messages = append(m.ready.Messages, encodeJoinLeave(fnProcLeave, group, pid, reason))
}

// Mcast sends data to group from pid.
func (m *Machine) Mcast(group string, pid uint32, data []byte) {
	m.ready.Messages = append(m.ready.Messages, encodeMcast(group, pid, m.self, data))
}

// Deliver handles a cpg message from node from, in agreed order. Malformed
// messages are refused with an error and change nothing.
func (m *Machine) Deliver(from uint32, msg []byte, foreign bool) error {
	dec, err := Unmarshal(msg, foreign)
	if err != nil {
		return err
	}
	switch d := dec.(type) {
	case *JoinLeave:
		if d.Fn == fnProcJoin {
			m.logf("got procjoin message from cluster node %d for pid %d", from, d.Pid)
			m.procJoin(d.Group, d.Pid, from, ReasonJoin, nil)
		} else {
			m.logf("got procleave message from cluster node %d for pid %d", from, d.Pid)
			m.procLeave(d.Group, d.Pid, from, d.Reason)
		}
	case *Joinlist:
		m.logf("got joinlist message from node %d", from)
		for _, e := range d.Entries {
			// Stored newest first, as corosync's list_add does.
			m.joinlists = append([]joinlistEntry{{sender: from, pid: e.Pid, group: e.Group}}, m.joinlists...)
		}
	case *Downlist:
		m.logf("downlist left_list: %d received", len(d.Left))
	case *McastMsg:
		m.ready.Deliveries = append(m.ready.Deliveries, Delivery{Group: d.Group, From: Process{Node: from, Pid: d.Pid}, Data: d.Data,
			Partial: d.Partial, TotalLen: d.MsgLen, PartialType: d.Type})
	}
	return nil
}

// procJoin is do_proc_join: insert in (node, pid) order and report the join, either
// at once or gathered per group (batch) for the sync's NODEUP change.
func (m *Machine) procJoin(group string, pid, node, reason uint32, batch map[string]*ConfChg) {
	if m.find(group, pid, node) >= 0 {
		return
	}
	i := sort.Search(len(m.procs), func(i int) bool {
		p := m.procs[i]
		return p.Node > node || (p.Node == node && p.Pid > pid)
	})
	m.procs = append(m.procs, member{})
	copy(m.procs[i+1:], m.procs[i:])
	m.procs[i] = member{group: group, Process: Process{Node: node, Pid: pid}}
	a := Address{Node: node, Pid: pid, Reason: reason}
	if batch == nil {
		m.confchg(group, []Address{a}, nil)
		return
	}
	c := batch[group]
	if c == nil {
		c = &ConfChg{Group: group}
		batch[group] = c
	}
	c.Joined = append(c.Joined, a)
}

// procLeave is do_proc_leave: report, then remove.
func (m *Machine) procLeave(group string, pid, node, reason uint32) {
	left := []Address{{Node: node, Pid: pid, Reason: reason}}
	if i := m.find(group, pid, node); i >= 0 {
		m.procs = append(m.procs[:i], m.procs[i+1:]...)
	}
	m.confchg(group, nil, left)
}

// confchg records a change for local clients with the group's members after it
// (notify_lib_joinlist computes the member list after applying the left list).
func (m *Machine) confchg(group string, joined, left []Address) {
	members := m.Members(group)
	if len(left) > 0 {
		var kept []Process
		for _, p := range members {
			gone := false
			for _, l := range left {
				if l.Node == p.Node && l.Pid == p.Pid {
					gone = true
				}
			}
			if !gone {
				kept = append(kept, p)
			}
		}
		members = kept
	}
	m.ready.ConfChgs = append(m.ready.ConfChgs, ConfChg{Group: group, Members: members, Joined: joined, Left: left})
}

// SyncInit is cpg_sync_init: the downlist is the old members missing from the
// transitional configuration.
func (m *Machine) SyncInit(trans, members []uint32, ring []byte) {
	m.sync = syncDownlist
	m.members = append([]uint32(nil), members...)
	if len(ring) >= 12 {
		m.ringRep = binary.LittleEndian.Uint32(ring)
		m.ringSeq = binary.LittleEndian.Uint64(ring[len(ring)-8:])
	}
	m.downlist = m.downlist[:0]
	for _, old := range m.oldMembers {
		found := false
		for _, t := range trans {
			if t == old {
				found = true
				break
			}
		}
		if !found {
			m.downlist = append(m.downlist, old)
		}
	}
}

// SyncProcess is cpg_sync_process: multicast the DOWNLIST, then the JOINLIST of
// this node's own processes (if it has any).
func (m *Machine) SyncProcess() bool {
	if m.sync == syncDownlist {
		m.ready.Messages = append(m.ready.Messages, encodeDownlist(uint32(len(m.oldMembers)), m.downlist))
		m.sync = syncJoinlist
	}
	var mine []JoinlistEntry
	for _, p := range m.procs {
		if p.Node == m.self {
			mine = append(mine, JoinlistEntry{Pid: p.Pid, Group: p.group})
		}
	}
	if len(mine) > 0 {
		m.ready.Messages = append(m.ready.Messages, encodeJoinlist(mine))
	}
	return true
}

// SyncActivate is cpg_sync_activate: apply the downlist, then the joinlists,
// remove processes no joinlist vouched for, and report the ring membership.
func (m *Machine) SyncActivate() {
	m.oldMembers = append([]uint32(nil), m.members...)
	m.downlistInform()
	m.joinlistInform()
	m.joinlists = nil
	m.ready.Totem = &TotemMembership{RingRep: m.ringRep, RingSeq: m.ringSeq, Members: append([]uint32(nil), m.members...)}
}

// SyncAbort is cpg_sync_abort.
func (m *Machine) SyncAbort() { m.joinlists = nil }

// downlistInform removes the processes of nodes that left and sends one NODEDOWN
// change per affected group, in group name order.
func (m *Machine) downlistInform() {
	m.logf("my downlist: members(old:%d left:%d)", len(m.oldMembers), len(m.downlist))
	changes := map[string]*ConfChg{}
	kept := m.procs[:0]
	for _, p := range m.procs {
		down := false
		for _, id := range m.downlist {
			if p.Node == id {
				down = true
				break
			}
		}
		if !down {
			kept = append(kept, p)
			continue
		}
		c := changes[p.group]
		if c == nil {
			c = &ConfChg{Group: p.group}
			changes[p.group] = c
		}
		c.Left = append(c.Left, Address{Node: p.Node, Pid: p.Pid, Reason: ReasonNodeDown})
	}
	m.procs = kept
	for _, g := range sortedGroups(changes) {
		c := changes[g]
		c.Members = m.Members(g)
		m.ready.ConfChgs = append(m.ready.ConfChgs, *c)
	}
}

// joinlistInform adds the processes other nodes announced (NODEUP, one change per
// group) and then drops remote processes that no joinlist mentioned: they left
// while this node could not hear it.
func (m *Machine) joinlistInform() {
	batch := map[string]*ConfChg{}
	for _, e := range m.joinlists {
		if e.sender == m.self {
			continue
		}
		m.procJoin(e.group, e.pid, e.sender, ReasonNodeUp, batch)
	}
	for _, g := range sortedGroups(batch) {
		c := batch[g]
		c.Members = m.Members(g)
		m.ready.ConfChgs = append(m.ready.ConfChgs, *c)
	}
	for i := 0; i < len(m.procs); {
		p := m.procs[i]
		vouched := p.Node == m.self
		for _, e := range m.joinlists {
			if e.sender != m.self && e.sender == p.Node && e.pid == p.Pid && e.group == p.group {
				vouched = true
				break
			}
		}
		if vouched {
			i++
			continue
		}
		m.procLeave(p.group, p.Pid, p.Node, ReasonProcDown)
	}
}

func sortedGroups(m map[string]*ConfChg) []string {
	var out []string
	for g := range m {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare([]byte(out[i]), []byte(out[j])) < 0 })
	return out
}
