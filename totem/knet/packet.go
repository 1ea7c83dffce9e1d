// Package knet implements the wire format of libknet 1.x (onwire version 1), the
// transport corosync 3 uses by default: the packet header and its frame types,
// the crypto framing, the receive-side sequence window and fragment reassembly.
//
// Everything here is pure: codecs and small state machines fed with bytes and
// numbers, no sockets and no clocks. The layouts are those of knet-wire.md (written
// from kronosnet v1.25 libknet/onwire.h, threads_rx.c, threads_tx.c and crypto_*.c
// and checked on captures of Debian's corosync 3.1.7 + libknet 1.25).
package knet

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Type is the knet frame type (header byte 1). Bit 7 marks link-level control frames.
type Type uint8

const (
	TypeData       Type = 0x00
	TypePing       Type = 0x81
	TypePong       Type = 0x82
	TypePMTUD      Type = 0x83
	TypePMTUDReply Type = 0x84
)

func (t Type) String() string {
	switch t {
	case TypeData:
		return "DATA"
	case TypePing:
		return "PING"
	case TypePong:
		return "PONG"
	case TypePMTUD:
		return "PMTUD"
	case TypePMTUDReply:
		return "PMTUD_REPLY"
	}
	return fmt.Sprintf("type(0x%02x)", uint8(t))
}

// Sizes fixed by onwire.h.
const (
	Version        = 1
	HeaderSize     = 6  // version, type, node id (BE), two reserved bytes
	DataHeaderSize = 14 // common header + seq, compress, pad, bcast, frag_num, frag_seq, channel
	PingSize       = 26 // common header + link, 16-byte timespec, seq, timed
	PMTUDReplySize = 9  // common header + link + size
	// HeaderAllSize is KNET_HEADER_ALL_SIZE: the header plus the largest per-type part
	// (PING's 20 bytes). knet uses it in all MTU arithmetic, even for DATA.
	HeaderAllSize = 26
	// MaxPacket is KNET_MAX_PACKET_SIZE, the largest message knet carries.
	MaxPacket = 65536
	// MaxFragments is the largest frag_num (one byte).
	MaxFragments = 255
	// MaxLinks is KNET_MAX_LINK: link ids 0..7.
	MaxLinks = 8
)

// Errors returned by Decode.
var (
	ErrShort   = errors.New("knet: packet too short")
	ErrVersion = errors.New("knet: unsupported onwire version")
	ErrType    = errors.New("knet: unknown packet type")
)

// NodeID is a knet host id: corosync's node id, 16 bits on the wire.
type NodeID uint16

// Packet is one decoded knet frame: *Data, *Ping (PING and PONG), *PMTUD (probe
// and reply).
type Packet interface {
	Type() Type
	Source() NodeID
	// AppendTo appends the frame's wire form (clear text) to b.
	AppendTo(b []byte) []byte
}

// Data is a DATA frame: one message, or one fragment of it.
type Data struct {
	Node     NodeID
	Seq      uint16 // the sender's TX sequence number (shared by all fragments)
	Compress uint8  // 0 = not compressed, else the compression model id (§6)
	Pad      uint8  // reserved; carried so re-encoding is byte-exact
	Bcast    bool
	FragNum  uint8 // number of fragments; 1 when unfragmented
	FragSeq  uint8 // 0 when unfragmented, else 1..FragNum
	Channel  int8  // corosync always uses channel 0
	Payload  []byte
}

func (d *Data) Type() Type     { return TypeData }
func (d *Data) Source() NodeID { return d.Node }

func (d *Data) AppendTo(b []byte) []byte {
	b = appendHeader(b, TypeData, d.Node)
	b = binary.BigEndian.AppendUint16(b, d.Seq)
	b = append(b, d.Compress, d.Pad, boolByte(d.Bcast), d.FragNum, d.FragSeq, byte(d.Channel))
	return append(b, d.Payload...)
}

// Ping is a PING or PONG frame. A PONG is the received PING with the type changed
// and the responder's node id; the rest is echoed unchanged (Reply does that).
type Ping struct {
	Pong  bool
	Node  NodeID
	Link  uint8
	Time  [16]byte // the pinger's monotonic clock, opaque to everyone else
	Seq   uint16   // the pinger's current TX data sequence number (0: no data sent yet)
	Timed bool     // false: an "untimed" ping forced by the data path
}

func (p *Ping) Type() Type {
	if p.Pong {
		return TypePong
	}
	return TypePing
}
func (p *Ping) Source() NodeID { return p.Node }

func (p *Ping) AppendTo(b []byte) []byte {
	b = appendHeader(b, p.Type(), p.Node)
	b = append(b, p.Link)
	b = append(b, p.Time[:]...)
	b = binary.BigEndian.AppendUint16(b, p.Seq)
	return append(b, boolByte(p.Timed))
}

// Reply returns the PONG that node `me` answers this PING with.
func (p *Ping) Reply(me NodeID) *Ping {
	r := *p
	r.Pong, r.Node = true, me
	return &r
}

// PMTUD is a path-MTU probe or its reply. Size is the total IP datagram length the
// probe is meant to produce (in the sender's byte order, little-endian on every
// host we meet); a probe is padded with zeros to Len bytes, a reply is 9 bytes.
type PMTUD struct {
	Reply bool
	Node  NodeID
	Link  uint8
	Size  uint16
	Len   int // probe only: the knet packet length (>= 9)
}

func (p *PMTUD) Type() Type {
	if p.Reply {
		return TypePMTUDReply
	}
	return TypePMTUD
}
func (p *PMTUD) Source() NodeID { return p.Node }

func (p *PMTUD) AppendTo(b []byte) []byte {
	b = appendHeader(b, p.Type(), p.Node)
	b = append(b, p.Link)
	b = binary.LittleEndian.AppendUint16(b, p.Size)
	if !p.Reply && p.Len > PMTUDReplySize {
		b = append(b, make([]byte, p.Len-PMTUDReplySize)...)
	}
	return b
}

// Answer returns the 9-byte reply node `me` sends to this probe.
func (p *PMTUD) Answer(me NodeID) *PMTUD {
	return &PMTUD{Reply: true, Node: me, Link: p.Link, Size: p.Size}
}

func appendHeader(b []byte, t Type, node NodeID) []byte {
	b = append(b, Version, byte(t))
	b = binary.BigEndian.AppendUint16(b, uint16(node))
	return append(b, 0, 0)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// Encode returns the clear-text wire form of p.
func Encode(p Packet) []byte { return p.AppendTo(nil) }

// Decode parses one clear-text knet packet. The Data payload aliases b. Receivers
// drop what fails here (libknet drops packets under 7 bytes and other versions, and
// ignores unknown types); reserved header bytes are not checked, as libknet does not.
func Decode(b []byte) (Packet, error) {
	if len(b) <= HeaderSize {
		return nil, ErrShort
	}
	if b[0] != Version {
		return nil, fmt.Errorf("%w %d", ErrVersion, b[0])
	}
	node := NodeID(binary.BigEndian.Uint16(b[2:4]))
	switch t := Type(b[1]); t {
	case TypeData:
		if len(b) < DataHeaderSize {
			return nil, fmt.Errorf("%w: DATA of %d bytes", ErrShort, len(b))
		}
		return &Data{
			Node:     node,
			Seq:      binary.BigEndian.Uint16(b[6:8]),
			Compress: b[8],
			Pad:      b[9],
			Bcast:    b[10] != 0,
			FragNum:  b[11],
			FragSeq:  b[12],
			Channel:  int8(b[13]),
			Payload:  b[DataHeaderSize:],
		}, nil
	case TypePing, TypePong:
		if len(b) < PingSize {
			return nil, fmt.Errorf("%w: %v of %d bytes", ErrShort, t, len(b))
		}
		p := &Ping{Pong: t == TypePong, Node: node, Link: b[6], Seq: binary.BigEndian.Uint16(b[23:25]), Timed: b[25] != 0}
		copy(p.Time[:], b[7:23])
		return p, nil
	case TypePMTUD, TypePMTUDReply:
		if len(b) < PMTUDReplySize {
			return nil, fmt.Errorf("%w: %v of %d bytes", ErrShort, t, len(b))
		}
		p := &PMTUD{Reply: t == TypePMTUDReply, Node: node, Link: b[6], Size: binary.LittleEndian.Uint16(b[7:9])}
		if !p.Reply {
			p.Len = len(b)
		}
		return p, nil
	default:
		return nil, fmt.Errorf("%w 0x%02x", ErrType, uint8(t))
	}
}
