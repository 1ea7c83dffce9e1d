package knet

import (
	"bytes"
	"compress/bzip2"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	dsbzip2 "github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Compression (knet-wire.md §6; libknet compress.c, compress_*.c, threads_tx.c,
// threads_rx.c). A sender with a model configured compresses a whole message
// longer than the threshold before fragmentation and encryption, keeps the
// result only when it is smaller, and writes the model id in DATA byte 8. A
// receiver decompresses the reassembled message with the model named in the
// packet, whatever its own setting. Only DATA is ever compressed.
//
// What each model is on the wire (one call of the C library per message):
//
//	zlib   compress2/uncompress: a zlib stream (RFC 1950)
//	lz4    LZ4_compress_fast / LZ4_decompress_safe: one raw LZ4 block, no frame
//	lz4hc  LZ4_compress_HC: the same raw block format as lz4
//	lzo2   lzo1x_*_compress: raw LZO1X; we decompress it (lzo.go) but do not send it
//	lzma   lzma_easy_buffer_encode(check none): an .xz stream, not .lzma
//	bzip2  BZ2_bzBuffToBuffCompress: a bzip2 stream
//	zstd   ZSTD_compressCCtx: one zstd frame
//
// The Compressor is pure computation: no clock, no I/O. The driver times it.

// CompressModel is a compression model id as carried in DATA byte 8. The ids are
// fixed by libknet's compress_modules_cmds table.
type CompressModel uint8

const (
	CompressNone  CompressModel = 0
	CompressZlib  CompressModel = 1
	CompressLZ4   CompressModel = 2
	CompressLZ4HC CompressModel = 3
	CompressLZO2  CompressModel = 4
	CompressLZMA  CompressModel = 5
	CompressBzip2 CompressModel = 6
	CompressZstd  CompressModel = 7
)

var compressNames = [...]string{"none", "zlib", "lz4", "lz4hc", "lzo2", "lzma", "bzip2", "zstd"}

func (m CompressModel) String() string {
	if int(m) < len(compressNames) {
		return compressNames[m]
	}
	return fmt.Sprintf("model(%d)", uint8(m))
}

// ParseCompressModel reads knet_compression_model ("none" or a model name).
func ParseCompressModel(s string) (CompressModel, error) {
	if s == "" {
		return CompressNone, nil
	}
	for i, n := range compressNames {
		if n == s {
			return CompressModel(i), nil
		}
	}
	return 0, fmt.Errorf("knet: compress model %s not supported", s)
}

// CanCompress reports whether this implementation can send with model m.
func (m CompressModel) CanCompress() bool {
	return m != CompressNone && m != CompressLZO2 && int(m) < len(compressNames)
}

// CanDecompress reports whether this implementation accepts messages
// compressed with model m: every model libknet 1.25 has.
func (m CompressModel) CanDecompress() bool {
	return m.CanCompress() || m == CompressLZO2
}

// DefaultCompressThreshold is KNET_COMPRESS_THRESHOLD: a configured threshold of
// 0 means this many bytes. Messages of at most the threshold go uncompressed.
const DefaultCompressThreshold = 100

// decompressLimit is KNET_DATABUFSIZE (KNET_MAX_PACKET_SIZE + KNET_HEADER_ALL_SIZE),
// the size of libknet's decompression buffer: nothing larger can come out.
const decompressLimit = MaxPacket + HeaderAllSize

// CompressConfig is corosync's totem.knet_compression_{model,threshold,level}.
type CompressConfig struct {
	Model     CompressModel
	Threshold int // 0: DefaultCompressThreshold
	Level     int
}

// Errors from compression set-up and decompression.
var (
	ErrCompressModel = errors.New("knet: compression model not supported")
	ErrDecompress    = errors.New("knet: unable to decompress packet")
)

// Compressor compresses outgoing messages with one model and decompresses
// incoming ones with any supported model. It is not safe for concurrent use.
type Compressor struct {
	cfg       CompressConfig
	buf       bytes.Buffer
	lz4       lz4.CompressorCCompat
	lz4hc     lz4.CompressorHC
	zlib      *zlib.Writer
	zlibLevel int
	zenc      *zstd.Encoder
	zdec      *zstd.Decoder
	out       []byte
}

// NewCompressor prepares cfg as libknet's compress_cfg does: the threshold is
// checked against KNET_MAX_PACKET_SIZE and 0 becomes the default; then a test
// buffer of zeros is compressed at the configured level, and a level that
// yields nothing smaller is replaced with the model's default (warning is then
// libknet's "Requested compression level (N) did not work, switching to
// default (M)"). A level the library refuses is an error, as it is for
// knet_handle_compress; corosync logs it and runs without compression.
func NewCompressor(cfg CompressConfig) (c *Compressor, warning string, err error) {
	c = &Compressor{cfg: cfg}
	if cfg.Model == CompressNone {
		return c, "", nil
	}
	if !cfg.Model.CanCompress() {
		return nil, "", fmt.Errorf("%w: compress model %v support has not been built in", ErrCompressModel, cfg.Model)
	}
	if cfg.Threshold > MaxPacket {
		return nil, "", fmt.Errorf("knet: compress threshold cannot be higher than KNET_MAX_PACKET_SIZE (%d)", MaxPacket)
	}
	if cfg.Threshold <= 0 {
		c.cfg.Threshold = DefaultCompressThreshold
	}
	test := make([]byte, decompressLimit)
	out, err := c.compress(test)
	if err != nil {
		return nil, "", fmt.Errorf("knet: compress level %d not supported for model %v: %w", cfg.Level, cfg.Model, err)
	}
	if len(out) >= len(test) {
		def := defaultLevel(cfg.Model)
		warning = fmt.Sprintf("Requested compression level (%d) did not work, switching to default (%d)", cfg.Level, def)
		c.cfg.Level = def
		c.zenc = nil
		if out, err = c.compress(test); err != nil {
			return nil, "", fmt.Errorf("knet: compress with default level: %w", err)
		}
	}
	back, err := c.Decompress(cfg.Model, out)
	if err != nil || !bytes.Equal(back, test) {
		return nil, "", fmt.Errorf("knet: %v test buffer does not survive decompression: %v", cfg.Model, err)
	}
	return c, warning, nil
}

// defaultLevel is each library's own default (Z_DEFAULT_COMPRESSION,
// LZ4_COMPRESS_DEFAULT, LZ4HC_CLEVEL_DEFAULT, LZMA_PRESET_DEFAULT, bzip2's 9 is
// not offered by libknet but is the library's best, ZSTD_CLEVEL_DEFAULT).
func defaultLevel(m CompressModel) int {
	switch m {
	case CompressZlib:
		return -1
	case CompressLZ4:
		return 1
	case CompressLZ4HC:
		return 9
	case CompressLZMA:
		return 6
	case CompressBzip2:
		return 9
	case CompressZstd:
		return 3
	}
	return 0
}

// Config returns the configuration in effect (threshold and level after the
// defaults were applied).
func (c *Compressor) Config() CompressConfig { return c.cfg }

// Compress returns the bytes to send for msg and the model id to put in the
// DATA header: the compressed form when a model is configured, msg is longer
// than the threshold and the result is smaller; otherwise msg itself and 0.
// tried reports whether compression ran (libknet counts tx_compressed_packets
// for every successful run, even when the result is discarded).
func (c *Compressor) Compress(msg []byte) (out []byte, model CompressModel, tried bool) {
	if c == nil || c.cfg.Model == CompressNone || len(msg) <= c.cfg.Threshold {
		return msg, CompressNone, false
	}
	z, err := c.compress(msg)
	if err != nil {
		return msg, CompressNone, false
	}
	if len(z) >= len(msg) {
		return msg, CompressNone, true
	}
	return z, c.cfg.Model, true
}

// compress runs the configured model over src. The result may alias an
// internal buffer, valid until the next call.
func (c *Compressor) compress(src []byte) ([]byte, error) {
	c.buf.Reset()
	switch c.cfg.Model {
	case CompressZlib:
		if c.zlib == nil || c.zlibLevel != c.cfg.Level {
			w, err := zlib.NewWriterLevel(&c.buf, c.cfg.Level)
			if err != nil {
				return nil, err
			}
			c.zlib, c.zlibLevel = w, c.cfg.Level
		}
		c.zlib.Reset(&c.buf)
		c.zlib.Write(src)
		if err := c.zlib.Close(); err != nil {
			return nil, err
		}
	case CompressLZ4, CompressLZ4HC:
		if cap(c.out) < lz4.CompressBlockBound(len(src)) {
			c.out = make([]byte, lz4.CompressBlockBound(max(len(src), decompressLimit)))
		}
		dst := c.out[:lz4.CompressBlockBound(len(src))]
		var n int
		var err error
		if c.cfg.Model == CompressLZ4 {
			c.lz4.Acceleration = c.cfg.Level // LZ4_compress_fast's acceleration; < 1 means 1
			n, err = c.lz4.CompressBlock(src, dst)
		} else {
			c.lz4hc.Level = lz4hcLevel(c.cfg.Level)
			n, err = c.lz4hc.CompressBlock(src, dst)
		}
		if err != nil {
			return nil, err
		}
		if n == 0 { // incompressible: LZ4 reports "unable to compress" as 0
			return src, nil
		}
		return dst[:n], nil
	case CompressLZMA:
		if c.cfg.Level < 0 || c.cfg.Level > 9 {
			return nil, fmt.Errorf("lzma preset %d", c.cfg.Level)
		}
		// LZMA_CHECK_NONE; the dictionary of the preset is far larger than a
		// message, so the library default serves every level.
		w, err := xz.WriterConfig{NoCheckSum: true, DictCap: 1 << 17}.NewWriter(&c.buf)
		if err != nil {
			return nil, err
		}
		w.Write(src)
		if err := w.Close(); err != nil {
			return nil, err
		}
	case CompressBzip2:
		if c.cfg.Level < 1 || c.cfg.Level > 9 {
			return nil, fmt.Errorf("bzip2 block size %d", c.cfg.Level)
		}
		w, err := dsbzip2.NewWriter(&c.buf, &dsbzip2.WriterConfig{Level: c.cfg.Level})
		if err != nil {
			return nil, err
		}
		w.Write(src)
		if err := w.Close(); err != nil {
			return nil, err
		}
	case CompressZstd:
		if c.zenc == nil {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(c.cfg.Level)),
				zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<17), zstd.WithLowerEncoderMem(true))
			if err != nil {
				return nil, err
			}
			c.zenc = enc
		}
		c.out = c.zenc.EncodeAll(src, c.out[:0])
		return c.out, nil
	default:
		return nil, fmt.Errorf("%w: %v", ErrCompressModel, c.cfg.Model)
	}
	return c.buf.Bytes(), nil
}

// lz4hcLevel maps LZ4HC's level (1..12, <1 meaning the default 9) to the Go
// library's search depths (Level1..Level9).
func lz4hcLevel(level int) lz4.CompressionLevel {
	if level < 1 {
		level = 9
	}
	if level > 9 {
		level = 9
	}
	return lz4.CompressionLevel(1 << (8 + level))
}

// Decompress expands a message compressed with model into a new slice. Its
// size is bounded by libknet's decompression buffer: anything that would grow
// beyond it is refused, so a hostile packet cannot make us allocate more.
func (c *Compressor) Decompress(model CompressModel, src []byte) ([]byte, error) {
	if !model.CanDecompress() {
		if int(model) >= len(compressNames) {
			return nil, fmt.Errorf("%w: unknown compress model %d", ErrDecompress, model)
		}
		return nil, fmt.Errorf("%w: compressed with %v but support is not built in", ErrDecompress, model)
	}
	var r io.Reader
	switch model {
	case CompressZlib:
		zr, err := zlib.NewReader(bytes.NewReader(src))
		if err != nil {
			return nil, fmt.Errorf("%w: zlib: %v", ErrDecompress, err)
		}
		r = zr
	case CompressLZ4, CompressLZ4HC:
		dst := make([]byte, decompressLimit)
		n, err := lz4.UncompressBlock(src, dst)
		if err != nil {
			return nil, fmt.Errorf("%w: lz4: %v", ErrDecompress, err)
		}
		return dst[:n:n], nil
	case CompressLZMA:
		// The decoder allocates the larger of this and the dictionary the
		// stream declares: ask for the minimum so that only what the
		// sender's preset declares is allocated (liblzma's presets 0..9:
		// 256 KiB..64 MiB), not 8 MiB per message on top.
		xr, err := xz.ReaderConfig{SingleStream: true, DictCap: lzma.MinDictCap}.NewReader(bytes.NewReader(src))
		if err != nil {
			return nil, fmt.Errorf("%w: lzma: %v", ErrDecompress, err)
		}
		r = xr
	case CompressBzip2:
		r = bzip2.NewReader(bytes.NewReader(src))
	case CompressLZO2:
		out, err := lzoDecompress(src, decompressLimit)
		if err != nil {
			return nil, fmt.Errorf("%w: lzo2: %v", ErrDecompress, err)
		}
		return out, nil
	case CompressZstd:
		if c == nil || c.zdec == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxMemory(decompressLimit), zstd.WithDecoderMaxWindow(1<<20))
			if err != nil {
				return nil, err
			}
			if c == nil {
				defer d.Close()
			} else {
				c.zdec = d
			}
			return zstdDecode(d, src)
		}
		return zstdDecode(c.zdec, src)
	}
	out, err := io.ReadAll(io.LimitReader(r, decompressLimit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v: %v", ErrDecompress, model, err)
	}
	if len(out) > decompressLimit {
		return nil, fmt.Errorf("%w: %v: more than %d bytes", ErrDecompress, model, decompressLimit)
	}
	return out, nil
}

func zstdDecode(d *zstd.Decoder, src []byte) ([]byte, error) {
	out, err := d.DecodeAll(src, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrDecompress, err)
	}
	return out, nil
}
