package cpg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"ringmaster/internal/pcap"
	"ringmaster/internal/testenv"
	"ringmaster/svcsync"
	"ringmaster/totem/pg"
	"ringmaster/totem/wire"
)

// ring is a set of machines joined by an agreed-order bus with svcsync.
type ring struct {
	t    *testing.T
	cpgs map[uint32]*Machine
	seq  uint64
	out  map[uint32]*Ready // everything each node reported, accumulated
}

func newRing(t *testing.T, ids ...uint32) *ring {
	r := &ring{t: t, cpgs: map[uint32]*Machine{}, out: map[uint32]*Ready{}}
	for _, id := range ids {
		r.cpgs[id] = New(id)
		r.out[id] = &Ready{}
	}
	return r
}

func (r *ring) take(id uint32) [][]byte {
	m := r.cpgs[id]
	rd := m.Ready()
	m.Advance()
	acc := r.out[id]
	acc.ConfChgs = append(acc.ConfChgs, rd.ConfChgs...)
	acc.Deliveries = append(acc.Deliveries, rd.Deliveries...)
	if rd.Totem != nil {
		acc.Totem = rd.Totem
	}
	return rd.Messages
}

// flush delivers every pending cpg message to the given members, in node order.
func (r *ring) flush(members []uint32) {
	for {
		var msgs []struct {
			from uint32
			b    []byte
		}
		for _, id := range members {
			for _, b := range r.take(id) {
				msgs = append(msgs, struct {
					from uint32
					b    []byte
				}{id, b})
			}
		}
		if len(msgs) == 0 {
			return
		}
		for _, msg := range msgs {
			for _, id := range members {
				if err := r.cpgs[id].Deliver(msg.from, msg.b, false); err != nil {
					r.t.Fatal(err)
				}
			}
		}
	}
}

// form runs a membership change with svcsync over each group of nodes.
func (r *ring) form(groups ...[]uint32) {
	r.seq += 4
	for _, members := range groups {
		syncs := map[uint32]*svcsync.Machine{}
		rid := make([]byte, 12)
		binary.LittleEndian.PutUint32(rid, members[0])
		binary.LittleEndian.PutUint64(rid[4:], r.seq)
		for _, id := range members {
			syncs[id] = svcsync.New(svcsync.Entry{ID: ServiceID, Name: "corosync cluster closed process group service v1.01", Service: r.cpgs[id]})
			syncs[id].SaveTransitional(members)
		}
		for _, id := range members {
			syncs[id].Start(members, rid)
		}
		for round := 0; round < 20; round++ {
			var msgs []struct {
				from uint32
				b    []byte
			}
			for _, id := range members {
				rd := syncs[id].Ready()
				syncs[id].Advance()
				for _, b := range rd.Messages {
					msgs = append(msgs, struct {
						from uint32
						b    []byte
					}{id, b})
				}
			}
			// cpg's own sync messages travel in the same agreed order.
			r.flush(members)
			if len(msgs) == 0 {
				break
			}
			for _, msg := range msgs {
				for _, id := range members {
					if err := syncs[id].Deliver(msg.from, msg.b); err != nil {
						r.t.Fatal(err)
					}
				}
			}
		}
	}
}

func procs(ps ...uint32) []Process {
	var out []Process
	for i := 0; i+1 < len(ps); i += 2 {
		out = append(out, Process{Node: ps[i], Pid: ps[i+1]})
	}
	return out
}

func TestJoinMcastLeave(t *testing.T) {
	r := newRing(t, 1, 2, 3)
	all := []uint32{1, 2, 3}
	r.form(all)
	r.cpgs[1].Join("grp", 100)
	r.cpgs[2].Join("grp", 200)
	r.flush(all)
	r.cpgs[1].Mcast("grp", 100, []byte("hello"))
	r.flush(all)
	r.cpgs[2].Leave("grp", 200, ReasonLeave)
	r.flush(all)
	for _, id := range all {
		if got := r.cpgs[id].Members("grp"); !reflect.DeepEqual(got, procs(1, 100)) {
			t.Fatalf("node %d members %v", id, got)
		}
		d := r.out[id].Deliveries
		if len(d) != 1 || string(d[0].Data) != "hello" || d[0].From != (Process{1, 100}) {
			t.Fatalf("node %d deliveries %+v", id, d)
		}
		cc := r.out[id].ConfChgs
		if len(cc) != 3 || cc[1].Joined[0] != (Address{2, 200, ReasonJoin}) || !reflect.DeepEqual(cc[1].Members, procs(1, 100, 2, 200)) ||
			cc[2].Left[0] != (Address{2, 200, ReasonLeave}) || !reflect.DeepEqual(cc[2].Members, procs(1, 100)) {
			t.Fatalf("node %d confchgs %+v", id, cc)
		}
	}
}

func TestNodeDownAndUp(t *testing.T) {
	r := newRing(t, 1, 2, 3)
	all := []uint32{1, 2, 3}
	r.form(all)
	for _, id := range all {
		r.cpgs[id].Join("pcmk", id*10)
	}
	r.flush(all)
	for _, id := range all {
		r.out[id].ConfChgs = nil
	}
	// Node 3 is cut off: 1 and 2 see it go down; 3 sees 1 and 2 go down.
	r.form([]uint32{1, 2}, []uint32{3})
	for _, id := range []uint32{1, 2} {
		if got := r.cpgs[id].Members("pcmk"); !reflect.DeepEqual(got, procs(1, 10, 2, 20)) {
			t.Fatalf("node %d after split: %v", id, got)
		}
		cc := r.out[id].ConfChgs
		if len(cc) != 1 || len(cc[0].Left) != 1 || cc[0].Left[0] != (Address{3, 30, ReasonNodeDown}) {
			t.Fatalf("node %d changes %+v", id, cc)
		}
	}
	if got := r.cpgs[3].Members("pcmk"); !reflect.DeepEqual(got, procs(3, 30)) {
		t.Fatalf("node 3 after split: %v", got)
	}
	// The partition heals: joinlists bring everyone back (NODEUP).
	for _, id := range all {
		r.out[id].ConfChgs = nil
	}
	r.form(all)
	for _, id := range all {
		if got := r.cpgs[id].Members("pcmk"); !reflect.DeepEqual(got, procs(1, 10, 2, 20, 3, 30)) {
			t.Fatalf("node %d after merge: %v", id, got)
		}
		for _, c := range r.out[id].ConfChgs {
			for _, j := range c.Joined {
				if j.Reason != ReasonNodeUp {
					t.Fatalf("node %d: join reason %d, want NODEUP", id, j.Reason)
				}
			}
		}
	}
	if tm := r.out[1].Totem; tm == nil || !reflect.DeepEqual(tm.Members, all) {
		t.Fatalf("totem membership %+v", r.out[1].Totem)
	}
}

func TestLeaveInOtherPartitionNotResurrected(t *testing.T) {
	// While split, node 2's pid 7 leaves; after the merge node 1 learns node 2's
	// processes from its joinlist, which no longer has pid 7.
	r := newRing(t, 1, 2)
	all := []uint32{1, 2}
	r.form(all)
	r.cpgs[2].Join("g", 7)
	r.cpgs[2].Join("g", 8)
	r.flush(all)
	r.form([]uint32{1}, []uint32{2})
	r.cpgs[2].Leave("g", 7, ReasonLeave)
	r.flush([]uint32{2})
	r.form(all)
	for _, id := range all {
		if got := r.cpgs[id].Members("g"); !reflect.DeepEqual(got, procs(2, 8)) {
			t.Fatalf("node %d sees %v", id, got)
		}
	}
}

// TestCaptureCPGMessages checks our encoders and decoder against the CPG messages
// of real corosync in the 3.x captures (group join, messages, leave, downlist).
func TestCaptureCPGMessages(t *testing.T) {
	files, _ := filepath.Glob(testenv.Shared(t, "testdata", "totem", "c3-*.pcap"))
	seen := map[string]bool{}
	counts := map[string]int{}
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
			if !ok || mc.Encapsulated == 1 {
				continue
			}
			key := fmt.Sprintf("%d/%s/%d", mc.From.Node, mc.RingID, mc.Seq)
			if seen[key] {
				continue
			}
			seen[key] = true
			full, err := asm.Deliver(uint32(mc.From.Node), mc.Payload, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range full {
				groups, body, err := pg.SplitGroups(m, false)
				if err != nil || !pg.InGroup(groups, "a") || len(body) < 16 || binary.LittleEndian.Uint32(body)>>16 != ServiceID {
					continue
				}
				dec, err := Unmarshal(body, false)
				if err != nil {
					t.Fatalf("%s frame %d: %v", filepath.Base(f), d.Frame, err)
				}
				var re []byte
				masks := [][2]int{{20, 24}} // the name's unused 4 bytes
				switch v := dec.(type) {
				case *JoinLeave:
					re = encodeJoinLeave(v.Fn, v.Group, v.Pid, v.Reason)
					counts[fmt.Sprintf("fn%d", v.Fn)]++
				case *McastMsg:
					if v.Partial {
						continue
					}
					re = encodeMcast(v.Group, v.Pid, v.Node, v.Data)
					masks = append(masks, [2]int{176, 184}) // source.conn: a pointer in the sender
					counts["mcast"]++
				case *Downlist:
					re = encodeDownlist(v.OldMembers, v.Left)
					masks = nil
					counts["downlist"]++
				case *Joinlist:
					re = encodeJoinlist(v.Entries)
					masks = nil
					for i := range v.Entries {
						o := joinlistHeader + joinlistEntrySize*i
						masks = append(masks, [2]int{o + 4, o + 8}, [2]int{o + 12, o + 16})
					}
					counts["joinlist"]++
				}
				got, want := append([]byte(nil), re...), append([]byte(nil), body...)
				for _, mk := range masks {
					for i := mk[0]; i < mk[1] && i < len(got) && i < len(want); i++ {
						got[i], want[i] = 0, 0
					}
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s frame %d: %T re-encoded differently:\n got %x\nwant %x", filepath.Base(f), d.Frame, dec, got, want)
				}
			}
		}
	}
	if counts["fn0"] == 0 || counts["mcast"] == 0 || counts["downlist"] == 0 {
		t.Fatalf("captures gave %v", counts)
	}
	t.Logf("re-encoded identically (unused bytes masked): %v", counts)
}

func FuzzDeliver(f *testing.F) {
	f.Add(encodeJoinLeave(fnProcJoin, "g", 1, ReasonJoin))
	f.Add(encodeJoinlist([]JoinlistEntry{{Pid: 1, Group: "g"}}))
	f.Add(encodeDownlist(2, []uint32{3}))
	f.Add(encodeMcast("g", 1, 2, []byte("x")))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := New(1)
		m.SyncInit([]uint32{1, 2}, []uint32{1, 2}, make([]byte, 12))
		_ = m.Deliver(2, b, false)
		_ = m.Deliver(2, b, true)
		m.SyncProcess()
		m.SyncActivate()
	})
}
