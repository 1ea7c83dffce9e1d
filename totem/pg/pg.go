// Package pg is totempg: the layer between the SRP and the service engines
// that packs several small messages into one SRP mcast payload, fragments
// large ones over net_mtu, reassembles them per sender, and prefixes each
// message with the names of the process groups it is addressed to.
//
// The layout and both algorithms are the same in corosync 2.4.6 and 3.1.7
// (exec/totempg.c: mcast_msg, callback_token_received_fn,
// totempg_deliver_fn); only net_mtu differs (see wire.Framing and
// docs/corosync-wire.md §1.3 and §4). The packer and the assembler are pure
// state machines; the caller hands packets to the SRP and back.
package pg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// HeaderSize is sizeof(struct totempg_mcast).
const HeaderSize = 8

// Packet is one totempg_mcast, the payload of an SRP mcast.
type Packet struct {
	Version uint16 // always 0
	// Type is never assigned by corosync: 3.x zeroes the struct, 2.x leaves
	// it uninitialised (0 in every capture). Carried for round trips only.
	Type uint16
	// Fragmented is non-zero when the last chunk continues in a later
	// packet; the value is the fragment number (1..255, wrapping past 0).
	Fragmented uint8
	// Continuation is non-zero when the first chunk continues the previous
	// packet's fragment; it equals that packet's Fragmented.
	Continuation uint8
	// Chunks are the packed messages (or message pieces); they alias the
	// decoded buffer.
	Chunks [][]byte
}

var (
	// ErrLength: the packet length does not match its header and length array.
	ErrLength = errors.New("totempg: packet length mismatch")
	// ErrTooLarge: a chunk or message exceeds what the format can carry.
	ErrTooLarge = errors.New("totempg: message too large")
)

// Decode parses a totempg packet. foreign is the SRP's endian-conversion
// flag (wire.Header.ForeignEndian): the 16-bit fields are in the sender's
// byte order. Like totempg_deliver_fn, the total length must match exactly.
func Decode(b []byte, foreign bool) (Packet, error) {
	var p Packet
	if len(b) < HeaderSize {
		return p, fmt.Errorf("%w: %d bytes, header is %d", ErrLength, len(b), HeaderSize)
	}
	u16 := func(o int) uint16 {
		v := binary.LittleEndian.Uint16(b[o:])
		if foreign {
			v = bits.ReverseBytes16(v)
		}
		return v
	}
	p.Version, p.Type = u16(0), u16(2)
	p.Fragmented, p.Continuation = b[4], b[5]
	n := int(u16(6))
	off := HeaderSize + 2*n
	if off > len(b) {
		return p, fmt.Errorf("%w: %d lengths in %d bytes", ErrLength, n, len(b))
	}
	total := off
	for i := 0; i < n; i++ {
		total += int(u16(HeaderSize + 2*i))
	}
	if total != len(b) {
		return p, fmt.Errorf("%w: header says %d bytes, have %d", ErrLength, total, len(b))
	}
	if n > 0 {
		p.Chunks = make([][]byte, n)
		for i := range p.Chunks {
			l := int(u16(HeaderSize + 2*i))
			p.Chunks[i] = b[off : off+l : off+l]
			off += l
		}
	}
	return p, nil
}

// Len is the encoded size of p.
func (p *Packet) Len() int {
	n := HeaderSize + 2*len(p.Chunks)
	for _, c := range p.Chunks {
		n += len(c)
	}
	return n
}

// Append encodes p (little-endian) after dst. Chunks longer than 65535
// bytes cannot be expressed; the packer never produces them.
func (p *Packet) Append(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint16(dst, p.Version)
	dst = le.AppendUint16(dst, p.Type)
	dst = append(dst, p.Fragmented, p.Continuation)
	dst = le.AppendUint16(dst, uint16(len(p.Chunks)))
	for _, c := range p.Chunks {
		dst = le.AppendUint16(dst, uint16(len(c)))
	}
	for _, c := range p.Chunks {
		dst = append(dst, c...)
	}
	return dst
}

// Groups returns the iovecs corosync puts before a service message sent to
// the given groups (totempg_groups_mcast_joined): the u16 count and lengths,
// then each name. Corosync itself uses "a" (service engines) and "sync".
func Groups(groups ...string) [][]byte {
	h := binary.LittleEndian.AppendUint16(nil, uint16(len(groups)))
	iov := [][]byte{nil}
	for _, g := range groups {
		h = binary.LittleEndian.AppendUint16(h, uint16(len(g)))
		iov = append(iov, []byte(g))
	}
	iov[0] = h
	return iov
}

// ErrGroups reports a delivered message whose group header does not fit.
var ErrGroups = errors.New("totempg: corrupt group header")

// SplitGroups parses the group header of a delivered message and returns
// the group names and the service message. foreign: sender byte order
// differs (group_endian_convert).
func SplitGroups(msg []byte, foreign bool) (groups [][]byte, body []byte, err error) {
	return SplitGroupsInto(nil, msg, foreign)
}

// SplitGroupsInto is SplitGroups appending the group names to groups[:0],
// so that a receiver can reuse one slice for every message.
func SplitGroupsInto(groups [][]byte, msg []byte, foreign bool) ([][]byte, []byte, error) {
	u16 := func(o int) int {
		v := binary.LittleEndian.Uint16(msg[o:])
		if foreign {
			v = bits.ReverseBytes16(v)
		}
		return int(v)
	}
	if len(msg) < 2 {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrGroups, len(msg))
	}
	n := u16(0)
	off := 2 + 2*n
	if off > len(msg) {
		return nil, nil, fmt.Errorf("%w: %d groups in %d bytes", ErrGroups, n, len(msg))
	}
	groups = groups[:0]
	for i := range n {
		l := u16(2 + 2*i)
		if l > len(msg)-off {
			return nil, nil, fmt.Errorf("%w: group %d length %d", ErrGroups, i, l)
		}
		groups = append(groups, msg[off:off+l:off+l])
		off += l
	}
	return groups, msg[off:], nil
}

// InGroup reports whether a delivered message is addressed to name
// (group_matches: any listed group equal to any of the receiver's).
func InGroup(groups [][]byte, name string) bool {
	for _, g := range groups {
		if string(g) == name {
			return true
		}
	}
	return false
}
