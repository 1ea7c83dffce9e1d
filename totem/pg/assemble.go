package pg

import (
	"errors"
	"fmt"
)

// MaxAssembly bounds one sender's reassembly buffer: corosync's
// assembly->data is MESSAGE_SIZE_MAX (1 MiB) plus one knet packet, and it
// asserts (aborts) when a sender overflows it; we drop instead.
const MaxAssembly = 1<<20 + 65536

// ErrOverflow: a sender's fragments exceed MaxAssembly.
var ErrOverflow = errors.New("totempg: reassembly buffer overflow")

// AssemblerStats counts dropped input.
type AssemblerStats struct {
	BadLength uint64 // packets whose length does not match their header
	Overflow  uint64 // reassembly overflows (corosync would abort)
	Discarded uint64 // packets processed in throw-away mode (nothing delivered)
}

type assembly struct {
	data        []byte
	index       int
	lastFrag    uint8
	throwingOut bool
}

// Assembler is the receiving half of totempg (totempg_deliver_fn): it takes
// SRP-delivered mcast payloads in agreed order and returns the complete
// messages (group header included; see SplitGroups).
//
// It reproduces corosync's behaviour exactly, including on mismatched
// continuations: the packet is then handled in "throw-away" mode and
// nothing in it is delivered, even complete messages packed after the
// orphaned chunk; throw-away ends at the next packet whose Fragmented is 0
// or 1, which again delivers nothing. Identical delivery matters more than
// salvaging those messages: every node of a ring must hand the same
// messages to CPG.
type Assembler struct {
	normal, trans map[uint32]*assembly
	// waitingTransAck mirrors totempg_waiting_transack: while set, senders'
	// buffers come from a separate set (totemsrp signals it between the
	// transitional configuration and the acknowledgement of the new one).
	waitingTransAck bool
	Stats           AssemblerStats
	noFresh         bool // tests: always take the general path
}

// NewAssembler returns an empty assembler.
func NewAssembler() *Assembler {
	return &Assembler{normal: map[uint32]*assembly{}, trans: map[uint32]*assembly{}}
}

// SetWaitingTransAck switches between the normal and the transitional set
// of reassembly buffers (totempg_waiting_trans_ack_cb).
func (a *Assembler) SetWaitingTransAck(on bool) { a.waitingTransAck = on }

// NodeLeft drops a departed sender's partial messages (app_confchg_fn does
// this for every node in a configuration's left list).
func (a *Assembler) NodeLeft(nodeid uint32) {
	delete(a.normal, nodeid)
	delete(a.trans, nodeid)
}

func (a *Assembler) active() map[uint32]*assembly {
	if a.waitingTransAck {
		return a.trans
	}
	return a.normal
}

// Deliver processes one mcast payload from nodeid (foreign: the SRP's
// endian flag) and returns the complete messages it finishes, in order.
// The returned slices are copies owned by the caller.
func (a *Assembler) Deliver(nodeid uint32, payload []byte, foreign bool) ([][]byte, error) {
	set := a.active()
	as := set[nodeid]
	if as == nil {
		// assembly_ref: a fresh (or recycled and reset) buffer.
		as = &assembly{}
		set[nodeid] = as
	}
	pkt, err := Decode(payload, foreign)
	if err != nil {
		a.Stats.BadLength++
		return nil, err
	}
	dataLen := 0
	for _, c := range pkt.Chunks {
		dataLen += len(c)
	}
	// corosync reads msg_lens past msg_count in two corner cases (empty
	// packets, throw-away with one chunk); those slots hold the count field
	// or stale bytes, which we model as 0.
	lenAt := func(i int) int {
		if i >= 0 && i < len(pkt.Chunks) {
			return len(pkt.Chunks[i])
		}
		return 0
	}
	if as.index+dataLen > MaxAssembly {
		a.Stats.Overflow++
		delete(set, nodeid)
		return nil, fmt.Errorf("%w: node %d, %d bytes", ErrOverflow, nodeid, as.index+dataLen)
	}
	count := len(pkt.Chunks)
	if pkt.Fragmented != 0 {
		count--
	}
	if !a.noFresh && !as.throwingOut && pkt.Continuation == as.lastFrag && len(pkt.Chunks) > 0 {
		return a.deliverFresh(as, pkt, count), nil
	}
	as.data = as.data[:as.index]
	for _, c := range pkt.Chunks {
		as.data = append(as.data, c...)
	}
	var out [][]byte
	if as.throwingOut {
		a.Stats.Discarded++
		if pkt.Fragmented == 0 || pkt.Fragmented == 1 {
			as.throwingOut = false
			as.index += lenAt(0)
		}
	} else if pkt.Continuation == as.lastFrag {
		as.lastFrag = pkt.Fragmented
		start, l := 0, as.index+lenAt(0)
		for i := 0; i < count; i++ {
			out = append(out, append([]byte(nil), as.data[start:start+l]...))
			as.index += len(pkt.Chunks[i])
			start = as.index
			if i < count-1 {
				l = len(pkt.Chunks[i+1])
			}
		}
	} else {
		a.Stats.Discarded++
		as.throwingOut = true
	}
	if pkt.Fragmented == 0 {
		// assembly_deref: the buffer goes back to the free list and is
		// reset when this sender is next seen; we keep it (and its
		// capacity) in place, reset.
		as.index, as.lastFrag, as.throwingOut = 0, 0, false
		return out, nil
	}
	last := lenAt(count)
	if len(pkt.Chunks) > 1 {
		// Keep the trailing fragment at the start of the buffer. In
		// throw-away mode corosync moves from the current index, which is
		// not always where that fragment starts; reproduced as is.
		if as.index+last > len(as.data) {
			last = max(0, len(as.data)-as.index)
		}
		copy(as.data, as.data[as.index:as.index+last])
		as.index = 0
	}
	as.index += last
	if as.index > len(as.data) {
		// Only reachable through the modelled-as-zero corner cases.
		as.index = len(as.data)
	}
	return out, nil
}

// deliverFresh is Deliver's common case: the packet continues what is
// expected (a fresh message, or the pending fragment). The first chunk
// completes what is pending, every further complete chunk is a message by
// itself; they are copied once, into one allocation, rather than through
// the reassembly buffer, and only a trailing fragment is kept there. The
// outcome is the general path's.
func (a *Assembler) deliverFresh(as *assembly, pkt Packet, count int) [][]byte {
	as.lastFrag = pkt.Fragmented
	if count == 0 {
		// One chunk, and it is a fragment: it extends what is pending.
		as.data = append(as.data[:as.index], pkt.Chunks[0]...)
		as.index = len(as.data)
		return nil
	}
	total := as.index
	for _, c := range pkt.Chunks[:count] {
		total += len(c)
	}
	slab := make([]byte, 0, total)
	out := make([][]byte, 0, count)
	for i, c := range pkt.Chunks[:count] {
		start := len(slab)
		if i == 0 {
			slab = append(slab, as.data[:as.index]...)
		}
		slab = append(slab, c...)
		out = append(out, slab[start:len(slab):len(slab)])
	}
	if pkt.Fragmented == 0 {
		as.index, as.lastFrag, as.throwingOut = 0, 0, false
		return out
	}
	as.data = append(as.data[:0], pkt.Chunks[count]...)
	as.index = len(as.data)
	return out
}
