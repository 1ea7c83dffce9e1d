package votequorum

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"ringmaster/conf"
	"ringmaster/internal/testenv"
)

// readCmapDump parses `corosync-cmapctl` output ("key (type) = value").
func readCmapDump(t *testing.T, path string) map[string]conf.Value {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^(\S+) \((\w+)\) = (.*)$`)
	types := map[string]conf.ValueType{"i8": conf.TypeI8, "u8": conf.TypeU8, "i16": conf.TypeI16, "u16": conf.TypeU16,
		"i32": conf.TypeI32, "u32": conf.TypeU32, "i64": conf.TypeI64, "u64": conf.TypeU64}
	keys := map[string]conf.Value{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if typ, ok := types[m[2]]; ok {
			n, err := strconv.ParseInt(m[3], 10, 64)
			if err != nil {
				un, _ := strconv.ParseUint(m[3], 10, 64)
				n = int64(un)
			}
			keys[m[1]] = conf.Uint(typ, uint64(n))
		} else {
			keys[m[1]] = conf.Str(m[3])
		}
	}
	return keys
}

type quorumtoolS struct {
	quorate                          bool
	expected, highest, total, quorum uint32
	blocked                          bool
	flags                            []string
	votes                            map[uint32]uint32
}

func readQuorumtoolS(t *testing.T, path string) quorumtoolS {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	q := quorumtoolS{votes: map[uint32]uint32{}}
	num := func(s string) uint32 { n, _ := strconv.Atoi(strings.Fields(s)[0]); return uint32(n) }
	inMembers := false
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "Quorate":
			q.quorate = v == "Yes"
		case "Expected votes":
			q.expected = num(v)
		case "Highest expected":
			q.highest = num(v)
		case "Total votes":
			q.total = num(v)
		case "Quorum":
			q.quorum = num(v)
			q.blocked = strings.Contains(v, "Activity blocked")
		case "Flags":
			q.flags = strings.Fields(v)
		}
		if strings.HasPrefix(strings.TrimSpace(line), "Nodeid") {
			inMembers = true
			continue
		}
		if f := strings.Fields(line); inMembers && len(f) >= 2 {
			id, err1 := strconv.ParseUint(f[0], 10, 32)
			votes, err2 := strconv.ParseUint(f[1], 10, 32)
			if err1 == nil && err2 == nil {
				q.votes[uint32(id)] = uint32(votes)
			}
		}
	}
	return q
}

func flagNames(f uint32) []string {
	var out []string
	for _, x := range []struct {
		bit  uint32
		name string
	}{{InfoTwoNode, "2Node"}, {InfoQuorate, "Quorate"}, {InfoWaitForAll, "WaitForAll"}, {InfoLastManStanding, "LastManStanding"},
		{InfoAutoTieBreaker, "AutoTieBreaker"}, {InfoAllowDownscale, "AllowDownscale"}, {InfoQdeviceRegistered, "Qdevice"}} {
		if f&x.bit != 0 {
			out = append(out, x.name)
		}
	}
	return out
}

// formRing runs one membership of the given machines the way corosync's sync does:
// sync_init everywhere, every node's sync_process messages delivered to all in one
// agreed order, then sync_activate.
func formRing(t *testing.T, ms map[uint32]*Machine, members []uint32, seq uint64) {
	ring := RingID{Rep: members[0], Seq: seq}
	var bus []struct {
		from uint32
		msg  []byte
	}
	for _, id := range members {
		m := ms[id]
		for _, msg := range m.Ready().Messages { // e.g. the NODEINFO sent at start
			bus = append(bus, struct {
				from uint32
				msg  []byte
			}{id, msg})
		}
		m.Advance()
		m.SyncInit(members, ring)
		m.SyncProcess()
		for _, msg := range m.Ready().Messages {
			bus = append(bus, struct {
				from uint32
				msg  []byte
			}{id, msg})
		}
		m.Advance()
	}
	for _, b := range bus {
		for _, id := range members {
			if err := ms[id].Deliver(b.from, b.msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range members {
		ms[id].SyncActivate()
	}
}

// TestConformance builds, for every valid configuration of the corosync
// conformance set, one machine per node that the real cluster ran, forms the ring,
// and compares node 1's GETINFO with what the real corosync-quorumtool -s printed.
func TestConformance(t *testing.T) {
	dir := testenv.Shared(t, "conformance", "corosync", "expected")
	files, _ := filepath.Glob(filepath.Join(dir, "*.quorumtool-s"))
	matched, ran := 0, 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".quorumtool-s")
		keys := readCmapDump(t, filepath.Join(dir, name+".cmapctl"))
		if _, ok := keys["quorum.provider"]; !ok {
			continue // no-quorum-provider: quorumtool has no votequorum to ask
		}
		want := readQuorumtoolS(t, f)
		var members []uint32
		for k, v := range keys {
			if strings.HasPrefix(k, "runtime.members.") && strings.HasSuffix(k, ".status") && v.String() == "joined" {
				id, _ := strconv.ParseUint(strings.Split(k, ".")[2], 10, 32)
				members = append(members, uint32(id))
			}
		}
		sort.Slice(members, func(i, j int) bool { return members[i] < members[j] })
		ran++
		ok := t.Run(name, func(t *testing.T) {
			ms := map[uint32]*Machine{}
			for _, id := range members {
				cfg, err := ConfigFromKeys(id, keys)
				if err != nil {
					t.Fatal(err)
				}
				cfg.LocalPos = -1
				for i, n := range cfg.Nodelist {
					if n.ID == id {
						cfg.LocalPos = i
					}
				}
				m, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				ms[id] = m
			}
			// Each node first runs alone, then the full ring forms.
			for _, id := range members {
				formRing(t, ms, []uint32{id}, 4)
			}
			formRing(t, ms, members, 8)
			local := members[0]
			in, err := ms[local].GetInfo(0)
			if err != nil {
				t.Fatal(err)
			}
			got := quorumtoolS{quorate: ms[local].Quorate(), expected: in.ExpectedVotes, highest: in.HighestExpected,
				total: in.TotalVotes, quorum: in.Quorum, blocked: in.Flags&InfoQuorate == 0, flags: flagNames(in.Flags), votes: map[uint32]uint32{}}
			for _, id := range members {
				ni, err := ms[local].GetInfo(id)
				if err != nil {
					t.Fatalf("GETINFO %d: %v", id, err)
				}
				got.votes[id] = ni.Votes
			}
			if strings.Join(got.flags, " ") != strings.Join(want.flags, " ") || got.quorate != want.quorate ||
				got.expected != want.expected || got.highest != want.highest || got.total != want.total ||
				got.quorum != want.quorum || got.blocked != want.blocked || len(got.votes) != len(want.votes) {
				t.Fatalf("members %v:\n got %+v\nwant %+v", members, got, want)
			}
			for id, v := range want.votes {
				if got.votes[id] != v {
					t.Fatalf("node %d votes %d, want %d", id, got.votes[id], v)
				}
			}
		})
		if ok {
			matched++
		}
	}
	t.Logf("votequorum state matches corosync-quorumtool -s for %d of %d configs with a quorum provider", matched, ran)
}
