package cmap

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"ringmaster/conf"
	"ringmaster/internal/testenv"
)

type vector struct {
	dir, channel string
	msg          []byte
}

// readVectors loads the cmap messages of a shared/testdata/ipc capture.
func readVectors(t *testing.T, name string) []vector {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "testdata", "ipc", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 || strings.HasPrefix(fs[0], "#") || fs[1] != "cmap" || fs[2] == "setup" {
			continue
		}
		b, err := hex.DecodeString(fs[3])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, vector{dir: fs[0], channel: fs[2], msg: b})
	}
	return out
}

// padding lists the byte ranges real senders leave uninitialised, by layout.
func maskPadding(b []byte, request bool, id int32) []byte {
	b = append([]byte(nil), b...)
	zero := func(from, to int) {
		for i := from; i < to && i < len(b); i++ {
			b[i] = 0
		}
	}
	zero(4, 8)
	zero(12, 16)
	if !request {
		zero(20, 24)
	}
	name := func(at int) { zero(at+2, at+8) }
	if request {
		switch id {
		case ReqSet:
			name(16)
			zero(289, 296)
		case ReqDelete, ReqGet, ReqIterInit:
			name(16)
		case ReqAdjustInt:
			name(16)
			zero(284, 288)
		case ReqTrackAdd:
			name(16)
			zero(284, 288)
		case ReqSetCurrentMap:
			zero(20, 24)
		}
		return b
	}
	switch id {
	case ResGet:
		zero(33, 40)
	case ResIterNext:
		name(24)
		zero(297, 304)
	case ResNotify:
		name(32)
		zero(300, 304)
		zero(305, 312)
		zero(313, 320)
	}
	return b
}

// TestGoldenRoundTrip decodes every cmap message of the real captures and
// re-encodes it: the bytes must be identical except for the sender's padding.
func TestGoldenRoundTrip(t *testing.T) {
	files := []string{"corosync-cmapctl-get.txt", "corosync-cmapctl-dump.txt", "cpg-join-mcast-leave-cmap-track.txt",
		"corosync-cfgtool-s.txt", "corosync-quorumtool-s.txt"}
	counts := map[string]int{}
	for _, name := range files {
		vs := readVectors(t, name)
		if len(vs) == 0 {
			t.Fatalf("%s: no cmap messages", name)
		}
		// Responses are typed by the request before them.
		var lastReq Request
		for i, v := range vs {
			if v.dir == "C->S" {
				r, err := UnmarshalRequest(v.msg)
				if err != nil {
					t.Fatalf("%s #%d: %v", name, i, err)
				}
				lastReq = r
				got := MarshalRequest(r)
				if !bytes.Equal(maskPadding(got, true, r.ID()), maskPadding(v.msg, true, r.ID())) {
					t.Errorf("%s #%d request %T re-encodes differently:\n got %x\nwant %x", name, i, r, got, v.msg)
				}
				counts["req"]++
				continue
			}
			h, err := ParseResponseHeader(v.msg)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			switch {
			case v.channel == "event":
				n, err := UnmarshalNotification(v.msg)
				if err != nil {
					t.Fatalf("%s #%d: %v", name, i, err)
				}
				got = n.Marshal()
			case h.ID == ResGet:
				r, err := UnmarshalGetResponse(v.msg)
				if err != nil {
					t.Fatal(err)
				}
				if req, ok := lastReq.(GetRequest); !ok || (r.Error == OK && req.ValueLen != r.BufLen) {
					t.Errorf("%s #%d: GET reply of %d value bytes after %#v", name, i, r.BufLen, lastReq)
				}
				got = r.Marshal()
			case h.ID == ResIterNext:
				r, err := UnmarshalIterNextResponse(v.msg)
				if err != nil {
					t.Fatal(err)
				}
				got = r.Marshal()
			case h.ID == ResIterInit || h.ID == ResTrackAdd || h.ID == ResTrackDelete:
				r, err := UnmarshalHandleResponse(v.msg)
				if err != nil {
					t.Fatal(err)
				}
				got = r.Marshal()
			default:
				got = MarshalStatus(h.ID, h.Error)
			}
			if !bytes.Equal(maskPadding(got, false, h.ID), maskPadding(v.msg, false, h.ID)) {
				t.Errorf("%s #%d response id %d re-encodes differently:\n got %x\nwant %x", name, i, h.ID, got, v.msg)
			}
			counts["res"]++
		}
	}
	t.Logf("round-tripped %d requests and %d responses/events", counts["req"], counts["res"])
}

// TestGoldenGet checks the quirks of GET in the cmapctl -g capture field by field.
func TestGoldenGet(t *testing.T) {
	vs := readVectors(t, "corosync-cmapctl-get.txt")
	if len(vs) != 8 { // SET_CURRENT_MAP, GET probe by main, GET probe + GET by cmap_get_string
		t.Fatalf("want 8 messages, got %d", len(vs))
	}
	r, _ := UnmarshalRequest(vs[0].msg)
	if r != (SetCurrentMapRequest{Map: MapICMap}) {
		t.Errorf("first request %#v", r)
	}
	r, _ = UnmarshalRequest(vs[2].msg)
	if r != (GetRequest{Key: NameOf("totem.cluster_name")}) {
		t.Errorf("GET probe %#v", r)
	}
	// The probe reply: 40 bytes, value_len 8 ("ipctest" + NUL), type str.
	want := GetResponse{Error: OK, ValueLen: 8, Type: conf.TypeString}
	if got := want.Marshal(); !bytes.Equal(got, vs[3].msg) {
		t.Errorf("probe reply\n got %x\nwant %x", got, vs[3].msg)
	}
	want = GetResponse{Error: OK, ValueLen: 8, Type: conf.TypeString, Value: WireValue(conf.Str("ipctest")), BufLen: 8}
	if got := want.Marshal(); !bytes.Equal(got, vs[7].msg) {
		t.Errorf("value reply\n got %x\nwant %x", got, vs[7].msg)
	}
}

// TestGoldenTrackEvents checks the three notifications of the track capture.
func TestGoldenTrackEvents(t *testing.T) {
	var events []Notification
	for _, v := range readVectors(t, "cpg-join-mcast-leave-cmap-track.txt") {
		if v.channel == "event" {
			n, err := UnmarshalNotification(v.msg)
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, n)
		}
	}
	if len(events) != 3 {
		t.Fatalf("want 3 events, got %d", len(events))
	}
	check := func(n Notification, key string, ev TrackFlags, newV, oldV conf.Value) {
		t.Helper()
		if n.Key.Value != key || n.Event != ev || n.NewType != newV.Type || n.OldType != oldV.Type ||
			!bytes.Equal(n.New, WireValue(newV)) || !bytes.Equal(n.Old, WireValue(oldV)) {
			t.Errorf("event %+v", n)
		}
		if n.InstHandle != 0x643c986900000000 {
			t.Errorf("inst handle %#x", n.InstHandle)
		}
	}
	check(events[0], "ipcvec.k1", TrackAdd, conf.U32(42), conf.Value{})
	check(events[1], "ipcvec.s1", TrackAdd, conf.Str("abc"), conf.Value{})
	check(events[2], "ipcvec.k1", TrackDelete, conf.Value{}, conf.U32(42))
}

func TestUnmarshalRequestRejects(t *testing.T) {
	good := MarshalRequest(SetRequest{Key: NameOf("a.b.c"), Type: conf.TypeU32, Value: []byte{1, 2, 3, 4}})
	cases := map[string][]byte{
		"empty":       nil,
		"short":       good[:10],
		"size beyond": good[:200],
		"value_len beyond": func() []byte {
			b := append([]byte(nil), good...)
			b[280] = 200
			return b
		}(),
		"unknown id": MarshalStatus(42, OK)[:16],
	}
	for name, b := range cases {
		if _, err := UnmarshalRequest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzUnmarshalRequest(f *testing.F) {
	f.Add(MarshalRequest(SetRequest{Key: NameOf("a.b.c"), Type: conf.TypeString, Value: []byte("abc")}))
	f.Add(MarshalRequest(GetRequest{Key: NameOf("totem.cluster_name"), ValueLen: 8}))
	f.Add(MarshalRequest(TrackAddRequest{Key: NameOf("x."), TrackType: 15, InstHandle: 7}))
	f.Add(MarshalRequest(SetCurrentMapRequest{Map: 1}))
	f.Add(MarshalRequest(IterNextRequest{Handle: 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := UnmarshalRequest(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode again and decode to the same thing.
		again, err := UnmarshalRequest(MarshalRequest(r))
		if err != nil {
			t.Fatalf("re-decode of %#v: %v", r, err)
		}
		if s1, ok := r.(SetRequest); ok {
			s2 := again.(SetRequest)
			if s1.Key != s2.Key || s1.Type != s2.Type || !bytes.Equal(s1.Value, s2.Value) {
				t.Fatalf("set round trip %#v != %#v", s1, s2)
			}
		} else if r.ID() != again.ID() {
			t.Fatalf("round trip %#v != %#v", r, again)
		}
	})
}

func FuzzUnmarshalResponses(f *testing.F) {
	f.Add(GetResponse{Error: OK, ValueLen: 8, Type: conf.TypeString, Value: []byte("ipctest\x00"), BufLen: 8}.Marshal())
	f.Add(IterNextResponse{Error: OK, Key: NameOf("a.b"), ValueLen: 4, Type: conf.TypeU32}.Marshal())
	f.Add(Notification{Key: NameOf("a.b"), Event: TrackModify, NewType: 6, OldType: 6, New: []byte{1, 0, 0, 0}, Old: []byte{2, 0, 0, 0}}.Marshal())
	f.Add(HandleResponse{ID: ResTrackAdd, Error: OK, Handle: 9}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = UnmarshalGetResponse(b)
		_, _ = UnmarshalIterNextResponse(b)
		_, _ = UnmarshalHandleResponse(b)
		if n, err := UnmarshalNotification(b); err == nil {
			if len(n.New)+len(n.Old)+notifyFixed > len(b) {
				t.Fatalf("event values longer than the message")
			}
		}
	})
}
