package pcmkipc

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	dsbzip2 "github.com/dsnet/compress/bzip2"
)

// Pacemaker's message over corosync CPG (lib/cluster/cpg.c
// send_cluster_text / pcmk_message_common_cs @2.1.5,
// shared/docs/pcmk-cpg-wire.md §3-4): a packed 592-byte header, then
// NUL-terminated XML text, bzip2-compressed from 128 KiB on.
//
//	off   0  qb response header: id 0 (crm_class_cluster), size, error 1
//	off  24  u32 id (per-process send counter from 1)
//	off  28  u32 is_compressed
//	off  32  host   {id, pid, local, type, size, uname[256]} (276 bytes)
//	off 308  sender (same layout; sender.id is 0 on the wire)
//	off 584  u32 size (uncompressed, NUL included)
//	off 588  u32 compressed_size
//	off 592  data
const CPGHeaderSize = 592

// CPGCompressThreshold is CRM_BZ2_THRESHOLD.
const CPGCompressThreshold = 128 * 1024

// Message types of the host/sender blocks (enum crm_ais_msg_types).
const (
	CPGTypeNone      = 0
	CPGTypeCIB       = 3
	CPGTypeCrmd      = 4
	CPGTypeAttrd     = 5
	CPGTypeStonithNG = 9
)

// CPGPeer is a host or sender block.
type CPGPeer struct {
	ID    uint32
	Pid   uint32
	Local bool
	Type  uint32
	Uname string
}

// CPGMessage is a decoded Pacemaker CPG message.
type CPGMessage struct {
	ID     uint32
	Host   CPGPeer
	Sender CPGPeer
	XML    []byte // without the NUL
}

// Errors returned by DecodeCPG.
var ErrCPGMessage = errors.New("pcmkipc: malformed Pacemaker CPG message")

func putPeer(b []byte, p CPGPeer) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], p.ID)
	le.PutUint32(b[4:], p.Pid)
	if p.Local {
		le.PutUint32(b[8:], 1)
	}
	le.PutUint32(b[12:], p.Type)
	u := p.Uname
	if len(u) > 255 {
		u = u[:255]
	}
	le.PutUint32(b[16:], uint32(len(u)))
	copy(b[20:276], u)
}

func getPeer(b []byte) (CPGPeer, error) {
	le := binary.LittleEndian
	p := CPGPeer{ID: le.Uint32(b[0:]), Pid: le.Uint32(b[4:]), Local: le.Uint32(b[8:]) != 0, Type: le.Uint32(b[12:])}
	n := le.Uint32(b[16:])
	if n > 256 {
		return p, fmt.Errorf("%w: uname length %d", ErrCPGMessage, n)
	}
	p.Uname = strings.TrimRight(string(b[20:20+n]), "\x00")
	return p, nil
}

// EncodeCPG builds the buffer a daemon multicasts (sender.id is left 0,
// as Pacemaker sends it; receivers take it from CPG).
func EncodeCPG(m CPGMessage) ([]byte, error) {
	data := append(append([]byte(nil), m.XML...), 0)
	size := uint32(len(data))
	var compressed uint32
	if len(data) >= CPGCompressThreshold {
		var buf bytes.Buffer
		w, err := dsbzip2.NewWriter(&buf, &dsbzip2.WriterConfig{Level: 4})
		if err == nil {
			w.Write(data)
			if err = w.Close(); err == nil {
				data = buf.Bytes()
				compressed = uint32(len(data))
			}
		}
	}
	b := make([]byte, CPGHeaderSize+len(data))
	le := binary.LittleEndian
	le.PutUint32(b[8:], uint32(len(b)))
	le.PutUint32(b[16:], 1)
	le.PutUint32(b[24:], m.ID)
	if compressed != 0 {
		le.PutUint32(b[28:], 1)
	}
	putPeer(b[32:], m.Host)
	s := m.Sender
	s.ID = 0
	putPeer(b[308:], s)
	le.PutUint32(b[584:], size)
	le.PutUint32(b[588:], compressed)
	copy(b[CPGHeaderSize:], data)
	return b, nil
}

// DecodeCPG parses a delivered buffer, checking what
// pcmk_message_common_cs checks (class, sizes, NUL termination), and
// decompresses it.
func DecodeCPG(b []byte) (CPGMessage, error) {
	var m CPGMessage
	if len(b) < CPGHeaderSize {
		return m, fmt.Errorf("%w: %d bytes", ErrCPGMessage, len(b))
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != 0 {
		return m, fmt.Errorf("%w: class %d", ErrCPGMessage, le.Uint32(b[0:]))
	}
	var err error
	if m.Host, err = getPeer(b[32:]); err != nil {
		return m, err
	}
	if m.Sender, err = getPeer(b[308:]); err != nil {
		return m, err
	}
	m.ID = le.Uint32(b[24:])
	size, csize := le.Uint32(b[584:]), le.Uint32(b[588:])
	body := b[CPGHeaderSize:]
	if le.Uint32(b[28:]) != 0 {
		if uint64(csize) > uint64(len(body)) || size == 0 || size > MaxUncompressed {
			return m, fmt.Errorf("%w: compressed %d of %d, size %d", ErrCPGMessage, csize, len(body), size)
		}
		out := make([]byte, size)
		n, err := io.ReadFull(bzip2.NewReader(bytes.NewReader(body[:csize])), out)
		if err != nil || uint32(n) != size {
			return m, fmt.Errorf("%w: bzip2: %v", ErrCPGMessage, err)
		}
		body = out
	} else {
		if size == 0 || uint64(size) > uint64(len(body)) {
			return m, fmt.Errorf("%w: size %d of %d", ErrCPGMessage, size, len(body))
		}
		body = body[:size]
	}
	if body[len(body)-1] != 0 || (len(body) > 1 && body[len(body)-2] == 0) {
		return m, fmt.Errorf("%w: data not NUL-terminated text", ErrCPGMessage)
	}
	m.XML = body[:len(body)-1]
	return m, nil
}

// ForUs applies the receiver's address filter (pcmk_message_common_cs):
// a message naming another node by id or by name is not ours.
func (m CPGMessage) ForUs(localID uint32, localName string) bool {
	if m.Host.ID != 0 && m.Host.ID != localID {
		return false
	}
	if m.Host.Uname != "" && !strings.EqualFold(m.Host.Uname, localName) {
		return false
	}
	return true
}
