package knetudp

import (
	"fmt"
	"net/netip"
	"time"

	"ringmaster/conf"
	"ringmaster/totem/knet"
)

// FromConf builds the knet configuration corosync's totemknet.c gives libknet
// for a parsed corosync.conf: one host per other nodelist node, one link per
// configured interface (port = the link's mcastport, 5405 + link number by
// default), the per-link knet_* timers (ping interval token/(2·pong_count) and
// pong timeout token/pong_count when not set, as conf derives them),
// link_mode, knet_mtu, knet_pmtud_interval and the crypto with the authkey.
func FromConf(t *conf.Totem, self uint32) (knet.Config, error) {
	mode, err := knet.ParseLinkMode(t.LinkMode)
	if err != nil {
		return knet.Config{}, err
	}
	cfg := knet.Config{
		Self:          knet.NodeID(self),
		Mode:          mode,
		PMTUDInterval: time.Duration(t.KnetPMTUDInterval) * time.Second,
		MTU:           int(t.KnetMTU),
	}
	cc := knet.CryptoConfig{Cipher: t.CryptoCipher, Hash: t.CryptoHash}
	if cc.Enabled() {
		c, err := knet.NewCrypto(cc, t.Key)
		if err != nil {
			return knet.Config{}, fmt.Errorf("knetudp: crypto: %w", err)
		}
		cfg.Crypto = c
	}
	hosts := map[knet.NodeID]*knet.HostConfig{}
	var order []knet.NodeID
	ms := func(v uint32) time.Duration { return time.Duration(v) * time.Millisecond }
	for i := range t.Links {
		l := &t.Links[i]
		if !l.Configured || !l.LocalAddr.IsValid() {
			continue
		}
		cfg.IPv6 = cfg.IPv6 || l.LocalAddr.Is6()
		for _, m := range l.Members {
			if m.NodeID == self || m.NodeID == 0 {
				continue
			}
			id := knet.NodeID(m.NodeID)
			h := hosts[id]
			if h == nil {
				h = &knet.HostConfig{ID: id}
				hosts[id] = h
				order = append(order, id)
			}
			dup := false
			for _, have := range h.Links {
				dup = dup || have.Link == uint8(l.Number)
			}
			if dup {
				continue // the nodelist's doubled-entry quirk (conf.Totem.MemberCount)
			}
			h.Links = append(h.Links, knet.LinkConfig{
				Link:         uint8(l.Number),
				Local:        netip.AddrPortFrom(l.LocalAddr, l.Port),
				Remote:       netip.AddrPortFrom(m.Addr, l.Port),
				Priority:     uint8(l.KnetLinkPriority),
				PingInterval: ms(l.KnetPingInterval),
				PongTimeout:  ms(l.KnetPingTimeout),
				PongCount:    int(l.KnetPongCount),
				Precision:    int(l.KnetPingPrecision),
			})
		}
	}
	for _, id := range order {
		cfg.Hosts = append(cfg.Hosts, *hosts[id])
	}
	return cfg, nil
}

// CompressFromConf is totemknet_configure_compression's input: the model,
// threshold and level of totem.knet_compression_* ("none", corosync's
// default, leaves compression off; libknet then still accepts compressed
// messages from peers).
func CompressFromConf(t *conf.Totem) (knet.CompressConfig, error) {
	m, err := knet.ParseCompressModel(t.KnetCompressionModel)
	if err != nil {
		return knet.CompressConfig{}, err
	}
	return knet.CompressConfig{Model: m, Threshold: int(t.KnetCompressionThreshold), Level: int(t.KnetCompressionLevel)}, nil
}
