package wire

import (
	"fmt"
	"net/netip"
)

// NodeID is a corosync node id (nodelist.node.X.nodeid, or derived from the
// ring0 IPv4 address). 0 is reserved: it marks a "leave" join in the header.
type NodeID uint32

// LeaveNodeID is the header nodeid of a memb_join sent on orderly shutdown
// (LEAVE_DUMMY_NODEID in totemsrp.c).
const LeaveNodeID NodeID = 0

// MsgType is the SRP message type byte (same numbers in 2.x and 3.x).
type MsgType uint8

const (
	TypeOrfToken        MsgType = 0
	TypeMcast           MsgType = 1
	TypeMergeDetect     MsgType = 2
	TypeJoin            MsgType = 3
	TypeCommitToken     MsgType = 4
	TypeTokenHoldCancel MsgType = 5
)

func (t MsgType) String() string {
	switch t {
	case TypeOrfToken:
		return "orf_token"
	case TypeMcast:
		return "mcast"
	case TypeMergeDetect:
		return "memb_merge_detect"
	case TypeJoin:
		return "memb_join"
	case TypeCommitToken:
		return "memb_commit_token"
	case TypeTokenHoldCancel:
		return "token_hold_cancel"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Values of Header.Encapsulated (MESSAGE_ENCAPSULATED / MESSAGE_NOT_ENCAPSULATED).
// Only meaningful for mcast: 1 marks a recovery copy whose payload is a whole
// old-ring mcast (header included). Other message types send 0.
const (
	Encapsulated    uint8 = 1
	NotEncapsulated uint8 = 2
)

// MaxRTR is the most retransmit requests an ORF token carries
// (RETRANSMIT_ENTRIES_MAX in totemsrp.c).
const MaxRTR = 30

// Address families as carried in a 2.x totem_ip_address (Linux values, host order).
const (
	AFInet  uint16 = 2
	AFInet6 uint16 = 10
)

// Header is the part of the common SRP header that is not implied by the Go
// type of the message.
type Header struct {
	// Encapsulated is 1 or 2 for mcast (see the constants), 0 otherwise.
	Encapsulated uint8
	// NodeID is the sender (0 = leave join).
	NodeID NodeID
	// Target is the 3.x target_nodeid. Only knet uses it; udp/udpu leave it
	// uninitialised, so captured packets carry stack garbage here. It is kept
	// only so that a decoded packet re-encodes to identical bytes; send 0 and
	// ignore it on receipt. Not present in 2.x.
	Target NodeID
	// ForeignEndian is set by Decode when the sender's byte order differs
	// from little-endian (all fields have already been converted). Encode
	// ignores it and always writes little-endian. For mcast the payload is
	// not converted: upper layers must swap their own fields.
	ForeignEndian bool
}

// Hdr returns the header; promoted to every message type.
func (h *Header) Hdr() *Header { return h }

// IPAddr is a 2.x struct totem_ip_address (22 bytes on the wire).
type IPAddr struct {
	NodeID NodeID
	Family uint16   // 0 (unused slot), AFInet or AFInet6
	Addr   [16]byte // network order; IPv4 uses the first 4 bytes
}

// IPv4Addr builds a totem_ip_address for an IPv4 address.
func IPv4Addr(id NodeID, a, b, c, d byte) IPAddr {
	return IPAddr{NodeID: id, Family: AFInet, Addr: [16]byte{a, b, c, d}}
}

// Addr is an srp_addr: the identity of a processor.
//
// In 3.x only Node is on the wire. In 2.x the srp_addr is a count byte plus
// two totem_ip_address (ring0, ring1); Node mirrors IP[0].NodeID (Decode sets
// both; Encode writes Node into the first address's nodeid slot). 2.x compares
// processors by IP[0].Family/IP[0].Addr only and orders rings by the ring0
// address (see Less2).
type Addr struct {
	Node NodeID
	// Count is the 2.x no_addrs byte (always 2 = INTERFACE_MAX from 2.x
	// senders). Encode writes 2 when it is 0.
	Count uint8
	IP    [2]IPAddr
}

// NodeAddr is the 3.x form of a processor address.
func NodeAddr(id NodeID) Addr { return Addr{Node: id} }

// Addr2 builds a 2.x processor address with ring0 address ip (ring1 unused).
func Addr2(ip IPAddr) Addr {
	return Addr{Node: ip.NodeID, Count: 2, IP: [2]IPAddr{ip}}
}

// RingID identifies a ring configuration (struct memb_ring_id).
//
// 3.x: Rep (representative's nodeid) + Seq. 2.x: RepIP (the representative's
// ring0 totem_ip_address; Rep mirrors RepIP.NodeID) + Seq; 2.x compares ring
// ids byte-wise over the whole structure, so RepIP must be exact.
type RingID struct {
	Rep   NodeID
	RepIP IPAddr // 2.x only
	Seq   uint64
}

// String prints the ring id as corosync 3.x logs it: "rep.seq" in hex.
func (r RingID) String() string { return fmt.Sprintf("%x.%x", uint32(r.Rep), r.Seq) }

// RTRItem is one retransmit request in an ORF token.
type RTRItem struct {
	RingID RingID
	Seq    uint32
}

// MembEntry is a commit token memb_list entry: what one new member knew about
// its old ring.
type MembEntry struct {
	RingID        RingID // the member's old ring
	Aru           uint32
	HighDelivered uint32
	ReceivedFlg   uint32
}

// Message is one SRP message: *OrfToken, *Mcast, *MergeDetect, *Join,
// *CommitToken or *TokenHoldCancel.
type Message interface {
	Type() MsgType
	Hdr() *Header
	isMessage()
}

// OrfToken is the ordering/retransmission/flow-control token (type 0).
type OrfToken struct {
	Header
	Seq        uint32 // highest message seq assigned on this ring
	TokenSeq   uint32 // incremented by every holder
	Aru        uint32 // all-received-up-to
	AruAddr    NodeID // who last lowered Aru (0 = nobody)
	RingID     RingID
	Backlog    uint32
	FCC        uint32
	RetransFlg uint32
	RTR        []RTRItem // at most MaxRTR on send; decoders accept what fits the datagram
}

// Mcast is a regular or recovery (encapsulated) multicast message (type 1).
type Mcast struct {
	Header
	From      Addr   // originator (system_from)
	Seq       uint32 // ring sequence number
	ThisSeqno uint32 // sender-local counter, informational
	RingID    RingID // ring on which the message was sent
	NodeIDRaw uint32 // the struct's node_id field: never set by corosync (0), carried for round trips
	Guarantee uint32 // copied from the caller, not interpreted
	// Payload is a totempg packet, or for Encapsulated == 1 a complete old
	// ring mcast. Decode returns a sub-slice of its input (no copy).
	Payload []byte
}

// MergeDetect is sent by a representative to find other rings (type 2).
type MergeDetect struct {
	Header
	From   Addr
	RingID RingID
}

// Join is a membership join, or a leave when Header.NodeID == 0 (type 3).
type Join struct {
	Header
	From    Addr
	RingSeq uint64 // seq of the sender's current ring
	Proc    []Addr // unsorted, in order of discovery
	Failed  []Addr
}

// IsLeave reports whether the join is an orderly-shutdown leave message.
func (j *Join) IsLeave() bool { return j.NodeID == LeaveNodeID }

// CommitToken carries the new membership around the ring (type 4).
// Memb has one entry per Addrs entry; Encode writes len(Addrs) entries,
// zero-filling any missing ones.
type CommitToken struct {
	Header
	TokenSeq   uint32
	RingID     RingID // the new ring
	RetransFlg uint32
	MembIndex  uint32
	Addrs      []Addr // new membership, sorted ascending
	Memb       []MembEntry
}

// TokenHoldCancel asks the representative to release a held token (type 5).
type TokenHoldCancel struct {
	Header
	RingID RingID
}

func (*OrfToken) Type() MsgType        { return TypeOrfToken }
func (*Mcast) Type() MsgType           { return TypeMcast }
func (*MergeDetect) Type() MsgType     { return TypeMergeDetect }
func (*Join) Type() MsgType            { return TypeJoin }
func (*CommitToken) Type() MsgType     { return TypeCommitToken }
func (*TokenHoldCancel) Type() MsgType { return TypeTokenHoldCancel }

func (*OrfToken) isMessage()        {}
func (*Mcast) isMessage()           {}
func (*MergeDetect) isMessage()     {}
func (*Join) isMessage()            {}
func (*CommitToken) isMessage()     {}
func (*TokenHoldCancel) isMessage() {}

// Framing selects the corosync generation's SRP layout.
type Framing uint8

const (
	// V3 is corosync 3.x udp/udpu (and the SRP messages knet carries).
	V3 Framing = 3
	// V2 is corosync 2.x (2.3.0 .. 2.4.x); datagrams are also crypto-wrapped.
	V2 Framing = 2
)

func (f Framing) String() string {
	switch f {
	case V3:
		return "3.x"
	case V2:
		return "2.x"
	}
	return fmt.Sprintf("framing(%d)", uint8(f))
}

// HeaderSize is the size of the common SRP header.
func (f Framing) HeaderSize() int {
	if f == V2 {
		return 8
	}
	return 13
}

// McastHeaderSize is the size of an mcast message before its payload
// (45 in 3.x, 99 in 2.x); corosync reserves twice this from netmtu.
func (f Framing) McastHeaderSize() int {
	if f == V2 {
		return 99
	}
	return 45
}

// Equal2 reports whether two 2.x processor addresses are the same processor:
// 2.x (srp_addr_equal) compares only the first address's family and bytes.
func (a Addr) Equal2(b Addr) bool {
	return a.IP[0].Family == b.IP[0].Family && a.IP[0].Addr == b.IP[0].Addr
}

// Less2 orders 2.x processors as the commit token and ring representative
// choice do: by ring0 address, IPv4 as a big-endian integer and IPv6
// byte-wise (totemip_compare), which for network-order bytes is one
// lexicographic comparison.
func (a Addr) Less2(b Addr) bool {
	if a.IP[0].Family != b.IP[0].Family {
		return a.IP[0].Family < b.IP[0].Family
	}
	for i := range a.IP[0].Addr {
		if a.IP[0].Addr[i] != b.IP[0].Addr[i] {
			return a.IP[0].Addr[i] < b.IP[0].Addr[i]
		}
	}
	return false
}

// String prints a processor as its node id, plus the ring0 address for 2.x.
func (a Addr) String() string {
	if a.IP[0].Family == 0 {
		return fmt.Sprint(uint32(a.Node))
	}
	return fmt.Sprintf("%d/%s", uint32(a.Node), a.IP[0])
}

// String prints a totem_ip_address's address part.
func (ip IPAddr) String() string {
	switch ip.Family {
	case AFInet:
		return netip.AddrFrom4([4]byte(ip.Addr[:4])).String()
	case AFInet6:
		return netip.AddrFrom16(ip.Addr).String()
	}
	return fmt.Sprintf("family%d", ip.Family)
}
