package cmap

import (
	"bytes"
	"testing"

	"ringmaster/conf"
)

type fakePeer struct {
	resp   [][]byte
	events [][]byte
}

func (p *fakePeer) Respond(m []byte) error   { p.resp = append(p.resp, m); return nil }
func (p *fakePeer) SendEvent(m []byte) error { p.events = append(p.events, m); return nil }
func (p *fakePeer) MaxMsgSize() int          { return 1 << 20 }

func (p *fakePeer) last() []byte { return p.resp[len(p.resp)-1] }

func newTestService(t *testing.T) (*Service, *fakePeer, *fakePeer) {
	t.Helper()
	svc := NewService(nil, nil, ServiceOptions{ProcName: func(int) string { return "tester" }})
	svc.Update(func(ic, _ *Store) {
		_ = ic.Set("totem.cluster_name", conf.Str("ipctest"))
		_ = ic.Set("totem.token", conf.U32(3000))
		_ = ic.Set("nodelist.node.0.nodeid", conf.U32(1))
	})
	a, b := &fakePeer{}, &fakePeer{}
	svc.lock.Lock()
	svc.accept(a, 100, 1)
	svc.accept(b, 101, 2)
	svc.lock.Unlock()
	return svc, a, b
}

func call(svc *Service, p *fakePeer, r Request) []byte {
	svc.lock.Lock()
	defer svc.lock.Unlock()
	svc.request(p, MarshalRequest(r))
	return p.last()
}

func status(t *testing.T, b []byte) Error {
	t.Helper()
	h, err := ParseResponseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if int(h.Size) != len(b) {
		t.Fatalf("size field %d, message %d", h.Size, len(b))
	}
	return h.Error
}

func TestServiceGet(t *testing.T) {
	svc, a, _ := newTestService(t)
	// The cmapctl -g sequence: probe with value_len 0, then the exact length.
	r, _ := UnmarshalGetResponse(call(svc, a, GetRequest{Key: NameOf("totem.cluster_name")}))
	if r.Error != OK || r.ValueLen != 8 || r.Type != conf.TypeString || r.BufLen != 0 {
		t.Errorf("probe %+v", r)
	}
	raw := call(svc, a, GetRequest{Key: NameOf("totem.cluster_name"), ValueLen: 8})
	want := GetResponse{Error: OK, ValueLen: 8, Type: conf.TypeString, Value: []byte("ipctest\x00"), BufLen: 8}.Marshal()
	if !bytes.Equal(raw, want) {
		t.Errorf("get\n got %x\nwant %x", raw, want)
	}
	// libcmap's integer getters ask with a 16-byte buffer: 56-byte reply.
	if raw := call(svc, a, GetRequest{Key: NameOf("totem.token"), ValueLen: 16}); len(raw) != 56 || status(t, raw) != OK {
		t.Errorf("u32 get %x", raw)
	}
	if raw := call(svc, a, GetRequest{Key: NameOf("totem.cluster_name"), ValueLen: 3}); len(raw) != 40 || status(t, raw) != ErrInvalidParam {
		t.Errorf("short buffer %x", raw)
	}
	if raw := call(svc, a, GetRequest{Key: NameOf("totem.no_such_key")}); len(raw) != 40 || status(t, raw) != ErrNotExist {
		t.Errorf("missing %x", raw)
	}
	if raw := call(svc, a, GetRequest{Key: NameOf("totem.token"), ValueLen: 1 << 40}); len(raw) != 40 || status(t, raw) != ErrNoMemory {
		t.Errorf("huge buffer %x", raw)
	}
}

func TestServiceSetDeleteAccess(t *testing.T) {
	svc, a, _ := newTestService(t)
	for _, c := range []struct {
		r    Request
		want Error
	}{
		{SetRequest{Key: NameOf("totem.cluster_name"), Type: conf.TypeString, Value: []byte("x")}, ErrAccess},
		{SetRequest{Key: NameOf("nodelist.node.0.nodeid"), Type: conf.TypeU32, Value: []byte{2, 0, 0, 0}}, ErrAccess},
		{DeleteRequest{Key: NameOf("nodelist.node.0.nodeid")}, ErrAccess},
		{AdjustIntRequest{Key: NameOf("runtime.config.totem.token"), Step: 1}, ErrAccess},
		{SetRequest{Key: NameOf("mine.k"), Type: conf.TypeU32, Value: []byte{1, 0, 0, 0}}, OK},
		{SetRequest{Key: NameOf("mine.s"), Type: conf.TypeString, Value: []byte("abc")}, OK},
		{SetRequest{Key: NameOf("mine.bad"), Type: conf.TypeU32, Value: []byte{1}}, ErrInvalidParam},
		{SetRequest{Key: NameOf("x"), Type: conf.TypeU8, Value: []byte{1}}, ErrNameTooLong},
		{AdjustIntRequest{Key: NameOf("mine.k"), Step: 41}, OK},
		{DeleteRequest{Key: NameOf("mine.none")}, ErrNotExist},
		{SetCurrentMapRequest{Map: 7}, ErrNotExist},
	} {
		raw := call(svc, a, c.r)
		if len(raw) != 24 || status(t, raw) != c.want {
			t.Errorf("%#v: %x, want %v", c.r, raw, c.want)
		}
	}
	svc.View(func(ic, _ *Store) {
		if v, _ := ic.Get("mine.k"); v.String() != "42" {
			t.Errorf("mine.k = %v", v)
		}
	})
	// Garbage gets corosync's generic answer.
	svc.lock.Lock()
	svc.request(a, []byte{1, 2, 3})
	svc.lock.Unlock()
	if !bytes.Equal(a.last(), MarshalStatus(0, ErrInvalidParam)) {
		t.Errorf("garbage answer %x", a.last())
	}
}

func TestServiceIterationAndStatsMap(t *testing.T) {
	svc, a, _ := newTestService(t)
	h, _ := UnmarshalHandleResponse(call(svc, a, IterInitRequest{Prefix: NameOf("totem.")}))
	var keys []string
	for i := 0; i < 10; i++ {
		r, _ := UnmarshalIterNextResponse(call(svc, a, IterNextRequest{Handle: h.Handle}))
		if r.Error == ErrNoSections {
			if len(a.last()) != 304 {
				t.Errorf("end of iteration is %d bytes", len(a.last()))
			}
			break
		}
		keys = append(keys, r.Key.Value)
	}
	if len(keys) != 2 || keys[0] != "totem.cluster_name" || keys[1] != "totem.token" {
		t.Errorf("keys %q", keys)
	}
	// Busy while an iterator is open.
	if status(t, call(svc, a, SetCurrentMapRequest{Map: MapStats})) != ErrBusy {
		t.Error("map switch with open iterator")
	}
	if status(t, call(svc, a, IterFinalizeRequest{Handle: h.Handle})) != OK ||
		status(t, call(svc, a, IterFinalizeRequest{Handle: h.Handle})) != ErrBadHandle {
		t.Error("finalize")
	}
	if status(t, call(svc, a, SetCurrentMapRequest{Map: MapStats})) != OK {
		t.Fatal("map switch")
	}
	h, _ = UnmarshalHandleResponse(call(svc, a, IterInitRequest{}))
	var stats []string
	for i := 0; i < 100; i++ {
		r, _ := UnmarshalIterNextResponse(call(svc, a, IterNextRequest{Handle: h.Handle}))
		if r.Error != OK {
			break
		}
		stats = append(stats, r.Key.Value)
	}
	if len(stats) != 2+2*13 || stats[0] != "stats.ipcs.global.active" {
		t.Errorf("stats keys %q", stats)
	}
	if status(t, call(svc, a, SetRequest{Key: NameOf("stats.ipcs.global.active"), Type: conf.TypeU64, Value: make([]byte, 8)})) != ErrAccess {
		t.Error("stats writable")
	}
	if status(t, call(svc, a, SetRequest{Key: NameOf("stats.clear.all"), Type: conf.TypeU32, Value: []byte{1, 0, 0, 0}})) != OK {
		t.Error("stats.clear not writable")
	}
}

func TestServiceTracking(t *testing.T) {
	svc, a, b := newTestService(t)
	h, _ := UnmarshalHandleResponse(call(svc, a, TrackAddRequest{Key: NameOf("ipcvec."), TrackType: TrackAdd | TrackDelete | TrackModify | TrackPrefix, InstHandle: 0x643c986900000000}))
	if h.Error != OK {
		t.Fatal(h)
	}
	call(svc, b, SetRequest{Key: NameOf("ipcvec.k1"), Type: conf.TypeU32, Value: []byte{42, 0, 0, 0}})
	call(svc, b, SetRequest{Key: NameOf("ipcvec.s1"), Type: conf.TypeString, Value: []byte("abc")})
	call(svc, b, DeleteRequest{Key: NameOf("ipcvec.k1")})
	svc.Update(func(ic, _ *Store) { _ = ic.Set("other.key", conf.U8(1)) })
	// The same three events the real corosync sent in the capture.
	want := readVectors(t, "cpg-join-mcast-leave-cmap-track.txt")
	var wantEvents [][]byte
	for _, v := range want {
		if v.channel == "event" {
			wantEvents = append(wantEvents, v.msg)
		}
	}
	if len(a.events) != 3 || len(b.events) != 0 {
		t.Fatalf("events a=%d b=%d", len(a.events), len(b.events))
	}
	for i := range wantEvents {
		if !bytes.Equal(maskPadding(a.events[i], false, ResNotify), maskPadding(wantEvents[i], false, ResNotify)) {
			t.Errorf("event %d\n got %x\nwant %x", i, a.events[i], wantEvents[i])
		}
	}
	r, _ := UnmarshalHandleResponse(call(svc, a, TrackDeleteRequest{Handle: h.Handle}))
	if r.Error != OK || r.Handle != 0x643c986900000000 {
		t.Errorf("track delete %+v", r)
	}
	// Closing a connection drops its tracks.
	h, _ = UnmarshalHandleResponse(call(svc, a, TrackAddRequest{Key: NameOf("ipcvec.s1"), TrackType: TrackModify, InstHandle: 1}))
	svc.lock.Lock()
	svc.closedConn(a)
	svc.lock.Unlock()
	svc.Update(func(ic, _ *Store) {
		_ = ic.Set("ipcvec.s1", conf.Str("new"))
		if ic.TrackCount() != 0 {
			t.Errorf("%d tracks left", ic.TrackCount())
		}
	})
	if len(a.events) != 3 {
		t.Errorf("closed connection got events")
	}
}

func BenchmarkServiceGet(b *testing.B) {
	svc := NewService(nil, nil, ServiceOptions{ProcName: func(int) string { return "" }})
	svc.Update(func(ic, _ *Store) { _ = ic.Set("totem.cluster_name", conf.Str("bench")) })
	p := &fakePeer{}
	svc.accept(p, 1, 1)
	req := MarshalRequest(GetRequest{Key: NameOf("totem.cluster_name"), ValueLen: 6})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		svc.lock.Lock()
		svc.request(p, req)
		svc.lock.Unlock()
		p.resp = p.resp[:0]
	}
}

func TestServiceWatch(t *testing.T) {
	svc, a, _ := newTestService(t)
	var seen []string
	id, err := svc.Watch("logging.", TrackAdd|TrackModify|TrackDelete|TrackPrefix, func(ic *Store, ev Event) {
		seen = append(seen, ev.Key+"="+ev.New.String())
		// A watcher may write; clients tracking that key hear of it.
		_ = ic.Set("runtime.logging_reloads", conf.U32(uint32(len(seen))))
	})
	if err != nil {
		t.Fatal(err)
	}
	call(svc, a, TrackAddRequest{Key: NameOf("runtime.logging_reloads"), TrackType: TrackAdd | TrackModify, InstHandle: 5})
	call(svc, a, SetRequest{Key: NameOf("logging.debug"), Type: conf.TypeString, Value: []byte("on")})
	svc.Update(func(ic, _ *Store) { _ = ic.Set("logging.debug", conf.Str("off")) })
	if len(seen) != 2 || seen[0] != "logging.debug=on" || seen[1] != "logging.debug=off" {
		t.Errorf("watch saw %q", seen)
	}
	if len(a.events) != 2 {
		t.Errorf("client saw %d events of the watcher's writes", len(a.events))
	}
	if err := svc.Unwatch(id); err != nil {
		t.Fatal(err)
	}
	call(svc, a, SetRequest{Key: NameOf("logging.debug"), Type: conf.TypeString, Value: []byte("trace")})
	if len(seen) != 2 {
		t.Error("unwatched still called")
	}
}

func FuzzServiceRequest(f *testing.F) {
	for _, r := range []Request{
		SetRequest{Key: NameOf("a.b.c"), Type: conf.TypeString, Value: []byte("abc")},
		GetRequest{Key: NameOf("totem.cluster_name"), ValueLen: 8},
		TrackAddRequest{Key: NameOf(""), TrackType: 15, InstHandle: 7},
		IterInitRequest{Prefix: NameOf("t")},
		IterNextRequest{Handle: 0x5eed00000001},
		SetCurrentMapRequest{Map: 1},
		AdjustIntRequest{Key: NameOf("a.b.c"), Step: -3},
	} {
		f.Add(MarshalRequest(r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		svc := NewService(nil, nil, ServiceOptions{ProcName: func(int) string { return "" }})
		svc.Update(func(ic, _ *Store) { _ = ic.Set("totem.cluster_name", conf.Str("x")) })
		p := &fakePeer{}
		svc.accept(p, 1, 1)
		for i := 0; i < 3; i++ {
			svc.request(p, b)
			h, err := ParseResponseHeader(p.last())
			if err != nil || int(h.Size) != len(p.last()) {
				t.Fatalf("bad response %x", p.last())
			}
		}
		svc.closedConn(p)
	})
}

func TestMayConnect(t *testing.T) {
	svc := NewService(nil, nil, ServiceOptions{})
	svc.Update(func(ic, _ *Store) {
		_ = ic.Set("uidgid.uid.1000", conf.U8(1))
		_ = ic.Set("uidgid.config.gid.2000", conf.U8(1))
		_ = ic.Set("uidgid.uid.1001", conf.U8(0))
	})
	for _, c := range []struct {
		uid, gid uint32
		ok       bool
	}{{0, 5, true}, {5, 0, true}, {1000, 5, true}, {7, 2000, true}, {1001, 5, false}, {7, 7, false}} {
		if got := svc.MayConnect(c.uid, c.gid); got != c.ok {
			t.Errorf("%d:%d may connect %v", c.uid, c.gid, got)
		}
	}
}
