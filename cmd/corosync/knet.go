package main

import (
	"fmt"

	"ringmaster/totem/knet"
	"ringmaster/totem/knetudp"
	"ringmaster/totem/node"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
)

// openKnetRing is totemknet_initialize for transport: knet: the knet
// configuration from corosync.conf (links, link_mode, knet_* timers,
// crypto with the authkey), the link sockets opened, and the ring's
// transport wrapped around them. Link up/down and MTU changes are logged as
// libknet logs them through corosync's KNET subsystem.
func (d *Daemon) openKnetRing() (*ring, error) {
	tc := &d.Config.Totem
	tlog := d.Sink.Logger("TOTEM")
	klog := d.Sink.Logger("KNET")
	nodeID := tc.NodeID
	if local, ok := d.Config.LocalNode(); ok && local.NodeID != 0 {
		nodeID = local.NodeID
	}
	if nodeID == 0 {
		return nil, fmt.Errorf("totem: no node id for the local node")
	}
	tlog.Func("totemknet_initialize").Noticef("Initializing transport (Kronosnet).")
	kcfg, err := knetudp.FromConf(tc, nodeID)
	if err != nil {
		return nil, fmt.Errorf("totem: %w", err)
	}
	r := &ring{done: make(chan struct{}), nodeID: nodeID}
	for _, m := range tc.Links[0].Members {
		r.tcfg.Members = append(r.tcfg.Members, transport.Member{NodeID: wire.NodeID(m.NodeID), Addr: m.Addr})
	}
	tlog.Func("totemknet_initialize").Infof("totemknet initialized")
	for i := range tc.Links {
		l := &tc.Links[i]
		if !l.Configured || !l.LocalAddr.IsValid() {
			continue
		}
		tlog.Func("totemknet_configure_links").Infof("Configuring link %d", l.Number)
		tlog.Func("totemknet_configure_links").Infof("Configured link number %d: local addr: %s, port=%d", l.Number, l.LocalAddr, l.Port)
	}
	conn, err := knetudp.Open(knetudp.Config{Machine: kcfg, Logf: klog.Func("knet").Tracef})
	if err != nil {
		return nil, fmt.Errorf("totem: knet: %w", err)
	}
	r.knet = node.NewKnet(conn, wire.NodeID(nodeID))
	go logKnetEvents(d, conn)
	return r, nil
}

// logKnetEvents writes libknet's link and MTU lines (rx: host: 2 link: 0 is
// up; link: host: 3 link: 0 is down; pmtud: Global data MTU changed to: N)
// until the connection closes.
func logKnetEvents(d *Daemon, conn *knetudp.Conn) {
	klog := d.Sink.Logger("KNET")
	for e := range conn.Events() {
		switch e := e.(type) {
		case knet.LinkEvent:
			if e.Up {
				klog.Func("_handle_check_each").Infof("rx: host: %d link: %d is up", e.Host, e.Link)
			} else {
				klog.Func("_handle_check_each").Infof("link: host: %d link: %d is down", e.Host, e.Link)
			}
		case knet.HostEvent:
			if !e.Reachable {
				klog.Func("_host_dstcache_update_async").Warningf("host: host: %d has no active links", e.Host)
			}
		case knetudp.MTUChange:
			klog.Func("_handle_check_pmtud").Infof("pmtud: Global data MTU changed to: %d", e.MTU)
		}
	}
}
