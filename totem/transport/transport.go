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
	token *net.UDPConn
	// udpu: the socket "multicast" copies leave from
	memberSend  *net.UDPConn
	memberBatch *ipv4.PacketConn

	mu      sync.Mutex
	addrs   map[wire.NodeID]netip.Addr
	members []udpuMember
	allowed map[netip.Addr]bool
	// merge-timeout bookkeeping (totemudpu.c send_merge_detect_message)
	sendToAll   bool
	sentToAll   int
	mergeTicker *time.Ticker

	recv      chan Packet
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	Stats     Stats
}

type udpuMember struct {
	id     wire.NodeID
	addr   netip.AddrPort
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
		cfg:     cfg,
		logf:    cfg.Logf,
		addrs:   map[wire.NodeID]netip.Addr{},
		allowed: map[netip.Addr]bool{},
		recv:    make(chan Packet, cfg.QueueLen),
		done:    make(chan struct{}),
	}
	if t.logf == nil {
		t.logf = func(string, ...any) {}
	}
	for _, m := range cfg.Members {
		t.addrs[m.NodeID] = m.Addr
		t.allowed[m.Addr] = true
		t.members = append(t.members, udpuMember{id: m.NodeID,
			addr: netip.AddrPortFrom(m.Addr, cfg.Port), active: !cfg.InactiveUntilJoined})
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
	ifi, err := interfaceOf(cfg.LocalAddr)
	if err != nil {
		return err
	}
	if t.mcastSend, err = listen(netip.AddrPortFrom(cfg.LocalAddr, cfg.Port-1), cfg.Broadcast); err != nil {
		return err
	}
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
	t.start(t.token, t.cfg.BlockUnlisted)
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

func (t *Transport) readLoop(c *net.UDPConn, blockUnlisted bool) {
	defer t.wg.Done()
	buf := make([]byte, maxDatagram+1)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.logf("totem transport: receive: %v", err)
			continue
		}
		if n > maxDatagram {
			t.Stats.DroppedTruncated.Add(1)
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if blockUnlisted && !t.listed(from.Addr()) {
			t.Stats.DroppedUnlisted.Add(1)
			t.logf("totem transport: packet rejected from %v", from)
			continue
		}
		t.deliver(from, append([]byte(nil), buf[:n]...))
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

// SendMsg encodes and sends an SRP message (see Send).
func (t *Transport) SendMsg(to wire.NodeID, m wire.Message, flush bool) error {
	b, err := t.Encode(m)
	if err != nil {
		return err
	}
	return t.Send(to, b, flush)
}

// Send transmits a datagram to one node (the token target), or with to ==
// All to every node: the group (udp) or every member (udpu). flush marks
// join, leave, merge detect and token hold cancel, which udpu sends to
// inactive members too. Our own multicasts come back through Recv, as
// corosync's do.
func (t *Transport) Send(to wire.NodeID, b []byte, flush bool) error {
	if to != All {
		t.mu.Lock()
		a, ok := t.addrs[to]
		t.mu.Unlock()
		if !ok {
			return fmt.Errorf("%w: %d", ErrUnknownNode, to)
		}
		c := t.token
		if t.cfg.Mode == UDP {
			c = t.mcastSend
		}
		return t.write(c, b, netip.AddrPortFrom(a, t.cfg.Port))
	}
	if t.cfg.Mode == UDP {
		err := t.write(t.mcastSend, b, t.mcastDst)
		// The local loop: corosync writes the same datagram into its
		// socketpair; the receiver sees it as coming from the send socket.
		// Never block the sender on its own receive queue (the driver
		// usually sends and receives in one goroutine); a full socketpair
		// drops too.
		t.Stats.SelfDelivered.Add(1)
		t.deliverNoWait(netip.AddrPortFrom(t.cfg.LocalAddr, t.cfg.Port-1), append([]byte(nil), b...))
		return err
	}
	t.mu.Lock()
	onlyActive := !flush
	sendAll := t.sendToAll
	var dst []netip.AddrPort
	for _, m := range t.members {
		if onlyActive && !m.active && !sendAll {
			continue
		}
		dst = append(dst, m.addr)
	}
	if !onlyActive || sendAll {
		t.sentToAll++
		t.sendToAll = false
	}
	t.mu.Unlock()
	return t.writeAll(b, dst)
}

// writeAll sends one datagram to every destination with as few system calls
// as the kernel allows (sendmmsg): corosync writes one sendmsg per member,
// which is the same traffic, but a Go daemon pays more per system call.
// Failures are recovered by the SRP (corosync: "non-critical").
func (t *Transport) writeAll(b []byte, dst []netip.AddrPort) error {
	if len(dst) > 1 && t.memberBatch != nil {
		msgs := make([]ipv4.Message, len(dst))
		for i, d := range dst {
			msgs[i] = ipv4.Message{Buffers: [][]byte{b}, Addr: net.UDPAddrFromAddrPort(d)}
		}
		sent := 0
		for sent < len(msgs) {
			n, err := t.memberBatch.WriteBatch(msgs[sent:], 0)
			if err != nil || n <= 0 {
				break
			}
			sent += n
		}
		t.Stats.Sent.Add(uint64(sent))
		if sent == len(msgs) {
			return nil
		}
		dst = dst[sent:]
	}
	var first error
	for _, d := range dst {
		if err := t.write(t.memberSend, b, d); err != nil && first == nil {
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
