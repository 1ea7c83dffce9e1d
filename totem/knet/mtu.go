package knet

import "crypto/aes"

// MTU arithmetic of knet-wire.md §4 (libknet threads_pmtud.c and the crypto
// overhead it computes). M is an on-wire IP datagram length.

const (
	ipv4Overhead = 20
	ipv6Overhead = 40
	udpOverhead  = 8
	// safeMinIP is the datagram size knet assumes before discovery: 576 less the
	// worst-case IPv6 + SCTP overhead it budgets for (40 + 28).
	safeMinIP = 576 - 40 - 28
)

// AppMTU is the largest user payload per DATA fragment that fits an IP datagram of
// ipLen bytes with crypto c (nil: none): what corosync-cfgtool -n prints as the
// link's mtu (1446 plain, 1397 with aes256/sha256 on a 1500-byte link).
func AppMTU(ipLen int, ipv6 bool, c *Crypto) int {
	over := ipv4Overhead
	if ipv6 {
		over = ipv6Overhead
	}
	return appMTU(ipLen-over-udpOverhead, c)
}

// appMTU works from the UDP payload size u.
func appMTU(u int, c *Crypto) int {
	if c == nil || !c.Enabled() {
		return u - HeaderAllSize
	}
	u -= c.macSize
	if c.block == nil {
		return u - HeaderAllSize
	}
	u -= SaltSize
	// Keep PKCS#7 from adding a whole block: one byte of room, rounded down to blocks.
	return u - u%aes.BlockSize - 1 - HeaderAllSize
}

// SafeMTU is the data MTU knet uses before path-MTU discovery has finished on every
// link (482 plain, 421 with aes256/sha256).
func SafeMTU(c *Crypto) int { return appMTU(safeMinIP, c) }

// ProbeLen is the clear-text length of a PMTUD probe that, once sealed with c,
// makes an IP datagram of exactly ipLen bytes.
func ProbeLen(ipLen int, ipv6 bool, c *Crypto) int {
	if c == nil || !c.Enabled() {
		over := ipv4Overhead
		if ipv6 {
			over = ipv6Overhead
		}
		return ipLen - over - udpOverhead
	}
	return AppMTU(ipLen, ipv6, c) + HeaderAllSize
}

// Fragments splits a message into the payloads of its DATA fragments for a data
// MTU: all but the last carry exactly mtu bytes. It returns nil if the message needs
// more than MaxFragments fragments or is empty.
func Fragments(msg []byte, mtu int) [][]byte {
	if len(msg) == 0 || mtu <= 0 {
		return nil
	}
	n := (len(msg) + mtu - 1) / mtu
	if n > MaxFragments {
		return nil
	}
	out := make([][]byte, 0, n)
	for len(msg) > mtu {
		out = append(out, msg[:mtu])
		msg = msg[mtu:]
	}
	return append(out, msg)
}
