// Package quorumsvc is corosync's "quorum" IPC service (exec/vsf_quorum.c at
// v3.1.7): libquorum clients — Pacemaker, corosync-quorumtool — ask whether the
// partition is quorate and track quorum and membership changes. The service
// holds no quorum logic: the daemon tells it the provider's decisions (SetQuorum,
// from votequorum.Ready.Quorum) and each new membership (Membership), and the
// service turns them into libquorum's responses and notifications.
package quorumsvc

import (
	"encoding/binary"
	"sync"

	"ringmaster/ipc"
	"ringmaster/votequorum"
)

// Request ids (include/corosync/ipc_quorum.h).
const (
	ReqGetQuorate   = 0
	ReqTrackStart   = 1
	ReqTrackStop    = 2
	ReqGetType      = 3
	ReqModelGetType = 4
)

// Response and event ids.
const (
	ResGetQuorate             = 0
	ResTrackStart             = 1
	ResTrackStop              = 2
	ResNotification           = 3
	ResGetType                = 4
	ResModelGetType           = 5
	ResV1QuorumNotify         = 6
	ResV1NodelistNotify       = 7
	notifyV0Fixed             = 48
	notifyV1Fixed             = 56
	nodelistV1Fixed           = 64
	getQuorateSize            = 32
	getTypeSize               = 32
	csOK                int32 = 1
	csInvalidParam      int32 = 7
	csExist             int32 = 14
)

// Quorum types (QUORUM_FREE, QUORUM_SET) and library models.
const (
	TypeFree = 0
	TypeSet  = 1
	ModelV0  = 0
	ModelV1  = 1
)

// Track flags (CS_TRACK_*).
const (
	TrackCurrent     = 1
	TrackChanges     = 2
	TrackChangesOnly = 4
)

// Peer is the part of an IPC connection the service talks to; *ipc.Conn is one.
type Peer interface {
	Respond(msg []byte) error
	SendEvent(msg []byte) error
}

// ServiceOptions configures a Service.
type ServiceOptions struct {
	// Lock is the daemon's IPC lock; SetQuorum and Membership take it.
	Lock sync.Locker
	// Provider is true when quorum.provider names a provider (QUORUM_SET).
	// Without one corosync is always quorate and never notifies.
	Provider bool
}

type conn struct {
	model    uint32
	tracking bool
}

// Service is the "quorum" IPC service.
type Service struct {
	lock     sync.Locker
	provider bool

	quorate bool
	view    []uint32
	ring    votequorum.RingID

	members, oldMembers, joined, left []uint32
	syncRing                          votequorum.RingID

	conns map[Peer]*conn
}

// NewService returns the service.
func NewService(o ServiceOptions) *Service {
	if o.Lock == nil {
		o.Lock = new(sync.Mutex)
	}
	// quorum_exec_init_fn: with no provider the node is simply quorate.
	return &Service{lock: o.Lock, provider: o.Provider, quorate: !o.Provider, conns: map[Peer]*conn{}}
}

// Accept implements ipc.Handler.
func (s *Service) Accept(c *ipc.Conn) error { s.conns[c] = &conn{}; return nil }

// Closed implements ipc.Handler.
func (s *Service) Closed(c *ipc.Conn) { delete(s.conns, c) }

// Request implements ipc.Handler.
func (s *Service) Request(c *ipc.Conn, msg []byte) { s.request(c, msg) }

func (s *Service) quorumType() uint32 {
	if s.provider {
		return TypeSet
	}
	return TypeFree
}

func (s *Service) request(p Peer, msg []byte) {
	qc, ok := s.conns[p]
	h, err := ipc.ParseRequestHeader(msg)
	if !ok || err != nil {
		_ = p.Respond(ipc.NewResponse(0, csInvalidParam, 0))
		return
	}
	switch h.ID {
	case ReqGetQuorate:
		b := ipc.NewResponse(ResGetQuorate, csOK, getQuorateSize-ipc.ResponseHeaderSize)
		if s.quorate {
			binary.LittleEndian.PutUint32(b[24:], 1)
		}
		_ = p.Respond(b)
	case ReqTrackStart:
		if len(msg) < 20 {
			_ = p.Respond(ipc.NewResponse(ResTrackStart, csInvalidParam, 0))
			return
		}
		flags := binary.LittleEndian.Uint32(msg[16:])
		if flags&(TrackCurrent|TrackChanges) != 0 {
			if qc.model == ModelV1 {
				_ = p.SendEvent(s.nodelistV1(false))
			}
			_ = p.SendEvent(s.notification(qc.model))
		}
		e := csOK
		if qc.tracking {
			e = csExist
		} else if flags&(TrackChanges|TrackChangesOnly) != 0 {
			qc.tracking = true
		}
		_ = p.Respond(ipc.NewResponse(ResTrackStart, e, 0))
	case ReqTrackStop:
		// corosync computes CS_ERR_NOT_EXIST for a connection that was not
		// tracking but then always answers CS_OK.
		qc.tracking = false
		_ = p.Respond(ipc.NewResponse(ResTrackStop, csOK, 0))
	case ReqGetType:
		b := ipc.NewResponse(ResGetType, csOK, getTypeSize-ipc.ResponseHeaderSize)
		binary.LittleEndian.PutUint32(b[24:], s.quorumType())
		_ = p.Respond(b)
	case ReqModelGetType:
		e := csOK
		if len(msg) < 20 {
			e = csInvalidParam
		} else if m := binary.LittleEndian.Uint32(msg[16:]); m == ModelV0 || m == ModelV1 {
			qc.model = m
		} else {
			e = csInvalidParam
		}
		b := ipc.NewResponse(ResModelGetType, e, getTypeSize-ipc.ResponseHeaderSize)
		binary.LittleEndian.PutUint32(b[24:], s.quorumType())
		_ = p.Respond(b)
	default:
		_ = p.Respond(ipc.NewResponse(0, csInvalidParam, 0))
	}
}

// notification is the quorum notification for a client of model.
func (s *Service) notification(model uint32) []byte {
	le := binary.LittleEndian
	if model == ModelV1 {
		b := ipc.NewResponse(ResV1QuorumNotify, csOK, notifyV1Fixed-ipc.ResponseHeaderSize+4*len(s.view))
		if s.quorate {
			le.PutUint32(b[24:], 1)
		}
		le.PutUint32(b[32:], s.ring.Rep)
		le.PutUint64(b[40:], s.ring.Seq)
		le.PutUint32(b[48:], uint32(len(s.view)))
		for i, id := range s.view {
			le.PutUint32(b[52+4*i:], id)
		}
		return b
	}
	b := ipc.NewResponse(ResNotification, csOK, notifyV0Fixed-ipc.ResponseHeaderSize+4*len(s.view))
	if s.quorate {
		le.PutUint32(b[24:], 1)
	}
	le.PutUint64(b[32:], s.ring.Seq)
	le.PutUint32(b[40:], uint32(len(s.view)))
	for i, id := range s.view {
		le.PutUint32(b[44+4*i:], id)
	}
	return b
}

// nodelistV1 is send_nodelist_library_notification; the joined and left lists
// go only with membership changes, not with the initial status.
func (s *Service) nodelistV1(withChanges bool) []byte {
	var joined, left []uint32
	if withChanges {
		joined, left = s.joined, s.left
	}
	n := len(s.members) + len(joined) + len(left)
	b := ipc.NewResponse(ResV1NodelistNotify, csOK, nodelistV1Fixed-ipc.ResponseHeaderSize+4*n)
	le := binary.LittleEndian
	le.PutUint32(b[24:], s.syncRing.Rep)
	le.PutUint64(b[32:], s.syncRing.Seq)
	le.PutUint32(b[40:], uint32(len(s.members)))
	le.PutUint32(b[48:], uint32(len(joined)))
	le.PutUint32(b[56:], uint32(len(left)))
	off := 60
	for _, list := range [][]uint32{s.members, joined, left} {
		for _, id := range list {
			le.PutUint32(b[off:], id)
			off += 4
		}
	}
	return b
}

// SetQuorum is quorum_api_set_quorum: the provider's decision and the view list
// of the current ring, told to every tracking client.
//
// Without a provider nothing calls quorum_api_set_quorum in corosync: the node
// stays quorate with an empty view list, so the call is ignored.
func (s *Service) SetQuorum(quorate bool, view []uint32, ring votequorum.RingID) {
	s.lock.Lock()
	defer s.lock.Unlock()
	if !s.provider {
		return
	}
	s.quorate, s.view, s.ring = quorate, append([]uint32(nil), view...), ring
	for p, qc := range s.conns {
		if qc.tracking {
			_ = p.SendEvent(s.notification(qc.model))
		}
	}
}

// Membership is quorum_sync_init plus quorum_sync_activate for a new ring:
// trans is the transitional membership, members the new one. Model v1 trackers
// get the nodelist notification with who joined and left.
func (s *Service) Membership(trans, members []uint32, ring votequorum.RingID) {
	s.lock.Lock()
	defer s.lock.Unlock()
	in := func(list []uint32, id uint32) bool {
		for _, x := range list {
			if x == id {
				return true
			}
		}
		return false
	}
	var left, joined []uint32
	for _, old := range s.oldMembers {
		if !in(trans, old) || !in(members, old) {
			left = append(left, old)
		}
	}
	for _, m := range members {
		if !in(s.oldMembers, m) || in(left, m) {
			joined = append(joined, m)
		}
	}
	s.members, s.joined, s.left, s.syncRing = append([]uint32(nil), members...), joined, left, ring
	s.oldMembers = s.members
	for p, qc := range s.conns {
		if qc.tracking && qc.model == ModelV1 {
			_ = p.SendEvent(s.nodelistV1(true))
		}
	}
}
