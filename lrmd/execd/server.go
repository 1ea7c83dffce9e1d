// Package execd is pacemaker-execd's driver: it serves the "lrmd" IPC name
// (daemons/execd/pacemaker-execd.c, execd_commands.c @2.1.5), feeds requests,
// agent completions and timer expiries into the pure lrmd.Machine, starts and
// kills agents through lrmd/agents, and sends replies and notifications.
//
// One mutex (shared with the IPC server) serialises everything that touches
// the machine: IPC handler calls, agent completions and the single timer.
package execd

import (
	"context"
	"crypto/rand"
	"fmt"
	"os/user"
	"strconv"
	"sync"
	"time"

	"ringmaster/internal/pcmkipc"
	"ringmaster/ipc"
	"ringmaster/lrmd"
	"ringmaster/lrmd/agents"
)

// Options configures a Server.
type Options struct {
	// Name is the IPC service name (default "lrmd").
	Name string
	// Agents runs the agents (default: agents.New(agents.Config{})).
	Agents *agents.Dir
	// Logf receives Pacemaker-style log lines ("notice: ..."); nil discards.
	Logf func(format string, args ...any)
	// IPC are the libqb server options (Lock is set by the server).
	IPC ipc.ServerOptions
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is a running executor.
type Server struct {
	mu      sync.Mutex
	m       *lrmd.Machine
	ag      *agents.Dir
	logf    func(string, ...any)
	now     func() time.Time
	srv     *ipc.Server
	clients map[*ipc.Conn]*client
	procs   map[lrmd.OpID]*agents.Proc
	callID  int
	alertNo int
	eventID int32
	timer   *time.Timer
	closed  bool
	wg      sync.WaitGroup

	// Stats for tests and diagnostics.
	BadRequests int
}

type client struct {
	id         string
	name       string
	privileged bool
}

// New creates the executor and binds its IPC name.
func New(opts Options) (*Server, error) {
	if opts.Name == "" {
		opts.Name = "lrmd"
	}
	if opts.Agents == nil {
		opts.Agents = agents.New(agents.Config{})
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		ag: opts.Agents, logf: opts.Logf, now: opts.Now,
		clients: map[*ipc.Conn]*client{}, procs: map[lrmd.OpID]*agents.Proc{},
	}
	s.m = lrmd.NewMachine(s.logf)
	io := opts.IPC
	io.Lock = &s.mu
	if io.Logf == nil {
		io.Logf = s.logf
	}
	srv, err := ipc.NewServer(opts.Name, s, io)
	if err != nil {
		return nil, fmt.Errorf("execd: serve %s: %w", opts.Name, err)
	}
	s.srv = srv
	return s, nil
}

// Serve runs until ctx ends; then it kills running agents and returns.
func (s *Server) Serve(ctx context.Context) error {
	err := s.srv.Serve(ctx)
	s.shutdown()
	return err
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.shutdown()
	return err
}

func (s *Server) shutdown() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	for _, p := range s.procs {
		p.Kill()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func newClientID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var haclusterUID = func() int {
	u, err := user.Lookup("hacluster")
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(u.Uid)
	if err != nil {
		return -1
	}
	return n
}()

// Accept admits every client; root and hacluster are privileged
// (pcmk__new_client), others may only register and poke.
func (s *Server) Accept(c *ipc.Conn) error {
	uid := int(c.Creds().UID)
	cl := &client{id: newClientID(), privileged: uid == 0 || uid == haclusterUID}
	// notify_of_new_client: tell the other clients.
	for other, o := range s.clients {
		if o.name != "" {
			s.event(other, lrmd.NewClientNotifyXML())
		}
	}
	s.clients[c] = cl
	return nil
}

// Closed is lrmd_ipc_closed: recurring ops the client started are dropped
// where the resource asked for that.
func (s *Server) Closed(c *ipc.Conn) {
	cl := s.clients[c]
	delete(s.clients, c)
	if cl != nil {
		s.m.ClientGone(s.now(), cl.id)
		s.flush()
	}
}

// Request is lrmd_ipc_dispatch + process_lrmd_message.
func (s *Server) Request(c *ipc.Conn, msg []byte) {
	cl := s.clients[c]
	hdr, body, err := pcmkipc.Decode(msg)
	if err != nil || cl == nil {
		s.BadRequests++
		s.logf("warning: Dropping malformed request from %s: %v", c, err)
		return
	}
	if hdr.Flags&pcmkipc.FlagClientResponse == 0 {
		s.BadRequests++
		s.logf("error: Invalid client request: %s", c)
		return
	}
	req, err := lrmd.DecodeRequest(body)
	if err != nil {
		s.BadRequests++
		s.logf("warning: Dropping unparsable request from %s: %v", c, err)
		// A client waiting for a response would hang; answer it.
		s.respond(c, hdr.ID, lrmd.Reply("process_lrmd_message", -lrmd.EPROTO, 0))
		return
	}
	if cl.name == "" {
		cl.name = req.ClientName
		if cl.name == "" {
			cl.name = strconv.Itoa(int(c.Creds().PID))
		}
	}
	// The daemon numbers every request itself; the exec reply hands the
	// number back as lrmd_rc.
	s.callID++
	if s.callID < 1 {
		s.callID = 1
	}
	callID := s.callID
	now := s.now()

	rc := 0
	var reply []byte
	doReply, doNotify := true, false
	allowed := cl.privileged
	rscID := ""
	if req.Rsc != nil {
		rscID = req.Rsc.ID
	}
	switch req.Op {
	case lrmd.OpRegister:
		if lrmd.CompareVersion(req.ProtocolVersion, lrmd.MinProtocolVersion) < 0 || req.ProtocolVersion == "" {
			s.logf("error: Cluster API version must be greater than or equal to %s, not %s", lrmd.MinProtocolVersion, req.ProtocolVersion)
			rc = -lrmd.EPROTO
		}
		if req.IsIPCProvider {
			rc = -93 // EPROTONOSUPPORT: no Pacemaker Remote proxy here
		}
		reply = lrmd.Reply("process_lrmd_signon", rc, callID,
			"lrmd_op", lrmd.OpRegister, "lrmd_clientid", cl.id, "lrmd_protocol_version", lrmd.ProtocolVersion)
	case lrmd.OpRscRegister:
		if !allowed {
			rc = -lrmd.EACCES
			break
		}
		if req.Rsc == nil || req.Rsc.ID == "" {
			rc = -lrmd.EINVAL
			break
		}
		s.m.Register(now, lrmd.Resource{ID: req.Rsc.ID, Class: req.Rsc.Class, Provider: req.Rsc.Provider, Type: req.Rsc.Type, CallOpts: req.CallOpts})
		doNotify = true
	case lrmd.OpRscInfo:
		if !allowed {
			rc = -lrmd.EACCES
			break
		}
		r, ok := s.m.Resource(rscID)
		if !ok {
			if rscID != "" {
				s.logf("info: Agent information for '%s' not in cache", rscID)
			}
			reply = lrmd.RscInfoReply(-lrmd.ENODEV, callID, nil)
		} else {
			reply = lrmd.RscInfoReply(0, callID, &r)
		}
	case lrmd.OpRscUnreg:
		if !allowed {
			rc = -lrmd.EACCES
			break
		}
		if rscID == "" {
			rc = -lrmd.ENODEV
			break
		}
		rc = s.m.Unregister(now, rscID)
		doNotify = rc == 0 || rc == -lrmd.EINPROGRESS
	case lrmd.OpRscExec:
		if !allowed {
			rc = -lrmd.EACCES
			break
		}
		if req.Rsc == nil {
			rc = -lrmd.EINVAL
			break
		}
		rc = s.m.Exec(now, lrmd.ExecRequest{
			ClientID: cl.id, CallID: callID, CallOpts: req.CallOpts, RscID: rscID,
			Action: req.Rsc.Action, UserData: req.Rsc.UserData, IntervalMS: req.Rsc.IntervalMS,
			TimeoutMS: req.Rsc.TimeoutMS, StartDelayMS: req.Rsc.StartDelayMS, Params: req.Rsc.Params,
		})
	case lrmd.OpRscCancel:
		if !allowed {
			rc = -lrmd.EACCES
			break
		}
		if req.Rsc == nil || req.Rsc.ID == "" || req.Rsc.Action == "" {
			rc = -lrmd.EINVAL
			break
		}
		rc = s.m.Cancel(now, rscID, req.Rsc.Action, req.Rsc.IntervalMS)
	case lrmd.OpPoke:
		doNotify = true
	case lrmd.OpCheck:
		// pcmk__valid_sbd_timeout only logs; no reply is sent.
		if !allowed {
			rc = -lrmd.EACCES
		}
		doReply = false
	case lrmd.OpGetRecurring:
		if !allowed {
			rc = -lrmd.EACCES
			break
		}
		ops, ok := s.m.Recurring(rscID)
		ids := s.m.Resources()
		if rscID != "" {
			ids = []string{rscID}
		}
		if !ok {
			s.logf("info: Resource '%s' not found (%d active resources)", rscID, len(s.m.Resources()))
			reply = lrmd.RecurringReply(-lrmd.ENODEV, callID, nil, nil)
		} else {
			reply = lrmd.RecurringReply(0, callID, ids, ops)
		}
	case lrmd.OpIPCFwd:
		rc = -93 // EPROTONOSUPPORT: only pacemaker-remoted proxies IPC
	case lrmd.OpAlertExec:
		if !allowed {
			rc = -lrmd.EACCES
			break
		}
		rc = s.alert(cl, req.Alert)
	default:
		rc = -lrmd.EOPNOTSUPP
		s.logf("error: Unknown IPC request '%s' from client %s", req.Op, cl.name)
	}
	if rc == -lrmd.EACCES {
		s.logf("warning: Rejecting IPC request '%s' from unprivileged client %s", req.Op, cl.name)
	}
	s.logf("debug: Processed %s operation from %s: rc=%d, reply=%d, notify=%d", req.Op, cl.id, rc, b2i(doReply), b2i(doNotify))
	if doReply {
		if reply == nil {
			reply = lrmd.Reply("process_lrmd_message", rc, callID)
		}
		s.respond(c, hdr.ID, reply)
	}
	if doNotify {
		n := lrmd.GenericNotifyXML(rc, callID, req.Op, rscID)
		for other, o := range s.clients {
			if o.name != "" {
				s.event(other, n)
			}
		}
	}
	s.flush()
}

// alert is process_lrmd_alert_exec: the alert agent runs on its own, beside
// the resource queues, and only its completion is logged.
func (s *Server) alert(cl *client, a *lrmd.AlertData) int {
	if a == nil || a.ID == "" || a.Path == "" {
		return -lrmd.EINVAL
	}
	if s.closed {
		return 0
	}
	s.alertNo++
	params := a.Params
	if params == nil {
		params = map[string]string{}
	}
	params["CRM_alert_node_sequence"] = strconv.Itoa(s.alertNo)
	s.logf("info: Executing alert %s for %s", a.ID, cl.id)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		out := s.ag.RunAlert(agents.Alert{ID: a.ID, Path: a.Path, TimeoutMS: a.TimeoutMS, Params: params})
		switch {
		case out.Status != lrmd.ExecDone:
			reason := ""
			if out.Reason != "" {
				reason = " (" + out.Reason + ")"
			}
			s.logf("notice: Could not send alert: %s%s | client=%s", out.Status, reason, cl.id)
		case out.ExitStatus != 0:
			s.logf("notice: Alert [%d] completed but exited with status %d | client=%s", out.PID, out.ExitStatus, cl.id)
		default:
			s.logf("debug: Alert [%d] completed | client=%s", out.PID, cl.id)
		}
	}()
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Server) respond(c *ipc.Conn, id int32, xml []byte) {
	m, err := pcmkipc.Encode(id, pcmkipc.FlagServerFree|pcmkipc.FlagClientResponse, xml, c.MaxMsgSize())
	if err != nil {
		s.logf("warning: Reply to client %s failed: %v", c, err)
		return
	}
	c.Respond(m)
}

func (s *Server) event(c *ipc.Conn, xml []byte) {
	s.eventID++
	m, err := pcmkipc.Encode(s.eventID, pcmkipc.FlagServerFree|pcmkipc.FlagServerEvent, xml, c.MaxMsgSize())
	if err != nil {
		s.logf("warning: Could not notify client %s: %v", c, err)
		return
	}
	c.SendEvent(m)
}

// flush acts on the machine's Ready and re-arms the timer. Called with mu held.
func (s *Server) flush() {
	for s.m.HasReady() {
		rd := s.m.Ready()
		s.m.Advance()
		for _, k := range rd.Kills {
			if p := s.procs[k.Op]; p != nil {
				if err := p.Kill(); err != nil {
					s.logf("error: %v", err)
				}
			}
		}
		for _, r := range rd.Runs {
			s.start(r)
		}
		for _, n := range rd.Notifies {
			xml := lrmd.NotifyXML(n)
			for c, cl := range s.clients {
				if cl.name == "" || (n.OrigOnly && cl.id != n.ClientID) {
					continue
				}
				s.event(c, xml)
			}
		}
	}
	s.arm()
}

func (s *Server) start(r lrmd.Run) {
	if s.closed {
		return
	}
	p := s.ag.Start(agents.FromRun(r))
	s.procs[r.Op] = p
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		out := p.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.procs, r.Op)
		if s.closed {
			return
		}
		s.m.Complete(s.now(), r.Op, out)
		s.flush()
	}()
}

func (s *Server) arm() {
	if s.closed {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	at, ok := s.m.NextDeadline()
	if !ok {
		return
	}
	d := at.Sub(s.now())
	if d < 0 {
		d = 0
	}
	s.timer = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		s.m.Tick(s.now())
		s.flush()
	})
}
