package node

import (
	"fmt"
	"sync"

	"ringmaster/totem/knet"
	"ringmaster/totem/knetudp"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
)

// Knet is the knet transport behind the node's Transport interface: SRP
// messages in 3.x framing over a knetudp.Conn, as corosync's totemknet.c
// runs totemsrp over libknet.
//
// What totemknet does and this matches:
//   - before each send the totem header's target_nodeid is filled in: the
//     destination node for a unicast (the token, commit token), 0 for a
//     multicast; libknet's host filter reads it to pick the destination;
//   - the local node's own messages come back to it (libknet's loopback
//     link), multicasts and messages addressed to itself alike;
//   - knet fragments, so the SRP's net_mtu is 65536 (KnetNetMTU) whatever
//     the path MTU is.
type Knet struct {
	conn *knetudp.Conn
	self wire.NodeID
	recv chan transport.Packet
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	mu           sync.Mutex
	decodeErrors uint64
	selfDropped  uint64
	rxDropped    uint64
}

// knetQueue is how many decoded messages wait for the node: the Recv
// queue of knetudp and this one together before OpenKnet.
const knetQueue = 2048

// KnetNetMTU is the totem net_mtu corosync uses with knet
// (totemknet_net_mtu_adjust leaves 65536 as configured by default).
const KnetNetMTU = 65536

// NewKnet wraps an open knet connection for node self. The Knet owns conn
// from now on: Close closes it.
func NewKnet(conn *knetudp.Conn, self wire.NodeID) *Knet {
	k := &Knet{conn: conn, self: self, recv: make(chan transport.Packet, 1024), stop: make(chan struct{})}
	k.wg.Add(1)
	go k.forward()
	return k
}

// OpenKnet opens the knet connection described by cfg for node self and
// wraps it. Messages are decoded and queued for the node by the goroutine
// that read them, one hop less than NewKnet's forwarding goroutine; a full
// queue drops the message (counted in DroppedRx) and the SRP recovers it, as
// it does for a datagram the kernel drops.
func OpenKnet(cfg knetudp.Config, self wire.NodeID) (*Knet, error) {
	k := &Knet{self: self, recv: make(chan transport.Packet, knetQueue), stop: make(chan struct{})}
	cfg.Deliver = k.deliver
	conn, err := knetudp.Open(cfg)
	if err != nil {
		return nil, err
	}
	k.conn = conn
	return k, nil
}

// deliver is knetudp's Deliver callback: decode, queue, never block.
func (k *Knet) deliver(m knetudp.Message) {
	msg, err := wire.Decode(m.Data, wire.V3)
	if err != nil {
		k.mu.Lock()
		k.decodeErrors++
		k.mu.Unlock()
		return
	}
	select {
	case k.recv <- transport.Packet{Data: m.Data, Msg: msg}:
	default:
		k.mu.Lock()
		k.rxDropped++
		k.mu.Unlock()
	}
}

// DroppedRx counts messages dropped because the node's queue was full.
func (k *Knet) DroppedRx() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rxDropped
}

// forward decodes what knet hands up and passes it to the node.
func (k *Knet) forward() {
	defer k.wg.Done()
	in := k.conn.Recv()
	for {
		select {
		case <-k.stop:
			return
		case m := <-in:
			msg, err := wire.Decode(m.Data, wire.V3)
			if err != nil {
				k.mu.Lock()
				k.decodeErrors++
				k.mu.Unlock()
				continue
			}
			select {
			case k.recv <- transport.Packet{Data: m.Data, Msg: msg}:
			case <-k.stop:
				return
			}
		}
	}
}

// SendMsg implements Transport.
func (k *Knet) SendMsg(to wire.NodeID, m wire.Message, flush bool) error {
	m.Hdr().Target = to // transport.All is 0: multicast
	b := wire.Encode(m, wire.V3)
	if to == transport.All || to == k.self {
		k.loop(b)
		if to == k.self {
			return nil
		}
	}
	if err := k.conn.Send(knet.NodeID(to), b); err != nil {
		return fmt.Errorf("knet send to %d: %w", to, err)
	}
	return nil
}

// loop hands our own message back to us without blocking the node, which
// sends and receives in one goroutine; a full queue drops it as a full
// loopback pipe would, and the SRP recovers it.
func (k *Knet) loop(b []byte) {
	msg, err := wire.Decode(b, wire.V3)
	if err != nil {
		return
	}
	select {
	case k.recv <- transport.Packet{Data: b, Msg: msg}:
	default:
		k.mu.Lock()
		k.selfDropped++
		k.mu.Unlock()
	}
}

// Recv implements Transport.
func (k *Knet) Recv() <-chan transport.Packet { return k.recv }

// Close implements Transport.
func (k *Knet) Close() error {
	k.once.Do(func() {
		close(k.stop)
		k.wg.Wait()
		k.conn.Close()
	})
	return nil
}

// Conn is the underlying knet connection (link status, counters, MTU).
func (k *Knet) Conn() *knetudp.Conn { return k.conn }

// LinkStatus lists every link to every peer as knet sees it now, for
// corosync-cfgtool -s/-n and runtime stats.
func (k *Knet) LinkStatus() []knet.LinkStatus { return k.conn.Status() }

// DroppedDecode counts knet messages that were not SRP messages.
func (k *Knet) DroppedDecode() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.decodeErrors
}

// Link reports one link to a peer as corosync-cfgtool -n prints it
// (totemknet_nodestatus_get from knet_link_get_status): enabled when the
// link is configured for that host, connected when knet has it up, and its
// current data MTU. The local node's links are not knet links: ok is false.
func (k *Knet) Link(host uint32, link uint8) (connected bool, mtu int, ok bool) {
	for _, s := range k.conn.Status() {
		if uint32(s.Host) == host && s.Link == link {
			return s.Up, s.MTU, true
		}
	}
	return false, 0, false
}
