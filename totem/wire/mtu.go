package wire

// udpIPv4Header is what 2.x deducts for the UDP and IPv4 headers
// (totemip_udpip_header_size: 8 + 20; IPv6 would be 8 + 40).
const udpIPv4Header = 28

// NetMTU is the SRP's net_mtu for a configured totem.netmtu (default
// 1500): the room for one mcast's payload, which totempg fills.
//
//   - 3.x udp/udpu: netmtu - 2×45 (totemudp_net_mtu_adjust reserves two
//     mcast headers; the UDP/IP deduction exists but is not applied): 1410.
//   - 2.x: netmtu - crypto overhead - 28 - 2×99; with crypto none/none that
//     is 1270, with aes256/sha1 1202. c may be nil for none/none.
func NetMTU(f Framing, netmtu int, c *Crypto) int {
	if f != V2 {
		return netmtu - 2*f.McastHeaderSize()
	}
	overhead := cryptoHeaderSize
	if c != nil {
		overhead = c.Overhead()
	}
	return netmtu - overhead - udpIPv4Header - 2*f.McastHeaderSize()
}
