package main

import (
	"context"
	"fmt"
	"time"

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
	go d.digestTimer(ctx)
	return nil
}

// pingDelay is how long after the last change the primary checks the
// other nodes' digests (cib_digester_cb's 5 s timer).
const pingDelay = 5 * time.Second

// digestTimer drives the manager's digest ping: while this CIB is the
// primary (the DC's controller made it so), pingDelay after the version
// last changed it pings the group once; a node answering with another
// digest is then sent the whole CIB (cib/cluster.go pingResult).
func (d *daemon) digestTimer(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last string
	var changed time.Time
	pinged := true
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			d.mu.Lock()
			root := d.mgr.CIB()
			v := cib.AttrOr(root, "admin_epoch", "0") + "." + cib.AttrOr(root, "epoch", "0") + "." + cib.AttrOr(root, "num_updates", "0")
			if v != last {
				last, changed, pinged = v, now, false
			} else if !pinged && d.mgr.Primary && now.Sub(changed) >= pingDelay {
				pinged = true
				d.cfg.log.Debug("digest ping", "version", v)
				d.sendPeers(d.mgr.Ping().CPG)
			}
			d.mu.Unlock()
		}
	}
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
	for _, m := range eff.CPG {
		if m.XML.Tag == "copy" && m.To != "" {
			d.cfg.log.Info("sending the whole CIB to a peer", "peer", m.To)
		}
	}
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
