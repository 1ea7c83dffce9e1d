package node

import (
	"net/netip"

	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
)

// In 2.x framing every processor address and every ring representative is a
// totem_ip_address (ring0 IP + nodeid), and receivers refuse addresses
// without an IP family (check_srpaddr_sanity). The SRP machine identifies
// processors by nodeid only, so the node translates at the edge: outgoing
// messages get their members' ring0 addresses filled in (on a copy: the
// machine keeps the messages it sent), incoming ones lose them again, so
// that ring ids compare equal inside the machine.

// addrBook maps node ids to their ring0 IPv4 addresses.
type addrBook map[wire.NodeID]netip.Addr

func (b addrBook) ip(id wire.NodeID) wire.IPAddr {
	a, ok := b[id]
	if !ok || !a.Is4() {
		return wire.IPAddr{}
	}
	v := a.As4()
	return wire.IPv4Addr(id, v[0], v[1], v[2], v[3])
}

func (b addrBook) addr(a wire.Addr) wire.Addr { return wire.Addr2(b.ip(a.Node)) }

func (b addrBook) addrs(as []wire.Addr) []wire.Addr {
	if as == nil {
		return nil
	}
	out := make([]wire.Addr, len(as))
	for i, a := range as {
		out[i] = b.addr(a)
	}
	return out
}

func (b addrBook) ring(r wire.RingID) wire.RingID {
	if r.Rep != 0 {
		r.RepIP = b.ip(r.Rep)
	}
	return r
}

// fill returns a copy of m with 2.x addresses.
func (b addrBook) fill(m wire.Message) wire.Message {
	switch m := m.(type) {
	case *wire.OrfToken:
		c := *m
		c.RingID = b.ring(m.RingID)
		c.RTR = make([]wire.RTRItem, len(m.RTR))
		for i, r := range m.RTR {
			c.RTR[i] = wire.RTRItem{RingID: b.ring(r.RingID), Seq: r.Seq}
		}
		return &c
	case *wire.Mcast:
		c := *m
		c.From, c.RingID = b.addr(m.From), b.ring(m.RingID)
		return &c
	case *wire.MergeDetect:
		c := *m
		c.From, c.RingID = b.addr(m.From), b.ring(m.RingID)
		return &c
	case *wire.Join:
		c := *m
		c.From, c.Proc, c.Failed = b.addr(m.From), b.addrs(m.Proc), b.addrs(m.Failed)
		return &c
	case *wire.CommitToken:
		c := *m
		c.RingID, c.Addrs = b.ring(m.RingID), b.addrs(m.Addrs)
		c.Memb = make([]wire.MembEntry, len(m.Memb))
		for i, e := range m.Memb {
			e.RingID = b.ring(e.RingID)
			c.Memb[i] = e
		}
		return &c
	case *wire.TokenHoldCancel:
		c := *m
		c.RingID = b.ring(m.RingID)
		return &c
	}
	return m
}

func strip(a wire.Addr) wire.Addr { return wire.NodeAddr(a.Node) }

func stripAll(as []wire.Addr) {
	for i := range as {
		as[i] = strip(as[i])
	}
}

func stripRing(r *wire.RingID) { r.RepIP = wire.IPAddr{} }

// strip removes the 2.x addresses from a received message, in place.
func stripMsg(m wire.Message) {
	switch m := m.(type) {
	case *wire.OrfToken:
		stripRing(&m.RingID)
		for i := range m.RTR {
			stripRing(&m.RTR[i].RingID)
		}
	case *wire.Mcast:
		m.From = strip(m.From)
		stripRing(&m.RingID)
	case *wire.MergeDetect:
		m.From = strip(m.From)
		stripRing(&m.RingID)
	case *wire.Join:
		m.From = strip(m.From)
		stripAll(m.Proc)
		stripAll(m.Failed)
	case *wire.CommitToken:
		stripRing(&m.RingID)
		stripAll(m.Addrs)
		for i := range m.Memb {
			stripRing(&m.Memb[i].RingID)
		}
	case *wire.TokenHoldCancel:
		stripRing(&m.RingID)
	}
}

// AddrBook builds the node-id-to-address table 2.x framing needs from a
// transport member list.
func AddrBook(ms []transport.Member) map[wire.NodeID]netip.Addr {
	b := map[wire.NodeID]netip.Addr{}
	for _, m := range ms {
		b[m.NodeID] = m.Addr
	}
	return b
}
