// Package quorumtool is corosync-quorumtool (tools/corosync-quorumtool.c at
// corosync v3.1.7): quorum and membership status, node votes and expected
// votes, talking to the cmap, quorum, cfg and votequorum services of a running
// corosync. It collects a typed Status and renders it as the C tool prints it;
// messages, exit codes (0 quorate, 2 not quorate, 1 error) and option syntax
// (getopt) are the tool's.
package quorumtool

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"ringmaster/internal/getopt"
	"sort"
	"strconv"
	"strings"
	"time"

	"ringmaster/cfg"
	"ringmaster/cmap"
	"ringmaster/ipc"
	"ringmaster/quorumsvc"
	"ringmaster/votequorum"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitNotQuorate  = 2
	version         = "3.1.7"
	optSpec         = "VHaslpmfe:v:hin:o:"
	csTrackCurrent  = 1
	csTrackChanges  = 2
	maxNamePerNodes = 8
)

// Env is what the tool talks to; zero fields mean the real services.
type Env struct {
	Prog           string
	Stdout, Stderr io.Writer
	Now            func() time.Time
	IPC            ipc.ClientOptions
	// LookupAddr is getnameinfo for a node address (default: the resolver,
	// numeric when there is no name).
	LookupAddr func(netip.Addr) string
}

type sortType int

const (
	sortAddr sortType = iota
	sortNodeID
	sortName
)

type options struct {
	command     byte // 's', 'l', 'm', 'v', 'e', 'f'
	hex         bool
	ip          bool
	all         bool
	parsable    bool
	sort        sortType
	votes       uint32
	nodeID      uint32
	nodeIDSet   bool
	expectedArg uint32
}

// Usage is show_usage's text for program name prog.
func Usage(prog string) string {
	return "usage: \n" + prog + " <options>\n\n  options:\n\n" +
		"  -s             show quorum status\n" +
		"  -m             constantly monitor quorum status\n" +
		"  -l             list nodes\n" +
		"  -a             show all names or addresses for each node\n" +
		"  -p             when used with -s or -l, generates machine parsable output\n" +
		"  -v <votes>     change the number of votes for a node (*)\n" +
		"  -n <nodeid>    optional nodeid of node for -v\n" +
		"  -e <expected>  change expected votes for the cluster (*)\n" +
		"  -H             show nodeids in hexadecimal rather than decimal\n" +
		"  -i             show node IP addresses instead of the resolved name\n" +
		"  -o <a|n|i>     order by [a] IP address (default), [n] name, [i] nodeid\n" +
		"  -f             forcefully unregister a quorum device *DANGEROUS* (*)\n" +
		"  -h             show this help text\n" +
		"  -V             show version and exit\n" +
		"\n  (*) Starred items only work if votequorum is the quorum provider for corosync\n\n"
}

// strtonum is corosync's util_strtonum: a whole decimal number within [min, max].
func strtonum(s string, lo, hi int64) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimLeft(s, " \t"), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// Run is main(): it parses args (without the program name) and returns the exit code.
func Run(args []string, env Env) int {
	if env.Prog == "" {
		env.Prog = "corosync-quorumtool"
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.LookupAddr == nil {
		env.LookupAddr = lookupAddr
	}
	o := options{command: 's'}
	parsed, _, bad := getopt.Parse(args, optSpec)
	for _, op := range parsed {
		switch op.C {
		case 'f':
			o.command = 'f'
		case 's':
			o.command = 's'
		case 'a':
			o.all = true
		case 'm':
			o.command = 'm'
		case 'i':
			o.ip = true
		case 'H':
			o.hex = true
		case 'l':
			o.command = 'l'
		case 'p':
			o.parsable = true
		case 'e':
			n, ok := strtonum(op.Arg, 1, 1<<31-1)
			if !ok {
				fmt.Fprint(env.Stderr, "New expected votes value was not valid, try a positive number\n")
				return ExitFailure
			}
			o.votes, o.command = uint32(n), 'e'
		case 'n':
			n, ok := strtonum(op.Arg, 1, 1<<32-1)
			if !ok {
				fmt.Fprint(env.Stderr, "The nodeid was not valid, try a positive number\n")
				return ExitFailure
			}
			o.nodeID, o.nodeIDSet = uint32(n), true
		case 'v':
			n, ok := strtonum(op.Arg, 0, 1<<31-1)
			if !ok {
				fmt.Fprint(env.Stderr, "New votes value was not valid, try a positive number or zero\n")
				return ExitFailure
			}
			o.votes, o.command = uint32(n), 'v'
		case 'o':
			switch op.Arg {
			case "a":
				o.sort = sortAddr
			case "i":
				o.sort = sortNodeID
			case "n":
				o.sort = sortName
			default:
				fmt.Fprint(env.Stderr, "Invalid ordering option. valid orders are a(address), i(node ID) or n(name)\n")
				return ExitFailure
			}
		case 'V':
			fmt.Fprintf(env.Stdout, "corosync-quorumtool version: %s\n", version)
			return ExitOK
		case 'h':
			fmt.Fprint(env.Stdout, Usage(env.Prog))
			return ExitOK
		}
	}
	if bad != "" {
		fmt.Fprintf(env.Stderr, "%s: %s\n", env.Prog, bad)
		fmt.Fprint(env.Stdout, Usage(env.Prog))
		return ExitFailure
	}
	t := &tool{env: env, o: o}
	defer t.closeAll()
	if !t.initAll() {
		return ExitFailure
	}
	switch o.command {
	case 'l':
		return t.showNodes()
	case 'm':
		return t.monitor()
	case 'v':
		if t.usingVotequorum() <= 0 {
			fmt.Fprint(env.Stderr, "You cannot change node votes, corosync is not using votequorum\n")
			return ExitFailure
		}
		id := o.nodeID
		if !o.nodeIDSet {
			id = t.ourID
		}
		if err := t.vq.SetVotes(id, o.votes); err != nil {
			fmt.Fprintf(env.Stderr, "Unable to set votes %d for nodeid: %d: %s\n", o.votes, id, csName(err))
			return ExitFailure
		}
		return ExitOK
	case 'e':
		if t.usingVotequorum() <= 0 {
			fmt.Fprint(env.Stderr, "You cannot change expected votes, corosync is not using votequorum\n")
			return ExitFailure
		}
		if err := t.vq.SetExpected(o.votes); err != nil {
			fmt.Fprintf(env.Stderr, "Unable to set expected votes: %s\n", csName(err))
			return ExitFailure
		}
		return ExitOK
	case 'f':
		if t.usingVotequorum() <= 0 {
			fmt.Fprint(env.Stderr, "You cannot unregister quorum device, corosync is not using votequorum\n")
			return ExitFailure
		}
		return t.unregisterQdevice()
	}
	return t.showStatus()
}

// csName is cs_strerror of an error from the clients.
func csName(err error) string {
	var e cmap.Error
	if errors.As(err, &e) {
		return e.String()
	}
	return cmap.Code(err).String()
}

type tool struct {
	env   Env
	o     options
	cmap  *cmap.Client
	q     *quorumsvc.Client
	c     *cfg.Client
	vq    *votequorum.Client
	ourID uint32

	quorate bool
	ringRep uint32
	ringSeq uint64
	view    []uint32
}

func (t *tool) initAll() bool {
	var err error
	if t.cmap, err = cmap.Dial(cmap.ClientOptions{IPC: t.env.IPC}); err != nil {
		t.cmap = nil
		fmt.Fprint(t.env.Stderr, "Cannot initialize CMAP service\n")
		return false
	}
	if t.q, err = quorumsvc.Dial(quorumsvc.ModelV0, t.env.IPC); err != nil {
		t.q = nil
		fmt.Fprint(t.env.Stderr, "Cannot initialize QUORUM service\n")
		return false
	}
	if t.c, err = cfg.Dial(t.env.IPC); err != nil {
		t.c = nil
		fmt.Fprint(t.env.Stderr, "Cannot initialise CFG service\n")
		return false
	}
	if t.usingVotequorum() <= 0 {
		return true
	}
	if t.vq, err = votequorum.DialClient(t.env.IPC); err != nil {
		t.vq = nil
		fmt.Fprint(t.env.Stderr, "Cannot initialise VOTEQUORUM service\n")
		return false
	}
	v, err := t.cmap.Get("runtime.votequorum.this_node_id")
	id, ok := v.AsUint()
	if err != nil || !ok {
		fmt.Fprint(t.env.Stderr, "Unable to retrieve this_node_id\n")
		return false
	}
	t.ourID = uint32(id)
	return true
}

func (t *tool) closeAll() {
	if t.cmap != nil {
		t.cmap.Close()
	}
	if t.q != nil {
		t.q.Close()
	}
	if t.c != nil {
		t.c.Close()
	}
	if t.vq != nil {
		t.vq.Close()
	}
}

// quorumType is get_quorum_type: "" when quorum is free or unset.
func (t *tool) quorumType() (string, bool) {
	if t.q == nil || t.q.Type == quorumsvc.TypeFree {
		return "", false
	}
	v, err := t.cmap.Get("quorum.provider")
	if err != nil {
		return "", false
	}
	return strings.TrimRight(string(v.Data), "\x00"), true
}

// usingVotequorum is using_votequorum: -1 unknown, 0 another provider, 1 votequorum.
func (t *tool) usingVotequorum() int {
	q, ok := t.quorumType()
	if !ok {
		return -1
	}
	if q == "corosync_votequorum" {
		return 1
	}
	return 0
}

// fetchQuorum is the trackstart(CS_TRACK_CURRENT) + dispatch of the quorum
// notification.
func (t *tool) fetchQuorum() error {
	if err := t.q.TrackStart(csTrackCurrent); err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to start quorum status tracking: %s\n", csName(err))
		return err
	}
	n, err := t.q.NextNotification(-1)
	if err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to dispatch quorum status: %s\n", csName(err))
		return err
	}
	t.quorate, t.ringSeq, t.view = n.Quorate, n.RingSeq, n.Members
	return nil
}

// fetchVotequorum waits for the nodelist callback, which carries the ring's
// representative.
func (t *tool) fetchVotequorum(flags uint32) error {
	if t.vq == nil {
		err := cmap.ErrBadHandle
		fmt.Fprintf(t.env.Stderr, "Unable to start votequorum status tracking: %s\n", csName(err))
		return err
	}
	if err := t.vq.TrackStart(0, flags); err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to start votequorum status tracking: %s\n", csName(err))
		return err
	}
	return t.waitNodelist()
}

func (t *tool) waitNodelist() error {
	for {
		ev, err := t.vq.NextEvent(-1)
		if err != nil {
			fmt.Fprintf(t.env.Stderr, "Unable to dispatch votequorum status: %s\n", csName(err))
			return err
		}
		if ev.Kind == votequorum.ResNodelistNotification {
			t.ringRep = ev.Ring.Rep
			return nil
		}
	}
}

func (t *tool) showStatus() int {
	quorate, err := t.q.Quorate()
	if err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to get cluster quorate status: %s\n", csName(err))
		return ExitFailure
	}
	if t.fetchQuorum() != nil {
		return ExitFailure
	}
	if err := t.q.TrackStop(); err != nil {
		fmt.Fprint(t.env.Stderr, "Unable to stop quorum status tracking: success\n")
	}
	if t.usingVotequorum() != 0 {
		if t.fetchVotequorum(csTrackCurrent) != nil {
			return ExitFailure
		}
	}
	if t.display(quorate) != nil {
		return ExitFailure
	}
	if !quorate {
		return ExitNotQuorate
	}
	return ExitOK
}

func (t *tool) showNodes() int {
	if err := t.q.TrackStart(csTrackCurrent); err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to start quorum status tracking: %s\n", csName(err))
		return ExitFailure
	}
	n, err := t.q.NextNotification(-1)
	if err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to dispatch quorum status: %s\n", csName(err))
		return ExitFailure
	}
	t.view = n.Members
	io.WriteString(t.env.Stdout, t.nodesText())
	return ExitOK
}

func (t *tool) monitor() int {
	if t.q.Type == quorumsvc.TypeFree {
		fmt.Fprint(t.env.Stdout, "\nQuorum is not configured - cannot monitor\n")
		return t.showStatus()
	}
	if err := t.q.TrackStart(csTrackChanges); err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to start quorum status tracking: %s\n", csName(err))
		return ExitFailure
	}
	if t.usingVotequorum() != 0 {
		if err := t.vq.TrackStart(0, csTrackChanges); err != nil {
			fmt.Fprintf(t.env.Stderr, "Unable to start votequorum status tracking: %s\n", csName(err))
			return ExitFailure
		}
	}
	for {
		n, err := t.q.NextNotification(-1)
		if err != nil {
			fmt.Fprintf(t.env.Stderr, "Unable to dispatch quorum status: %s\n", csName(err))
			return ExitFailure
		}
		t.quorate, t.ringSeq, t.view = n.Quorate, n.RingSeq, n.Members
		if t.usingVotequorum() != 0 && t.waitNodelist() != nil {
			return ExitFailure
		}
		err = t.display(t.quorate)
		fmt.Fprint(t.env.Stdout, "\n")
		if err != nil {
			fmt.Fprintf(t.env.Stderr, "Unable to display quorum data: %s\n", csName(err))
			return ExitFailure
		}
	}
}

func (t *tool) unregisterQdevice() int {
	in, err := t.vq.GetInfo(t.ourID)
	if err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to get quorum device info: %s\n", csName(err))
		return ExitFailure
	}
	if in.Flags&votequorum.InfoQdeviceRegistered == 0 {
		return ExitOK
	}
	if err := t.vq.QdeviceUnregister(in.QdeviceName); err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to unregister quorum device: %s\n", csName(err))
		return ExitFailure
	}
	return ExitOK
}

// display is display_quorum_data.
func (t *tool) display(quorate bool) error {
	var b strings.Builder
	b.WriteString("Quorum information\n------------------\n")
	fmt.Fprintf(&b, "Date:             %s\n", t.env.Now().Format("Mon Jan _2 15:04:05 2006"))
	qt, ok := t.quorumType()
	if !ok {
		qt = "Not configured"
	}
	fmt.Fprintf(&b, "Quorum provider:  %s\n", qt)
	fmt.Fprintf(&b, "Nodes:            %d\n", len(t.view))
	if t.o.hex {
		fmt.Fprintf(&b, "Node ID:          0x%08x\n", t.ourID)
	} else {
		fmt.Fprintf(&b, "Node ID:          %d\n", t.ourID)
	}
	if t.vq != nil {
		fmt.Fprintf(&b, "Ring ID:          %x.%x\n", t.ringRep, t.ringSeq)
	} else {
		fmt.Fprintf(&b, "Ring ID:          %x\n", t.ringSeq)
	}
	yes := "No"
	if quorate {
		yes = "Yes"
	}
	fmt.Fprintf(&b, "Quorate:          %s\n", yes)
	if t.vq == nil {
		io.WriteString(t.env.Stdout, b.String())
		return nil
	}
	in, err := t.vq.GetInfo(t.ourID)
	if err == nil || errors.Is(err, cmap.ErrNotExist) {
		b.WriteString("\nVotequorum information\n----------------------\n")
		fmt.Fprintf(&b, "Expected votes:   %d\n", in.ExpectedVotes)
		fmt.Fprintf(&b, "Highest expected: %d\n", in.HighestExpected)
		fmt.Fprintf(&b, "Total votes:      %d\n", in.TotalVotes)
		blocked := "Activity blocked"
		if in.Flags&votequorum.InfoQuorate != 0 {
			blocked = " "
		}
		fmt.Fprintf(&b, "Quorum:           %d %s\n", in.Quorum, blocked)
		b.WriteString("Flags:            ")
		for _, f := range []struct {
			bit  uint32
			name string
		}{{votequorum.InfoTwoNode, "2Node"}, {votequorum.InfoQuorate, "Quorate"}, {votequorum.InfoWaitForAll, "WaitForAll"},
			{votequorum.InfoLastManStanding, "LastManStanding"}, {votequorum.InfoAutoTieBreaker, "AutoTieBreaker"},
			{votequorum.InfoAllowDownscale, "AllowDownscale"}, {votequorum.InfoQdeviceRegistered, "Qdevice"}} {
			if in.Flags&f.bit != 0 {
				b.WriteString(f.name + " ")
			}
		}
		b.WriteString("\n")
	} else {
		io.WriteString(t.env.Stdout, b.String())
		b.Reset()
		fmt.Fprintf(t.env.Stderr, "Unable to get node info: %s\n", csName(err))
	}
	io.WriteString(t.env.Stdout, b.String())
	io.WriteString(t.env.Stdout, t.nodesText())
	return err
}

func padded(s string) string {
	if len(s) < 10 {
		s = strings.Repeat(" ", 10-len(s)) + s
	}
	return s + " "
}

type viewEntry struct {
	id   uint32
	name string
	info votequorum.Info
}

// nodesText is display_nodes_data.
func (t *tool) nodesText() string {
	var b strings.Builder
	entries := make([]viewEntry, len(t.view))
	showQdevice := false
	for i, id := range t.view {
		entries[i].id = id
		if t.vq != nil {
			in, err := t.vq.GetInfo(id)
			if err != nil {
				fmt.Fprintf(&b, "Unable to get node %d info\n", id)
			}
			entries[i].info = in
			if in.Flags&votequorum.InfoQdeviceRegistered != 0 {
				showQdevice = true
			}
		}
	}
	for i := range entries {
		entries[i].name = t.nodeName(entries[i].id)
	}
	b.WriteString("\nMembership information\n----------------------\n")
	b.WriteString(padded("Nodeid"))
	if t.vq != nil {
		b.WriteString(padded("Votes"))
		if showQdevice || t.o.parsable {
			b.WriteString(padded("Qdevice"))
		}
	}
	b.WriteString("Name\n")
	switch t.o.sort {
	case sortNodeID:
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].id < entries[j].id })
	case sortName:
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	}
	var ourFlags uint32
	for _, e := range entries {
		if t.o.hex {
			fmt.Fprintf(&b, "0x%08x ", e.id)
		} else {
			b.WriteString(padded(strconv.FormatUint(uint64(e.id), 10)))
		}
		if t.vq != nil {
			b.WriteString(padded(strconv.FormatUint(uint64(e.info.Votes), 10)))
			if showQdevice || t.o.parsable {
				if e.info.Flags&votequorum.InfoQdeviceRegistered != 0 {
					yn := func(bit uint32, y, n string) string {
						if e.info.Flags&bit != 0 {
							return y
						}
						return n
					}
					b.WriteString(padded(yn(votequorum.InfoQdeviceAlive, "A", "NA") + "," +
						yn(votequorum.InfoQdeviceCastVote, "V", "NV") + "," + yn(votequorum.InfoQdeviceMasterWins, "MW", "NMW")))
				} else {
					b.WriteString(padded("NR"))
				}
			}
		}
		b.WriteString(e.name)
		if e.id == t.ourID {
			b.WriteString(" (local)")
			ourFlags = e.info.Flags
		}
		b.WriteString("\n")
	}
	if showQdevice && len(entries) > 0 {
		first := entries[0].info
		if t.o.hex {
			fmt.Fprintf(&b, "0x%08x ", 0)
		} else {
			b.WriteString(padded("0"))
		}
		if ourFlags&votequorum.InfoQdeviceCastVote != 0 {
			b.WriteString(padded(strconv.FormatUint(uint64(first.QdeviceVotes), 10)))
			fmt.Fprintf(&b, "           %s\n", first.QdeviceName)
		} else {
			b.WriteString(padded("0"))
			fmt.Fprintf(&b, "           %s (votes %d)\n", first.QdeviceName, first.QdeviceVotes)
		}
	}
	return b.String()
}

// nodelistName is node_name_by_nodelist: the name: of the nodelist entry whose
// nodeid is id.
func (t *tool) nodelistName(id uint32) string {
	keys, err := t.cmap.Keys("nodelist.node.")
	if err != nil {
		return ""
	}
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k.Key, "nodelist.node.")
		if !ok {
			continue
		}
		pos, field, ok := strings.Cut(rest, ".")
		if !ok || field != "nodeid" {
			continue
		}
		if _, err := strconv.ParseUint(pos, 10, 32); err != nil {
			continue
		}
		v, err := t.cmap.Get(k.Key)
		n, isNum := v.AsUint()
		if err != nil || !isNum || uint32(n) != id {
			continue
		}
		nv, err := t.cmap.Get("nodelist.node." + pos + ".name")
		if err != nil {
			continue
		}
		return strings.TrimRight(string(nv.Data), "\x00")
	}
	return ""
}

// nodeName is node_name: the nodelist name (for names), then the addresses
// resolved or numeric.
func (t *tool) nodeName(id uint32) string {
	var b strings.Builder
	start := 0
	if !t.o.ip {
		if n := t.nodelistName(id); n != "" {
			b.WriteString(n)
			start = 1
		}
	}
	addrs, err := t.c.NodeAddrs(id)
	if err != nil {
		fmt.Fprintf(t.env.Stderr, "Unable to get node address for nodeid %d: %s\n", id, csName(err))
		return ""
	}
	n := len(addrs)
	if !t.o.all {
		n = min(n, 1)
	}
	for i := start; i < n && i < maxNamePerNodes; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if t.o.ip {
			b.WriteString(addrs[i].String())
		} else {
			b.WriteString(t.env.LookupAddr(addrs[i]))
		}
	}
	return b.String()
}

// lookupAddr is getnameinfo without NI_NAMEREQD: the host name, or the numeric
// address when there is none.
func lookupAddr(a netip.Addr) string {
	names, err := net.LookupAddr(a.String())
	if err != nil || len(names) == 0 {
		return a.String()
	}
	return strings.TrimSuffix(names[0], ".")
}
