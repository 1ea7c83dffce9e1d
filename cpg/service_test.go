package cpg

import (
	"encoding/binary"
	"testing"

	"ringmaster/ipc"
)

type svcPeer struct{ resps, events [][]byte }

func (p *svcPeer) Respond(m []byte) error   { p.resps = append(p.resps, m); return nil }
func (p *svcPeer) SendEvent(m []byte) error { p.events = append(p.events, m); return nil }

// loop is a one-node ring: what the machine multicasts is delivered back to it
// at once, and its output goes to the service, as the daemon does.
type loop struct {
	m *Machine
	s *Service
}

func newLoop() *loop {
	l := &loop{m: New(1)}
	l.s = NewService(ServiceOptions{NodeID: 1, Run: func(f func(*Machine)) { f(l.m); l.flush() }})
	l.m.SyncInit([]uint32{1}, []uint32{1}, ringBytes(1, 4))
	l.m.SyncProcess()
	l.flush()
	l.m.SyncActivate()
	l.flush()
	return l
}

func ringBytes(rep uint32, seq uint64) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b, rep)
	binary.LittleEndian.PutUint64(b[4:], seq)
	return b
}

func (l *loop) flush() {
	for i := 0; i < 16; i++ {
		rd := l.m.Ready()
		l.m.Advance()
		l.s.Apply(rd)
		if len(rd.Messages) == 0 {
			return
		}
		for _, msg := range rd.Messages {
			_ = l.m.Deliver(1, msg, false)
		}
	}
}

func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

func joinReq(group string, pid, flags uint32) []byte {
	b := ipc.NewRequest(ReqJoin, libJoinSize-16)
	putName(b[16:], group)
	binary.LittleEndian.PutUint32(b[152:], pid)
	binary.LittleEndian.PutUint32(b[160:], flags)
	return b
}

func leaveReq(group string, pid uint32) []byte {
	b := ipc.NewRequest(ReqLeave, libLeaveSize-16)
	putName(b[16:], group)
	binary.LittleEndian.PutUint32(b[152:], pid)
	return b
}

func mcastReq(data string) []byte {
	b := make([]byte, libMcastHeader+len(data))
	ipc.PutResponseHeader(b, ipc.ResponseHeader{ID: ReqMcast, Size: int32(len(b))})
	binary.LittleEndian.PutUint32(b[24:], 2)
	binary.LittleEndian.PutUint32(b[32:], uint32(len(data)))
	copy(b[libMcastHeader:], data)
	return b
}

// TestLibraryLifecycle follows the sequence of the cpg capture
// (cpg-join-mcast-leave-cmap-track.txt): join, confchg, totem confchg,
// membership, mcast and its delivery, leave, confchg, finalize; with the
// state table's refusals on the way.
func TestLibraryLifecycle(t *testing.T) {
	l := newLoop()
	p := &svcPeer{}
	l.s.accept(p)
	last := func() []byte { return p.resps[len(p.resps)-1] }
	l.s.request(p, ipc.NewRequest(ReqLocalGet, 0))
	if le32(last(), 0) != ResLocalGet || le32(last(), 24) != 1 || len(last()) != 32 {
		t.Fatalf("local get %x", last())
	}
	l.s.request(p, leaveReq("ipcvec", 42))
	if int32(le32(last(), 16)) != csNotExist {
		t.Errorf("leave before join: %d", le32(last(), 16))
	}
	l.s.request(p, mcastReq("early"))
	n := len(p.resps)
	l.s.request(p, joinReq("ipcvec", 42, FlagDeliverInitialTotemConf))
	if len(p.resps) != n+1 || int32(le32(last(), 16)) != csOK {
		t.Fatalf("join: %x", last())
	}
	if len(p.events) != 2 {
		t.Fatalf("events after join: %d", len(p.events))
	}
	cc, tc := p.events[0], p.events[1]
	if le32(cc, 0) != ResConfChg || len(cc) != confchgFixed+2*addressSize || le32(cc, 160) != 1 || le32(cc, 168) != 1 ||
		le32(cc, 184) != 1 || le32(cc, 192) != 42 || le32(cc, 208+16) != ReasonJoin {
		t.Errorf("confchg %x", cc)
	}
	if le32(tc, 0) != ResTotemConfChg || len(tc) != 52 || le32(tc, 24) != 1 || le32(tc, 32) != 4 || le32(tc, 44) != 1 {
		t.Errorf("totem confchg %x", tc)
	}
	l.s.request(p, joinReq("ipcvec", 42, 0))
	if int32(le32(last(), 16)) != csExist {
		t.Errorf("second join: %d", le32(last(), 16))
	}
	m := ipc.NewRequest(ReqMembership, libMembershipReq-16)
	putName(m[16:], "ipcvec")
	l.s.request(p, m)
	if len(last()) != membershipResSize || le32(last(), 24) != 1 || le32(last(), 40) != 42 {
		t.Errorf("membership %x", last()[:64])
	}
	p.events = nil
	n = len(p.resps)
	l.s.request(p, mcastReq("hello-cpg"))
	if len(p.resps) != n {
		t.Errorf("mcast was answered")
	}
	if len(p.events) != 1 || le32(p.events[0], 0) != ResDeliver || len(p.events[0]) != deliverFixed+9 ||
		string(p.events[0][deliverFixed:]) != "hello-cpg" || le32(p.events[0], 168) != 1 || le32(p.events[0], 176) != 42 {
		t.Fatalf("delivery %x", p.events)
	}
	p.events = nil
	l.s.request(p, leaveReq("ipcvec", 42))
	if int32(le32(last(), 16)) != csOK || len(p.events) != 1 || le32(p.events[0], 176) != 1 || le32(p.events[0], 184+16) != ReasonLeave {
		t.Errorf("leave: %x %x", last(), p.events)
	}
	// 3.1.7 keeps the connection's pid and group after its leave, so the same
	// join is refused as a duplicate.
	l.s.request(p, joinReq("ipcvec", 42, 0))
	if int32(le32(last(), 16)) != csExist {
		t.Errorf("join after leave: %d", le32(last(), 16))
	}
	l.s.request(p, ipc.NewRequest(ReqFinalize, 0))
	if le32(last(), 0) != ResFinalize || int32(le32(last(), 16)) != csOK {
		t.Errorf("finalize %x", last())
	}
}

// TestIterationAndProcDown: cpgtool's ITERATION of all groups, grouped as cpg.c
// groups them, and a client that exits while joined leaves with PROCDOWN.
func TestIterationAndProcDown(t *testing.T) {
	l := newLoop()
	a, b, c, watcher := &svcPeer{}, &svcPeer{}, &svcPeer{}, &svcPeer{}
	for _, p := range []*svcPeer{a, b, c, watcher} {
		l.s.accept(p)
	}
	l.s.request(a, joinReq("g1", 10, 0))
	l.s.request(b, joinReq("g2", 20, 0))
	l.s.request(c, joinReq("g1", 30, 0))
	l.s.request(watcher, joinReq("g1", 40, 0))
	it := ipc.NewRequest(ReqIterationInitialize, libIterInitReq-16)
	binary.LittleEndian.PutUint32(it[152:], IterAll)
	l.s.request(watcher, it)
	h := binary.LittleEndian.Uint64(watcher.resps[len(watcher.resps)-1][24:])
	var got []string
	for i := 0; i < 10; i++ {
		nx := ipc.NewRequest(ReqIterationNext, 8)
		binary.LittleEndian.PutUint64(nx[16:], h)
		l.s.request(watcher, nx)
		r := watcher.resps[len(watcher.resps)-1]
		if int32(le32(r, 16)) == csNoSections {
			break
		}
		name, _ := readName(r[24:])
		got = append(got, name+":"+string(rune('0'+le32(r, 164)/10)))
	}
	want := []string{"g2:2", "g1:1", "g1:4", "g1:3"}
	if len(got) != len(want) {
		t.Fatalf("iteration %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("iteration %v, want %v", got, want)
		}
	}
	watcher.events = nil
	l.s.closed(a)
	if len(watcher.events) != 1 || le32(watcher.events[0], 176) != 1 || le32(watcher.events[0], 184+2*addressSize+16) != ReasonProcDown {
		t.Errorf("procdown confchg %x", watcher.events)
	}
}

// FuzzServiceRequest: any bytes on a connection in any state give at most one
// answer of the right size and never a panic.
func FuzzServiceRequest(f *testing.F) {
	for id := int32(-1); id <= 13; id++ {
		f.Add(ipc.NewRequest(id, 200), false)
	}
	f.Add(joinReq("x", 1, 0), true)
	f.Add(mcastReq("abc"), true)
	f.Add([]byte{2, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, b []byte, joined bool) {
		l := newLoop()
		p := &svcPeer{}
		l.s.accept(p)
		if joined {
			l.s.request(p, joinReq("fuzz", 7, 0))
		}
		n := len(p.resps)
		l.s.request(p, b)
		if len(p.resps) > n+1 {
			t.Fatalf("%d answers", len(p.resps)-n)
		}
		for _, r := range append(p.resps, p.events...) {
			if int(le32(r, 8)) != len(r) {
				t.Fatalf("size field %d for %d bytes", le32(r, 8), len(r))
			}
		}
		l.s.closed(p)
	})
}
