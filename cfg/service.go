// Package cfg is corosync's configuration and administration service
// (exec/cfg.c at v3.1.7): the "cfg" IPC service behind libcfg, used by
// corosync-cfgtool (link and node status, reload, kill, shutdown), by
// corosync-quorumtool (node addresses) and by pacemakerd (the shutdown
// handshake: TRACKSTART, then TESTSHUTDOWN events answered with
// REPLYTOSHUTDOWN). It also holds a libcfg-compatible Client.
//
// The service keeps no cluster logic of its own: the daemon tells it the
// current membership (SetMembers) and gives it the actions that reach beyond
// IPC (Shutdown, KillNode, Reload, ReopenLogs).
package cfg

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"ringmaster/ipc"
)

// Request ids (include/corosync/ipc_cfg.h).
const (
	ReqRingStatusGet   = 0
	ReqRingReenable    = 1
	ReqKillNode        = 2
	ReqTryShutdown     = 3
	ReqReplyToShutdown = 4
	ReqGetNodeAddrs    = 5
	ReqLocalGet        = 6
	ReqReloadConfig    = 7
	ReqReopenLogFiles  = 8
	ReqNodeStatusGet   = 9
	ReqTrackStart      = 10
	ReqTrackStop       = 11
)

// Response and event ids.
const (
	ResRingStatusGet   = 0
	ResRingReenable    = 1
	ResTrackStart      = 2
	ResTrackStop       = 3
	ResKillNode        = 8
	ResTryShutdown     = 9
	ResTestShutdown    = 10
	ResGetNodeAddrs    = 11
	ResLocalGet        = 12
	ResReplyToShutdown = 13
	ResReloadConfig    = 14
	ResReopenLogFiles  = 15
	ResNodeStatusGet   = 16
)

// Shutdown flags (corosync_cfg_shutdown_flags_t).
const (
	ShutdownRequest    = 0
	ShutdownRegardless = 1
	ShutdownImmediate  = 2
)

// cs_error_t values.
const (
	csOK           int32 = 1
	csLibrary      int32 = 2
	csTimeout      int32 = 5
	csInvalidParam int32 = 7
	csBusy         int32 = 10
	csAccess       int32 = 11
	csNotExist     int32 = 12
	csExist        int32 = 14
	csNotSupported int32 = 19
)

// Fixed sizes.
const (
	ringStatusSize    = 10272
	ringNameLen       = 128
	ringStatusLen     = 512
	maxInterfaces     = 16
	localGetSize      = 32
	testShutdownSize  = 32
	nodeAddrsFixed    = 32
	addrLen           = 16 // TOTEMIP_ADDRLEN
	nodeStatusSize    = 4200
	nodeStatusVersion = 1
	maxLinks          = 8
	linkStatusSize    = 520
	hostLen           = 256
	nodeStatusVerSize = 32
)

// DefaultShutdownTimeout is cfg.shutdown_timeout's default (DEFAULT_SHUTDOWN_TIMEOUT).
const DefaultShutdownTimeout = 5 * time.Second

// Node is one nodelist entry: its id and ring addresses, link 0 first.
type Node struct {
	ID    uint32
	Addrs []netip.Addr
}

// Peer is the part of an IPC connection the service talks to; *ipc.Conn is one.
type Peer interface {
	Respond(msg []byte) error
	SendEvent(msg []byte) error
}

// ServiceOptions configures a Service.
type ServiceOptions struct {
	// Lock is the daemon's IPC lock; SetMembers and the shutdown timer take it.
	Lock   sync.Locker
	NodeID uint32
	// Transport is "udp", "udpu" or "knet"; it decides the link status shape.
	Transport string
	// MTU is the payload MTU reported per link (udp/udpu: netmtu − 90).
	MTU uint32
	// LinkStatus, when set (knet), reports one link to a node as the transport
	// sees it: connected and its MTU. Without it a link is connected while the
	// node is in the ring, with MTU.
	LinkStatus func(node uint32, link int) (connected bool, mtu uint32, ok bool)
	Nodes      []Node
	// Shutdown is called (once, without the Lock) when a shutdown is confirmed.
	Shutdown func()
	// KillNode asks the cluster to stop node id (cfg's KILLNODE message). It
	// is called without the Lock.
	KillNode func(id uint32, reason string)
	// Reload and ReopenLogs serve RELOAD_CONFIG and REOPEN_LOG_FILES; nil
	// answers CS_ERR_NOT_SUPPORTED.
	Reload     func() error
	ReopenLogs func() error
	// ShutdownTimeout is cfg.shutdown_timeout (default 5 s).
	ShutdownTimeout time.Duration
	// AfterFunc arms the shutdown timer (default time.AfterFunc).
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
}

type cfgConn struct {
	tracking bool
	reply    int // 0 unknown, 1 yes, 2 no
}

// Service is the "cfg" IPC service.
type Service struct {
	o       ServiceOptions
	members map[uint32]bool
	conns   map[Peer]*cfgConn

	// The shutdown in progress (shutdown_con in cfg.c), nil if none.
	shutdownBy        Peer
	shutdownFlags     uint32
	yes, no, expected int
	stopTimer         func() bool
	shutdownDone      bool
}

// NewService returns the service. Until SetMembers is called the local node
// alone is the membership.
func NewService(o ServiceOptions) *Service {
	if o.Lock == nil {
		o.Lock = new(sync.Mutex)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.AfterFunc == nil {
		o.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	return &Service{o: o, members: map[uint32]bool{o.NodeID: true}, conns: map[Peer]*cfgConn{}}
}

// SetMembers records the current ring membership (reachability in NODESTATUSGET,
// who may be killed).
func (s *Service) SetMembers(members []uint32) {
	s.o.Lock.Lock()
	defer s.o.Lock.Unlock()
	s.members = map[uint32]bool{}
	for _, id := range members {
		s.members[id] = true
	}
}

// Accept implements ipc.Handler.
func (s *Service) Accept(c *ipc.Conn) error { s.conns[c] = &cfgConn{}; return nil }

// Closed implements ipc.Handler.
func (s *Service) Closed(c *ipc.Conn) { s.closed(c) }

// Request implements ipc.Handler.
func (s *Service) Request(c *ipc.Conn, msg []byte) { s.request(c, msg) }

func (s *Service) closed(p Peer) {
	cc, ok := s.conns[p]
	if !ok {
		return
	}
	delete(s.conns, p)
	if p == s.shutdownBy {
		// The asking client went away: cfg.c forgets the request.
		s.endShutdown()
		return
	}
	s.dropFromShutdown(cc)
}

// dropFromShutdown is remove_ci_from_shutdown: a tracker that leaves while a
// shutdown is being decided no longer counts.
func (s *Service) dropFromShutdown(cc *cfgConn) {
	if !cc.tracking {
		return
	}
	cc.tracking = false
	if s.shutdownBy == nil {
		return
	}
	switch cc.reply {
	case 0:
		s.expected--
	case 1:
		s.yes--
		s.expected--
	case 2:
		s.no--
		s.expected--
	}
	s.checkShutdown()
}

func resp(id, errCode int32) []byte { return ipc.NewResponse(id, errCode, 0) }

func (s *Service) request(p Peer, msg []byte) {
	cc, ok := s.conns[p]
	h, err := ipc.ParseRequestHeader(msg)
	if !ok || err != nil {
		_ = p.Respond(resp(0, csInvalidParam))
		return
	}
	u32 := func(off int) (uint32, bool) {
		if len(msg) < off+4 {
			return 0, false
		}
		return binary.LittleEndian.Uint32(msg[off:]), true
	}
	switch h.ID {
	case ReqRingStatusGet:
		_ = p.Respond(s.ringStatus())
	case ReqRingReenable:
		_ = p.Respond(resp(ResRingReenable, csNotSupported))
	case ReqKillNode:
		// cs_name_t reason: u16 length @24, value @26.
		id, ok := u32(16)
		if !ok || len(msg) < 26 {
			_ = p.Respond(resp(ResKillNode, csInvalidParam))
			return
		}
		n := min(int(binary.LittleEndian.Uint16(msg[24:])), 256, len(msg)-26)
		reason := string(trimNUL(msg[26 : 26+n]))
		if !s.members[id] {
			_ = p.Respond(resp(ResKillNode, csNotExist))
			return
		}
		if s.o.KillNode != nil {
			kill := s.o.KillNode
			go kill(id, reason)
		}
		_ = p.Respond(resp(ResKillNode, csOK))
	case ReqTryShutdown:
		flags, ok := u32(16)
		if !ok {
			_ = p.Respond(resp(ResTryShutdown, csInvalidParam))
			return
		}
		s.tryShutdown(p, flags)
	case ReqReplyToShutdown:
		v, ok := u32(16)
		if !ok {
			_ = p.Respond(resp(ResReplyToShutdown, csInvalidParam))
			return
		}
		if s.shutdownBy == nil {
			_ = p.Respond(resp(ResReplyToShutdown, csAccess))
			return
		}
		if v != 0 {
			s.yes++
			cc.reply = 1
		} else {
			s.no++
			cc.reply = 2
		}
		// The decision goes to the asker before this reply, as in cfg.c.
		s.checkShutdown()
		_ = p.Respond(resp(ResReplyToShutdown, csOK))
	case ReqGetNodeAddrs:
		id, ok := u32(16)
		if !ok {
			_ = p.Respond(nodeAddrs(csInvalidParam, nil))
			return
		}
		if id == 0 {
			id = s.o.NodeID
		}
		n, found := s.node(id)
		if !found || len(n.Addrs) == 0 {
			_ = p.Respond(nodeAddrs(csNotExist, nil))
			return
		}
		_ = p.Respond(nodeAddrs(csOK, n.Addrs))
	case ReqLocalGet:
		b := ipc.NewResponse(ResLocalGet, csOK, localGetSize-ipc.ResponseHeaderSize)
		binary.LittleEndian.PutUint32(b[24:], s.o.NodeID)
		_ = p.Respond(b)
	case ReqReloadConfig:
		_ = p.Respond(resp(ResReloadConfig, callErr(s.o.Reload)))
	case ReqReopenLogFiles:
		_ = p.Respond(resp(ResReopenLogFiles, callErr(s.o.ReopenLogs)))
	case ReqNodeStatusGet:
		id, ok1 := u32(16)
		ver, ok2 := u32(24)
		if !ok1 || !ok2 {
			_ = p.Respond(ipc.NewResponse(ResNodeStatusGet, csInvalidParam, nodeStatusVerSize-ipc.ResponseHeaderSize))
			return
		}
		_ = p.Respond(s.nodeStatus(id, ver))
	case ReqTrackStart:
		if !cc.tracking {
			cc.tracking = true
			if s.shutdownBy != nil {
				// A shutdown is being decided: ask the newcomer too.
				cc.reply = 0
				s.expected++
				_ = p.SendEvent(testShutdown(csOK, s.shutdownFlags))
			}
		}
		_ = p.Respond(resp(ResTrackStart, csOK))
	case ReqTrackStop:
		s.dropFromShutdown(cc)
		_ = p.Respond(resp(ResTrackStop, csOK))
	default:
		_ = p.Respond(resp(0, csInvalidParam))
	}
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

func callErr(f func() error) int32 {
	if f == nil {
		return csNotSupported
	}
	if f() != nil {
		return csLibrary
	}
	return csOK
}

func (s *Service) node(id uint32) (Node, bool) {
	for _, n := range s.o.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

func nodeAddrs(errCode int32, addrs []netip.Addr) []byte {
	b := ipc.NewResponse(ResGetNodeAddrs, errCode, nodeAddrsFixed-ipc.ResponseHeaderSize+addrLen*len(addrs))
	if len(addrs) == 0 {
		return b
	}
	family := uint32(2) // AF_INET
	if addrs[0].Is6() && !addrs[0].Is4In6() {
		family = 10 // AF_INET6
	}
	binary.LittleEndian.PutUint32(b[24:], family)
	binary.LittleEndian.PutUint32(b[28:], uint32(len(addrs)))
	for i, a := range addrs {
		off := nodeAddrsFixed + addrLen*i
		if a.Is4() || a.Is4In6() {
			v4 := a.Unmap().As4()
			copy(b[off:], v4[:])
		} else {
			v6 := a.As16()
			copy(b[off:], v6[:])
		}
	}
	return b
}

// ringStatus is RINGSTATUSGET: one entry per link of this node.
func (s *Service) ringStatus() []byte {
	b := ipc.NewResponse(ResRingStatusGet, csOK, ringStatusSize-ipc.ResponseHeaderSize)
	n, _ := s.node(s.o.NodeID)
	count := min(len(n.Addrs), maxInterfaces)
	binary.LittleEndian.PutUint32(b[24:], uint32(count))
	for i := 0; i < count; i++ {
		copy(b[32+ringNameLen*i:32+ringNameLen*(i+1)-1], itoa(i)+" "+n.Addrs[i].String())
		copy(b[32+ringNameLen*maxInterfaces+ringStatusLen*i:], "OK")
	}
	return b
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// nodeStatus is NODESTATUSGET v1 as totemsrp/totemudp[u] fill it: reachable
// when the node is in the ring, link 0 enabled for every configured node with
// its own address as src_ipaddr. A node outside the nodelist reads as all zero
// but its id.
func (s *Service) nodeStatus(id, version uint32) []byte {
	if version != nodeStatusVersion {
		return ipc.NewResponse(ResNodeStatusGet, csNotSupported, nodeStatusVerSize-ipc.ResponseHeaderSize)
	}
	b := ipc.NewResponse(ResNodeStatusGet, csOK, nodeStatusSize-ipc.ResponseHeaderSize)
	st := b[24:]
	le := binary.LittleEndian
	le.PutUint32(st[0:], nodeStatusVersion)
	le.PutUint32(st[4:], id)
	reachable := s.members[id]
	if reachable {
		st[8] = 1
	}
	n, ok := s.node(id)
	if !ok {
		return b
	}
	for i, a := range n.Addrs {
		if i >= maxLinks || (s.o.Transport != "knet" && i > 0) {
			break
		}
		ls := st[16+linkStatusSize*i:]
		ls[0] = 1 // enabled
		connected, mtu := reachable, s.o.MTU
		if s.o.LinkStatus != nil && id != s.o.NodeID {
			if c, m, ok := s.o.LinkStatus(id, i); ok {
				connected, mtu = c, m
			}
		}
		if connected {
			ls[1] = 1 // connected
		}
		le.PutUint32(ls[4:], mtu)
		if s.o.Transport == "knet" {
			local, _ := s.node(s.o.NodeID)
			if i < len(local.Addrs) {
				copy(ls[8:8+hostLen-1], local.Addrs[i].String())
			}
			copy(ls[8+hostLen:8+2*hostLen-1], a.String())
		} else {
			copy(ls[8:8+hostLen-1], a.String())
		}
	}
	return b
}

func testShutdown(status int32, flags uint32) []byte {
	b := ipc.NewResponse(ResTestShutdown, status, testShutdownSize-ipc.ResponseHeaderSize)
	binary.LittleEndian.PutUint32(b[24:], flags)
	return b
}

// tryShutdown is message_handler_req_lib_cfg_tryshutdown.
func (s *Service) tryShutdown(p Peer, flags uint32) {
	if flags == ShutdownImmediate {
		_ = p.Respond(resp(ResTryShutdown, csOK))
		s.goDown()
		return
	}
	if s.shutdownBy != nil {
		_ = p.Respond(resp(ResTryShutdown, csExist))
		return
	}
	s.shutdownBy, s.shutdownFlags = p, flags
	s.yes, s.no, s.expected = 0, 0, 0
	for q, cc := range s.conns {
		if q != p && cc.tracking {
			cc.reply = 0
			s.expected++
		}
	}
	if s.expected == 0 {
		s.shutdownBy = nil
		_ = p.Respond(resp(ResTryShutdown, csOK))
		s.goDown()
		return
	}
	asker := p
	s.stopTimer = s.o.AfterFunc(s.o.ShutdownTimeout, func() {
		s.o.Lock.Lock()
		defer s.o.Lock.Unlock()
		if s.shutdownBy != asker {
			return
		}
		// Undecided trackers count as "no" (shutdown_timer_fn).
		s.no = s.expected
		s.checkShutdown()
		for q, cc := range s.conns {
			if cc.tracking {
				_ = q.SendEvent(testShutdown(csTimeout, s.shutdownFlags))
			}
		}
	})
	for q, cc := range s.conns {
		if q != p && cc.tracking {
			_ = q.SendEvent(testShutdown(csOK, flags))
		}
	}
	// No reply now: the asker learns the decision from checkShutdown.
}

// checkShutdown is check_shutdown_status.
func (s *Service) checkShutdown() {
	if s.shutdownBy == nil || s.yes+s.no < s.expected {
		return
	}
	asker := s.shutdownBy
	confirmed := s.yes >= s.expected || s.shutdownFlags == ShutdownRegardless
	s.endShutdown()
	if confirmed {
		_ = asker.Respond(resp(ResTryShutdown, csOK))
		s.goDown()
		return
	}
	_ = asker.Respond(resp(ResTryShutdown, csBusy))
}

func (s *Service) endShutdown() {
	if s.stopTimer != nil {
		s.stopTimer()
		s.stopTimer = nil
	}
	s.shutdownBy = nil
}

// goDown runs the daemon's shutdown once, outside the handler's lock.
func (s *Service) goDown() {
	if s.shutdownDone || s.o.Shutdown == nil {
		return
	}
	s.shutdownDone = true
	go s.o.Shutdown()
}
