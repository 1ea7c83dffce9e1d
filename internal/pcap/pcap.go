// Package pcap reads packet captures (classic libpcap files and pcapng) and
// extracts UDP datagrams from them, for golden tests against traffic captured
// from the real corosync/knet/Pacemaker programs.
//
// It understands the link types tcpdump produces on Linux: Ethernet (with
// 802.1Q tags), Linux cooked capture v1/v2, raw IP and BSD loopback. IPv4
// fragments are not reassembled: a fragment is reported as a non-UDP frame.
package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"
)

// Link types (LINKTYPE_* from tcpdump.org).
const (
	LinkNull     uint32 = 0
	LinkEthernet uint32 = 1
	LinkRaw      uint32 = 101
	LinkLinuxSLL uint32 = 113
	LinkIPv4     uint32 = 228
	LinkIPv6     uint32 = 229
	LinkSLL2     uint32 = 276
)

// maxRecord bounds one captured record; anything larger is a corrupt file.
const maxRecord = 1 << 20

// ErrFormat reports a file that is neither pcap nor pcapng, or is corrupt.
var ErrFormat = errors.New("pcap: bad capture format")

// Frame is one captured link-layer frame.
type Frame struct {
	Index    int // 1-based frame number, as tcpdump/wireshark count
	Time     time.Time
	LinkType uint32
	OrigLen  int // length on the wire (may exceed len(Data) when snapped)
	Data     []byte
}

// Datagram is a UDP datagram found in a frame.
type Datagram struct {
	Frame   int // 1-based frame number
	Time    time.Time
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Payload []byte
}

// ReadFile reads every frame of a pcap or pcapng file.
func ReadFile(path string) ([]Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	frames, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return frames, nil
}

// Read reads every frame of a pcap or pcapng stream.
func Read(r io.Reader) ([]Frame, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%w: reading magic: %v", ErrFormat, err)
	}
	if binary.LittleEndian.Uint32(magic) == 0x0A0D0D0A {
		return readNG(br)
	}
	return readClassic(br)
}

func readClassic(r io.Reader) ([]Frame, error) {
	var hdr [24]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: file header: %v", ErrFormat, err)
	}
	var bo binary.ByteOrder
	nano := false
	switch m := binary.LittleEndian.Uint32(hdr[:]); m {
	case 0xA1B2C3D4:
		bo = binary.LittleEndian
	case 0xA1B23C4D:
		bo, nano = binary.LittleEndian, true
	case 0xD4C3B2A1:
		bo = binary.BigEndian
	case 0x4D3CB2A1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("%w: magic %#08x", ErrFormat, m)
	}
	link := bo.Uint32(hdr[20:]) & 0x0FFFFFFF
	var frames []Frame
	for i := 1; ; i++ {
		var rh [16]byte
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			if err == io.EOF {
				return frames, nil
			}
			return frames, fmt.Errorf("%w: record %d header: %v", ErrFormat, i, err)
		}
		sec, sub := bo.Uint32(rh[0:]), bo.Uint32(rh[4:])
		incl, orig := bo.Uint32(rh[8:]), bo.Uint32(rh[12:])
		if incl > maxRecord {
			return frames, fmt.Errorf("%w: record %d length %d", ErrFormat, i, incl)
		}
		data := make([]byte, incl)
		if _, err := io.ReadFull(r, data); err != nil {
			return frames, fmt.Errorf("%w: record %d data: %v", ErrFormat, i, err)
		}
		ns := int64(sub) * 1000
		if nano {
			ns = int64(sub)
		}
		frames = append(frames, Frame{Index: i, Time: time.Unix(int64(sec), ns).UTC(),
			LinkType: link, OrigLen: int(orig), Data: data})
	}
}

// readNG reads a pcapng stream: section header, interface description,
// enhanced and simple packet blocks; other blocks are skipped.
func readNG(r io.Reader) ([]Frame, error) {
	var bo binary.ByteOrder = binary.LittleEndian
	type iface struct {
		link    uint32
		tsUnits int64 // ticks per second
	}
	var ifaces []iface
	var frames []Frame
	for n := 1; ; {
		var bh [8]byte
		if _, err := io.ReadFull(r, bh[:]); err != nil {
			if err == io.EOF {
				return frames, nil
			}
			return frames, fmt.Errorf("%w: block header: %v", ErrFormat, err)
		}
		btype := bo.Uint32(bh[0:])
		if btype == 0x0A0D0D0A {
			// Section header: the byte-order magic follows the length.
			var bom [4]byte
			if _, err := io.ReadFull(r, bom[:]); err != nil {
				return frames, fmt.Errorf("%w: section header: %v", ErrFormat, err)
			}
			switch binary.LittleEndian.Uint32(bom[:]) {
			case 0x1A2B3C4D:
				bo = binary.LittleEndian
			case 0x4D3C2B1A:
				bo = binary.BigEndian
			default:
				return frames, fmt.Errorf("%w: pcapng byte-order magic", ErrFormat)
			}
			ifaces = ifaces[:0]
			blen := bo.Uint32(bh[4:])
			if blen < 16 || blen > maxRecord || blen%4 != 0 {
				return frames, fmt.Errorf("%w: section header length %d", ErrFormat, blen)
			}
			if _, err := io.CopyN(io.Discard, r, int64(blen-12)); err != nil {
				return frames, fmt.Errorf("%w: section header: %v", ErrFormat, err)
			}
			continue
		}
		blen := bo.Uint32(bh[4:])
		if blen < 12 || blen > maxRecord || blen%4 != 0 {
			return frames, fmt.Errorf("%w: block length %d", ErrFormat, blen)
		}
		body := make([]byte, blen-8)
		if _, err := io.ReadFull(r, body); err != nil {
			return frames, fmt.Errorf("%w: block body: %v", ErrFormat, err)
		}
		body = body[:len(body)-4] // trailing length copy
		switch btype {
		case 1: // interface description
			if len(body) < 8 {
				return frames, fmt.Errorf("%w: short interface block", ErrFormat)
			}
			ifc := iface{link: uint32(bo.Uint16(body[0:])), tsUnits: 1e6}
			opts := body[8:]
			for len(opts) >= 4 {
				code, l := bo.Uint16(opts[0:]), int(bo.Uint16(opts[2:]))
				if code == 0 || 4+l > len(opts) {
					break
				}
				if code == 9 && l >= 1 { // if_tsresol
					v := opts[4]
					units := int64(1)
					for k := 0; k < int(v&0x7F) && units < 1e18; k++ {
						if v&0x80 != 0 {
							units *= 2
						} else {
							units *= 10
						}
					}
					ifc.tsUnits = units
				}
				opts = opts[4+(l+3)&^3:]
			}
			ifaces = append(ifaces, ifc)
		case 6: // enhanced packet
			if len(body) < 20 {
				return frames, fmt.Errorf("%w: short packet block", ErrFormat)
			}
			id := bo.Uint32(body[0:])
			if int(id) >= len(ifaces) {
				return frames, fmt.Errorf("%w: packet on unknown interface %d", ErrFormat, id)
			}
			ts := uint64(bo.Uint32(body[4:]))<<32 | uint64(bo.Uint32(body[8:]))
			incl, orig := bo.Uint32(body[12:]), bo.Uint32(body[16:])
			if uint64(incl) > uint64(len(body)-20) {
				return frames, fmt.Errorf("%w: packet length %d", ErrFormat, incl)
			}
			u := ifaces[id].tsUnits
			t := time.Unix(int64(ts/uint64(u)), int64(ts%uint64(u))*int64(1e9)/u).UTC()
			frames = append(frames, Frame{Index: n, Time: t, LinkType: ifaces[id].link,
				OrigLen: int(orig), Data: body[20 : 20+incl]})
			n++
		case 3: // simple packet
			if len(body) < 4 || len(ifaces) == 0 {
				return frames, fmt.Errorf("%w: bad simple packet block", ErrFormat)
			}
			orig := bo.Uint32(body[0:])
			data := body[4:]
			if uint64(orig) < uint64(len(data)) {
				data = data[:orig]
			}
			frames = append(frames, Frame{Index: n, LinkType: ifaces[0].link, OrigLen: int(orig), Data: data})
			n++
		}
	}
}

// UDP extracts the UDP datagram from a frame; ok is false for anything else
// (other protocols, IP fragments, truncated frames).
func (f Frame) UDP() (d Datagram, ok bool) {
	ip, ok := networkLayer(f.LinkType, f.Data)
	if !ok {
		return d, false
	}
	src, dst, udp, ok := ipPayload(ip)
	if !ok || len(udp) < 8 {
		return d, false
	}
	sport, dport := binary.BigEndian.Uint16(udp[0:]), binary.BigEndian.Uint16(udp[2:])
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < 8 || ulen > len(udp) {
		return d, false
	}
	return Datagram{Frame: f.Index, Time: f.Time, Src: netip.AddrPortFrom(src, sport),
		Dst: netip.AddrPortFrom(dst, dport), Payload: udp[8:ulen]}, true
}

// networkLayer strips the link header and returns the IP packet.
func networkLayer(link uint32, b []byte) ([]byte, bool) {
	var etype uint16
	switch link {
	case LinkEthernet:
		if len(b) < 14 {
			return nil, false
		}
		etype, b = binary.BigEndian.Uint16(b[12:]), b[14:]
		for (etype == 0x8100 || etype == 0x88A8) && len(b) >= 4 {
			etype, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		}
	case LinkLinuxSLL:
		if len(b) < 16 {
			return nil, false
		}
		etype, b = binary.BigEndian.Uint16(b[14:]), b[16:]
	case LinkSLL2:
		if len(b) < 20 {
			return nil, false
		}
		etype, b = binary.BigEndian.Uint16(b[0:]), b[20:]
	case LinkNull:
		if len(b) < 4 {
			return nil, false
		}
		b = b[4:]
		return b, true
	case LinkRaw, LinkIPv4, LinkIPv6:
		return b, true
	default:
		return nil, false
	}
	if etype != 0x0800 && etype != 0x86DD {
		return nil, false
	}
	return b, true
}

// ipPayload returns the addresses and the UDP segment of an IPv4/IPv6 packet.
func ipPayload(b []byte) (src, dst netip.Addr, udp []byte, ok bool) {
	if len(b) < 1 {
		return src, dst, nil, false
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return src, dst, nil, false
		}
		ihl := int(b[0]&0x0F) * 4
		total := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || total < ihl || total > len(b) || b[9] != 17 {
			return src, dst, nil, false
		}
		if binary.BigEndian.Uint16(b[6:])&0x3FFF != 0 { // MF flag or offset: a fragment
			return src, dst, nil, false
		}
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		return src, dst, b[ihl:total], true
	case 6:
		if len(b) < 40 || b[6] != 17 { // extension headers not followed
			return src, dst, nil, false
		}
		plen := int(binary.BigEndian.Uint16(b[4:]))
		if 40+plen > len(b) {
			return src, dst, nil, false
		}
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		return src, dst, b[40 : 40+plen], true
	}
	return src, dst, nil, false
}

// UDPFile returns every UDP datagram of a capture file, in capture order.
func UDPFile(path string) ([]Datagram, error) {
	frames, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]Datagram, 0, len(frames))
	for _, f := range frames {
		if d, ok := f.UDP(); ok {
			out = append(out, d)
		}
	}
	return out, nil
}
