package votequorum

import (
	"encoding/binary"
	"fmt"
	"time"

	"ringmaster/cmap"
	"ringmaster/ipc"
)

// Client is a libvotequorum-compatible client (lib/votequorum.c) of the
// "votequorum" service, ours or corosync's. Server errors are cmap.Error values.
type Client struct {
	ipc     *ipc.Client
	timeout time.Duration
}

// DialClient connects like votequorum_initialize (which sends nothing).
func DialClient(o ipc.ClientOptions) (*Client, error) {
	ic, err := ipc.Dial("votequorum", o)
	if err != nil {
		return nil, fmt.Errorf("votequorum: %w", err)
	}
	return &Client{ipc: ic, timeout: -1}, nil
}

// Close disconnects.
func (c *Client) Close() error { return c.ipc.Close() }

func (c *Client) call(req []byte, wantID int32, minSize int) ([]byte, error) {
	return cmap.Call(c.ipc, "votequorum", req, c.timeout, wantID, minSize)
}

// GetInfo is votequorum_getinfo (nodeID 0: this node). Like the library it
// returns the decoded fields also with CS_ERR_NOT_EXIST.
func (c *Client) GetInfo(nodeID uint32) (Info, error) {
	m := ipc.NewRequest(ReqGetInfo, 8)
	binary.LittleEndian.PutUint32(m[16:], nodeID)
	b, err := c.call(m, ResGetInfo, getInfoResSize)
	if len(b) < getInfoResSize {
		return Info{}, err
	}
	le := binary.LittleEndian
	in := Info{NodeID: le.Uint32(b[24:]), State: NodeState(le.Uint32(b[28:])), Votes: le.Uint32(b[32:]),
		ExpectedVotes: le.Uint32(b[36:]), HighestExpected: le.Uint32(b[40:]), TotalVotes: le.Uint32(b[44:]),
		Quorum: le.Uint32(b[48:]), Flags: le.Uint32(b[52:]), QdeviceVotes: le.Uint32(b[56:])}
	name := b[60 : 60+qdeviceNameMax]
	for i, ch := range name {
		if ch == 0 {
			name = name[:i]
			break
		}
	}
	in.QdeviceName = string(name)
	return in, err
}

// SetExpected is votequorum_setexpected.
func (c *Client) SetExpected(v uint32) error {
	m := ipc.NewRequest(ReqSetExpected, 8)
	binary.LittleEndian.PutUint32(m[16:], v)
	_, err := c.call(m, ResStatus, 24)
	return err
}

// SetVotes is votequorum_setvotes.
func (c *Client) SetVotes(nodeID, votes uint32) error {
	m := ipc.NewRequest(ReqSetVotes, 8)
	binary.LittleEndian.PutUint32(m[16:], votes)
	binary.LittleEndian.PutUint32(m[20:], nodeID)
	_, err := c.call(m, ResStatus, 24)
	return err
}

// TrackStart is votequorum_trackstart.
func (c *Client) TrackStart(context uint64, flags uint32) error {
	m := ipc.NewRequest(ReqTrackStart, 16)
	binary.LittleEndian.PutUint64(m[16:], context)
	binary.LittleEndian.PutUint32(m[24:], flags)
	_, err := c.call(m, ResStatus, 24)
	return err
}

// TrackStop is votequorum_trackstop.
func (c *Client) TrackStop() error {
	_, err := c.call(ipc.NewRequest(ReqTrackStop, 0), ResStatus, 24)
	return err
}

// QdeviceUnregister is votequorum_qdevice_unregister (corosync-quorumtool -f).
func (c *Client) QdeviceUnregister(name string) error {
	m := ipc.NewRequest(ReqQdeviceUnregister, 256)
	copy(m[16:16+qdeviceNameMax-1], name)
	_, err := c.call(m, ResStatus, 24)
	return err
}

// Event is a decoded votequorum callback: Kind is ResQuorumNotification,
// ResExpectedVotesNotify or ResNodelistNotification.
type Event struct {
	Kind     int32
	Context  uint64
	Quorate  bool
	Nodes    []NodeStatus // quorum notification
	Expected uint32       // expected votes notification
	Ring     RingID       // nodelist notification
	Members  []uint32     // nodelist notification
}

// NextEvent waits up to timeout (< 0: forever) for the next callback.
func (c *Client) NextEvent(timeout time.Duration) (Event, error) {
	b, err := c.ipc.RecvEvent(timeout)
	if err != nil {
		return Event{}, err
	}
	ev, ok := ParseEvent(b)
	if !ok {
		return Event{}, cmap.ErrMessageError
	}
	return ev, nil
}

// ParseEvent decodes a votequorum event; ok is false when it is malformed.
func ParseEvent(b []byte) (Event, bool) {
	h, err := ipc.ParseResponseHeader(b)
	if err != nil {
		return Event{}, false
	}
	le := binary.LittleEndian
	ev := Event{Kind: h.ID}
	switch h.ID {
	case ResQuorumNotification:
		if len(b) < quorumNotifyFixed {
			return ev, false
		}
		ev.Quorate, ev.Context = le.Uint32(b[24:]) != 0, le.Uint64(b[32:])
		n := int(le.Uint32(b[40:]))
		if n > (len(b)-quorumNotifyFixed)/8 {
			return ev, false
		}
		for i := 0; i < n; i++ {
			ev.Nodes = append(ev.Nodes, NodeStatus{ID: le.Uint32(b[48+8*i:]), State: NodeState(le.Uint32(b[52+8*i:]))})
		}
	case ResExpectedVotesNotify:
		if len(b) < expectedNotifySize-4 {
			return ev, false
		}
		ev.Context, ev.Expected = le.Uint64(b[24:]), le.Uint32(b[32:])
	case ResNodelistNotification:
		if len(b) < nodelistFixed-4 {
			return ev, false
		}
		ev.Context = le.Uint64(b[24:])
		ev.Ring = RingID{Rep: le.Uint32(b[32:]), Seq: le.Uint64(b[40:])}
		n := int(le.Uint32(b[48:]))
		if n > (len(b)-nodelistFixed)/4+1 || 56+4*n > len(b) {
			return ev, false
		}
		for i := 0; i < n; i++ {
			ev.Members = append(ev.Members, le.Uint32(b[56+4*i:]))
		}
	default:
		return ev, false
	}
	return ev, true
}
