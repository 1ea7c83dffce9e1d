package cpg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"ringmaster/ipc"
)

// Client is a small libcpg-compatible client (lib/cpg.c at corosync
// v3.1.7, request layouts in shared/docs/ipc-wire.md §3.2) for our
// Pacemaker daemons: one connection, one group, multicast with agreed
// ordering, and the configuration changes and deliveries as events. It
// works against real corosync and ours.
type Client struct {
	ipc     *ipc.Client
	timeout time.Duration
	group   string
	pid     uint32
	events  chan ClientEvent
}

// ClientEvent is a configuration change (ConfChg != nil) or a delivered
// message (Deliver != nil).
type ClientEvent struct {
	ConfChg *ClientConfChg
	Deliver *ClientDelivery
}

// ClientConfChg is CONFCHG: the group's members after the change, and who
// left and joined.
type ClientConfChg struct {
	Group   string
	Members []Address
	Left    []Address
	Joined  []Address
}

// ClientDelivery is DELIVER: one message multicast to the group.
type ClientDelivery struct {
	Group string
	Node  uint32
	Pid   uint32
	Data  []byte
}

// ErrClientClosed is returned once the connection to corosync is gone.
var ErrClientClosed = errors.New("cpg: connection closed")

// DialClient connects to the "cpg" IPC service.
func DialClient(o ipc.ClientOptions) (*Client, error) {
	ic, err := ipc.Dial("cpg", o)
	if err != nil {
		return nil, fmt.Errorf("cpg: %w", err)
	}
	c := &Client{ipc: ic, timeout: 10 * time.Second, events: make(chan ClientEvent, 256)}
	go c.readEvents()
	return c, nil
}

// Close finalizes and disconnects.
func (c *Client) Close() error {
	_, _ = c.ipc.Request(reqHeader(ReqFinalize, 16), time.Second)
	return c.ipc.Close()
}

// Events delivers configuration changes and messages in corosync's order;
// the channel is closed when the connection ends.
func (c *Client) Events() <-chan ClientEvent { return c.events }

func reqHeader(id int32, size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b[0:], uint32(id))
	binary.LittleEndian.PutUint32(b[8:], uint32(size))
	return b
}

func (c *Client) call(b []byte) ([]byte, error) {
	r, err := c.ipc.Request(b, c.timeout)
	if err != nil {
		return nil, fmt.Errorf("cpg request %d: %w", int32(binary.LittleEndian.Uint32(b)), err)
	}
	if len(r) < ipc.ResponseHeaderSize {
		return nil, fmt.Errorf("cpg: short response (%d bytes)", len(r))
	}
	if e := int32(binary.LittleEndian.Uint32(r[16:])); e != csOK {
		return r, fmt.Errorf("cpg request %d: cs_error %d", int32(binary.LittleEndian.Uint32(b)), e)
	}
	return r, nil
}

// LocalNodeID is cpg_local_get.
func (c *Client) LocalNodeID() (uint32, error) {
	r, err := c.call(reqHeader(ReqLocalGet, 16))
	if err != nil {
		return 0, err
	}
	if len(r) < localGetResSize {
		return 0, fmt.Errorf("cpg: short LOCAL_GET answer")
	}
	return binary.LittleEndian.Uint32(r[24:]), nil
}

// Join is cpg_join. group is sent byte for byte: Pacemaker's group names
// count their NUL ("cib\x00"), and corosync compares length and bytes.
// CS_ERR_TRY_AGAIN (a sync in progress) is retried for a while.
func (c *Client) Join(group string, pid uint32) error {
	if len(group) > maxNameLen {
		return fmt.Errorf("cpg: group name %q too long", group)
	}
	b := reqHeader(ReqJoin, libJoinSize)
	putName(b[16:], group)
	binary.LittleEndian.PutUint32(b[152:], pid)
	var err error
	for i := 0; i < 50; i++ {
		var r []byte
		r, err = c.call(b)
		if err == nil || len(r) < ipc.ResponseHeaderSize || int32(binary.LittleEndian.Uint32(r[16:])) != csTryAgain {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	c.group, c.pid = group, pid
	return nil
}

// Mcast is cpg_mcast_joined with CPG_TYPE_AGREED. It has no answer; flow
// control (EAGAIN) is retried for up to a few seconds.
func (c *Client) Mcast(data []byte) error {
	b := make([]byte, libMcastHeader+len(data))
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(ReqMcast))
	le.PutUint32(b[8:], uint32(len(b)))
	le.PutUint32(b[24:], 2) // TOTEM_AGREED
	le.PutUint32(b[32:], uint32(len(data)))
	copy(b[libMcastHeader:], data)
	for i := 0; ; i++ {
		err := c.ipc.Send(b)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ipc.ErrTryAgain) || i >= 100 {
			return fmt.Errorf("cpg mcast: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Client) readEvents() {
	defer close(c.events)
	for m := range c.ipc.Events() {
		if ev, ok := parseClientEvent(m); ok {
			c.events <- ev
		}
	}
}

// parseClientEvent decodes CONFCHG and DELIVER; anything else (totem
// membership, flow control) or anything malformed is skipped.
func parseClientEvent(m []byte) (ClientEvent, bool) {
	le := binary.LittleEndian
	if len(m) < ipc.ResponseHeaderSize {
		return ClientEvent{}, false
	}
	switch int32(le.Uint32(m)) {
	case ResConfChg:
		if len(m) < confchgFixed {
			return ClientEvent{}, false
		}
		group, ok := readName(m[24:])
		if !ok {
			return ClientEvent{}, false
		}
		nm, nj, nl := uint64(le.Uint32(m[160:])), uint64(le.Uint32(m[168:])), uint64(le.Uint32(m[176:]))
		if confchgFixed+addressSize*(nm+nj+nl) > uint64(len(m)) {
			return ClientEvent{}, false
		}
		off := confchgFixed
		read := func(n uint64) []Address {
			var out []Address
			for i := uint64(0); i < n; i++ {
				out = append(out, Address{Node: le.Uint32(m[off:]), Pid: le.Uint32(m[off+8:]), Reason: le.Uint32(m[off+16:])})
				off += addressSize
			}
			return out
		}
		cc := &ClientConfChg{Group: group}
		cc.Members = read(nm)
		cc.Left = read(nl)
		cc.Joined = read(nj)
		return ClientEvent{ConfChg: cc}, true
	case ResDeliver:
		if len(m) < deliverFixed {
			return ClientEvent{}, false
		}
		group, ok := readName(m[24:])
		n := uint64(le.Uint32(m[160:]))
		if !ok || deliverFixed+n > uint64(len(m)) {
			return ClientEvent{}, false
		}
		return ClientEvent{Deliver: &ClientDelivery{
			Group: group, Node: le.Uint32(m[168:]), Pid: le.Uint32(m[176:]),
			Data: append([]byte(nil), m[deliverFixed:deliverFixed+int(n)]...),
		}}, true
	}
	return ClientEvent{}, false
}
