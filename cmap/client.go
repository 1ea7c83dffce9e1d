package cmap

import (
	"fmt"
	"sync/atomic"
	"time"

	"ringmaster/conf"
	"ringmaster/ipc"
)

// Client is a libcmap-compatible client (lib/cmap.c): it speaks to any cmap
// server — real corosync or ours — over libqb IPC.
type Client struct {
	ipc     *ipc.Client
	timeout time.Duration
	inst    atomic.Uint64
}

// ClientOptions configures Dial.
type ClientOptions struct {
	IPC ipc.ClientOptions
	// Map is the map to use (cmap_initialize_map); default icmap.
	Map Map
	// Timeout bounds each request; <= 0 waits forever, as libcmap does.
	Timeout time.Duration
}

// Dial connects to the "cmap" IPC service and selects the map. Like
// cmap_initialize_map it always sends SET_CURRENT_MAP first.
func Dial(o ClientOptions) (*Client, error) {
	ic, err := ipc.Dial("cmap", o.IPC)
	if err != nil {
		return nil, fmt.Errorf("cmap: %w", err)
	}
	c := &Client{ipc: ic, timeout: o.Timeout}
	if c.timeout <= 0 {
		c.timeout = -1
	}
	if err := c.status(SetCurrentMapRequest{Map: o.Map}, ResSetCurrentMap); err != nil {
		ic.Close()
		return nil, fmt.Errorf("cmap: selecting map %d: %w", o.Map, err)
	}
	return c, nil
}

// Close disconnects.
func (c *Client) Close() error { return c.ipc.Close() }

// IPC returns the underlying connection (for its event fd or transport).
func (c *Client) IPC() *ipc.Client { return c.ipc }

func (c *Client) call(r Request) ([]byte, error) {
	b, err := c.ipc.Request(MarshalRequest(r), c.timeout)
	if err != nil {
		return nil, fmt.Errorf("cmap request %d: %w", r.ID(), err)
	}
	return b, nil
}

// status sends a request whose answer is a bare header.
func (c *Client) status(r Request, wantID int32) error {
	b, err := c.call(r)
	if err != nil {
		return err
	}
	h, err := ParseResponseHeader(b)
	if err != nil {
		return err
	}
	if h.ID != wantID && h.Error == OK {
		return fmt.Errorf("cmap: answer id %d to request %d: %w", h.ID, r.ID(), ErrMessageError)
	}
	return toErr(h.Error)
}

// GetInfo returns the type and stored length of key without its value (a GET
// with value_len 0; the length of a string counts its NUL).
func (c *Client) GetInfo(key string) (conf.ValueType, uint64, error) {
	b, err := c.call(GetRequest{Key: NameOf(key)})
	if err != nil {
		return 0, 0, err
	}
	r, err := UnmarshalGetResponse(b)
	if err != nil {
		return 0, 0, err
	}
	if r.Error != OK {
		return 0, 0, r.Error
	}
	return r.Type, r.ValueLen, nil
}

// Get returns the value of key: the length first, then the value with a buffer of
// exactly that size, as cmap_get_string does.
func (c *Client) Get(key string) (conf.Value, error) {
	t, n, err := c.GetInfo(key)
	if err != nil {
		return conf.Value{}, err
	}
	if n == 0 {
		return conf.Value{Type: t, Data: []byte{}}, nil
	}
	b, err := c.call(GetRequest{Key: NameOf(key), ValueLen: n})
	if err != nil {
		return conf.Value{}, err
	}
	r, err := UnmarshalGetResponse(b)
	if err != nil {
		return conf.Value{}, err
	}
	if r.Error != OK {
		return conf.Value{}, r.Error
	}
	return FromWire(r.Type, r.Value), nil
}

// Set stores v (strings go without their NUL, as cmap_set_string sends them).
func (c *Client) Set(key string, v conf.Value) error {
	return c.status(SetRequest{Key: NameOf(key), Type: v.Type, Value: v.Data}, ResSet)
}

// Delete removes key.
func (c *Client) Delete(key string) error {
	return c.status(DeleteRequest{Key: NameOf(key)}, ResDelete)
}

// AdjustInt adds step to an integer key.
func (c *Client) AdjustInt(key string, step int32) error {
	return c.status(AdjustIntRequest{Key: NameOf(key), Step: step}, ResAdjustInt)
}

// KeyInfo is one ITER_NEXT answer.
type KeyInfo struct {
	Key      string
	Type     conf.ValueType
	ValueLen uint64
}

// ClientIter is a server-side iteration.
type ClientIter struct {
	c      *Client
	handle uint64
}

// IterInit starts an iteration over the keys with prefix ("" = all keys, sent as
// a zero-length name like cmap_iter_init with NULL).
func (c *Client) IterInit(prefix string) (*ClientIter, error) {
	b, err := c.call(IterInitRequest{Prefix: NameOf(prefix)})
	if err != nil {
		return nil, err
	}
	r, err := UnmarshalHandleResponse(b)
	if err != nil {
		return nil, err
	}
	if r.Error != OK {
		return nil, r.Error
	}
	return &ClientIter{c: c, handle: r.Handle}, nil
}

// Next returns the next key; at the end the error is ErrNoSections.
func (it *ClientIter) Next() (KeyInfo, error) {
	b, err := it.c.call(IterNextRequest{Handle: it.handle})
	if err != nil {
		return KeyInfo{}, err
	}
	r, err := UnmarshalIterNextResponse(b)
	if err != nil {
		return KeyInfo{}, err
	}
	if r.Error != OK {
		return KeyInfo{}, r.Error
	}
	return KeyInfo{Key: r.Key.Value, Type: r.Type, ValueLen: r.ValueLen}, nil
}

// Finalize ends the iteration on the server.
func (it *ClientIter) Finalize() error {
	return it.c.status(IterFinalizeRequest{Handle: it.handle}, ResIterFinalize)
}

// Keys lists the keys with prefix in server order.
func (c *Client) Keys(prefix string) ([]KeyInfo, error) {
	it, err := c.IterInit(prefix)
	if err != nil {
		return nil, err
	}
	var out []KeyInfo
	for {
		k, err := it.Next()
		if err == ErrNoSections {
			break
		}
		if err != nil {
			return out, err
		}
		out = append(out, k)
	}
	return out, it.Finalize()
}

// Track asks for notifications about key (a prefix with TrackPrefix). It returns
// the server's track handle and the instance handle that events will carry.
func (c *Client) Track(key string, flags TrackFlags) (handle, inst uint64, err error) {
	inst = c.inst.Add(1)
	b, err := c.call(TrackAddRequest{Key: NameOf(key), TrackType: flags, InstHandle: inst})
	if err != nil {
		return 0, 0, err
	}
	r, err := UnmarshalHandleResponse(b)
	if err != nil {
		return 0, 0, err
	}
	if r.Error != OK {
		return 0, 0, r.Error
	}
	return r.Handle, inst, nil
}

// Untrack removes a track.
func (c *Client) Untrack(handle uint64) error {
	b, err := c.call(TrackDeleteRequest{Handle: handle})
	if err != nil {
		return err
	}
	r, err := UnmarshalHandleResponse(b)
	if err != nil {
		return err
	}
	return toErr(r.Error)
}

// Notify is a decoded notification.
type Notify struct {
	Inst  uint64
	Event TrackFlags
	Key   string
	New   conf.Value // Type 0 when there is none (delete)
	Old   conf.Value // Type 0 when there is none (add)
}

// NextEvent waits up to timeout (< 0: forever) for the next notification.
func (c *Client) NextEvent(timeout time.Duration) (Notify, error) {
	b, err := c.ipc.RecvEvent(timeout)
	if err != nil {
		return Notify{}, err
	}
	n, err := UnmarshalNotification(b)
	if err != nil {
		return Notify{}, err
	}
	out := Notify{Inst: n.InstHandle, Event: n.Event, Key: n.Key.Value}
	if n.NewType != 0 {
		out.New = FromWire(n.NewType, n.New)
	}
	if n.OldType != 0 {
		out.Old = FromWire(n.OldType, n.Old)
	}
	return out, nil
}
