package transport

import (
	"fmt"
	"net/netip"
	"time"

	"ringmaster/conf"
	"ringmaster/totem/wire"
)

// FromConf builds the Config of link 0 for a corosync 3.x udp or udpu
// configuration as conf.Load reads it (3.x framing, no crypto: 3.x has
// none on these transports). local is the address to bind; when invalid,
// the link's bindnetaddr (corosync writes the local node's ring0_addr
// there) is matched against this host's interfaces as corosync does.
func FromConf(t *conf.Totem, local netip.Addr) (Config, error) {
	var mode Mode
	switch t.Transport {
	case conf.TransportUDPU:
		mode = UDPU
	case conf.TransportUDP:
		mode = UDP
	default:
		return Config{}, fmt.Errorf("%w: transport %s is not udp/udpu", ErrConfig, t.Transport)
	}
	l := t.Links[0]
	if !local.IsValid() {
		local = l.LocalAddr
	}
	if !local.IsValid() && l.Bindnet.IsValid() {
		addrs, err := LocalAddrs()
		if err != nil {
			return Config{}, err
		}
		a, err := SelectBindAddr(l.Bindnet, addrs)
		if err != nil {
			return Config{}, err
		}
		local = a.Prefix.Addr()
	}
	c := Config{
		Mode:          mode,
		LocalAddr:     local,
		Port:          l.Port,
		McastAddr:     l.Mcast,
		Broadcast:     t.Broadcast,
		TTL:           l.TTL,
		BlockUnlisted: t.BlockUnlistedIPs != 0,
		Merge:         time.Duration(t.Merge) * time.Millisecond,
		Framing:       wire.V3,
	}
	for _, m := range l.Members {
		c.Members = append(c.Members, Member{NodeID: wire.NodeID(m.NodeID), Addr: m.Addr})
	}
	return c, nil
}
