package cpg

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"ringmaster/cmap"
	"ringmaster/ipc"
)

// Client is a libcpg-compatible client (lib/cpg.c) of the "cpg" service, ours
// or corosync's: one connection is one process handle that may join one group.
// Server errors are cmap.Error values.
type Client struct {
	ipc     *ipc.Client
	timeout time.Duration
	pid     uint32
	group   string
}

// Dial connects like cpg_initialize (which sends nothing).
func Dial(o ipc.ClientOptions) (*Client, error) {
	ic, err := ipc.Dial("cpg", o)
	if err != nil {
		return nil, fmt.Errorf("cpg: %w", err)
	}
	return &Client{ipc: ic, timeout: -1, pid: uint32(os.Getpid())}, nil
}

// Close disconnects without FINALIZE (as a process that exits).
func (c *Client) Close() error { return c.ipc.Close() }

func (c *Client) call(req []byte, wantID int32, minSize int) ([]byte, error) {
	return cmap.Call(c.ipc, "cpg", req, c.timeout, wantID, minSize)
}

func nameReq(id int32, size int, group string) []byte {
	m := ipc.NewRequest(id, size-ipc.RequestHeaderSize)
	putName(m[16:], group)
	return m
}

// LocalGet is cpg_local_get.
func (c *Client) LocalGet() (uint32, error) {
	b, err := c.call(ipc.NewRequest(ReqLocalGet, 0), ResLocalGet, localGetResSize)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[24:]), nil
}

// Join is cpg_join (flags: FlagDeliverInitialTotemConf for model v1 clients).
func (c *Client) Join(group string, flags uint32) error {
	if len(group) > maxNameLen {
		return cmap.ErrInvalidParam
	}
	m := nameReq(ReqJoin, libJoinSize, group)
	binary.LittleEndian.PutUint32(m[152:], c.pid)
	binary.LittleEndian.PutUint32(m[160:], flags)
	if _, err := c.call(m, ResJoin, 24); err != nil {
		return err
	}
	c.group = group
	return nil
}

// Leave is cpg_leave.
func (c *Client) Leave() error {
	m := nameReq(ReqLeave, libLeaveSize, c.group)
	binary.LittleEndian.PutUint32(m[152:], c.pid)
	_, err := c.call(m, ResLeave, 24)
	return err
}

// Mcast is cpg_mcast_joined with CPG_TYPE_AGREED; like the library it does not
// wait for an answer (there is none).
func (c *Client) Mcast(data []byte) error {
	m := make([]byte, libMcastHeader+len(data))
	ipc.PutResponseHeader(m, ipc.ResponseHeader{ID: ReqMcast, Size: int32(len(m))})
	binary.LittleEndian.PutUint32(m[24:], 2) // CPG_TYPE_AGREED
	binary.LittleEndian.PutUint32(m[32:], uint32(len(data)))
	copy(m[libMcastHeader:], data)
	return c.ipc.Send(m)
}

// Membership is cpg_membership_get.
func (c *Client) Membership(group string) ([]Process, error) {
	b, err := c.call(nameReq(ReqMembership, libMembershipReq, group), ResMembership, membershipResSize)
	if err != nil {
		return nil, err
	}
	n := min(int(binary.LittleEndian.Uint32(b[24:])), maxNodes)
	out := make([]Process, 0, n)
	for i := 0; i < n; i++ {
		off := 32 + addressSize*i
		out = append(out, Process{Node: binary.LittleEndian.Uint32(b[off:]), Pid: binary.LittleEndian.Uint32(b[off+8:])})
	}
	return out, nil
}

// Member is one ITERATIONNEXT answer.
type Member struct {
	Group string
	Process
}

// Iterate runs a whole iteration (cpg_iteration_initialize/next/finalize).
func (c *Client) Iterate(typ uint32, group string) ([]Member, error) {
	m := nameReq(ReqIterationInitialize, libIterInitReq, group)
	binary.LittleEndian.PutUint32(m[152:], typ)
	b, err := c.call(m, ResIterationInitialize, iterInitResSize)
	if err != nil {
		return nil, err
	}
	h := binary.LittleEndian.Uint64(b[24:])
	var out []Member
	for i := 0; i < 1<<16; i++ {
		nx := ipc.NewRequest(ReqIterationNext, 8)
		binary.LittleEndian.PutUint64(nx[16:], h)
		r, err := c.call(nx, ResIterationNext, iterNextResSize)
		if err == cmap.ErrNoSections {
			break
		}
		if err != nil {
			return out, err
		}
		g, _ := readName(r[24:])
		out = append(out, Member{Group: g, Process: Process{Node: binary.LittleEndian.Uint32(r[160:]), Pid: binary.LittleEndian.Uint32(r[164:])}})
	}
	fin := ipc.NewRequest(ReqIterationFinalize, 8)
	binary.LittleEndian.PutUint64(fin[16:], h)
	_, err = c.call(fin, ResIterationFinalize, 24)
	return out, err
}

// Finalize is cpg_finalize: FINALIZE, then the connection is closed.
func (c *Client) Finalize() error {
	_, err := c.call(ipc.NewRequest(ReqFinalize, 0), ResFinalize, 24)
	c.ipc.Close()
	return err
}

// Event is a decoded callback: a ConfChg, a Delivery or a TotemMembership.
type Event struct {
	ConfChg  *ConfChg
	Delivery *Delivery
	Totem    *TotemMembership
}

// NextEvent waits up to timeout (< 0: forever) for the next callback.
func (c *Client) NextEvent(timeout time.Duration) (Event, error) {
	for {
		b, err := c.ipc.RecvEvent(timeout)
		if err != nil {
			return Event{}, err
		}
		if ev, ok := ParseEvent(b); ok {
			return ev, nil
		}
	}
}

// ParseEvent decodes a CONFCHG, DELIVER, PARTIAL_DELIVER or TOTEM_CONFCHG
// event; ok is false for anything else or a malformed event.
func ParseEvent(b []byte) (Event, bool) {
	h, err := ipc.ParseResponseHeader(b)
	if err != nil {
		return Event{}, false
	}
	le := binary.LittleEndian
	switch h.ID {
	case ResConfChg:
		if len(b) < confchgFixed {
			return Event{}, false
		}
		g, ok := readName(b[24:])
		nm, nj, nl := int(le.Uint32(b[160:])), int(le.Uint32(b[168:])), int(le.Uint32(b[176:]))
		if !ok || nm > maxNodes*64 || nj > maxNodes*64 || nl > maxNodes*64 || confchgFixed+addressSize*(nm+nj+nl) > len(b) {
			return Event{}, false
		}
		cc := &ConfChg{Group: g}
		off := confchgFixed
		addr := func() Address {
			a := Address{Node: le.Uint32(b[off:]), Pid: le.Uint32(b[off+8:]), Reason: le.Uint32(b[off+16:])}
			off += addressSize
			return a
		}
		for i := 0; i < nm; i++ {
			a := addr()
			cc.Members = append(cc.Members, Process{Node: a.Node, Pid: a.Pid})
		}
		for i := 0; i < nl; i++ {
			cc.Left = append(cc.Left, addr())
		}
		for i := 0; i < nj; i++ {
			cc.Joined = append(cc.Joined, addr())
		}
		return Event{ConfChg: cc}, true
	case ResDeliver:
		if len(b) < deliverFixed {
			return Event{}, false
		}
		g, ok := readName(b[24:])
		n := le.Uint32(b[160:])
		if !ok || uint64(n) > uint64(len(b)-deliverFixed) {
			return Event{}, false
		}
		return Event{Delivery: &Delivery{Group: g, From: Process{Node: le.Uint32(b[168:]), Pid: le.Uint32(b[176:])},
			Data: append([]byte(nil), b[deliverFixed:deliverFixed+int(n)]...)}}, true
	case ResPartialDeliver:
		if len(b) < partialDeliverFix {
			return Event{}, false
		}
		g, ok := readName(b[24:])
		n := le.Uint32(b[168:])
		if !ok || uint64(n) > uint64(len(b)-partialDeliverFix) {
			return Event{}, false
		}
		return Event{Delivery: &Delivery{Group: g, From: Process{Node: le.Uint32(b[176:]), Pid: le.Uint32(b[184:])},
			Data: append([]byte(nil), b[partialDeliverFix:partialDeliverFix+int(n)]...), Partial: true,
			TotalLen: le.Uint32(b[160:]), PartialType: le.Uint32(b[192:])}}, true
	case ResTotemConfChg:
		if len(b) < 44 {
			return Event{}, false
		}
		n := int(le.Uint32(b[40:]))
		if n > (len(b)-44)/4 {
			return Event{}, false
		}
		t := &TotemMembership{RingRep: le.Uint32(b[24:]), RingSeq: le.Uint64(b[32:])}
		for i := 0; i < n; i++ {
			t.Members = append(t.Members, le.Uint32(b[44+4*i:]))
		}
		return Event{Totem: t}, true
	}
	return Event{}, false
}
