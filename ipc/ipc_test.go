package ipc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoHandler answers request id N with a response of id N carrying the body;
// id 100 also sends the body back as an event (id 200), id 101 asks for a
// disconnect.
type echoHandler struct {
	mu       sync.Mutex
	accepted atomic.Int32
	closed   atomic.Int32
	refuse   error
	conns    map[uint64]*Conn
}

func (h *echoHandler) Accept(c *Conn) error {
	if h.refuse != nil {
		return h.refuse
	}
	h.accepted.Add(1)
	if h.conns == nil {
		h.conns = map[uint64]*Conn{}
	}
	h.conns[c.ID()] = c
	return nil
}

func (h *echoHandler) Request(c *Conn, msg []byte) {
	hdr, _ := ParseRequestHeader(msg)
	body := msg[RequestHeaderSize:]
	r := NewResponse(hdr.ID, 1, len(body))
	copy(r[ResponseHeaderSize:], body)
	switch hdr.ID {
	case 100:
		ev := NewResponse(200, 1, len(body))
		copy(ev[ResponseHeaderSize:], body)
		if err := c.SendEvent(ev); err != nil {
			panic(err)
		}
	case 101:
		c.Close()
		return
	case 103: // flow control on for a moment (or until the test lifts it)
		c.SetFlowControl(1)
		if string(body) == "auto" {
			time.AfterFunc(200*time.Millisecond, func() { c.SetFlowControl(0) })
		}
	case 104:
		c.SetFlowControl(2)
	case 102: // events only, no response
		n := int(binary.LittleEndian.Uint32(body))
		for i := range n {
			ev := NewResponse(200, 1, 8)
			binary.LittleEndian.PutUint64(ev[ResponseHeaderSize:], uint64(i))
			if c.SendEvent(ev) != nil {
				return
			}
		}
	}
	c.Respond(r)
}

func (h *echoHandler) Closed(c *Conn) {
	h.closed.Add(1)
	delete(h.conns, c.ID())
}

type testServer struct {
	*Server
	name   string
	dir    string
	h      *echoHandler
	cancel context.CancelFunc
	done   chan error
}

var nameSeq atomic.Int32

func startServer(t testing.TB, tr Transport, mutate func(*ServerOptions)) *testServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "rmipc")
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("rmtest-%d-%d", os.Getpid(), nameSeq.Add(1))
	h := &echoHandler{}
	opts := ServerOptions{Transport: Fixed(tr), ShmDir: dir, Logf: t.Logf}
	if mutate != nil {
		mutate(&opts)
	}
	s, err := NewServer(name, h, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: s, name: name, dir: dir, h: h, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ts.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		left, _ := os.ReadDir(dir)
		if len(left) != 0 {
			t.Errorf("files left in %s: %v", dir, left)
		}
		os.RemoveAll(dir)
	})
	return ts
}

func req(id int32, body string) []byte {
	m := NewRequest(id, len(body))
	copy(m[RequestHeaderSize:], body)
	return m
}

func checkEcho(t testing.TB, resp []byte, id int32, body string) {
	t.Helper()
	h, err := ParseResponseHeader(resp)
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	if h.ID != id || h.Error != 1 || string(resp[ResponseHeaderSize:]) != body {
		t.Fatalf("response %+v %q, want id %d body %q", h, resp[ResponseHeaderSize:], id, body)
	}
}

func forBoth(t *testing.T, f func(t *testing.T, tr Transport)) {
	for _, tr := range []Transport{Socket, SHM} {
		t.Run(tr.String(), func(t *testing.T) { f(t, tr) })
	}
}

// waitFor polls cond for up to 10 s (bounded; no timing assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRequestResponse(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		s := startServer(t, tr, nil)
		c, err := Dial(s.name, ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Transport() != tr || c.MaxMsgSize() != 1<<20 {
			t.Fatalf("transport %v max %d", c.Transport(), c.MaxMsgSize())
		}
		if cr := c.ServerCreds(); cr.PID != int32(os.Getpid()) {
			t.Errorf("server creds %v", cr)
		}
		for i := range 2000 {
			body := fmt.Sprintf("hello %d %s", i, string(make([]byte, i%300)))
			resp, err := c.Request(req(int32(i%50), body), 5*time.Second)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			checkEcho(t, resp, int32(i%50), body)
		}
		// A message close to the negotiated maximum (wraps the SHM ring).
		big := string(make([]byte, c.MaxMsgSize()-RequestHeaderSize-64))
		for i := range 5 {
			resp, err := c.Request(req(int32(i), big), 5*time.Second)
			if err != nil {
				t.Fatalf("big request: %v", err)
			}
			checkEcho(t, resp, int32(i), big)
		}
		if _, err := c.Request(req(1, string(make([]byte, c.MaxMsgSize()))), time.Second); !errors.Is(err, ErrTooBig) {
			t.Errorf("oversized request: %v, want ErrTooBig", err)
		}
		// The writer counts a response just after the client may have read it.
		conn := s.Conns()[0]
		waitFor(t, "the counters to settle", func() bool { return conn.Stats().Responses == 2005 })
		if st := conn.Stats(); st.Requests != 2005 || st.Responses != 2005 || st.Events != 0 || st.Queued != 0 {
			t.Errorf("conn stats %+v", st)
		}
		if ss := s.Stats(); ss.Active != 1 || ss.Closed != 0 {
			t.Errorf("server stats %+v", ss)
		}
		c.Close()
		waitFor(t, "Closed", func() bool { return s.h.closed.Load() == 1 })
		waitFor(t, "stats", func() bool { return s.Stats() == ServerStats{Active: 0, Closed: 1} })
	})
}

func TestEvents(t *testing.T) {
	forBoth(t, func(t *testing.T, tr Transport) {
		s := startServer(t, tr, nil)
		c, err := Dial(s.name, ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := range 100 {
			body := fmt.Sprintf("ev%d", i)
			resp, err := c.Request(req(100, body), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			checkEcho(t, resp, 100, body)
			// The event is queued before the response, and written by its
			// own writer: wait for it, then poll for it with timeout 0.
			var ev []byte
			if i%2 == 0 {
				ev, err = c.RecvEvent(5 * time.Second)
			} else {
				for range 1000 {
					if ev, err = c.RecvEvent(0); !errors.Is(err, ErrTimeout) {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			checkEcho(t, ev, 200, body)
		}
		if _, err := c.RecvEvent(0); !errors.Is(err, ErrTimeout) {
			t.Errorf("RecvEvent with nothing pending: %v", err)
		}
		// Many events queued before the client reads any: more than the
		// socket queue (10 datagrams) and more than fit in the ring at once.
		const n = 3000
		body := make([]byte, 4)
		binary.LittleEndian.PutUint32(body, n)
		if _, err := c.Request(req(102, string(body)), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			ev, err := c.RecvEvent(10 * time.Second)
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			if got := binary.LittleEndian.Uint64(ev[ResponseHeaderSize:]); got != uint64(i) {
				t.Fatalf("event %d carries %d", i, got)
			}
		}
	})
}
