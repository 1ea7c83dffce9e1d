package cmap

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"ringmaster/conf"
)

// The cmap IPC messages of corosync 3.1.7 (include/corosync/ipc_cmap.h), laid out
// as docs/ipc-wire.md §3.1 describes. Every message starts with libqb's header:
// requests with {id i32 @0, size i32 @8} (16 bytes), responses and events with
// {id @0, size @8, error @16} (24 bytes). Fields are aligned to 8; we write zeros in
// every gap, and never read them.

// Request ids (enum req_cmap_types).
const (
	ReqSet           int32 = 0
	ReqDelete        int32 = 1
	ReqGet           int32 = 2
	ReqAdjustInt     int32 = 3
	ReqIterInit      int32 = 4
	ReqIterNext      int32 = 5
	ReqIterFinalize  int32 = 6
	ReqTrackAdd      int32 = 7
	ReqTrackDelete   int32 = 8
	ReqSetCurrentMap int32 = 9
	numRequests            = 10
)

// Response ids (enum res_cmap_types). Note that SET_CURRENT_MAP answers with 10;
// 9 is the notify event.
const (
	ResSet           int32 = 0
	ResDelete        int32 = 1
	ResGet           int32 = 2
	ResAdjustInt     int32 = 3
	ResIterInit      int32 = 4
	ResIterNext      int32 = 5
	ResIterFinalize  int32 = 6
	ResTrackAdd      int32 = 7
	ResTrackDelete   int32 = 8
	ResNotify        int32 = 9
	ResSetCurrentMap int32 = 10
)

// Map selects the map of a connection (CMAP_SETMAP_*).
type Map int32

const (
	MapICMap Map = 0
	MapStats Map = 1
)

// Sizes of the fixed layouts.
const (
	reqHeaderSize  = 16
	resHeaderSize  = 24
	nameSize       = 264 // mar_name_t: length u16 @0, value[256] @8
	nameValueSize  = 256
	setFixedSize   = 296 // + value
	deleteSize     = 280
	getReqSize     = 288
	getResFixed    = 40 // + requested value_len
	adjustSize     = 288
	iterInitSize   = 280
	handleReqSize  = 24 // ITER_NEXT, ITER_FINALIZE, TRACK_DELETE, SET_CURRENT_MAP
	handleResSize  = 32 // ITER_INIT, TRACK_ADD, TRACK_DELETE responses
	iterNextRes    = 304
	trackAddSize   = 296
	notifyFixed    = 336 // + new value + old value
	maxRequestSize = setFixedSize + MaxValueLen + 1
)

// Name is a mar_name_t as corosync reads it: Len is the length field, Value the
// C string in the 256-byte buffer (corosync ignores Len except to tell an empty
// prefix/track key from a given one).
type Name struct {
	Len   uint16
	Value string
}

// NameOf returns the Name a libcmap client sends for s.
func NameOf(s string) Name { return Name{Len: uint16(len(s)), Value: s} }

func putName(b []byte, n Name) {
	binary.LittleEndian.PutUint16(b[0:], n.Len)
	copy(b[8:8+nameValueSize], n.Value)
}

func getName(b []byte) Name {
	v := b[8 : 8+nameValueSize]
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return Name{Len: binary.LittleEndian.Uint16(b[0:]), Value: string(v)}
}

func putReqHeader(b []byte, id int32) {
	binary.LittleEndian.PutUint32(b[0:], uint32(id))
	binary.LittleEndian.PutUint32(b[8:], uint32(len(b)))
}

func putResHeader(b []byte, id int32, e Error) {
	binary.LittleEndian.PutUint32(b[0:], uint32(id))
	binary.LittleEndian.PutUint32(b[8:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[16:], uint32(e))
}

// Header is the part of a libqb header that every message has.
type Header struct {
	ID    int32
	Size  int32
	Error Error // responses and events only
}

// ParseRequestHeader reads a request header.
func ParseRequestHeader(b []byte) (Header, error) {
	if len(b) < reqHeaderSize {
		return Header{}, fmt.Errorf("cmap request of %d bytes is shorter than its header", len(b))
	}
	return Header{ID: int32(binary.LittleEndian.Uint32(b)), Size: int32(binary.LittleEndian.Uint32(b[8:]))}, nil
}

// ParseResponseHeader reads a response or event header.
func ParseResponseHeader(b []byte) (Header, error) {
	if len(b) < resHeaderSize {
		return Header{}, fmt.Errorf("cmap response of %d bytes is shorter than its header", len(b))
	}
	return Header{
		ID:    int32(binary.LittleEndian.Uint32(b)),
		Size:  int32(binary.LittleEndian.Uint32(b[8:])),
		Error: Error(binary.LittleEndian.Uint32(b[16:])),
	}, nil
}

// Request is any decoded cmap request.
type Request interface{ ID() int32 }

// SetRequest is req_lib_cmap_set: key @16, value_len u64 @280, type u8 @288, value @296.
type SetRequest struct {
	Key   Name
	Type  conf.ValueType
	Value []byte
}

// DeleteRequest is req_lib_cmap_delete: key @16.
type DeleteRequest struct{ Key Name }

// GetRequest is req_lib_cmap_get: key @16, value_len u64 @280 (the client's buffer;
// 0 asks for type and length only).
type GetRequest struct {
	Key      Name
	ValueLen uint64
}

// AdjustIntRequest is req_lib_cmap_adjust_int: key @16, step i32 @280.
type AdjustIntRequest struct {
	Key  Name
	Step int32
}

// IterInitRequest is req_lib_cmap_iter_init: prefix @16 (length 0 = all keys).
type IterInitRequest struct{ Prefix Name }

// IterNextRequest is req_lib_cmap_iter_next: iter_handle u64 @16.
type IterNextRequest struct{ Handle uint64 }

// IterFinalizeRequest is req_lib_cmap_iter_finalize: iter_handle u64 @16.
type IterFinalizeRequest struct{ Handle uint64 }

// TrackAddRequest is req_lib_cmap_track_add: key @16, track_type i32 @280,
// track_inst_handle u64 @288 (the client's opaque cookie, echoed in events).
type TrackAddRequest struct {
	Key        Name
	TrackType  TrackFlags
	InstHandle uint64
}

// TrackDeleteRequest is req_lib_cmap_track_delete: track_handle u64 @16.
type TrackDeleteRequest struct{ Handle uint64 }

// SetCurrentMapRequest is req_lib_cmap_set_current_map: map i32 @16.
type SetCurrentMapRequest struct{ Map Map }

func (SetRequest) ID() int32           { return ReqSet }
func (DeleteRequest) ID() int32        { return ReqDelete }
func (GetRequest) ID() int32           { return ReqGet }
func (AdjustIntRequest) ID() int32     { return ReqAdjustInt }
func (IterInitRequest) ID() int32      { return ReqIterInit }
func (IterNextRequest) ID() int32      { return ReqIterNext }
func (IterFinalizeRequest) ID() int32  { return ReqIterFinalize }
func (TrackAddRequest) ID() int32      { return ReqTrackAdd }
func (TrackDeleteRequest) ID() int32   { return ReqTrackDelete }
func (SetCurrentMapRequest) ID() int32 { return ReqSetCurrentMap }

// MarshalRequest encodes a request exactly as libcmap does (lib/cmap.c).
func MarshalRequest(r Request) []byte {
	var b []byte
	switch r := r.(type) {
	case SetRequest:
		b = make([]byte, setFixedSize+len(r.Value))
		putName(b[16:], r.Key)
		binary.LittleEndian.PutUint64(b[280:], uint64(len(r.Value)))
		b[288] = byte(r.Type)
		copy(b[296:], r.Value)
	case DeleteRequest:
		b = make([]byte, deleteSize)
		putName(b[16:], r.Key)
	case GetRequest:
		b = make([]byte, getReqSize)
		putName(b[16:], r.Key)
		binary.LittleEndian.PutUint64(b[280:], r.ValueLen)
	case AdjustIntRequest:
		b = make([]byte, adjustSize)
		putName(b[16:], r.Key)
		binary.LittleEndian.PutUint32(b[280:], uint32(r.Step))
	case IterInitRequest:
		b = make([]byte, iterInitSize)
		putName(b[16:], r.Prefix)
	case IterNextRequest:
		b = make([]byte, handleReqSize)
		binary.LittleEndian.PutUint64(b[16:], r.Handle)
	case IterFinalizeRequest:
		b = make([]byte, handleReqSize)
		binary.LittleEndian.PutUint64(b[16:], r.Handle)
	case TrackAddRequest:
		b = make([]byte, trackAddSize)
		putName(b[16:], r.Key)
		binary.LittleEndian.PutUint32(b[280:], uint32(r.TrackType))
		binary.LittleEndian.PutUint64(b[288:], r.InstHandle)
	case TrackDeleteRequest:
		b = make([]byte, handleReqSize)
		binary.LittleEndian.PutUint64(b[16:], r.Handle)
	case SetCurrentMapRequest:
		b = make([]byte, handleReqSize)
		binary.LittleEndian.PutUint32(b[16:], uint32(r.Map))
	default:
		panic(fmt.Sprintf("cmap: unknown request type %T", r))
	}
	putReqHeader(b, r.ID())
	return b
}

// ErrBadRequest is wrapped by UnmarshalRequest for any malformed request.
var ErrBadRequest = fmt.Errorf("malformed cmap request")

// UnmarshalRequest decodes a request message (header included). It checks the
// header size against the buffer and every fixed layout against the size, so a
// hostile client cannot make the server read past its message.
func UnmarshalRequest(b []byte) (Request, error) {
	h, err := ParseRequestHeader(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if h.Size < reqHeaderSize || int(h.Size) > len(b) {
		return nil, fmt.Errorf("%w: header size %d, message %d bytes", ErrBadRequest, h.Size, len(b))
	}
	b = b[:h.Size]
	need := map[int32]int{
		ReqSet: setFixedSize, ReqDelete: deleteSize, ReqGet: getReqSize, ReqAdjustInt: adjustSize,
		ReqIterInit: iterInitSize, ReqIterNext: handleReqSize, ReqIterFinalize: handleReqSize,
		ReqTrackAdd: trackAddSize, ReqTrackDelete: handleReqSize, ReqSetCurrentMap: handleReqSize,
	}
	n, ok := need[h.ID]
	if !ok {
		return nil, fmt.Errorf("%w: unknown request id %d", ErrBadRequest, h.ID)
	}
	if len(b) < n {
		return nil, fmt.Errorf("%w: request %d needs %d bytes, got %d", ErrBadRequest, h.ID, n, len(b))
	}
	switch h.ID {
	case ReqSet:
		vl := binary.LittleEndian.Uint64(b[280:])
		if vl > uint64(len(b)-setFixedSize) {
			return nil, fmt.Errorf("%w: set value_len %d beyond the %d-byte message", ErrBadRequest, vl, len(b))
		}
		return SetRequest{Key: getName(b[16:]), Type: conf.ValueType(b[288]),
			Value: append([]byte(nil), b[setFixedSize:setFixedSize+int(vl)]...)}, nil
	case ReqDelete:
		return DeleteRequest{Key: getName(b[16:])}, nil
	case ReqGet:
		return GetRequest{Key: getName(b[16:]), ValueLen: binary.LittleEndian.Uint64(b[280:])}, nil
	case ReqAdjustInt:
		return AdjustIntRequest{Key: getName(b[16:]), Step: int32(binary.LittleEndian.Uint32(b[280:]))}, nil
	case ReqIterInit:
		return IterInitRequest{Prefix: getName(b[16:])}, nil
	case ReqIterNext:
		return IterNextRequest{Handle: binary.LittleEndian.Uint64(b[16:])}, nil
	case ReqIterFinalize:
		return IterFinalizeRequest{Handle: binary.LittleEndian.Uint64(b[16:])}, nil
	case ReqTrackAdd:
		return TrackAddRequest{Key: getName(b[16:]), TrackType: TrackFlags(binary.LittleEndian.Uint32(b[280:])),
			InstHandle: binary.LittleEndian.Uint64(b[288:])}, nil
	case ReqTrackDelete:
		return TrackDeleteRequest{Handle: binary.LittleEndian.Uint64(b[16:])}, nil
	default: // ReqSetCurrentMap
		return SetCurrentMapRequest{Map: Map(int32(binary.LittleEndian.Uint32(b[16:])))}, nil
	}
}

// MarshalStatus encodes a header-only response (SET, DELETE, ADJUST_INT,
// ITER_FINALIZE, SET_CURRENT_MAP, and corosync's generic error reply).
func MarshalStatus(id int32, e Error) []byte {
	b := make([]byte, resHeaderSize)
	putResHeader(b, id, e)
	return b
}

// GetResponse is res_lib_cmap_get: value_len u64 @24, type u8 @32, value @40.
// BufLen is the value_len of the request: the reply is always 40+BufLen bytes
// (zero-filled beyond the value), and just 40 on error.
type GetResponse struct {
	Error    Error
	ValueLen uint64
	Type     conf.ValueType
	Value    []byte
	BufLen   uint64
}

// Marshal encodes the reply with corosync's sizes.
func (r GetResponse) Marshal() []byte {
	n := getResFixed
	if r.Error == OK {
		n += int(r.BufLen)
	}
	b := make([]byte, n)
	putResHeader(b, ResGet, r.Error)
	if r.Error == OK {
		binary.LittleEndian.PutUint64(b[24:], r.ValueLen)
		b[32] = byte(r.Type)
		copy(b[40:], r.Value)
	}
	return b
}

// UnmarshalGetResponse decodes a GET reply; Value holds everything after the fixed
// part, cut to ValueLen.
func UnmarshalGetResponse(b []byte) (GetResponse, error) {
	h, err := ParseResponseHeader(b)
	if err != nil {
		return GetResponse{}, err
	}
	if h.ID != ResGet || len(b) < getResFixed {
		return GetResponse{Error: h.Error}, fmt.Errorf("cmap: unexpected GET reply id %d, %d bytes", h.ID, len(b))
	}
	r := GetResponse{Error: h.Error, ValueLen: binary.LittleEndian.Uint64(b[24:]), Type: conf.ValueType(b[32]),
		BufLen: uint64(len(b) - getResFixed)}
	v := b[getResFixed:]
	if uint64(len(v)) > r.ValueLen {
		v = v[:r.ValueLen]
	}
	r.Value = append([]byte(nil), v...)
	return r, nil
}

// HandleResponse is the 32-byte reply carrying one u64 at 24: iter_handle
// (ITER_INIT), track_handle (TRACK_ADD) or track_inst_handle (TRACK_DELETE).
type HandleResponse struct {
	ID     int32
	Error  Error
	Handle uint64
}

func (r HandleResponse) Marshal() []byte {
	b := make([]byte, handleResSize)
	putResHeader(b, r.ID, r.Error)
	binary.LittleEndian.PutUint64(b[24:], r.Handle)
	return b
}

// UnmarshalHandleResponse decodes a 32-byte handle reply.
func UnmarshalHandleResponse(b []byte) (HandleResponse, error) {
	h, err := ParseResponseHeader(b)
	if err != nil {
		return HandleResponse{}, err
	}
	if len(b) < handleResSize {
		return HandleResponse{ID: h.ID, Error: h.Error}, fmt.Errorf("cmap: handle reply id %d of %d bytes", h.ID, len(b))
	}
	return HandleResponse{ID: h.ID, Error: h.Error, Handle: binary.LittleEndian.Uint64(b[24:])}, nil
}

// IterNextResponse is res_lib_cmap_iter_next: key @24, value_len u64 @288,
// type u8 @296; always 304 bytes, also at the end (error CS_ERR_NO_SECTIONS).
type IterNextResponse struct {
	Error    Error
	Key      Name
	ValueLen uint64
	Type     conf.ValueType
}

func (r IterNextResponse) Marshal() []byte {
	b := make([]byte, iterNextRes)
	putResHeader(b, ResIterNext, r.Error)
	putName(b[24:], r.Key)
	binary.LittleEndian.PutUint64(b[288:], r.ValueLen)
	b[296] = byte(r.Type)
	return b
}

// UnmarshalIterNextResponse decodes an ITER_NEXT reply.
func UnmarshalIterNextResponse(b []byte) (IterNextResponse, error) {
	h, err := ParseResponseHeader(b)
	if err != nil {
		return IterNextResponse{}, err
	}
	if h.ID != ResIterNext || len(b) < iterNextRes {
		return IterNextResponse{Error: h.Error}, fmt.Errorf("cmap: unexpected ITER_NEXT reply id %d, %d bytes", h.ID, len(b))
	}
	return IterNextResponse{Error: h.Error, Key: getName(b[24:]), ValueLen: binary.LittleEndian.Uint64(b[288:]),
		Type: conf.ValueType(b[296])}, nil
}

// Notification is res_lib_cmap_notify_callback (event id 9): track_inst_handle @24,
// key @32, event i32 @296, new_type u8 @304, old_type u8 @312, new_len u64 @320,
// old_len u64 @328, then the new and the old value bytes.
type Notification struct {
	InstHandle uint64
	Key        Name
	Event      TrackFlags
	NewType    conf.ValueType
	OldType    conf.ValueType
	New        []byte
	Old        []byte
}

func (n Notification) Marshal() []byte {
	b := make([]byte, notifyFixed+len(n.New)+len(n.Old))
	putResHeader(b, ResNotify, OK)
	binary.LittleEndian.PutUint64(b[24:], n.InstHandle)
	putName(b[32:], n.Key)
	binary.LittleEndian.PutUint32(b[296:], uint32(n.Event))
	b[304] = byte(n.NewType)
	b[312] = byte(n.OldType)
	binary.LittleEndian.PutUint64(b[320:], uint64(len(n.New)))
	binary.LittleEndian.PutUint64(b[328:], uint64(len(n.Old)))
	copy(b[notifyFixed:], n.New)
	copy(b[notifyFixed+len(n.New):], n.Old)
	return b
}

// UnmarshalNotification decodes a notify event, checking both lengths against the
// message.
func UnmarshalNotification(b []byte) (Notification, error) {
	h, err := ParseResponseHeader(b)
	if err != nil {
		return Notification{}, err
	}
	if h.ID != ResNotify || len(b) < notifyFixed {
		return Notification{}, fmt.Errorf("cmap: unexpected event id %d, %d bytes", h.ID, len(b))
	}
	nl := binary.LittleEndian.Uint64(b[320:])
	ol := binary.LittleEndian.Uint64(b[328:])
	rest := uint64(len(b) - notifyFixed)
	if nl > rest || ol > rest-nl {
		return Notification{}, fmt.Errorf("cmap: event value lengths %d+%d exceed the %d-byte message", nl, ol, len(b))
	}
	return Notification{
		InstHandle: binary.LittleEndian.Uint64(b[24:]),
		Key:        getName(b[32:]),
		Event:      TrackFlags(int32(binary.LittleEndian.Uint32(b[296:]))),
		NewType:    conf.ValueType(b[304]),
		OldType:    conf.ValueType(b[312]),
		New:        append([]byte(nil), b[notifyFixed:notifyFixed+nl]...),
		Old:        append([]byte(nil), b[notifyFixed+nl:notifyFixed+nl+ol]...),
	}, nil
}

// WireValue returns the bytes icmap holds for v: strings carry their NUL, which is
// what GET, ITER_NEXT's value_len and notifications report ("ipctest" has length 8).
func WireValue(v conf.Value) []byte {
	if v.Type == conf.TypeString {
		b := make([]byte, len(v.Data)+1)
		copy(b, v.Data)
		return b
	}
	return v.Data
}

// FromWire turns value bytes received from corosync into a Value (strings lose the
// NUL and anything after it).
func FromWire(t conf.ValueType, b []byte) conf.Value {
	if t == conf.TypeString {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
	}
	return conf.Value{Type: t, Data: append([]byte(nil), b...)}
}
