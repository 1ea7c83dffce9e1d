package knet

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// simNet connects machines link by link with a fixed one-way delay and a 1500-byte
// path MTU (oversized probes fail the way the kernel's EMSGSIZE makes them fail).
type simNet struct {
	t     *testing.T
	now   time.Duration
	nodes map[NodeID]*simNode
	queue []simPacket
	cut   map[uint8]bool // links cut in both directions
	delay time.Duration
	crypt *Crypto
}

type simNode struct {
	id    NodeID
	m     *Machine
	got   []Message
	links []LinkEvent
	hosts []HostEvent
	mtus  []int
	sent  map[uint8]int // DATA packets sent per link
}

type simPacket struct {
	at   time.Duration
	to   NodeID
	link uint8
	from netip.AddrPort
	wire []byte
}

func linkAddr(node NodeID, link uint8) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(100*int(link) + int(node))}), 5405+uint16(link))
}

func newSimNet(t *testing.T, n int, links int, c *Crypto) *simNet {
	s := &simNet{t: t, nodes: map[NodeID]*simNode{}, cut: map[uint8]bool{}, delay: time.Millisecond, crypt: c}
	for i := 1; i <= n; i++ {
		s.start(NodeID(i), n, links)
	}
	return s
}

func (s *simNet) start(id NodeID, n, links int) {
	cfg := Config{Self: id, Crypto: s.crypt}
	for j := 1; j <= n; j++ {
		if NodeID(j) == id {
			continue
		}
		hc := HostConfig{ID: NodeID(j)}
		for l := 0; l < links; l++ {
			hc.Links = append(hc.Links, LinkConfig{
				Link: uint8(l), Local: linkAddr(id, uint8(l)), Remote: linkAddr(NodeID(j), uint8(l)),
				Priority: 1, PingInterval: 750 * time.Millisecond, PongTimeout: 1500 * time.Millisecond, PongCount: 2,
			})
		}
		cfg.Hosts = append(cfg.Hosts, hc)
	}
	m, err := NewMachine(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	n2 := &simNode{id: id, m: m, sent: map[uint8]int{}}
	s.nodes[id] = n2
	s.step(n2, Timer{})
}

// step feeds one input to a node and routes what comes out.
func (s *simNet) step(n *simNode, in Input) {
	n.m.Step(s.now, in)
	rd := n.m.Ready()
	n.m.Advance()
	n.got = append(n.got, rd.Messages...)
	n.links = append(n.links, rd.LinkEvents...)
	n.hosts = append(n.hosts, rd.HostEvents...)
	if rd.DataMTU != 0 {
		n.mtus = append(n.mtus, rd.DataMTU)
	}
	for _, o := range rd.Packets {
		if p, ok := o.Packet.(*PMTUD); ok && !p.Reply && p.Size > 1500 {
			defer s.step(n, SendFailed{Host: o.Host, Link: o.Link, KernelMTU: 1500})
			continue
		}
		if _, ok := o.Packet.(*Data); ok {
			n.sent[o.Link]++
		}
		wire := Encode(o.Packet)
		if s.crypt != nil {
			var salt [SaltSize]byte
			wire = s.crypt.Seal(nil, wire, &salt)
		}
		if s.cut[o.Link] {
			continue
		}
		s.queue = append(s.queue, simPacket{at: s.now + s.delay, to: o.Host, link: o.Link, from: o.From, wire: wire})
	}
}

// run advances virtual time by d, delivering packets and firing timers in order.
func (s *simNet) run(d time.Duration) {
	end := s.now + d
	for s.now < end {
		next := end
		for _, n := range s.nodes {
			if dl := n.m.Ready().Deadline; dl > s.now && dl < next {
				next = dl
			}
		}
		for _, p := range s.queue {
			if p.at < next {
				next = p.at
			}
		}
		s.now = next
		var due []simPacket
		rest := s.queue[:0]
		for _, p := range s.queue {
			if p.at <= s.now {
				due = append(due, p)
			} else {
				rest = append(rest, p)
			}
		}
		s.queue = rest
		for _, p := range due {
			n := s.nodes[p.to]
			plain := p.wire
			if s.crypt != nil {
				var err error
				if plain, err = s.crypt.Open(p.wire); err != nil {
					s.t.Fatalf("open: %v", err)
				}
			}
			pkt, err := Decode(plain)
			if err != nil {
				s.t.Fatalf("decode: %v", err)
			}
			s.step(n, Received{Link: p.link, From: p.from, Packet: pkt})
		}
		for _, n := range s.nodes {
			if n.m.Ready().Deadline <= s.now || n.m.Ready().Deadline == 0 {
				s.step(n, Timer{})
			}
		}
	}
}

func TestLinksComeUpAndCarryData(t *testing.T) {
	s := newSimNet(t, 3, 1, nil)
	s.run(5 * time.Second)
	for id, n := range s.nodes {
		if len(n.hosts) != 2 {
			t.Fatalf("node %d host events %v, want two reachable", id, n.hosts)
		}
		if got := n.m.DataMTU(); got != 1446 {
			t.Fatalf("node %d data MTU %d, want 1446 after PMTUd (changes %v)", id, got, n.mtus)
		}
	}
	big := bytes.Repeat([]byte("knet!"), 900) // 4500 bytes: four fragments
	s.step(s.nodes[1], Send{Data: []byte("hello")})
	s.step(s.nodes[1], Send{Data: big})
	s.step(s.nodes[2], Send{To: 3, Data: []byte("just for 3")})
	s.run(100 * time.Millisecond)
	for _, id := range []NodeID{2, 3} {
		got := s.nodes[id].got
		if len(got) < 2 || string(got[0].Data) != "hello" || !bytes.Equal(got[1].Data, big) || !got[0].Bcast {
			t.Fatalf("node %d got %d messages", id, len(got))
		}
	}
	if g := s.nodes[3].got; len(g) != 3 || string(g[2].Data) != "just for 3" || g[2].Bcast {
		t.Fatalf("node 3 unicast not delivered: %v", len(g))
	}
	if g := s.nodes[1].got; len(g) != 0 {
		t.Fatalf("node 1 got %d messages, want none", len(g))
	}
}

func TestLinkUpNeedsPongCountPlusOne(t *testing.T) {
	s := newSimNet(t, 2, 1, nil)
	// Node 1's pings go out at 0, 800, 1600 ms (750 rounded up to the 200 ms tick):
	// the third pong (pong_count 2 + 1) brings the link up.
	s.run(1500 * time.Millisecond)
	if len(s.nodes[1].links) != 0 {
		t.Fatalf("link up after two pongs: %v", s.nodes[1].links)
	}
	s.run(200 * time.Millisecond)
	if ev := s.nodes[1].links; len(ev) != 1 || !ev[0].Up {
		t.Fatalf("link events %v, want up after the third pong", ev)
	}
}

func TestPassiveFailoverAndReturn(t *testing.T) {
	s := newSimNet(t, 2, 2, nil)
	s.run(15 * time.Second) // links up, PMTUd done, backoff decayed to 1
	send := func(tag string) {
		s.step(s.nodes[1], Send{Data: []byte(tag)})
		s.run(50 * time.Millisecond)
	}
	send("on link 0")
	if s.nodes[1].sent[0] != 1 || s.nodes[1].sent[1] != 0 {
		t.Fatalf("passive mode sent %v, want link 0 only", s.nodes[1].sent)
	}
	s.cut[0] = true
	s.run(3 * time.Second) // pong timeout 1500 ms × backoff 1 + latency
	down := false
	for _, e := range s.nodes[1].links {
		if e.Link == 0 && !e.Up {
			down = true
		}
	}
	if !down {
		t.Fatalf("link 0 not down after the cut: %v", s.nodes[1].links)
	}
	send("on link 1")
	if s.nodes[1].sent[1] != 1 {
		t.Fatalf("after the cut sent %v, want one on link 1", s.nodes[1].sent)
	}
	for _, e := range s.nodes[2].hosts {
		if !e.Reachable {
			t.Fatal("host became unreachable although link 1 was up")
		}
	}
	s.cut[0] = false
	s.run(4 * time.Second)
	send("back on link 0")
	if s.nodes[1].sent[0] != 2 {
		t.Fatalf("after the repair sent %v, want back on link 0", s.nodes[1].sent)
	}
	if n := len(s.nodes[2].got); n != 3 {
		t.Fatalf("node 2 got %d messages, want 3", n)
	}
}

func TestRestartedPeerIsAcceptedAgain(t *testing.T) {
	s := newSimNet(t, 2, 1, nil)
	s.run(5 * time.Second)
	for i := 0; i < 5; i++ {
		s.step(s.nodes[2], Send{Data: []byte(fmt.Sprint("before ", i))})
	}
	s.run(100 * time.Millisecond)
	// kill -9 and restart node 2: its sequence starts again at 1.
	s.start(2, 2, 1)
	s.run(5 * time.Second)
	s.step(s.nodes[2], Send{Data: []byte("after restart")})
	s.run(100 * time.Millisecond)
	got := s.nodes[1].got
	if len(got) != 6 || string(got[5].Data) != "after restart" {
		t.Fatalf("node 1 got %d messages; the restarted peer's seq 1 must be new", len(got))
	}
}

func TestCryptoMTU(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 256)
	c, _ := NewCrypto(CryptoConfig{"aes256", "sha256"}, key)
	s := newSimNet(t, 2, 1, c)
	s.run(5 * time.Second)
	if got := s.nodes[1].m.DataMTU(); got != 1397 {
		t.Fatalf("data MTU %d with aes256/sha256, want 1397", got)
	}
	msg := bytes.Repeat([]byte{1}, 4000)
	s.step(s.nodes[1], Send{Data: msg})
	s.run(50 * time.Millisecond)
	if g := s.nodes[2].got; len(g) != 1 || !bytes.Equal(g[0].Data, msg) {
		t.Fatal("encrypted fragmented message not delivered")
	}
}
