package pg

// PacketSize is TOTEMPG_PACKET_SIZE for a given SRP net_mtu: the room for
// the length array and data of one packet (net_mtu minus the totempg header).
func PacketSize(netMTU int) int { return netMTU - HeaderSize }

// Packer is the sending half of totempg (exec/totempg.c mcast_msg and
// callback_token_received_fn), reproducing corosync's packet boundaries and
// fragment numbering exactly, so a trace of sends gives the same bytes as
// corosync would put on the wire.
//
// Small messages are staged and leave together on Flush, which corosync
// calls at every token receipt; a message that does not fit the remaining
// room is split, and the packet carrying its first part leaves at once.
type Packer struct {
	packetSize int
	lens       []int // lengths of the complete messages staged
	data       []byte
	// continuation is fragment_continuation: the fragment number the first
	// chunk of the next packet continues (0 = starts a fresh message).
	continuation uint8
	// nextFragment is next_fragment: reset to 1 whenever a piece is staged,
	// incremented per fragment sent (an unsigned char that skips 0).
	nextFragment uint8
}

// NewPacker makes a packer for an SRP whose net_mtu is netMTU
// (3.x udp/udpu: 1410; 2.x: netmtu - crypto overhead - 28 - 198).
func NewPacker(netMTU int) *Packer {
	ps := PacketSize(netMTU)
	return &Packer{packetSize: ps, data: make([]byte, 0, ps), nextFragment: 1}
}

// Pending reports how many complete messages are staged for the next Flush.
func (p *Packer) Pending() int { return len(p.lens) }

// Add queues one message given as corosync's iovec list (Groups(...)
// followed by the service message pieces; iovec boundaries influence where
// corosync splits, so pass them as the service does). It returns the
// totempg packets that must be multicast now, in order; the rest stays
// staged until the next Add or Flush.
func (p *Packer) Add(iov ...[]byte) [][]byte {
	var out [][]byte
	// mcast_msg drops zero-length iovecs first.
	n := 0
	for _, v := range iov {
		if len(v) > 0 {
			iov[n] = v
			n++
		}
	}
	iov = iov[:n]
	maxPacket := p.packetSize - 2*(len(p.lens)+1)
	cur := 0 // bytes of this message in the current packet
	copyBase := 0
	for i := 0; i < len(iov); {
		v := iov[i]
		remaining := len(v) - copyBase
		// corosync compares the whole iovec length here, not what is left
		// of it; so the tail of a split iovec always goes out at once.
		if len(v)+len(p.data) < maxPacket-2 {
			p.data = append(p.data, v[copyBase:]...)
			cur += remaining
			p.nextFragment = 1
			copyBase = 0
			i++
			continue
		}
		copyLen := min(remaining, maxPacket-len(p.data))
		pkt := Packet{Continuation: p.continuation}
		if i < len(iov)-1 || copyBase+copyLen < len(v) {
			if p.nextFragment == 0 {
				p.nextFragment++
			}
			p.continuation = p.nextFragment
			pkt.Fragmented = p.nextFragment
			p.nextFragment++
		} else {
			p.continuation = 0
		}
		out = append(out, p.emit(pkt, v[copyBase:copyBase+copyLen], cur+copyLen))
		cur = 0
		maxPacket = p.packetSize - 2
		if copyBase+copyLen == len(v) {
			copyBase = 0
			i++
		} else {
			copyBase += copyLen
		}
	}
	if cur != 0 {
		p.lens = append(p.lens, cur)
	}
	return out
}

// emit builds a packet from the staged messages plus the current message's
// part (staged bytes plus tail, lastLen bytes in all) and resets staging.
func (p *Packer) emit(pkt Packet, tail []byte, lastLen int) []byte {
	lens := append(p.lens, lastLen)
	b := make([]byte, 0, HeaderSize+2*len(lens)+len(p.data)+len(tail))
	b = appendHeader(b, pkt.Fragmented, pkt.Continuation, lens)
	b = append(b, p.data...)
	b = append(b, tail...)
	p.lens = p.lens[:0]
	p.data = p.data[:0]
	return b
}

// Flush returns the staged messages as one packet, or nil if nothing is
// staged (callback_token_received_fn; corosync also skips the flush when
// the SRP send queue is full, which is the caller's business).
func (p *Packer) Flush() []byte {
	if len(p.lens) == 0 {
		return nil
	}
	b := make([]byte, 0, HeaderSize+2*len(p.lens)+len(p.data))
	b = appendHeader(b, 0, p.continuation, p.lens)
	b = append(b, p.data...)
	p.continuation = 0
	p.lens = p.lens[:0]
	p.data = p.data[:0]
	return b
}

func appendHeader(b []byte, fragmented, continuation uint8, lens []int) []byte {
	b = append(b, 0, 0, 0, 0, fragmented, continuation, byte(len(lens)), byte(len(lens)>>8))
	for _, l := range lens {
		b = append(b, byte(l), byte(l>>8))
	}
	return b
}
