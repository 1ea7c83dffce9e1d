package svcsync

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"ringmaster/internal/pcap"
	"ringmaster/internal/testenv"
	"ringmaster/totem/pg"
	"ringmaster/totem/wire"
)

// recorder is a service that logs its callbacks and can hold back its process.
type recorder struct {
	node, id int
	log      *[]string
	busy     int // SyncProcess answers "not done" this many times
}

func (r *recorder) rec(s string) { *r.log = append(*r.log, fmt.Sprintf("n%d s%d %s", r.node, r.id, s)) }
func (r *recorder) SyncInit(trans, members []uint32, ring []byte) {
	r.rec(fmt.Sprintf("init trans=%v members=%v", trans, members))
}
func (r *recorder) SyncProcess() bool {
	if r.busy > 0 {
		r.busy--
		r.rec("process (busy)")
		return false
	}
	r.rec("process")
	return true
}
func (r *recorder) SyncActivate() { r.rec("activate") }
func (r *recorder) SyncAbort()    { r.rec("abort") }

func ring3(rep uint32, seq uint64) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b, rep)
	binary.LittleEndian.PutUint64(b[4:], seq)
	return b
}

type bus struct {
	ms   map[uint32]*Machine
	msgs []struct {
		from uint32
		b    []byte
	}
	done map[uint32]bool
}

func (b *bus) collect(id uint32) {
	m := b.ms[id]
	rd := m.Ready()
	m.Advance()
	for _, msg := range rd.Messages {
		b.msgs = append(b.msgs, struct {
			from uint32
			b    []byte
		}{id, msg})
	}
	if rd.Completed {
		b.done[id] = true
	}
}

// run delivers queued messages to every member in one agreed order until quiet,
// polling pending services between rounds.
func (b *bus) run(t *testing.T, members []uint32) {
	for round := 0; round < 100; round++ {
		for _, id := range members {
			b.collect(id)
		}
		if len(b.msgs) == 0 {
			pending := false
			for _, id := range members {
				if b.ms[id].Ready().Pending {
					pending = true
					b.ms[id].Process()
				}
			}
			if !pending {
				return
			}
			continue
		}
		msgs := b.msgs
		b.msgs = nil
		for _, msg := range msgs {
			for _, id := range members {
				if err := b.ms[id].Deliver(msg.from, msg.b); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	t.Fatal("sync did not settle")
}

func TestSyncRound(t *testing.T) {
	var log []string
	b := &bus{ms: map[uint32]*Machine{}, done: map[uint32]bool{}}
	members := []uint32{1, 2, 3}
	for _, n := range members {
		var entries []Entry
		for _, id := range []int{5, 0, 2} { // registered out of order: sorted by id
			r := &recorder{node: int(n), id: id, log: &log}
			if n == 2 && id == 2 {
				r.busy = 2
			}
			entries = append(entries, Entry{ID: id, Name: fmt.Sprint("svc", id), Service: r})
		}
		if n == 3 {
			// Node 3 alone knows service 7; the others add it as a no-op.
			entries = append(entries, Entry{ID: 7, Name: "svc7", Service: &recorder{node: 3, id: 7, log: &log}})
		}
		b.ms[n] = New(entries...)
		b.ms[n].SaveTransitional([]uint32{n, 9})
		b.ms[n].Start(members, ring3(1, 8))
	}
	b.run(t, members)
	for _, n := range members {
		if !b.done[n] {
			t.Fatalf("node %d did not complete", n)
		}
	}
	// Per node, services run strictly in id order: every activate of service k
	// comes after all inits and before any process of the next service.
	for _, n := range members {
		var seq []string
		for _, l := range log {
			if strings.HasPrefix(l, fmt.Sprintf("n%d ", n)) {
				seq = append(seq, strings.TrimPrefix(l, fmt.Sprintf("n%d ", n)))
			}
		}
		want := []string{
			fmt.Sprintf("s0 init trans=[%d] members=[1 2 3]", n), fmt.Sprintf("s2 init trans=[%d] members=[1 2 3]", n),
			fmt.Sprintf("s5 init trans=[%d] members=[1 2 3]", n),
		}
		if n == 3 {
			want = append(want, "s7 init trans=[3] members=[1 2 3]")
		}
		want = append(want, "s0 process", "s0 activate")
		if n == 2 {
			want = append(want, "s2 process (busy)", "s2 process (busy)")
		}
		want = append(want, "s2 process", "s2 activate", "s5 process", "s5 activate")
		if n == 3 {
			want = append(want, "s7 process", "s7 activate")
		}
		if strings.Join(seq, "\n") != strings.Join(want, "\n") {
			t.Fatalf("node %d callbacks:\n%s\nwant:\n%s", n, strings.Join(seq, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestStaleBarrierIgnoredAfterAbort(t *testing.T) {
	var log []string
	m := New(Entry{ID: 0, Name: "cmap", Service: &recorder{node: 1, log: &log}})
	m.Start([]uint32{1, 2}, ring3(1, 4))
	old := m.encodeBarrier()
	m.Abort()
	m.Start([]uint32{1, 2}, ring3(1, 8))
	m.Advance()
	if err := m.Deliver(2, old); err != nil {
		t.Fatal(err)
	}
	if m.Ready().Completed {
		t.Fatal("a barrier of the old ring completed the new sync")
	}
	for _, bad := range [][]byte{nil, make([]byte, 10), append(make([]byte, 8), 9, 0, 0, 0, 0, 0, 0, 0)} {
		if err := m.Deliver(2, bad); err == nil && len(bad) < 16 {
			t.Fatalf("%x accepted", bad)
		}
	}
}

// TestCaptureSyncMessages finds every message of group "sync" in the 3.x captures
// of real corosync and checks that our encoder produces the same bytes for the
// same ring id and service list, and that our decoder reads them.
func TestCaptureSyncMessages(t *testing.T) {
	files, _ := filepath.Glob(testenv.Shared(t, "testdata", "totem", "c3-*.pcap"))
	if len(files) == 0 {
		t.Fatal("no captures")
	}
	seen := map[string]bool{}
	builds, barriers := 0, 0
	for _, f := range files {
		dgs, err := pcap.UDPFile(f)
		if err != nil {
			t.Fatal(err)
		}
		asm := pg.NewAssembler()
		for _, d := range dgs {
			msg, err := wire.Decode(d.Payload, wire.V3)
			if err != nil {
				continue
			}
			mc, ok := msg.(*wire.Mcast)
			if !ok || mc.Encapsulated == 1 { // 1: a recovery copy of an old-ring message
				continue
			}
			key := fmt.Sprintf("%d/%s/%d", mc.From.Node, mc.RingID, mc.Seq)
			if seen[key] {
				continue // the same mcast seen on its way to each node
			}
			seen[key] = true
			full, err := asm.Deliver(uint32(mc.From.Node), mc.Payload, false)
			if err != nil {
				t.Fatalf("%s frame %d: %v", filepath.Base(f), d.Frame, err)
			}
			for _, m := range full {
				groups, body, err := pg.SplitGroups(m, false)
				if err != nil || !pg.InGroup(groups, "sync") {
					continue
				}
				ring := body[16:28]
				sm := New()
				sm.ring = append([]byte(nil), ring...)
				switch binary.LittleEndian.Uint32(body) {
				case msgServiceBuild:
					n := int(binary.LittleEndian.Uint32(body[32:]))
					var ids []int32
					for i := 0; i < n; i++ {
						ids = append(ids, int32(binary.LittleEndian.Uint32(body[40+4*i:])))
					}
					if got := sm.encodeServiceBuild(ids); !bytes.Equal(got, body) {
						t.Fatalf("%s frame %d: SERVICE_BUILD differs:\n got %x\nwant %x", filepath.Base(f), d.Frame, got, body)
					}
					builds++
				case msgBarrier:
					if got := sm.encodeBarrier(); !bytes.Equal(got, body) {
						t.Fatalf("%s frame %d: BARRIER differs", filepath.Base(f), d.Frame)
					}
					barriers++
				}
				sm.members = []uint32{uint32(mc.From.Node)}
				sm.got = map[uint32]bool{}
				if err := sm.Deliver(uint32(mc.From.Node), body); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if builds == 0 || barriers == 0 {
		t.Fatalf("found %d SERVICE_BUILD and %d BARRIER", builds, barriers)
	}
	t.Logf("%d SERVICE_BUILD and %d BARRIER messages of real corosync re-encoded byte for byte", builds, barriers)
}

func FuzzDeliver(f *testing.F) {
	m := New()
	m.ring = ring3(1, 4)
	f.Add(m.encodeServiceBuild([]int32{0, 2, 3, 5}))
	f.Add(m.encodeBarrier())
	f.Fuzz(func(t *testing.T, b []byte) {
		var log []string
		m := New(Entry{ID: 2, Name: "cpg", Service: &recorder{log: &log}})
		m.Start([]uint32{1, 2}, ring3(1, 4))
		_ = m.Deliver(2, b)
		_ = m.Deliver(1, b)
	})
}
