package transport

import (
	"fmt"
	"net"
	"net/netip"
)

// IfAddr is one address of a local interface.
type IfAddr struct {
	Prefix netip.Prefix // address and netmask
	Up     bool
}

// SelectBindAddr picks the local address to bind for bindnetaddr (3.x
// fills bindnetaddr from the local node's ring0_addr), as
// totemip_iface_check does: an interface address equal to bindnet wins at
// once; otherwise the first address whose network (under its own mask)
// equals bindnet's network under that mask.
func SelectBindAddr(bindnet netip.Addr, addrs []IfAddr) (IfAddr, error) {
	bindnet = bindnet.Unmap()
	var found *IfAddr
	for i := range addrs {
		a := addrs[i]
		ip := a.Prefix.Addr().Unmap()
		if ip.Is4() != bindnet.Is4() {
			continue
		}
		if ip == bindnet {
			return a, nil
		}
		if found != nil {
			continue
		}
		bits := a.Prefix.Bits()
		p1, err1 := bindnet.Prefix(bits)
		p2, err2 := ip.Prefix(bits)
		if err1 == nil && err2 == nil && p1 == p2 {
			found = &addrs[i]
		}
	}
	if found == nil {
		return IfAddr{}, fmt.Errorf("%w: no local interface matches bindnetaddr %v", ErrConfig, bindnet)
	}
	return *found, nil
}

// LocalAddrs lists the addresses of this host's interfaces (in the
// caller's network namespace), in kernel order.
func LocalAddrs() ([]IfAddr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("transport: list interfaces: %w", err)
	}
	var out []IfAddr
	for _, ifi := range ifs {
		as, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			out = append(out, IfAddr{Prefix: netip.PrefixFrom(p.Addr().Unmap(), p.Bits()), Up: ifi.Flags&net.FlagUp != 0})
		}
	}
	return out, nil
}
