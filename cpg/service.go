package cpg

import (
	"encoding/binary"
	"sync"

	"ringmaster/ipc"
)

// The library side of cpg (exec/cpg.c message_handler_req_lib_cpg_* and
// notify_lib_*, include/corosync/ipc_cpg.h at v3.1.7): the "cpg" IPC service
// libcpg clients (Pacemaker's daemons, corosync-cpgtool) talk to. Each
// connection is one cpd with corosync's four states:
//
//	UNJOINED --JOIN--> JOIN_STARTED --own join delivered--> JOIN_COMPLETED
//	JOIN_COMPLETED --LEAVE--> LEAVE_STARTED
//
// JOIN in any other state is refused (BUSY while leaving, EXIST otherwise), LEAVE
// is refused unless joined (BUSY while the join is under way), MCAST is accepted
// from JOIN_STARTED on. Like 3.1.7, a connection whose leave was delivered stays
// in LEAVE_STARTED (cpg.c resets it in a loop bounded by the joined list, which
// is empty for a leave), so it keeps its group's changes and cannot join again.

// Library request ids.
const (
	ReqJoin                = 0
	ReqLeave               = 1
	ReqMcast               = 2
	ReqMembership          = 3
	ReqLocalGet            = 4
	ReqIterationInitialize = 5
	ReqIterationNext       = 6
	ReqIterationFinalize   = 7
	ReqFinalize            = 8
	ReqZcAlloc             = 9
	ReqZcFree              = 10
	ReqZcExecute           = 11
	ReqPartialMcast        = 12
)

// Library response and event ids.
const (
	ResJoin                = 0
	ResLeave               = 1
	ResMcast               = 2
	ResMembership          = 3
	ResConfChg             = 4
	ResDeliver             = 5
	ResLocalGet            = 7
	ResIterationInitialize = 9
	ResIterationNext       = 10
	ResIterationFinalize   = 11
	ResFinalize            = 12
	ResTotemConfChg        = 13
	ResZcAlloc             = 14
	ResZcFree              = 15
	ResZcExecute           = 16
	ResPartialDeliver      = 17
	ResPartialSend         = 18
)

// Iteration types (cpg_iteration_type_t).
const (
	IterNameOnly = 1
	IterOneGroup = 2
	IterAll      = 3
)

// FlagDeliverInitialTotemConf is CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF, carried
// in JOIN's flags.
const FlagDeliverInitialTotemConf = 1

// cs_error_t values.
const (
	csOK           int32 = 1
	csLibrary      int32 = 2
	csTryAgain     int32 = 6
	csInvalidParam int32 = 7
	csNoMemory     int32 = 8
	csBusy         int32 = 10
	csNotExist     int32 = 12
	csNameTooLong  int32 = 13
	csExist        int32 = 14
	csNotSupported int32 = 19
	csNoSections   int32 = 27
)

// Library message sizes.
const (
	libJoinSize        = 168
	libLeaveSize       = 160
	libMembershipReq   = 152
	libIterInitReq     = 160
	libMcastHeader     = 40
	libPartialHeader   = 56
	membershipResSize  = 9248
	localGetResSize    = 32
	iterInitResSize    = 32
	iterNextResSize    = 168
	confchgFixed       = 184
	addressSize        = 24
	deliverFixed       = 184
	partialDeliverFix  = 200
	totemConfChgFixed  = 48
	maxIterationsPerCn = 1 << 12
)

type cpdState int

const (
	stateUnjoined cpdState = iota
	stateLeaveStarted
	stateJoinStarted
	stateJoinCompleted
)

// Peer is the part of an IPC connection the service talks to; *ipc.Conn is one.
type Peer interface {
	Respond(msg []byte) error
	SendEvent(msg []byte) error
}

type cpd struct {
	state          cpdState
	pid            uint32
	group          string
	flags          uint32
	initialTotem   bool
	finalized      bool
	iters          map[uint64]*iteration
	transitionSent uint64
}

type iteration struct {
	items []member
	pos   int
}

// ServiceOptions configures a Service.
type ServiceOptions struct {
	// Lock is the daemon's IPC lock; Apply and Run's functions take it.
	Lock   sync.Locker
	NodeID uint32
	// Run executes f with the machine on the goroutine that owns it, later and
	// in call order, without the Lock held, and afterwards multicasts the
	// Messages f left in the machine's Ready (then Advance).
	Run func(f func(m *Machine))
}

// Service is the "cpg" IPC service.
type Service struct {
	o      ServiceOptions
	conns  map[Peer]*cpd
	order  []Peer // connection order (cpg_pd_list), for deterministic events
	handle uint64

	totemRep     uint32
	totemSeq     uint64
	totemMembers []uint32
}

// NewService returns the service; o.Run is required.
func NewService(o ServiceOptions) *Service {
	if o.Lock == nil {
		o.Lock = new(sync.Mutex)
	}
	return &Service{o: o, conns: map[Peer]*cpd{}, handle: 0x6370670000000000}
}

// Accept implements ipc.Handler.
func (s *Service) Accept(c *ipc.Conn) error { s.accept(c); return nil }

// Request implements ipc.Handler.
func (s *Service) Request(c *ipc.Conn, msg []byte) { s.request(c, msg) }

// Closed implements ipc.Handler.
func (s *Service) Closed(c *ipc.Conn) { s.closed(c) }

func (s *Service) accept(p Peer) {
	s.conns[p] = &cpd{iters: map[uint64]*iteration{}}
	s.order = append(s.order, p)
}

// closed is cpg_lib_exit_fn: a process that goes away while in a group leaves
// it with reason PROCDOWN.
func (s *Service) closed(p Peer) {
	c, ok := s.conns[p]
	if !ok {
		return
	}
	delete(s.conns, p)
	for i, q := range s.order {
		if q == p {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	if c.group != "" && c.state != stateLeaveStarted && c.state != stateUnjoined && s.o.Run != nil {
		group, pid := c.group, c.pid
		s.o.Run(func(m *Machine) { m.Leave(group, pid, ReasonProcDown) })
	}
}

// readName reads a mar_cpg_name_t; ok is false when its length is impossible.
func readName(b []byte) (string, bool) {
	if len(b) < nameSize {
		return "", false
	}
	n := binary.LittleEndian.Uint32(b)
	if n > maxNameLen {
		return "", false
	}
	return string(b[8 : 8+n]), true
}

func resp(id, errCode int32) []byte { return ipc.NewResponse(id, errCode, 0) }

func (s *Service) request(p Peer, msg []byte) {
	c, ok := s.conns[p]
	h, err := ipc.ParseRequestHeader(msg)
	if !ok || err != nil {
		_ = p.Respond(resp(0, csInvalidParam))
		return
	}
	le := binary.LittleEndian
	switch h.ID {
	case ReqJoin:
		if len(msg) < libJoinSize {
			_ = p.Respond(resp(ResJoin, csInvalidParam))
			return
		}
		if le.Uint32(msg[16:]) > maxNameLen {
			_ = p.Respond(resp(ResJoin, csNameTooLong))
			return
		}
		group, _ := readName(msg[16:])
		pid, flags := le.Uint32(msg[152:]), le.Uint32(msg[160:])
		s.join(p, c, group, pid, flags)
	case ReqLeave:
		if len(msg) < libLeaveSize {
			_ = p.Respond(resp(ResLeave, csInvalidParam))
			return
		}
		group, ok := readName(msg[16:])
		if !ok {
			_ = p.Respond(resp(ResLeave, csInvalidParam))
			return
		}
		pid := le.Uint32(msg[152:])
		switch c.state {
		case stateUnjoined, stateLeaveStarted:
			_ = p.Respond(resp(ResLeave, csNotExist))
		case stateJoinStarted:
			_ = p.Respond(resp(ResLeave, csBusy))
		case stateJoinCompleted:
			c.state = stateLeaveStarted
			s.run(func(m *Machine) { m.Leave(group, pid, ReasonLeave) })
			_ = p.Respond(resp(ResLeave, csOK))
		}
	case ReqMcast:
		// No response, whatever happens (cpg.c sends none).
		if len(msg) < libMcastHeader {
			return
		}
		n := le.Uint32(msg[32:])
		if uint64(n) > uint64(len(msg)-libMcastHeader) {
			return
		}
		if c.state != stateJoinStarted && c.state != stateJoinCompleted {
			return
		}
		group, pid := c.group, c.pid
		data := append([]byte(nil), msg[libMcastHeader:libMcastHeader+int(n)]...)
		s.run(func(m *Machine) { m.Mcast(group, pid, data) })
	case ReqPartialMcast:
		if len(msg) < libPartialHeader {
			_ = p.Respond(resp(ResPartialSend, csInvalidParam))
			return
		}
		total, frag, typ := le.Uint32(msg[32:]), le.Uint32(msg[40:]), le.Uint32(msg[48:])
		if uint64(frag) > uint64(len(msg)-libPartialHeader) || typ < 1 || typ > 3 {
			_ = p.Respond(resp(ResPartialSend, csInvalidParam))
			return
		}
		if c.state != stateJoinStarted && c.state != stateJoinCompleted {
			_ = p.Respond(resp(ResPartialSend, csNotExist))
			return
		}
		group, pid, self := c.group, c.pid, s.o.NodeID
		data := append([]byte(nil), msg[libPartialHeader:libPartialHeader+int(frag)]...)
		s.run(func(m *Machine) {
			m.ready.Messages = append(m.ready.Messages, encodePartialMcast(group, pid, self, total, typ, data))
		})
		_ = p.Respond(resp(ResPartialSend, csOK))
	case ReqMembership:
		group, ok := "", len(msg) >= libMembershipReq
		if ok {
			group, ok = readName(msg[16:])
		}
		if !ok {
			_ = p.Respond(ipc.NewResponse(ResMembership, csInvalidParam, membershipResSize-ipc.ResponseHeaderSize))
			return
		}
		s.answer(p, func(m *Machine) []byte { return membershipResponse(m.Members(group)) })
	case ReqLocalGet:
		b := ipc.NewResponse(ResLocalGet, csOK, localGetResSize-ipc.ResponseHeaderSize)
		le.PutUint32(b[24:], s.o.NodeID)
		_ = p.Respond(b)
	case ReqIterationInitialize:
		if len(msg) < libIterInitReq {
			_ = p.Respond(ipc.NewResponse(ResIterationInitialize, csInvalidParam, iterInitResSize-ipc.ResponseHeaderSize))
			return
		}
		group, _ := readName(msg[16:])
		typ := le.Uint32(msg[152:])
		s.iterInit(p, c, group, typ)
	case ReqIterationNext:
		b := ipc.NewResponse(ResIterationNext, csOK, iterNextResSize-ipc.ResponseHeaderSize)
		var it *iteration
		if len(msg) >= 24 {
			it = c.iters[le.Uint64(msg[16:])]
		}
		switch {
		case it == nil:
			ipc.PutResponseHeader(b, ipc.ResponseHeader{ID: ResIterationNext, Size: iterNextResSize, Error: csLibrary})
		case it.pos >= len(it.items):
			ipc.PutResponseHeader(b, ipc.ResponseHeader{ID: ResIterationNext, Size: iterNextResSize, Error: csNoSections})
		default:
			e := it.items[it.pos]
			it.pos++
			putName(b[24:], e.group)
			le.PutUint32(b[160:], e.Node)
			le.PutUint32(b[164:], e.Pid)
		}
		_ = p.Respond(b)
	case ReqIterationFinalize:
		e := csLibrary
		if len(msg) >= 24 {
			if _, ok := c.iters[le.Uint64(msg[16:])]; ok {
				delete(c.iters, le.Uint64(msg[16:]))
				e = csOK
			}
		}
		_ = p.Respond(resp(ResIterationFinalize, e))
	case ReqFinalize:
		// The connection stops getting callbacks; its exit follows.
		c.finalized = true
		_ = p.Respond(resp(ResFinalize, csOK))
	case ReqZcAlloc, ReqZcFree, ReqZcExecute:
		// Zero-copy buffers (cpg_zcb_*) are not served: refuse cleanly rather
		// than mapping client-named files.
		_ = p.Respond(resp(ResZcAlloc+h.ID-ReqZcAlloc, csNotSupported))
	default:
		_ = p.Respond(resp(0, csInvalidParam))
	}
}

func (s *Service) run(f func(m *Machine)) {
	if s.o.Run != nil {
		s.o.Run(f)
	}
}

// answer responds to p with what f computes on the machine's goroutine.
func (s *Service) answer(p Peer, f func(m *Machine) []byte) {
	if s.o.Run == nil {
		_ = p.Respond(resp(0, csLibrary))
		return
	}
	s.o.Run(func(m *Machine) { _ = p.Respond(f(m)) })
}

// join is message_handler_req_lib_cpg_join; the process list check needs the
// machine, so the answer comes from Run.
func (s *Service) join(p Peer, c *cpd, group string, pid, flags uint32) {
	for _, o := range s.conns {
		if o.pid == pid && o.group == group && (o.state != stateUnjoined) {
			_ = p.Respond(resp(ResJoin, csExist))
			return
		}
	}
	switch c.state {
	case stateLeaveStarted:
		_ = p.Respond(resp(ResJoin, csBusy))
		return
	case stateJoinStarted, stateJoinCompleted:
		_ = p.Respond(resp(ResJoin, csExist))
		return
	}
	if s.o.Run == nil {
		_ = p.Respond(resp(ResJoin, csTryAgain))
		return
	}
	// Claim the slot now so a second JOIN queued behind this one is refused.
	c.state, c.pid, c.group, c.flags = stateJoinStarted, pid, group, flags
	self := s.o.NodeID
	s.o.Run(func(m *Machine) {
		// A leave of the same process not yet delivered: try again later.
		busy := m.find(group, pid, self) >= 0
		if !busy {
			m.Join(group, pid)
		}
		s.o.Lock.Lock()
		defer s.o.Lock.Unlock()
		if busy {
			if s.conns[p] == c {
				c.state, c.pid, c.group, c.flags = stateUnjoined, 0, "", 0
			}
			_ = p.Respond(resp(ResJoin, csTryAgain))
			return
		}
		_ = p.Respond(resp(ResJoin, csOK))
	})
}

// iterInit copies the process list grouped by name, the way cpg.c builds it:
// a group not yet in the copy goes to the front, a process of a group already
// there goes right after that group's first entry.
func (s *Service) iterInit(p Peer, c *cpd, group string, typ uint32) {
	if len(c.iters) >= maxIterationsPerCn {
		_ = p.Respond(ipc.NewResponse(ResIterationInitialize, csNoMemory, iterInitResSize-ipc.ResponseHeaderSize))
		return
	}
	s.answer(p, func(m *Machine) []byte {
		var items []member
		for _, pi := range m.procs {
			switch typ {
			case IterNameOnly:
				found := false
				for _, it := range items {
					if it.group == pi.group {
						found = true
						break
					}
				}
				if found {
					continue
				}
				pi.Process = Process{}
			case IterOneGroup:
				if pi.group != group {
					continue
				}
			}
			at := 0
			for i, it := range items {
				if it.group == pi.group {
					at = i + 1
					break
				}
			}
			items = append(items, member{})
			copy(items[at+1:], items[at:])
			items[at] = pi
		}
		s.o.Lock.Lock()
		defer s.o.Lock.Unlock()
		s.handle++
		h := s.handle
		c.iters[h] = &iteration{items: items}
		b := ipc.NewResponse(ResIterationInitialize, csOK, iterInitResSize-ipc.ResponseHeaderSize)
		binary.LittleEndian.PutUint64(b[24:], h)
		return b
	})
}

func membershipResponse(members []Process) []byte {
	b := ipc.NewResponse(ResMembership, csOK, membershipResSize-ipc.ResponseHeaderSize)
	if len(members) > maxNodes {
		members = members[:maxNodes]
	}
	binary.LittleEndian.PutUint32(b[24:], uint32(len(members)))
	for i, m := range members {
		off := 32 + addressSize*i
		binary.LittleEndian.PutUint32(b[off:], m.Node)
		binary.LittleEndian.PutUint32(b[off+8:], m.Pid)
	}
	return b
}

func encodePartialMcast(group string, pid, node, total, typ uint32, data []byte) []byte {
	b := newMsg(fnPartialMcast, partialHeader+len(data))
	putName(b[16:], group)
	le := binary.LittleEndian
	le.PutUint32(b[152:], total)
	le.PutUint32(b[160:], uint32(len(data)))
	le.PutUint32(b[168:], pid)
	le.PutUint32(b[176:], typ)
	le.PutUint32(b[184:], node)
	copy(b[partialHeader:], data)
	return b
}

// Apply hands the machine's output for local clients to their connections:
// configuration changes (notify_lib_joinlist), deliveries, and the totem
// membership. Call it on the machine's goroutine after a step, with rd from
// Ready, without the Lock held.
func (s *Service) Apply(rd Ready) {
	if len(rd.ConfChgs) == 0 && len(rd.Deliveries) == 0 && rd.Totem == nil {
		return
	}
	s.o.Lock.Lock()
	defer s.o.Lock.Unlock()
	// Changes, deliveries and the totem membership are interleaved in the
	// machine's order only within each kind; cpg.c sends a sync's changes
	// before its totem membership, and deliveries never share a step with
	// a sync.
	for _, cc := range rd.ConfChgs {
		s.confchg(cc)
	}
	for _, d := range rd.Deliveries {
		s.deliver(d)
	}
	if t := rd.Totem; t != nil {
		s.totemRep, s.totemSeq, s.totemMembers = t.RingRep, t.RingSeq, append([]uint32(nil), t.Members...)
		ev := s.totemEvent()
		for _, p := range s.order {
			if c := s.conns[p]; c != nil && !c.finalized {
				_ = p.SendEvent(ev)
			}
		}
	}
}

func (s *Service) confchg(cc ConfChg) {
	n := len(cc.Members) + len(cc.Left) + len(cc.Joined)
	b := ipc.NewResponse(ResConfChg, csOK, confchgFixed-ipc.ResponseHeaderSize+addressSize*n)
	le := binary.LittleEndian
	putName(b[24:], cc.Group)
	le.PutUint32(b[160:], uint32(len(cc.Members)))
	le.PutUint32(b[168:], uint32(len(cc.Joined)))
	le.PutUint32(b[176:], uint32(len(cc.Left)))
	off := confchgFixed
	put := func(a Address) {
		le.PutUint32(b[off:], a.Node)
		le.PutUint32(b[off+8:], a.Pid)
		le.PutUint32(b[off+16:], a.Reason)
		off += addressSize
	}
	for _, m := range cc.Members {
		put(Address{Node: m.Node, Pid: m.Pid, Reason: ReasonJoin})
	}
	for _, a := range cc.Left {
		put(a)
	}
	for _, a := range cc.Joined {
		put(a)
	}
	// Local processes in the joined list have completed their join.
	for _, a := range cc.Joined {
		if a.Node != s.o.NodeID {
			continue
		}
		for _, c := range s.conns {
			if c.pid == a.Pid && c.group == cc.Group && c.state == stateJoinStarted {
				c.state = stateJoinCompleted
			}
		}
	}
	for _, p := range s.order {
		c := s.conns[p]
		if c == nil || c.finalized || c.group != cc.Group {
			continue
		}
		if c.state == stateJoinCompleted || c.state == stateLeaveStarted {
			_ = p.SendEvent(b)
			c.transitionSent++
		}
	}
	// Model v1 clients that asked for it get the ring membership once, after
	// their first change.
	for _, p := range s.order {
		c := s.conns[p]
		if c != nil && c.flags&FlagDeliverInitialTotemConf != 0 && !c.initialTotem && !c.finalized {
			c.initialTotem = true
			_ = p.SendEvent(s.totemEvent())
		}
	}
}

func (s *Service) deliver(d Delivery) {
	var b []byte
	le := binary.LittleEndian
	if d.Partial {
		b = ipc.NewResponse(ResPartialDeliver, csOK, partialDeliverFix-ipc.ResponseHeaderSize+len(d.Data))
		putName(b[24:], d.Group)
		le.PutUint32(b[160:], d.TotalLen)
		le.PutUint32(b[168:], uint32(len(d.Data)))
		le.PutUint32(b[176:], d.From.Node)
		le.PutUint32(b[184:], d.From.Pid)
		le.PutUint32(b[192:], d.PartialType)
		copy(b[partialDeliverFix:], d.Data)
	} else {
		b = ipc.NewResponse(ResDeliver, csOK, deliverFixed-ipc.ResponseHeaderSize+len(d.Data))
		putName(b[24:], d.Group)
		le.PutUint32(b[160:], uint32(len(d.Data)))
		le.PutUint32(b[168:], d.From.Node)
		le.PutUint32(b[176:], d.From.Pid)
		copy(b[deliverFixed:], d.Data)
	}
	for _, p := range s.order {
		c := s.conns[p]
		if c == nil || c.finalized || c.group != d.Group {
			continue
		}
		if c.state == stateJoinCompleted || c.state == stateLeaveStarted {
			_ = p.SendEvent(b)
		}
	}
}

// totemEvent is TOTEM_CONFCHG: ring id, then the member ids from offset 44; the
// size corosync sends is sizeof the fixed part (48) plus the list.
func (s *Service) totemEvent() []byte {
	b := ipc.NewResponse(ResTotemConfChg, csOK, totemConfChgFixed-ipc.ResponseHeaderSize+4*len(s.totemMembers))
	le := binary.LittleEndian
	le.PutUint32(b[24:], s.totemRep)
	le.PutUint64(b[32:], s.totemSeq)
	le.PutUint32(b[40:], uint32(len(s.totemMembers)))
	for i, id := range s.totemMembers {
		le.PutUint32(b[44+4*i:], id)
	}
	return b
}
