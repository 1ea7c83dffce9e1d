package main

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ringmaster/cfg"
	"ringmaster/cmap"
	"ringmaster/conf"
	"ringmaster/cpg"
	"ringmaster/ipc"
	"ringmaster/quorumsvc"
	"ringmaster/totem/node"
	"ringmaster/votequorum"
)

// The cfg, cpg, quorum and votequorum IPC services (packages cfg, cpg,
// quorumsvc, votequorum). ipcServiceEngines registers them as engines;
// attachIPCServices connects them to the ring once it runs, so that the
// machines' outputs (quorum decisions, CPG changes and deliveries) reach the
// clients and the clients' requests reach the machines on the node goroutine.

// ipcServices is one daemon's set of services.
type ipcServices struct {
	cfg    *cfg.Service
	cpg    *cpg.Service
	quorum *quorumsvc.Service
	vq     *votequorum.Service

	vqRun, cpgRun *fifo
	nodeID        uint32
	// knet is the running knet transport, if any: cfg reads link states from it.
	knet atomic.Pointer[node.Knet]
}

var (
	ipcSvcMu sync.Mutex
	ipcSvcs  = map[*Daemon]*ipcServices{}
)

func servicesOf(d *Daemon) *ipcServices {
	ipcSvcMu.Lock()
	defer ipcSvcMu.Unlock()
	s := ipcSvcs[d]
	if s == nil {
		s = newIPCServices(d)
		ipcSvcs[d] = s
	}
	return s
}

// hasProvider is vsf_quorum's test: votequorum is loaded only for
// quorum.provider corosync_votequorum.
func hasProvider(d *Daemon) bool { return d.Config.Quorum.Provider == "corosync_votequorum" }

// ipcServiceEngines are the engines in corosync's load order (cfg, cpg, then
// votequorum and quorum after pload/mon/wd) and unload order (votequorum
// first, then cfg, cpg, quorum after cmap).
func ipcServiceEngines() []*Engine {
	return []*Engine{
		{ID: 1, Name: "cfg", Desc: "corosync configuration service", LoadOrder: 1, UnloadOrder: 2,
			Handler: func(d *Daemon) ipc.Handler { return servicesOf(d).cfg }},
		{ID: 2, Name: "cpg", Desc: "corosync cluster closed process group service v1.01", LoadOrder: 2, UnloadOrder: 3,
			// Without a ring this node alone is the membership.
			Init: func(d *Daemon) error {
				if hasRing(d) {
					return nil
				}
				s := servicesOf(d)
				return s.startSolo(d, s.nodeID)
			},
			Handler: func(d *Daemon) ipc.Handler { return servicesOf(d).cpg },
			Exit:    func(d *Daemon) { servicesOf(d).stop() }},
		{ID: 5, Name: "votequorum", Desc: "corosync vote quorum service v1.0", LoadOrder: 6, UnloadOrder: 0,
			Skip:    func(d *Daemon) bool { return !hasProvider(d) },
			Handler: func(d *Daemon) ipc.Handler { return servicesOf(d).vq }},
		{ID: 3, Name: "quorum", Desc: "corosync cluster quorum service v0.1", LoadOrder: 7, UnloadOrder: 4,
			Handler: func(d *Daemon) ipc.Handler { return servicesOf(d).quorum }},
	}
}

func newIPCServices(d *Daemon) *ipcServices {
	s := &ipcServices{vqRun: newFIFO(), cpgRun: newFIFO()}
	nodeID := d.Config.Totem.NodeID
	if local, ok := d.Config.LocalNode(); ok && local.NodeID != 0 {
		nodeID = local.NodeID
	}
	s.nodeID = nodeID
	tr := d.Config.Totem.Transport
	mtu := d.Config.Totem.NetMTU
	if mtu == 0 {
		mtu = 1500
	}
	var linkMTU uint32
	switch tr {
	case conf.TransportKnet:
		// What knet reports for its default 1500-byte path: 1446, less the
		// crypto overhead when a cipher is on (1397 for aes256/sha256).
		linkMTU = 1446
		if c := d.Config.Totem.CryptoCipher; c != "" && c != "none" {
			linkMTU = 1397
		}
	default:
		linkMTU = mtu - 90
	}
	var nodes []cfg.Node
	for _, n := range d.Config.Nodes {
		cn := cfg.Node{ID: n.NodeID}
		for _, a := range n.RingAddrs {
			if a == "" {
				continue
			}
			if ip, ok := resolve(a); ok {
				cn.Addrs = append(cn.Addrs, ip)
			}
		}
		nodes = append(nodes, cn)
	}
	s.cfg = cfg.NewService(cfg.ServiceOptions{
		Lock: d.Lock, NodeID: nodeID, Transport: tr.String(), MTU: linkMTU, Nodes: nodes,
		Shutdown: func() {
			// corosync's shutdown request: the same clean exit as SIGTERM.
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		},
		ReopenLogs: func() error { return nil },
		LinkStatus: func(id uint32, link int) (bool, uint32, bool) {
			k := s.knet.Load()
			if k == nil {
				return false, 0, false
			}
			c, m, ok := k.Link(id, uint8(link))
			return c, uint32(m), ok
		},
	})
	s.quorum = quorumsvc.NewService(quorumsvc.ServiceOptions{Lock: d.Lock, Provider: hasProvider(d)})
	s.vq = votequorum.NewService(votequorum.ServiceOptions{Lock: d.Lock, Run: func(f func(*votequorum.Machine)) {
		s.vqRun.post(func(target any) {
			if h, ok := target.(machineHost); ok {
				f(h.votequorum())
				h.afterVotequorum()
			}
		})
	}})
	s.cpg = cpg.NewService(cpg.ServiceOptions{Lock: d.Lock, NodeID: nodeID, Run: func(f func(*cpg.Machine)) {
		s.cpgRun.post(func(target any) {
			if h, ok := target.(machineHost); ok {
				f(h.cpg())
				h.afterCPG()
			}
		})
	}})
	return s
}

// resolve turns a ring address (literal or host name) into an IP address.
func resolve(a string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(a); err == nil {
		return ip.Unmap(), true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", a)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, false
	}
	return ips[0].Unmap(), true
}

// attachIPCServices connects the services to the running ring: called once,
// after the engines are attached to the node and before it runs.
// attachKnetLinks lets corosync-cfgtool -s/-n show knet's own link states.
func (d *Daemon) attachKnetLinks(k *node.Knet) { servicesOf(d).knet.Store(k) }

func (d *Daemon) attachIPCServices(n *node.Node, engs *node.Corosync) {
	s := servicesOf(d)
	engs.OnCPG = func(rd cpg.Ready) { s.cpg.Apply(rd) }
	engs.OnQuorum = func(q votequorum.QuorumChange) {
		s.cfg.SetMembers(q.Members)
		s.quorum.Membership(q.Members, q.Members, q.Ring)
		s.quorum.SetQuorum(q.Quorate, q.Members, q.Ring)
		s.vq.Apply(engs.Votequorum, &q)
	}
	run := func(f func()) error { return n.Do(f) }
	s.vqRun.start(ringTarget{n, engs}, run)
	s.cpgRun.start(ringTarget{n, engs}, run)
}

// machineHost is what posted functions work on: the machines, and what to do
// with the messages a library request made them produce.
type machineHost interface {
	votequorum() *votequorum.Machine
	cpg() *cpg.Machine
	afterVotequorum()
	afterCPG()
}

// ringTarget is the running ring: the engines and their node, which
// multicasts the messages.
type ringTarget struct {
	node *node.Node
	engs *node.Corosync
}

func (r ringTarget) votequorum() *votequorum.Machine { return r.engs.Votequorum }
func (r ringTarget) cpg() *cpg.Machine               { return r.engs.CPG }
func (r ringTarget) afterVotequorum() {
	rd := r.engs.Votequorum.Ready()
	r.engs.Votequorum.Advance()
	for _, msg := range rd.Messages {
		r.node.Mcast(msg)
	}
}
func (r ringTarget) afterCPG() {
	rd := r.engs.CPG.Ready()
	r.engs.CPG.Advance()
	for _, msg := range rd.Messages {
		r.node.Mcast(msg)
	}
}

func (s *ipcServices) stop() {
	s.vqRun.close()
	s.cpgRun.close()
}

// fifo runs posted functions one at a time, in order, on the node goroutine
// (through Node.Do), never blocking the poster: IPC handlers post while
// holding the daemon lock, which the node goroutine itself takes.
type fifo struct {
	mu     sync.Mutex
	queue  []func(any)
	wake   chan struct{}
	done   chan struct{}
	closed bool
}

func newFIFO() *fifo { return &fifo{wake: make(chan struct{}, 1), done: make(chan struct{})} }

func (q *fifo) post(f func(any)) {
	q.mu.Lock()
	if !q.closed {
		q.queue = append(q.queue, f)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *fifo) start(target any, run func(func()) error) {
	go func() {
		for {
			q.mu.Lock()
			if q.closed {
				q.mu.Unlock()
				return
			}
			if len(q.queue) == 0 {
				q.mu.Unlock()
				select {
				case <-q.wake:
				case <-q.done:
					return
				}
				continue
			}
			f := q.queue[0]
			q.queue = q.queue[1:]
			q.mu.Unlock()
			if run(func() { f(target) }) != nil {
				return // the node stopped
			}
		}
	}()
}

func (q *fifo) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.done)
	}
}

// hasRing is openRing's test: udp, udpu and knet configurations run a ring.
func hasRing(d *Daemon) bool {
	t := d.Config.Totem.Transport
	return t == conf.TransportUDP || t == conf.TransportUDPU || t == conf.TransportKnet
}

// soloRing stands in for the ring when the configuration has none (knet for
// now): this node alone is the membership, in ring <nodeid>.4, and what the
// machines multicast is delivered straight back to them, in order.
type soloRing struct {
	d    *Daemon
	s    *ipcServices
	id   uint32
	mu   sync.Mutex
	vq   *votequorum.Machine
	cp   *cpg.Machine
	ring votequorum.RingID
}

func (r *soloRing) votequorum() *votequorum.Machine { return r.vq }
func (r *soloRing) cpg() *cpg.Machine               { return r.cp }

// afterVotequorum loops the machine's messages back and publishes its output.
func (r *soloRing) afterVotequorum() {
	for round := 0; round < 16; round++ {
		rd := r.vq.Ready()
		r.vq.Advance()
		if len(rd.Cmap) > 0 {
			r.d.Cmap.Update(func(ic, _ *cmap.Store) {
				for _, u := range rd.Cmap {
					v := conf.U32(uint32(u.Value))
					if u.Type == "u8" {
						v = conf.U8(uint8(u.Value))
					}
					_ = ic.Set(u.Key, v)
				}
			})
		}
		if q := rd.Quorum; q != nil {
			r.s.cfg.SetMembers(q.Members)
			r.s.quorum.Membership(q.Members, q.Members, q.Ring)
			r.s.quorum.SetQuorum(q.Quorate, q.Members, q.Ring)
			r.s.vq.Apply(r.vq, q)
		}
		if len(rd.Messages) == 0 {
			return
		}
		for _, msg := range rd.Messages {
			_ = r.vq.Deliver(r.id, msg)
		}
	}
}

func (r *soloRing) afterCPG() {
	for round := 0; round < 16; round++ {
		rd := r.cp.Ready()
		r.cp.Advance()
		r.s.cpg.Apply(rd)
		if len(rd.Messages) == 0 {
			return
		}
		for _, msg := range rd.Messages {
			_ = r.cp.Deliver(r.id, msg, false)
		}
	}
}

// startSolo builds the single-node membership and serves the machines from
// the services' queues.
func (s *ipcServices) startSolo(d *Daemon, nodeID uint32) error {
	keys := map[string]conf.Value{}
	for _, kv := range d.Config.Map.All() {
		keys[kv.Key] = kv.Value
	}
	vqc, err := votequorum.ConfigFromKeys(nodeID, keys)
	if err != nil {
		return err
	}
	r := &soloRing{d: d, s: s, id: nodeID, cp: cpg.New(nodeID), ring: votequorum.RingID{Rep: nodeID, Seq: 4}}
	if hasProvider(d) {
		if r.vq, err = votequorum.New(vqc); err != nil {
			return err
		}
	}
	run := func(f func()) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		f()
		return nil
	}
	ringBytes := make([]byte, 12)
	binary.LittleEndian.PutUint32(ringBytes, nodeID)
	binary.LittleEndian.PutUint64(ringBytes[4:], r.ring.Seq)
	_ = run(func() {
		if r.vq != nil {
			r.vq.SyncInit([]uint32{nodeID}, r.ring)
			r.vq.SyncProcess()
			r.afterVotequorum()
			r.vq.SyncActivate()
			r.afterVotequorum()
		}
		r.cp.SyncInit([]uint32{nodeID}, []uint32{nodeID}, ringBytes)
		r.cp.SyncProcess()
		r.afterCPG()
		r.cp.SyncActivate()
		r.afterCPG()
	})
	s.quorum.Membership([]uint32{nodeID}, []uint32{nodeID}, r.ring)
	s.cfg.SetMembers([]uint32{nodeID})
	s.vqRun.start(r, run)
	s.cpgRun.start(r, run)
	return nil
}
