// Package knetudp runs knet.Machine over real UDP sockets: one socket per local
// link bound to the link's address and port (5405 + link number by default), the
// options libknet sets (don't-fragment for path-MTU discovery, low-delay TOS,
// large buffers), crypto sealing with a fresh random salt per packet, and one
// goroutine that owns the machine and its clock. To the layer above it is a
// datagram service between node ids: Send a message to one node or all, Recv
// the messages of the others.
package knetudp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"ringmaster/totem/knet"
)

// Config configures a Conn.
type Config struct {
	// Machine is the knet configuration: this node, its peers and their links.
	Machine knet.Config
	// Logf receives link and host changes and dropped packets; nil discards them.
	Logf func(format string, args ...any)
	// QueueLen bounds the receive channel (default 1024).
	QueueLen int
	// Compress is knet_compression_*: the model outgoing messages are
	// compressed with. Incoming compressed messages are accepted with every
	// model knet.CompressModel.CanDecompress lists, whatever this says.
	Compress knet.CompressConfig
}

// Message is a message received from a peer.
type Message struct {
	From  knet.NodeID
	Bcast bool
	Data  []byte
}

// Stats counts what the sockets saw; read with Load.
type Stats struct {
	Sent, SendErrors  atomic.Uint64
	Received          atomic.Uint64
	DroppedCrypto     atomic.Uint64 // failed authentication or decryption
	DroppedDecode     atomic.Uint64 // not a knet packet
	DroppedQueueFull  atomic.Uint64
	DroppedDecompress atomic.Uint64 // compressed with a model we lack, or corrupt
}

// Conn is an open knet node.
type Conn struct {
	cfg    Config
	crypto *knet.Crypto
	logf   func(string, ...any)
	start  time.Time

	socks map[uint8]*net.UDPConn // by link id
	mtus  map[uint8]int          // interface MTU behind each link socket

	in     chan knet.Input
	recv   chan Message
	events chan any

	txBuf, sealBuf []byte // the loop goroutine's packet buffers

	mu     sync.Mutex
	m      *knet.Machine
	status []knet.LinkStatus

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	Stats  Stats

	counters map[linkKey]*LinkCounters // fixed at Open
	hstats   handleStats
	txMu     sync.Mutex
	txComp   *knet.Compressor // Send's, under txMu
	rxComp   *knet.Compressor // the loop goroutine's
}

// Open binds the link sockets and starts the node.
func Open(cfg Config) (*Conn, error) {
	m, err := knet.NewMachine(cfg.Machine)
	if err != nil {
		return nil, err
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 1024
	}
	c := &Conn{
		cfg: cfg, crypto: cfg.Machine.Crypto, logf: cfg.Logf, start: time.Now(), m: m,
		socks: map[uint8]*net.UDPConn{}, mtus: map[uint8]int{},
		in: make(chan knet.Input, 256), recv: make(chan Message, cfg.QueueLen), events: make(chan any, 64),
	}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if c.crypto == nil {
		c.crypto, _ = knet.NewCrypto(knet.CryptoConfig{}, nil)
	}
	c.counters = map[linkKey]*LinkCounters{}
	for _, h := range cfg.Machine.Hosts {
		for _, l := range h.Links {
			c.counters[linkKey{h.ID, l.Link}] = &LinkCounters{}
		}
	}
	c.rxComp, _, _ = knet.NewCompressor(knet.CompressConfig{})
	if cfg.Compress.Model != knet.CompressNone {
		// As totemknet_configure_compression: a refused configuration is
		// logged and the node runs without compression.
		comp, warn, err := knet.NewCompressor(cfg.Compress)
		switch {
		case err != nil:
			c.logf("knet_handle_compress failed: %v", err)
		case warn != "":
			c.logf("%s", warn)
		}
		if err == nil {
			c.txComp = comp
		}
	}
	for _, h := range cfg.Machine.Hosts {
		for _, l := range h.Links {
			if prev, ok := c.socks[l.Link]; ok {
				if netip.MustParseAddrPort(prev.LocalAddr().String()) != l.Local {
					c.closeSockets()
					return nil, fmt.Errorf("knetudp: link %d has two local addresses (%s and %s)", l.Link, prev.LocalAddr(), l.Local)
				}
				continue
			}
			s, mtu, err := listen(l.Local)
			if err != nil {
				c.closeSockets()
				return nil, fmt.Errorf("knetudp: link %d: %w", l.Link, err)
			}
			c.socks[l.Link], c.mtus[l.Link] = s, mtu
		}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for id, s := range c.socks {
		c.wg.Add(1)
		go c.readLoop(id, s)
	}
	c.wg.Add(1)
	go c.loop()
	return c, nil
}

// listen opens a link socket with libknet's options and returns the MTU of the
// interface that holds the address (what EMSGSIZE on a DF probe tells libknet).
func listen(addr netip.AddrPort) (*net.UDPConn, int, error) {
	lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			for _, o := range [][3]int{
				{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
				{unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO},
				{unix.IPPROTO_IP, unix.IP_TOS, 0x10},
				{unix.SOL_SOCKET, unix.SO_PRIORITY, 6},
			} {
				if e := unix.SetsockoptInt(int(fd), o[0], o[1], o[2]); e != nil && serr == nil {
					serr = fmt.Errorf("setsockopt %d/%d: %w", o[0], o[1], e)
				}
			}
			for _, o := range []int{unix.SO_SNDBUF, unix.SO_RCVBUF} {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o, 8<<20)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", addr.String())
	if err != nil {
		return nil, 0, err
	}
	mtu := 1500
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifc := range ifs {
			as, _ := ifc.Addrs()
			for _, a := range as {
				if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == addr.Addr() {
					mtu = ifc.MTU
				}
			}
		}
	}
	return pc.(*net.UDPConn), mtu, nil
}

func (c *Conn) closeSockets() {
	for _, s := range c.socks {
		s.Close()
	}
}

// readLoop opens and decodes what arrives on one link socket.
func (c *Conn) readLoop(link uint8, s *net.UDPConn) {
	defer c.wg.Done()
	buf := make([]byte, knet.MaxPacket+256)
	for {
		n, from, err := s.ReadFromUDPAddrPort(buf)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			continue // ICMP errors surface here on Linux; the pong timeout decides
		}
		c.Stats.Received.Add(1)
		var t0 time.Time
		if c.crypto.Enabled() {
			t0 = time.Now()
		}
		plain, err := c.crypto.Open(buf[:n])
		if err != nil {
			c.Stats.DroppedCrypto.Add(1)
			continue
		}
		if c.crypto.Enabled() {
			d := since(t0) / 1000
			c.hstats.update(func(s *HandleStats) {
				s.RxCryptPackets++
				s.RxCryptTime.add(d)
			})
		} else {
			plain = append([]byte(nil), plain...)
		}
		p, err := knet.Decode(plain)
		if err != nil {
			c.Stats.DroppedDecode.Add(1)
			continue
		}
		if lc := c.counters[linkKey{p.Source(), link}]; lc != nil {
			lc.rx(p.Type(), n)
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		select {
		case c.in <- knet.Received{Link: link, From: from, Packet: p}:
		case <-c.ctx.Done():
			return
		}
	}
}

// loop owns the machine: inputs in, outputs acted on, one timer.
func (c *Conn) loop() {
	defer c.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var in knet.Input
		select {
		case <-c.ctx.Done():
			return
		case in = <-c.in:
		case <-timer.C:
			in = knet.Timer{}
		}
		c.mu.Lock()
		c.m.Step(time.Since(c.start), in)
		rd := c.m.Ready()
		c.m.Advance()
		c.status = c.m.Status()
		c.mu.Unlock()
		c.act(rd)
		d := rd.Deadline - time.Since(c.start)
		if d < 0 {
			d = 0
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d)
	}
}

func (c *Conn) act(rd knet.Ready) {
	for _, o := range rd.Packets {
		c.write(o)
	}
	for _, e := range rd.LinkEvents {
		c.logf("host: host: %d (passive) link: %d is %s", e.Host, e.Link, map[bool]string{true: "up", false: "down"}[e.Up])
		c.event(e)
	}
	for _, e := range rd.HostEvents {
		c.event(e)
	}
	if rd.DataMTU != 0 {
		c.logf("pmtud: Global data MTU changed to: %d", rd.DataMTU)
		c.event(MTUChange{MTU: rd.DataMTU})
	}
	for _, msg := range rd.Messages {
		if msg.Compress != knet.CompressNone {
			t0 := time.Now()
			clear, err := c.rxComp.Decompress(msg.Compress, msg.Data)
			if err != nil {
				// threads_rx.c: "Unable to decompress packet": dropped.
				c.logf("Unable to decompress packet from host %d: %v", msg.From, err)
				c.Stats.DroppedDecompress.Add(1)
				continue
			}
			d := since(t0)
			c.hstats.update(func(s *HandleStats) {
				s.RxCompressTime.add(d)
				s.RxCompressedPackets++
				s.RxCompressedOriginalBytes += uint64(len(clear))
				s.RxCompressedSizeBytes += uint64(len(msg.Data))
			})
			msg.Data = clear
		}
		select {
		case c.recv <- Message{From: msg.From, Bcast: msg.Bcast, Data: msg.Data}:
		default:
			c.Stats.DroppedQueueFull.Add(1)
		}
	}
}

// MTUChange reports a new global data MTU.
type MTUChange struct{ MTU int }

func (c *Conn) event(e any) {
	select {
	case c.events <- e:
	default: // nobody listening: events are informational
	}
}

func (c *Conn) write(o knet.Outgoing) {
	s := c.socks[o.Link]
	if s == nil {
		return
	}
	var salt [knet.SaltSize]byte
	c.txBuf = o.Packet.AppendTo(c.txBuf[:0])
	var wire []byte
	if c.crypto.Enabled() {
		t0 := time.Now()
		_, _ = rand.Read(salt[:])
		c.sealBuf = c.crypto.Seal(c.sealBuf[:0], c.txBuf, &salt)
		wire = c.sealBuf
		d := since(t0) / 1000
		c.hstats.update(func(s *HandleStats) {
			s.TxCryptPackets++
			s.TxCryptByteOverhead += uint64(len(wire) - len(c.txBuf))
			s.TxCryptTime.add(d)
		})
	} else {
		wire = c.txBuf
	}
	_, err := s.WriteToUDPAddrPort(wire, o.To)
	lc := c.counters[linkKey{o.Host, o.Link}]
	if lc != nil {
		lc.tx(o.Packet.Type(), len(wire), err != nil)
	}
	if err == nil {
		c.Stats.Sent.Add(1)
		return
	}
	c.Stats.SendErrors.Add(1)
	var failed knet.SendFailed
	switch {
	case errors.Is(err, unix.EMSGSIZE):
		failed = knet.SendFailed{Host: o.Host, Link: o.Link, KernelMTU: c.mtus[o.Link]}
	case errors.Is(err, unix.ECONNREFUSED), errors.Is(err, unix.EHOSTUNREACH), errors.Is(err, unix.ENETUNREACH):
		failed = knet.SendFailed{Host: o.Host, Link: o.Link}
	default:
		return
	}
	select {
	case c.in <- failed:
	default:
	}
}

// Send queues a message for node `to`, or for every reachable node when to is 0.
func (c *Conn) Send(to knet.NodeID, b []byte) error {
	if len(b) == 0 || len(b) > knet.MaxPacket {
		return fmt.Errorf("knetudp: message of %d bytes", len(b))
	}
	data, model := append([]byte(nil), b...), knet.CompressNone
	if c.txComp != nil {
		c.txMu.Lock()
		t0 := time.Now()
		out, m, tried := c.txComp.Compress(b)
		if m != knet.CompressNone {
			data, model = append(data[:0], out...), m
		}
		if tried {
			d := since(t0)
			c.hstats.update(func(s *HandleStats) {
				s.TxCompressTime.add(d)
				s.TxCompressedPackets++
				s.TxCompressedOriginalBytes += uint64(len(b))
				s.TxCompressedSizeBytes += uint64(len(out))
			})
		}
		if model == knet.CompressNone {
			c.hstats.update(func(s *HandleStats) { s.TxUncompressedPackets++ })
		}
		c.txMu.Unlock()
	}
	select {
	case c.in <- knet.Send{To: to, Data: data, Compress: model}:
		return nil
	case <-c.ctx.Done():
		return net.ErrClosed
	}
}

// Recv delivers the messages of the other nodes.
func (c *Conn) Recv() <-chan Message { return c.recv }

// Events delivers knet.LinkEvent, knet.HostEvent and MTUChange values; events
// are dropped when nobody reads them.
func (c *Conn) Events() <-chan any { return c.events }

// Status returns the state of every link, as of the last step.
func (c *Conn) Status() []knet.LinkStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]knet.LinkStatus(nil), c.status...)
}

// DataMTU is the current global data MTU.
func (c *Conn) DataMTU() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.DataMTU()
}

// Done is closed when the node is closed.
func (c *Conn) Done() <-chan struct{} { return c.ctx.Done() }

// Close stops the node and closes its sockets.
func (c *Conn) Close() error {
	c.cancel()
	c.closeSockets()
	c.wg.Wait()
	return nil
}
