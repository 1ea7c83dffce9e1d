package votequorum

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
	"ringmaster/ipc"
)

type svcPeer struct{ resps, events [][]byte }

func (p *svcPeer) Respond(m []byte) error   { p.resps = append(p.resps, m); return nil }
func (p *svcPeer) SendEvent(m []byte) error { p.events = append(p.events, m); return nil }

// oneNode is a machine of node 1 alone in ring 1.40, as in the captures.
func oneNode(t testing.TB) *Machine {
	m, err := New(Config{NodeID: 1, Nodelist: []NodeVotes{{ID: 1}}, LocalPos: 0})
	if err != nil {
		t.Fatal(err)
	}
	m.SyncInit([]uint32{1}, RingID{Rep: 1, Seq: 0x28})
	m.SyncProcess()
	for _, msg := range m.Ready().Messages {
		_ = m.Deliver(1, msg)
	}
	m.SyncActivate()
	m.Advance()
	return m
}

func newTestService(m *Machine) *Service {
	return NewService(ServiceOptions{Run: func(f func(*Machine)) { f(m) }})
}

func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

// TestQuorumtoolVector replays corosync-quorumtool -s's votequorum requests and
// compares every defined field of the answers and events with the capture.
func TestQuorumtoolVector(t *testing.T) {
	m := oneNode(t)
	s := newTestService(m)
	p := &svcPeer{}
	s.accept(p)
	f, err := os.Open(testenv.Shared(t, "testdata", "ipc", "corosync-quorumtool-s.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wantResp, wantEv [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 || fs[1] != "votequorum" || fs[2] == "setup" {
			continue
		}
		b, _ := hex.DecodeString(fs[3])
		switch {
		case fs[0] == "C->S":
			s.request(p, b)
		case fs[2] == "event":
			wantEv = append(wantEv, b)
		default:
			wantResp = append(wantResp, b)
		}
	}
	cmp := func(kind string, got, want [][]byte, words []int) {
		if len(got) < len(want) {
			t.Fatalf("%s: %d messages, want %d", kind, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if len(g) != len(w) {
				t.Errorf("%s %d: %d bytes, want %d", kind, i, len(g), len(w))
				continue
			}
			for _, off := range append([]int{0, 8, 16}, words...) {
				if off+4 <= len(w) && le32(g, off) != le32(w, off) {
					t.Errorf("%s %d: word @%d = %d, want %d", kind, i, off, le32(g, off), le32(w, off))
				}
			}
		}
	}
	cmp("response", p.resps, wantResp, []int{24, 28, 32, 36, 40, 44, 48, 52, 56})
	// The capture holds the nodelist event only (quorum events come as a
	// second event the tool did not wait for).
	cmp("event", p.events, wantEv, []int{24, 32, 40, 48, 56})
	t.Logf("%d responses and %d events match", len(wantResp), len(wantEv))
}

func TestSetExpectedVotesAndErrors(t *testing.T) {
	m := oneNode(t)
	s := newTestService(m)
	p := &svcPeer{}
	s.accept(p)
	req := func(id int32, words ...uint32) int32 {
		b := ipc.NewRequest(id, 16)
		for i, w := range words {
			binary.LittleEndian.PutUint32(b[16+4*i:], w)
		}
		s.request(p, b)
		r := p.resps[len(p.resps)-1]
		return int32(le32(r, 16))
	}
	if e := req(ReqGetInfo, 9); e != csNotExist {
		t.Errorf("getinfo of unknown node: %d", e)
	}
	if e := req(ReqSetExpected, 3); e != csInvalidParam {
		t.Errorf("setexpected 3 would make the quorate node inquorate: %d", e)
	}
	if e := req(ReqSetExpected, 1); e != csOK || len(m.Ready().Messages) != 1 {
		t.Errorf("setexpected 1: %d, %d messages", e, len(m.Ready().Messages))
	}
	if e := req(ReqSetVotes, 1, 9); e != csNameNotFound {
		t.Errorf("setvotes unknown node: %d", e)
	}
	if e := req(ReqTrackStop); e != csNotExist {
		t.Errorf("trackstop without track: %d", e)
	}
	if e := req(ReqQdeviceRegister); e != csAccess {
		t.Errorf("qdevice register: %d", e)
	}
	if e := req(ReqQdeviceUnregister); e != csNotExist {
		t.Errorf("qdevice unregister: %d", e)
	}
	// Tracking: a ring change sends nodelist and quorum events with the context.
	b := ipc.NewRequest(ReqTrackStart, 16)
	binary.LittleEndian.PutUint64(b[16:], 0xabc)
	binary.LittleEndian.PutUint32(b[24:], TrackChanges)
	s.request(p, b)
	p.events = nil
	m.SyncInit([]uint32{1, 2}, RingID{Rep: 1, Seq: 0x30})
	m.SyncProcess()
	for _, msg := range m.Ready().Messages {
		_ = m.Deliver(1, msg)
	}
	_ = m.Deliver(2, (&NodeInfo{NodeID: 2, Votes: 1, ExpectedVotes: 2, Flags: FlagQuorate}).Marshal())
	m.SyncActivate()
	rd := m.Ready()
	m.Advance()
	s.Apply(m, rd.Quorum)
	if len(p.events) < 2 {
		t.Fatalf("events: %d", len(p.events))
	}
	nl := p.events[0]
	if le32(nl, 0) != ResNodelistNotification || binary.LittleEndian.Uint64(nl[24:]) != 0xabc || le32(nl, 48) != 2 {
		t.Errorf("nodelist event %x", nl)
	}
	q := p.events[len(p.events)-1]
	if le32(q, 0) != ResQuorumNotification || le32(q, 40) != 2 || len(q) != 48+16 {
		t.Errorf("quorum event %x", q)
	}
}

// FuzzServiceRequest: any bytes are answered once (GETINFO 320 bytes, others 24)
// and never panic.
func FuzzServiceRequest(f *testing.F) {
	for id := int32(-1); id <= 10; id++ {
		f.Add(ipc.NewRequest(id, 16))
	}
	f.Add([]byte{0})
	m := oneNode(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newTestService(m)
		p := &svcPeer{}
		s.accept(p)
		s.request(p, b)
		if len(p.resps) != 1 {
			t.Fatalf("%d responses", len(p.resps))
		}
		if int(le32(p.resps[0], 8)) != len(p.resps[0]) {
			t.Fatalf("size field")
		}
		m.Advance()
	})
}
