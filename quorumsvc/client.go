package quorumsvc

import (
	"encoding/binary"
	"fmt"
	"time"

	"ringmaster/cmap"
	"ringmaster/ipc"
)

// Client is a libquorum-compatible client (lib/quorum.c) of the "quorum"
// service, ours or corosync's. Errors from the server are cmap.Error values
// (cs_error_t).
type Client struct {
	ipc     *ipc.Client
	timeout time.Duration
	// Type is QUORUM_SET or QUORUM_FREE, as quorum_initialize returns it.
	Type uint32
}

// Notification is a quorum notification (v0: RingRep is 0).
type Notification struct {
	Quorate bool
	RingRep uint32
	RingSeq uint64
	Members []uint32
}

// Dial connects like quorum_initialize (GETTYPE) or, with model 1,
// quorum_model_initialize (MODEL_GETTYPE).
func Dial(model uint32, o ipc.ClientOptions) (*Client, error) {
	ic, err := ipc.Dial("quorum", o)
	if err != nil {
		return nil, fmt.Errorf("quorum: %w", err)
	}
	c := &Client{ipc: ic, timeout: -1}
	var r []byte
	if model == ModelV0 {
		r, err = c.call(ipc.NewRequest(ReqGetType, 0), ResGetType, getTypeSize)
	} else {
		m := ipc.NewRequest(ReqModelGetType, 8)
		binary.LittleEndian.PutUint32(m[16:], model)
		r, err = c.call(m, ResModelGetType, getTypeSize)
	}
	if err != nil {
		ic.Close()
		return nil, err
	}
	c.Type = binary.LittleEndian.Uint32(r[24:])
	return c, nil
}

// Close disconnects.
func (c *Client) Close() error { return c.ipc.Close() }

func (c *Client) call(req []byte, wantID int32, minSize int) ([]byte, error) {
	return cmap.Call(c.ipc, "quorum", req, c.timeout, wantID, minSize)
}

// Quorate is quorum_getquorate.
func (c *Client) Quorate() (bool, error) {
	r, err := c.call(ipc.NewRequest(ReqGetQuorate, 0), ResGetQuorate, getQuorateSize)
	if err != nil {
		return false, err
	}
	return binary.LittleEndian.Uint32(r[24:]) != 0, nil
}

// TrackStart is quorum_trackstart.
func (c *Client) TrackStart(flags uint32) error {
	m := ipc.NewRequest(ReqTrackStart, 8)
	binary.LittleEndian.PutUint32(m[16:], flags)
	_, err := c.call(m, ResTrackStart, 24)
	return err
}

// TrackStop is quorum_trackstop.
func (c *Client) TrackStop() error {
	_, err := c.call(ipc.NewRequest(ReqTrackStop, 0), ResTrackStop, 24)
	return err
}

// NextNotification waits up to timeout (< 0: forever) for the next quorum
// notification, skipping nodelist events.
func (c *Client) NextNotification(timeout time.Duration) (Notification, error) {
	for {
		b, err := c.ipc.RecvEvent(timeout)
		if err != nil {
			return Notification{}, err
		}
		if n, ok := ParseNotification(b); ok {
			return n, nil
		}
	}
}

// ParseNotification decodes a v0 or v1 quorum notification; ok is false for any
// other event or a malformed one.
func ParseNotification(b []byte) (Notification, bool) {
	h, err := ipc.ParseResponseHeader(b)
	if err != nil {
		return Notification{}, false
	}
	le := binary.LittleEndian
	var n Notification
	var at, countAt int
	switch h.ID {
	case ResNotification:
		if len(b) < 44 {
			return n, false
		}
		n.RingSeq, countAt, at = le.Uint64(b[32:]), 40, 44
	case ResV1QuorumNotify:
		if len(b) < 52 {
			return n, false
		}
		n.RingRep, n.RingSeq, countAt, at = le.Uint32(b[32:]), le.Uint64(b[40:]), 48, 52
	default:
		return n, false
	}
	n.Quorate = le.Uint32(b[24:]) != 0
	cnt := int(le.Uint32(b[countAt:]))
	if cnt > (len(b)-at)/4 {
		return n, false
	}
	for i := 0; i < cnt; i++ {
		n.Members = append(n.Members, le.Uint32(b[at+4*i:]))
	}
	return n, true
}
