package ipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Creds are the credentials of the peer process, taken from the kernel
// (SO_PEERCRED) when the setup socket was connected. They are what libqb hands
// to qb_ipcs_connection_accept and what corosync and Pacemaker check.
type Creds struct {
	PID int32
	UID uint32
	GID uint32
}

func (c Creds) String() string { return fmt.Sprintf("pid %d uid %d gid %d", c.PID, c.UID, c.GID) }

// Handler is a service served over one IPC name (cmap, cpg, cib_rw, ...).
//
// Concurrency contract: the server calls Accept, Request and Closed with
// ServerOptions.Lock held, so handler calls never overlap each other (for all
// connections of that server, and of every server sharing the same Lock). For one
// connection the order is: Accept, then Requests in arrival order, then Closed
// exactly once (only if Accept returned nil). After Closed returns, the server
// never mentions that *Conn again.
//
// Conn.Respond, Conn.SendEvent and Conn.Close never block and may be called from
// any goroutine, with or without the lock held, including from inside a handler
// call: they queue the message and return.
type Handler interface {
	// Accept decides whether the client may connect. The credentials are in
	// c.Creds(). A non-nil error refuses the connection: the client sees the
	// errno carried by a syscall.Errno error, otherwise EACCES.
	Accept(c *Conn) error
	// Request is called for each request. msg is the whole request including
	// the 16-byte libqb request header, whose size field equals len(msg). The
	// handler owns msg. The client normally waits for exactly one Respond.
	Request(c *Conn, msg []byte)
	// Closed tells the handler that the connection is gone (client exit,
	// Conn.Close, protocol error, or server shutdown) and its files are removed.
	Closed(c *Conn)
}

// ServerOptions configures a Server. The zero value gives corosync's behaviour:
// SHM for every client, buffer size as the client asks, files in /dev/shm.
type ServerOptions struct {
	// Transport picks the transport of each connection from the client's
	// credentials. nil means SHM, which is what corosync and Pacemaker servers
	// use by default (QB_IPC_NATIVE) and what real Pacemaker daemons need from
	// corosync (their SO_PEERCRED check fails on SOCKET's datagram fd).
	Transport func(Creds) Transport
	// ShmDir is where the per-connection directories go. Default /dev/shm.
	// Tests use a private directory; clients follow the absolute paths the
	// handshake gives them, so any directory works.
	ShmDir string
	// MinMsgSize is libqb's qb_ipcs_enforce_buffer_size: the negotiated size is
	// max(client's wish, MinMsgSize). corosync sets none; Pacemaker uses its
	// default buffer (131072).
	MinMsgSize uint32
	// MaxMsgSize caps the negotiated size so that a client cannot make the server
	// allocate without bound (libqb has no cap). Default 16 MiB.
	MaxMsgSize uint32
	// MaxConns bounds simultaneous connections, including ones still in the
	// handshake; further clients are refused with EAGAIN. Default 1024.
	MaxConns int
	// QueueLimit bounds the messages waiting to be written to one client, per
	// channel (responses, events). A client that lets more pile up is
	// disconnected. Default 4096.
	QueueLimit int
	// HandshakeTimeout bounds how long a new client may take to send its 24-byte
	// connection request. Default 5s.
	HandshakeTimeout time.Duration
	// Lock is held around every Handler call. Servers that share state (the five
	// corosync services) can share one Lock. Default: a mutex per Server.
	Lock sync.Locker
	// Logf receives debug-level messages about connections and misbehaving
	// clients. Default: discard.
	Logf func(format string, args ...any)
}

// Fixed returns a ServerOptions.Transport function that always picks t.
func Fixed(t Transport) func(Creds) Transport { return func(Creds) Transport { return t } }

func (o *ServerOptions) setDefaults() {
	if o.ShmDir == "" {
		o.ShmDir = "/dev/shm"
	}
	if o.MaxMsgSize == 0 {
		o.MaxMsgSize = 16 << 20
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 1024
	}
	if o.QueueLimit <= 0 {
		o.QueueLimit = 4096
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	if o.Lock == nil {
		o.Lock = new(sync.Mutex)
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Transport == nil {
		o.Transport = Fixed(SHM)
	}
}

// Server serves one libqb IPC name.
type Server struct {
	name string
	h    Handler
	opts ServerOptions
	ln   *net.UnixListener
	pid  int

	mu          sync.Mutex
	conns       map[uint64]*Conn
	pending     map[*net.UnixConn]struct{} // setup sockets still in the handshake
	active      int                        // connections counted against MaxConns (handshaking + live)
	closed      bool
	wg          sync.WaitGroup
	nextID      atomic.Uint64
	fc          atomic.Int32 // server-wide flow-control level for new connections
	closedCount uint64
	closeOnce   sync.Once
}

// NewServer binds the abstract unix socket libqb clients look for under name
// (in the caller's network namespace) and returns a server ready for Serve.
func NewServer(name string, h Handler, opts ServerOptions) (*Server, error) {
	if name == "" || len(name) > abstractNameMax {
		return nil, fmt.Errorf("ipc: bad service name %q", name)
	}
	if h == nil {
		return nil, errors.New("ipc: nil handler")
	}
	opts.setDefaults()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: abstractAddr(name), Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("ipc: listen on %q: %w", name, err)
	}
	return &Server{name: name, h: h, opts: opts, ln: ln, pid: os.Getpid(), conns: map[uint64]*Conn{}, pending: map[*net.UnixConn]struct{}{}}, nil
}

// Name returns the service name the server listens on.
func (s *Server) Name() string { return s.name }

// Serve accepts clients until ctx ends or Close is called, then closes every
// connection and returns. It returns nil on a normal shutdown.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	for {
		uc, err := s.ln.AcceptUnix()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				s.Close()
				s.wg.Wait()
				return nil
			}
			// EMFILE and friends: back off a little instead of spinning.
			s.opts.Logf("ipc %s: accept: %v", s.name, err)
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			uc.Close()
			continue
		}
		s.active++
		over := s.active > s.opts.MaxConns
		s.pending[uc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handshake(uc, over)
	}
}

// Close stops accepting, disconnects every client (Handler.Closed is called for
// each) and waits for the server's goroutines. Do not call it from inside a
// Handler call: it waits for calls that need the Lock.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*Conn, 0, len(s.conns))
		for _, c := range s.conns {
			conns = append(conns, c)
		}
		for uc := range s.pending {
			// Unblocks a handshake waiting for a slow client.
			uc.Close()
		}
		s.mu.Unlock()
		s.ln.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	s.wg.Wait()
	return nil
}

// SetFlowControl applies Conn.SetFlowControl to every connection, current
// and future, like libqb's qb_ipcs_request_rate_limit with QB_IPCS_RATE_OFF
// (level 1), QB_IPCS_RATE_OFF_2 (level 2) or QB_IPCS_RATE_NORMAL (level 0),
// which corosync uses while totem cannot take more messages.
func (s *Server) SetFlowControl(level int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fc.Store(level)
	for _, c := range s.conns {
		c.SetFlowControl(level)
	}
}

// Conns returns the live connections (for diagnostics and broadcast).
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	return out
}

func (s *Server) release() {
	s.mu.Lock()
	s.active--
	s.mu.Unlock()
	s.wg.Done()
}

// handshakeDone takes a setup socket off the pending list; it reports false
// when the server closed meanwhile.
func (s *Server) handshakeDone(uc *net.UnixConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, uc)
	return !s.closed
}

// handshake runs libqb's server side of the connection setup
// (lib/ipc_setup.c handle_new_connection): read the 24-byte request, take the
// peer credentials, create the per-connection directory, ask the handler, build
// the transport, answer with the 12328-byte response.
func (s *Server) handshake(uc *net.UnixConn, over bool) {
	c := &Conn{srv: s, id: s.nextID.Add(1), setup: uc, done: make(chan struct{}), fcOff: make(chan struct{}, 1)}
	c.fc.Store(s.fc.Load())
	c.resp.init()
	c.event.init()
	fail := func(format string, args ...any) {
		s.opts.Logf("ipc %s: conn %d: "+format, append([]any{s.name, c.id}, args...)...)
		uc.Close()
		s.handshakeDone(uc)
		s.release()
	}

	uc.SetDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	req := make([]byte, connRequestSize)
	if _, err := io.ReadFull(uc, req); err != nil {
		fail("reading connection request: %v", err)
		return
	}
	r, err := parseConnRequest(req)
	if err != nil {
		// libqb closes without an answer when the id is not AUTHENTICATE.
		fail("%v", err)
		return
	}
	creds, setupFD, err := peerCreds(uc)
	if err != nil {
		fail("peer credentials: %v", err)
		return
	}
	c.creds = creds
	refuse := func(errno syscall.Errno, format string, args ...any) {
		resp := connResponse{Error: -int32(errno)}
		uc.Write(resp.marshal())
		if c.desc != "" {
			os.RemoveAll(c.desc)
		}
		fail(format, args...)
	}
	if over {
		refuse(syscall.EAGAIN, "refused: more than %d connections", s.opts.MaxConns)
		return
	}

	size := max(r.MaxMsgSize, s.opts.MinMsgSize)
	size = min(size, s.opts.MaxMsgSize)
	c.maxMsg = int(size)
	c.transport = s.opts.Transport(creds)
	if c.transport != Socket && c.transport != SHM {
		refuse(syscall.EINVAL, "transport %v not supported", c.transport)
		return
	}

	dir, err := os.MkdirTemp(s.opts.ShmDir, fmt.Sprintf("qb-%d-%d-%d-", s.pid, creds.PID, setupFD))
	if err != nil {
		refuse(errnoOf(err, syscall.EIO), "creating connection directory: %v", err)
		return
	}
	c.desc = dir
	os.Chmod(dir, 0o770)
	// As in libqb, chown may fail when not root; the client may then still
	// manage if it runs as our user.
	os.Chown(dir, int(creds.UID), int(creds.GID))

	s.opts.Lock.Lock()
	err = s.h.Accept(c)
	s.opts.Lock.Unlock()
	if err != nil {
		refuse(errnoOf(err, syscall.EACCES), "refused by handler (%v): %v", creds, err)
		return
	}
	var resp connResponse
	var tr serverTransport
	base := dir + "/qb"
	switch c.transport {
	case Socket:
		tr, resp, err = newSockServer(c, base, s.name)
	case SHM:
		tr, resp, err = newShmServer(c, base, s.name)
	}
	if err == nil {
		c.trMu.Lock()
		c.tr = tr
		tr.setFlowControl(c.fc.Load())
		c.trMu.Unlock()
		select {
		case <-c.done: // closed during Accept or setup: shut what we built
			tr.shutdown()
		default:
		}
	}
	if err != nil {
		refuse(errnoOf(err, syscall.EIO), "setting up %v transport: %v", c.transport, err)
		s.opts.Lock.Lock()
		s.h.Closed(c)
		s.opts.Lock.Unlock()
		return
	}
	resp.MaxMsgSize = size
	resp.Type = c.transport
	resp.Connection = c.id

	// Register before answering, so that a Server.SetFlowControl or Close from
	// now on covers this connection and the client never sees a stale
	// flow-control word.
	s.mu.Lock()
	delete(s.pending, uc)
	if s.closed {
		c.fail(ErrClosed)
	} else {
		s.conns[c.id] = c
		c.SetFlowControl(s.fc.Load())
	}
	s.mu.Unlock()

	if _, err := uc.Write(resp.marshal()); err != nil {
		c.fail(err)
		c.detachTransport().cleanup()
		os.RemoveAll(dir)
		s.mu.Lock()
		delete(s.conns, c.id)
		s.mu.Unlock()
		fail("writing connection response: %v", err)
		s.opts.Lock.Lock()
		s.h.Closed(c)
		s.opts.Lock.Unlock()
		return
	}
	uc.SetDeadline(time.Time{})
	s.opts.Logf("ipc %s: conn %d: connected (%v, %v, max %d, %s)", s.name, c.id, creds, c.transport, size, dir)
	c.run()
}

// errnoOf returns the errno inside err, or def.
func errnoOf(err error, def syscall.Errno) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) && e != 0 {
		return e
	}
	return def
}

// peerCreds returns SO_PEERCRED of the accepted setup socket and its fd number
// (libqb puts the fd number into the directory name).
func peerCreds(uc *net.UnixConn) (Creds, int, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return Creds{}, 0, err
	}
	var cr *unix.Ucred
	var fd int
	var gerr error
	if err := rc.Control(func(f uintptr) {
		fd = int(f)
		cr, gerr = unix.GetsockoptUcred(int(f), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Creds{}, 0, err
	}
	if gerr != nil {
		return Creds{}, 0, gerr
	}
	return Creds{PID: cr.Pid, UID: cr.Uid, GID: cr.Gid}, fd, nil
}

// serverTransport is one connection's transport on the server side.
type serverTransport interface {
	// serve reads requests and passes each to deliver until the client goes
	// away (nil) or misbehaves (an error). deliver returns false to stop.
	serve(deliver func(msg []byte) bool) error
	// writeResponse and writeEvent may block until the client makes room, and
	// return errAgain when the caller should retry later (SHM rings have no fd
	// to wait on).
	writeResponse(msg []byte) error
	writeEvent(msg []byte) error
	// flushEvents sends whatever notification writeEvent deferred (SHM's
	// wake-up bytes); the event writer calls it before it waits.
	flushEvents() error
	// shutdown makes serve and the writers return (closes the sockets).
	shutdown()
	// cleanup unmaps and unlinks everything; called once after serve and the
	// writers have returned.
	cleanup()
	// setFlowControl publishes the request channel's flow-control word.
	setFlowControl(level int32)
}

var errAgain = errors.New("ipc: try again")

func noFlush() error { return nil }

// Conn is one client connection on the server side.
type Conn struct {
	srv       *Server
	id        uint64
	creds     Creds
	transport Transport
	maxMsg    int
	desc      string
	setup     *net.UnixConn
	trMu      sync.Mutex // guards tr against a Close racing the handshake
	tr        serverTransport

	resp, event outQueue
	done        chan struct{}
	closeOnce   sync.Once
	writers     sync.WaitGroup
	reason      atomic.Value // error: why the connection ended
	stats       connCounters
	fc          atomic.Int32  // flow-control level (SetFlowControl)
	fcOff       chan struct{} // signalled when fc drops to 0

	// Context is free for the service's per-connection state. The server never
	// touches it; guard it with the handler Lock.
	Context any
}

// ID is unique among the server's connections for the server's lifetime.
func (c *Conn) ID() uint64 { return c.id }

// Creds returns the client's pid, uid and gid.
func (c *Conn) Creds() Creds { return c.creds }

// Transport returns the transport chosen for this connection.
func (c *Conn) Transport() Transport { return c.transport }

// MaxMsgSize is the negotiated maximum size of any one message, in bytes.
func (c *Conn) MaxMsgSize() int { return c.maxMsg }

// Server returns the server the connection belongs to.
func (c *Conn) Server() *Server { return c.srv }

func (c *Conn) String() string {
	return fmt.Sprintf("%s#%d(pid %d)", c.srv.name, c.id, c.creds.PID)
}

// Respond queues a response. msg must start with a 24-byte response header
// whose size field equals len(msg); libqb clients read exactly that many bytes,
// so a wrong size corrupts them. msg is copied.
func (c *Conn) Respond(msg []byte) error { return c.send(&c.resp, msg, "response") }

// SendEvent queues an event (same header rules as Respond). msg is copied.
func (c *Conn) SendEvent(msg []byte) error { return c.send(&c.event, msg, "event") }

func (c *Conn) send(q *outQueue, msg []byte, what string) error {
	h, err := ParseResponseHeader(msg)
	if err != nil {
		return fmt.Errorf("ipc: %s to %v: %w", what, c, err)
	}
	if int(h.Size) != len(msg) {
		return fmt.Errorf("ipc: %s to %v: %w: header says %d, message is %d", what, c, ErrBadSize, h.Size, len(msg))
	}
	if len(msg) > c.maxMsg {
		return fmt.Errorf("ipc: %s to %v: %w (%d > %d)", what, c, ErrTooBig, len(msg), c.maxMsg)
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if !q.push(append([]byte(nil), msg...), c.srv.opts.QueueLimit) {
		c.fail(fmt.Errorf("%w: %d %ss waiting", ErrQueueFull, c.srv.opts.QueueLimit, what))
		return ErrQueueFull
	}
	return nil
}

// SetFlowControl is libqb's qb_ipcs_flowcontrol_set: with level 1 libqb
// clients refuse to send (EAGAIN, which corosync libraries report as
// CS_ERR_TRY_AGAIN); with level 2 they still send (their default
// fc_enable_max is 1). At any level other than 0 the server stops reading this
// client's requests until the level returns to 0; they wait in the socket
// queue or the request ring. Never blocks.
func (c *Conn) SetFlowControl(level int32) {
	old := c.fc.Swap(level)
	if old == level {
		return
	}
	c.stats.fcCount.Add(1)
	c.trMu.Lock()
	if c.tr != nil {
		c.tr.setFlowControl(level)
	}
	c.trMu.Unlock()
	if level == 0 {
		select {
		case c.fcOff <- struct{}{}:
		default:
		}
	}
}

// detachTransport hands the transport over for cleanup; afterwards
// SetFlowControl no longer touches its (soon unmapped) memory.
func (c *Conn) detachTransport() serverTransport {
	c.trMu.Lock()
	defer c.trMu.Unlock()
	tr := c.tr
	c.tr = nil
	return tr
}

// FlowControl returns the level set by SetFlowControl.
func (c *Conn) FlowControl() int32 { return c.fc.Load() }

// Close disconnects the client. Handler.Closed follows (asynchronously).
func (c *Conn) Close() { c.fail(nil) }

// Done is closed when the connection starts shutting down.
func (c *Conn) Done() <-chan struct{} { return c.done }

func (c *Conn) fail(err error) {
	c.closeOnce.Do(func() {
		if err != nil {
			c.reason.Store(err)
		}
		close(c.done)
		c.trMu.Lock()
		tr := c.tr
		c.trMu.Unlock()
		if tr != nil {
			tr.shutdown()
		} else {
			c.setup.Close()
		}
	})
}

// run owns the connection after the handshake: it starts the writers, reads
// requests, and tears everything down at the end.
func (c *Conn) run() {
	s := c.srv
	c.writers.Add(2)
	go c.writer(&c.resp, c.tr.writeResponse, noFlush, "response", &c.stats.responses)
	go c.writer(&c.event, c.tr.writeEvent, c.tr.flushEvents, "event", &c.stats.events)

	err := c.serveSafely()
	if err != nil {
		c.fail(err)
	} else {
		c.fail(nil)
	}
	c.writers.Wait()
	c.detachTransport().cleanup()
	os.Remove(c.desc)
	if r, ok := c.reason.Load().(error); ok && r != nil {
		s.opts.Logf("ipc %s: conn %d: disconnected: %v", s.name, c.id, r)
	} else {
		s.opts.Logf("ipc %s: conn %d: disconnected", s.name, c.id)
	}
	s.opts.Lock.Lock()
	s.h.Closed(c)
	s.opts.Lock.Unlock()
	s.mu.Lock()
	delete(s.conns, c.id)
	s.closedCount++
	s.mu.Unlock()
	s.release()
}

// serveSafely runs the transport's request loop, turning a memory fault (a
// client truncated its ring files under us) into an error instead of a crash.
func (c *Conn) serveSafely() (err error) {
	guardFaults()
	defer recoverFault(&err)
	return c.tr.serve(c.deliver)
}

// deliver checks one request the way libqb's server does
// (lib/ipcs.c _process_request_) and hands it to the handler.
func (c *Conn) deliver(msg []byte) bool {
	h, err := ParseRequestHeader(msg)
	if err != nil {
		c.fail(fmt.Errorf("bad request: %w", err))
		return false
	}
	if h.ID == MsgDisconnect {
		return false
	}
	msg = msg[:h.Size]
	for c.fc.Load() != 0 {
		select {
		case <-c.fcOff:
		case <-c.done:
			return false
		}
	}
	// A request is a sign of life: let a writer waiting for ring space retry.
	c.resp.kick()
	c.event.kick()
	select {
	case <-c.done:
		return false
	default:
	}
	c.stats.requests.Add(1)
	c.srv.opts.Lock.Lock()
	c.srv.h.Request(c, msg)
	c.srv.opts.Lock.Unlock()
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// writer drains one outgoing queue. A slow client only ever blocks its own
// writer goroutines, never the server or other clients.
func (c *Conn) writer(q *outQueue, write func([]byte) error, flush func() error, what string, sent *atomic.Uint64) {
	defer c.writers.Done()
	var err error
	defer func() {
		if err != nil {
			c.fail(fmt.Errorf("writing %s: %w", what, err))
		}
	}()
	guardFaults()
	defer recoverFault(&err)
	const minBackoff, maxBackoff = 500 * time.Microsecond, 50 * time.Millisecond
	const flushEvery = 64
	backoff := minBackoff
	unflushed := 0
	for {
		m := q.front()
		if m == nil || unflushed >= flushEvery {
			if unflushed > 0 {
				if err = c.ignoreIfClosed(flush()); err != nil {
					return
				}
				unflushed = 0
			}
			if m == nil {
				select {
				case <-q.wake:
					continue
				case <-c.done:
					return
				}
			}
		}
		werr := write(m)
		switch {
		case werr == nil:
			q.pop()
			sent.Add(1)
			unflushed++
			backoff = minBackoff
		case errors.Is(werr, errAgain):
			c.stats.sendRetries.Add(1)
			// The client must hear about what is already there, or it will
			// never make room.
			if unflushed > 0 {
				if err = c.ignoreIfClosed(flush()); err != nil {
					return
				}
				unflushed = 0
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-q.kicked:
				t.Stop()
			case <-c.done:
				t.Stop()
				return
			}
			backoff = min(backoff*2, maxBackoff)
		default:
			err = c.ignoreIfClosed(werr)
			return
		}
	}
}

// ignoreIfClosed drops write errors caused by our own shutdown: they are not
// the client's fault.
func (c *Conn) ignoreIfClosed(err error) error {
	if err == nil {
		return nil
	}
	select {
	case <-c.done:
		return nil
	default:
		return err
	}
}

type connCounters struct {
	requests, responses, events, sendRetries, fcCount atomic.Uint64
}

// ConnStats are one connection's counters, the ones corosync publishes under
// stats.ipcs.service<N>.<pid>.<conn>.* (libqb struct qb_ipcs_connection_stats_2).
type ConnStats struct {
	Requests         uint64 // requests handed to the Handler
	Responses        uint64 // responses written to the client
	Events           uint64 // events written to the client ("dispatched")
	SendRetries      uint64 // writes that found the client's socket queue or ring full
	FlowControl      int32  // current SetFlowControl level
	FlowControlCount uint64 // how often the level changed
	Queued           int    // responses and events waiting in our queues
}

// Stats returns the connection's counters.
func (c *Conn) Stats() ConnStats {
	return ConnStats{
		Requests:         c.stats.requests.Load(),
		Responses:        c.stats.responses.Load(),
		Events:           c.stats.events.Load(),
		SendRetries:      c.stats.sendRetries.Load(),
		FlowControl:      c.fc.Load(),
		FlowControlCount: c.stats.fcCount.Load(),
		Queued:           c.resp.len() + c.event.len(),
	}
}

func (q *outQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// ServerStats are the server-wide counters (stats.ipcs.global.*).
type ServerStats struct {
	Active uint64 // connections now established
	Closed uint64 // connections closed since the server started
}

// Stats returns the server-wide counters.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ServerStats{Active: uint64(len(s.conns)), Closed: s.closedCount}
}

// outQueue is a FIFO of messages for one channel of one connection.
type outQueue struct {
	mu     sync.Mutex
	msgs   [][]byte
	wake   chan struct{} // a message was pushed
	kicked chan struct{} // the client showed signs of life
}

func (q *outQueue) init() {
	q.wake = make(chan struct{}, 1)
	q.kicked = make(chan struct{}, 1)
}

func (q *outQueue) push(m []byte, limit int) bool {
	q.mu.Lock()
	if len(q.msgs) >= limit {
		q.mu.Unlock()
		return false
	}
	q.msgs = append(q.msgs, m)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

func (q *outQueue) front() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs) == 0 {
		return nil
	}
	return q.msgs[0]
}

func (q *outQueue) pop() {
	q.mu.Lock()
	q.msgs[0] = nil
	q.msgs = q.msgs[1:]
	if len(q.msgs) == 0 {
		q.msgs = nil
	}
	q.mu.Unlock()
}

func (q *outQueue) kick() {
	select {
	case q.kicked <- struct{}{}:
	default:
	}
}

// checkName refuses paths libqb would silently truncate.
func checkPath(p string, limit int) error {
	if len(p) >= limit {
		return fmt.Errorf("ipc: path %q longer than %d bytes: %w", p, limit-1, syscall.ENAMETOOLONG)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("ipc: path %q contains NUL: %w", p, syscall.EINVAL)
	}
	return nil
}
