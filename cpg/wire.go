package cpg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The cpg messages multicast over the ring (corosync-wire.md §5.3). Every field is
// 8-byte aligned; mar_cpg_name_t is {u32 length, 4 unused bytes, value[128]}.

// ServiceID is cpg's corosync service id.
const ServiceID = 2

const (
	fnProcJoin     = 0
	fnProcLeave    = 1
	fnJoinlist     = 2
	fnMcast        = 3
	fnDownlistOld  = 4
	fnDownlist     = 5
	fnPartialMcast = 6
)

const (
	nameSize          = 136
	maxNameLen        = 128
	joinLeaveSize     = 168
	joinlistHeader    = 24 // a qb response header
	joinlistEntrySize = 144
	mcastHeader       = 184
	partialHeader     = 200
	downlistSize      = 1568
	maxNodes          = 384 // PROCESSOR_COUNT_MAX
)

// ErrMessage reports a cpg message that cannot be decoded.
var ErrMessage = errors.New("cpg: bad message")

// JoinLeave is PROCJOIN or PROCLEAVE.
type JoinLeave struct {
	Fn     int
	Group  string
	Pid    uint32
	Reason uint32
}

// JoinlistEntry is one process of the sender in a JOINLIST.
type JoinlistEntry struct {
	Pid   uint32
	Group string
}

// Joinlist is JOINLIST: the sender's own processes, sent during sync.
type Joinlist struct{ Entries []JoinlistEntry }

// Downlist is DOWNLIST (or the receive-only DOWNLIST_OLD, with OldMembers 0).
type Downlist struct {
	OldMembers uint32
	Left       []uint32
}

// McastMsg is MCAST or PARTIAL_MCAST.
type McastMsg struct {
	Group   string
	Pid     uint32
	Node    uint32 // source nodeid as the sender wrote it
	MsgLen  uint32
	Data    []byte
	Partial bool
	Type    uint32 // PARTIAL_MCAST: 1 first, 2 continued, 3 last
}

func newMsg(fn int, size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b[0:], uint32(ServiceID<<16|fn))
	binary.LittleEndian.PutUint32(b[8:], uint32(size))
	return b
}

func putName(b []byte, group string) {
	n := copy(b[8:8+maxNameLen], group)
	binary.LittleEndian.PutUint32(b, uint32(n))
}

func encodeJoinLeave(fn int, group string, pid, reason uint32) []byte {
	b := newMsg(fn, joinLeaveSize)
	putName(b[16:], group)
	binary.LittleEndian.PutUint32(b[152:], pid)
	binary.LittleEndian.PutUint32(b[160:], reason)
	return b
}

func encodeJoinlist(entries []JoinlistEntry) []byte {
	b := newMsg(fnJoinlist, joinlistHeader+joinlistEntrySize*len(entries))
	for i, e := range entries {
		off := joinlistHeader + joinlistEntrySize*i
		binary.LittleEndian.PutUint32(b[off:], e.Pid)
		putName(b[off+8:], e.Group)
	}
	return b
}

func encodeDownlist(oldMembers uint32, left []uint32) []byte {
	b := newMsg(fnDownlist, downlistSize)
	binary.LittleEndian.PutUint32(b[16:], oldMembers)
	if len(left) > maxNodes {
		left = left[:maxNodes]
	}
	binary.LittleEndian.PutUint32(b[24:], uint32(len(left)))
	for i, id := range left {
		binary.LittleEndian.PutUint32(b[32+4*i:], id)
	}
	return b
}

func encodeMcast(group string, pid, node uint32, data []byte) []byte {
	b := newMsg(fnMcast, mcastHeader+len(data))
	putName(b[16:], group)
	binary.LittleEndian.PutUint32(b[152:], uint32(len(data)))
	binary.LittleEndian.PutUint32(b[160:], pid)
	binary.LittleEndian.PutUint32(b[168:], node)
	copy(b[mcastHeader:], data)
	return b
}

// Unmarshal decodes a cpg message. foreign: the sender's byte order differs.
func Unmarshal(b []byte, foreign bool) (any, error) {
	u32 := func(off int) uint32 {
		if foreign {
			return binary.BigEndian.Uint32(b[off:])
		}
		return binary.LittleEndian.Uint32(b[off:])
	}
	name := func(off int) (string, error) {
		n := u32(off)
		if n > maxNameLen {
			return "", fmt.Errorf("%w: group name length %d", ErrMessage, n)
		}
		return string(b[off+8 : off+8+int(n)]), nil
	}
	if len(b) < 16 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMessage, len(b))
	}
	id := u32(0)
	if id>>16 != ServiceID {
		return nil, fmt.Errorf("%w: service %d", ErrMessage, id>>16)
	}
	switch fn := int(id & 0xffff); fn {
	case fnProcJoin, fnProcLeave:
		if len(b) < joinLeaveSize {
			return nil, fmt.Errorf("%w: PROCJOIN/LEAVE of %d bytes", ErrMessage, len(b))
		}
		g, err := name(16)
		if err != nil {
			return nil, err
		}
		return &JoinLeave{Fn: fn, Group: g, Pid: u32(152), Reason: u32(160)}, nil
	case fnJoinlist:
		size := int(u32(8))
		if size < joinlistHeader || size > len(b) {
			return nil, fmt.Errorf("%w: JOINLIST size %d in %d bytes", ErrMessage, size, len(b))
		}
		jl := &Joinlist{}
		// Like corosync, read whole entries while they start before size.
		for off := joinlistHeader; off+joinlistEntrySize <= size; off += joinlistEntrySize {
			g, err := name(off + 8)
			if err != nil {
				return nil, err
			}
			jl.Entries = append(jl.Entries, JoinlistEntry{Pid: u32(off), Group: g})
		}
		return jl, nil
	case fnDownlist, fnDownlistOld:
		at, old := 24, uint32(0)
		if fn == fnDownlist {
			at = 32
			if len(b) < 32 {
				return nil, fmt.Errorf("%w: DOWNLIST of %d bytes", ErrMessage, len(b))
			}
			old = u32(16)
		}
		n := int(u32(at - 8))
		if n > maxNodes || len(b) < at+4*n {
			return nil, fmt.Errorf("%w: downlist of %d nodes in %d bytes", ErrMessage, n, len(b))
		}
		d := &Downlist{OldMembers: old}
		for i := 0; i < n; i++ {
			d.Left = append(d.Left, u32(at+4*i))
		}
		return d, nil
	case fnMcast:
		if len(b) < mcastHeader {
			return nil, fmt.Errorf("%w: MCAST of %d bytes", ErrMessage, len(b))
		}
		g, err := name(16)
		if err != nil {
			return nil, err
		}
		n := u32(152)
		if uint64(n) > uint64(len(b)-mcastHeader) {
			return nil, fmt.Errorf("%w: MCAST of %d bytes claims %d", ErrMessage, len(b), n)
		}
		return &McastMsg{Group: g, MsgLen: n, Pid: u32(160), Node: u32(168), Data: b[mcastHeader : mcastHeader+int(n)]}, nil
	case fnPartialMcast:
		if len(b) < partialHeader {
			return nil, fmt.Errorf("%w: PARTIAL_MCAST of %d bytes", ErrMessage, len(b))
		}
		g, err := name(16)
		if err != nil {
			return nil, err
		}
		frag := u32(160)
		if uint64(frag) > uint64(len(b)-partialHeader) {
			return nil, fmt.Errorf("%w: PARTIAL_MCAST of %d bytes claims %d", ErrMessage, len(b), frag)
		}
		return &McastMsg{Group: g, MsgLen: u32(152), Pid: u32(168), Type: u32(176), Node: u32(184),
			Data: b[partialHeader : partialHeader+int(frag)], Partial: true}, nil
	default:
		return nil, fmt.Errorf("%w: function %d", ErrMessage, fn)
	}
}
