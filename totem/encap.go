package totem

import (
	"encoding/binary"
	"errors"

	"ringmaster/totem/wire"
)

// In RECOVERY a node retransmits old-ring messages wrapped in a new-ring
// mcast whose payload is the complete old mcast, header included, exactly
// as it travelled on the old ring (memb_state_recovery_enter). The machine
// therefore needs the 3.x mcast layout for that inner message; the layout is
// the one of docs/corosync-wire.md §2.4 (45-byte header, sender's byte order).

const (
	mcastHeader3 = 45
	magic3       = 0xC070
)

var errInner = errors.New("totem: malformed encapsulated mcast")

// encapsulate encodes m as a 3.x mcast in little-endian order.
func encapsulate(m *wire.Mcast) []byte {
	b := make([]byte, mcastHeader3+len(m.Payload))
	le := binary.LittleEndian
	le.PutUint16(b[0:], magic3)
	b[2] = 3
	b[3] = byte(wire.TypeMcast)
	b[4] = m.Encapsulated
	le.PutUint32(b[5:], uint32(m.NodeID))
	le.PutUint32(b[9:], 0)
	le.PutUint32(b[13:], uint32(m.From.Node))
	le.PutUint32(b[17:], m.Seq)
	le.PutUint32(b[21:], m.ThisSeqno)
	le.PutUint32(b[25:], uint32(m.RingID.Rep))
	le.PutUint64(b[29:], m.RingID.Seq)
	le.PutUint32(b[37:], m.NodeIDRaw)
	le.PutUint32(b[41:], m.Guarantee)
	copy(b[mcastHeader3:], m.Payload)
	return b
}

// decapsulate decodes the inner mcast of a recovery message, in either byte
// order. The payload aliases b.
func decapsulate(b []byte) (*wire.Mcast, error) {
	if len(b) < mcastHeader3 || b[2] != 3 || b[3] != byte(wire.TypeMcast) {
		return nil, errInner
	}
	var o binary.ByteOrder = binary.LittleEndian
	foreign := false
	switch binary.LittleEndian.Uint16(b) {
	case magic3:
	case 0x70C0:
		o, foreign = binary.BigEndian, true
	default:
		return nil, errInner
	}
	m := &wire.Mcast{
		Header: wire.Header{
			Encapsulated:  b[4],
			NodeID:        wire.NodeID(o.Uint32(b[5:])),
			Target:        wire.NodeID(o.Uint32(b[9:])),
			ForeignEndian: foreign,
		},
		From:      wire.NodeAddr(wire.NodeID(o.Uint32(b[13:]))),
		Seq:       o.Uint32(b[17:]),
		ThisSeqno: o.Uint32(b[21:]),
		RingID:    wire.RingID{Rep: wire.NodeID(o.Uint32(b[25:])), Seq: o.Uint64(b[29:])},
		NodeIDRaw: o.Uint32(b[37:]),
		Guarantee: o.Uint32(b[41:]),
		Payload:   b[mcastHeader3:],
	}
	return m, nil
}
