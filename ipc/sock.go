package ipc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The SOCKET transport (connection_type 0), as libqb's lib/ipc_socket.c builds it.
// With B = "<dir>/qb-<service>" (the handshake's response string):
//
//	server: datagram socket bound to abstract B-request   (requests in, responses out)
//	        datagram socket bound to abstract B-event-tx  (events out)
//	client: datagram socket bound to B-response, connected to B-request
//	        datagram socket bound to B-event,    connected to B-event-tx
//	control file "<dir>/qb-control-<service>": 3 × {int32 sent, int32 flow_control}
//
// One message is one datagram. The server connects its two sockets to the
// client's on first send. The setup stream socket only tells liveness.

const sockControlSize = 24

type sockServer struct {
	c          *Conn
	ctlPath    string
	ctl        []byte // the mapped control file
	ctlMu      sync.Mutex
	req, ev    *net.UnixConn
	respPeer   string // abstract name of the client's response socket
	evPeer     string
	respLinked bool // only touched by the response writer
	evLinked   bool // only touched by the event writer
}

func newSockServer(c *Conn, base, service string) (serverTransport, connResponse, error) {
	t := &sockServer{c: c}
	var resp connResponse
	ctlPath := fmt.Sprintf("%s-control-%s", base, service)
	b := fmt.Sprintf("%s-%s", base, service)
	if err := checkPath(ctlPath, nameMax); err != nil {
		return nil, resp, err
	}
	if len(b)+len("-event-tx") > abstractNameMax {
		return nil, resp, fmt.Errorf("ipc: socket name %q-event-tx longer than %d bytes: %w", b, abstractNameMax, unix.ENAMETOOLONG)
	}
	// The client opens the control file before it creates its sockets, so the
	// file must exist before the response is sent.
	if err := createFile(ctlPath, sockControlSize, c.creds); err != nil {
		return nil, resp, err
	}
	t.ctlPath = ctlPath
	var err error
	if t.ctl, err = mapFile(ctlPath, sockControlSize); err != nil {
		t.cleanup()
		return nil, resp, err
	}
	if t.req, err = dgramSocket(b+"-request", "", c.maxMsg); err != nil {
		t.cleanup()
		return nil, resp, err
	}
	if t.ev, err = dgramSocket(b+"-event-tx", "", c.maxMsg); err != nil {
		t.cleanup()
		return nil, resp, err
	}
	t.respPeer = b + "-response"
	t.evPeer = b + "-event"
	resp.Request = ctlPath
	resp.Response = b
	return t, resp, nil
}

func (t *sockServer) serve(deliver func([]byte) bool) error {
	// Liveness: the setup socket carries nothing in SOCKET mode, so any read
	// result other than data means the client is gone (libqb
	// _sock_connection_liveliness treats POLLIN as a probable EOF).
	go func() {
		var b [64]byte
		for {
			if _, err := t.c.setup.Read(b[:]); err != nil {
				t.c.fail(nil)
				return
			}
		}
	}()
	buf := make([]byte, t.c.maxMsg+1)
	// Go reports an abstract sender as "@" and the name up to its first NUL.
	client := "@" + t.respPeer[:min(len(t.respPeer), abstractNameMax)]
	for {
		n, from, err := t.req.ReadFromUnix(buf)
		if err == nil && (from == nil || from.Name != client) {
			// Anyone in the network namespace can reach the abstract
			// request socket; only a socket bound to the client's name
			// (B-response, as libqb binds it) speaks for the client. libqb
			// does not check this; dropping strangers costs nothing.
			t.c.srv.opts.Logf("ipc %s: conn %d: dropped a datagram from %v", t.c.srv.name, t.c.id, from)
			continue
		}
		if err != nil {
			select {
			case <-t.c.done:
				return nil
			default:
				return fmt.Errorf("reading request: %w", err)
			}
		}
		if n > t.c.maxMsg {
			return fmt.Errorf("%w: request datagram over %d bytes", ErrTooBig, t.c.maxMsg)
		}
		if !deliver(append([]byte(nil), buf[:n]...)) {
			return nil
		}
	}
}

func (t *sockServer) writeResponse(msg []byte) error {
	if !t.respLinked {
		if err := t.link(t.req, t.respPeer); err != nil {
			return err
		}
		t.respLinked = true
	}
	_, err := t.req.Write(msg)
	return err
}

func (t *sockServer) writeEvent(msg []byte) error {
	if !t.evLinked {
		if err := t.link(t.ev, t.evPeer); err != nil {
			return err
		}
		t.evLinked = true
	}
	_, err := t.ev.Write(msg)
	return err
}

func (t *sockServer) flushEvents() error { return nil }

// link connects a server datagram socket to the client's, retrying for a while
// because the client creates its sockets only after reading the handshake
// response (libqb _finish_connecting: 10 tries, 100 ms apart).
func (t *sockServer) link(uc *net.UnixConn, peer string) error {
	var err error
	for range 20 {
		if err = connectDgram(uc, peer); err == nil {
			return nil
		}
		select {
		case <-t.c.done:
			return ErrClosed
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("connecting to client socket %q: %w", peer, err)
}

func (t *sockServer) shutdown() {
	t.c.setup.Close()
	if t.req != nil {
		t.req.Close()
	}
	if t.ev != nil {
		t.ev.Close()
	}
}

// setFlowControl writes flow_control of the request channel ({sent,
// flow_control} pair 0 of the control file), which libqb clients check before
// every send (qb_ipc_us_fc_get).
func (t *sockServer) setFlowControl(level int32) {
	t.ctlMu.Lock()
	defer t.ctlMu.Unlock()
	if t.ctl != nil {
		atomic.StoreInt32((*int32)(unsafe.Pointer(&t.ctl[4])), level)
	}
}

func (t *sockServer) cleanup() {
	t.shutdown()
	t.ctlMu.Lock()
	if t.ctl != nil {
		unix.Munmap(t.ctl)
		t.ctl = nil
	}
	t.ctlMu.Unlock()
	if t.ctlPath != "" {
		// The client unlinks it too when it disconnects first.
		os.Remove(t.ctlPath)
	}
}

// Binding and connecting go through package syscall: its SockaddrUnix accepts
// the full 108-byte abstract name (and so produces addrlen 110, which libqb
// uses); golang.org/x/sys/unix refuses names of that length.

// dgramSocket makes a non-blocking datagram socket bound to the abstract name
// local and, when remote is not empty, connected to remote. Buffers are raised
// to size as libqb's set_sock_size does.
func dgramSocket(local, remote string, size int) (*net.UnixConn, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("ipc: socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: abstractAddr(local)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ipc: bind %q: %w", local, err)
	}
	if remote != "" {
		if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: abstractAddr(remote)}); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("ipc: connect %q: %w", remote, err)
		}
	}
	setSockSize(fd, size)
	f := os.NewFile(uintptr(fd), local)
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("ipc: %q: %w", local, err)
	}
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		nc.Close()
		return nil, fmt.Errorf("ipc: %q is not a unix socket", local)
	}
	return uc, nil
}

func connectDgram(uc *net.UnixConn, remote string) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		cerr = syscall.Connect(int(fd), &syscall.SockaddrUnix{Name: abstractAddr(remote)})
	}); err != nil {
		return err
	}
	return cerr
}

// setSockSize raises SO_SNDBUF and SO_RCVBUF to size when they are smaller
// (libqb lib/ipc_socket.c set_sock_size). The kernel caps the values at
// net.core.wmem_max / rmem_max.
func setSockSize(fd, size int) {
	for _, opt := range []int{unix.SO_SNDBUF, unix.SO_RCVBUF} {
		if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, opt); err == nil && v <= size {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, size)
		}
	}
}

// createFile creates a shared file as libqb does (O_EXCL, ftruncate,
// fallocate), owned by the client and mode 0600.
func createFile(path string, size int64, owner Creds) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("ipc: create %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, size); err != nil {
		os.Remove(path)
		return fmt.Errorf("ipc: truncate %s: %w", path, err)
	}
	if err := unix.Fallocate(fd, 0, 0, size); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		os.Remove(path)
		return fmt.Errorf("ipc: allocate %s: %w", path, err)
	}
	unix.Fchown(fd, int(owner.UID), int(owner.GID)) // may fail when not root, as in libqb
	unix.Fchmod(fd, 0o600)
	return nil
}
