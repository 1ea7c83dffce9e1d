package ipc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrTryAgain is returned by Send when the server applies flow control or the
// request ring is full (libqb: -EAGAIN, corosync libraries: CS_ERR_TRY_AGAIN).
var ErrTryAgain = errors.New("ipc: server busy, try again")

// ClientOptions configures Dial.
type ClientOptions struct {
	// MaxMsgSize is the buffer size asked for in the handshake; the server may
	// raise it. Default 1 MiB, what corosync's libraries ask (IPC_REQUEST_SIZE).
	MaxMsgSize uint32
	// ShmDir, when set, replaces the "/dev/shm" prefix of every path the server
	// hands out. A test reaches a daemon living in another mount namespace with
	// ShmDir = "/proc/<pid>/root/dev/shm".
	ShmDir string
	// Timeout bounds the connection handshake. Default 5s.
	Timeout time.Duration
}

// Client is a libqb IPC client speaking whichever transport the server picks.
// Send/Recv/Request may be used from several goroutines (requests are
// serialised, as libqb clients are synchronous); events may be received
// concurrently with requests.
type Client struct {
	name      string
	transport Transport
	maxMsg    int
	setup     *net.UnixConn
	setupFD   int
	server    Creds
	rewrite   func(string) string

	// SOCKET
	ctl             []byte
	ctlPath         string
	reqSock, evSock *net.UnixConn
	reqBuf, evBuf   []byte
	// SHM
	req, resp, ev *ring

	reqMu     sync.Mutex
	evMu      sync.Mutex
	closed    chan struct{}
	closeOnce sync.Once
	evOnce    sync.Once
	evCh      chan []byte
	evBytes   int // SHM: event wake-up bytes read but not yet matched with an event
}

// Dial connects to the libqb IPC server listening on the abstract socket name
// (in the caller's network namespace) and performs the handshake.
func Dial(name string, opts ClientOptions) (*Client, error) {
	if opts.MaxMsgSize == 0 {
		opts.MaxMsgSize = 1 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	setup, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: abstractAddr(name), Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("ipc: connect to %q: %w", name, err)
	}
	c := &Client{name: name, setup: setup, closed: make(chan struct{}), rewrite: func(p string) string { return p }}
	if opts.ShmDir != "" {
		dir := strings.TrimSuffix(opts.ShmDir, "/")
		c.rewrite = func(p string) string {
			if rest, ok := strings.CutPrefix(p, "/dev/shm/"); ok {
				return dir + "/" + rest
			}
			return p
		}
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	c.server, c.setupFD, err = peerCreds(setup)
	if err != nil {
		return nil, fmt.Errorf("ipc: %q: server credentials: %w", name, err)
	}
	setup.SetDeadline(time.Now().Add(opts.Timeout))
	req := connRequest{ID: MsgAuthenticate, Size: connRequestSize, MaxMsgSize: opts.MaxMsgSize}
	if _, err := setup.Write(req.marshal()); err != nil {
		return nil, fmt.Errorf("ipc: %q: sending connection request: %w", name, err)
	}
	buf := make([]byte, connResponseSize)
	if _, err := io.ReadFull(setup, buf); err != nil {
		return nil, fmt.Errorf("ipc: %q: reading connection response: %w", name, err)
	}
	setup.SetDeadline(time.Time{})
	resp, err := parseConnResponse(buf)
	if err != nil {
		return nil, fmt.Errorf("ipc: %q: %w", name, err)
	}
	if resp.Error != 0 {
		return nil, fmt.Errorf("ipc: %q refused the connection: %w", name, syscall.Errno(-resp.Error))
	}
	if resp.MaxMsgSize < RequestHeaderSize || resp.MaxMsgSize > 1<<30 {
		return nil, fmt.Errorf("ipc: %q: %w: max_msg_size %d", name, ErrBadHandshake, resp.MaxMsgSize)
	}
	c.maxMsg = int(resp.MaxMsgSize)
	c.transport = resp.Type
	switch resp.Type {
	case Socket:
		err = c.openSocket(resp)
	case SHM:
		err = c.openShm(resp)
	default:
		err = fmt.Errorf("%w: %v", ErrNotSupported, resp.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("ipc: %q: %w", name, err)
	}
	ok = true
	return c, nil
}

func (c *Client) openSocket(r connResponse) error {
	c.ctlPath = c.rewrite(r.Request)
	m, err := mapFile(c.ctlPath, sockControlSize)
	if err != nil {
		return err
	}
	c.ctl = m
	if c.reqSock, err = dgramSocket(r.Response+"-response", r.Response+"-request", c.maxMsg); err != nil {
		return err
	}
	if c.evSock, err = dgramSocket(r.Response+"-event", r.Response+"-event-tx", c.maxMsg); err != nil {
		return err
	}
	c.reqBuf = make([]byte, c.maxMsg+1)
	c.evBuf = make([]byte, c.maxMsg+1)
	return nil
}

func (c *Client) openShm(r connResponse) error {
	var err error
	if c.req, err = openRing(r.Request, c.rewrite); err != nil {
		return err
	}
	if c.resp, err = openRing(r.Response, c.rewrite); err != nil {
		return err
	}
	c.ev, err = openRing(r.Event, c.rewrite)
	return err
}

// Transport returns the transport the server chose.
func (c *Client) Transport() Transport { return c.transport }

// MaxMsgSize returns the negotiated maximum message size.
func (c *Client) MaxMsgSize() int { return c.maxMsg }

// ServerCreds returns the server's pid/uid/gid (what qb_ipcc_auth_get reports;
// Pacemaker clients insist on root or hacluster).
func (c *Client) ServerCreds() Creds { return c.server }

// Fd returns a descriptor that polls readable when an event (or a disconnect)
// is pending, like qb_ipcc_fd_get: the event socket for SOCKET, the setup
// socket for SHM. Use it only to wait, then call RecvEvent.
func (c *Client) Fd() int {
	if c.transport == Socket && c.evSock != nil {
		fd := -1
		if rc, err := c.evSock.SyscallConn(); err == nil {
			rc.Control(func(f uintptr) { fd = int(f) })
		}
		return fd
	}
	return c.setupFD
}

// Request sends msg and waits up to timeout for its response (timeout < 0:
// no limit). msg must carry a 16-byte request header whose size is len(msg).
func (c *Client) Request(msg []byte, timeout time.Duration) ([]byte, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if err := c.send(msg); err != nil {
		return nil, err
	}
	return c.recv(deadlineFor(timeout))
}

// Send sends one request without waiting for a response (for requests that
// have none, such as cpg MCAST).
func (c *Client) Send(msg []byte) error {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	return c.send(msg)
}

// Recv waits up to timeout for the next response (timeout < 0: no limit,
// 0: only what is already there).
func (c *Client) Recv(timeout time.Duration) ([]byte, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	return c.recv(deadlineFor(timeout))
}

func deadlineFor(timeout time.Duration) time.Time {
	if timeout < 0 {
		return time.Time{}
	}
	return time.Now().Add(timeout)
}

func (c *Client) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// alive reports ErrClosed once we closed or the server hung up its end of the
// setup socket.
func (c *Client) alive() error {
	if c.isClosed() {
		return ErrClosed
	}
	fds := []unix.PollFd{{Fd: int32(c.setupFD), Events: unix.POLLRDHUP}}
	if n, err := unix.Poll(fds, 0); err == nil && n > 0 && fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
		return ErrClosed
	}
	return nil
}

func (c *Client) send(msg []byte) (err error) {
	h, err := ParseRequestHeader(msg)
	if err != nil {
		return err
	}
	if int(h.Size) != len(msg) {
		return fmt.Errorf("%w: header says %d, message is %d", ErrBadSize, h.Size, len(msg))
	}
	if len(msg) > c.maxMsg {
		return fmt.Errorf("%w (%d > %d)", ErrTooBig, len(msg), c.maxMsg)
	}
	if c.isClosed() {
		return ErrClosed
	}
	switch c.transport {
	case Socket:
		// The request channel's flow_control word: the server's back-pressure.
		if fc := atomic.LoadInt32((*int32)(unsafe.Pointer(&c.ctl[4]))); fc == 1 {
			return ErrTryAgain
		}
		if _, err := c.reqSock.Write(msg); err != nil {
			return c.ioErr(err)
		}
		return nil
	default:
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer recoverFault(&err)
		if c.req.refCount() != 2 {
			// libqb refuses to send unless both ends hold the request ring.
			return ErrClosed
		}
		if c.req.userData() == 1 {
			return ErrTryAgain
		}
		if err := c.req.write(msg); err != nil {
			if errors.Is(err, errAgain) {
				return ErrTryAgain
			}
			return err
		}
		// The wake-up byte: the low byte of the length, as libqb sends it.
		if _, err := c.setup.Write([]byte{byte(len(msg))}); err != nil {
			return c.ioErr(err)
		}
		return nil
	}
}

func (c *Client) recv(deadline time.Time) (msg []byte, err error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	switch c.transport {
	case Socket:
		return c.readDgram(c.reqSock, c.reqBuf, deadline)
	default:
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer recoverFault(&err)
		if err := c.resp.semWait(deadline, c.alive); err != nil {
			return nil, err
		}
		m, _, err := c.resp.readChunk(c.maxMsg)
		return m, err
	}
}

// readDgram reads one datagram, waking every 200 ms to check that the server
// is still there (its datagram sockets give no sign when it goes away).
func (c *Client) readDgram(uc *net.UnixConn, buf []byte, deadline time.Time) ([]byte, error) {
	if expired(deadline) {
		// Go refuses to read at all once the deadline has passed, so a poll
		// (timeout 0) makes a single non-blocking attempt itself.
		n, err := readNow(uc, buf)
		if err != nil {
			return nil, err
		}
		if n > c.maxMsg {
			return nil, fmt.Errorf("%w: datagram over %d bytes", ErrTooBig, c.maxMsg)
		}
		return append([]byte(nil), buf[:n]...), nil
	}
	for {
		d := time.Now().Add(200 * time.Millisecond)
		if !deadline.IsZero() && deadline.Before(d) {
			d = deadline
		}
		uc.SetReadDeadline(d)
		n, err := uc.Read(buf)
		if err == nil {
			if n > c.maxMsg {
				return nil, fmt.Errorf("%w: datagram over %d bytes", ErrTooBig, c.maxMsg)
			}
			return append([]byte(nil), buf[:n]...), nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, c.ioErr(err)
		}
		if err := c.alive(); err != nil {
			return nil, err
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, ErrTimeout
		}
	}
}

// expired reports whether a deadline (zero: none) has passed.
func expired(deadline time.Time) bool {
	return !deadline.IsZero() && !time.Now().Before(deadline)
}

// readNow makes one non-blocking read: ErrTimeout when nothing is there.
func readNow(uc *net.UnixConn, buf []byte) (int, error) {
	// An earlier deadline would make the runtime refuse the attempt.
	uc.SetReadDeadline(time.Time{})
	rc, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, rerr = unix.Read(int(fd), buf)
		return true
	}); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrClosed, err)
	}
	switch {
	case errors.Is(rerr, unix.EAGAIN):
		return 0, ErrTimeout
	case rerr != nil:
		return 0, fmt.Errorf("%w: %v", ErrClosed, rerr)
	case n == 0:
		return 0, fmt.Errorf("%w: EOF", ErrClosed)
	}
	return n, nil
}

func (c *Client) ioErr(err error) error {
	if c.isClosed() || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return err
}

// RecvEvent waits up to timeout for the next event (timeout < 0: no limit,
// 0: only what is already there). Do not mix with Events.
func (c *Client) RecvEvent(timeout time.Duration) ([]byte, error) {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	return c.recvEvent(deadlineFor(timeout))
}

func (c *Client) recvEvent(deadline time.Time) (msg []byte, err error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	if c.transport == Socket {
		return c.readDgram(c.evSock, c.evBuf, deadline)
	}
	// SHM: one wake-up byte per event on the setup socket, written after the
	// chunk is committed (libqb qb_ipcc_event_recv reads the chunk, then the byte).
	if deadline.IsZero() {
		c.setup.SetReadDeadline(time.Time{})
	} else {
		c.setup.SetReadDeadline(deadline)
	}
	if c.evBytes == 0 {
		// Take every wake-up byte that is there: one per event, so a burst
		// costs one read instead of one per event.
		var b [256]byte
		var n int
		var err error
		if expired(deadline) {
			n, err = readNow(c.setup, b[:])
			if n == 0 && errors.Is(err, ErrTimeout) {
				return nil, ErrTimeout
			}
		} else {
			n, err = c.setup.Read(b[:])
		}
		if n == 0 {
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, ErrTimeout
			}
			return nil, c.ioErr(err)
		}
		c.evBytes = n
	}
	c.evBytes--
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverFault(&err)
	if err := c.ev.semWait(time.Now().Add(time.Second), c.alive); err != nil {
		return nil, fmt.Errorf("ipc: event byte without an event: %w", err)
	}
	m, _, err := c.ev.readChunk(c.maxMsg)
	return m, err
}

// Events returns a channel fed with every event until the connection ends
// (then it is closed). After the first call, RecvEvent must not be used.
func (c *Client) Events() <-chan []byte {
	c.evOnce.Do(func() {
		c.evCh = make(chan []byte, 64)
		go func() {
			defer close(c.evCh)
			for {
				m, err := c.RecvEvent(-1)
				if err != nil {
					return
				}
				select {
				case c.evCh <- m:
				case <-c.closed:
					return
				}
			}
		}()
	})
	return c.evCh
}

// Close disconnects. The server notices through the setup socket and removes
// the connection's files.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		// libqb closes the setup socket first; the server cleans up on its EOF.
		c.setup.Close()
		if c.reqSock != nil {
			c.reqSock.Close()
		}
		if c.evSock != nil {
			c.evSock.Close()
		}
		// Wait for calls in flight (they notice the close within one slice)
		// before unmapping what they may be reading.
		c.reqMu.Lock()
		c.evMu.Lock()
		defer c.reqMu.Unlock()
		defer c.evMu.Unlock()
		if c.ctl != nil {
			unix.Munmap(c.ctl)
			c.ctl = nil
			// As libqb's client does for SOCKET connections; the server
			// tolerates the file being gone.
			os.Remove(c.ctlPath)
			os.Remove(filepath.Dir(c.ctlPath))
		}
		for _, r := range []*ring{c.req, c.resp, c.ev} {
			if r != nil {
				r.close()
			}
		}
	})
	return nil
}
