// Package node is the driver that makes a running corosync node out of the
// pure machines: it owns the sockets (a Transport), the clock and the one OS
// timer, and moves data between
//
//   - the SRP machine (package totem): membership and the ordered ring;
//   - totempg (package totem/pg): packing service messages into SRP mcasts
//     and reassembling them, with the group header ("a" or "sync");
//   - the service synchronisation (package svcsync) that runs after every
//     new ring before the node provides service again;
//   - the service engines (cmap 0, cpg 2, quorum 3, votequorum 5), which see
//     their group "a" messages in agreed order.
//
// It mirrors corosync's main loop (exec/main.c, exec/totempg.c,
// exec/totemsrp.c): one goroutine runs everything, so the machines need no
// locks; other goroutines reach the node through Do. Time and sockets live
// here and nowhere below.
//
// Order of work for one SRP Ready (the contract written on totem.Ready):
// persist the ring id, send the packets, then hand the events up. Messages
// the services produce while handling events are packed and queued for the
// ring at the end of the same round; the packer is flushed at every round
// and before every token, as totempg flushes at every token receipt.
package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ringmaster/internal/corolog"
	"ringmaster/svcsync"
	"ringmaster/totem"
	"ringmaster/totem/pg"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
)

// Transport is the link layer: totem/transport's udp and udpu drivers
// satisfy it, and a knet driver can plug in behind the same three methods.
// Received packets must already be decoded (transport.Packet.Msg).
type Transport interface {
	SendMsg(to wire.NodeID, m wire.Message, flush bool) error
	Recv() <-chan transport.Packet
	Close() error
}

// Service is one service engine as the node sees it: its sync callbacks,
// its messages in agreed order, and the messages it wants multicast.
type Service interface {
	svcsync.Service
	// Deliver handles one message of this service (group "a") from node
	// from, in agreed order. An error means the message was dropped.
	Deliver(from uint32, msg []byte, foreign bool) error
	// Outbox returns, and forgets, the messages the service produced since
	// the last call; the node multicasts them to group "a" in order.
	Outbox() [][]byte
}

// Timed is a service with a timer of its own (votequorum's
// last_man_standing window). Times are on the node's clock (Now).
type Timed interface {
	// Deadline reports the service's next deadline, if any.
	Deadline() (time.Duration, bool)
	// Fire runs what is due at now.
	Fire(now time.Duration)
}

// Entry registers a service under its corosync service id. Sync says
// whether it takes part in service synchronisation (corosync: it has sync
// callbacks); Svc may be nil for a sync-only placeholder.
type Entry struct {
	ID   int
	Name string
	Svc  Service
	Sync bool
}

// Logf writes one log line for a corosync subsystem (TOTEM, QUORUM, MAIN ...).
// fn is the corosync C function that logs the same line (what
// function_name: on prints), so that our lines read as corosync's. Lines
// that have no exact corosync counterpart are logged at Trace, so that a
// debug log holds only corosync's own lines.
type Logf func(subsys, fn string, p corolog.Priority, format string, args ...any)

// Hooks are called from the node goroutine; they must not block on the node.
type Hooks struct {
	// ConfChange sees every configuration change after the node handled it.
	ConfChange func(totem.ConfChange)
	// SyncCompleted is called when service synchronisation for a ring
	// finished ("Completed service synchronization").
	SyncCompleted func(ring totem.RingID, members []totem.NodeID)
}

// Config describes one node.
type Config struct {
	Totem   totem.Config // with defaults applied
	Framing wire.Framing // wire.V3 when 0
	// NetMTU is the SRP net_mtu (wire.NetMTU); it sizes totempg packets.
	NetMTU    int
	Transport Transport
	// StateDir holds ringid_<nodeid>; "" keeps the ring seq in memory only.
	StateDir string
	// Addrs are the members' ring0 addresses; 2.x framing needs them to
	// write totem_ip_address fields (see addr2x.go).
	Addrs    map[wire.NodeID]netip.Addr
	Services []Entry
	Log      Logf
	Hooks    Hooks
}

// Stats counts the driver's own work; the SRP's counters are in
// totem.Stats.
type Stats struct {
	RxPackets, TxPackets   uint64
	RxDecodeErrors         uint64 // raw datagrams that are not SRP messages (2.x: see the transport's crypto counters)
	TxErrors               uint64
	RxDeliverErrors        uint64 // service or sync messages that did not decode
	RxGroupErrors          uint64 // group headers that did not decode
	PgErrors               uint64 // totempg packets dropped by the assembler
	RingPersistErrors      uint64
	SendQueueFull          uint64
	SyncCompleted          uint64
	ConfChanges            uint64
	LastSyncRing           totem.RingID
	Operational            bool
	Members                []totem.NodeID
	AppQueued, AppReleased uint64
}

// Node is a running corosync node.
type Node struct {
	cfg   Config
	log   Logf
	srp   *totem.Machine
	pk    *pg.Packer
	asm   *pg.Assembler
	sync  *svcsync.Machine
	svcs  map[int]Service
	start time.Time

	// out is the reused batch handed to a batchSender.
	out []transport.Out
	// groupHdr caches each group's header iovecs (pg.Groups); iov and
	// groups are scratch slices for packing and for reading group names.
	groupHdr map[string][][]byte
	iov      [][]byte
	groups   [][]byte
	// backlog holds totempg packets the SRP refused (queue full), in order.
	backlog [][]byte
	// app holds group "a" messages from local clients, released once the
	// current ring finished service synchronisation (corosync blocks
	// library sends while sync runs).
	app      [][]byte
	syncing  bool
	members  []totem.NodeID
	ring     totem.RingID
	lastTran []totem.NodeID
	lastLeft []totem.NodeID
	lastFail []totem.NodeID
	stats    Stats

	calls chan func()
	// direct is the transport's own-goroutine receiver when it has one
	// (udpu): Run then reads the socket itself, and Do queues its calls
	// in callq and wakes the read.
	direct   *transport.Direct
	callMu   sync.Mutex
	callq    []func()
	done     chan struct{}
	killed   atomic.Bool
	stopOnce chan struct{}
}

// ErrStopped is returned by Do after the node stopped.
var ErrStopped = errors.New("node: stopped")

// New prepares a node; Run starts it.
func New(cfg Config) (*Node, error) {
	if cfg.Framing == 0 {
		cfg.Framing = wire.V3
	}
	cfg.Totem.Framing = cfg.Framing
	if cfg.NetMTU == 0 {
		cfg.NetMTU = wire.NetMTU(cfg.Framing, 1500, nil)
	}
	if cfg.Transport == nil {
		return nil, errors.New("node: no transport")
	}
	if cfg.Log == nil {
		cfg.Log = func(string, string, corolog.Priority, string, ...any) {}
	}
	n := &Node{cfg: cfg, log: cfg.Log, svcs: map[int]Service{},
		calls: make(chan func()), done: make(chan struct{}), stopOnce: make(chan struct{}, 1)}
	if dt, ok := cfg.Transport.(interface{ Direct() *transport.Direct }); ok {
		n.direct = dt.Direct()
	}
	srp, err := totem.New(cfg.Totem, n.srpLog)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n.srp = srp
	n.pk = pg.NewPacker(cfg.NetMTU)
	n.asm = pg.NewAssembler()
	var entries []svcsync.Entry
	for _, e := range cfg.Services {
		if e.Svc != nil {
			n.svcs[e.ID] = e.Svc
		}
		if e.Sync {
			var s svcsync.Service = noSync{}
			if e.Svc != nil {
				s = e.Svc
			}
			entries = append(entries, svcsync.Entry{ID: e.ID, Name: e.Name, Service: s})
		}
	}
	n.sync = svcsync.New(entries...)
	return n, nil
}

type noSync struct{}

func (noSync) SyncInit(_, _ []uint32, _ []byte) {}
func (noSync) SyncProcess() bool                { return true }
func (noSync) SyncActivate()                    {}
func (noSync) SyncAbort()                       {}

// srpLog routes the SRP machine's lines: the ones corosync logs at notice
// stay notice, the rest is debug. The membership line is written by the
// node itself from the configuration change, in corosync's words.
func (n *Node) srpLog(format string, args ...any) {
	switch {
	case strings.HasPrefix(format, "A processor failed"):
		n.log("TOTEM", "timer_function_orf_token_timeout", corolog.Notice, format, args...)
	case strings.HasPrefix(format, "FAILED TO RECEIVE"):
		n.log("TOTEM", "message_handler_orf_token", corolog.Notice, format, args...)
	case strings.HasPrefix(format, "A new membership"), strings.HasPrefix(format, "Failed to receive the leave"):
		// rendered by confChange
	default:
		n.log("TOTEM", "totemsrp", corolog.Trace, format, args...)
	}
}

func (n *Node) now() time.Duration { return time.Since(n.start) }

// ringidPath is <state_dir>/ringid_<nodeid> (totemsrp.c timer/ring id
// store of 3.x).
func (n *Node) ringidPath() string {
	return filepath.Join(n.cfg.StateDir, fmt.Sprintf("ringid_%d", n.cfg.Totem.NodeID))
}

// loadRingSeq reads the stored ring seq; a missing or short file counts as
// 0 and is created, as corosync does.
func (n *Node) loadRingSeq() uint64 {
	if n.cfg.StateDir == "" {
		return 0
	}
	b, err := os.ReadFile(n.ringidPath())
	if err == nil && len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	n.storeRingSeq(0)
	return 0
}

func (n *Node) storeRingSeq(seq uint64) {
	if n.cfg.StateDir == "" {
		return
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seq)
	p := n.ringidPath()
	tmp := p + ".tmp"
	err := os.MkdirAll(n.cfg.StateDir, 0o755)
	if err == nil {
		err = os.WriteFile(tmp, b[:], 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		n.stats.RingPersistErrors++
		n.log("TOTEM", "corosync_ring_id_store", corolog.Warning, "Failed to store ring id to %s: %v", p, err)
	}
}

// Run runs the node until ctx ends (then it leaves the ring cleanly) or
// Kill is called (then it just stops, as after kill -9). It closes the
// transport before returning.
func (n *Node) Run(ctx context.Context) error {
	defer close(n.done)
	defer n.cfg.Transport.Close()
	n.start = time.Now()
	seq := n.loadRingSeq()
	if err := n.srp.Step(n.now(), totem.Start{RingSeq: seq}); err != nil {
		return fmt.Errorf("node: start: %w", err)
	}
	n.round()
	if n.direct != nil {
		return n.runDirect(ctx)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	recv := n.cfg.Transport.Recv()
	// armed is the deadline the timer is set for; under load the SRP's
	// deadline moves once per token, not per datagram, so the timer is
	// only re-armed when it changed (or fired).
	armed, armedOK := time.Duration(-1), false
	for {
		if d, ok := n.deadline(); ok != armedOK || d != armed {
			armed, armedOK = d, ok
			if ok {
				timer.Reset(max(d-n.now(), 0))
			} else {
				timer.Reset(time.Hour)
			}
		}
		select {
		case <-ctx.Done():
			if n.killed.Load() {
				return nil
			}
			n.leave()
			return nil
		case <-n.stopOnce:
			return nil
		case p, ok := <-recv:
			if !ok {
				return errors.New("node: transport closed")
			}
			n.receive(p, recv)
			// Take what else is already queued before finishing the round:
			// one round (services' output, packer, timer) per burst rather
			// than per datagram. A token inside the burst still sees the
			// services' output first (receive calls round before it).
			for i, l := 0, len(recv); i < l; i++ {
				q, ok := <-recv
				if !ok {
					return errors.New("node: transport closed")
				}
				n.receive(q, recv)
			}
		case f := <-n.calls:
			f()
		case <-timer.C:
			armed, armedOK = -1, false
			n.step(totem.Tick{})
			n.fireServices()
		}
		n.round()
	}
}

// runDirect is Run's loop when the node reads its socket itself: wait for
// datagrams until the next deadline or a wake-up (Do, Kill, ctx), then
// handle what came, what is due and what was asked, and finish the round.
func (n *Node) runDirect(ctx context.Context) error {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			n.direct.Wake()
		case <-stop:
		}
	}()
	var pkts []transport.Packet
	for {
		select {
		case <-n.stopOnce:
			return nil
		default:
		}
		if ctx.Err() != nil {
			if n.killed.Load() {
				return nil
			}
			n.leave()
			return nil
		}
		if n.runCalls() {
			n.round()
		}
		d, ok := n.deadline()
		var dl time.Time
		if ok {
			dl = n.start.Add(d)
		}
		var err error
		pkts, err = n.direct.Read(dl, pkts[:0])
		switch {
		case err == nil:
			n.receiveBatch(pkts)
			clear(pkts)
		case errors.Is(err, transport.ErrWoken), errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, net.ErrClosed):
			return errors.New("node: transport closed")
		default:
			n.log("TOTEM", "totemudpu", corolog.Trace, "receive: %v", err)
		}
		if ok && n.now() >= d {
			n.step(totem.Tick{})
			n.fireServices()
		}
		n.round()
	}
}

// runCalls runs the calls Do queued for a direct node; it reports whether
// there were any.
func (n *Node) runCalls() bool {
	n.callMu.Lock()
	q := n.callq
	n.callq = nil
	n.callMu.Unlock()
	for _, f := range q {
		f()
	}
	return len(q) > 0
}

// receiveBatch handles datagrams read together, as receive does for the
// channel: mcasts first, then the tokens among them.
func (n *Node) receiveBatch(pkts []transport.Packet) {
	var tokens []wire.Message
	for i := range pkts {
		n.stats.RxPackets++
		if !n.decode(&pkts[i]) {
			continue
		}
		if pkts[i].Msg.Type() == wire.TypeOrfToken {
			tokens = append(tokens, pkts[i].Msg)
			continue
		}
		n.step(totem.Receive{Msg: pkts[i].Msg})
	}
	for _, t := range tokens {
		n.round()
		n.flushPacker()
		n.step(totem.Receive{Msg: t})
	}
}

// Kill stops the node without a leave message (kill -9 as seen by the
// ring). Run returns soon after.
func (n *Node) Kill() {
	n.killed.Store(true)
	select {
	case n.stopOnce <- struct{}{}:
	default:
	}
	if n.direct != nil {
		n.direct.Wake()
	}
}

// Done is closed when Run has returned.
func (n *Node) Done() <-chan struct{} { return n.done }

// Do runs f in the node goroutine and waits for it; f may use the node's
// accessors and Mcast. It returns ErrStopped if the node is not running.
func (n *Node) Do(f func()) error {
	ran := make(chan struct{})
	if n.direct != nil {
		select {
		case <-n.done:
			return ErrStopped
		default:
		}
		n.callMu.Lock()
		n.callq = append(n.callq, func() { f(); close(ran) })
		n.callMu.Unlock()
		n.direct.Wake()
		select {
		case <-ran:
			return nil
		case <-n.done:
			return ErrStopped
		}
	}
	select {
	case n.calls <- func() { f(); close(ran) }:
	case <-n.done:
		return ErrStopped
	}
	select {
	case <-ran:
		return nil
	case <-n.done:
		return ErrStopped
	}
}

// leave is the orderly shutdown: services get a last word (votequorum's
// leaving flag), then the SRP multicasts its leave message.
func (n *Node) leave() {
	n.round()
	if err := n.srp.Step(n.now(), totem.Leave{}); err == nil {
		n.drainSRP()
	}
}

func (n *Node) deadline() (time.Duration, bool) {
	rd := n.srp.Ready()
	d, ok := rd.Deadline, rd.HasDeadline
	for _, e := range n.cfg.Services {
		if t, is := e.Svc.(Timed); is {
			if sd, sok := t.Deadline(); sok && (!ok || sd < d) {
				d, ok = sd, true
			}
		}
	}
	return d, ok
}

// fireServices runs the services' timers that are due.
func (n *Node) fireServices() {
	now := n.now()
	for _, e := range n.cfg.Services {
		if t, is := e.Svc.(Timed); is {
			if d, ok := t.Deadline(); ok && d <= now {
				t.Fire(now)
			}
		}
	}
}

// Now is the node's monotonic clock (time since Run started); services use
// it for their deadlines.
func (n *Node) Now() time.Duration { return n.now() }

// decode makes sure a received packet carries its SRP message: transports
// configured without a framing hand up raw bytes, which are decoded here.
// Undecodable datagrams are dropped and counted.
func (n *Node) decode(p *transport.Packet) bool {
	if p.Msg == nil {
		m, err := wire.Decode(p.Data, n.cfg.Framing)
		if err != nil {
			n.stats.RxDecodeErrors++
			return false
		}
		p.Msg = m
	}
	if n.cfg.Framing == wire.V2 {
		stripMsg(p.Msg)
	}
	return true
}

// receive handles one datagram. Before a token, corosync first processes
// every mcast already waiting in its sockets (totemsrp's receive flush), so
// that messages sent before the token are seen first; the udp transport has
// two sockets, so the channel may hold them behind the token.
func (n *Node) receive(p transport.Packet, recv <-chan transport.Packet) {
	n.stats.RxPackets++
	if !n.decode(&p) {
		return
	}
	if p.Msg.Type() != wire.TypeOrfToken {
		n.step(totem.Receive{Msg: p.Msg})
		return
	}
	var tokens []wire.Message
	tokens = append(tokens, p.Msg)
	for i, l := 0, len(recv); i < l; i++ {
		q, ok := <-recv
		if !ok {
			break
		}
		n.stats.RxPackets++
		if !n.decode(&q) {
			continue
		}
		if q.Msg.Type() == wire.TypeOrfToken {
			tokens = append(tokens, q.Msg)
			continue
		}
		n.step(totem.Receive{Msg: q.Msg})
	}
	for _, t := range tokens {
		// What the services produced while handling the messages before
		// the token rides on it, as in corosync, where they are queued as
		// soon as they are produced.
		n.round()
		// callback_token_received_fn: staged totempg messages leave now.
		n.flushPacker()
		n.step(totem.Receive{Msg: t})
	}
}

// step feeds the SRP and acts on its output.
func (n *Node) step(in totem.Input) {
	if err := n.srp.Step(n.now(), in); err != nil {
		n.log("TOTEM", "totemsrp", corolog.Trace, "step %T: %v", in, err)
	}
	n.drainSRP()
}

// drainSRP acts on the SRP's Ready until it is empty: persist, send, hand up.
func (n *Node) drainSRP() {
	for range 64 {
		if !n.srp.HasReady() {
			return
		}
		rd := n.srp.Ready()
		if rd.PersistRing != nil {
			n.storeRingSeq(rd.PersistRing.Seq)
		}
		n.send(rd.Packets)
		events := rd.Events
		state := rd.State
		n.srp.Advance()
		n.stats.Operational = state == totem.Operational
		if state != totem.Operational && n.syncing {
			// A new membership is forming: the running sync is void
			// (sync_abort via totempg's confchg path).
			n.sync.Abort()
			n.syncing = false
			n.drainSync()
		}
		for _, e := range events {
			switch e := e.(type) {
			case totem.Deliver:
				n.deliver(e)
			case totem.ConfChange:
				n.confChange(e)
			}
		}
	}
}

// batchSender is a Transport that sends several messages with few system
// calls (totem/transport: one sendmmsg for a token visit's mcasts).
type batchSender interface {
	SendMsgs(out []transport.Out) error
}

// send hands one Ready's packets to the transport, in order.
func (n *Node) send(pkts []totem.Packet) {
	if len(pkts) == 0 {
		return
	}
	n.stats.TxPackets += uint64(len(pkts))
	if bs, ok := n.cfg.Transport.(batchSender); ok {
		out := n.out[:0]
		for _, p := range pkts {
			msg := p.Msg
			if n.cfg.Framing == wire.V2 {
				msg = addrBook(n.cfg.Addrs).fill(msg)
			}
			out = append(out, transport.Out{To: p.To, Msg: msg, Flush: p.Flush})
		}
		if err := bs.SendMsgs(out); err != nil {
			n.stats.TxErrors++
			n.log("TOTEM", "totemudp", corolog.Trace, "send: %v", err)
		}
		clear(out)
		n.out = out[:0]
		return
	}
	for _, p := range pkts {
		msg := p.Msg
		if n.cfg.Framing == wire.V2 {
			msg = addrBook(n.cfg.Addrs).fill(msg)
		}
		if err := n.cfg.Transport.SendMsg(p.To, msg, p.Flush); err != nil {
			n.stats.TxErrors++
			n.log("TOTEM", "totemudp", corolog.Trace, "send %s: %v", p.Msg.Type(), err)
		}
	}
}

// deliver reassembles one ordered mcast and dispatches its messages.
func (n *Node) deliver(d totem.Deliver) {
	msgs, err := n.asm.Deliver(uint32(d.From), d.Payload, false)
	if err != nil {
		n.stats.PgErrors++
		n.log("TOTEM", "totempg_deliver_fn", corolog.Trace, "totempg: from %d: %v", d.From, err)
	}
	for _, m := range msgs {
		groups, body, err := pg.SplitGroupsInto(n.groups, m, false)
		n.groups = groups
		if err != nil {
			n.stats.RxGroupErrors++
			continue
		}
		switch {
		case pg.InGroup(groups, "sync"):
			if err := n.sync.Deliver(uint32(d.From), body); err != nil {
				n.stats.RxDeliverErrors++
				n.log("SYNC", "sync_deliver_fn", corolog.Trace, "%v", err)
			}
			n.drainSync()
		case pg.InGroup(groups, "a"):
			if len(body) < 16 {
				n.stats.RxDeliverErrors++
				continue
			}
			id := int(binary.LittleEndian.Uint32(body) >> 16)
			svc := n.svcs[id]
			if svc == nil {
				continue // corosync ignores services it does not run
			}
			if err := svc.Deliver(uint32(d.From), body, false); err != nil {
				n.stats.RxDeliverErrors++
				n.log("MAIN", "deliver_fn", corolog.Trace, "service %d: message from %d dropped: %v", id, d.From, err)
			}
		}
	}
}

func (n *Node) confChange(c totem.ConfChange) {
	n.stats.ConfChanges++
	if c.Kind == totem.Transitional {
		for _, l := range c.Left {
			n.asm.NodeLeft(uint32(l))
		}
		n.lastTran = append(n.lastTran[:0], c.Members...)
		n.lastLeft = append(n.lastLeft[:0], c.Left...)
		n.lastFail = append(n.lastFail[:0], c.Failed...)
		n.sync.SaveTransitional(ids32(c.Members))
		if n.cfg.Hooks.ConfChange != nil {
			n.cfg.Hooks.ConfChange(c)
		}
		return
	}
	// Regular: corosync's sync_start, then the membership line from
	// memb_state_operational_enter (the quorum service's "Sync members"
	// lines, logged from its sync_init, come first).
	left := n.lastLeft
	n.members = append([]totem.NodeID(nil), c.Members...)
	n.ring = c.Ring
	n.stats.Members = n.members
	if n.syncing {
		n.sync.Abort()
	}
	n.syncing = true
	n.sync.Start(ids32(c.Members), n.ringBytes(c.Ring))
	var b strings.Builder
	fmt.Fprintf(&b, "A new membership (%s) was formed. Members", c.Ring)
	if len(c.Joined) > 0 {
		fmt.Fprintf(&b, " joined:%s", idList(c.Joined))
	}
	if len(left) > 0 {
		fmt.Fprintf(&b, " left:%s", idList(left))
	}
	n.log("TOTEM", "memb_state_operational_enter", corolog.Notice, "%s", b.String())
	if len(n.lastFail) > 0 {
		n.log("TOTEM", "memb_state_operational_enter", corolog.Notice, "%s", failedLine(n.lastFail))
	}
	n.lastLeft, n.lastFail = n.lastLeft[:0], n.lastFail[:0]
	if n.cfg.Hooks.ConfChange != nil {
		n.cfg.Hooks.ConfChange(c)
	}
	n.drainSync()
}

// FailedLine renders corosync's "Failed to receive the leave message" line.
func failedLine(failed []totem.NodeID) string {
	return "Failed to receive the leave message. failed:" + idList(failed)
}

// drainSync sends what the sync machine produced and logs its lines.
func (n *Node) drainSync() {
	for range 16 {
		rd := n.sync.Ready()
		n.sync.Advance()
		// Service messages of the step (e.g. cpg's DOWNLIST) go before the
		// sync's own (the BARRIER that follows them).
		n.collectOutboxes()
		for _, l := range rd.Logs {
			n.log("SYNC", "sync", corolog.Trace, "%s", strings.TrimRight(l, "\n"))
		}
		for _, m := range rd.Messages {
			n.queue("sync", m)
		}
		if rd.Completed && n.syncing {
			n.syncing = false
			n.stats.SyncCompleted++
			n.stats.LastSyncRing = n.ring
			n.log("MAIN", "corosync_sync_completed", corolog.Notice, "Completed service synchronization, ready to provide service.")
			if n.cfg.Hooks.SyncCompleted != nil {
				n.cfg.Hooks.SyncCompleted(n.ring, append([]totem.NodeID(nil), n.members...))
			}
		}
		if rd.Pending {
			n.sync.Process()
			continue
		}
		return
	}
}

// ringBytes encodes a ring id as the sync messages carry it (12 bytes in
// 3.x, 30 in 2.x), by encoding a token_hold_cancel and cutting the header.
func (n *Node) ringBytes(r totem.RingID) []byte {
	f := n.cfg.Framing
	if f == wire.V2 {
		r = addrBook(n.cfg.Addrs).ring(r)
	}
	b := wire.Encode(&wire.TokenHoldCancel{RingID: r}, f)
	return b[f.HeaderSize():]
}

// collectOutboxes moves every service's produced messages to group "a".
func (n *Node) collectOutboxes() {
	for _, e := range n.cfg.Services {
		if e.Svc == nil {
			continue
		}
		for _, m := range e.Svc.Outbox() {
			n.queue("a", m)
		}
	}
}

// queue packs one service message for the ring.
func (n *Node) queue(group string, msg []byte) {
	hdr := n.groupHdr[group]
	if hdr == nil {
		if n.groupHdr == nil {
			n.groupHdr = map[string][][]byte{}
		}
		hdr = pg.Groups(group)
		n.groupHdr[group] = hdr
	}
	// Add may rewrite the iovec list in place: build it in scratch space.
	iov := append(append(n.iov[:0], hdr...), msg)
	for _, pkt := range n.pk.Add(iov...) {
		n.submit(pkt)
	}
	clear(iov)
	n.iov = iov[:0]
}

func (n *Node) flushPacker() {
	if pkt := n.pk.Flush(); pkt != nil {
		n.submit(pkt)
	}
}

// submit hands one totempg packet to the SRP, keeping order behind any
// packets it refused earlier.
func (n *Node) submit(pkt []byte) {
	n.backlog = append(n.backlog, pkt)
	n.pushBacklog()
}

func (n *Node) pushBacklog() {
	for len(n.backlog) > 0 {
		err := n.srp.Step(n.now(), totem.Send{Payload: n.backlog[0]})
		if errors.Is(err, totem.ErrQueueFull) {
			n.stats.SendQueueFull++
			return
		}
		if err != nil {
			// Down: nothing will carry it.
			n.backlog = n.backlog[:0]
			return
		}
		n.backlog = n.backlog[1:]
	}
}

// round finishes one turn of the loop: services' messages are queued,
// local application messages are released when the ring is synchronised,
// the packer is flushed and the SRP's output acted upon.
func (n *Node) round() {
	for range 8 {
		n.collectOutboxes()
		if !n.syncing && n.stats.Operational && len(n.app) > 0 {
			for _, m := range n.app {
				n.queue("a", m)
			}
			n.stats.AppReleased += uint64(len(n.app))
			n.app = n.app[:0]
		}
		// totempg stages small messages and flushes them at the next token
		// (callback_token_received_fn, done in receive). Only an idle SRP
		// queue gets the staged packet at once: nothing else would carry
		// it soon, and queueing it wakes a held token (totemsrp_event_signal).
		// Under load this packs many messages per mcast, as corosync does.
		if n.srp.Pending() == 0 && len(n.backlog) == 0 {
			n.flushPacker()
		}
		n.pushBacklog()
		n.drainSRP()
		if !n.srp.HasReady() {
			return
		}
	}
}

// Mcast queues a local client's message for group "a" (a service message
// with its 16-byte header). It waits while service synchronisation runs.
// Call it from the node goroutine (inside Do).
func (n *Node) Mcast(msg []byte) {
	n.stats.AppQueued++
	n.app = append(n.app, msg)
}

// Room is how many more totempg packets the SRP can queue now.
func (n *Node) Room() int { return totem.MaxPending - n.srp.Pending() - len(n.backlog) }

// PendingApp is the number of local messages not yet handed to the ring.
func (n *Node) PendingApp() int { return len(n.app) + len(n.backlog) }

// Members is the current ring's membership (node goroutine only).
func (n *Node) Members() []totem.NodeID { return append([]totem.NodeID(nil), n.members...) }

// Ring is the current ring id (node goroutine only).
func (n *Node) Ring() totem.RingID { return n.ring }

// Synced reports whether the current ring finished service synchronisation.
func (n *Node) Synced() bool { return !n.syncing && n.stats.Operational && len(n.members) > 0 }

// Stats returns the driver and SRP counters (node goroutine only).
func (n *Node) Stats() (Stats, totem.Stats) {
	s := n.stats
	s.Members = append([]totem.NodeID(nil), n.members...)
	return s, n.srp.Stats()
}

func ids32(ns []totem.NodeID) []uint32 {
	out := make([]uint32, len(ns))
	for i, x := range ns {
		out[i] = uint32(x)
	}
	return out
}

func idList(ns []totem.NodeID) string {
	var b strings.Builder
	for _, x := range ns {
		fmt.Fprintf(&b, " %d", x)
	}
	return b.String()
}

func subtract(a, b []totem.NodeID) []totem.NodeID {
	var out []totem.NodeID
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}
