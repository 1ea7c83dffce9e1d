package knet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// Crypto framing (knet-wire.md §5, libknet crypto_nss.c / crypto_openssl.c, which
// produce identical bytes):
//
//	cipher and hash:  salt(16) ‖ AES-CBC(key[:n], iv=salt, PKCS#7(packet)) ‖ HMAC(authkey, salt‖ct)
//	hash only:        packet ‖ HMAC(authkey, packet)
//
// The AES key is the first 16/24/32 bytes of the authkey; the HMAC key is the whole
// authkey. No key derivation.

// Errors from Open. Receivers drop such packets and count them.
var (
	ErrDigest  = errors.New("knet: digest does not match")
	ErrPadding = errors.New("knet: bad padding")
	ErrCrypto  = errors.New("knet: packet too short for its crypto framing")
)

// SaltSize is the per-packet random IV length.
const SaltSize = 16

// CryptoConfig names the algorithms, as corosync.conf's crypto_cipher / crypto_hash.
type CryptoConfig struct {
	Cipher string // none, aes128, aes192, aes256
	Hash   string // none, md5, sha1, sha256, sha384, sha512
}

// Enabled reports whether any crypto is in use.
func (c CryptoConfig) Enabled() bool {
	return (c.Cipher != "" && c.Cipher != "none") || (c.Hash != "" && c.Hash != "none")
}

var hashes = map[string]struct {
	new  func() hash.Hash
	size int
}{
	"md5": {md5.New, 16}, "sha1": {sha1.New, 20}, "sha256": {sha256.New, 32},
	"sha384": {sha512.New384, 48}, "sha512": {sha512.New, 64},
}

var cipherKeyLen = map[string]int{"aes128": 16, "aes192": 24, "aes256": 32}

// Crypto seals and opens packets for one configuration and key. It is safe for
// concurrent use.
type Crypto struct {
	cfg     CryptoConfig
	block   cipher.Block // nil without cipher
	newHash func() hash.Hash
	macSize int
	key     []byte
	macs    sync.Pool // of hash.Hash: HMAC states keyed with key, reused per packet
}

// mac returns a reset HMAC state; put it back with c.macs.Put.
func (c *Crypto) mac() hash.Hash {
	if m, ok := c.macs.Get().(hash.Hash); ok {
		m.Reset()
		return m
	}
	return hmac.New(c.newHash, c.key)
}

// MinKeySize and MaxKeySize bound the authkey as corosync does.
const (
	MinKeySize = 128
	MaxKeySize = 4096
)

// NewCrypto prepares a configuration. Like corosync, it refuses a cipher without a
// hash; a configuration with neither returns a Crypto that passes packets through.
func NewCrypto(cfg CryptoConfig, authkey []byte) (*Crypto, error) {
	if cfg.Cipher == "" {
		cfg.Cipher = "none"
	}
	if cfg.Hash == "" {
		cfg.Hash = "none"
	}
	c := &Crypto{cfg: cfg}
	if !cfg.Enabled() {
		return c, nil
	}
	if len(authkey) < MinKeySize || len(authkey) > MaxKeySize {
		return nil, fmt.Errorf("knet: authkey of %d bytes (want %d..%d)", len(authkey), MinKeySize, MaxKeySize)
	}
	c.key = append([]byte(nil), authkey...)
	if cfg.Hash != "none" {
		h, ok := hashes[cfg.Hash]
		if !ok {
			return nil, fmt.Errorf("knet: unknown crypto_hash %q", cfg.Hash)
		}
		c.newHash, c.macSize = h.new, h.size
	}
	if cfg.Cipher != "none" {
		n, ok := cipherKeyLen[cfg.Cipher]
		if !ok {
			return nil, fmt.Errorf("knet: unknown crypto_cipher %q", cfg.Cipher)
		}
		if c.newHash == nil {
			return nil, fmt.Errorf("knet: crypto_cipher %s requires a crypto_hash", cfg.Cipher)
		}
		block, err := aes.NewCipher(c.key[:n])
		if err != nil {
			return nil, err
		}
		c.block = block
	}
	return c, nil
}

// Config returns the configuration.
func (c *Crypto) Config() CryptoConfig { return c.cfg }

// Enabled reports whether packets are transformed at all.
func (c *Crypto) Enabled() bool { return c.block != nil || c.newHash != nil }

// Overhead returns how many bytes sealing adds to a packet of n bytes.
func (c *Crypto) Overhead(n int) int {
	o := c.macSize
	if c.block != nil {
		o += SaltSize + aes.BlockSize - n%aes.BlockSize
	}
	return o
}

// Seal appends the wire form of the clear packet to dst. salt is the IV (fresh
// random bytes per packet; the caller supplies them so that sealing is deterministic
// and testable); it is ignored without a cipher.
func (c *Crypto) Seal(dst, packet []byte, salt *[SaltSize]byte) []byte {
	out, _ := c.seal(dst, salt, func(b []byte) []byte { return append(b, packet...) })
	return out
}

// SealPacket is Seal for a packet encoded straight into dst (one copy less);
// it also returns the clear packet's length.
func (c *Crypto) SealPacket(dst []byte, p Packet, salt *[SaltSize]byte) ([]byte, int) {
	return c.seal(dst, salt, p.AppendTo)
}

func (c *Crypto) seal(dst []byte, salt *[SaltSize]byte, appendPacket func([]byte) []byte) ([]byte, int) {
	if !c.Enabled() {
		n := len(dst)
		dst = appendPacket(dst)
		return dst, len(dst) - n
	}
	start := len(dst)
	var plain int
	if c.block != nil {
		dst = append(dst, salt[:]...)
		ctStart := len(dst)
		dst = appendPacket(dst)
		plain = len(dst) - ctStart
		pad := aes.BlockSize - plain%aes.BlockSize
		for i := 0; i < pad; i++ {
			dst = append(dst, byte(pad))
		}
		cipher.NewCBCEncrypter(c.block, salt[:]).CryptBlocks(dst[ctStart:], dst[ctStart:])
	} else {
		dst = appendPacket(dst)
		plain = len(dst) - start
	}
	if c.newHash != nil {
		m := c.mac()
		m.Write(dst[start:])
		dst = m.Sum(dst)
		c.macs.Put(m)
	}
	return dst, plain
}

// Open authenticates and decrypts one datagram and returns the clear packet (a new
// slice; wire is not modified). The checks run in libknet's order: length, HMAC,
// then decryption and padding.
func (c *Crypto) Open(wire []byte) ([]byte, error) {
	if !c.Enabled() {
		return wire, nil
	}
	return c.OpenTo(nil, wire)
}

// OpenTo is Open appending the clear packet to dst, so that a receiver can
// reuse its buffers. Without crypto the packet is copied.
func (c *Crypto) OpenTo(dst, wire []byte) ([]byte, error) {
	body := wire
	if c.newHash != nil {
		if len(wire) <= c.macSize || len(wire)-c.macSize > MaxPacket {
			return nil, ErrCrypto
		}
		body = wire[:len(wire)-c.macSize]
		m := c.mac()
		m.Write(body)
		var sum [64]byte
		ok := hmac.Equal(m.Sum(sum[:0]), wire[len(body):])
		c.macs.Put(m)
		if !ok {
			return nil, ErrDigest
		}
	}
	if c.block == nil {
		return append(dst, body...), nil
	}
	if len(body) < SaltSize+aes.BlockSize || (len(body)-SaltSize)%aes.BlockSize != 0 {
		return nil, ErrCrypto
	}
	start := len(dst)
	dst = append(dst, body[SaltSize:]...)
	pt := dst[start:]
	cipher.NewCBCDecrypter(c.block, body[:SaltSize]).CryptBlocks(pt, pt)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, ErrPadding
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, ErrPadding
		}
	}
	return dst[:len(dst)-pad], nil
}
