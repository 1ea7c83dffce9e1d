// Package pcmkipc is Pacemaker's message framing on top of libqb IPC
// (lib/common/ipc_server.c, ipc_client.c, crmcommon_private.h @2.1.5,
// shared/docs/ipc-wire.md §4.1): every request, response and event is a
// 40-byte header followed by NUL-terminated XML text, optionally
// bzip2-compressed.
//
//	off  0  i32 qb.id     request counter / id of the request answered / event counter
//	off  8  i32 qb.size   40 + payload length
//	off 16  i32 qb.error  0
//	off 24  u32 size_uncompressed  strlen(xml)+1
//	off 28  u32 size_compressed    payload length when compressed, else 0
//	off 32  u32 flags     bit 0x1 compressed; the sender's send flags leak here
//	off 36  u8  version   1
package pcmkipc

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"syscall"

	dsbzip2 "github.com/dsnet/compress/bzip2"
)

// HeaderSize is the size of Pacemaker's IPC header.
const HeaderSize = 40

// Version is the only header version receivers accept.
const Version = 1

// Flag bits that appear in the header's flags field (enum crm_ipc_flags).
const (
	FlagCompressed     uint32 = 0x1
	FlagProxied        uint32 = 0x100
	FlagClientResponse uint32 = 0x200 // the client waits for a response
	FlagServerEvent    uint32 = 0x10000
	FlagServerFree     uint32 = 0x20000
)

// Header is the decoded 40-byte header.
type Header struct {
	ID               int32
	Size             int32
	Error            int32
	SizeUncompressed uint32
	SizeCompressed   uint32
	Flags            uint32
	Version          uint8
}

// Errors returned by Decode.
var (
	ErrShort       = errors.New("pcmkipc: message shorter than its header")
	ErrVersion     = errors.New("pcmkipc: unsupported header version")
	ErrSize        = errors.New("pcmkipc: sizes in header disagree with the message")
	ErrDecompress  = errors.New("pcmkipc: bad compressed payload")
	ErrNotTerminal = errors.New("pcmkipc: payload is not NUL-terminated text")
)

// MaxUncompressed bounds how much a compressed payload may claim to expand
// to, so that a hostile header cannot make us allocate without bound.
const MaxUncompressed = 64 << 20

// Decode parses a whole message and returns its header and XML text
// (without the trailing NUL), decompressing if needed.
func Decode(msg []byte) (Header, []byte, error) {
	if len(msg) < HeaderSize {
		return Header{}, nil, ErrShort
	}
	h := Header{
		ID:               int32(binary.LittleEndian.Uint32(msg[0:])),
		Size:             int32(binary.LittleEndian.Uint32(msg[8:])),
		Error:            int32(binary.LittleEndian.Uint32(msg[16:])),
		SizeUncompressed: binary.LittleEndian.Uint32(msg[24:]),
		SizeCompressed:   binary.LittleEndian.Uint32(msg[28:]),
		Flags:            binary.LittleEndian.Uint32(msg[32:]),
		Version:          msg[36],
	}
	if h.Version > Version {
		return h, nil, fmt.Errorf("%w: %d", ErrVersion, h.Version)
	}
	if h.Size < HeaderSize || int64(h.Size) > int64(len(msg)) {
		return h, nil, fmt.Errorf("%w: qb size %d, message %d bytes", ErrSize, h.Size, len(msg))
	}
	body := msg[HeaderSize:h.Size]
	if h.Flags&FlagCompressed != 0 {
		if int64(h.SizeCompressed) > int64(len(body)) || h.SizeUncompressed == 0 || h.SizeUncompressed > MaxUncompressed {
			return h, nil, fmt.Errorf("%w: compressed %d uncompressed %d, have %d", ErrSize, h.SizeCompressed, h.SizeUncompressed, len(body))
		}
		out := make([]byte, h.SizeUncompressed)
		r := bzip2.NewReader(bytes.NewReader(body[:h.SizeCompressed]))
		n, err := io.ReadFull(r, out)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return h, nil, fmt.Errorf("%w: %v", ErrDecompress, err)
		}
		body = out[:n]
	} else if int64(h.SizeUncompressed) <= int64(len(body)) && h.SizeUncompressed > 0 {
		body = body[:h.SizeUncompressed]
	}
	if i := bytes.IndexByte(body, 0); i >= 0 {
		body = body[:i]
	}
	return h, body, nil
}

// Encode builds a message carrying xml with the given qb id and flags. When
// the message would not fit the connection's maximum (max > 0), the payload
// is bzip2-compressed (block size 4, as CRM_BZ2_BLOCKS) like
// pcmk__ipc_prepare_iov; if even that does not fit, it fails (EMSGSIZE).
func Encode(id int32, flags uint32, xml []byte, max int) ([]byte, error) {
	total := HeaderSize + len(xml) + 1
	if max > 0 && total >= max {
		return encodeCompressed(id, flags, xml, max)
	}
	msg := make([]byte, total)
	putHeader(msg, id, total, uint32(len(xml)+1), 0, flags&^FlagCompressed)
	copy(msg[HeaderSize:], xml)
	return msg, nil
}

func putHeader(msg []byte, id int32, total int, uncompressed, compressed, flags uint32) {
	binary.LittleEndian.PutUint32(msg[0:], uint32(id))
	binary.LittleEndian.PutUint32(msg[8:], uint32(total))
	binary.LittleEndian.PutUint32(msg[24:], uncompressed)
	binary.LittleEndian.PutUint32(msg[28:], compressed)
	binary.LittleEndian.PutUint32(msg[32:], flags)
	msg[36] = Version
}

func encodeCompressed(id int32, flags uint32, xml []byte, max int) ([]byte, error) {
	var buf bytes.Buffer
	w, err := dsbzip2.NewWriter(&buf, &dsbzip2.WriterConfig{Level: 4})
	if err != nil {
		return nil, fmt.Errorf("pcmkipc: compress: %w", err)
	}
	w.Write(xml)
	w.Write([]byte{0}) // Pacemaker compresses the terminating NUL too
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("pcmkipc: compress: %w", err)
	}
	total := HeaderSize + buf.Len()
	if total > max {
		return nil, fmt.Errorf("pcmkipc: %d-byte message does not fit the connection maximum %d even compressed (%d): %w",
			HeaderSize+len(xml)+1, max, total, syscall.EMSGSIZE)
	}
	msg := make([]byte, total)
	putHeader(msg, id, total, uint32(len(xml)+1), uint32(buf.Len()), flags|FlagCompressed)
	copy(msg[HeaderSize:], buf.Bytes())
	return msg, nil
}
