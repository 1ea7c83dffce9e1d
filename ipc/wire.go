package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of libqb's fixed structures (libqb include/qb/qbipc_common.h and
// lib/ipc_int.h @v2.0.6, x86_64). Every field is aligned to 8 bytes.
const (
	// RequestHeaderSize is sizeof(struct qb_ipc_request_header): id i32 @0, size i32 @8.
	RequestHeaderSize = 16
	// ResponseHeaderSize is sizeof(struct qb_ipc_response_header): id @0, size @8, error @16.
	// Events use the same shape.
	ResponseHeaderSize = 24

	connRequestSize  = 24    // struct qb_ipc_connection_request
	connResponseSize = 12328 // struct qb_ipc_connection_response
	pathMax          = 4096  // PATH_MAX, the size of each string in the response
	nameMax          = 255   // libqb snprintf()s the three strings into NAME_MAX bytes

	// abstractNameMax is the longest abstract socket name libqb can express: it
	// snprintf()s the name into sun_path+1 with UNIX_PATH_MAX-1 = 107 bytes, so at
	// most 106 characters survive (lib/ipc_socket.c set_sock_addr).
	abstractNameMax = 106
)

// Reserved message ids (enum qb_ipc_type in qbipc_common.h).
const (
	MsgAuthenticate  int32 = -1 // the handshake
	MsgNewEventSock  int32 = -2 // legacy, never sent by libqb 2.x
	MsgDisconnect    int32 = -3 // a request with this id makes the server drop the client
	MsgUserStart     int32 = 0  // the first id a service may use
	maxReservedMsgID       = -1
)

// Transport is libqb's enum qb_ipc_type as it travels in the handshake response.
type Transport int32

const (
	// Socket is QB_IPC_SOCKET: requests, responses and events are unix datagrams.
	Socket Transport = 0
	// SHM is QB_IPC_SHM (also what QB_IPC_NATIVE means on Linux): three ring
	// buffers in files under /dev/shm, with wake-up bytes on the setup socket.
	SHM Transport = 1
)

func (t Transport) String() string {
	switch t {
	case Socket:
		return "socket"
	case SHM:
		return "shm"
	}
	return fmt.Sprintf("transport(%d)", int32(t))
}

// Errors reported by the decoders and by Conn/Client methods.
var (
	ErrShort        = errors.New("ipc: message shorter than its header")
	ErrBadSize      = errors.New("ipc: header size field disagrees with the message")
	ErrTooBig       = errors.New("ipc: message larger than the negotiated maximum")
	ErrBadHandshake = errors.New("ipc: malformed handshake")
	ErrClosed       = errors.New("ipc: connection closed")
	ErrQueueFull    = errors.New("ipc: outgoing queue full")
	ErrTimeout      = errors.New("ipc: timed out")
	ErrNotSupported = errors.New("ipc: transport not supported")
)

// RequestHeader is libqb's qb_ipc_request_header. Size is the total length of the
// message including the header.
type RequestHeader struct {
	ID   int32
	Size int32
}

// ResponseHeader is libqb's qb_ipc_response_header, used for responses and events.
// Error carries the service's status (for corosync services a cs_error_t, 1 = OK).
type ResponseHeader struct {
	ID    int32
	Size  int32
	Error int32
}

// ParseRequestHeader decodes the first 16 bytes of msg and checks that the size
// field is at least a header and no more than len(msg).
func ParseRequestHeader(msg []byte) (RequestHeader, error) {
	if len(msg) < RequestHeaderSize {
		return RequestHeader{}, ErrShort
	}
	h := RequestHeader{
		ID:   int32(binary.LittleEndian.Uint32(msg[0:])),
		Size: int32(binary.LittleEndian.Uint32(msg[8:])),
	}
	if h.Size < RequestHeaderSize || int64(h.Size) > int64(len(msg)) {
		return h, fmt.Errorf("%w: size %d, have %d bytes", ErrBadSize, h.Size, len(msg))
	}
	return h, nil
}

// ParseResponseHeader decodes the first 24 bytes of msg and checks the size field
// the same way ParseRequestHeader does.
func ParseResponseHeader(msg []byte) (ResponseHeader, error) {
	if len(msg) < ResponseHeaderSize {
		return ResponseHeader{}, ErrShort
	}
	h := ResponseHeader{
		ID:    int32(binary.LittleEndian.Uint32(msg[0:])),
		Size:  int32(binary.LittleEndian.Uint32(msg[8:])),
		Error: int32(binary.LittleEndian.Uint32(msg[16:])),
	}
	if h.Size < ResponseHeaderSize || int64(h.Size) > int64(len(msg)) {
		return h, fmt.Errorf("%w: size %d, have %d bytes", ErrBadSize, h.Size, len(msg))
	}
	return h, nil
}

// PutRequestHeader writes a request header into msg[0:16], zeroing the padding.
func PutRequestHeader(msg []byte, h RequestHeader) {
	clear(msg[:RequestHeaderSize])
	binary.LittleEndian.PutUint32(msg[0:], uint32(h.ID))
	binary.LittleEndian.PutUint32(msg[8:], uint32(h.Size))
}

// PutResponseHeader writes a response header into msg[0:24], zeroing the padding.
func PutResponseHeader(msg []byte, h ResponseHeader) {
	clear(msg[:ResponseHeaderSize])
	binary.LittleEndian.PutUint32(msg[0:], uint32(h.ID))
	binary.LittleEndian.PutUint32(msg[8:], uint32(h.Size))
	binary.LittleEndian.PutUint32(msg[16:], uint32(h.Error))
}

// NewRequest returns a zeroed request of total length 16+bodyLen with its header
// filled in (size = total length). The body starts at offset 16.
func NewRequest(id int32, bodyLen int) []byte {
	m := make([]byte, RequestHeaderSize+bodyLen)
	PutRequestHeader(m, RequestHeader{ID: id, Size: int32(len(m))})
	return m
}

// NewResponse returns a zeroed response or event of total length 24+bodyLen with
// its header filled in. The body starts at offset 24.
func NewResponse(id int32, errCode int32, bodyLen int) []byte {
	m := make([]byte, ResponseHeaderSize+bodyLen)
	PutResponseHeader(m, ResponseHeader{ID: id, Size: int32(len(m)), Error: errCode})
	return m
}

// connRequest is struct qb_ipc_connection_request (24 bytes).
type connRequest struct {
	ID         int32  // must be MsgAuthenticate
	Size       int32  // 24
	MaxMsgSize uint32 // the client's wish
}

func (r connRequest) marshal() []byte {
	b := make([]byte, connRequestSize)
	putI32(b[0:], r.ID)
	binary.LittleEndian.PutUint32(b[8:], uint32(r.Size))
	binary.LittleEndian.PutUint32(b[16:], r.MaxMsgSize)
	return b
}

// parseConnRequest decodes the 24-byte handshake request. libqb's server only
// looks at hdr.id (anything but -1 is closed without an answer) and
// max_msg_size; we also insist on exactly 24 bytes having arrived.
func parseConnRequest(b []byte) (connRequest, error) {
	if len(b) != connRequestSize {
		return connRequest{}, fmt.Errorf("%w: request is %d bytes, want %d", ErrBadHandshake, len(b), connRequestSize)
	}
	r := connRequest{
		ID:         int32(binary.LittleEndian.Uint32(b[0:])),
		Size:       int32(binary.LittleEndian.Uint32(b[8:])),
		MaxMsgSize: binary.LittleEndian.Uint32(b[16:]),
	}
	if r.ID != MsgAuthenticate {
		return r, fmt.Errorf("%w: request id %d, want %d", ErrBadHandshake, r.ID, MsgAuthenticate)
	}
	return r, nil
}

// connResponse is struct qb_ipc_connection_response (12328 bytes).
type connResponse struct {
	Error      int32 // 0 or a negative errno
	Type       Transport
	MaxMsgSize uint32
	Connection uint64 // opaque server cookie; clients ignore it
	Request    string // meaning depends on Type (see sock.go, shm.go)
	Response   string
	Event      string
}

func (r connResponse) marshal() []byte {
	b := make([]byte, connResponseSize)
	putI32(b[0:], MsgAuthenticate)
	binary.LittleEndian.PutUint32(b[8:], connResponseSize)
	binary.LittleEndian.PutUint32(b[16:], uint32(r.Error))
	if r.Error == 0 {
		binary.LittleEndian.PutUint32(b[24:], uint32(r.Type))
		binary.LittleEndian.PutUint32(b[28:], r.MaxMsgSize)
		binary.LittleEndian.PutUint64(b[32:], r.Connection)
		// Strings are NUL-terminated; longer ones were refused before this point.
		copy(b[40:40+pathMax-1], r.Request)
		copy(b[40+pathMax:40+2*pathMax-1], r.Response)
		copy(b[40+2*pathMax:40+3*pathMax-1], r.Event)
	}
	return b
}

func parseConnResponse(b []byte) (connResponse, error) {
	if len(b) != connResponseSize {
		return connResponse{}, fmt.Errorf("%w: response is %d bytes, want %d", ErrBadHandshake, len(b), connResponseSize)
	}
	id := int32(binary.LittleEndian.Uint32(b[0:]))
	size := int32(binary.LittleEndian.Uint32(b[8:]))
	if id != MsgAuthenticate || size != connResponseSize {
		return connResponse{}, fmt.Errorf("%w: response id %d size %d", ErrBadHandshake, id, size)
	}
	r := connResponse{
		Error:      int32(binary.LittleEndian.Uint32(b[16:])),
		Type:       Transport(int32(binary.LittleEndian.Uint32(b[24:]))),
		MaxMsgSize: binary.LittleEndian.Uint32(b[28:]),
		Connection: binary.LittleEndian.Uint64(b[32:]),
		Request:    cString(b[40 : 40+pathMax]),
		Response:   cString(b[40+pathMax : 40+2*pathMax]),
		Event:      cString(b[40+2*pathMax : 40+3*pathMax]),
	}
	return r, nil
}

// cString returns the bytes of b up to the first NUL (or all of b).
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// abstractAddr returns the Name for a net.UnixAddr / unix.SockaddrUnix that binds
// or connects to the abstract socket libqb uses for name: sun_path[0] = 0, the
// name (cut to 106 bytes, as libqb's snprintf does) and zeros up to the full
// 108 bytes, so that the address length is sizeof(struct sockaddr_un) = 110.
// To the kernel abstract names of different lengths differ, so the padding matters.
func abstractAddr(name string) string {
	if len(name) > abstractNameMax {
		name = name[:abstractNameMax]
	}
	b := make([]byte, 108)
	b[0] = '@'
	copy(b[1:], name)
	return string(b)
}

func putI32(b []byte, v int32) { binary.LittleEndian.PutUint32(b, uint32(v)) }
