package ipc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// vectorLines returns the hex of every "<dir> <svc> <channel> <hex>" line of a
// strace vector with the given direction and channel.
func vectorLines(t *testing.T, file, dir, channel string) [][]byte {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "testdata", "ipc", file))
	if err != nil {
		testenv.Unavailable(t, "vector %s: %v", file, err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 4 && fs[0] == dir && fs[2] == channel {
			b, err := hex.DecodeString(fs[3])
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			out = append(out, b)
		}
	}
	return out
}

// TestHandshakeVectors decodes the real handshakes corosync-cmapctl and
// corosync 3.1.7 exchanged, and checks our encoder writes the same defined
// fields (padding and the server cookie are not compared).
func TestHandshakeVectors(t *testing.T) {
	for _, tc := range []struct {
		file string
		tr   Transport
		req  string
		resp string
		ev   string
	}{
		{"corosync-cmapctl-get.txt", Socket, "/qb-control-cmap", "/qb-cmap", ""},
		{"corosync-shm-handshake.txt", SHM, "/qb-request-cmap", "/qb-response-cmap", "/qb-event-cmap"},
	} {
		reqs := vectorLines(t, tc.file, "C->S", "setup")
		resps := vectorLines(t, tc.file, "S->C", "setup")
		if len(reqs) == 0 || len(resps) == 0 {
			t.Fatalf("%s: no handshake", tc.file)
		}
		r, err := parseConnRequest(reqs[0])
		if err != nil || r.MaxMsgSize != 1<<20 || r.Size != 24 {
			t.Errorf("%s: request %+v %v", tc.file, r, err)
		}
		if !bytes.Equal(r.marshal(), reqs[0]) {
			t.Errorf("%s: request re-encodes differently", tc.file)
		}
		resp, err := parseConnResponse(resps[0])
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if resp.Error != 0 || resp.Type != tc.tr || resp.MaxMsgSize != 1<<20 ||
			!strings.HasPrefix(resp.Request, "/dev/shm/qb-") || !strings.HasSuffix(resp.Request, tc.req) ||
			!strings.HasSuffix(resp.Response, tc.resp) || !strings.HasSuffix(resp.Event, tc.ev) {
			t.Errorf("%s: response %+v", tc.file, resp)
		}
		mine := resp.marshal()
		real := bytes.Clone(resps[0])
		// Zero what is undefined or a pointer in the real bytes.
		for _, r := range [][2]int{{4, 8}, {12, 16}, {20, 24}, {32, 40}} {
			clear(real[r[0]:r[1]])
			clear(mine[r[0]:r[1]])
		}
		if !bytes.Equal(mine, real) {
			t.Errorf("%s: our encoding of the response differs from the real one", tc.file)
		}
	}
}

// ringVector holds the byte ranges a shm-*.txt vector lists for each file and
// the chunk payloads it decodes, per part of the file.
type ringVector struct {
	ranges map[string][]ringRange // "request-header" -> ranges
	chunks map[string][][]byte    // "request" -> payloads in ring order
}

type ringRange struct {
	off int
	b   []byte
}

func readRingVector(t *testing.T, file string) map[string]*ringVector {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "testdata", "ipc", file))
	if err != nil {
		testenv.Unavailable(t, "vector %s: %v", file, err)
	}
	defer f.Close()
	parts := map[string]*ringVector{}
	part := "A"
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# PART "); ok {
			part = rest[:1]
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 3 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		off, err1 := strconv.Atoi(fs[1])
		b, err2 := hex.DecodeString(fs[2])
		if err1 != nil || err2 != nil {
			continue
		}
		v := parts[part]
		if v == nil {
			v = &ringVector{ranges: map[string][]ringRange{}, chunks: map[string][][]byte{}}
			parts[part] = v
		}
		if ring, ok := strings.CutSuffix(fs[0], "-chunk"); ok {
			v.chunks[ring] = append(v.chunks[ring], b)
		} else {
			v.ranges[fs[0]] = append(v.ranges[fs[0]], ringRange{off, b})
		}
	}
	return parts
}

// TestRingAgainstCorosync replays the two GETs of shm-cmap-get.txt through our
// ring code (client writing requests, server reading them and writing the
// responses, client reading those) and compares the ring files with the bytes
// real corosync and libqb left behind.
func TestRingAgainstCorosync(t *testing.T) {
	parts := readRingVector(t, "shm-cmap-get.txt")
	b := parts["B"]
	if b == nil || len(b.chunks["request"]) != 2 || len(b.chunks["response"]) != 2 {
		t.Fatalf("unexpected vector shape")
	}
	dir := t.TempDir()
	me := Creds{PID: int32(os.Getpid()), UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	srv := map[string]*ring{}
	cli := map[string]*ring{}
	for _, name := range []string{"request", "response"} {
		r, err := createRing(dir+"/qb-"+name+"-cmap", 1<<20, me)
		if err != nil {
			t.Fatal(err)
		}
		defer r.close()
		srv[name] = r
		c, err := openRing(r.hdrPath[:len(r.hdrPath)-len("-header")], func(p string) string { return p })
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		cli[name] = c
	}
	for i := range 2 {
		// The request payload in the vector is the consumed chunk; its length
		// comes from the message's own size field.
		reqMsg := b.chunks["request"][i]
		reqMsg = reqMsg[:int(le32(reqMsg[8:]))]
		if err := cli["request"].write(reqMsg); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			compareRing(t, "part A", parts["A"], "request", cli["request"])
		}
		got, ok, err := srv["request"].tryRead(1 << 20)
		if !ok || err != nil || !bytes.Equal(got, reqMsg) {
			t.Fatalf("server read %x %v %v", got, ok, err)
		}
		respMsg := b.chunks["response"][i]
		respMsg = respMsg[:int(le32(respMsg[8:]))]
		if err := srv["response"].write(respMsg); err != nil {
			t.Fatal(err)
		}
		if err := cli["response"].semWait(deadlineFor(0), func() error { return nil }); err != nil {
			t.Fatal(err)
		}
		got, _, err = cli["response"].readChunk(1 << 20)
		if err != nil || !bytes.Equal(got, respMsg) {
			t.Fatalf("client read %x %v", got, err)
		}
	}
	compareRing(t, "part B", b, "request", srv["request"])
	compareRing(t, "part B", b, "response", srv["response"])
}

func compareRing(t *testing.T, part string, v *ringVector, name string, r *ring) {
	t.Helper()
	for _, kind := range []string{"header", "data"} {
		mem := r.hdr
		if kind == "data" {
			mem = r.data
		}
		for _, rg := range v.ranges[name+"-"+kind] {
			if kind == "header" && (rg.off == rhHdrPath || rg.off == rhDataPath) {
				continue // paths hold pids and random suffixes
			}
			got := mem[rg.off : rg.off+len(rg.b)]
			if !bytes.Equal(got, rg.b) {
				t.Errorf("%s %s-%s at %d:\n got %x\nwant %x", part, name, kind, rg.off, got, rg.b)
			}
		}
	}
}

func FuzzParseHeaders(f *testing.F) {
	f.Add(NewRequest(2, 272))
	f.Add(NewResponse(2, 1, 16))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := ParseRequestHeader(b); err == nil {
			if h.Size < RequestHeaderSize || int(h.Size) > len(b) {
				t.Fatalf("accepted size %d for %d bytes", h.Size, len(b))
			}
			m := make([]byte, RequestHeaderSize)
			PutRequestHeader(m, h)
			if h2, _ := ParseRequestHeader(append(m, make([]byte, int(h.Size)-RequestHeaderSize)...)); h2 != h {
				t.Fatalf("round trip %+v -> %+v", h, h2)
			}
		}
		if h, err := ParseResponseHeader(b); err == nil {
			if h.Size < ResponseHeaderSize || int(h.Size) > len(b) {
				t.Fatalf("accepted size %d for %d bytes", h.Size, len(b))
			}
		}
	})
}

func FuzzHandshake(f *testing.F) {
	f.Add(connRequest{ID: MsgAuthenticate, Size: 24, MaxMsgSize: 1 << 20}.marshal())
	f.Add(connResponse{Type: SHM, MaxMsgSize: 1 << 20, Request: "/dev/shm/x/qb-request-cmap"}.marshal())
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := parseConnRequest(b); err == nil {
			if !bytes.Equal(r.marshal()[16:20], b[16:20]) || r.ID != MsgAuthenticate {
				t.Fatalf("request %+v from %x", r, b)
			}
		}
		if r, err := parseConnResponse(b); err == nil {
			r2, err := parseConnResponse(r.marshal())
			if err != nil {
				t.Fatal(err)
			}
			if r.Error == 0 && r2 != r {
				// Strings longer than PATH_MAX-1 lose their last byte; nothing
				// else may change.
				if r2.Type != r.Type || r2.MaxMsgSize != r.MaxMsgSize {
					t.Fatalf("round trip %+v -> %+v", r, r2)
				}
			}
		}
	})
}

// FuzzRingRead points the ring reader at arbitrary ring contents (a hostile
// client controls every byte of its request ring): it must return an error or
// a message within the limit, never panic or over-allocate.
func FuzzRingRead(f *testing.F) {
	f.Add([]byte{0x20, 1, 0, 0, 0xa1, 0xa1, 0xa1, 0xa1}, uint32(0), uint32(1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xa1, 0xa1, 0xa1, 0xa1}, uint32(4095), uint32(3))
	f.Add([]byte{8, 0, 0, 0, 0xa1, 0xa1, 0xa1, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8}, uint32(1023), uint32(1))
	f.Fuzz(func(t *testing.T, data []byte, readPt uint32, sem uint32) {
		const words = 1024
		r := &ring{hdr: make([]byte, rhFileSize), data: make([]byte, words*4), words: words, hdrPath: "fuzz"}
		copy(r.data, data)
		r.rp = readPt % words
		le32put(r.hdr[rhSem:], sem%8)
		for range 8 {
			msg, ok, err := r.tryRead(2048)
			if err != nil || !ok {
				return
			}
			if len(msg) > 2048 {
				t.Fatalf("read %d bytes over the limit", len(msg))
			}
		}
	})
}
