// Package transport holds the totem network drivers for corosync's udp
// (multicast) and udpu (unicast) transports: the sockets, ports and
// options corosync uses (exec/totemudp.c and exec/totemudpu.c at v2.4.6
// and v3.1.7; docs/corosync-wire.md §1), so that a Ringmaster node and a
// corosync node can share a ring.
//
//   - udp: multicasts go from localaddr:(port-1) to mcastaddr:port, unicast
//     tokens from localaddr:(port-1) to peer:port; the node receives on
//     mcastaddr:port (group joined on the local interface) and on
//     localaddr:port. Its own multicasts come back through an internal loop
//     (IP_MULTICAST_LOOP is off), as corosync's AF_UNIX socketpair does.
//   - udpu: everything arrives on localaddr:port; tokens are sent from that
//     socket, and a "multicast" is one unicast copy per configured member,
//     the node itself included, sent from an ephemeral port.
//
// The transport optionally decodes (and for 2.x unwraps the crypto of)
// what it receives, dropping and counting what does not pass, so the SRP
// driver only sees valid messages.
package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"ringmaster/totem/wire"
)

// Mode is the totem transport.
type Mode uint8

const (
	UDPU Mode = iota
	UDP
)

func (m Mode) String() string {
	if m == UDP {
		return "udp"
	}
	return "udpu"
}

// All addresses a "multicast" in Send.
const All wire.NodeID = 0

// DefaultPort is totem.interface.mcastport's default.
const DefaultPort = 5405

// maxDatagram: corosync 3.x accepts datagrams up to KNET_MAX_PACKET_SIZE.
const maxDatagram = 65536

// Member is one configured node and its ring0 address.
type Member struct {
	NodeID wire.NodeID
	Addr   netip.Addr
}

// Config describes one totem interface.
type Config struct {
	Mode Mode
	// LocalAddr is the address the node binds to (see SelectBindAddr).
	LocalAddr netip.Addr
	// Port is mcastport (DefaultPort when 0). udp also uses Port-1.
	Port uint16
	// McastAddr (udp) is the group, e.g. conf.ClusterMcastAddr's result.
	McastAddr netip.Addr
	// Broadcast (udp, broadcast: yes) sends to 255.255.255.255 instead.
	Broadcast bool
	// TTL is the multicast TTL (udp; corosync's default 1).
	TTL int
	// Members is the nodelist: udpu's destinations for multicasts and every
	// transport's unicast (token) destinations by node id.
	Members []Member
	// BlockUnlisted (udpu, block_unlisted_ips) drops datagrams from
	// addresses that are not members.
	BlockUnlisted bool
	// InactiveUntilJoined reproduces 2.x udpu: members start inactive and
	// regular multicasts skip inactive members (SetActive follows the
	// membership). 3.x marks every member active for good.
	InactiveUntilJoined bool
	// Merge is the merge timeout (200 ms default); udpu sends the next
	// multicast to every member when nothing went to all of them during
	// two merge periods.
	Merge time.Duration

	// Framing, when set, makes the transport decode every datagram
	// (Packet.Msg) and drop the ones that do not decode.
	Framing wire.Framing
	// Crypto wraps and unwraps 2.x datagrams; with Framing V2 and no
	// Crypto, the none/none wrapper (FE FE 00 00) is used.
	Crypto *wire.Crypto

	// Logf receives debug messages; nil discards them.
	Logf func(format string, args ...any)
	// QueueLen bounds the receive channel (default 256).
	QueueLen int
}

// Packet is a received datagram.
type Packet struct {
	From netip.AddrPort
	Data []byte       // the datagram as received
	Msg  wire.Message // decoded when Config.Framing is set
}

// Stats counts traffic and drops; read with Load.
type Stats struct {
	Sent, SendErrors atomic.Uint64
	Received         atomic.Uint64
	DroppedUnlisted  atomic.Uint64 // block_unlisted_ips
	DroppedCrypto    atomic.Uint64 // failed 2.x crypto checks (causes in Crypto.Stats)
	DroppedDecode    atomic.Uint64 // not a valid SRP message
	DroppedTruncated atomic.Uint64
	SelfDelivered    atomic.Uint64 // udp multicasts handed back to ourselves
	DroppedQueueFull atomic.Uint64 // self copies dropped on a full receive queue
}

// Transport is an open totem interface. Send is safe for concurrent use.
type Transport struct {
	cfg  Config
	logf func(string, ...any)

	// udp
	mcastRecv, mcastSend *net.UDPConn
	mcastDst             netip.AddrPort
	// token: udp receive socket / udpu receive and token-send socket
	token                  *net.UDPConn
	mcastBatch, tokenBatch *ipv4.PacketConn
	mcastDstUDP            *net.UDPAddr
	// udpu: the socket "multicast" copies leave from
	memberSend  *net.UDPConn
	memberBatch *ipv4.PacketConn

	// sendMu guards the send batch: datagrams waiting for one sendmmsg on
	// batchConn, and the slab their encodings live in.
	sendMu    sync.Mutex
	batch     []ipv4.Message
	batchConn *net.UDPConn
	batchPC   *ipv4.PacketConn
	slab      []byte

	mu      sync.Mutex
	addrs   map[wire.NodeID]netip.Addr
	dst     map[wire.NodeID]*net.UDPAddr // addrs with the port, for sends
	members []udpuMember
	allowed map[netip.Addr]bool
	// merge-timeout bookkeeping (totemudpu.c send_merge_detect_message)
	sendToAll   bool
	sentToAll   int
	mergeTicker *time.Ticker

	recv   chan Packet
	direct *Direct
	// tokenReader is closed when udpu's receiver goroutine has ended
	// (Close, or Direct took the socket over).
	tokenReader chan struct{}
	directTaken atomic.Bool
	takeover    chan struct{} // closed by Direct
	leftover    []Packet      // read by the receiver after takeover, for Direct
	done        chan struct{}
	wg          sync.WaitGroup
	closeOnce   sync.Once
	Stats       Stats
}

type udpuMember struct {
	id     wire.NodeID
	addr   netip.AddrPort
	udp    *net.UDPAddr
	active bool
}

// ErrConfig reports an unusable configuration.
var ErrConfig = errors.New("transport: bad configuration")

// ErrUnknownNode: Send to a node id with no known address.
var ErrUnknownNode = errors.New("transport: unknown node")

// Open creates the sockets and starts receiving.
func Open(cfg Config) (*Transport, error) {
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 256
	}
	if cfg.Merge <= 0 {
		cfg.Merge = 200 * time.Millisecond
	}
	if !cfg.LocalAddr.IsValid() || !cfg.LocalAddr.Is4() {
		// udp/udpu over IPv6 exist in corosync, but every deployment we
		// target uses IPv4; refuse rather than half-support.
		return nil, fmt.Errorf("%w: local address %v (IPv4 required)", ErrConfig, cfg.LocalAddr)
	}
	t := &Transport{
		cfg:      cfg,
		logf:     cfg.Logf,
		addrs:    map[wire.NodeID]netip.Addr{},
		dst:      map[wire.NodeID]*net.UDPAddr{},
		allowed:  map[netip.Addr]bool{},
		recv:     make(chan Packet, cfg.QueueLen),
		takeover: make(chan struct{}),
		done:     make(chan struct{}),
	}
	if t.logf == nil {
		t.logf = func(string, ...any) {}
	}
	for _, m := range cfg.Members {
		t.addrs[m.NodeID] = m.Addr
		ap := netip.AddrPortFrom(m.Addr, cfg.Port)
		t.dst[m.NodeID] = net.UDPAddrFromAddrPort(ap)
		t.allowed[m.Addr] = true
		t.members = append(t.members, udpuMember{id: m.NodeID,
			addr: ap, udp: net.UDPAddrFromAddrPort(ap), active: !cfg.InactiveUntilJoined})
	}
	var err error
	if cfg.Mode == UDP {
		err = t.openUDP()
	} else {
		err = t.openUDPU()
	}
	if err != nil {
		t.closeSockets()
		return nil, err
	}
	return t, nil
}

// listen opens a UDP socket bound to addr with SO_REUSEADDR (corosync sets
// it on every totem socket).
func listen(addr netip.AddrPort, broadcast bool) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			if serr == nil && broadcast {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", addr.String())
	if err != nil {
		return nil, fmt.Errorf("transport: bind %v: %w", addr, err)
	}
	return pc.(*net.UDPConn), nil
}

// interfaceOf finds the interface holding addr.
func interfaceOf(addr netip.Addr) (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for i := range ifs {
		as, err := ifs[i].Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == addr {
				return &ifs[i], nil
			}
		}
	}
	return nil, fmt.Errorf("%w: no interface has address %v", ErrConfig, addr)
}

func (t *Transport) openUDP() error {
	cfg := t.cfg
	group := cfg.McastAddr
	if cfg.Broadcast {
		group = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	} else if !group.IsValid() || !group.Is4() || !group.IsMulticast() {
		return fmt.Errorf("%w: multicast address %v", ErrConfig, group)
	}
	t.mcastDst = netip.AddrPortFrom(group, cfg.Port)
	t.mcastDstUDP = net.UDPAddrFromAddrPort(t.mcastDst)
	ifi, err := interfaceOf(cfg.LocalAddr)
	if err != nil {
		return err
	}
	if t.mcastSend, err = listen(netip.AddrPortFrom(cfg.LocalAddr, cfg.Port-1), cfg.Broadcast); err != nil {
		return err
	}
	t.mcastBatch = ipv4.NewPacketConn(t.mcastSend)
	if t.token, err = listen(netip.AddrPortFrom(cfg.LocalAddr, cfg.Port), false); err != nil {
		return err
	}
	if t.mcastRecv, err = listen(t.mcastDst, cfg.Broadcast); err != nil {
		return err
	}
	if !cfg.Broadcast {
		rp := ipv4.NewPacketConn(t.mcastRecv)
		if err := rp.JoinGroup(ifi, &net.UDPAddr{IP: group.AsSlice()}); err != nil {
			return fmt.Errorf("transport: join %v on %s: %w", group, ifi.Name, err)
		}
		sp := ipv4.NewPacketConn(t.mcastSend)
		ttl := cfg.TTL
		if ttl <= 0 {
			ttl = 1
		}
		for _, e := range []error{sp.SetMulticastTTL(ttl), sp.SetMulticastInterface(ifi),
			sp.SetMulticastLoopback(false), rp.SetMulticastInterface(ifi)} {
			if e != nil {
				return fmt.Errorf("transport: multicast options on %s: %w", ifi.Name, e)
			}
		}
	}
	t.start(t.mcastRecv, false)
	t.start(t.token, false)
	return nil
}

func (t *Transport) openUDPU() error {
	var err error
	if t.token, err = listen(netip.AddrPortFrom(t.cfg.LocalAddr, t.cfg.Port), false); err != nil {
		return err
	}
	if t.memberSend, err = listen(netip.AddrPortFrom(t.cfg.LocalAddr, 0), false); err != nil {
		return err
	}
	t.memberBatch = ipv4.NewPacketConn(t.memberSend)
	t.tokenBatch = ipv4.NewPacketConn(t.token)
	t.tokenReader = make(chan struct{})
	t.wg.Add(1)
	go func() {
		defer close(t.tokenReader)
		t.readLoop(t.token, t.cfg.BlockUnlisted)
	}()
	t.sentToAll = 0
	t.mergeTicker = time.NewTicker(2 * t.cfg.Merge)
	t.wg.Add(1)
	go t.mergeLoop()
	return nil
}

// mergeLoop is timer_function_merge_detect_timeout: if nothing went to
// every member during the last period, the next multicast does.
func (t *Transport) mergeLoop() {
	defer t.wg.Done()
	for {
		select {
		case <-t.done:
			return
		case <-t.mergeTicker.C:
			t.mu.Lock()
			if t.sentToAll == 0 {
				t.sendToAll = true
			}
			t.sentToAll = 0
			t.mu.Unlock()
		}
	}
}

func (t *Transport) start(c *net.UDPConn, blockUnlisted bool) {
	t.wg.Add(1)
	go t.readLoop(c, blockUnlisted)
}

// readBatch is how many datagrams one receive system call may return
// (recvmmsg). Under load a token arrives behind a burst of mcasts; reading
// them together saves a system call and a scheduler wake-up per datagram.
const readBatch = 16

func (t *Transport) readLoop(c *net.UDPConn, blockUnlisted bool) {
	defer t.wg.Done()
	pc := ipv4.NewPacketConn(c)
	ms := make([]ipv4.Message, readBatch)
	for i := range ms {
		// Pages of a buffer are only touched as far as datagrams reach,
		// so small-message traffic keeps the resident size small.
		ms[i].Buffers = [][]byte{make([]byte, maxDatagram+1)}
	}
	for {
		n, err := pc.ReadBatch(ms, 0)
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && t.directTaken.Load() {
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.logf("totem transport: receive: %v", err)
			continue
		}
		// One allocation holds the whole batch: the SRP keeps payloads
		// (sort queue) that point into it.
		total := 0
		for i := range ms[:n] {
			if ms[i].N <= maxDatagram {
				total += ms[i].N
			}
		}
		slab := make([]byte, 0, total)
		for i := range ms[:n] {
			if p, ok := t.accept(&ms[i], &slab, blockUnlisted); ok {
				t.queue(p)
			}
		}
	}
}

// accept checks and decodes one received datagram, copying it to the end
// of slab (whose capacity the caller sized for the batch).
func (t *Transport) accept(m *ipv4.Message, slab *[]byte, blockUnlisted bool) (Packet, bool) {
	if m.N > maxDatagram {
		t.Stats.DroppedTruncated.Add(1)
		return Packet{}, false
	}
	ua, ok := m.Addr.(*net.UDPAddr)
	if !ok {
		return Packet{}, false
	}
	from := ua.AddrPort()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if blockUnlisted && !t.listed(from.Addr()) {
		t.Stats.DroppedUnlisted.Add(1)
		t.logf("totem transport: packet rejected from %v", from)
		return Packet{}, false
	}
	start := len(*slab)
	*slab = append(*slab, m.Buffers[0][:m.N]...)
	return t.decode(from, (*slab)[start:len(*slab):len(*slab)])
}

// queue hands a received packet to Recv, waiting for room; after Direct
// took over, it keeps it for Direct's first Read.
func (t *Transport) queue(p Packet) {
	select {
	case t.recv <- p:
	case <-t.done:
	case <-t.takeover:
		t.leftover = append(t.leftover, p)
	}
}

// Direct lets the driver's own goroutine receive udpu datagrams, instead of
// a receiver goroutine handing them over through Recv. corosync's main
// loop waits in poll(2) and reads its socket itself; Direct does the same
// on the calling goroutine's thread (ppoll on the socket and an eventfd for
// Wake), so that a datagram wakes the driver's thread straight from the
// kernel, with no goroutine hand-over and no scheduler wake-ups between.
// The receiver goroutine stops; what it had queued comes first from Read.
// It returns nil for udp (two sockets and a local loop) or if the eventfd
// cannot be made; once taken, Recv delivers nothing more.
func (t *Transport) Direct() *Direct {
	if t.cfg.Mode != UDPU {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.direct != nil {
		return t.direct
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil
	}
	rc, err := t.token.SyscallConn()
	if err != nil {
		unix.Close(efd)
		return nil
	}
	// Stop the receiver: it sees the flag when its read times out.
	t.directTaken.Store(true)
	close(t.takeover)
	_ = t.token.SetReadDeadline(time.Unix(1, 0))
	<-t.tokenReader
	_ = t.token.SetReadDeadline(time.Time{})
	d := &Direct{t: t, rc: rc, pc: ipv4.NewPacketConn(t.token), ms: make([]ipv4.Message, readBatch), efd: efd}
	for i := range d.ms {
		d.ms[i].Buffers = [][]byte{make([]byte, maxDatagram+1)}
	}
	// What the receiver queued, then what it held when it stopped.
	for len(t.recv) > 0 {
		d.pending = append(d.pending, <-t.recv)
	}
	d.pending = append(d.pending, t.leftover...)
	t.leftover = nil
	t.direct = d
	return d
}

// Direct receives on the caller's goroutine; see Transport.Direct. Read is
// for one goroutine; Wake may be called from any.
type Direct struct {
	t       *Transport
	rc      syscall.RawConn
	pc      *ipv4.PacketConn
	ms      []ipv4.Message
	woken   atomic.Bool
	pending []Packet

	// readMu is held by Read; Close takes it to know the eventfd is no
	// longer polled before closing it.
	readMu sync.Mutex
	efd    int
	closed bool
}

// ErrWoken: Read returned because of Wake.
var ErrWoken = errors.New("transport: woken")

// Read waits until datagrams arrive, the deadline passes
// (os.ErrDeadlineExceeded) or Wake is called (ErrWoken), and appends the
// valid ones to out. A zero deadline waits without limit. After Close it
// returns net.ErrClosed.
func (d *Direct) Read(deadline time.Time, out []Packet) ([]Packet, error) {
	d.readMu.Lock()
	defer d.readMu.Unlock()
	if d.closed {
		return out, net.ErrClosed
	}
	if len(d.pending) > 0 {
		// What the receiver goroutine had before Direct took over.
		out = append(out, d.pending...)
		d.pending = nil
		return out, nil
	}
	for {
		n, err := d.pc.ReadBatch(d.ms, unix.MSG_DONTWAIT)
		if err == nil && n > 0 {
			return d.accept(n, out), nil
		}
		select {
		case <-d.t.done:
			return out, net.ErrClosed
		default:
		}
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			return out, err
		}
		if d.woken.Swap(false) {
			return out, ErrWoken
		}
		var ts *unix.Timespec
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return out, os.ErrDeadlineExceeded
			}
			t := unix.NsecToTimespec(int64(left))
			ts = &t
		}
		// The wait below blocks this thread in the kernel while it holds
		// its P: let goroutines this round made runnable (an IPC reply, a
		// Do caller) run first, or they would wait for sysmon to take the
		// P away.
		runtime.Gosched()
		var perr error
		cerr := d.rc.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(d.efd), Events: unix.POLLIN}}
			_, perr = unix.Ppoll(fds, ts, nil)
			if fds[1].Revents != 0 {
				var b [8]byte
				_, _ = unix.Read(d.efd, b[:])
			}
		})
		if cerr != nil {
			return out, cerr
		}
		if perr != nil && !errors.Is(perr, unix.EINTR) {
			return out, perr
		}
	}
}

func (d *Direct) accept(n int, out []Packet) []Packet {
	total := 0
	for i := range d.ms[:n] {
		if d.ms[i].N <= maxDatagram {
			total += d.ms[i].N
		}
	}
	slab := make([]byte, 0, total)
	for i := range d.ms[:n] {
		if p, ok := d.t.accept(&d.ms[i], &slab, d.t.cfg.BlockUnlisted); ok {
			out = append(out, p)
		}
	}
	return out
}

// Wake makes the current or next Read return ErrWoken.
func (d *Direct) Wake() {
	d.woken.Store(true)
	d.kick()
}

func (d *Direct) kick() {
	one := [8]byte{1}
	_, _ = unix.Write(d.efd, one[:])
}

// close ends Read for good (Transport.Close, after t.done is closed).
func (d *Direct) close() {
	d.kick()
	d.readMu.Lock()
	defer d.readMu.Unlock()
	if !d.closed {
		d.closed = true
		unix.Close(d.efd)
	}
}

func (t *Transport) listed(a netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.allowed[a]
}

// deliver decodes (if configured) and queues a datagram.
func (t *Transport) deliver(from netip.AddrPort, b []byte) {
	p, ok := t.decode(from, b)
	if !ok {
		return
	}
	select {
	case t.recv <- p:
	case <-t.done:
	}
}

func (t *Transport) deliverNoWait(from netip.AddrPort, b []byte) {
	p, ok := t.decode(from, b)
	if !ok {
		return
	}
	select {
	case t.recv <- p:
	default:
		t.Stats.DroppedQueueFull.Add(1)
	}
}

func (t *Transport) decode(from netip.AddrPort, b []byte) (Packet, bool) {
	p := Packet{From: from, Data: b}
	if t.cfg.Framing != 0 {
		srp := b
		if t.cfg.Framing == wire.V2 {
			var err error
			if srp, err = t.crypto().Open(nil, b); err != nil {
				t.Stats.DroppedCrypto.Add(1)
				t.logf("totem transport: from %v: %v", from, err)
				return p, false
			}
		}
		m, err := wire.Decode(srp, t.cfg.Framing)
		if err != nil {
			t.Stats.DroppedDecode.Add(1)
			t.logf("totem transport: from %v: %v", from, err)
			return p, false
		}
		p.Msg = m
	}
	t.Stats.Received.Add(1)
	return p, true
}

var noneCrypto, _ = wire.NewCrypto(wire.CipherNone, wire.HashNone, nil)

func (t *Transport) crypto() *wire.Crypto {
	if t.cfg.Crypto != nil {
		return t.cfg.Crypto
	}
	return noneCrypto
}

// Recv delivers received datagrams; it is closed by Close.
func (t *Transport) Recv() <-chan Packet { return t.recv }

// LocalAddr is the bound address.
func (t *Transport) LocalAddr() netip.Addr { return t.cfg.LocalAddr }

// SetAddr records (or changes) the address of a node for unicast sends;
// 2.x SRP messages carry addresses, so a 2.x driver can learn them.
func (t *Transport) SetAddr(id wire.NodeID, a netip.Addr) {
	t.mu.Lock()
	t.addrs[id] = a
	t.dst[id] = net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, t.cfg.Port))
	t.mu.Unlock()
}

// SetActive marks a udpu member active or inactive (2.x
// totemudpu_member_set_active, driven by membership changes: joined
// members become active, left ones inactive).
func (t *Transport) SetActive(id wire.NodeID, active bool) {
	t.mu.Lock()
	for i := range t.members {
		if t.members[i].id == id {
			t.members[i].active = active
		}
	}
	t.mu.Unlock()
}

// Encode prepares an SRP message for the wire in the configured framing
// (2.x: crypto-wrapped).
func (t *Transport) Encode(m wire.Message) ([]byte, error) {
	f := t.cfg.Framing
	if f == 0 {
		f = wire.V3
	}
	b := wire.Encode(m, f)
	if f == wire.V2 {
		return t.crypto().Seal(nil, b)
	}
	return b, nil
}

// SendMsg encodes and sends an SRP message (see Send and SendMsgs).
func (t *Transport) SendMsg(to wire.NodeID, m wire.Message, flush bool) error {
	return t.SendMsgs([]Out{{To: to, Msg: m, Flush: flush}})
}

// Out is one SRP message for SendMsgs: to a node, or to All.
type Out struct {
	To    wire.NodeID
	Msg   wire.Message
	Flush bool
}

// SendMsgs encodes and sends SRP messages in order, with as few system calls
// as it can (consecutive datagrams leaving the same socket go in one
// sendmmsg): a token visit's mcasts and the token itself.
//
// A regular mcast to All is not copied back to the sender. corosync's
// udpu sends one to itself and its udp loops one through a socketpair, but
// the receiving end finds the sequence number already in its sort queue
// (orf_token_mcast stores the message before sending it) and the copy
// changes nothing; skipping it saves a third of udpu's datagrams on a
// 3-node ring. Joins, leaves, merge detects and token hold cancels still
// come back to the sender, which handles its own.
func (t *Transport) SendMsgs(out []Out) error {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	f := t.cfg.Framing
	if f == 0 {
		f = wire.V3
	}
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	t.slab = t.slab[:0]
	for _, o := range out {
		start := len(t.slab)
		t.slab = wire.Append(t.slab, o.Msg, f)
		b := t.slab[start:len(t.slab):len(t.slab)]
		if f == wire.V2 {
			sealed, err := t.crypto().Seal(nil, b)
			if err != nil {
				note(err)
				continue
			}
			b = sealed
		}
		self := o.Flush || o.Msg.Type() != wire.TypeMcast
		note(t.queueSend(o.To, b, o.Flush, self))
	}
	note(t.flushBatch())
	return first
}

// Send transmits a datagram to one node (the token target), or with to ==
// All to every node: the group (udp) or every member (udpu). flush marks
// join, leave, merge detect and token hold cancel, which udpu sends to
// inactive members too. Our own multicasts come back through Recv, as
// corosync's do.
func (t *Transport) Send(to wire.NodeID, b []byte, flush bool) error {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	err := t.queueSend(to, b, flush, true)
	if ferr := t.flushBatch(); err == nil {
		err = ferr
	}
	return err
}

// queueSend adds the datagrams of one send to the pending batch (sendMu
// held); self says whether our own copy of a send to All is wanted.
func (t *Transport) queueSend(to wire.NodeID, b []byte, flush, self bool) error {
	if to != All {
		t.mu.Lock()
		a, ok := t.dst[to]
		t.mu.Unlock()
		if !ok {
			return fmt.Errorf("%w: %d", ErrUnknownNode, to)
		}
		c, pc := t.token, t.tokenBatch
		if t.cfg.Mode == UDP {
			c, pc = t.mcastSend, t.mcastBatch
		}
		return t.add(c, pc, b, a)
	}
	if t.cfg.Mode == UDP {
		err := t.add(t.mcastSend, t.mcastBatch, b, t.mcastDstUDP)
		if self {
			// The local loop: corosync writes the same datagram into its
			// socketpair; the receiver sees it as coming from the send
			// socket. Never block the sender on its own receive queue (the
			// driver usually sends and receives in one goroutine); a full
			// socketpair drops too.
			t.Stats.SelfDelivered.Add(1)
			t.deliverNoWait(netip.AddrPortFrom(t.cfg.LocalAddr, t.cfg.Port-1), append([]byte(nil), b...))
		}
		return err
	}
	t.mu.Lock()
	onlyActive := !flush
	sendAll := t.sendToAll
	var first error
	for _, m := range t.members {
		if onlyActive && !m.active && !sendAll {
			continue
		}
		if !self && m.addr.Addr() == t.cfg.LocalAddr {
			continue
		}
		if err := t.add(t.memberSend, t.memberBatch, b, m.udp); err != nil && first == nil {
			first = err
		}
	}
	if !onlyActive || sendAll {
		t.sentToAll++
		t.sendToAll = false
	}
	t.mu.Unlock()
	return first
}

// add appends one datagram to the pending batch, sending what is pending
// first when it leaves another socket (order is kept across sockets).
func (t *Transport) add(c *net.UDPConn, pc *ipv4.PacketConn, b []byte, to *net.UDPAddr) error {
	var err error
	if t.batchConn != c && len(t.batch) > 0 {
		err = t.flushBatch()
	}
	t.batchConn, t.batchPC = c, pc
	t.batch = append(t.batch, ipv4.Message{Buffers: [][]byte{b}, Addr: to})
	return err
}

// flushBatch sends the pending batch (sendmmsg; one sendto per datagram
// where the kernel refuses). Failures are recovered by the SRP (corosync:
// "non-critical").
func (t *Transport) flushBatch() error {
	msgs := t.batch
	defer func() {
		for i := range t.batch {
			t.batch[i] = ipv4.Message{}
		}
		t.batch = t.batch[:0]
	}()
	if len(msgs) == 0 {
		return nil
	}
	sent := 0
	if len(msgs) > 1 && t.batchPC != nil {
		for sent < len(msgs) {
			n, err := t.batchPC.WriteBatch(msgs[sent:], 0)
			if err != nil || n <= 0 {
				break
			}
			sent += n
		}
		t.Stats.Sent.Add(uint64(sent))
	}
	var first error
	for _, m := range msgs[sent:] {
		to := m.Addr.(*net.UDPAddr).AddrPort()
		if err := t.write(t.batchConn, m.Buffers[0], to); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (t *Transport) write(c *net.UDPConn, b []byte, to netip.AddrPort) error {
	if _, err := c.WriteToUDPAddrPort(b, to); err != nil {
		t.Stats.SendErrors.Add(1)
		return fmt.Errorf("transport: send to %v: %w", to, err)
	}
	t.Stats.Sent.Add(1)
	return nil
}

// Close stops the receivers, closes the sockets and then the Recv channel.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		close(t.done)
		if t.mergeTicker != nil {
			t.mergeTicker.Stop()
		}
		t.mu.Lock()
		d := t.direct
		t.mu.Unlock()
		if d != nil {
			d.close()
		}
		t.closeSockets()
		t.wg.Wait()
		close(t.recv)
	})
	return nil
}

func (t *Transport) closeSockets() {
	for _, c := range []*net.UDPConn{t.mcastRecv, t.mcastSend, t.token, t.memberSend} {
		if c != nil {
			c.Close()
		}
	}
}
