package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Errors returned by Decode. Each is wrapped with the detail; test with errors.Is.
var (
	// ErrShort: the datagram is shorter than its header, its fixed part, or
	// the lists its counts announce.
	ErrShort = errors.New("totem message too short")
	// ErrMagic: not a message of the requested framing (3.x magic 0xC070 /
	// 2.x endian detector 0xFF22 in neither byte order).
	ErrMagic = errors.New("totem message has bad magic")
	// ErrVersion: 3.x header version other than 3.
	ErrVersion = errors.New("totem message has unsupported version")
	// ErrType: message type outside 0..5.
	ErrType = errors.New("totem message has unknown type")
	// ErrAddress: a 2.x address with a bad count or family (check_srpaddr_sanity).
	ErrAddress = errors.New("totem message has corrupt address")
	// ErrTooMany: more retransmit requests than an ORF token may carry.
	ErrTooMany = errors.New("totem token has too many rtr entries")
)

const (
	magic3   = 0xC070
	version3 = 3
	endian2  = 0xFF22

	ipAddrSize2  = 22 // totem_ip_address
	srpAddrSize2 = 1 + 2*ipAddrSize2
	ringIDSize2  = ipAddrSize2 + 8
	ringIDSize3  = 12
)

// addrSize is the wire size of an srp_addr.
func (f Framing) addrSize() int {
	if f == V2 {
		return srpAddrSize2
	}
	return 4
}

func (f Framing) ringIDSize() int {
	if f == V2 {
		return ringIDSize2
	}
	return ringIDSize3
}

// Fixed sizes (without lists / payload) per message type.
func (f Framing) fixedSize(t MsgType) int {
	h, a, r := f.HeaderSize(), f.addrSize(), f.ringIDSize()
	switch t {
	case TypeOrfToken:
		return h + 4*4 + r + 4*4
	case TypeMcast:
		return h + a + 4 + 4 + r + 4 + 4
	case TypeMergeDetect:
		return h + a + r
	case TypeJoin:
		return h + a + 4 + 4 + 8
	case TypeCommitToken:
		return h + 4 + r + 4*3
	case TypeTokenHoldCancel:
		return h + r
	}
	return 0
}

// PeekType returns the message type of a datagram without decoding it.
func PeekType(b []byte, f Framing) (MsgType, error) {
	if len(b) < f.HeaderSize() {
		return 0, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if f == V2 {
		return MsgType(b[0]), nil
	}
	return MsgType(b[3]), nil
}

// reader is a bounds-checked cursor; the first failure sticks in err and
// every later read returns zero, so decoders check err once at the end.
type reader struct {
	b    []byte
	off  int
	swap bool // sender was big-endian
	err  error
}

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n > len(r.b)-r.off {
		r.err = fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrShort, n, r.off, len(r.b))
		return false
	}
	return true
}

func (r *reader) u8() uint8 {
	if !r.need(1) {
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b[r.off:])
	r.off += 2
	if r.swap {
		v = bits.ReverseBytes16(v)
	}
	return v
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	if r.swap {
		v = bits.ReverseBytes32(v)
	}
	return v
}

func (r *reader) u64() uint64 {
	if !r.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	if r.swap {
		v = bits.ReverseBytes64(v)
	}
	return v
}

// ipAddr2 reads a totem_ip_address; the address bytes are network order and
// never swapped (totemip_copy_endian_convert swaps only nodeid and family).
func (r *reader) ipAddr2() IPAddr {
	var a IPAddr
	a.NodeID = NodeID(r.u32())
	a.Family = r.u16()
	if r.need(16) {
		copy(a.Addr[:], r.b[r.off:r.off+16])
		r.off += 16
	}
	return a
}

func (r *reader) addr(f Framing) Addr {
	if f != V2 {
		return Addr{Node: NodeID(r.u32())}
	}
	var a Addr
	a.Count = r.u8()
	a.IP[0] = r.ipAddr2()
	a.IP[1] = r.ipAddr2()
	a.Node = a.IP[0].NodeID
	if r.err == nil {
		// check_srpaddr_sanity (2.x): 1..INTERFACE_MAX addresses, the first
		// must be AF_INET/AF_INET6, the second too unless it is unused.
		if a.Count < 1 || a.Count > 2 || !validFamily(a.IP[0].Family) ||
			(a.Count == 2 && a.IP[1].Family != 0 && !validFamily(a.IP[1].Family)) {
			r.err = fmt.Errorf("%w: srp_addr count %d families %d/%d", ErrAddress,
				a.Count, a.IP[0].Family, a.IP[1].Family)
		}
	}
	return a
}

func validFamily(f uint16) bool { return f == AFInet || f == AFInet6 }

// ringID reads a memb_ring_id. In 2.x, checkRep asks for the representative's
// family to be validated (check_totemip_sanity); commit-token memb entries
// that were never filled in carry family 0 and are exempt.
func (r *reader) ringID(f Framing, checkRep bool) RingID {
	if f != V2 {
		rep := NodeID(r.u32())
		return RingID{Rep: rep, Seq: r.u64()}
	}
	var id RingID
	id.RepIP = r.ipAddr2()
	id.Rep = id.RepIP.NodeID
	id.Seq = r.u64()
	if r.err == nil && (checkRep || id.RepIP.Family != 0) && !validFamily(id.RepIP.Family) {
		r.err = fmt.Errorf("%w: ring id representative family %d", ErrAddress, id.RepIP.Family)
	}
	return id
}

// count reads a list length and checks that n items of size each fit in
// what is left, so that the slice allocated for them is bounded by the
// datagram size.
func (r *reader) count(n uint32, size int, what string) int {
	if r.err != nil {
		return 0
	}
	if uint64(n)*uint64(size) > uint64(len(r.b)-r.off) {
		r.err = fmt.Errorf("%w: %d %s entries need %d bytes, %d left", ErrShort, n, what,
			uint64(n)*uint64(size), len(r.b)-r.off)
		return 0
	}
	return int(n)
}

// Decode parses one SRP message (without any 2.x crypto wrapping) sent by a
// peer of the given framing. A message from a big-endian peer is converted
// and flagged in Header.ForeignEndian. Trailing bytes after a complete
// non-mcast message are ignored, as corosync does (its sanity checks only
// require a minimum length). An mcast's Payload aliases b.
func Decode(b []byte, f Framing) (Message, error) {
	r := reader{b: b}
	var h Header
	var t MsgType
	switch f {
	case V3:
		if len(b) < 13 {
			return nil, fmt.Errorf("%w: %d bytes, header is 13", ErrShort, len(b))
		}
		switch m := binary.LittleEndian.Uint16(b); m {
		case magic3:
		case bits.ReverseBytes16(magic3):
			r.swap = true
		default:
			return nil, fmt.Errorf("%w: %#04x (%s)", ErrMagic, m, guessSender3(b))
		}
		if b[2] != version3 {
			return nil, fmt.Errorf("%w: %d", ErrVersion, b[2])
		}
		t = MsgType(b[3])
		h.Encapsulated = b[4]
		r.off = 5
		h.NodeID = NodeID(r.u32())
		h.Target = NodeID(r.u32())
	case V2:
		if len(b) < 8 {
			return nil, fmt.Errorf("%w: %d bytes, header is 8", ErrShort, len(b))
		}
		// corosync 2.x treats any detector other than its own as "convert";
		// we accept only the two real byte orders and reject the rest.
		switch d := binary.LittleEndian.Uint16(b[2:]); d {
		case endian2:
		case bits.ReverseBytes16(endian2):
			r.swap = true
		default:
			return nil, fmt.Errorf("%w: endian detector %#04x", ErrMagic, d)
		}
		t = MsgType(b[0])
		h.Encapsulated = b[1]
		r.off = 4
		h.NodeID = NodeID(r.u32())
	default:
		return nil, fmt.Errorf("wire: unknown framing %d", f)
	}
	h.ForeignEndian = r.swap
	if t > TypeTokenHoldCancel {
		return nil, fmt.Errorf("%w: %d", ErrType, uint8(t))
	}
	if len(b) < f.fixedSize(t) {
		return nil, fmt.Errorf("%w: %s needs %d bytes, have %d", ErrShort, t, f.fixedSize(t), len(b))
	}
	var m Message
	switch t {
	case TypeOrfToken:
		m = decodeOrf(&r, h, f)
	case TypeMcast:
		m = decodeMcast(&r, h, f)
	case TypeMergeDetect:
		md := &MergeDetect{Header: h}
		md.From = r.addr(f)
		md.RingID = r.ringID(f, true)
		m = md
	case TypeJoin:
		m = decodeJoin(&r, h, f)
	case TypeCommitToken:
		m = decodeCommit(&r, h, f)
	case TypeTokenHoldCancel:
		m = &TokenHoldCancel{Header: h, RingID: r.ringID(f, true)}
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", f, t, r.err)
	}
	return m, nil
}

func decodeOrf(r *reader, h Header, f Framing) *OrfToken {
	o := &OrfToken{Header: h}
	o.Seq = r.u32()
	o.TokenSeq = r.u32()
	o.Aru = r.u32()
	o.AruAddr = NodeID(r.u32())
	o.RingID = r.ringID(f, true)
	o.Backlog = r.u32()
	o.FCC = r.u32()
	o.RetransFlg = r.u32()
	n := r.u32()
	if r.err == nil && n > MaxRTR {
		// corosync copies at most RETRANSMIT_ENTRIES_MAX entries out of a
		// received token; more can only come from a corrupt or hostile peer.
		r.err = fmt.Errorf("%w: %d", ErrTooMany, n)
		return o
	}
	cnt := r.count(n, f.ringIDSize()+4, "rtr")
	if cnt > 0 {
		o.RTR = make([]RTRItem, cnt)
		for i := range o.RTR {
			o.RTR[i].RingID = r.ringID(f, true)
			o.RTR[i].Seq = r.u32()
		}
	}
	return o
}

func decodeMcast(r *reader, h Header, f Framing) *Mcast {
	mc := &Mcast{Header: h}
	mc.From = r.addr(f)
	mc.Seq = r.u32()
	mc.ThisSeqno = r.u32()
	mc.RingID = r.ringID(f, true)
	mc.NodeIDRaw = r.u32()
	mc.Guarantee = r.u32()
	if r.err == nil {
		mc.Payload = r.b[r.off:len(r.b):len(r.b)]
	}
	return mc
}

func decodeJoin(r *reader, h Header, f Framing) *Join {
	j := &Join{Header: h}
	j.From = r.addr(f)
	np := r.u32()
	nf := r.u32()
	j.RingSeq = r.u64()
	if r.err != nil {
		return j
	}
	if uint64(np)+uint64(nf) > uint64(len(r.b)-r.off)/uint64(f.addrSize()) {
		r.err = fmt.Errorf("%w: %d+%d list entries", ErrShort, np, nf)
		return j
	}
	j.Proc = r.addrList(int(np), f)
	j.Failed = r.addrList(int(nf), f)
	return j
}

func (r *reader) addrList(n int, f Framing) []Addr {
	if n == 0 {
		return nil
	}
	l := make([]Addr, n)
	for i := range l {
		l[i] = r.addr(f)
	}
	return l
}

func decodeCommit(r *reader, h Header, f Framing) *CommitToken {
	c := &CommitToken{Header: h}
	c.TokenSeq = r.u32()
	c.RingID = r.ringID(f, true)
	c.RetransFlg = r.u32()
	c.MembIndex = r.u32()
	n := r.count(r.u32(), f.addrSize()+f.ringIDSize()+12, "commit token member")
	if r.err != nil || n == 0 {
		return c
	}
	c.Addrs = r.addrList(n, f)
	c.Memb = make([]MembEntry, n)
	for i := range c.Memb {
		e := &c.Memb[i]
		e.RingID = r.ringID(f, false)
		e.Aru = r.u32()
		e.HighDelivered = r.u32()
		e.ReceivedFlg = r.u32()
	}
	return c
}

// guessSender3 names what a datagram with a bad 3.x magic probably came
// from, with corosync 3.x's guesses (check_message_header_validity).
func guessSender3(b []byte) string {
	switch m := binary.LittleEndian.Uint16(b); {
	case m == 0xFFFF:
		return "Corosync 2.2"
	case m == 0xFEFE:
		return "Corosync 2.3+"
	case b[0] == 1:
		return "unencrypted Kronosnet"
	case b[0] <= 5:
		return "unencrypted Corosync 2.0/2.1/1.x/OpenAIS"
	}
	return "encrypted Kronosnet/Corosync 2.0/2.1/1.x/OpenAIS or unknown"
}

// EncodedLen returns the number of bytes Encode produces for m.
func EncodedLen(m Message, f Framing) int {
	n := f.fixedSize(m.Type())
	switch m := m.(type) {
	case *OrfToken:
		n += len(m.RTR) * (f.ringIDSize() + 4)
	case *Mcast:
		n += len(m.Payload)
	case *Join:
		n += (len(m.Proc) + len(m.Failed)) * f.addrSize()
	case *CommitToken:
		n += len(m.Addrs) * (f.addrSize() + f.ringIDSize() + 12)
	}
	return n
}

// Encode returns the wire bytes of m in framing f, little-endian.
func Encode(m Message, f Framing) []byte {
	return Append(make([]byte, 0, EncodedLen(m, f)), m, f)
}

// Append appends the wire bytes of m in framing f to dst.
func Append(dst []byte, m Message, f Framing) []byte {
	w := writer{b: dst}
	w.encode(m, f)
	return w.b
}

// writer appends fields; swap produces big-endian output (used by tests to
// play a foreign-endian peer).
type writer struct {
	b    []byte
	swap bool
}

func (w *writer) u8(v uint8) { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) {
	if w.swap {
		v = bits.ReverseBytes16(v)
	}
	w.b = binary.LittleEndian.AppendUint16(w.b, v)
}
func (w *writer) u32(v uint32) {
	if w.swap {
		v = bits.ReverseBytes32(v)
	}
	w.b = binary.LittleEndian.AppendUint32(w.b, v)
}
func (w *writer) u64(v uint64) {
	if w.swap {
		v = bits.ReverseBytes64(v)
	}
	w.b = binary.LittleEndian.AppendUint64(w.b, v)
}

func (w *writer) ipAddr2(id NodeID, a IPAddr) {
	w.u32(uint32(id))
	w.u16(a.Family)
	w.b = append(w.b, a.Addr[:]...)
}

func (w *writer) addr(a Addr, f Framing) {
	if f != V2 {
		w.u32(uint32(a.Node))
		return
	}
	c := a.Count
	if c == 0 {
		c = 2
	}
	w.u8(c)
	w.ipAddr2(a.Node, a.IP[0])
	w.ipAddr2(a.IP[1].NodeID, a.IP[1])
}

func (w *writer) ringID(id RingID, f Framing) {
	if f != V2 {
		w.u32(uint32(id.Rep))
	} else {
		w.ipAddr2(id.Rep, id.RepIP)
	}
	w.u64(id.Seq)
}

func (w *writer) encode(m Message, f Framing) {
	h := m.Hdr()
	if f == V2 {
		w.u8(uint8(m.Type()))
		w.u8(h.Encapsulated)
		w.u16(endian2)
		w.u32(uint32(h.NodeID))
	} else {
		w.u16(magic3)
		w.u8(version3)
		w.u8(uint8(m.Type()))
		w.u8(h.Encapsulated)
		w.u32(uint32(h.NodeID))
		w.u32(uint32(h.Target))
	}
	switch m := m.(type) {
	case *OrfToken:
		w.u32(m.Seq)
		w.u32(m.TokenSeq)
		w.u32(m.Aru)
		w.u32(uint32(m.AruAddr))
		w.ringID(m.RingID, f)
		w.u32(m.Backlog)
		w.u32(m.FCC)
		w.u32(m.RetransFlg)
		w.u32(uint32(len(m.RTR)))
		for _, it := range m.RTR {
			w.ringID(it.RingID, f)
			w.u32(it.Seq)
		}
	case *Mcast:
		w.addr(m.From, f)
		w.u32(m.Seq)
		w.u32(m.ThisSeqno)
		w.ringID(m.RingID, f)
		w.u32(m.NodeIDRaw)
		w.u32(m.Guarantee)
		w.b = append(w.b, m.Payload...)
	case *MergeDetect:
		w.addr(m.From, f)
		w.ringID(m.RingID, f)
	case *Join:
		w.addr(m.From, f)
		w.u32(uint32(len(m.Proc)))
		w.u32(uint32(len(m.Failed)))
		w.u64(m.RingSeq)
		for _, a := range m.Proc {
			w.addr(a, f)
		}
		for _, a := range m.Failed {
			w.addr(a, f)
		}
	case *CommitToken:
		w.u32(m.TokenSeq)
		w.ringID(m.RingID, f)
		w.u32(m.RetransFlg)
		w.u32(m.MembIndex)
		w.u32(uint32(len(m.Addrs)))
		for _, a := range m.Addrs {
			w.addr(a, f)
		}
		for i := range m.Addrs {
			var e MembEntry
			if i < len(m.Memb) {
				e = m.Memb[i]
			}
			w.ringID(e.RingID, f)
			w.u32(e.Aru)
			w.u32(e.HighDelivered)
			w.u32(e.ReceivedFlg)
		}
	case *TokenHoldCancel:
		w.ringID(m.RingID, f)
	}
}
