package main

import (
	"context"
	"fmt"

	"ringmaster/cib"
	"ringmaster/internal/pcmkipc"
)

// The CIB manager on corosync CPG (Pacemaker 2.1.5's default mode, see
// cib/cluster.go): the manager runs in cluster mode, joins the "cib"
// group, multicasts what it forwards and applies every delivered request
// in agreed order, its own included. Who is primary is the controller's
// call (cib_master/cib_slave over IPC); until one runs, no node is, so no
// digest ping is sent and a node that starts after changes were made
// catches up only when a controller's join asks for a sync (as in
// Pacemaker).

// startCluster switches the manager to cluster mode and joins the group.
// Called before the IPC servers start.
func (d *daemon) startCluster(ctx context.Context) error {
	d.mgr.Cluster = true
	g, err := pcmkipc.JoinGroup(ctx, "cib\x00", pcmkipc.CPGTypeCIB, d.cfg.nodeName, d.deliver)
	if err != nil {
		d.mgr.Cluster = false
		return fmt.Errorf("joining the cib CPG group: %w", err)
	}
	d.mu.Lock()
	d.group = g
	d.mu.Unlock()
	d.cfg.log.Info("joined the cib CPG group", "nodeid", g.NodeID())
	return nil
}

// deliver hands one CPG event to the manager (on the group's goroutine).
func (d *daemon) deliver(ev pcmkipc.GroupEvent) {
	if ev.Msg == nil {
		if len(ev.Joined)+len(ev.Left) > 0 {
			d.cfg.log.Info("cib group membership changed", "members", ev.Members, "joined", ev.Joined, "left", ev.Left)
		}
		return
	}
	msg, err := cib.ParseXML(ev.Msg.Msg.XML)
	if err != nil {
		d.cfg.log.Debug("dropping unparseable peer message", "from", ev.Msg.FromID, "err", err)
		return
	}
	// Forwarded requests carry their origin in src already (the manager
	// stamps it); a sync copy deliberately has none.
	from := ev.Msg.Msg.Sender.Uname
	d.mu.Lock()
	defer d.mu.Unlock()
	eff := d.mgr.Deliver(from, msg)
	if eff.Persist != nil && d.cfg.diskWrites {
		if _, err := d.store.Write(eff.Persist); err != nil {
			d.cfg.log.Error("could not save the CIB", "err", err)
		}
	}
	d.sendClients(eff.Send)
	d.sendPeers(eff.CPG)
}

// sendPeers multicasts the manager's peer messages; called with d.mu held.
func (d *daemon) sendPeers(msgs []cib.PeerMessage) {
	if d.group == nil {
		return
	}
	for _, m := range msgs {
		if err := d.group.Send(m.To, []byte(cib.Serialize(m.XML, false))); err != nil {
			d.cfg.log.Warn("CPG send failed", "err", err)
		}
	}
}
