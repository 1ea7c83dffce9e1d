package votequorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// The votequorum messages multicast over the ring (corosync-wire.md §5.4): the
// 16-byte service header {i32 id = service<<16 | fn, 4 pad, i32 size, 4 pad}, then
// the packed structure, identical in corosync 2.x and 3.x.

// ServiceID is votequorum's corosync service id.
const ServiceID = 5

// Message function ids.
const (
	fnNodeInfo           = 0
	fnReconfigure        = 1
	fnQdeviceReg         = 2
	fnQdeviceReconfigure = 3
)

const (
	headerSize      = 16
	nodeInfoSize    = 32
	reconfigureSize = 28
)

// Reconfigure parameters.
const (
	ParamExpectedVotes uint8 = 1
	ParamNodeVotes     uint8 = 2
	ParamCancelWFA     uint8 = 3
)

// ErrMessage reports a votequorum message that cannot be decoded.
var ErrMessage = errors.New("votequorum: bad message")

// NodeInfo is NODEINFO: a node's (or, for node id 0, the quorum device's) votes,
// expected votes and flags.
type NodeInfo struct {
	NodeID        uint32
	Votes         uint32
	ExpectedVotes uint32
	Flags         uint32
}

// Reconfigure is RECONFIGURE: an administrative change every node applies.
type Reconfigure struct {
	NodeID uint32
	Value  uint32
	Param  uint8
}

// QdeviceMessage is QDEVICE_REG or QDEVICE_RECONFIGURE; decoded so that a
// cluster with a quorum device on other nodes does not produce errors, but not
// acted upon.
type QdeviceMessage struct{ Fn int }

func header(fn int, size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b[0:], uint32(ServiceID<<16|fn))
	binary.LittleEndian.PutUint32(b[8:], uint32(size))
	return b
}

// Marshal encodes the message with its service header, little-endian.
func (n *NodeInfo) Marshal() []byte {
	b := header(fnNodeInfo, nodeInfoSize)
	binary.LittleEndian.PutUint32(b[16:], n.NodeID)
	binary.LittleEndian.PutUint32(b[20:], n.Votes)
	binary.LittleEndian.PutUint32(b[24:], n.ExpectedVotes)
	binary.LittleEndian.PutUint32(b[28:], n.Flags)
	return b
}

// Marshal encodes the message with its service header, little-endian.
func (r *Reconfigure) Marshal() []byte {
	b := header(fnReconfigure, reconfigureSize)
	binary.LittleEndian.PutUint32(b[16:], r.NodeID)
	binary.LittleEndian.PutUint32(b[20:], r.Value)
	b[24] = r.Param
	return b
}

// Unmarshal decodes a votequorum message (with its service header) from a
// little-endian sender. Use Swap first for a big-endian one.
func Unmarshal(b []byte) (any, error) {
	if len(b) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrMessage, len(b))
	}
	id := binary.LittleEndian.Uint32(b[0:])
	if id>>16 != ServiceID {
		return nil, fmt.Errorf("%w: service %d", ErrMessage, id>>16)
	}
	switch fn := int(id & 0xffff); fn {
	case fnNodeInfo:
		if len(b) < nodeInfoSize {
			return nil, fmt.Errorf("%w: NODEINFO of %d bytes", ErrMessage, len(b))
		}
		return &NodeInfo{
			NodeID:        binary.LittleEndian.Uint32(b[16:]),
			Votes:         binary.LittleEndian.Uint32(b[20:]),
			ExpectedVotes: binary.LittleEndian.Uint32(b[24:]),
			Flags:         binary.LittleEndian.Uint32(b[28:]),
		}, nil
	case fnReconfigure:
		if len(b) < reconfigureSize {
			return nil, fmt.Errorf("%w: RECONFIGURE of %d bytes", ErrMessage, len(b))
		}
		return &Reconfigure{
			NodeID: binary.LittleEndian.Uint32(b[16:]),
			Value:  binary.LittleEndian.Uint32(b[20:]),
			Param:  b[24],
		}, nil
	case fnQdeviceReg, fnQdeviceReconfigure:
		return &QdeviceMessage{Fn: fn}, nil
	default:
		return nil, fmt.Errorf("%w: function %d", ErrMessage, fn)
	}
}

// Swap converts a message from a peer of the other byte order in place
// (exec_votequorum_*_endian_convert): the header and every u32 field.
func Swap(b []byte) {
	if len(b) < headerSize {
		return
	}
	sw := func(off int) {
		if off+4 <= len(b) {
			binary.LittleEndian.PutUint32(b[off:], bits.ReverseBytes32(binary.LittleEndian.Uint32(b[off:])))
		}
	}
	fn := binary.BigEndian.Uint32(b[0:]) & 0xffff // the id as the foreign sender wrote it
	sw(0)
	sw(8)
	switch fn {
	case fnNodeInfo:
		for off := 16; off < nodeInfoSize; off += 4 {
			sw(off)
		}
	case fnReconfigure:
		sw(16)
		sw(20)
	case fnQdeviceReg:
		sw(16)
	}
}
