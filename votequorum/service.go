package votequorum

import (
	"encoding/binary"
	"sync"

	"ringmaster/ipc"
)

// The library side of votequorum (exec/votequorum.c message_handler_req_lib_*,
// include/corosync/ipc_votequorum.h at v3.1.7): the "votequorum" IPC service
// that libvotequorum clients such as corosync-quorumtool talk to.

// Library request ids.
const (
	ReqGetInfo           = 0
	ReqSetExpected       = 1
	ReqSetVotes          = 2
	ReqTrackStart        = 3
	ReqTrackStop         = 4
	ReqQdeviceRegister   = 5
	ReqQdeviceUnregister = 6
	ReqQdeviceUpdate     = 7
	ReqQdevicePoll       = 8
	ReqQdeviceMasterWins = 9
)

// Library response and event ids.
const (
	ResStatus               = 0
	ResGetInfo              = 1
	ResQuorumNotification   = 3
	ResExpectedVotesNotify  = 4
	ResNodelistNotification = 5
)

// cs_error_t values used here (include/corosync/corotypes.h).
const (
	csOK           = 1
	csInvalidParam = 7
	csAccess       = 11
	csNotExist     = 12
	csExist        = 14
	csNameNotFound = 17
)

// Track flags (CS_TRACK_*).
const (
	TrackCurrent     = 1
	TrackChanges     = 2
	TrackChangesOnly = 4
)

// Sizes of the fixed library messages.
const (
	getInfoResSize     = 320
	qdeviceNameMax     = 255
	quorumNotifyFixed  = 48
	nodelistFixed      = 56
	expectedNotifySize = 40
)

// Peer is the part of an IPC connection the service talks to; *ipc.Conn is one.
type Peer interface {
	Respond(msg []byte) error
	SendEvent(msg []byte) error
}

// ServiceOptions configures a Service.
type ServiceOptions struct {
	// Lock is the daemon's IPC lock (ipc.ServerOptions.Lock); handler calls come
	// with it held, and the service takes it when Run's functions answer.
	Lock sync.Locker
	// Run executes f with the machine on the goroutine that owns it, later and
	// in call order, without the Lock held. The service never touches the
	// machine outside f.
	Run func(f func(m *Machine))
}

// Service is the "votequorum" IPC service. The daemon calls Apply after every
// step of the machine that produced a quorum decision.
type Service struct {
	lock  sync.Locker
	run   func(func(*Machine))
	conns map[Peer]*vqConn

	// What trackers were last told, to send only changes.
	lastRing     RingID
	lastExpected uint32
}

type vqConn struct {
	tracking bool
	context  uint64
}

// NewService returns the service; o.Run is required.
func NewService(o ServiceOptions) *Service {
	if o.Lock == nil {
		o.Lock = new(sync.Mutex)
	}
	return &Service{lock: o.Lock, run: o.Run, conns: map[Peer]*vqConn{}}
}

// Accept implements ipc.Handler.
func (s *Service) Accept(c *ipc.Conn) error { s.accept(c); return nil }

// Request implements ipc.Handler.
func (s *Service) Request(c *ipc.Conn, msg []byte) { s.request(c, msg) }

// Closed implements ipc.Handler.
func (s *Service) Closed(c *ipc.Conn) { delete(s.conns, c) }

func (s *Service) accept(p Peer) { s.conns[p] = &vqConn{} }

func status(errCode int32) []byte { return ipc.NewResponse(ResStatus, errCode, 0) }

// request handles one library request; the caller holds the lock. Requests that
// need the machine are answered from Run's goroutine.
func (s *Service) request(p Peer, msg []byte) {
	vc, ok := s.conns[p]
	h, err := ipc.ParseRequestHeader(msg)
	if !ok || err != nil {
		// corosync answers what it cannot dispatch with a bare header,
		// CS_ERR_INVALID_PARAM.
		_ = p.Respond(ipc.NewResponse(0, csInvalidParam, 0))
		return
	}
	u32 := func(off int) (uint32, bool) {
		if len(msg) < off+4 {
			return 0, false
		}
		return binary.LittleEndian.Uint32(msg[off:]), true
	}
	switch h.ID {
	case ReqGetInfo:
		nodeID, ok := u32(16)
		if !ok {
			_ = p.Respond(getInfoResponse(Info{}, csInvalidParam))
			return
		}
		s.exec(p, func(m *Machine) []byte {
			in, err := m.GetInfo(nodeID)
			if err != nil {
				return getInfoResponse(Info{}, csNotExist)
			}
			return getInfoResponse(in, csOK)
		})
	case ReqSetExpected:
		v, ok := u32(16)
		if !ok {
			_ = p.Respond(status(csInvalidParam))
			return
		}
		s.exec(p, func(m *Machine) []byte {
			if m.SetExpected(v) != nil {
				return status(csInvalidParam)
			}
			return status(csOK)
		})
	case ReqSetVotes:
		votes, ok1 := u32(16)
		nodeID, ok2 := u32(20)
		if !ok1 || !ok2 {
			_ = p.Respond(status(csInvalidParam))
			return
		}
		s.exec(p, func(m *Machine) []byte {
			switch m.SetVotes(nodeID, votes) {
			case nil:
				return status(csOK)
			case ErrNotFound:
				return status(csNameNotFound)
			}
			return status(csInvalidParam)
		})
	case ReqTrackStart:
		if len(msg) < 28 {
			_ = p.Respond(status(csInvalidParam))
			return
		}
		ctx := binary.LittleEndian.Uint64(msg[16:])
		flags, _ := u32(24)
		s.trackStart(p, vc, ctx, flags)
	case ReqTrackStop:
		e := int32(csOK)
		if !vc.tracking {
			e = csNotExist
		}
		vc.tracking = false
		_ = p.Respond(status(e))
	case ReqQdeviceRegister, ReqQdevicePoll, ReqQdeviceMasterWins:
		// No quorum device can operate here (qdevice_can_operate is 0).
		_ = p.Respond(status(csAccess))
	case ReqQdeviceUnregister, ReqQdeviceUpdate:
		_ = p.Respond(status(csNotExist))
	default:
		_ = p.Respond(ipc.NewResponse(0, csInvalidParam, 0))
	}
}

// exec answers p with what f computes on the machine's goroutine.
func (s *Service) exec(p Peer, f func(m *Machine) []byte) {
	if s.run == nil {
		_ = p.Respond(status(csInvalidParam))
		return
	}
	s.run(func(m *Machine) {
		resp := f(m)
		_ = p.Respond(resp)
	})
}

// trackStart is message_handler_req_lib_votequorum_trackstart: the current
// state first (nodelist, then quorum) when asked, then the response.
func (s *Service) trackStart(p Peer, vc *vqConn, ctx uint64, flags uint32) {
	if s.run == nil {
		_ = p.Respond(status(csInvalidParam))
		return
	}
	s.run(func(m *Machine) {
		var evs [][]byte
		if flags&(TrackCurrent|TrackChanges) != 0 {
			evs = append(evs, nodelistEvent(ctx, m.Ring(), m.Members()), quorumEvent(ctx, m.Quorate(), m.NodeStates()))
		}
		s.lock.Lock()
		defer s.lock.Unlock()
		for _, e := range evs {
			_ = p.SendEvent(e)
		}
		if _, live := s.conns[p]; !live {
			return
		}
		e := int32(csOK)
		if vc.tracking {
			e = csExist
		} else if flags&(TrackChanges|TrackChangesOnly) != 0 {
			vc.tracking, vc.context = true, ctx
		}
		_ = p.Respond(status(e))
	})
}

// Apply tells trackers what changed after a step of m that made a quorum
// decision (q non-nil) or may have changed expected votes. Call it on the
// goroutine that owns m, without the Lock held.
func (s *Service) Apply(m *Machine, q *QuorumChange) {
	ring, members, quorate, states := m.Ring(), m.Members(), m.Quorate(), m.NodeStates()
	var expected uint32
	if in, err := m.GetInfo(0); err == nil {
		expected = in.ExpectedVotes
	}
	s.lock.Lock()
	defer s.lock.Unlock()
	newRing := ring != s.lastRing
	newExpected := expected != s.lastExpected && s.lastExpected != 0
	s.lastRing, s.lastExpected = ring, expected
	for p, vc := range s.conns {
		if !vc.tracking {
			continue
		}
		// The order corosync sends them in: the nodelist at sync, the
		// expected votes while recalculating, then the quorum decision.
		if newRing {
			_ = p.SendEvent(nodelistEvent(vc.context, ring, members))
		}
		if newExpected {
			_ = p.SendEvent(expectedEvent(vc.context, expected))
		}
		if q != nil {
			_ = p.SendEvent(quorumEvent(vc.context, quorate, states))
		}
	}
}

func getInfoResponse(in Info, errCode int32) []byte {
	b := ipc.NewResponse(ResGetInfo, errCode, getInfoResSize-ipc.ResponseHeaderSize)
	if errCode != csOK {
		return b
	}
	le := binary.LittleEndian
	le.PutUint32(b[24:], in.NodeID)
	le.PutUint32(b[28:], uint32(in.State))
	le.PutUint32(b[32:], in.Votes)
	le.PutUint32(b[36:], in.ExpectedVotes)
	le.PutUint32(b[40:], in.HighestExpected)
	le.PutUint32(b[44:], in.TotalVotes)
	le.PutUint32(b[48:], in.Quorum)
	le.PutUint32(b[52:], in.Flags)
	le.PutUint32(b[56:], in.QdeviceVotes)
	copy(b[60:60+qdeviceNameMax-1], in.QdeviceName)
	return b
}

func quorumEvent(ctx uint64, quorate bool, nodes []NodeStatus) []byte {
	b := ipc.NewResponse(ResQuorumNotification, csOK, quorumNotifyFixed-ipc.ResponseHeaderSize+8*len(nodes))
	le := binary.LittleEndian
	if quorate {
		le.PutUint32(b[24:], 1)
	}
	le.PutUint64(b[32:], ctx)
	le.PutUint32(b[40:], uint32(len(nodes)))
	for i, n := range nodes {
		le.PutUint32(b[48+8*i:], n.ID)
		le.PutUint32(b[52+8*i:], uint32(n.State))
	}
	return b
}

func nodelistEvent(ctx uint64, ring RingID, members []uint32) []byte {
	b := ipc.NewResponse(ResNodelistNotification, csOK, nodelistFixed-ipc.ResponseHeaderSize+4*len(members))
	le := binary.LittleEndian
	le.PutUint64(b[24:], ctx)
	le.PutUint32(b[32:], ring.Rep)
	le.PutUint64(b[40:], ring.Seq)
	le.PutUint32(b[48:], uint32(len(members)))
	for i, id := range members {
		le.PutUint32(b[56+4*i:], id)
	}
	return b
}

func expectedEvent(ctx uint64, expected uint32) []byte {
	b := ipc.NewResponse(ResExpectedVotesNotify, csOK, expectedNotifySize-ipc.ResponseHeaderSize)
	binary.LittleEndian.PutUint64(b[24:], ctx)
	binary.LittleEndian.PutUint32(b[32:], expected)
	return b
}
