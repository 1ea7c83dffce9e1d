package node

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"ringmaster/cmap"
	"ringmaster/conf"
	"ringmaster/cpg"
	"ringmaster/internal/corolog"
	"ringmaster/totem"
	"ringmaster/votequorum"
)

// The service engines corosync 3.1.7 runs with sync callbacks, as the node
// sees them: cmap (0), cpg (2), quorum (3) and votequorum (5); SERVICE_BUILD
// lists exactly [0, 2, 3, 5] (corosync-wire.md §5.2). Each adapter turns a
// pure machine's Ready into the node's Outbox and logs, and writes what
// corosync writes to cmap.

// Service ids and the names corosync gives them (exec/service.c and the
// engines' corosync_service_engine.name).
const (
	IDCmap       = 0
	IDCPG        = 2
	IDQuorum     = 3
	IDVotequorum = 5

	NameCmap       = "corosync configuration map access"
	NameCPG        = "corosync cluster closed process group service v1.01"
	NameQuorum     = "corosync cluster quorum service v0.1"
	NameVotequorum = "corosync vote quorum service v1.0"
)

// Corosync is the node's set of service engines.
type Corosync struct {
	node *Node
	log  Logf
	id   uint32

	Cmap       *cmap.Service
	CPG        *cpg.Machine
	Votequorum *votequorum.Machine

	cmapSvc *cmapService
	cpgSvc  *cpgService
	vqSvc   *vqService
	qSvc    *quorumService
	pSvc    *ploadService

	addrs map[uint32]netip.Addr
	// OnCPG, if set, sees every CPG output for local clients (deliveries and
	// group changes), in the node goroutine.
	OnCPG func(cpg.Ready)
	// OnQuorum, if set, sees every quorum decision.
	OnQuorum func(votequorum.QuorumChange)
	// OnShutdown, if set, is called when a service asks the node to stop
	// (cmap's config-version mismatch).
	OnShutdown func(reason string)
	// OnPloadDone, if set, gets pload's result line; corosync then exits.
	OnPloadDone func(line string)
}

// CorosyncConfig is what the engines need.
type CorosyncConfig struct {
	NodeID uint32
	// Cmap is the daemon's map service; nil makes a private one.
	Cmap *cmap.Service
	// Votequorum is the quorum configuration (votequorum.ConfigFromKeys).
	Votequorum votequorum.Config
	// Addrs are the members' ring0 addresses, for runtime.members.<id>.ip.
	Addrs map[uint32]netip.Addr
	Log   Logf
}

// NewCorosync builds the engines; Entries gives them to Config.Services and
// Attach connects them to the node once it exists.
func NewCorosync(cc CorosyncConfig) (*Corosync, error) {
	if cc.Log == nil {
		cc.Log = func(string, string, corolog.Priority, string, ...any) {}
	}
	if cc.Cmap == nil {
		cc.Cmap = cmap.NewService(nil, nil, cmap.ServiceOptions{})
	}
	vq, err := votequorum.New(cc.Votequorum)
	if err != nil {
		return nil, fmt.Errorf("votequorum: %w", err)
	}
	c := &Corosync{log: cc.Log, id: cc.NodeID, Cmap: cc.Cmap, CPG: cpg.New(cc.NodeID), Votequorum: vq, addrs: cc.Addrs}
	c.cmapSvc = &cmapService{c: c, sync: cmap.NewSync(cc.NodeID)}
	c.cpgSvc = &cpgService{c: c}
	c.vqSvc = &vqService{c: c}
	c.qSvc = &quorumService{c: c}
	c.pSvc = &ploadService{c: c}
	c.vqSvc.drain()
	return c, nil
}

// Entries are the services for Config.Services.
func (c *Corosync) Entries() []Entry {
	return []Entry{
		{ID: IDCmap, Name: NameCmap, Svc: c.cmapSvc, Sync: true},
		{ID: IDCPG, Name: NameCPG, Svc: c.cpgSvc, Sync: true},
		{ID: IDQuorum, Name: NameQuorum, Svc: c.qSvc, Sync: true},
		{ID: IDVotequorum, Name: NameVotequorum, Svc: c.vqSvc, Sync: true},
		{ID: IDPload, Name: "corosync profile loading service", Svc: c.pSvc},
	}
}

// Attach connects the engines to their node and installs the membership
// hook that keeps runtime.members.* current.
func (c *Corosync) Attach(n *Node) {
	c.node = n
	prev := n.cfg.Hooks.ConfChange
	n.cfg.Hooks.ConfChange = func(cc totem.ConfChange) {
		c.membersChanged(cc)
		if prev != nil {
			prev(cc)
		}
	}
}

// membersChanged is exec/main.c's member_object_joined / member_object_left:
// runtime.members.<id>.{ip,join_count,status}.
func (c *Corosync) membersChanged(cc totem.ConfChange) {
	c.Cmap.Update(func(ic, _ *cmap.Store) {
		if cc.Kind == totem.Transitional {
			for _, id := range cc.Left {
				_ = ic.Set(fmt.Sprintf("runtime.members.%d.status", id), conf.Str("left"))
			}
			return
		}
		for _, id := range cc.Joined {
			pfx := fmt.Sprintf("runtime.members.%d.", id)
			if v, err := ic.Get(pfx + "join_count"); err == nil {
				jc, _ := v.AsUint()
				_ = ic.Set(pfx+"join_count", conf.U32(uint32(jc)+1))
			} else {
				ip := "r(0) ip(" + c.addrs[uint32(id)].String() + ") "
				_ = ic.Set(pfx+"ip", conf.Str(ip))
				_ = ic.Set(pfx+"join_count", conf.U32(1))
			}
			_ = ic.Set(pfx+"status", conf.Str("joined"))
		}
	})
}

// --- cmap (0): config_version exchange ---

type cmapService struct {
	c    *Corosync
	sync *cmap.Sync
	out  [][]byte
}

func (s *cmapService) SyncInit(trans, _ []uint32, _ []byte) {
	s.c.Cmap.Update(func(ic, _ *cmap.Store) { s.sync.Init(ic, len(trans)) })
}

func (s *cmapService) SyncProcess() bool {
	s.c.Cmap.Update(func(ic, _ *cmap.Store) { s.out = append(s.out, s.sync.Process(ic)) })
	return true
}

func (s *cmapService) SyncActivate() {
	msg, isErr, shutdown := s.sync.Activate()
	if msg != "" {
		p := corolog.Trace
		if isErr {
			p = corolog.Error
		}
		s.c.log("CMAP", "cmap_sync_activate", p, "%s", msg)
	}
	if shutdown && s.c.OnShutdown != nil {
		s.c.OnShutdown(msg)
	}
}

func (s *cmapService) SyncAbort() {}

func (s *cmapService) Deliver(from uint32, msg []byte, _ bool) error {
	var err error
	s.c.Cmap.Update(func(ic, _ *cmap.Store) { err = s.sync.Deliver(ic, from, msg) })
	return err
}

func (s *cmapService) Outbox() [][]byte { o := s.out; s.out = nil; return o }

// --- cpg (2) ---

type cpgService struct {
	c   *Corosync
	out [][]byte
}

func (s *cpgService) drain() {
	rd := s.c.CPG.Ready()
	s.c.CPG.Advance()
	s.out = append(s.out, rd.Messages...)
	for _, l := range rd.Logs {
		s.c.log("CPG", "cpg", corolog.Trace, "%s", l)
	}
	if s.c.OnCPG != nil && (len(rd.Deliveries) > 0 || len(rd.ConfChgs) > 0 || rd.Totem != nil) {
		rd.Messages, rd.Logs = nil, nil
		s.c.OnCPG(rd)
	}
}

func (s *cpgService) SyncInit(trans, members []uint32, ring []byte) {
	s.c.CPG.SyncInit(trans, members, ring)
	s.drain()
}
func (s *cpgService) SyncProcess() bool { d := s.c.CPG.SyncProcess(); s.drain(); return d }
func (s *cpgService) SyncActivate()     { s.c.CPG.SyncActivate(); s.drain() }
func (s *cpgService) SyncAbort()        { s.c.CPG.SyncAbort(); s.drain() }
func (s *cpgService) Deliver(from uint32, msg []byte, foreign bool) error {
	err := s.c.CPG.Deliver(from, msg, foreign)
	s.drain()
	return err
}
func (s *cpgService) Outbox() [][]byte { o := s.out; s.out = nil; return o }

// CPGJoin, CPGLeave and CPGMcast are a local process's requests (libcpg);
// like corosync they wait while service synchronisation runs. Call them in
// the node goroutine (Node.Do).
func (c *Corosync) CPGJoin(group string, pid uint32) { c.CPG.Join(group, pid); c.cpgLocal() }

// CPGLeave asks for pid to leave group.
func (c *Corosync) CPGLeave(group string, pid uint32) {
	c.CPG.Leave(group, pid, cpg.ReasonLeave)
	c.cpgLocal()
}

// CPGMcast sends data to group from pid.
func (c *Corosync) CPGMcast(group string, pid uint32, data []byte) {
	c.CPG.Mcast(group, pid, data)
	c.cpgLocal()
}

func (c *Corosync) cpgLocal() {
	rd := c.CPG.Ready()
	c.CPG.Advance()
	for _, m := range rd.Messages {
		c.node.Mcast(m)
	}
}

// --- quorum (3): no messages; logs the sync membership ---

type quorumService struct {
	c       *Corosync
	members []uint32
}

// SyncInit is vsf_quorum.c quorum_sync_init: "Sync members[N]: ...", then the
// nodes that joined and left relative to the transitional membership.
func (s *quorumService) SyncInit(trans, members []uint32, _ []byte) {
	var joined, left []uint32
	for _, m := range members {
		if !has(trans, m) {
			joined = append(joined, m)
		}
	}
	for _, m := range s.members {
		if !has(trans, m) {
			left = append(left, m)
		}
	}
	s.members = append([]uint32(nil), members...)
	for _, part := range []struct {
		name string
		ids  []uint32
	}{{"members", members}, {"joined", joined}, {"left", left}} {
		if len(part.ids) == 0 {
			continue
		}
		for _, l := range votequorum.MembersLog(part.ids) {
			s.c.log("QUORUM", "log_view_list", corolog.Notice, "Sync %s", strings.Replace(l, "Members", part.name, 1))
		}
	}
}
func (s *quorumService) SyncProcess() bool                  { return true }
func (s *quorumService) SyncActivate()                      {}
func (s *quorumService) SyncAbort()                         {}
func (s *quorumService) Deliver(uint32, []byte, bool) error { return nil }
func (s *quorumService) Outbox() [][]byte                   { return nil }
func has(list []uint32, x uint32) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// --- votequorum (5) ---

type vqService struct {
	c       *Corosync
	out     [][]byte
	quorate bool
	synced  bool
}

func (s *vqService) drain() {
	rd := s.c.Votequorum.Ready()
	s.c.Votequorum.Advance()
	s.out = append(s.out, rd.Messages...)
	for _, l := range rd.Logs {
		p, ok := corolog.ParsePriority(l.Priority)
		if !ok || p >= corolog.Debug {
			p = corolog.Trace
		}
		fn := "votequorum"
		if strings.HasPrefix(l.Text, "Waiting for all cluster members") {
			fn = "are_we_quorate"
		}
		s.c.log(l.Subsys, fn, p, "%s", l.Text)
	}
	if len(rd.Cmap) > 0 {
		s.c.Cmap.Update(func(ic, _ *cmap.Store) {
			for _, u := range rd.Cmap {
				v := conf.U32(uint32(u.Value))
				if u.Type == "u8" {
					v = conf.U8(uint8(u.Value))
				}
				_ = ic.Set(u.Key, v) // CmapUpdate keys carry the runtime.votequorum. prefix
			}
		})
	}
	if q := rd.Quorum; q != nil {
		// vsf_quorum.c quorum_api_set_quorum.
		if s.quorate && !q.Quorate {
			s.c.log("QUORUM", "quorum_api_set_quorum", corolog.Notice, "This node is within the non-primary component and will NOT provide any services.")
		} else if !s.quorate && q.Quorate {
			s.c.log("QUORUM", "quorum_api_set_quorum", corolog.Notice, "This node is within the primary component and will provide service.")
		}
		s.quorate = q.Quorate
		members := q.Members
		if !s.synced {
			// Before the first ring corosync's quorum view is empty.
			members = nil
		}
		for _, l := range votequorum.MembersLog(members) {
			s.c.log("QUORUM", "log_view_list", corolog.Notice, "%s", l)
		}
		if s.c.OnQuorum != nil {
			s.c.OnQuorum(*q)
		}
	}
}

func (s *vqService) SyncInit(_, members []uint32, ring []byte) {
	var r votequorum.RingID
	if len(ring) >= 12 {
		r.Rep = binary.LittleEndian.Uint32(ring)
		r.Seq = binary.LittleEndian.Uint64(ring[len(ring)-8:])
	}
	if s.c.node != nil {
		s.c.Votequorum.SetNow(s.c.node.Now())
	}
	s.c.Votequorum.SyncInit(members, r)
	s.synced = true
	s.drain()
}
func (s *vqService) SyncProcess() bool { d := s.c.Votequorum.SyncProcess(); s.drain(); return d }
func (s *vqService) SyncActivate()     { s.c.Votequorum.SyncActivate(); s.drain() }
func (s *vqService) SyncAbort()        {}
func (s *vqService) Deliver(from uint32, msg []byte, _ bool) error {
	err := s.c.Votequorum.Deliver(from, msg)
	s.drain()
	return err
}
func (s *vqService) Outbox() [][]byte { o := s.out; s.out = nil; return o }

// Deadline is votequorum's last_man_standing timer (0 = none).
func (s *vqService) Deadline() (time.Duration, bool) {
	d := s.c.Votequorum.Ready().Deadline
	return d, d != 0
}

// Fire runs votequorum's timer.
func (s *vqService) Fire(now time.Duration) { s.c.Votequorum.Timer(now); s.drain() }

// Leaving lets votequorum announce a clean shutdown (allow_downscale).
func (c *Corosync) Leaving() { c.Votequorum.Leave(); c.vqSvc.drain() }

// Quorate reports votequorum's decision (node goroutine).
func (c *Corosync) Quorate() bool { return c.Votequorum.Quorate() }

// --- pload (4): corosync's load generator (exec/pload.c) ---
//
// Not a sync service. pload.start (with corosync's consent string) makes a
// node multicast START {count, size}; every node that delivers it multicasts
// count messages of size bytes as fast as the ring takes them, counts the
// messages it delivers, and when it has delivered count logs the rate and
// stops the daemon (corosync exits with COROSYNC_DONE_PLOAD). Same messages
// and same log line as corosync, so a ring of ours and a ring of corosync's
// can be measured the same way.

// IDPload is the pload service id.
const IDPload = 4

// PloadConsent is the value pload.start must hold.
const PloadConsent = "i_totally_understand_pload_will_crash_my_cluster_and_kill_corosync_on_exit"

type ploadService struct {
	c               *Corosync
	started         bool
	wanted, size    uint32
	sent, delivered uint32
	t1              time.Time
	out             [][]byte
	body            []byte
}

// PloadStart multicasts pload's START (pload_send_start). Node goroutine.
func (c *Corosync) PloadStart(count, size uint32) {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b[0:], IDPload<<16)
	binary.LittleEndian.PutUint32(b[8:], 24)
	binary.LittleEndian.PutUint32(b[16:], count)
	binary.LittleEndian.PutUint32(b[20:], size)
	c.log("PLOAD", "pload_read_config", corolog.Warning, "Starting pload!")
	c.node.Mcast(b)
}

// OnPloadDone, if set, is called with pload's result line; corosync exits.
func (s *ploadService) Deliver(_ uint32, msg []byte, _ bool) error {
	if len(msg) < 16 {
		return fmt.Errorf("pload: %d bytes", len(msg))
	}
	switch binary.LittleEndian.Uint32(msg) & 0xffff {
	case 0:
		if len(msg) < 24 {
			return fmt.Errorf("pload start: %d bytes", len(msg))
		}
		if s.started {
			return nil
		}
		s.started = true
		s.wanted = binary.LittleEndian.Uint32(msg[16:])
		s.size = min(binary.LittleEndian.Uint32(msg[20:]), 1<<20)
		n := 16
		if int(s.size) > n {
			n = int(s.size)
		}
		s.body = make([]byte, n)
		binary.LittleEndian.PutUint32(s.body[0:], IDPload<<16|1)
		binary.LittleEndian.PutUint32(s.body[8:], uint32(16+s.size))
	case 1:
		if !s.started {
			return nil
		}
		if s.delivered == 0 {
			s.t1 = time.Now()
		}
		s.delivered++
		if s.delivered == s.wanted {
			el := time.Since(s.t1).Seconds()
			line := fmt.Sprintf("%5d Writes %d bytes per write %7.3f seconds runtime, %9.3f TP/S, %9.3f MB/S.",
				s.delivered, s.size, el, float64(s.delivered)/el, float64(s.delivered)*float64(s.size)/el/(1024*1024))
			s.c.log("PLOAD", "message_handler_req_exec_pload_mcast", corolog.Notice, "%s", line)
			if s.c.OnPloadDone != nil {
				s.c.OnPloadDone(line)
			}
		}
	}
	return nil
}

// Outbox sends as many of the wanted messages as the ring can queue now
// (pload_send_message stops when totem_mcast refuses and retries later).
func (s *ploadService) Outbox() [][]byte {
	if !s.started || s.sent >= s.wanted || s.c.node == nil {
		return nil
	}
	per := len(s.body)/1300 + 1
	room := s.c.node.Room() / 2
	for room >= per && s.sent < s.wanted {
		s.out = append(s.out, s.body)
		s.sent++
		room -= per
	}
	o := s.out
	s.out = nil
	return o
}

func (s *ploadService) SyncInit(_, _ []uint32, _ []byte) {}
func (s *ploadService) SyncProcess() bool                { return true }
func (s *ploadService) SyncActivate()                    {}
func (s *ploadService) SyncAbort()                       {}
