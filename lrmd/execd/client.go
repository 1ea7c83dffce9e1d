package execd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/beevik/etree"

	"ringmaster/internal/pcmkipc"
	"ringmaster/ipc"
	"ringmaster/lrmd"
)

// Client speaks the executor protocol as lib/lrmd/lrmd_client.c does over
// local IPC: register first, then synchronous requests; results of
// operations arrive as events.
type Client struct {
	c        *ipc.Client
	mu       sync.Mutex
	reqID    int32
	name     string
	ClientID string
	Timeout  time.Duration
}

// ReplyXML is a decoded <lrmd_reply>.
type ReplyXML struct {
	RC   int
	Root *etree.Element
}

// Dial connects to the executor's IPC name and registers as name.
func Dial(service, name string) (*Client, error) {
	ic, err := ipc.Dial(service, ipc.ClientOptions{})
	if err != nil {
		return nil, fmt.Errorf("execd: connect %s: %w", service, err)
	}
	cl := &Client{c: ic, name: name, Timeout: 10 * time.Second}
	r, err := cl.Call(lrmd.OpRegister, nil, 0, "lrmd_protocol_version", lrmd.ProtocolVersion)
	if err != nil {
		ic.Close()
		return nil, err
	}
	if r.RC != 0 {
		ic.Close()
		return nil, fmt.Errorf("execd: register: rc %d", r.RC)
	}
	cl.ClientID = r.Root.SelectAttrValue("lrmd_clientid", "")
	return cl, nil
}

// Close disconnects.
func (c *Client) Close() error { return c.c.Close() }

// Call sends one request and waits for its reply.
func (c *Client) Call(op string, rsc *lrmd.RscData, callOpts int, extra ...string) (*ReplyXML, error) {
	return c.CallXML(op, lrmd.Command(op, 0, callOpts, c.name, rsc, extra...))
}

// CallXML sends a request built by the caller (op names it in errors).
func (c *Client) CallXML(op string, xml []byte) (*ReplyXML, error) {
	c.mu.Lock()
	c.reqID++
	id := c.reqID
	c.mu.Unlock()
	msg, err := pcmkipc.Encode(id, pcmkipc.FlagClientResponse, xml, c.c.MaxMsgSize())
	if err != nil {
		return nil, err
	}
	resp, err := c.c.Request(msg, c.Timeout)
	if err != nil {
		return nil, fmt.Errorf("execd: %s: %w", op, err)
	}
	if len(resp) >= 4 && int32(binary.LittleEndian.Uint32(resp)) != id {
		return nil, fmt.Errorf("execd: %s: reply to request %d, want %d", op, int32(binary.LittleEndian.Uint32(resp)), id)
	}
	_, body, err := pcmkipc.Decode(resp)
	if err != nil {
		return nil, fmt.Errorf("execd: %s reply: %w", op, err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil || doc.Root() == nil {
		return nil, fmt.Errorf("execd: %s reply is not XML: %v", op, err)
	}
	rc, _ := strconv.Atoi(doc.Root().SelectAttrValue("lrmd_rc", "0"))
	return &ReplyXML{RC: rc, Root: doc.Root()}, nil
}

// RegisterRsc is lrmd_api_register_rsc.
func (c *Client) RegisterRsc(id, class, provider, agent string) error {
	r, err := c.Call(lrmd.OpRscRegister, &lrmd.RscData{ID: id, Class: class, Provider: provider, Type: agent}, 0)
	if err != nil {
		return err
	}
	if r.RC != 0 {
		return fmt.Errorf("execd: register %s: rc %d", id, r.RC)
	}
	return nil
}

// Exec is lrmd_api_exec; it returns the call id the executor assigned.
func (c *Client) Exec(rscID, action string, intervalMS, timeoutMS, startDelayMS int64, params map[string]string, callOpts int) (int, error) {
	if params == nil {
		params = map[string]string{}
	}
	r, err := c.Call(lrmd.OpRscExec, &lrmd.RscData{ID: rscID, Action: action, IntervalMS: intervalMS,
		TimeoutMS: timeoutMS, StartDelayMS: startDelayMS, Params: params, Origin: "lrmd_api_exec"}, callOpts)
	if err != nil {
		return 0, err
	}
	if r.RC <= 0 {
		return r.RC, fmt.Errorf("execd: exec %s %s: rc %d", rscID, action, r.RC)
	}
	return r.RC, nil
}

// Cancel is lrmd_api_cancel.
func (c *Client) Cancel(rscID, action string, intervalMS int64) (int, error) {
	r, err := c.Call(lrmd.OpRscCancel, &lrmd.RscData{ID: rscID, Action: action, IntervalMS: intervalMS}, 0)
	if err != nil {
		return 0, err
	}
	return r.RC, nil
}

// ErrNoEvent is returned when no event arrived in time.
var ErrNoEvent = errors.New("execd: no event")

// NextEvent waits for the next executor event.
func (c *Client) NextEvent(timeout time.Duration) (*lrmd.ExecEvent, error) {
	body, err := c.NextEventXML(timeout)
	if err != nil {
		return nil, err
	}
	return lrmd.DecodeNotify(body)
}

// NextEventXML waits for the next event and returns its XML text.
func (c *Client) NextEventXML(timeout time.Duration) ([]byte, error) {
	msg, err := c.c.RecvEvent(timeout)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEvent, err)
	}
	_, body, err := pcmkipc.Decode(msg)
	return body, err
}

// WaitExec waits for the result of (rscID, callID), skipping other events.
func (c *Client) WaitExec(rscID string, callID int, timeout time.Duration) (*lrmd.Notify, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ev, err := c.NextEvent(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		if ev.Op == lrmd.OpRscExec && ev.Notify.RscID == rscID && ev.Notify.CallID == callID {
			return &ev.Notify, nil
		}
	}
	return nil, ErrNoEvent
}
