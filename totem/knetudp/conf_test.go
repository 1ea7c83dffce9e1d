package knetudp

import (
	"net/netip"
	"testing"
	"time"

	"ringmaster/conf"
	"ringmaster/internal/testenv"
	"ringmaster/totem/knet"
)

const twoLinks = `totem {
	version: 2
	cluster_name: kntest
	transport: knet
	crypto_cipher: aes256
	crypto_hash: sha256
	link_mode: rr
	token: 1000
	interface {
		linknumber: 1
		knet_link_priority: 5
		knet_ping_interval: 100
		knet_ping_timeout: 300
	}
}
nodelist {
	node {
		ring0_addr: 192.0.2.1
		ring1_addr: 192.0.2.101
		nodeid: 1
		name: n1
	}
	node {
		ring0_addr: 192.0.2.2
		ring1_addr: 192.0.2.102
		nodeid: 2
		name: n2
	}
	node {
		ring0_addr: 192.0.2.3
		ring1_addr: 192.0.2.103
		nodeid: 3
		name: n3
	}
}
`

// TestFromConf: the knet configuration corosync would give libknet — two
// peers with two links each, ports 5405/5406, link 0's timers derived from
// the (coefficient-adjusted) token, link 1's as configured, rr mode, crypto
// with the authkey.
func TestFromConf(t *testing.T) {
	self := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.101")}
	env := conf.HostsEnv("n1", self, nil)
	c, _, err := conf.LoadBytes("corosync.conf", []byte(twoLinks), env,
		conf.Options{AuthkeyPath: testenv.Shared(t, "testdata", "knet", "authkey")})
	if err != nil {
		t.Fatal(err)
	}
	kc, err := FromConf(&c.Totem, 1)
	if err != nil {
		t.Fatal(err)
	}
	if kc.Self != 1 || kc.Mode != knet.RoundRobin || kc.Crypto == nil || !kc.Crypto.Enabled() || kc.PMTUDInterval != 30*time.Second {
		t.Fatalf("config %+v", kc)
	}
	if len(kc.Hosts) != 2 || kc.Hosts[0].ID != 2 || kc.Hosts[1].ID != 3 {
		t.Fatalf("hosts %+v", kc.Hosts)
	}
	// token 1000 + (3-2)·650 = 1650: ping 1650/(2·2), timeout 1650/2.
	want0 := knet.LinkConfig{Link: 0, Local: netip.MustParseAddrPort("192.0.2.1:5405"), Remote: netip.MustParseAddrPort("192.0.2.3:5405"),
		Priority: 1, PingInterval: 412 * time.Millisecond, PongTimeout: 825 * time.Millisecond, PongCount: 2, Precision: 2048}
	want1 := knet.LinkConfig{Link: 1, Local: netip.MustParseAddrPort("192.0.2.101:5406"), Remote: netip.MustParseAddrPort("192.0.2.103:5406"),
		Priority: 5, PingInterval: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond, PongCount: 2, Precision: 2048}
	h := kc.Hosts[1]
	if len(h.Links) != 2 || h.Links[0] != want0 || h.Links[1] != want1 {
		t.Fatalf("host 3 links:\n got %+v\nwant %+v\n     %+v", h.Links, want0, want1)
	}
	if _, err := knet.NewMachine(kc); err != nil {
		t.Fatal(err)
	}
}

func TestFromConfBadMode(t *testing.T) {
	tc := conf.Totem{LinkMode: "fastest"}
	if _, err := FromConf(&tc, 1); err == nil {
		t.Fatal("link_mode fastest accepted")
	}
}
