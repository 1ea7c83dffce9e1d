package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func rawDial(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: abstractAddr(name), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uc.Close() })
	return uc
}

// mustServe checks that the server still answers a well-behaved client.
func mustServe(t *testing.T, s *testServer) {
	t.Helper()
	c, err := Dial(s.name, ClientOptions{})
	if err != nil {
		t.Fatalf("server no longer accepts: %v", err)
	}
	defer c.Close()
	resp, err := c.Request(req(7, "still alive"), 10*time.Second)
	if err != nil {
		t.Fatalf("server no longer answers: %v", err)
	}
	checkEcho(t, resp, 7, "still alive")
}

// settle waits until every accepted connection has been closed, so that a
// test counting Closed calls sees only its own.
func settle(t *testing.T, s *testServer) {
	t.Helper()
	waitFor(t, "earlier connections to close", func() bool { return s.h.accepted.Load() == s.h.closed.Load() })
}

func TestRefused(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		s := startServer(t, tr, nil)
		s.h.refuse = syscall.EPERM
		if _, err := Dial(s.name, ClientOptions{}); !errors.Is(err, syscall.EPERM) {
			t.Errorf("refused with EPERM: got %v", err)
		}
		s.h.refuse = errors.New("not you")
		if _, err := Dial(s.name, ClientOptions{}); !errors.Is(err, syscall.EACCES) {
			t.Errorf("refused with a plain error: got %v, want EACCES", err)
		}
		if s.h.closed.Load() != 0 {
			t.Errorf("Closed called for a refused connection")
		}
		s.h.refuse = nil
		mustServe(t, s)
	})
}

func TestMaxConns(t *testing.T) {
	s := startServer(t, SHM, func(o *ServerOptions) { o.MaxConns = 2 })
	var cs []*Client
	for range 2 {
		c, err := Dial(s.name, ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	if _, err := Dial(s.name, ClientOptions{}); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("third connection: %v, want EAGAIN", err)
	}
	cs[0].Close()
	waitFor(t, "a slot to free", func() bool { return s.h.closed.Load() == 1 })
	c, err := Dial(s.name, ClientOptions{})
	if err != nil {
		t.Fatalf("after a disconnect: %v", err)
	}
	c.Close()
	cs[1].Close()
}

func TestNegotiation(t *testing.T) {
	s := startServer(t, Socket, func(o *ServerOptions) { o.MinMsgSize = 131072; o.MaxMsgSize = 4 << 20 })
	for _, tc := range []struct{ ask, want uint32 }{
		{0, 131072}, {1000, 131072}, {1 << 20, 1 << 20}, {0xFFFFFFFF, 4 << 20},
	} {
		c, err := Dial(s.name, ClientOptions{MaxMsgSize: tc.ask})
		if tc.ask == 0 {
			// ClientOptions treats 0 as "default"; ask 0 with a raw handshake.
			uc := rawDial(t, s.name)
			uc.Write(connRequest{ID: MsgAuthenticate, Size: 24}.marshal())
			b := make([]byte, connResponseSize)
			if _, err := io.ReadFull(uc, b); err != nil {
				t.Fatal(err)
			}
			r, err := parseConnResponse(b)
			if err != nil || r.MaxMsgSize != tc.want || r.Type != Socket || r.Error != 0 {
				t.Errorf("ask 0: %+v %v", r, err)
			}
			uc.Close()
			if err == nil {
				c.Close()
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxMsgSize() != int(tc.want) {
			t.Errorf("ask %d: got %d, want %d", tc.ask, c.MaxMsgSize(), tc.want)
		}
		c.Close()
	}
}

func TestHostileHandshake(t *testing.T) {
	s := startServer(t, SHM, func(o *ServerOptions) { o.HandshakeTimeout = 300 * time.Millisecond })

	// Wrong id: closed without an answer, as libqb does.
	uc := rawDial(t, s.name)
	bad := connRequest{ID: 5, Size: 24, MaxMsgSize: 1 << 20}.marshal()
	uc.Write(bad)
	uc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := uc.Read(make([]byte, 100)); err != io.EOF {
		t.Errorf("bad id: read %d, %v; want EOF", n, err)
	}

	// Partial request, then silence: dropped after HandshakeTimeout.
	uc = rawDial(t, s.name)
	uc.Write(bad[:10])
	uc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := uc.Read(make([]byte, 100)); err != io.EOF {
		t.Errorf("partial request: read %d, %v; want EOF", n, err)
	}

	// Connect and vanish; connect and send garbage; many at once.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: abstractAddr(s.name), Net: "unix"})
			if err != nil {
				return
			}
			if i%2 == 0 {
				uc.Write([]byte("GET / HTTP/1.0\r\n\r\n garbage garbage garbage"))
			}
			uc.Close()
		}()
	}
	wg.Wait()

	// A valid request followed by extra bytes and a hang-up mid-response.
	uc = rawDial(t, s.name)
	uc.Write(append(connRequest{ID: MsgAuthenticate, Size: 24, MaxMsgSize: 4096}.marshal(), 1, 2, 3))
	uc.Read(make([]byte, 10))
	uc.Close()

	mustServe(t, s)
	waitFor(t, "all connections to go", func() bool { return len(s.Conns()) == 0 })
}

// TestHostileSocketRequests sends malformed datagrams on a SOCKET connection:
// the offender is dropped, everyone else is served.
func TestHostileSocketRequests(t *testing.T) {
	s := startServer(t, Socket, nil)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"short", []byte{1, 2, 3}},
		{"size-zero", make([]byte, 16)},
		{"size-too-big", func() []byte { m := NewRequest(1, 8); binary.LittleEndian.PutUint32(m[8:], 1000); return m }()},
		{"size-negative", func() []byte { m := NewRequest(1, 8); binary.LittleEndian.PutUint32(m[8:], 0x80000000); return m }()},
		{"disconnect-id", NewRequest(MsgDisconnect, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settle(t, s)
			before := s.h.closed.Load()
			c, err := Dial(s.name, ClientOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.reqSock.Write(tc.msg); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the server to drop the client", func() bool { return s.h.closed.Load() >= before+1 })
			if _, err := c.Request(req(1, "x"), 5*time.Second); err == nil {
				t.Errorf("request after being dropped succeeded")
			}
			mustServe(t, s)
		})
	}
}

// TestStrangerDatagrams: datagrams sent to a connection's request socket
// from any socket but the client's own are ignored.
func TestStrangerDatagrams(t *testing.T) {
	s := startServer(t, Socket, nil)
	c, err := Dial(s.name, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	target := abstractAddr(strings.TrimPrefix(c.reqSock.RemoteAddr().(*net.UnixAddr).Name, "@"))
	for _, local := range []string{"", fmt.Sprintf("rmstranger-%d", os.Getpid())} {
		var laddr *net.UnixAddr
		if local != "" {
			laddr = &net.UnixAddr{Name: abstractAddr(local), Net: "unixgram"}
		}
		sc, err := net.DialUnix("unixgram", laddr, &net.UnixAddr{Name: target, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		sc.Write(make([]byte, 16)) // size 0: would mean "disconnect" from the client
		sc.Write(req(1, "spoofed"))
		sc.Close()
	}
	for i := range 20 {
		resp, err := c.Request(req(int32(i), "genuine"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, resp, int32(i), "genuine")
	}
	if st := s.Conns()[0].Stats(); st.Requests != 20 {
		t.Errorf("%d requests reached the handler, want 20", st.Requests)
	}
}

// TestHostileShm corrupts a client's own rings: bad magic, absurd lengths, a
// semaphore that lies, truncated files (a fault inside the server, recovered).
func TestHostileShm(t *testing.T) {
	s := startServer(t, SHM, nil)
	for _, tc := range []struct {
		name   string
		poison func(c *Client)
	}{
		{"bad-magic", func(c *Client) {
			atomic32(c.req.word(c.req.wp+1), 0x12345678)
			c.req.post()
		}},
		{"huge-length", func(c *Client) {
			c.req.write(req(1, "x"))
			atomic32(c.req.word(0), 0xFFFFFFF0)
		}},
		{"sem-lies", func(c *Client) {
			for range 5 {
				c.req.post()
			}
		}},
		{"truncated-request-ring", func(c *Client) {
			c.req.write(req(1, "x"))
			os.Truncate(c.req.dataPath, 0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settle(t, s)
			before := s.h.closed.Load()
			c, err := Dial(s.name, ClientOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			func() {
				defer func() { recover() }() // our own mapping may fault too
				guardFaults()
				tc.poison(c)
			}()
			c.setup.Write([]byte{1})
			waitFor(t, "the server to drop the client", func() bool { return s.h.closed.Load() >= before+1 })
			mustServe(t, s)
		})
	}
}

func atomic32(p *uint32, v uint32) { *p = v }

// TestSlowEventReader: a client that never reads its events is disconnected
// once its queue is full; the server keeps serving everyone else meanwhile.
func TestSlowEventReader(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		s := startServer(t, tr, func(o *ServerOptions) { o.QueueLimit = 64 })
		lazy, err := Dial(s.name, ClientOptions{MaxMsgSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer lazy.Close()
		body := make([]byte, 4)
		binary.LittleEndian.PutUint32(body, 100000)
		// The handler stops sending at the first error, so this returns.
		lazy.Send(req(102, string(body)))
		waitFor(t, "the lazy client to be dropped", func() bool { return s.h.closed.Load() == 1 })
		mustServe(t, s)
	})
}

// TestFlood: requests sent without reading the responses. The server applies
// the queue limit to the flooder only.
func TestFlood(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		s := startServer(t, tr, func(o *ServerOptions) { o.QueueLimit = 256 })
		f, err := Dial(s.name, ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sent := 0
		for i := range 100000 {
			if err := f.Send(req(int32(i%100), "flood flood flood")); err != nil {
				if errors.Is(err, ErrTryAgain) {
					time.Sleep(time.Millisecond)
					continue
				}
				break
			}
			sent++
			if s.h.closed.Load() == 1 {
				break
			}
		}
		waitFor(t, "the flooder to be dropped", func() bool { return s.h.closed.Load() == 1 })
		t.Logf("flooder sent %d requests before being dropped", sent)
		mustServe(t, s)
	})
}

func TestManyClients(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		s := startServer(t, tr, nil)
		const clients, rounds = 40, 100
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := Dial(s.name, ClientOptions{MaxMsgSize: 64 << 10})
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				for j := range rounds {
					body := fmt.Sprintf("client %d round %d", i, j)
					id := int32(j % 7)
					if j%10 == 0 {
						id = 100
					}
					resp, err := c.Request(req(id, body), 10*time.Second)
					if err != nil {
						errs <- fmt.Errorf("client %d: %w", i, err)
						return
					}
					if h, _ := ParseResponseHeader(resp); h.ID != id || string(resp[ResponseHeaderSize:]) != body {
						errs <- fmt.Errorf("client %d got %q", i, resp[ResponseHeaderSize:])
						return
					}
					if id == 100 {
						ev, err := c.RecvEvent(10 * time.Second)
						if err != nil || string(ev[ResponseHeaderSize:]) != body {
							errs <- fmt.Errorf("client %d event %q: %v", i, ev, err)
							return
						}
					}
				}
				// Half the clients leave abruptly with a request in flight.
				if i%2 == 0 {
					c.Send(req(1, "bye"))
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		waitFor(t, "every Closed", func() bool { return s.h.closed.Load() == clients })
		if s.h.accepted.Load() != clients {
			t.Errorf("accepted %d", s.h.accepted.Load())
		}
	})
}

func TestServerClose(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		// A client stuck in the handshake must not hold Close up for the
		// (here absurd) handshake timeout.
		s := startServer(t, tr, func(o *ServerOptions) { o.HandshakeTimeout = time.Hour })
		silent := rawDial(t, s.name)
		silent.Write([]byte{0xff, 0xff})
		var cs []*Client
		for range 5 {
			c, err := Dial(s.name, ClientOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cs = append(cs, c)
		}
		s.Close()
		if s.h.closed.Load() != 5 {
			t.Errorf("Closed called %d times", s.h.closed.Load())
		}
		for _, c := range cs {
			if _, err := c.Request(req(1, "x"), 5*time.Second); !errors.Is(err, ErrClosed) {
				t.Errorf("request to a closed server: %v", err)
			}
		}
		if _, err := Dial(s.name, ClientOptions{}); err == nil {
			t.Errorf("dial after Close succeeded")
		}
	})
}

// TestHandlerClose: the handler closes the connection from inside Request.
func TestHandlerClose(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		s := startServer(t, tr, nil)
		c, err := Dial(s.name, ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Request(req(101, "close me"), 5*time.Second); !errors.Is(err, ErrClosed) {
			t.Errorf("request answered by Close: %v", err)
		}
		waitFor(t, "Closed", func() bool { return s.h.closed.Load() == 1 })
	})
}

func TestEventsChannelAndFd(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		s := startServer(t, tr, nil)
		c, err := Dial(s.name, ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Request(req(100, "one"), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		fds := []unix.PollFd{{Fd: int32(c.Fd()), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 10000); n != 1 || err != nil || fds[0].Revents&unix.POLLIN == 0 {
			t.Fatalf("poll on Fd: %d %v %#x", n, err, fds[0].Revents)
		}
		ch := c.Events()
		ev := <-ch
		checkEcho(t, ev, 200, "one")
		c.Close()
		for range ch {
		}
	})
}

func TestFlowControl(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		s := startServer(t, tr, nil)
		c, err := Dial(s.name, ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Request(req(103, "manual"), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(req(1, "x")); !errors.Is(err, ErrTryAgain) {
			t.Fatalf("send under flow control 1: %v, want ErrTryAgain", err)
		}
		conns := s.Conns()
		if len(conns) != 1 || conns[0].FlowControl() != 1 {
			t.Fatalf("conns %v", conns)
		}
		conns[0].SetFlowControl(0)
		resp, err := c.Request(req(1, "x"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, resp, 1, "x")

		// Level 2: libqb clients still send, the server holds the requests.
		if _, err := c.Request(req(104, ""), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(req(2, "held")); err != nil {
			t.Fatalf("send under flow control 2: %v", err)
		}
		if _, err := c.Recv(300 * time.Millisecond); !errors.Is(err, ErrTimeout) {
			t.Fatalf("a held request was answered: %v", err)
		}
		s.SetFlowControl(0)
		resp, err = c.Recv(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, resp, 2, "held")

		// Server-wide: new connections start under flow control too.
		s.SetFlowControl(1)
		c2, err := Dial(s.name, ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		if err := c2.Send(req(1, "x")); !errors.Is(err, ErrTryAgain) {
			t.Fatalf("new connection under server flow control: %v", err)
		}
		s.SetFlowControl(0)
		if _, err := c2.Request(req(1, "x"), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDisconnectWithQueuedEvents: clients that leave with thousands of events
// still queued for them (writers blocked on a full socket queue or ring) are
// cleaned up completely, and the server's goroutines go back to where they were.
func TestDisconnectWithQueuedEvents(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		base := runtime.NumGoroutine()
		s := startServer(t, tr, nil)
		for range 10 {
			c, err := Dial(s.name, ClientOptions{MaxMsgSize: 16 << 10})
			if err != nil {
				t.Fatal(err)
			}
			body := make([]byte, 4)
			binary.LittleEndian.PutUint32(body, 3000)
			if _, err := c.Request(req(102, string(body)), 10*time.Second); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		waitFor(t, "every Closed", func() bool { return s.h.closed.Load() == 10 })
		s.Close()
		waitFor(t, "goroutines to finish", func() bool { return runtime.NumGoroutine() <= base+2 })
	})
}
