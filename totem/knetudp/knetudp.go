// Package knetudp runs knet.Machine over real UDP sockets: one socket per local
// link bound to the link's address and port (5405 + link number by default), the
// options libknet sets (don't-fragment for path-MTU discovery, low-delay TOS,
// large buffers), crypto sealing with a fresh random salt per packet,
// compression, and libknet's link and handle counters. The machine sits behind
// one lock and is stepped by whoever has input: Send's caller (the message is on
// the wire when Send returns), one reader per link socket (recvmmsg batches,
// messages handed up from there), and a timer goroutine for heartbeats and
// PMTUd. To the layer above it is a datagram service between node ids: Send a
// message to one node or all, Recv (or Config.Deliver) the messages of the
// others.
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

	"golang.org/x/net/ipv4"
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
	// Deliver, if set, receives every message instead of the Recv channel.
	// It is called with the node's lock held, in receive order, and must not
	// block (queue or drop).
	Deliver func(Message)
	// CompressLogf receives compression set-up problems (a refused level or
	// model, a level replaced by the default); nil uses Logf.
	CompressLogf func(format string, args ...any)
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

	socks map[uint8]*net.UDPConn     // by link id
	pcs   map[uint8]*ipv4.PacketConn // the same sockets, for sendmmsg/recvmmsg
	mtus  map[uint8]int              // interface MTU behind each link socket

	in     chan knet.Input // SendFailed reports for the timer goroutine
	recv   chan Message
	events chan any

	// mu guards the machine and everything its outputs touch: whoever has
	// input (Send's caller, a socket's reader, the timer) steps the machine
	// and acts on the result under it, so a message goes to the socket from
	// the sending goroutine and a received one is handed up from the reading
	// goroutine, without a hop through another goroutine (libknet's TX and RX
	// threads likewise act on what they read).
	mu sync.Mutex
	m  *knet.Machine
	tx txState

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	Stats  Stats

	counters map[linkKey]*LinkCounters // fixed at Open
	hstats   handleStats
	txComp   *knet.Compressor // under mu
	rxComp   *knet.Compressor // under mu
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
		socks: map[uint8]*net.UDPConn{}, pcs: map[uint8]*ipv4.PacketConn{}, mtus: map[uint8]int{},
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
		logf := cfg.CompressLogf
		if logf == nil {
			logf = c.logf
		}
		comp, warn, err := knet.NewCompressor(cfg.Compress)
		switch {
		case err != nil:
			logf("knet_handle_compress failed: %v", err)
		case warn != "":
			logf("%s", warn)
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
			c.socks[l.Link], c.pcs[l.Link], c.mtus[l.Link] = s, ipv4.NewPacketConn(s), mtu
		}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for id := range c.socks {
		c.wg.Add(1)
		go c.readLoop(id, c.pcs[id])
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
			// KNET_RING_RCVBUFF (8 MiB) for both directions, forced past
			// net.core.[rw]mem_max as libknet's _configure_sockbuf does
			// when it may (root), else as much as the limit allows.
			for _, o := range [][2]int{{unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}, {unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}} {
				if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], 8<<20) != nil {
					_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[1], 8<<20)
				}
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

// rxBatchMax is how many datagrams one recvmmsg may return (libknet reads
// PCKT_RX_BUFS = 512 at a time; 64 covers a 64 KiB message in 1.4 KB fragments).
const rxBatchMax = 64

// readLoop reads datagrams in batches (recvmmsg, as libknet's RX thread does),
// authenticates, decrypts and decodes them, and steps the machine with them.
// The clear packets live in one slab reused batch after batch: the machine
// copies what it keeps.
func (c *Conn) readLoop(link uint8, pc *ipv4.PacketConn) {
	defer c.wg.Done()
	ms := make([]ipv4.Message, rxBatchMax)
	const bufSize = knet.MaxPacket + 1024
	wires := make([]byte, rxBatchMax*bufSize)
	for i := range ms {
		ms[i].Buffers = [][]byte{wires[i*bufSize : (i+1)*bufSize]}
	}
	slab := make([]byte, 0, 128<<10)
	pkts := make([]knet.Received, 0, rxBatchMax)
	for {
		n, err := pc.ReadBatch(ms, 0)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			continue // ICMP errors surface here on Linux; the pong timeout decides
		}
		pkts, slab = pkts[:0], slab[:0]
		var t0 time.Time
		if c.crypto.Enabled() {
			t0 = time.Now()
		}
		opened := 0
		for i := range ms[:n] {
			c.Stats.Received.Add(1)
			wire := ms[i].Buffers[0][:ms[i].N]
			if cap(slab)-len(slab) < len(wire) {
				// Earlier packets stay where they are: a fresh slab for the rest.
				slab = make([]byte, 0, max(cap(slab), len(wire)))
			}
			off := len(slab)
			plain, err := c.crypto.OpenTo(slab, wire)
			if err != nil {
				c.Stats.DroppedCrypto.Add(1)
				continue
			}
			slab = plain
			opened++
			p, err := knet.Decode(plain[off:])
			if err != nil {
				c.Stats.DroppedDecode.Add(1)
				continue
			}
			if lc := c.counters[linkKey{p.Source(), link}]; lc != nil {
				lc.rx(p.Type(), len(wire))
			}
			ua, _ := ms[i].Addr.(*net.UDPAddr)
			if ua == nil {
				continue
			}
			from := ua.AddrPort()
			pkts = append(pkts, knet.Received{Link: link, From: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), Packet: p})
		}
		if c.crypto.Enabled() && opened > 0 {
			d := since(t0) / 1000 / uint64(opened)
			c.hstats.update(func(s *HandleStats) {
				for range opened {
					s.RxCryptPackets++
					s.RxCryptTime.add(d)
				}
			})
		}
		if len(pkts) > 0 {
			c.step(pkts...)
		}
	}
}

// step feeds inputs to the machine and acts on its output, under mu.
func (c *Conn) step(ins ...knet.Received) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Since(c.start)
	for _, in := range ins {
		c.m.Step(now, in)
	}
	c.actLocked()
}

// stepOne is step for one input of any kind; it returns the next deadline.
func (c *Conn) stepOne(in knet.Input) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.Step(time.Since(c.start), in)
	return c.actLocked()
}

// loop is the timer: it steps the machine at each deadline, and with the
// send failures writers report.
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
		deadline := c.stepOne(in)
		d := deadline - time.Since(c.start)
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

// actLocked sends what the machine produced, reports its events and hands
// its messages up; it returns the machine's next deadline. mu is held.
func (c *Conn) actLocked() time.Duration {
	rd := c.m.Ready()
	c.m.Advance()
	c.writeAll(rd.Packets)
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
		m := Message{From: msg.From, Bcast: msg.Bcast, Data: msg.Data}
		if c.cfg.Deliver != nil {
			c.cfg.Deliver(m)
			continue
		}
		select {
		case c.recv <- m:
		default:
			c.Stats.DroppedQueueFull.Add(1)
		}
	}
	return rd.Deadline
}

// MTUChange reports a new global data MTU.
type MTUChange struct{ MTU int }

func (c *Conn) event(e any) {
	select {
	case c.events <- e:
	default: // nobody listening: events are informational
	}
}

// txState holds the loop goroutine's send buffers, reused round after round.
type txState struct {
	slab   []byte                          // sealed datagrams, back to back
	ms     map[uint8][]ipv4.Message        // per link socket
	outs   map[uint8][]int                 // index into the round's packets, per message
	addrs  map[netip.AddrPort]*net.UDPAddr // destination addresses, made once
	sealed map[*knet.Data][]byte
}

// writeAll seals every packet of one round and sends them with one sendmmsg
// per link socket (libknet's TX thread uses sendmmsg too), then accounts for
// each: counters, and the failures the machine must hear about.
func (c *Conn) writeAll(pkts []knet.Outgoing) {
	if len(pkts) == 0 {
		return
	}
	tx := &c.tx
	if tx.ms == nil {
		tx.ms, tx.outs, tx.addrs = map[uint8][]ipv4.Message{}, map[uint8][]int{}, map[netip.AddrPort]*net.UDPAddr{}
	}
	for id := range tx.ms {
		tx.ms[id], tx.outs[id] = tx.ms[id][:0], tx.outs[id][:0]
	}
	// Size the slab for the round first: slices into it must stay valid.
	need := 0
	for _, o := range pkts {
		need += c.wireLen(o.Packet)
	}
	if cap(tx.slab) < need {
		tx.slab = make([]byte, 0, need+need/4)
	}
	tx.slab = tx.slab[:0]
	enc := c.crypto.Enabled()
	var t0 time.Time
	if enc {
		t0 = time.Now()
	}
	var overhead, nsealed uint64
	var sealed map[*knet.Data][]byte // frames shared by several destinations, sealed once
	if len(pkts) > 1 {
		if tx.sealed == nil {
			tx.sealed = map[*knet.Data][]byte{}
		}
		clear(tx.sealed)
		sealed = tx.sealed
	}
	for i, o := range pkts {
		if c.socks[o.Link] == nil {
			continue
		}
		d, _ := o.Packet.(*knet.Data)
		if w, ok := sealed[d]; ok && d != nil {
			c.queueTx(o, w, i)
			continue
		}
		off := len(tx.slab)
		if enc {
			var salt [knet.SaltSize]byte
			_, _ = rand.Read(salt[:])
			var plain int
			nsealed++
			tx.slab, plain = c.crypto.SealPacket(tx.slab, o.Packet, &salt)
			overhead += uint64(len(tx.slab) - off - plain)
		} else {
			tx.slab = o.Packet.AppendTo(tx.slab)
		}
		w := tx.slab[off:len(tx.slab):len(tx.slab)]
		if d != nil && sealed != nil {
			sealed[d] = w
		}
		c.queueTx(o, w, i)
	}
	if enc && nsealed > 0 {
		n := nsealed
		d := since(t0) / 1000 / n
		c.hstats.update(func(s *HandleStats) {
			s.TxCryptByteOverhead += overhead
			for range n {
				s.TxCryptPackets++
				s.TxCryptTime.add(d)
			}
		})
	}
	for id, ms := range tx.ms {
		pc := c.pcs[id]
		for sent := 0; sent < len(ms); {
			n, err := pc.WriteBatch(ms[sent:], 0)
			n = max(n, 0)
			for k := sent; k < sent+n; k++ {
				c.sent(pkts[tx.outs[id][k]], len(ms[k].Buffers[0]), nil)
			}
			sent += n
			if err != nil {
				// The first unsent datagram failed: account for it and
				// go on with the rest, as one sendto each would.
				if sent < len(ms) {
					c.sent(pkts[tx.outs[id][sent]], len(ms[sent].Buffers[0]), err)
					sent++
				}
			} else if n == 0 {
				break
			}
		}
	}
}

// queueTx adds one datagram to its socket's batch.
func (c *Conn) queueTx(o knet.Outgoing, wire []byte, i int) {
	tx := &c.tx
	ua := tx.addrs[o.To]
	if ua == nil {
		ua = net.UDPAddrFromAddrPort(o.To)
		tx.addrs[o.To] = ua
	}
	tx.ms[o.Link] = append(tx.ms[o.Link], ipv4.Message{Buffers: [][]byte{wire}, Addr: ua})
	tx.outs[o.Link] = append(tx.outs[o.Link], i)
}

// wireLen bounds the sealed size of a packet.
func (c *Conn) wireLen(p knet.Packet) int {
	n := knet.HeaderAllSize
	switch p := p.(type) {
	case *knet.Data:
		n = knet.DataHeaderSize + len(p.Payload)
	case *knet.PMTUD:
		n = max(p.Len, knet.PMTUDReplySize)
	}
	return n + c.crypto.Overhead(n) + 16
}

// sent accounts for one datagram: counters, and a failure the machine must
// hear about (EMSGSIZE during path-MTU discovery, or an error that takes the
// link down).
func (c *Conn) sent(o knet.Outgoing, n int, err error) {
	if lc := c.counters[linkKey{o.Host, o.Link}]; lc != nil {
		lc.tx(o.Packet.Type(), n, err != nil)
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

// Send sends a message to node `to`, or to every reachable node when to is
// 0: compressed when configured, numbered, cut at the data MTU, sealed and
// written to the link sockets before Send returns. b is not kept.
func (c *Conn) Send(to knet.NodeID, b []byte) error {
	if len(b) == 0 || len(b) > knet.MaxPacket {
		return fmt.Errorf("knetudp: message of %d bytes", len(b))
	}
	if c.ctx.Err() != nil {
		return net.ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	data, model := b, knet.CompressNone
	if c.txComp != nil {
		t0 := time.Now()
		out, m, tried := c.txComp.Compress(b)
		data, model = out, m
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
	}
	c.m.Step(time.Since(c.start), knet.Send{To: to, Data: data, Compress: model})
	c.actLocked()
	return nil
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
	return c.m.Status()
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
