package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"time"

	"ringmaster/cmap"
	"ringmaster/conf"
	"ringmaster/internal/corolog"
	"ringmaster/totem"
	"ringmaster/totem/node"
	"ringmaster/totem/transport"
	"ringmaster/totem/wire"
	"ringmaster/votequorum"
)

// ring is the running totem ring of a udp or udpu configuration: the node
// driver (package totem/node) with the cmap, cpg, quorum and votequorum
// engines. A knet configuration runs the same ring over knet (knet.go).
type ring struct {
	nodeID uint32
	tcfg   transport.Config
	tr     *transport.Transport
	knet   *node.Knet // set instead of tr for transport: knet
	engs   *node.Corosync
	done   chan struct{}
}

// totemConfig turns the derived runtime timers (conf.Timers, token already
// adjusted by token_coefficient) into the SRP machine's configuration.
func totemConfig(t *conf.Totem, nodeID uint32, nodes int) totem.Config {
	ms := func(v uint32) time.Duration { return time.Duration(v) * time.Millisecond }
	c := totem.Config{
		Framing:                         wire.V3,
		NodeID:                          wire.NodeID(nodeID),
		Token:                           ms(t.Token),
		NoTokenCoefficient:              true,
		TokenRetransmitsBeforeLossConst: int(t.TokenRetransmitsBeforeLoss),
		TokenRetransmit:                 ms(t.TokenRetransmit),
		Hold:                            ms(t.Hold),
		Join:                            ms(t.Join),
		Consensus:                       ms(t.Consensus),
		Merge:                           ms(t.Merge),
		Downcheck:                       ms(t.Downcheck),
		FailRecvConst:                   int(t.FailRecvConst),
		SeqnoUnchangedConst:             int(t.SeqnoUnchangedConst),
		SendJoin:                        ms(t.SendJoin),
		MaxNetworkDelay:                 ms(t.MaxNetworkDelay),
		WindowSize:                      int(t.WindowSize),
		MaxMessages:                     int(t.MaxMessages),
		MissCountConst:                  int(t.MissCountConst),
		TokenWarning:                    int(t.TokenWarning),
		CancelTokenHoldOnRetransmit:     t.CancelTokenHoldOnRetransmit != 0,
	}
	return c.WithDefaults(nodes)
}

// openRing is corosync's totem initialisation, which comes before the
// service engines load: it reads the totem and quorum configuration, opens
// the interface and logs as totemnet/totemudp(u) do. It returns nil (no
// error) when the configuration has no udp/udpu ring.
func (d *Daemon) openRing() (*ring, error) {
	tc := &d.Config.Totem
	if tc.Transport == conf.TransportKnet {
		return d.openKnetRing()
	}
	if tc.Transport != conf.TransportUDP && tc.Transport != conf.TransportUDPU {
		d.Log.Func("totem").Tracef("totem transport %s: no ring", tc.Transport)
		return nil, nil
	}
	tlog := d.Sink.Logger("TOTEM")
	tcfg, err := transport.FromConf(tc, netip.Addr{})
	if err != nil {
		return nil, fmt.Errorf("totem: %w", err)
	}
	local, ok := d.Config.LocalNode()
	nodeID := tc.NodeID
	if ok && local.NodeID != 0 {
		nodeID = local.NodeID
	}
	if nodeID == 0 {
		return nil, fmt.Errorf("totem: no node id for the local node")
	}
	r := &ring{done: make(chan struct{}), nodeID: nodeID, tcfg: tcfg}
	if tcfg.Mode == transport.UDPU {
		tlog.Func("totemnet_instance_initialize").Noticef("Initializing transport (UDP/IP Unicast).")
	} else {
		tlog.Func("totemnet_instance_initialize").Noticef("Initializing transport (UDP/IP Multicast).")
	}
	tcfg.Logf = tlog.Func("totemudp").Tracef
	r.tcfg = tcfg
	if r.tr, err = transport.Open(tcfg); err == nil {
		tlog.Func("timer_function_netif_check_timeout").Noticef("The network interface [%s] is now up.", tcfg.LocalAddr)
	} else {
		tlog.Func("timer_function_netif_check_timeout").Tracef("The network interface is down: %v", err)
	}
	return r, nil
}

// startRing builds the engines' ring side and runs the ring until ctx ends,
// then leaves it cleanly. An interface that could not be bound is retried
// every downcheck ms, as corosync waits for its interface to come up.
func (d *Daemon) startRing(ctx context.Context, r *ring) error {
	if r == nil {
		return nil
	}
	tc := &d.Config.Totem
	tlog := d.Sink.Logger("TOTEM")
	keys := map[string]conf.Value{}
	for _, kv := range d.Config.Map.All() {
		keys[kv.Key] = kv.Value
	}
	vqc, err := votequorum.ConfigFromKeys(r.nodeID, keys)
	if err != nil {
		return fmt.Errorf("votequorum: %w", err)
	}
	addrs := map[uint32]netip.Addr{}
	for _, m := range r.tcfg.Members {
		addrs[uint32(m.NodeID)] = m.Addr
	}
	logf := func(subsys, fn string, p corolog.Priority, format string, args ...any) {
		d.Sink.Logger(subsys).Func(fn).Logf(p, format, args...)
	}
	d.Sink.Logger("QUORUM").Func("quorum_exec_init_fn").Noticef("Using quorum provider corosync_votequorum")
	engs, err := node.NewCorosync(node.CorosyncConfig{NodeID: r.nodeID, Cmap: d.Cmap, Votequorum: vqc, Addrs: addrs, Log: logf})
	if err != nil {
		return err
	}
	r.engs = engs
	scfg := totemConfig(tc, r.nodeID, len(r.tcfg.Members))
	netMTU := wire.NetMTU(wire.V3, int(tc.NetMTU), nil)
	if r.knet != nil {
		netMTU = wire.NetMTU(wire.V3, node.KnetNetMTU, nil)
	}
	go func() {
		defer close(r.done)
		tr := r.tr
		var link node.Transport = tr
		if r.knet != nil {
			link = r.knet
		}
		for link == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(scfg.Downcheck):
			}
			if t, err := transport.Open(r.tcfg); err == nil {
				tr, link = t, t
				tlog.Func("timer_function_netif_check_timeout").Noticef("The network interface [%s] is now up.", r.tcfg.LocalAddr)
			}
		}
		if r.knet == nil {
			tlog.Func("configure_totem_links").Infof("Configuring link 0")
		}
		if r.knet == nil && r.tcfg.Mode == transport.UDPU {
			for _, m := range r.tcfg.Members {
				tlog.Func("totemudpu_member_add").Noticef("adding new UDPU member {%s}", m.Addr)
			}
		}
		n, err := node.New(node.Config{
			Totem: scfg, Framing: wire.V3, NetMTU: netMTU,
			Transport: link, StateDir: d.Config.StateDir, Services: engs.Entries(), Log: logf,
		})
		if err != nil {
			link.Close()
			d.Log.Errorf("totem: %v", err)
			return
		}
		engs.Attach(n)
		d.attachIPCServices(n, engs)
		if r.knet != nil {
			d.attachKnetLinks(r.knet)
		}
		engs.OnShutdown = func(reason string) { d.Log.Errorf("%s", reason) }
		stopProfile := startProfile()
		engs.OnPloadDone = func(string) {
			if os.Getenv(profileEnv) != "" {
				ns, ts := n.Stats()
				fmt.Fprintf(os.Stderr, "profile: node %+v\nprofile: srp %+v\n", ns, ts)
			}
			stopProfile()
			d.Sink.Logger("PLOAD").Func("message_handler_req_exec_pload_mcast").Warningf("Stopping corosync the hard way")
			os.Exit(exitPload)
		}
		d.watchPload(n, engs)
		stop := make(chan struct{})
		go d.exportStats(n, tr, r.knet, stop)
		_ = n.Run(ctx)
		close(stop)
	}()
	return nil
}

// wait blocks until the ring has left (ctx ended) and stopped.
func (r *ring) wait() {
	if r == nil {
		return
	}
	if r.engs == nil {
		// Never started (engines failed to load).
		if r.tr != nil {
			r.tr.Close()
		}
		if r.knet != nil {
			r.knet.Close()
		}
		return
	}
	<-r.done
}

// exportStats publishes the SRP and transport counters in the stats map
// every second (corosync keeps stats.srp.* current through its stats map).
func (d *Daemon) exportStats(n *node.Node, tr *transport.Transport, kn *node.Knet, stop chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var ns node.Stats
		var ts totem.Stats
		if n.Do(func() { ns, ts = n.Stats() }) != nil {
			return
		}
		d.Cmap.Update(func(_, st *cmap.Store) {
			set := func(k string, v uint64) { _ = st.Set("stats.srp."+k, conf.U64(v)) }
			set("orf_token_rx", ts.OrfTokenRx)
			set("orf_token_tx", ts.OrfTokenTx)
			set("mcast_rx", ts.McastRx)
			set("mcast_tx", ts.McastTx)
			set("mcast_retx", ts.McastRtx)
			set("memb_join_tx", ts.JoinTx)
			set("memb_commit_token_tx", ts.CommitTokenTx)
			set("gather_entered", ts.GatherEntered)
			set("commit_entered", ts.CommitEntered)
			set("recovery_entered", ts.RecoveryEntered)
			set("operational_entered", ts.OperationalEntered)
			set("operational_token_lost", ts.TokenLost)
			set("consensus_timeouts", ts.ConsensusTimeouts)
			dropped := ts.RxDropped + ns.RxDeliverErrors + ns.PgErrors
			if tr != nil {
				dropped += tr.Stats.DroppedDecode.Load() + tr.Stats.DroppedUnlisted.Load() + tr.Stats.DroppedTruncated.Load()
			}
			if kn != nil {
				dropped += kn.DroppedDecode()
			}
			set("rx_msg_dropped", dropped)
			st.Set("stats.srp.firewall_enabled_or_nic_failure", conf.U8(0))
			st.Set("stats.srp.continuous_gather", conf.U32(0))
		})
	}
}

// exitPload is COROSYNC_DONE_PLOAD: pload ends the daemon when it is done.
const exitPload = 99

// watchPload is pload_exec_init_fn's track on "pload.": setting pload.start
// to corosync's consent string starts the load generator once.
func (d *Daemon) watchPload(n *node.Node, engs *node.Corosync) {
	started := false
	_, _ = d.Cmap.Watch("pload.", cmap.TrackAdd|cmap.TrackModify|cmap.TrackPrefix, func(ic *cmap.Store, _ cmap.Event) {
		v, err := ic.Get("pload.start")
		if err != nil || v.Type != conf.TypeString || string(v.Data) != node.PloadConsent || started {
			return
		}
		started = true
		count, size := uint32(1500000), uint32(300)
		if v, err := ic.Get("pload.count"); err == nil {
			if u, ok := v.AsUint(); ok {
				count = uint32(u)
			}
		}
		if v, err := ic.Get("pload.size"); err == nil {
			if u, ok := v.AsUint(); ok {
				size = uint32(u)
			}
		}
		// The watch runs under the map lock, which the node takes to write
		// cmap: hand over without waiting.
		go func() { _ = n.Do(func() { engs.PloadStart(count, size) }) }()
	})
}
