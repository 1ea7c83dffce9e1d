// Package svcsync is corosync's service synchronisation (exec/sync.c at v3.1.7 and
// v2.4.6): after every new ring, before a node provides service again, every
// service with sync callbacks (cmap 0, cpg 2, quorum 3, votequorum 5) brings its
// state up to date across the members, one service at a time, separated by
// barriers. Real corosync peers finish synchronisation only when our node takes
// part in it exactly, so this is part of being in the ring at all.
//
// The protocol, over totempg group "sync" in agreed order (corosync-wire.md §5.2):
//
//  1. On a new regular configuration each node multicasts SERVICE_BUILD (its ring id
//     and the ids of its local sync services) and calls every local service's
//     sync_init with the transitional and regular member lists.
//  2. When SERVICE_BUILD from every member has arrived (ids unknown locally are
//     added as no-op services, the list kept sorted), processing starts with the
//     lowest id: its sync_process runs until it reports done, then the node
//     multicasts BARRIER; when BARRIER from every member has arrived the service is
//     activated and the next one starts.
//  3. After the last: "Completed service synchronization, ready to provide service."
//  4. A new membership aborts a running sync and zeroes the ring id, so that stale
//     barriers are ignored.
//
// Machine is pure and drives the services' callbacks synchronously; the daemon
// multicasts what Ready returns and calls Process when a service asked to be
// polled again.
package svcsync

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Service is one corosync service's sync callbacks.
type Service interface {
	// SyncInit starts synchronisation for a new ring.
	SyncInit(trans, members []uint32, ring []byte)
	// SyncProcess does (more of) the service's work, usually multicasting its
	// state; it returns false to be called again later.
	SyncProcess() (done bool)
	// SyncActivate makes the synchronised state current.
	SyncActivate()
	// SyncAbort is called when a new membership interrupts the service's sync.
	SyncAbort()
}

// Entry registers a local service under its corosync service id.
type Entry struct {
	ID      int
	Name    string
	Service Service
}

// Message ids in group "sync" (no service shift).
const (
	msgBarrier      = 0
	msgServiceBuild = 1
)

// maxServices is SERVICES_COUNT_MAX: SERVICE_BUILD always carries 128 slots.
const maxServices = 128

type state int

const (
	stateBarrier state = iota // idle, or waiting for barriers
	stateServiceListBuild
	stateProcess
)

type entry struct {
	id       int
	name     string
	svc      Service // nil for services only other nodes have
	activate bool
}

// Machine is one node's sync state.
type Machine struct {
	local []Entry

	state   state
	ring    []byte // encoded memb_ring_id of the ring being synchronised; nil after abort
	members []uint32
	trans   []uint32
	got     map[uint32]bool
	list    []entry
	idx     int

	ready Ready
}

// Ready is the output of a step: Messages to multicast to group "sync" in agreed
// order, Logs, and Completed once every service has been activated for the ring.
type Ready struct {
	Messages  [][]byte
	Logs      []string
	Completed bool
	// Pending is true while the current service's SyncProcess asked to be polled
	// again: the daemon should call Process soon (corosync's schedwrk does so
	// whenever the main loop is idle).
	Pending bool
}

// New returns a machine for the given local services.
func New(local ...Entry) *Machine {
	l := append([]Entry(nil), local...)
	sort.Slice(l, func(i, j int) bool { return l[i].ID < l[j].ID })
	return &Machine{local: l, state: stateBarrier}
}

// Ready returns what accumulated since the last Advance.
func (m *Machine) Ready() Ready { return m.ready }

// Advance clears the output.
func (m *Machine) Advance() { m.ready = Ready{Pending: m.ready.Pending} }

func (m *Machine) logf(format string, args ...any) {
	m.ready.Logs = append(m.ready.Logs, fmt.Sprintf(format, args...))
}

// SaveTransitional records the transitional configuration's members, delivered
// just before the regular one (sync_save_transitional).
func (m *Machine) SaveTransitional(members []uint32) {
	m.trans = append([]uint32(nil), members...)
}

// Start begins synchronisation of a new regular configuration. ring is the ring
// id as it is encoded in the framing in use (12 bytes in 3.x, 30 in 2.x); it is
// compared byte-wise, as corosync does.
func (m *Machine) Start(members []uint32, ring []byte) {
	m.ring = append([]byte(nil), ring...)
	m.state = stateServiceListBuild
	m.members = append([]uint32(nil), members...)
	m.got = map[uint32]bool{}
	m.idx = 0
	m.list = m.list[:0]
	m.ready.Pending = false
	var ids []int32
	for _, e := range m.local {
		m.list = append(m.list, entry{id: e.ID, name: e.Name, svc: e.Service})
		ids = append(ids, int32(e.ID))
	}
	m.ready.Messages = append(m.ready.Messages, m.encodeServiceBuild(ids))
	m.logf("call init for locally known services")
	// The transitional list handed to sync_init is the saved one restricted to
	// the new members, in its own order.
	var trans []uint32
	for _, t := range m.trans {
		for _, id := range members {
			if t == id {
				trans = append(trans, t)
				break
			}
		}
	}
	m.trans = trans
	for _, e := range m.list {
		e.svc.SyncInit(trans, m.members, m.ring)
	}
}

// Abort stops a running sync because a new membership is forming.
func (m *Machine) Abort() {
	if m.state == stateProcess && m.idx < len(m.list) && m.list[m.idx].svc != nil {
		m.list[m.idx].svc.SyncAbort()
	}
	m.ready.Pending = false
	m.ring = nil
}

// ErrMessage reports a sync message that cannot be decoded.
var ErrMessage = errors.New("svcsync: bad message")

// Deliver handles a message of group "sync" from node `from`, in agreed order.
func (m *Machine) Deliver(from uint32, msg []byte) error {
	if len(msg) < 16 {
		return fmt.Errorf("%w: %d bytes", ErrMessage, len(msg))
	}
	id := binary.LittleEndian.Uint32(msg[0:])
	ringEnd := 16 + len(m.ring)
	switch id {
	case msgBarrier:
		if m.ring == nil || len(msg) < ringEnd || !bytes.Equal(msg[16:ringEnd], m.ring) {
			m.logf("barrier for old ring - discarding")
			return nil
		}
		m.barrier(from)
	case msgServiceBuild:
		entriesAt := align8(ringEnd)
		if m.ring == nil || len(msg) < ringEnd || !bytes.Equal(msg[16:ringEnd], m.ring) {
			m.logf("service build for old ring - discarding")
			return nil
		}
		if len(msg) < entriesAt+8 {
			return fmt.Errorf("%w: SERVICE_BUILD of %d bytes", ErrMessage, len(msg))
		}
		n := int(int32(binary.LittleEndian.Uint32(msg[entriesAt:])))
		listAt := entriesAt + 8
		if n < 0 || n > maxServices || len(msg) < listAt+4*n {
			return fmt.Errorf("%w: SERVICE_BUILD with %d services in %d bytes", ErrMessage, n, len(msg))
		}
		var ids []int
		for i := 0; i < n; i++ {
			ids = append(ids, int(int32(binary.LittleEndian.Uint32(msg[listAt+4*i:]))))
		}
		m.serviceBuild(from, ids)
	default:
		return fmt.Errorf("%w: id %d", ErrMessage, id)
	}
	return nil
}

func (m *Machine) serviceBuild(from uint32, ids []int) {
	added := false
	for _, id := range ids {
		found := false
		for _, e := range m.list {
			if e.id == id {
				found = true
				break
			}
		}
		if !found {
			m.list = append(m.list, entry{id: id, name: fmt.Sprintf("Unknown External Service (id = %d)\n", id)})
			added = true
		}
	}
	if added {
		sort.SliceStable(m.list, func(i, j int) bool { return m.list[i].id < m.list[j].id })
	}
	if !m.mark(from) {
		return
	}
	m.logf("enter sync process")
	m.processEnter()
}

// mark records a message from a member and reports whether all members have sent.
func (m *Machine) mark(from uint32) bool {
	for _, id := range m.members {
		if id == from {
			m.got[id] = true
		}
	}
	for _, id := range m.members {
		if !m.got[id] {
			return false
		}
	}
	return true
}

func (m *Machine) barrier(from uint32) {
	if !m.mark(from) || m.idx >= len(m.list) {
		return
	}
	e := &m.list[m.idx]
	m.logf("Committing synchronization for %s", e.name)
	e.activate = true
	if e.svc != nil {
		e.svc.SyncActivate()
	}
	m.idx++
	if m.idx == len(m.list) {
		m.state = stateBarrier
		m.ready.Completed = true
		return
	}
	m.processEnter()
}

func (m *Machine) processEnter() {
	m.state = stateProcess
	if len(m.list) == 0 {
		m.state = stateServiceListBuild
		m.ready.Completed = true
		return
	}
	m.got = map[uint32]bool{}
	m.Process()
}

// Process runs the current service's sync_process; when it is done, this node's
// BARRIER for it is multicast. The daemon calls it again while Ready().Pending.
func (m *Machine) Process() {
	if m.state != stateProcess || m.idx >= len(m.list) {
		m.ready.Pending = false
		return
	}
	e := &m.list[m.idx]
	done := true
	if e.svc != nil && !e.activate {
		done = e.svc.SyncProcess()
	}
	m.ready.Pending = !done
	if done {
		m.state = stateBarrier
		m.ready.Messages = append(m.ready.Messages, m.encodeBarrier())
	}
}

func align8(n int) int { return (n + 7) &^ 7 }

func (m *Machine) header(id uint32, size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b[0:], id)
	binary.LittleEndian.PutUint32(b[8:], uint32(size))
	copy(b[16:], m.ring)
	return b
}

// encodeServiceBuild builds SERVICE_BUILD: header, ring id, entry count at the next
// 8-byte boundary, then all 128 slots (552 bytes in 3.x, 568 in 2.x).
func (m *Machine) encodeServiceBuild(ids []int32) []byte {
	entriesAt := align8(16 + len(m.ring))
	b := m.header(msgServiceBuild, entriesAt+8+4*maxServices)
	binary.LittleEndian.PutUint32(b[entriesAt:], uint32(len(ids)))
	for i, id := range ids {
		binary.LittleEndian.PutUint32(b[entriesAt+8+4*i:], uint32(id))
	}
	return b
}

// encodeBarrier builds BARRIER: header and ring id (32 bytes in 3.x, 48 in 2.x).
func (m *Machine) encodeBarrier() []byte {
	return m.header(msgBarrier, align8(16+len(m.ring)))
}
