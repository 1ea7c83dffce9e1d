package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// The corosync 2.3/2.4 datagram wrapper (exec/totemcrypto.c at v2.4.6), see
// docs/corosync2-crypto.md:
//
//	FE FE 00 00 | salt(16, cipher only) | ciphertext or plaintext | HMAC (hash only)
//
// Encrypt-then-MAC: CBC with PKCS#7 padding under the first key bytes of the
// authkey, IV = salt; the HMAC is keyed with the whole authkey and covers
// everything before it, header included. Neither algorithm is signalled on
// the wire, so both ends must be configured alike.

// Cipher is a 2.x crypto_cipher value.
type Cipher uint8

const (
	CipherNone Cipher = iota
	CipherAES256
	CipherAES192
	CipherAES128
	Cipher3DES // untested against a real peer (docs/corosync2-crypto.md §7)
)

// Hash is a 2.x crypto_hash value.
type Hash uint8

const (
	HashNone Hash = iota
	HashMD5
	HashSHA1
	HashSHA256
	HashSHA384
	HashSHA512
)

var cipherNames = map[string]Cipher{"none": CipherNone, "aes256": CipherAES256,
	"aes192": CipherAES192, "aes128": CipherAES128, "3des": Cipher3DES}
var hashNames = map[string]Hash{"none": HashNone, "md5": HashMD5, "sha1": HashSHA1,
	"sha256": HashSHA256, "sha384": HashSHA384, "sha512": HashSHA512}

// ParseCipher maps a corosync.conf crypto_cipher value.
func ParseCipher(s string) (Cipher, bool) { c, ok := cipherNames[s]; return c, ok }

// ParseHash maps a corosync.conf crypto_hash value.
func ParseHash(s string) (Hash, bool) { h, ok := hashNames[s]; return h, ok }

func (c Cipher) String() string {
	for k, v := range cipherNames {
		if v == c {
			return k
		}
	}
	return fmt.Sprintf("cipher(%d)", uint8(c))
}

func (h Hash) String() string {
	for k, v := range hashNames {
		if v == h {
			return k
		}
	}
	return fmt.Sprintf("hash(%d)", uint8(h))
}

func (c Cipher) keyLen() int {
	switch c {
	case CipherAES256:
		return 32
	case CipherAES192, Cipher3DES:
		return 24
	case CipherAES128:
		return 16
	}
	return 0
}

func (c Cipher) blockSize() int {
	switch c {
	case CipherNone:
		return 0
	case Cipher3DES:
		return des.BlockSize
	}
	return aes.BlockSize
}

func (h Hash) new() func() hash.Hash {
	switch h {
	case HashMD5:
		return md5.New
	case HashSHA1:
		return sha1.New
	case HashSHA256:
		return sha256.New
	case HashSHA384:
		return sha512.New384
	case HashSHA512:
		return sha512.New
	}
	return nil
}

// Size is the HMAC tag length (the full digest; corosync truncates nothing).
func (h Hash) Size() int {
	switch h {
	case HashMD5:
		return md5.Size
	case HashSHA1:
		return sha1.Size
	case HashSHA256:
		return sha256.Size
	case HashSHA384:
		return sha512.Size384
	case HashSHA512:
		return sha512.Size
	}
	return 0
}

const (
	cryptoHeaderSize = 4
	saltSize         = 16
	marker23         = 0xFE // CRYPTO_CIPHER_TYPE_2_3 / CRYPTO_HASH_TYPE_2_3
	// AuthKeyLen is what corosync 2.x reads from an authkey file.
	AuthKeyLen = 128
)

// Errors returned by Crypto.Open; wrapped with detail.
var (
	ErrCryptoShort    = errors.New("crypto: message too short")
	ErrCryptoMarker   = errors.New("crypto: not a corosync 2.3+ packet")
	ErrCryptoHashType = errors.New("crypto: different hash type")
	ErrCryptoDigest   = errors.New("crypto: digest does not match")
	ErrCryptoReserved = errors.New("crypto: features not supported by this version")
	ErrCryptoPadding  = errors.New("crypto: bad ciphertext length or padding")
	ErrCryptoConfig   = errors.New("crypto: invalid configuration")
)

// CryptoStats counts rejected datagrams by cause. Safe for concurrent use.
type CryptoStats struct {
	Short, Marker, Digest, Reserved, Padding atomic.Uint64
}

// Crypto wraps and unwraps 2.x datagrams for one (cipher, hash, key)
// configuration. Seal and Open are safe for concurrent use.
type Crypto struct {
	cipher  Cipher
	hash    Hash
	block   cipher.Block
	newHash func() hash.Hash
	hmacKey []byte
	macs    sync.Pool // of hash.Hash keyed with hmacKey; HMAC setup costs more than a token's MAC
	// Rand supplies the per-packet salt; crypto/rand when nil.
	Rand  io.Reader
	Stats CryptoStats
}

// NewCrypto prepares a wrapper. key is the authkey as corosync reads it: the
// first AuthKeyLen bytes of the key file (callers pass exactly what was
// read; a totem.key from cmap is used at its own length). The cipher key is
// the first 16/24/32 key bytes, zero-padded if the key is shorter; the HMAC
// key is the whole key (no derivation, docs/corosync2-crypto.md §3).
func NewCrypto(c Cipher, h Hash, key []byte) (*Crypto, error) {
	if c > Cipher3DES || h > HashSHA512 {
		return nil, fmt.Errorf("%w: cipher %d hash %d", ErrCryptoConfig, c, h)
	}
	if c != CipherNone && h == HashNone {
		// totemconfig.c: "crypto_cipher requires crypto_hash with value other than none"
		return nil, fmt.Errorf("%w: crypto_cipher requires crypto_hash with value other than none", ErrCryptoConfig)
	}
	if (c != CipherNone || h != HashNone) && len(key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrCryptoConfig)
	}
	if len(key) > AuthKeyLen {
		key = key[:AuthKeyLen]
	}
	cr := &Crypto{cipher: c, hash: h, newHash: h.new()}
	if h != HashNone {
		cr.hmacKey = append([]byte(nil), key...)
	}
	if c != CipherNone {
		k := make([]byte, c.keyLen())
		copy(k, key)
		var err error
		if c == Cipher3DES {
			cr.block, err = des.NewTripleDESCipher(k)
		} else {
			cr.block, err = aes.NewCipher(k)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCryptoConfig, err)
		}
	}
	return cr, nil
}

// Overhead is what corosync 2.x subtracts from netmtu for the wrapper
// (crypto_sec_header_size): header + tag + (salt + two cipher blocks).
func (c *Crypto) Overhead() int {
	n := cryptoHeaderSize + c.hash.Size()
	if c.cipher != CipherNone {
		n += saltSize + 2*c.cipher.blockSize()
	}
	return n
}

// SealedLen is the wire length of a wrapped plaintext of n bytes.
func (c *Crypto) SealedLen(n int) int {
	l := cryptoHeaderSize + c.hash.Size()
	if c.cipher != CipherNone {
		b := c.cipher.blockSize()
		l += saltSize + b*(n/b+1)
	} else {
		l += n
	}
	return l
}

// Seal appends the wrapped form of plain to dst.
func (c *Crypto) Seal(dst, plain []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, marker23, marker23, 0, 0)
	if c.cipher == CipherNone {
		dst = append(dst, plain...)
	} else {
		bs := c.cipher.blockSize()
		var salt [saltSize]byte
		r := c.Rand
		if r == nil {
			r = rand.Reader
		}
		if _, err := io.ReadFull(r, salt[:]); err != nil {
			return dst[:start], fmt.Errorf("crypto: salt: %w", err)
		}
		dst = append(dst, salt[:]...)
		pad := bs - len(plain)%bs
		ctStart := len(dst)
		dst = append(dst, plain...)
		for i := 0; i < pad; i++ {
			dst = append(dst, byte(pad))
		}
		// A 3DES IV is one 8-byte block: the first half of the salt.
		cipher.NewCBCEncrypter(c.block, salt[:bs]).CryptBlocks(dst[ctStart:], dst[ctStart:])
	}
	if c.hash != HashNone {
		mac := c.getMAC()
		mac.Write(dst[start:])
		dst = mac.Sum(dst)
		c.macs.Put(mac)
	}
	return dst, nil
}

// Open checks and unwraps one received datagram, in corosync 2.x's order
// (docs/corosync2-crypto.md §5), and appends the SRP message to dst. b is
// not modified. Every rejection is counted in Stats.
func (c *Crypto) Open(dst, b []byte) ([]byte, error) {
	if len(b) <= cryptoHeaderSize {
		c.Stats.Short.Add(1)
		return dst, fmt.Errorf("%w: %d bytes", ErrCryptoShort, len(b))
	}
	if b[0] != marker23 {
		c.Stats.Marker.Add(1)
		return dst, fmt.Errorf("%w: %s", ErrCryptoMarker, guessSender2(b))
	}
	if b[1] != marker23 {
		c.Stats.Marker.Add(1)
		return dst, fmt.Errorf("%w: %#02x", ErrCryptoHashType, b[1])
	}
	if hs := c.hash.Size(); hs > 0 {
		if len(b) <= hs {
			c.Stats.Short.Add(1)
			return dst, fmt.Errorf("%w: %d bytes with a %d-byte digest", ErrCryptoShort, len(b), hs)
		}
		body, tag := b[:len(b)-hs], b[len(b)-hs:]
		mac := c.getMAC()
		mac.Write(body)
		var sum [64]byte
		ok := subtle.ConstantTimeCompare(mac.Sum(sum[:0]), tag) == 1
		c.macs.Put(mac)
		if !ok {
			c.Stats.Digest.Add(1)
			return dst, ErrCryptoDigest
		}
		b = body
	}
	if len(b) < cryptoHeaderSize {
		// Only an authentic (correctly keyed) sender can get here.
		c.Stats.Short.Add(1)
		return dst, fmt.Errorf("%w: %d bytes before the digest", ErrCryptoShort, len(b))
	}
	if b[2] != 0 || b[3] != 0 {
		c.Stats.Reserved.Add(1)
		return dst, fmt.Errorf("%w: reserved bytes %02x%02x", ErrCryptoReserved, b[2], b[3])
	}
	b = b[cryptoHeaderSize:]
	if c.cipher == CipherNone {
		return append(dst, b...), nil
	}
	bs := c.cipher.blockSize()
	if len(b) < saltSize+bs || (len(b)-saltSize)%bs != 0 {
		c.Stats.Padding.Add(1)
		return dst, fmt.Errorf("%w: %d bytes after the header", ErrCryptoPadding, len(b))
	}
	salt, ct := b[:saltSize], b[saltSize:]
	start := len(dst)
	dst = append(dst, ct...)
	pt := dst[start:]
	cipher.NewCBCDecrypter(c.block, salt[:bs]).CryptBlocks(pt, pt)
	pad := int(pt[len(pt)-1])
	ok := pad >= 1 && pad <= bs
	if ok {
		for _, v := range pt[len(pt)-pad:] {
			ok = ok && int(v) == pad
		}
	}
	if !ok {
		c.Stats.Padding.Add(1)
		return dst[:start], fmt.Errorf("%w: pad byte %d", ErrCryptoPadding, pad)
	}
	return dst[:len(dst)-pad], nil
}

// guessSender2 names the probable origin of a datagram without the 2.3+
// marker, with corosync 2.4's guesses.
func guessSender2(b []byte) string {
	switch {
	case len(b) >= 2 && ((b[0] == 0xC0 && b[1] == 0x70) || (b[0] == 0x70 && b[1] == 0xC0)):
		return "Corosync 3.x"
	case b[0] == 0xFF:
		return "Corosync 2.2"
	case b[0] == 0x01:
		return "unencrypted Kronosnet"
	case b[0] <= 5:
		return "unencrypted Corosync 2.0/2.1/1.x/OpenAIS"
	}
	return "encrypted Kronosnet/Corosync 2.0/2.1/1.x/OpenAIS or unknown"
}

func (c *Crypto) newMAC() hash.Hash { return hmac.New(c.newHash, c.hmacKey) }

func (c *Crypto) getMAC() hash.Hash {
	if m, ok := c.macs.Get().(hash.Hash); ok {
		m.Reset()
		return m
	}
	return c.newMAC()
}
