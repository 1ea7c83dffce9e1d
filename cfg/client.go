package cfg

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"ringmaster/cmap"
	"ringmaster/ipc"
)

// Client is a libcfg-compatible client (lib/cfg.c) of the "cfg" service, ours
// or corosync's. Server errors are cmap.Error values.
type Client struct {
	ipc     *ipc.Client
	timeout time.Duration
}

// Dial connects like corosync_cfg_initialize (which sends nothing).
func Dial(o ipc.ClientOptions) (*Client, error) {
	ic, err := ipc.Dial("cfg", o)
	if err != nil {
		return nil, fmt.Errorf("cfg: %w", err)
	}
	return &Client{ipc: ic, timeout: -1}, nil
}

// Close disconnects.
func (c *Client) Close() error { return c.ipc.Close() }

func (c *Client) call(req []byte, wantID int32, minSize int) ([]byte, error) {
	return cmap.Call(c.ipc, "cfg", req, c.timeout, wantID, minSize)
}

func (c *Client) simple(id, resID int32, words ...uint32) error {
	m := ipc.NewRequest(id, 8*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(m[16+8*i:], w)
	}
	_, err := c.call(m, resID, 24)
	return err
}

// LocalGet is corosync_cfg_local_get.
func (c *Client) LocalGet() (uint32, error) {
	b, err := c.call(ipc.NewRequest(ReqLocalGet, 0), ResLocalGet, localGetSize)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[24:]), nil
}

// NodeAddrs is corosync_cfg_get_node_addrs.
func (c *Client) NodeAddrs(nodeID uint32) ([]netip.Addr, error) {
	m := ipc.NewRequest(ReqGetNodeAddrs, 8)
	binary.LittleEndian.PutUint32(m[16:], nodeID)
	b, err := c.call(m, ResGetNodeAddrs, nodeAddrsFixed)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	family, n := le.Uint32(b[24:]), int(le.Uint32(b[28:]))
	if n > (len(b)-nodeAddrsFixed)/addrLen {
		return nil, cmap.ErrMessageError
	}
	var out []netip.Addr
	for i := 0; i < n; i++ {
		raw := b[nodeAddrsFixed+addrLen*i : nodeAddrsFixed+addrLen*(i+1)]
		if family == 10 {
			out = append(out, netip.AddrFrom16([16]byte(raw)))
		} else {
			out = append(out, netip.AddrFrom4([4]byte(raw[:4])))
		}
	}
	return out, nil
}

// LinkStatus is one corosync_knet_link_status_v1.
type LinkStatus struct {
	Enabled, Connected, DynConnected bool
	MTU                              uint32
	Src, Dst                         string
}

// NodeStatus is corosync_cfg_node_status_v1.
type NodeStatus struct {
	NodeID                              uint32
	Reachable, Remote, External         bool
	OnwireMin, OnwireMax, OnwireVersion uint8
	Links                               [maxLinks]LinkStatus
}

func cstr(b []byte) string {
	for i, ch := range b {
		if ch == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// NodeStatus is corosync_cfg_node_status_get with CFG_NODE_STATUS_V1.
func (c *Client) NodeStatus(nodeID uint32) (NodeStatus, error) {
	m := ipc.NewRequest(ReqNodeStatusGet, 16)
	binary.LittleEndian.PutUint32(m[16:], nodeID)
	binary.LittleEndian.PutUint32(m[24:], nodeStatusVersion)
	b, err := c.call(m, ResNodeStatusGet, nodeStatusSize)
	if err != nil {
		return NodeStatus{}, err
	}
	st := b[24:]
	ns := NodeStatus{NodeID: binary.LittleEndian.Uint32(st[4:]), Reachable: st[8] != 0, Remote: st[9] != 0,
		External: st[10] != 0, OnwireMin: st[11], OnwireMax: st[12], OnwireVersion: st[13]}
	for i := range ns.Links {
		ls := st[16+linkStatusSize*i:]
		ns.Links[i] = LinkStatus{Enabled: ls[0] != 0, Connected: ls[1] != 0, DynConnected: ls[2] != 0,
			MTU: binary.LittleEndian.Uint32(ls[4:]), Src: cstr(ls[8 : 8+hostLen]), Dst: cstr(ls[8+hostLen : 8+2*hostLen])}
	}
	return ns, nil
}

// TryShutdown is corosync_cfg_try_shutdown; it returns once the decision is made.
func (c *Client) TryShutdown(flags uint32) error {
	return c.simple(ReqTryShutdown, ResTryShutdown, flags)
}

// ReplyToShutdown is corosync_cfg_replyto_shutdown (yes: allow).
func (c *Client) ReplyToShutdown(yes bool) error {
	v := uint32(0)
	if yes {
		v = 1
	}
	return c.simple(ReqReplyToShutdown, ResReplyToShutdown, v)
}

// TrackStart is corosync_cfg_trackstart.
func (c *Client) TrackStart() error { return c.simple(ReqTrackStart, ResTrackStart, 0) }

// TrackStop is corosync_cfg_trackstop.
func (c *Client) TrackStop() error { return c.simple(ReqTrackStop, ResTrackStop) }

// Reload is corosync_cfg_reload_config.
func (c *Client) Reload() error { return c.simple(ReqReloadConfig, ResReloadConfig) }

// ReopenLogFiles is corosync_cfg_reopen_log_files.
func (c *Client) ReopenLogFiles() error { return c.simple(ReqReopenLogFiles, ResReopenLogFiles) }

// KillNode is corosync_cfg_kill_node.
func (c *Client) KillNode(nodeID uint32, reason string) error {
	m := ipc.NewRequest(ReqKillNode, 8+264)
	binary.LittleEndian.PutUint32(m[16:], nodeID)
	if len(reason) > 255 {
		reason = reason[:255]
	}
	binary.LittleEndian.PutUint16(m[24:], uint16(len(reason)))
	copy(m[26:], reason)
	_, err := c.call(m, ResKillNode, 24)
	return err
}

// NextTestShutdown waits up to timeout (< 0: forever) for a TESTSHUTDOWN event
// and returns its flags.
func (c *Client) NextTestShutdown(timeout time.Duration) (uint32, error) {
	for {
		b, err := c.ipc.RecvEvent(timeout)
		if err != nil {
			return 0, err
		}
		if len(b) >= testShutdownSize && binary.LittleEndian.Uint32(b) == ResTestShutdown {
			return binary.LittleEndian.Uint32(b[24:]), nil
		}
	}
}
