package cmap

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"

	"ringmaster/conf"
	"ringmaster/internal/corolog"
	"ringmaster/ipc"
)

// Peer is the part of an IPC connection the service talks to; *ipc.Conn is one.
type Peer interface {
	Respond(msg []byte) error
	SendEvent(msg []byte) error
	MaxMsgSize() int
}

// ServiceOptions configures a Service.
type ServiceOptions struct {
	// Lock serialises every access to the maps. It must be the Lock of the
	// ipc.ServerOptions the service is served with (the server holds it around
	// handler calls). Default: a new mutex.
	Lock sync.Locker
	// Log gets the CMAP subsystem's debug lines. Default: discard.
	Log *corolog.Logger
	// ProcName returns a client's process name for stats.ipcs.*.procname
	// (default: /proc/<pid>/comm, as libqb reads it).
	ProcName func(pid int) string
	// ServiceID is the number in stats.ipcs.service<N> (cmap is 0).
	ServiceID int
}

// Service is corosync's cmap service (exec/cmap.c): it serves the icmap and stats
// maps to libcmap clients, one ipc.Handler for the IPC name "cmap".
//
// The Service owns both maps. Daemon code changes them only through Update, which
// takes the lock and delivers the resulting track events afterwards.
type Service struct {
	lock     sync.Locker
	log      *corolog.Logger
	procName func(int) string
	svcID    int

	icmap *Store
	stats *Store

	conns      map[Peer]*connState
	nextHandle uint64
	closed     uint64
}

// maxHandles bounds the iterators plus tracks one connection may hold, so that a
// client cannot grow the daemon without limit (corosync's hdb has no bound; its
// allocation failure, CS_ERR_NO_MEMORY, is what the client sees here).
const maxHandles = 1 << 16

type connState struct {
	peer   Peer
	m      Map
	iters  map[uint64]*Iter
	tracks map[uint64]*trackRef
	stats  string // stats.ipcs.service0.<pid>.<id>. prefix, "" if none
}

// watcher is a daemon-internal track (icmap_track_add from inside corosync).
type watcher struct {
	fn func(icmap *Store, ev Event)
}

type trackRef struct {
	conn  *connState
	store *Store
	id    TrackID
	inst  uint64
}

// NewService serves icmap and stats (either may be nil: a fresh NewICMap/NewStats).
func NewService(icmap, stats *Store, o ServiceOptions) *Service {
	if icmap == nil {
		icmap = NewICMap()
	}
	if stats == nil {
		stats = NewStats()
	}
	if o.Lock == nil {
		o.Lock = new(sync.Mutex)
	}
	if o.ProcName == nil {
		o.ProcName = procComm
	}
	s := &Service{lock: o.Lock, log: o.Log, procName: o.ProcName, svcID: o.ServiceID,
		icmap: icmap, stats: stats, conns: map[Peer]*connState{},
		// hdb handles carry a random check word in the high half; any non-zero
		// high half keeps ours from looking like small integers.
		nextHandle: uint64(0x5eed) << 32}
	s.Update(func(_, st *Store) {
		_ = st.Set("stats.ipcs.global.active", conf.U64(0))
		_ = st.Set("stats.ipcs.global.closed", conf.U64(0))
	})
	return s
}

func procComm(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Lock returns the lock that guards the maps (to share with ipc.ServerOptions).
func (s *Service) Lock() sync.Locker { return s.lock }

// Update runs f on the two maps with the lock held, then delivers the track events
// f caused. f must not keep the stores.
func (s *Service) Update(f func(icmap, stats *Store)) {
	s.lock.Lock()
	defer s.lock.Unlock()
	f(s.icmap, s.stats)
	s.flushLocked()
}

// View runs f on the two maps with the lock held, for reading.
func (s *Service) View(f func(icmap, stats *Store)) {
	s.lock.Lock()
	defer s.lock.Unlock()
	f(s.icmap, s.stats)
}

// Watch registers a daemon-internal track on the icmap, as corosync's own
// components do with icmap_track_add (logging reload on "logging.", the ring on
// runtime.force_gather, cmap on totem.config_version). fn runs with the lock
// held, after the change, and may read and write the store it is given (further
// changes are delivered too) but must not call Update or View.
func (s *Service) Watch(key string, flags TrackFlags, fn func(icmap *Store, ev Event)) (TrackID, error) {
	s.lock.Lock()
	defer s.lock.Unlock()
	return s.icmap.Track(key, flags, &watcher{fn: fn})
}

// Unwatch removes a Watch.
func (s *Service) Unwatch(id TrackID) error {
	s.lock.Lock()
	defer s.lock.Unlock()
	return s.icmap.Untrack(id)
}

// Accept implements ipc.Handler with corosync's rule for every IPC service
// (exec/ipc_glue.c:cs_ipcs_connection_accept): root (uid or gid 0) and the users
// and groups allowed by uidgid.* keys may connect; anyone else gets EACCES.
func (s *Service) Accept(c *ipc.Conn) error {
	cr := c.Creds()
	if !s.mayConnectLocked(cr.UID, cr.GID) {
		s.log.Sub("MAIN").Func("cs_ipcs_connection_accept").Errorf("Denied connection attempt from %d:%d", cr.UID, cr.GID)
		return syscall.EACCES
	}
	s.accept(c, int(cr.PID), c.ID())
	return nil
}

// MayConnect reports whether a client with these credentials may use corosync's
// IPC services; the other engines' Accept use it too.
func (s *Service) MayConnect(uid, gid uint32) bool {
	s.lock.Lock()
	defer s.lock.Unlock()
	return s.mayConnectLocked(uid, gid)
}

func (s *Service) mayConnectLocked(uid, gid uint32) bool {
	if uid == 0 || gid == 0 {
		return true
	}
	for _, k := range []string{
		fmt.Sprintf("uidgid.uid.%d", uid), fmt.Sprintf("uidgid.config.uid.%d", uid),
		fmt.Sprintf("uidgid.gid.%d", gid), fmt.Sprintf("uidgid.config.gid.%d", gid),
	} {
		if v, err := s.icmap.Get(k); err == nil && v.Type == conf.TypeU8 && len(v.Data) == 1 && v.Data[0] == 1 {
			return true
		}
	}
	return false
}

// Request implements ipc.Handler.
func (s *Service) Request(c *ipc.Conn, msg []byte) { s.request(c, msg) }

// Closed implements ipc.Handler.
func (s *Service) Closed(c *ipc.Conn) { s.closedConn(c) }

func (s *Service) accept(p Peer, pid int, id uint64) {
	cs := &connState{peer: p, iters: map[uint64]*Iter{}, tracks: map[uint64]*trackRef{}}
	s.conns[p] = cs
	s.log.Debugf("lib_init_fn: conn=%p", p)
	// libqb's per-connection statistics, as corosync's stats map lists them
	// (exec/stats.c: stats.ipcs.service<N>.<pid>.<conn pointer>.*).
	cs.stats = fmt.Sprintf("stats.ipcs.service%d.%d.0x%x.", s.svcID, pid, 0x55c249000000+id*0x100)
	for k, v := range map[string]conf.Value{
		"dispatched": conf.U64(0), "flow_control": conf.U32(0), "flow_control_count": conf.U64(0),
		"invalid_request": conf.U64(0), "overload": conf.U64(0), "procname": conf.Str(s.procName(pid)),
		"queued": conf.U32(0), "queueing": conf.I32(0), "recv_retries": conf.U64(0),
		"requests": conf.U64(0), "responses": conf.U64(0), "send_retries": conf.U64(0), "sent": conf.U32(0),
	} {
		_ = s.stats.Set(cs.stats+k, v)
	}
	_ = s.stats.AdjustInt("stats.ipcs.global.active", 1)
	s.flushLocked()
}

func (s *Service) closedConn(p Peer) {
	cs, ok := s.conns[p]
	if !ok {
		return
	}
	s.log.Debugf("exit_fn for conn=%p", p)
	for _, tr := range cs.tracks {
		_ = tr.store.Untrack(tr.id)
	}
	delete(s.conns, p)
	s.stats.DeletePrefix(cs.stats)
	_ = s.stats.AdjustInt("stats.ipcs.global.active", -1)
	_ = s.stats.AdjustInt("stats.ipcs.global.closed", 1)
	s.flushLocked()
}

func (s *Service) store(cs *connState) *Store {
	if cs.m == MapStats {
		return s.stats
	}
	return s.icmap
}

func (s *Service) newHandle() uint64 {
	s.nextHandle++
	return s.nextHandle
}

// request handles one message; the caller holds the lock.
func (s *Service) request(p Peer, msg []byte) {
	cs, ok := s.conns[p]
	if !ok {
		// A request on a connection we never accepted: refuse like an unknown id.
		_ = p.Respond(MarshalStatus(0, ErrInvalidParam))
		return
	}
	resp := s.handle(cs, msg)
	_ = p.Respond(resp)
	if cs.stats != "" {
		_ = s.stats.AdjustInt(cs.stats+"requests", 1)
		_ = s.stats.AdjustInt(cs.stats+"responses", 1)
	}
	s.flushLocked()
}

// handle returns the response to msg, with corosync's sizes and error codes
// (exec/cmap.c message_handler_req_lib_cmap_*).
func (s *Service) handle(cs *connState, msg []byte) []byte {
	req, err := UnmarshalRequest(msg)
	if err != nil {
		// corosync answers a request it cannot dispatch with a bare header, id 0,
		// CS_ERR_INVALID_PARAM (exec/ipc_glue.c:cs_ipcs_msg_process).
		s.log.Debugf("invalid cmap request: %v", err)
		if cs.stats != "" {
			_ = s.stats.AdjustInt(cs.stats+"invalid_request", 1)
		}
		return MarshalStatus(0, ErrInvalidParam)
	}
	st := s.store(cs)
	switch r := req.(type) {
	case SetRequest:
		e := ErrAccess
		if !st.IsReadOnly(r.Key.Value) {
			e = Code(st.Set(r.Key.Value, conf.Value{Type: r.Type, Data: r.Value}))
		}
		return MarshalStatus(ResSet, e)
	case DeleteRequest:
		e := ErrAccess
		if !st.IsReadOnly(r.Key.Value) {
			e = Code(st.Delete(r.Key.Value))
		}
		return MarshalStatus(ResDelete, e)
	case AdjustIntRequest:
		e := ErrAccess
		if !st.IsReadOnly(r.Key.Value) {
			e = Code(st.AdjustInt(r.Key.Value, r.Step))
		}
		return MarshalStatus(ResAdjustInt, e)
	case GetRequest:
		v, err := st.Get(r.Key.Value)
		if err != nil {
			return GetResponse{Error: Code(err)}.Marshal()
		}
		w := WireValue(v)
		switch {
		case r.ValueLen > uint64(cs.peer.MaxMsgSize()-getResFixed) || r.ValueLen > 1<<30:
			return GetResponse{Error: ErrNoMemory}.Marshal()
		case r.ValueLen > 0 && r.ValueLen < uint64(len(w)):
			return GetResponse{Error: ErrInvalidParam}.Marshal()
		case r.ValueLen == 0:
			w = nil
		}
		return GetResponse{Error: OK, ValueLen: uint64(len(WireValue(v))), Type: v.Type, Value: w, BufLen: r.ValueLen}.Marshal()
	case IterInitRequest:
		prefix := ""
		if r.Prefix.Len > 0 {
			prefix = r.Prefix.Value
		}
		if len(cs.iters)+len(cs.tracks) >= maxHandles {
			return HandleResponse{ID: ResIterInit, Error: ErrNoMemory}.Marshal()
		}
		h := s.newHandle()
		cs.iters[h] = st.Iter(prefix)
		return HandleResponse{ID: ResIterInit, Error: OK, Handle: h}.Marshal()
	case IterNextRequest:
		it, ok := cs.iters[r.Handle]
		if !ok {
			return IterNextResponse{Error: ErrBadHandle}.Marshal()
		}
		k, v, ok := it.Next()
		if !ok {
			return IterNextResponse{Error: ErrNoSections}.Marshal()
		}
		return IterNextResponse{Error: OK, Key: NameOf(k), ValueLen: uint64(len(WireValue(v))), Type: v.Type}.Marshal()
	case IterFinalizeRequest:
		if _, ok := cs.iters[r.Handle]; !ok {
			return MarshalStatus(ResIterFinalize, ErrBadHandle)
		}
		delete(cs.iters, r.Handle)
		return MarshalStatus(ResIterFinalize, OK)
	case TrackAddRequest:
		key := ""
		if r.Key.Len > 0 {
			key = r.Key.Value
		}
		if len(cs.iters)+len(cs.tracks) >= maxHandles {
			return HandleResponse{ID: ResTrackAdd, Error: ErrNoMemory}.Marshal()
		}
		tr := &trackRef{conn: cs, store: st, inst: r.InstHandle}
		id, err := st.Track(key, r.TrackType, tr)
		if err != nil {
			return HandleResponse{ID: ResTrackAdd, Error: Code(err)}.Marshal()
		}
		tr.id = id
		h := s.newHandle()
		cs.tracks[h] = tr
		return HandleResponse{ID: ResTrackAdd, Error: OK, Handle: h}.Marshal()
	case TrackDeleteRequest:
		tr, ok := cs.tracks[r.Handle]
		if !ok {
			return HandleResponse{ID: ResTrackDelete, Error: ErrBadHandle}.Marshal()
		}
		delete(cs.tracks, r.Handle)
		_ = tr.store.Untrack(tr.id)
		return HandleResponse{ID: ResTrackDelete, Error: OK, Handle: tr.inst}.Marshal()
	case SetCurrentMapRequest:
		// A connection cannot switch maps with iterators or tracks open.
		if len(cs.iters)+len(cs.tracks) > 0 {
			return MarshalStatus(ResSetCurrentMap, ErrBusy)
		}
		switch r.Map {
		case MapICMap, MapStats:
			cs.m = r.Map
			return MarshalStatus(ResSetCurrentMap, OK)
		}
		return MarshalStatus(ResSetCurrentMap, ErrNotExist)
	}
	return MarshalStatus(0, ErrInvalidParam)
}

// flushLocked delivers queued track events to their connections.
func (s *Service) flushLocked() {
	// Watchers may change the map again; bound the rounds so that two watchers
	// answering each other cannot loop forever.
	for round := 0; round < 16; round++ {
		evs := s.icmap.TakeEvents()
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if o, ok := s.icmap.Owner(ev.Track); ok {
				if w, ok := o.(*watcher); ok {
					w.fn(s.icmap, ev)
					continue
				}
			}
			if tr := s.deliver(s.icmap, ev); tr != nil && tr.conn.stats != "" {
				_ = s.stats.AdjustInt(tr.conn.stats+"dispatched", 1)
			}
		}
	}
	// Stats events last, so that the dispatch counters above are included; their
	// own deliveries are not counted (that would never settle).
	for _, ev := range s.stats.TakeEvents() {
		s.deliver(s.stats, ev)
	}
}

// deliver sends one event to the connection owning its track and returns the
// track, or nil if the track is gone or the event could not be queued.
func (s *Service) deliver(st *Store, ev Event) *trackRef {
	o, ok := st.Owner(ev.Track)
	if !ok {
		return nil
	}
	tr, ok := o.(*trackRef)
	if !ok {
		return nil
	}
	n := Notification{InstHandle: tr.inst, Key: NameOf(ev.Key), Event: ev.Type, NewType: ev.New.Type, OldType: ev.Old.Type}
	if ev.New.Type != 0 {
		n.New = WireValue(ev.New)
	}
	if ev.Old.Type != 0 {
		n.Old = WireValue(ev.Old)
	}
	if tr.conn.peer.SendEvent(n.Marshal()) != nil {
		return nil
	}
	return tr
}
