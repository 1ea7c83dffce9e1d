package pcmkipc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"ringmaster/cpg"
	"ringmaster/ipc"
)

// Group is a Pacemaker daemon's membership of its CPG group
// (lib/cluster/cpg.c cluster_connect_cpg / send_cluster_text): messages go
// out with the 592-byte header, and deliveries that pass the address
// filter come back decoded, the daemon's own included (Pacemaker relies
// on self-delivery), with the sender's node id taken from CPG.
type Group struct {
	c      *cpg.Client
	name   string
	typ    uint32
	node   string
	nodeID uint32
	mu     sync.Mutex
	seq    uint32
}

// Delivered is one message handed to the daemon.
type Delivered struct {
	FromID uint32 // CPG node id of the sender
	Msg    CPGMessage
}

// GroupEvent is a delivery (Msg != nil) or a membership change of the
// group (Members: node ids of its processes).
type GroupEvent struct {
	Msg     *Delivered
	Members []uint32
	Joined  []uint32
	Left    []uint32
}

// JoinGroup connects to corosync's cpg service (retrying while it comes
// up, bounded by ctx) and joins group, whose name Pacemaker counts with
// its NUL ("cib\x00"). typ is the daemon's message type; node its name.
// Events are passed to handle on a goroutine of the Group's own, in order.
func JoinGroup(ctx context.Context, group string, typ uint32, node string, handle func(GroupEvent)) (*Group, error) {
	var c *cpg.Client
	var err error
	for i := 0; i < 100; i++ {
		if c, err = cpg.Dial(ipc.ClientOptions{}); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cpg group %q: %w", group, err)
	}
	local, err := c.LocalGet()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cpg group %q: local node id: %w", group, err)
	}
	for i := 0; ; i++ {
		err = c.Join(group, 0)
		if err == nil || i >= 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cpg group %q: join: %w", group, err)
	}
	g := &Group{c: c, name: group, typ: typ, node: node, nodeID: local}
	go func() {
		for {
			ev, err := c.NextEvent(-1)
			if err != nil {
				return
			}
			switch {
			case ev.Delivery != nil && !ev.Delivery.Partial:
				m, err := DecodeCPG(ev.Delivery.Data)
				if err != nil || !m.ForUs(local, node) {
					continue
				}
				m.Sender.ID = ev.Delivery.From.Node
				handle(GroupEvent{Msg: &Delivered{FromID: ev.Delivery.From.Node, Msg: m}})
			case ev.ConfChg != nil:
				ge := GroupEvent{}
				for _, p := range ev.ConfChg.Members {
					ge.Members = append(ge.Members, p.Node)
				}
				for _, a := range ev.ConfChg.Joined {
					ge.Joined = append(ge.Joined, a.Node)
				}
				for _, a := range ev.ConfChg.Left {
					ge.Left = append(ge.Left, a.Node)
				}
				handle(ge)
			}
		}
	}()
	return g, nil
}

// NodeID is the local CPG node id.
func (g *Group) NodeID() uint32 { return g.nodeID }

// Send multicasts xml to the group; to names one node ("" = all). Flow
// control is waited out for a few seconds.
func (g *Group) Send(to string, xml []byte) error {
	g.mu.Lock()
	g.seq++
	m := CPGMessage{
		ID:     g.seq,
		Host:   CPGPeer{Type: g.typ, Uname: to},
		Sender: CPGPeer{Pid: uint32(os.Getpid()), Type: g.typ, Uname: g.node},
		XML:    xml,
	}
	g.mu.Unlock()
	b, err := EncodeCPG(m)
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		err = g.c.Mcast(b)
		if err == nil || !errors.Is(err, ipc.ErrTryAgain) || i >= 100 {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close leaves the group and disconnects.
func (g *Group) Close() error {
	_ = g.c.Leave()
	return g.c.Finalize()
}
