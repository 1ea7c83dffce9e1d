package transport

import (
	"net/netip"
	"testing"

	"ringmaster/conf"
)

func TestFromConf(t *testing.T) {
	for _, tc := range []struct {
		transport string
		mode      Mode
	}{{"udpu", UDPU}, {"udp", UDP}} {
		src := `totem {
	version: 2
	cluster_name: wctest
	transport: ` + tc.transport + `
}
nodelist {
	node {
		ring0_addr: 192.0.2.1
		nodeid: 1
	}
	node {
		ring0_addr: 192.0.2.2
		nodeid: 2
	}
}
`
		env := &conf.Env{Hostname: "n1", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), ip1}}
		c, _, err := conf.LoadBytes("corosync.conf", []byte(src), env, conf.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.transport, err)
		}
		cfg, err := FromConf(&c.Totem, ip1)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Mode != tc.mode || cfg.LocalAddr != ip1 || cfg.Port != 5405 || len(cfg.Members) != 2 ||
			cfg.Members[1] != (Member{2, ip2}) || cfg.Merge.Milliseconds() != 200 {
			t.Errorf("%s: %+v", tc.transport, cfg)
		}
		if tc.mode == UDP && cfg.McastAddr != netip.MustParseAddr("239.192.27.185") {
			t.Errorf("udp group %v, want corosync's 239.192.27.185 for wctest", cfg.McastAddr)
		}
		if tc.mode == UDPU && !cfg.BlockUnlisted {
			t.Error("block_unlisted_ips defaults to on")
		}
	}
}
