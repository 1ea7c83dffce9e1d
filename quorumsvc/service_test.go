package quorumsvc

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
	"ringmaster/ipc"
	"ringmaster/votequorum"
)

type peer struct{ resps, events [][]byte }

func (p *peer) Respond(m []byte) error   { p.resps = append(p.resps, m); return nil }
func (p *peer) SendEvent(m []byte) error { p.events = append(p.events, m); return nil }

// vector is one message of a shared/testdata/ipc capture.
type vector struct {
	dir, service, channel string
	msg                   []byte
}

func readVectors(t testing.TB, file string) []vector {
	f, err := os.Open(testenv.Shared(t, "testdata", "ipc", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		b, err := hex.DecodeString(fs[3])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, vector{fs[0], fs[1], fs[2], b})
	}
	return out
}

func hdr(b []byte) (id, size, e int32) {
	return int32(binary.LittleEndian.Uint32(b)), int32(binary.LittleEndian.Uint32(b[8:])), int32(binary.LittleEndian.Uint32(b[16:]))
}

// TestQuorumtoolVector replays corosync-quorumtool -s's quorum requests (one
// quorate node, ring 1.40) and checks every answer and event field by field.
func TestQuorumtoolVector(t *testing.T) {
	s := NewService(ServiceOptions{Provider: true})
	p := &peer{}
	s.conns[p] = &conn{}
	s.Membership([]uint32{1}, []uint32{1}, votequorum.RingID{Rep: 1, Seq: 0x28})
	s.SetQuorum(true, []uint32{1}, votequorum.RingID{Rep: 1, Seq: 0x28})
	var want [][]byte
	n := 0
	for _, v := range readVectors(t, "corosync-quorumtool-s.txt") {
		if v.service != "quorum" || v.channel == "setup" {
			continue
		}
		if v.dir == "C->S" {
			s.request(p, v.msg)
			continue
		}
		want = append(want, v.msg)
	}
	got := p.resps
	// Events and responses interleave in the capture; compare each stream.
	var wantResp, wantEv [][]byte
	for _, w := range want {
		if id, _, _ := hdr(w); id == ResNotification && len(w) == 52 {
			wantEv = append(wantEv, w)
		} else {
			wantResp = append(wantResp, w)
		}
	}
	check := func(kind string, got, want [][]byte) {
		if len(got) != len(want) {
			t.Fatalf("%s: %d messages, want %d", kind, len(got), len(want))
		}
		for i := range want {
			gi, gs, ge := hdr(got[i])
			wi, ws, we := hdr(want[i])
			if gi != wi || gs != ws || ge != we || len(got[i]) != len(want[i]) {
				t.Errorf("%s %d: header %d/%d/%d want %d/%d/%d", kind, i, gi, gs, ge, wi, ws, we)
			}
			// Defined fields after the header: u32 words at 24, 32, 40, 44.
			for _, off := range []int{24, 32, 40, 44} {
				if off+4 <= len(want[i]) && binary.LittleEndian.Uint32(got[i][off:]) != binary.LittleEndian.Uint32(want[i][off:]) {
					t.Errorf("%s %d: word @%d = %#x, want %#x", kind, i, off, binary.LittleEndian.Uint32(got[i][off:]), binary.LittleEndian.Uint32(want[i][off:]))
				}
			}
			n++
		}
	}
	check("response", got, wantResp)
	check("event", p.events, wantEv)
	t.Logf("%d quorum messages match the capture", n)
}

func TestTrackingAndModels(t *testing.T) {
	s := NewService(ServiceOptions{Provider: true})
	v0, v1 := &peer{}, &peer{}
	s.conns[v0], s.conns[v1] = &conn{}, &conn{}
	req := func(p *peer, id int32, body ...uint32) []byte {
		m := ipc.NewRequest(id, 8*len(body))
		for i, x := range body {
			binary.LittleEndian.PutUint32(m[16+8*i:], x)
		}
		s.request(p, m)
		return p.resps[len(p.resps)-1]
	}
	if r := req(v1, ReqModelGetType, ModelV1); binary.LittleEndian.Uint32(r[24:]) != TypeSet {
		t.Fatalf("model gettype: %x", r)
	}
	if _, _, e := hdr(req(v1, ReqModelGetType, 7)); e != csInvalidParam {
		t.Errorf("model 7: error %d", e)
	}
	s.Membership([]uint32{1}, []uint32{1}, votequorum.RingID{Rep: 1, Seq: 4})
	req(v0, ReqTrackStart, TrackChanges)
	req(v1, ReqTrackStart, TrackChangesOnly)
	if _, _, e := hdr(req(v0, ReqTrackStart, TrackChanges)); e != csExist {
		t.Errorf("second trackstart: %d", e)
	}
	v0.events, v1.events = nil, nil
	s.Membership([]uint32{1}, []uint32{1, 2}, votequorum.RingID{Rep: 1, Seq: 8})
	s.SetQuorum(true, []uint32{1, 2}, votequorum.RingID{Rep: 1, Seq: 8})
	if len(v0.events) != 1 || len(v1.events) != 2 {
		t.Fatalf("events v0 %d v1 %d", len(v0.events), len(v1.events))
	}
	nl := v1.events[0]
	if id, size, _ := hdr(nl); id != ResV1NodelistNotify || size != 64+4*3 {
		t.Errorf("nodelist event %d/%d", id, size)
	}
	if binary.LittleEndian.Uint32(nl[48:]) != 1 || binary.LittleEndian.Uint32(nl[68:]) != 2 {
		t.Errorf("joined list: %x", nl)
	}
	q1 := v1.events[1]
	if id, size, _ := hdr(q1); id != ResV1QuorumNotify || size != 56+8 || binary.LittleEndian.Uint64(q1[40:]) != 8 {
		t.Errorf("v1 quorum event %x", q1)
	}
	req(v0, ReqTrackStop)
	v0.events = nil
	s.SetQuorum(false, []uint32{1}, votequorum.RingID{Rep: 1, Seq: 12})
	if len(v0.events) != 0 {
		t.Errorf("events after trackstop")
	}
}

func TestNoProvider(t *testing.T) {
	s := NewService(ServiceOptions{})
	p := &peer{}
	s.conns[p] = &conn{}
	s.SetQuorum(false, []uint32{1}, votequorum.RingID{})
	s.request(p, ipc.NewRequest(ReqGetQuorate, 0))
	s.request(p, ipc.NewRequest(ReqGetType, 0))
	if binary.LittleEndian.Uint32(p.resps[0][24:]) != 1 || binary.LittleEndian.Uint32(p.resps[1][24:]) != TypeFree {
		t.Errorf("no provider: quorate %x type %x", p.resps[0], p.resps[1])
	}
}

// FuzzRequest: any bytes get exactly one answer and never a panic.
func FuzzRequest(f *testing.F) {
	for _, id := range []int32{0, 1, 2, 3, 4, 5, -1} {
		f.Add(ipc.NewRequest(id, 8))
	}
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewService(ServiceOptions{Provider: true})
		p := &peer{}
		s.conns[p] = &conn{}
		s.request(p, b)
		if len(p.resps) != 1 {
			t.Fatalf("%d responses", len(p.resps))
		}
		if _, size, _ := hdr(p.resps[0]); int(size) != len(p.resps[0]) {
			t.Fatalf("size field %d for %d bytes", size, len(p.resps[0]))
		}
	})
}
