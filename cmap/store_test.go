package cmap

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"ringmaster/conf"
)

func mustSet(t *testing.T, s *Store, k string, v conf.Value) {
	t.Helper()
	if err := s.Set(k, v); err != nil {
		t.Fatalf("set %s: %v", k, err)
	}
}

func TestStoreOrderAndIteration(t *testing.T) {
	s := NewStore()
	for _, k := range []string{"totem.version", "nodelist.node.1.name", "nodelist.node.0.name", "nodelist.local_node_pos",
		"totem.interface.0.bindnetaddr", "totem.interface.ringnumber", "quorum.provider", "nodelist.node.10.name"} {
		mustSet(t, s, k, conf.Str("x"))
	}
	want := []string{"nodelist.local_node_pos", "nodelist.node.0.name", "nodelist.node.1.name", "nodelist.node.10.name"}
	if got := s.Keys("nodelist."); !reflect.DeepEqual(got, want) {
		t.Errorf("prefix keys %q", got)
	}
	// corosync-cmapctl's order is byte order: "interface.0" < "interface.ringnumber".
	if got := s.Keys("totem."); !reflect.DeepEqual(got, []string{"totem.interface.0.bindnetaddr", "totem.interface.ringnumber", "totem.version"}) {
		t.Errorf("totem keys %q", got)
	}
	// An iterator survives deletion of the key it stands on (delete_with_prefix).
	it := s.Iter("nodelist.")
	var seen []string
	for k, _, ok := it.Next(); ok; k, _, ok = it.Next() {
		seen = append(seen, k)
		if err := s.Delete(k); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(seen, want) || len(s.Keys("nodelist.")) != 0 {
		t.Errorf("deleting iteration saw %q, left %q", seen, s.Keys("nodelist."))
	}
	if _, _, ok := it.Next(); ok {
		t.Error("finished iterator restarted")
	}
	if s.Len() != 4 {
		t.Errorf("len %d", s.Len())
	}
}

func TestStoreSetRules(t *testing.T) {
	s := NewStore()
	cases := []struct {
		key  string
		v    conf.Value
		want error
	}{
		{"ab", conf.U8(1), ErrNameTooLong},
		{strings.Repeat("a", 256), conf.U8(1), ErrNameTooLong},
		{"a b.c", conf.U8(1), ErrNameTooLong},
		{"abc", conf.Value{Type: conf.TypeU32, Data: []byte{1}}, ErrInvalidParam},
		{"abc", conf.Value{Type: 0}, ErrInvalidParam},
		{"abc", conf.Value{Type: conf.TypeBinary, Data: make([]byte, MaxValueLen+1)}, ErrInvalidParam},
		{"abc", conf.Value{Type: conf.TypeString, Data: []byte("ab\x00cd")}, ErrInvalidParam},
		{"abc", conf.Value{Type: conf.TypeString, Data: []byte("ab\x00")}, nil},
		{"a-b_c/d:e.F9", conf.I32(-1), nil},
	}
	for _, c := range cases {
		if err := s.Set(c.key, c.v); !errors.Is(err, c.want) && !(err == nil && c.want == nil) {
			t.Errorf("set %q %v: %v, want %v", c.key, c.v, err, c.want)
		}
	}
	if v, _ := s.Get("abc"); string(v.Data) != "ab" {
		t.Errorf("string with NUL stored as %q", v.Data)
	}
	if _, err := s.Get("nope"); err != ErrNotExist {
		t.Errorf("get missing: %v", err)
	}
	if err := s.Delete("nope"); err != ErrNotExist {
		t.Errorf("delete missing: %v", err)
	}
	// An existing key may change type.
	mustSet(t, s, "abc", conf.U64(5))
	if v, _ := s.Get("abc"); v.Type != conf.TypeU64 {
		t.Errorf("type %v", v.Type)
	}
}

func TestStoreAdjustInt(t *testing.T) {
	s := NewStore()
	mustSet(t, s, "k.u8", conf.U8(255))
	mustSet(t, s, "k.i32", conf.I32(-1))
	mustSet(t, s, "k.u64", conf.U64(0))
	mustSet(t, s, "k.str", conf.Str("x"))
	mustSet(t, s, "k.dbl", conf.Double(1))
	for k, step := range map[string]int32{"k.u8": 1, "k.i32": 2, "k.u64": -1} {
		if err := s.AdjustInt(k, step); err != nil {
			t.Fatal(err)
		}
	}
	for k, want := range map[string]string{"k.u8": "0", "k.i32": "1", "k.u64": "18446744073709551615"} {
		if v, _ := s.Get(k); v.String() != want {
			t.Errorf("%s = %s, want %s", k, v, want)
		}
	}
	for _, k := range []string{"k.str", "k.dbl"} {
		if err := s.AdjustInt(k, 1); err != ErrInvalidParam {
			t.Errorf("adjust %s: %v", k, err)
		}
	}
	if err := s.AdjustInt("k.none", 1); err != ErrNotExist {
		t.Errorf("adjust missing: %v", err)
	}
}

func TestStoreTracking(t *testing.T) {
	s := NewStore()
	exact, _ := s.Track("a.b", TrackAdd|TrackModify|TrackDelete, "exact")
	prefix, _ := s.Track("a.", TrackAdd|TrackModify|TrackDelete|TrackPrefix, "prefix")
	all, _ := s.Track("", TrackDelete|TrackPrefix, "all-deletes")
	if _, err := s.Track("x", 16, nil); err != ErrInvalidParam {
		t.Errorf("bad flags: %v", err)
	}
	mustSet(t, s, "a.b", conf.U32(1))
	mustSet(t, s, "a.b", conf.U32(1)) // unchanged: no event
	mustSet(t, s, "a.b", conf.U32(2))
	mustSet(t, s, "a.bc", conf.Str("x"))
	mustSet(t, s, "zz.top", conf.Str("y"))
	_ = s.Delete("a.b")
	_ = s.Delete("zz.top")
	got := s.TakeEvents()
	want := []Event{
		{exact, TrackAdd, "a.b", conf.U32(1), conf.Value{}},
		{prefix, TrackAdd, "a.b", conf.U32(1), conf.Value{}},
		{exact, TrackModify, "a.b", conf.U32(2), conf.U32(1)},
		{prefix, TrackModify, "a.b", conf.U32(2), conf.U32(1)},
		{prefix, TrackAdd, "a.bc", conf.Str("x"), conf.Value{}},
		{exact, TrackDelete, "a.b", conf.Value{}, conf.U32(2)},
		{prefix, TrackDelete, "a.b", conf.Value{}, conf.U32(2)},
		{all, TrackDelete, "a.b", conf.Value{}, conf.U32(2)},
		{all, TrackDelete, "zz.top", conf.Value{}, conf.Str("y")},
	}
	if len(got) != len(want) {
		t.Fatalf("events:\n%+v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Track != w.Track || g.Type != w.Type || g.Key != w.Key || !g.New.Equal(w.New) || !g.Old.Equal(w.Old) {
			t.Errorf("event %d: %+v, want %+v", i, g, w)
		}
	}
	if len(s.TakeEvents()) != 0 {
		t.Error("events not drained")
	}
	if o, ok := s.Owner(prefix); !ok || o != "prefix" {
		t.Errorf("owner %v", o)
	}
	if err := s.Untrack(prefix); err != nil || s.Untrack(prefix) != ErrNotExist {
		t.Error("untrack")
	}
	// AdjustInt reports a modify with both values.
	mustSet(t, s, "a.b", conf.U8(1))
	s.TakeEvents()
	_ = s.AdjustInt("a.b", 1)
	if ev := s.TakeEvents(); len(ev) != 1 || ev[0].Type != TrackModify || ev[0].New.String() != "2" || ev[0].Old.String() != "1" {
		t.Errorf("adjust events %+v", ev)
	}
}

func TestReadOnlyRules(t *testing.T) {
	ic := NewICMap()
	for k, ro := range map[string]bool{
		"totem.cluster_name": true, "totem.cluster_name2": false, "totem.token": false,
		"nodelist.node.0.name": true, "nodelist.local_node_pos": true, "runtime.config.totem.token": true,
		"runtime.services.cmap.0.rx": true, "runtime.members.1.ip": false, "internal_configuration.x": true,
		"system.qb_ipc_type": true, "quorum.wait_for_all": true, "quorum.two_node": false, "logging.debug": false,
		"uidgid.config.x": true, "uidgid.uid.0": false,
	} {
		if got := ic.IsReadOnly(k); got != ro {
			t.Errorf("icmap %s read-only %v, want %v", k, got, ro)
		}
	}
	st := NewStats()
	if !st.IsReadOnly("stats.srp.mcast_rx") || st.IsReadOnly("stats.clear.all") {
		t.Error("stats rules")
	}
}

func BenchmarkStoreSetGet(b *testing.B) {
	s := NewICMap()
	for i := 0; i < 200; i++ {
		_ = s.Set("runtime.bench.key"+string(rune('a'+i%26))+"."+string(rune('a'+i/26)), conf.U32(uint32(i)))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.Set("runtime.bench.counter", conf.U64(uint64(i)))
		_, _ = s.Get("runtime.bench.counter")
	}
}
