package cmap

import (
	"bytes"
	"testing"

	"ringmaster/conf"
	"ringmaster/internal/pcap"
	"ringmaster/internal/testenv"
)

// realMcasts finds the cmap exec messages inside totem packets of a real capture:
// each follows the totempg group header of group "a" (01 00 01 00 61) and starts
// with service id 0.
func realMcasts(t *testing.T, name string) [][]byte {
	t.Helper()
	ds, err := pcap.UDPFile(testenv.Shared(t, "testdata", "totem", name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	group := []byte{1, 0, 1, 0, 'a'}
	for _, d := range ds {
		p := d.Payload
		for i := 0; i+len(group)+execHeaderSize <= len(p); i++ {
			if !bytes.Equal(p[i:i+len(group)], group) {
				continue
			}
			m := p[i+len(group):]
			if id := uint32(m[0]) | uint32(m[1])<<8 | uint32(m[2])<<16 | uint32(m[3])<<24; id != 0 {
				continue
			}
			size := int(uint32(m[8]) | uint32(m[9])<<8)
			if size >= execHeaderSize && size <= len(m) && (size-execHeaderSize)%8 == 0 {
				out = append(out, m[:size])
			}
		}
	}
	return out
}

func TestMcastGolden(t *testing.T) {
	var n int
	for _, f := range []string{"c3-udpu-2node.pcap", "c3-udpu-3node.pcap", "c3-udp-3node.pcap"} {
		for _, msg := range realMcasts(t, f) {
			m, err := UnmarshalMcast(msg)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			// No totem.config_version in those configs: one "does not exist" item.
			if m.Reason != McastReasonSync || len(m.Items) != 1 || m.Items[0].Key != ConfigVersionKey || m.Items[0].Value.Type != 0 {
				t.Errorf("%s: %+v", f, m)
			}
			if got := MarshalMcast(m); !bytes.Equal(got, msg) {
				t.Errorf("%s: re-encoded differently\n got %x\nwant %x", f, got, msg)
			}
			if len(msg) != 328 {
				t.Errorf("size %d", len(msg))
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no cmap mcast found in the captures")
	}
	t.Logf("%d real cmap sync messages decoded and re-encoded byte for byte", n)
}

func TestSync(t *testing.T) {
	a, b := NewICMap(), NewICMap()
	_ = a.Set(ConfigVersionKey, conf.U64(3))
	_ = b.Set(ConfigVersionKey, conf.U64(4))
	sa, sb := NewSync(1), NewSync(2)
	sa.Init(a, 1)
	sb.Init(b, 1)
	ma, mb := sa.Process(a), sb.Process(b)
	for _, st := range []struct {
		s  *Sync
		ic *Store
	}{{sa, a}, {sb, b}} {
		if err := st.s.Deliver(st.ic, 1, ma); err != nil {
			t.Fatal(err)
		}
		if err := st.s.Deliver(st.ic, 2, mb); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := a.Get("runtime.members.2.config_version"); v.String() != "4" {
		t.Errorf("member version %v", v)
	}
	if msg, isErr, shut := sa.Activate(); !shut || !isErr || msg != "Received config version (4) is different than my config version (3)! Exiting" {
		t.Errorf("node 1: %q %v %v", msg, isErr, shut)
	}
	if _, _, shut := sb.Activate(); shut {
		t.Error("node 2 with the highest version shuts down")
	}
	if msg, _, shut := sb.Activate(); shut || msg != "Not first sync -> no action" {
		t.Errorf("second activate %q", msg)
	}
	s := NewSync(1)
	s.Init(NewICMap(), 0)
	if msg, _, _ := s.Activate(); msg != "Single node sync -> no action" {
		t.Errorf("single node %q", msg)
	}
}

func FuzzUnmarshalMcast(f *testing.F) {
	f.Add(MarshalMcast(Mcast{Items: []McastItem{{Key: ConfigVersionKey}}}))
	f.Add(MarshalMcast(Mcast{Reason: 1, Items: []McastItem{{Key: "a.b", Value: conf.Str("xyz")}, {Key: ConfigVersionKey, Value: conf.U64(9)}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := UnmarshalMcast(b)
		if err != nil {
			return
		}
		if _, err := UnmarshalMcast(MarshalMcast(m)); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
