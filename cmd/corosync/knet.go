package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"ringmaster/cmap"
	"ringmaster/conf"

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
	comp, err := knetudp.CompressFromConf(tc)
	if err != nil {
		return nil, fmt.Errorf("totem: %w", err)
	}
	compLog := klog.Func("knet").Tracef
	if comp.Model != knet.CompressNone {
		// knet_handle_compress's complaints reach corosync's log as
		// errors/warnings; the ring runs on without compression.
		compLog = klog.Func("compress_cfg").Warningf
	}
	kn, err := node.OpenKnet(knetudp.Config{Machine: kcfg, Logf: klog.Func("knet").Tracef, Compress: comp, CompressLogf: compLog}, wire.NodeID(nodeID))
	if err != nil {
		return nil, fmt.Errorf("totem: knet: %w", err)
	}
	r.knet = kn
	conn := kn.Conn()
	go logKnetEvents(d, conn)
	go exportKnetStats(d, conn, nodeID)
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

// knetLinkStats are the stats.knet.nodeN.linkM.* keys corosync's stats.c
// builds from struct knet_link_status, in its order and with its types; a
// nil value is a counter libknet has and we never move (retries: we do not
// retry a send that failed).
var knetLinkStats = []struct {
	name string
	typ  conf.ValueType
}{
	{"enabled", conf.TypeU8}, {"connected", conf.TypeU8}, {"mtu", conf.TypeU32},
	{"tx_data_packets", conf.TypeU64}, {"rx_data_packets", conf.TypeU64}, {"tx_data_bytes", conf.TypeU64}, {"rx_data_bytes", conf.TypeU64},
	{"tx_ping_packets", conf.TypeU64}, {"rx_ping_packets", conf.TypeU64}, {"tx_ping_bytes", conf.TypeU64}, {"rx_ping_bytes", conf.TypeU64},
	{"tx_pong_packets", conf.TypeU64}, {"rx_pong_packets", conf.TypeU64}, {"tx_pong_bytes", conf.TypeU64}, {"rx_pong_bytes", conf.TypeU64},
	{"tx_pmtu_packets", conf.TypeU64}, {"rx_pmtu_packets", conf.TypeU64}, {"tx_pmtu_bytes", conf.TypeU64}, {"rx_pmtu_bytes", conf.TypeU64},
	{"tx_total_packets", conf.TypeU64}, {"rx_total_packets", conf.TypeU64}, {"tx_total_bytes", conf.TypeU64}, {"rx_total_bytes", conf.TypeU64},
	{"tx_total_errors", conf.TypeU64}, {"rx_total_retries", conf.TypeU64},
	{"tx_pmtu_errors", conf.TypeU32}, {"tx_pmtu_retries", conf.TypeU32}, {"tx_ping_errors", conf.TypeU32}, {"tx_ping_retries", conf.TypeU32},
	{"tx_pong_errors", conf.TypeU32}, {"tx_pong_retries", conf.TypeU32}, {"tx_data_errors", conf.TypeU32}, {"tx_data_retries", conf.TypeU32},
	{"latency_min", conf.TypeU32}, {"latency_max", conf.TypeU32}, {"latency_ave", conf.TypeU32}, {"latency_samples", conf.TypeU32},
	{"down_count", conf.TypeU32}, {"up_count", conf.TypeU32},
}

// knetLinkValues reads one link's values by key name.
func knetLinkValues(st knet.LinkStatus, lc *knetudp.LinkCounters) map[string]uint64 {
	v := map[string]uint64{"enabled": 1, "mtu": uint64(st.MTU)}
	if st.Up {
		v["connected"] = 1
	}
	us := func(d time.Duration) uint64 { return uint64(d / time.Microsecond) }
	v["latency_min"], v["latency_max"], v["latency_ave"] = us(st.LatencyMin), us(st.LatencyMax), us(st.Latency)
	v["latency_samples"], v["down_count"], v["up_count"] = uint64(st.LatencySamples), uint64(st.DownCount), uint64(st.UpCount)
	if lc == nil {
		return v
	}
	for k, a := range map[string]*atomic.Uint64{
		"tx_data_packets": &lc.TxData, "rx_data_packets": &lc.RxData, "tx_data_bytes": &lc.TxDataBytes, "rx_data_bytes": &lc.RxDataBytes,
		"tx_ping_packets": &lc.TxPing, "rx_ping_packets": &lc.RxPing, "tx_ping_bytes": &lc.TxPingBytes, "rx_ping_bytes": &lc.RxPingBytes,
		"tx_pong_packets": &lc.TxPong, "rx_pong_packets": &lc.RxPong, "tx_pong_bytes": &lc.TxPongBytes, "rx_pong_bytes": &lc.RxPongBytes,
		"tx_pmtu_packets": &lc.TxPMTU, "rx_pmtu_packets": &lc.RxPMTU, "tx_pmtu_bytes": &lc.TxPMTUBytes, "rx_pmtu_bytes": &lc.RxPMTUBytes,
		"tx_data_errors": &lc.TxDataErrors, "tx_ping_errors": &lc.TxPingErrors, "tx_pong_errors": &lc.TxPongErrors, "tx_pmtu_errors": &lc.TxPMTUErrors,
	} {
		v[k] = a.Load()
	}
	v["tx_total_packets"], v["tx_total_bytes"] = lc.TxTotal()
	v["rx_total_packets"], v["rx_total_bytes"] = lc.RxTotal()
	v["tx_total_errors"] = lc.TxErrors()
	return v
}

// knetHandleValues is stats.knet.handle.*, all u64, in stats.c's order.
func knetHandleValues(h knetudp.HandleStats) [][2]any {
	return [][2]any{
		{"tx_uncompressed_packets", h.TxUncompressedPackets}, {"tx_compressed_packets", h.TxCompressedPackets},
		{"tx_compressed_original_bytes", h.TxCompressedOriginalBytes}, {"tx_compressed_size_bytes", h.TxCompressedSizeBytes},
		{"tx_compress_time_min", h.TxCompressTime.Min}, {"tx_compress_time_max", h.TxCompressTime.Max}, {"tx_compress_time_ave", h.TxCompressTime.Ave},
		{"rx_compressed_packets", h.RxCompressedPackets}, {"rx_compressed_original_bytes", h.RxCompressedOriginalBytes},
		{"rx_compressed_size_bytes", h.RxCompressedSizeBytes},
		{"rx_compress_time_min", h.RxCompressTime.Min}, {"rx_compress_time_max", h.RxCompressTime.Max}, {"rx_compress_time_ave", h.RxCompressTime.Ave},
		{"tx_crypt_time_min", h.TxCryptTime.Min}, {"tx_crypt_time_max", h.TxCryptTime.Max}, {"tx_crypt_time_ave", h.TxCryptTime.Ave},
		{"tx_crypt_byte_overhead", h.TxCryptByteOverhead}, {"tx_crypt_packets", h.TxCryptPackets},
		{"rx_crypt_time_min", h.RxCryptTime.Min}, {"rx_crypt_time_max", h.RxCryptTime.Max}, {"rx_crypt_time_ave", h.RxCryptTime.Ave},
		{"rx_crypt_packets", h.RxCryptPackets},
	}
}

func typed(t conf.ValueType, v uint64) conf.Value {
	switch t {
	case conf.TypeU8:
		return conf.U8(uint8(v))
	case conf.TypeU32:
		return conf.U32(uint32(min(v, 1<<32-1)))
	}
	return conf.U64(v)
}

// exportKnetStats keeps stats.knet.* current, as corosync's stats map reads
// libknet on every access: stats.knet.handle.* (stats_knet_add_handle) and
// stats.knet.nodeN.linkM.* for every configured link of every node
// (stats_knet_add_member), the local node's loopback link 0 included. Ours
// are refreshed every second and at start.
func exportKnetStats(d *Daemon, conn *knetudp.Conn, self uint32) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		status := conn.Status()
		hs := conn.HandleStats()
		d.Cmap.Update(func(_, st *cmap.Store) {
			for _, kv := range knetHandleValues(hs) {
				_ = st.Set("stats.knet.handle."+kv[0].(string), conf.U64(kv[1].(uint64)))
			}
			// libknet's loopback link (transport_loopback.c): always
			// connected, MTU KNET_PMTUD_SIZE_V6.
			self := knet.LinkStatus{Host: knet.NodeID(self), Up: true, MTU: knetLoopbackMTU}
			for _, s := range append([]knet.LinkStatus{self}, status...) {
				vals := knetLinkValues(s, conn.LinkCounters(s.Host, s.Link))
				prefix := fmt.Sprintf("stats.knet.node%d.link%d.", s.Host, s.Link)
				for _, k := range knetLinkStats {
					_ = st.Set(prefix+k.name, typed(k.typ, vals[k.name]))
				}
			}
		})
		select {
		case <-conn.Done():
			return
		case <-t.C:
		}
	}
}

// knetLoopbackMTU is KNET_PMTUD_SIZE_V6, the MTU libknet gives the loopback link.
const knetLoopbackMTU = 65535
