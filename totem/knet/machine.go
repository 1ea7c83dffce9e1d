package knet

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"time"
)

// Machine is the local end of knet for one node: heartbeats and link state per
// peer host and link, link selection, path-MTU discovery, sequence numbering,
// fragmentation, duplicate suppression and reassembly (knet-wire.md §2–4; libknet
// threads_heartbeat.c, threads_pmtud.c, threads_tx.c, threads_rx.c, links.c).
//
// It is a pure state machine: the driver feeds it clear-text packets that came in
// on a link socket, messages to send, send errors and the passing of time, and
// takes out packets to seal and send, messages to hand up, and link and host events.
// Nothing here reads a clock, opens a socket or starts a goroutine.
type Machine struct {
	cfg   Config
	hosts []*host
	byID  map[NodeID]*host

	txSeq    uint16
	rr       int
	lastTick time.Duration
	started  bool
	dataMTU  int

	ready Ready
}

// LinkMode is totem.link_mode: how data is spread over a host's usable links.
type LinkMode int

const (
	// Passive sends on one link: the usable one with the highest priority, ties to
	// the lowest link id (corosync's default).
	Passive LinkMode = iota
	// Active sends every message on every usable link; the receiver deduplicates.
	Active
	// RoundRobin sends each message on the next usable link in turn.
	RoundRobin
)

// ParseLinkMode reads corosync.conf's link_mode.
func ParseLinkMode(s string) (LinkMode, error) {
	switch s {
	case "", "passive":
		return Passive, nil
	case "active":
		return Active, nil
	case "rr":
		return RoundRobin, nil
	}
	return 0, fmt.Errorf("knet: link_mode %q (want passive, active or rr)", s)
}

// LinkConfig is one link to a peer host: corosync's interface { linknumber } values
// with the peer's ringN_addr.
type LinkConfig struct {
	Link         uint8
	Local        netip.AddrPort // our address on this link (the socket's)
	Remote       netip.AddrPort // the peer's
	Priority     uint8          // knet_link_priority (corosync default 1)
	PingInterval time.Duration  // knet_ping_interval (corosync: token / (2 × pong_count))
	PongTimeout  time.Duration  // knet_ping_timeout (corosync: token / pong_count)
	PongCount    int            // knet_pong_count (corosync default 2)
	Precision    int            // knet_ping_precision (2048)
}

// HostConfig is one peer node and its links.
type HostConfig struct {
	ID    NodeID
	Links []LinkConfig
}

// Config configures a Machine.
type Config struct {
	Self          NodeID
	Hosts         []HostConfig // the peers; the local node is not listed
	Mode          LinkMode
	PMTUDInterval time.Duration // totem.knet_pmtud_interval (corosync default 30 s)
	MTU           int           // totem.knet_mtu: 0 discovers the path MTU
	Crypto        *Crypto       // for MTU arithmetic; sealing is the driver's job
	IPv6          bool
}

// TickInterval is how often libknet's heartbeat and PMTUd threads wake; ping
// intervals are effectively rounded up to a multiple of it.
const TickInterval = 200 * time.Millisecond

const (
	maxBackoff      = 10
	pmtudMaxSteps   = 30
	pmtudStartSize  = 65535
	pmtudCryptoMult = 2
)

type host struct {
	id        NodeID
	links     []*link
	rx        Receiver
	reachable bool
}

type link struct {
	cfg LinkConfig

	up        bool
	pongs     int // acceptable pongs counted while down
	everPong  bool
	lastPing  time.Duration
	pinged    bool
	lastPong  time.Duration
	latency   time.Duration // running mean
	samples   int
	latMin    time.Duration // smallest and largest accepted RTT (stats latency_min/max)
	latMax    time.Duration
	upCount   int // times the link came up / went down (stats up_count, down_count)
	downCount int
	backoff   int
	lastDecay time.Duration

	// Path-MTU discovery.
	mtu        int  // application MTU of the link, valid when mtuValid
	mtuValid   bool // a static link starts valid; failed discovery makes it invalid
	pmtuDone   bool
	probing    bool
	probeSize  int
	probeSent  bool
	probeUntil time.Duration
	good, bad  int
	steps      int
	nextPMTUD  time.Duration
}

// Ready is what the driver must act on after Step: send Packets (seal each with the
// crypto in use first), hand Messages up, report events. Deadline is when Step must
// next be called with a Timer input, even if nothing arrives.
type Ready struct {
	Packets    []Outgoing
	Messages   []Message
	LinkEvents []LinkEvent
	HostEvents []HostEvent
	// DataMTU is the new global data MTU when it changed (0 otherwise): corosync logs
	// "Global data MTU changed to: N" and corosync-cfgtool -n shows link MTUs.
	DataMTU  int
	Deadline time.Duration
}

// Outgoing is one packet for one link socket.
type Outgoing struct {
	Host   NodeID
	Link   uint8
	From   netip.AddrPort
	To     netip.AddrPort
	Packet Packet
}

// Message is a complete message from a peer. Compress names the model the
// sender compressed Data with (0: clear); the driver decompresses, as libknet
// does after reassembly (threads_rx.c).
type Message struct {
	From     NodeID
	Bcast    bool
	Compress CompressModel
	Data     []byte
}

// LinkEvent reports a link going up or down.
type LinkEvent struct {
	Host NodeID
	Link uint8
	Up   bool
}

// HostEvent reports a host becoming reachable (some usable link) or not.
type HostEvent struct {
	Host      NodeID
	Reachable bool
}

// Input is what Step accepts: Timer, Received, Send, SendFailed.
type Input interface{ isInput() }

// Timer tells the machine that time has passed (at least to the last Deadline).
type Timer struct{}

// Received is a clear-text packet that arrived on the local socket of a link.
type Received struct {
	Link   uint8
	From   netip.AddrPort
	Packet Packet
}

// Send asks for a message to be sent to one host, or to all reachable hosts when
// To is 0. Compress is the model Data was already compressed with (0: clear); it
// goes into every fragment's header (compression happens before fragmentation).
type Send struct {
	To       NodeID
	Data     []byte
	Compress CompressModel
}

// SendFailed reports that sending a packet failed. KernelMTU > 0 means the kernel
// refused an oversized datagram (EMSGSIZE) and knows the path MTU; otherwise the
// error was fatal for the link (e.g. ICMP port unreachable), which takes it down.
type SendFailed struct {
	Host      NodeID
	Link      uint8
	KernelMTU int
}

func (Timer) isInput()      {}
func (Received) isInput()   {}
func (Send) isInput()       {}
func (SendFailed) isInput() {}

// NewMachine validates cfg and returns a machine with every link down.
func NewMachine(cfg Config) (*Machine, error) {
	if cfg.PMTUDInterval <= 0 {
		cfg.PMTUDInterval = 30 * time.Second
	}
	m := &Machine{cfg: cfg, byID: map[NodeID]*host{}}
	for _, hc := range cfg.Hosts {
		if hc.ID == cfg.Self {
			return nil, fmt.Errorf("knet: host %d is the local node", hc.ID)
		}
		if m.byID[hc.ID] != nil {
			return nil, fmt.Errorf("knet: host %d listed twice", hc.ID)
		}
		h := &host{id: hc.ID}
		seen := map[uint8]bool{}
		for _, lc := range hc.Links {
			if lc.Link >= MaxLinks || seen[lc.Link] {
				return nil, fmt.Errorf("knet: host %d: bad or repeated link %d", hc.ID, lc.Link)
			}
			seen[lc.Link] = true
			if lc.PongCount <= 0 {
				lc.PongCount = 2
			}
			if lc.Precision <= 0 {
				lc.Precision = 2048
			}
			if lc.PingInterval <= 0 || lc.PongTimeout <= 0 {
				return nil, fmt.Errorf("knet: host %d link %d: ping interval and pong timeout must be set", hc.ID, lc.Link)
			}
			l := &link{cfg: lc, backoff: maxBackoff, mtuValid: true, mtu: AppMTU(576, cfg.IPv6, cfg.Crypto)}
			if cfg.MTU > 0 {
				l.mtu, l.pmtuDone = AppMTU(cfg.MTU, cfg.IPv6, cfg.Crypto), true
			}
			h.links = append(h.links, l)
		}
		sort.Slice(h.links, func(i, j int) bool { return h.links[i].cfg.Link < h.links[j].cfg.Link })
		m.hosts = append(m.hosts, h)
		m.byID[h.id] = h
	}
	m.dataMTU = SafeMTU(cfg.Crypto)
	return m, nil
}

// DataMTU is the current global data MTU (the largest DATA payload per fragment).
func (m *Machine) DataMTU() int { return m.dataMTU }

// LinkStatus describes one link for status output (corosync-cfgtool -s / -n).
type LinkStatus struct {
	Host      NodeID
	Link      uint8
	Up        bool
	MTU       int
	MTUValid  bool
	Latency   time.Duration
	Reachable bool
	// For stats.knet.nodeN.linkM: RTT extremes, the number of latency samples
	// in the running mean, and how often the link went up and down.
	LatencyMin, LatencyMax time.Duration
	LatencySamples         int
	UpCount, DownCount     int
}

// Status lists every link of every host, in host and link order.
func (m *Machine) Status() []LinkStatus {
	var out []LinkStatus
	for _, h := range m.hosts {
		for _, l := range h.links {
			out = append(out, LinkStatus{Host: h.id, Link: l.cfg.Link, Up: l.up, MTU: l.mtu, MTUValid: l.mtuValid, Latency: l.latency, Reachable: h.reachable,
				LatencyMin: l.latMin, LatencyMax: l.latMax, LatencySamples: l.samples, UpCount: l.upCount, DownCount: l.downCount})
		}
	}
	return out
}

// Step feeds one input at monotonic time now.
func (m *Machine) Step(now time.Duration, in Input) {
	if !m.started {
		m.started, m.lastTick = true, now
		m.tick(now)
	}
	switch in := in.(type) {
	case Timer:
		for now-m.lastTick >= TickInterval {
			m.lastTick += TickInterval
			m.tick(now)
		}
	case Received:
		m.receive(now, in)
	case Send:
		m.send(in)
	case SendFailed:
		m.sendFailed(now, in)
	}
	m.ready.Deadline = m.lastTick + TickInterval
}

// Ready returns what accumulated since the last Advance.
func (m *Machine) Ready() Ready { return m.ready }

// Advance clears the accumulated output once the driver has acted on it.
func (m *Machine) Advance() { m.ready = Ready{Deadline: m.ready.Deadline} }

func (m *Machine) out(h *host, l *link, p Packet) {
	m.ready.Packets = append(m.ready.Packets, Outgoing{Host: h.id, Link: l.cfg.Link, From: l.cfg.Local, To: l.cfg.Remote, Packet: p})
}

// tick is one wake-up of the heartbeat and PMTUd threads.
func (m *Machine) tick(now time.Duration) {
	for _, h := range m.hosts {
		for _, l := range h.links {
			if now-l.lastDecay >= time.Second {
				l.lastDecay = now
				if l.backoff > 1 {
					l.backoff--
				}
			}
			if !l.pinged || now-l.lastPing >= l.cfg.PingInterval {
				l.pinged, l.lastPing = true, now
				m.out(h, l, &Ping{Node: m.cfg.Self, Link: l.cfg.Link, Time: encodeTime(now), Seq: m.txSeq, Timed: true})
			}
			if l.up && l.everPong && now-l.lastPong >= l.pongTimeoutAdj() {
				m.setLink(h, l, false)
			}
			m.pmtudTick(now, h, l)
		}
	}
}

func (l *link) pongTimeoutAdj() time.Duration {
	return l.cfg.PongTimeout*time.Duration(l.backoff) + 2*l.latency
}

func encodeTime(t time.Duration) (b [16]byte) {
	binary.LittleEndian.PutUint64(b[0:8], uint64(t/time.Second))
	binary.LittleEndian.PutUint64(b[8:16], uint64(t%time.Second))
	return b
}

func decodeTime(b [16]byte) time.Duration {
	sec := int64(binary.LittleEndian.Uint64(b[0:8]))
	nsec := int64(binary.LittleEndian.Uint64(b[8:16]))
	return time.Duration(sec)*time.Second + time.Duration(nsec)
}

// linkFor finds which of h's links a packet belongs to. Control packets name the
// link; DATA is matched by source address and port against the links' remote ends.
func (h *host) linkFor(in Received) *link {
	if _, ok := in.Packet.(*Data); !ok {
		id := in.Packet.(interface{ link() uint8 }).link() % MaxLinks
		for _, l := range h.links {
			if l.cfg.Link == id && l.cfg.Remote.Addr() == in.From.Addr() {
				return l
			}
		}
		return nil
	}
	for _, l := range h.links {
		if l.cfg.Remote == in.From {
			return l
		}
	}
	return nil
}

func (p *Ping) link() uint8  { return p.Link }
func (p *PMTUD) link() uint8 { return p.Link }

func (m *Machine) receive(now time.Duration, in Received) {
	h := m.byID[in.Packet.Source()]
	if h == nil {
		return // unknown source host
	}
	l := h.linkFor(in)
	if l == nil {
		return // not from a configured peer address: the access list drops it
	}
	switch p := in.Packet.(type) {
	case *Ping:
		if p.Pong {
			m.pong(now, h, l, p)
			return
		}
		h.rx.Ping(p)
		m.out(h, l, p.Reply(m.cfg.Self))
	case *PMTUD:
		if !p.Reply {
			m.out(h, l, p.Answer(m.cfg.Self))
			return
		}
		if l.probing && l.probeSent && int(p.Size) == l.probeSize {
			m.probeResult(now, h, l, true)
		}
	case *Data:
		if !h.reachable {
			return // "Source host N not reachable yet"
		}
		if msg, ok := h.rx.Data(p); ok {
			if p.FragNum <= 1 {
				// An unfragmented message is the packet's own payload, which
				// belongs to the driver; a reassembled one is already ours.
				msg = append([]byte(nil), msg...)
			}
			m.ready.Messages = append(m.ready.Messages, Message{From: h.id, Bcast: p.Bcast, Compress: CompressModel(p.Compress), Data: msg})
		}
	}
}

func (m *Machine) pong(now time.Duration, h *host, l *link, p *Ping) {
	rtt := now - decodeTime(p.Time)
	if rtt < 0 || rtt > l.cfg.PongTimeout {
		return
	}
	l.everPong, l.lastPong = true, now
	if l.samples < l.cfg.Precision {
		l.samples++
	}
	l.latency += (rtt - l.latency) / time.Duration(l.samples)
	if l.latMin == 0 || rtt < l.latMin {
		l.latMin = rtt
	}
	l.latMax = max(l.latMax, rtt)
	if l.up {
		return
	}
	if rtt >= l.pongTimeoutAdj() {
		return
	}
	if l.pongs == l.cfg.PongCount {
		m.setLink(h, l, true)
		return
	}
	l.pongs++
}

func (m *Machine) setLink(h *host, l *link, up bool) {
	if l.up == up {
		return
	}
	l.up, l.pongs = up, 0
	if up {
		l.upCount++
	} else {
		l.downCount++
	}
	if !up {
		l.backoff = maxBackoff
		l.probing = false
	} else if m.cfg.MTU == 0 {
		l.startPMTUD()
	}
	m.ready.LinkEvents = append(m.ready.LinkEvents, LinkEvent{Host: h.id, Link: l.cfg.Link, Up: up})
	m.updateReachability(h)
	m.updateDataMTU()
}

func (h *host) usable() []*link {
	var out []*link
	for _, l := range h.links {
		if l.up && l.mtuValid {
			out = append(out, l)
		}
	}
	return out
}

func (m *Machine) updateReachability(h *host) {
	r := len(h.usable()) > 0
	if r == h.reachable {
		return
	}
	h.reachable = r
	if !r {
		h.rx.Reset()
	}
	m.ready.HostEvents = append(m.ready.HostEvents, HostEvent{Host: h.id, Reachable: r})
}

// updateDataMTU recomputes the global data MTU: the safe minimum while any usable
// link is still discovering, else the smallest link MTU.
func (m *Machine) updateDataMTU() {
	mtu := 0
	for _, h := range m.hosts {
		for _, l := range h.usable() {
			if !l.pmtuDone {
				mtu = SafeMTU(m.cfg.Crypto)
				break
			}
			if mtu == 0 || l.mtu < mtu {
				mtu = l.mtu
			}
		}
	}
	if mtu == 0 {
		mtu = SafeMTU(m.cfg.Crypto)
	}
	if mtu != m.dataMTU {
		m.dataMTU = mtu
		m.ready.DataMTU = mtu
	}
}

// Path-MTU discovery (knet-wire.md §4): start at 65535, let the kernel's EMSGSIZE
// give the local MTU, confirm with a probe of that size, bisect on timeouts.

func (l *link) startPMTUD() {
	l.probing, l.probeSent = true, false
	l.probeSize, l.good, l.bad, l.steps = pmtudStartSize, 0, pmtudStartSize+1, 0
}

func (m *Machine) pmtudTick(now time.Duration, h *host, l *link) {
	if m.cfg.MTU > 0 || !l.up {
		return
	}
	if !l.probing {
		if now >= l.nextPMTUD {
			l.startPMTUD()
		} else {
			return
		}
	}
	if l.probeSent {
		if now < l.probeUntil {
			return
		}
		m.probeResult(now, h, l, false) // no reply in time
		if !l.probing {
			return
		}
	}
	m.sendProbe(now, h, l)
}

func (m *Machine) sendProbe(now time.Duration, h *host, l *link) {
	l.steps++
	if l.steps > pmtudMaxSteps {
		m.finishPMTUD(now, h, l, false)
		return
	}
	l.probeSent = true
	l.probeUntil = now + l.pongTimeoutAdj()*pmtudCryptoMult
	m.out(h, l, &PMTUD{Node: m.cfg.Self, Link: l.cfg.Link, Size: uint16(l.probeSize), Len: ProbeLen(l.probeSize, m.cfg.IPv6, m.cfg.Crypto)})
}

func (m *Machine) probeResult(now time.Duration, h *host, l *link, ok bool) {
	l.probeSent = false
	if ok {
		l.good = l.probeSize
	} else {
		l.bad = l.probeSize
	}
	block := 1
	if m.cfg.Crypto != nil && m.cfg.Crypto.block != nil {
		block = 16
	}
	if l.good == pmtudStartSize || (l.good > 0 && l.bad-l.good <= block) {
		m.finishPMTUD(now, h, l, true)
		return
	}
	lo := l.good
	if lo == 0 {
		lo = 576
		if l.bad <= lo {
			m.finishPMTUD(now, h, l, false)
			return
		}
	}
	l.probeSize = (lo + l.bad) / 2
	if ok {
		m.sendProbe(now, h, l)
	}
}

func (m *Machine) finishPMTUD(now time.Duration, h *host, l *link, ok bool) {
	l.probing, l.probeSent = false, false
	l.nextPMTUD = now + m.cfg.PMTUDInterval
	l.pmtuDone = true
	if ok {
		l.mtu, l.mtuValid = AppMTU(l.good, m.cfg.IPv6, m.cfg.Crypto), true
	} else {
		l.mtuValid = false
	}
	m.updateReachability(h)
	m.updateDataMTU()
}

func (m *Machine) sendFailed(now time.Duration, f SendFailed) {
	h := m.byID[f.Host]
	if h == nil {
		return
	}
	for _, l := range h.links {
		if l.cfg.Link != f.Link {
			continue
		}
		if f.KernelMTU > 0 {
			// EMSGSIZE on a probe: the kernel's MTU is the next size to try, and one
			// more than it is the last bad size (nothing went on the wire).
			if l.probing && l.probeSent && f.KernelMTU < l.probeSize {
				l.probeSent = false
				l.bad = f.KernelMTU + 1
				l.probeSize = f.KernelMTU
				m.sendProbe(now, h, l)
			}
			return
		}
		if l.up {
			m.setLink(h, l, false)
		}
	}
}

// send numbers one message, cuts it at the data MTU and puts it on the chosen links
// of every destination host. All fragments and copies share the sequence number.
func (m *Machine) send(s Send) {
	if len(s.Data) == 0 || len(s.Data) > MaxPacket {
		return
	}
	var dests []*host
	if s.To == 0 {
		for _, h := range m.hosts {
			if h.reachable {
				dests = append(dests, h)
			}
		}
	} else if h := m.byID[s.To]; h != nil && h.reachable {
		dests = []*host{h}
	}
	if len(dests) == 0 {
		return
	}
	frags := Fragments(s.Data, m.dataMTU)
	if frags == nil {
		return
	}
	m.txSeq = NextSeq(m.txSeq)
	m.rr++
	// One frame per fragment, shared by every destination and link: the
	// bytes are the same for all (libknet encrypts each fragment once and
	// sends it to every host), so a driver may seal a shared frame once.
	data := make([]Data, len(frags))
	for i, f := range frags {
		data[i] = Data{Node: m.cfg.Self, Seq: m.txSeq, Compress: uint8(s.Compress), Bcast: s.To == 0, FragNum: uint8(len(frags)), Payload: f}
		if len(frags) > 1 {
			data[i].FragSeq = uint8(i + 1)
		}
	}
	for _, h := range dests {
		for _, l := range m.choose(h) {
			for i := range data {
				m.out(h, l, &data[i])
			}
		}
	}
}

// choose applies the link mode to h's usable links.
func (m *Machine) choose(h *host) []*link {
	u := h.usable()
	if len(u) == 0 {
		return nil
	}
	switch m.cfg.Mode {
	case Active:
		return u
	case RoundRobin:
		return []*link{u[m.rr%len(u)]}
	}
	best := u[0]
	for _, l := range u[1:] {
		if l.cfg.Priority > best.cfg.Priority {
			best = l
		}
	}
	return []*link{best}
}
