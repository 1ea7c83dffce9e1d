package knet

import "errors"

// LZO1X decompression, for messages a peer sends with knet_compression_model
// lzo2 (libknet compress_lzo2.c: lzo1x_1_compress and friends, all of which
// emit the LZO1X format, decoded by lzo1x_decompress_safe). There is no
// maintained Go LZO library, so this is written from the format: a stream of
// literal runs and back-references with four match encodings, ended by an M4
// instruction of distance 0x4000 and length 3.
//
//	first byte > 17      literal run of (b - 17) bytes
//	0..15, after a match a literal run: 3 + len (len 0 = 15 + 255·zeros + next byte)
//	0..15, after 1..3 trailing literals   M1: 2 bytes at distance 1 + (b>>2) + (next<<2)
//	0..15, after a literal run            M1: 3 bytes at distance 2049 + (b>>2) + (next<<2)
//	64..255  M2: 3..8 bytes at distance 1 + ((b>>2)&7) + (next<<3)
//	32..63   M3: 2 + len bytes (len in b&31, extended), distance 1 + (le16>>2)
//	16..31   M4: 2 + len bytes (len in b&7, extended), distance 16384·((b&8)>>3) + (le16>>2) + 16384
//
// The low two bits of the byte (M1/M2) or of the le16 (M3/M4) give 0..3 literals
// that follow the match directly.

var errLZO = errors.New("lzo: corrupt input")

// lzoDecompress expands src, refusing output beyond limit bytes.
func lzoDecompress(src []byte, limit int) ([]byte, error) {
	out := make([]byte, 0, min(limit, 4*len(src)+64))
	ip := 0
	need := func(n int) bool { return ip+n <= len(src) }
	lits := func(n int) error {
		if !need(n) || len(out)+n > limit {
			return errLZO
		}
		out = append(out, src[ip:ip+n]...)
		ip += n
		return nil
	}
	// extend reads a zero-run length extension: 255 per zero byte plus the
	// first non-zero byte, plus base.
	extend := func(base int) (int, error) {
		n := 0
		for {
			if !need(1) {
				return 0, errLZO
			}
			b := src[ip]
			ip++
			if b != 0 {
				return n + base + int(b), nil
			}
			n += 255
			if n > limit {
				return 0, errLZO
			}
		}
	}
	copyMatch := func(dist, n int) error {
		if dist < 1 || dist > len(out) || len(out)+n > limit {
			return errLZO
		}
		start := len(out) - dist
		for i := 0; i < n; i++ { // overlapping copies repeat bytes, as intended
			out = append(out, out[start+i])
		}
		return nil
	}
	if !need(1) {
		return nil, errLZO
	}
	// state: 0 after a match with no trailing literals (or at the start),
	// 1..3 after that many trailing literals, 4 after a literal run.
	state := 0
	if src[0] > 17 {
		ip++
		t := int(src[0]) - 17
		if err := lits(t); err != nil {
			return nil, err
		}
		if t < 4 {
			state = t
		} else {
			state = 4
		}
	}
	for {
		if !need(1) {
			return nil, errLZO
		}
		t := int(src[ip])
		ip++
		var dist, n, next int
		switch {
		case t < 16 && state == 0:
			n := t + 3
			if t == 0 {
				var err error
				if n, err = extend(15); err != nil {
					return nil, err
				}
				n += 3
			}
			if err := lits(n); err != nil {
				return nil, err
			}
			state = 4
			continue
		case t < 16:
			if !need(1) {
				return nil, errLZO
			}
			next = t & 3
			if state == 4 {
				dist, n = 1+0x0800+(t>>2)+int(src[ip])<<2, 3
			} else {
				dist, n = 1+(t>>2)+int(src[ip])<<2, 2
			}
			ip++
		case t >= 64:
			if !need(1) {
				return nil, errLZO
			}
			next = t & 3
			dist = 1 + (t>>2)&7 + int(src[ip])<<3
			ip++
			n = t>>5 + 1
		case t >= 32:
			n = t&31 + 2
			if t&31 == 0 {
				var err error
				if n, err = extend(31); err != nil {
					return nil, err
				}
				n += 2
			}
			if !need(2) {
				return nil, errLZO
			}
			le := int(src[ip]) | int(src[ip+1])<<8
			ip += 2
			dist, next = 1+le>>2, le&3
		default: // 16..31: M4
			high := (t & 8) << 11
			n = t&7 + 2
			if t&7 == 0 {
				var err error
				if n, err = extend(7); err != nil {
					return nil, err
				}
				n += 2
			}
			if !need(2) {
				return nil, errLZO
			}
			le := int(src[ip]) | int(src[ip+1])<<8
			ip += 2
			dist, next = high+le>>2, le&3
			if dist == 0 {
				// End of stream: an M4 of distance 0x4000 (encoded 0) and
				// length 3, with nothing after it.
				if n != 3 || ip != len(src) {
					return nil, errLZO
				}
				return out, nil
			}
			dist += 0x4000
		}
		if err := copyMatch(dist, n); err != nil {
			return nil, err
		}
		state = next
		if err := lits(next); err != nil {
			return nil, err
		}
	}
}
