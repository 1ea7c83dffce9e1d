package ipc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The SHM transport (connection_type 1): three ring buffers (request, response,
// event), each two files "<B>-header" and "<B>-data", where B is one of the
// handshake's three strings. Layouts are libqb's lib/ringbuffer_int.h on x86_64
// with glibc's sem_t, verified against real corosync (shared/docs/ipc-wire.md §1.6).
//
// Header file:
//
//	0     write_pt u32 (words)      4     read_pt u32 (words)    8 word_size u32
//	12    hdr_path[4096]            4108  data_path[4096]
//	8204  ref_count i32             8208  sem_t: value u32, nwaiters u32 (one u64), private i32 @8216
//	8240  user_data i32 (flow control on the request ring)
//
// Data file: words; a chunk at word p is [len][magic][payload padded to words],
// indices modulo word_size (libqb maps the file twice to make wrap-around
// contiguous; we copy in two parts instead).
const (
	rhWritePt    = 0
	rhReadPt     = 4
	rhWordSize   = 8
	rhHdrPath    = 12
	rhDataPath   = 4108
	rhRefCount   = 8204
	rhSem        = 8208
	rhSemPrivate = 8216
	rhUserData   = 8240
	rhStructSize = 8248 // sizeof(struct qb_ringbuffer_shared_s)
	rhFileSize   = 8252 // what the server creates: the struct plus an int32 of user data

	chunkMagic      = 0xA1A1A1A1 // committed
	chunkMagicDead  = 0xD0D0D0D0 // consumed
	chunkMagicAlloc = 0xA110CED0 // being written
	chunkMargin     = 12         // QB_RB_CHUNK_MARGIN: header words + one word of rounding

	// semPrivateShared is glibc's encoding of a process-shared semaphore in the
	// "private" field: FUTEX_PRIVATE_FLAG (128) means shared here. With 0,
	// libqb clients wait on a private futex our wake cannot reach.
	semPrivateShared = 128

	futexWait = 0
	futexWake = 1
)

// ring is one mapped ring buffer. Only one side writes it and only the other
// reads it; wp and rp are the writer's and the reader's private copies of the
// positions (the header copies are the peer's to trust, not ours).
type ring struct {
	hdr, data []byte
	words     uint32
	wp, rp    uint32
	hdrPath   string
	dataPath  string
	created   bool
}

func ringDataSize(maxMsg int) int {
	// libqb qb_rb_open_2: the chunk margin plus one byte, rounded up to pages.
	const page = 4096
	return (maxMsg + chunkMargin + 1 + page - 1) / page * page
}

// createRing makes and initialises a ring as libqb's server does (qb_rb_open
// with QB_RB_FLAG_CREATE), owned by the client.
func createRing(base string, maxMsg int, owner Creds) (*ring, error) {
	r := &ring{hdrPath: base + "-header", dataPath: base + "-data", created: true}
	size := ringDataSize(maxMsg)
	if err := createFile(r.hdrPath, rhFileSize, owner); err != nil {
		return nil, err
	}
	if err := createFile(r.dataPath, int64(size), owner); err != nil {
		os.Remove(r.hdrPath)
		return nil, err
	}
	var err error
	if r.hdr, err = mapFile(r.hdrPath, rhFileSize); err != nil {
		r.close()
		return nil, err
	}
	if r.data, err = mapFile(r.dataPath, size); err != nil {
		r.close()
		return nil, err
	}
	r.words = uint32(size / 4)
	le32put(r.hdr[rhWordSize:], r.words)
	copy(r.hdr[rhHdrPath:rhHdrPath+pathMax-1], r.hdrPath)
	copy(r.hdr[rhDataPath:rhDataPath+pathMax-1], r.dataPath)
	le32put(r.hdr[rhRefCount:], 1)
	le32put(r.hdr[rhSemPrivate:], semPrivateShared)
	// libqb writes 5 at word index word_size, which its double mapping aliases
	// to word 0. It means nothing; we copy it for byte-identical files.
	le32put(r.data[0:], 5)
	return r, nil
}

// openRing maps an existing ring as a libqb client does (qb_rb_open without
// CREATE): the header is base+"-header", the data file is the one the header
// names. rewrite maps server paths to paths visible to us (see ClientOptions.ShmDir).
func openRing(base string, rewrite func(string) string) (*ring, error) {
	r := &ring{hdrPath: rewrite(base + "-header")}
	st, err := os.Stat(r.hdrPath)
	if err != nil {
		return nil, fmt.Errorf("ipc: ring header: %w", err)
	}
	if st.Size() < rhStructSize || st.Size() > 1<<20 {
		return nil, fmt.Errorf("ipc: ring header %s has %d bytes", r.hdrPath, st.Size())
	}
	if r.hdr, err = mapFile(r.hdrPath, int(st.Size())); err != nil {
		return nil, err
	}
	r.words = le32(r.hdr[rhWordSize:])
	r.dataPath = rewrite(cString(r.hdr[rhDataPath : rhDataPath+pathMax]))
	st, err = os.Stat(r.dataPath)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("ipc: ring data: %w", err)
	}
	if r.words < 1024 || int64(r.words)*4 != st.Size() {
		r.close()
		return nil, fmt.Errorf("ipc: ring %s: word_size %d does not match data size %d", r.hdrPath, r.words, st.Size())
	}
	if r.data, err = mapFile(r.dataPath, int(st.Size())); err != nil {
		r.close()
		return nil, err
	}
	r.wp = atomic.LoadUint32(r.u32(rhWritePt)) % r.words
	r.rp = atomic.LoadUint32(r.u32(rhReadPt)) % r.words
	atomic.AddInt32((*int32)(unsafe.Pointer(&r.hdr[rhRefCount])), 1)
	return r, nil
}

func mapFile(path string, size int) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("ipc: open %s: %w", path, err)
	}
	defer unix.Close(fd)
	m, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("ipc: mmap %s: %w", path, err)
	}
	return m, nil
}

// close unmaps; a ring we created is also unlinked (data first, as corosync does).
func (r *ring) close() {
	if !r.created && r.hdr != nil {
		// A client drops its reference (libqb qb_rb_close).
		atomic.AddInt32((*int32)(unsafe.Pointer(&r.hdr[rhRefCount])), -1)
	}
	if r.data != nil {
		unix.Munmap(r.data)
		r.data = nil
	}
	if r.hdr != nil {
		unix.Munmap(r.hdr)
		r.hdr = nil
	}
	if r.created {
		os.Remove(r.dataPath)
		os.Remove(r.hdrPath)
	}
}

func (r *ring) u32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.hdr[off])) }
func (r *ring) sem() *uint64        { return (*uint64)(unsafe.Pointer(&r.hdr[rhSem])) }
func (r *ring) word(i uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.data[4*(i%r.words)]))
}

// userData is the flow-control word of the request ring.
func (r *ring) userData() int32 { return int32(atomic.LoadUint32(r.u32(rhUserData))) }

func (r *ring) refCount() int32 { return int32(atomic.LoadUint32(r.u32(rhRefCount))) }

// step returns the word index after a chunk of n payload bytes at p
// (libqb qb_rb_chunk_step).
func (r *ring) step(p uint32, n uint32) uint32 {
	return uint32((uint64(p) + 2 + (uint64(n)+3)/4) % uint64(r.words))
}

// freeBytes is libqb's qb_rb_space_free from the writer's point of view.
func (r *ring) freeBytes() int {
	w := r.wp
	rd := atomic.LoadUint32(r.u32(rhReadPt)) % r.words
	var free uint32
	switch {
	case w > rd:
		free = r.words - 1 - (w - rd)
	case w < rd:
		free = rd - w - 1
	default:
		// Equal positions mean empty, or full when chunks are pending.
		if uint32(atomic.LoadUint64(r.sem())) > 0 {
			free = 0
		} else {
			free = r.words
		}
	}
	return int(free) * 4
}

// write commits one message as a chunk and posts the semaphore. It returns
// errAgain when the ring has no room (libqb qb_rb_chunk_alloc: EAGAIN).
func (r *ring) write(msg []byte) error {
	n := len(msg)
	if n+chunkMargin > int(r.words)*4 {
		return ErrTooBig
	}
	if r.freeBytes() < n+chunkMargin {
		return errAgain
	}
	w := r.wp
	atomic.StoreUint32(r.word(w), 0)
	atomic.StoreUint32(r.word(w+1), chunkMagicAlloc)
	r.copyIn(w+2, msg)
	atomic.StoreUint32(r.word(w), uint32(n))
	r.wp = r.step(w, uint32(n))
	atomic.StoreUint32(r.u32(rhWritePt), r.wp)
	atomic.StoreUint32(r.word(w+1), chunkMagic)
	r.post()
	return nil
}

func (r *ring) copyIn(p uint32, msg []byte) {
	off := int(4 * (p % r.words))
	k := copy(r.data[off:], msg)
	copy(r.data, msg[k:])
}

func (r *ring) copyOut(p uint32, n int) []byte {
	out := make([]byte, n)
	off := int(4 * (p % r.words))
	k := copy(out, r.data[off:])
	copy(out[k:], r.data)
	return out
}

// tryRead takes one chunk if the semaphore says one is pending. max bounds the
// payload; a peer that lies about sizes or magic gets an error.
func (r *ring) tryRead(max int) ([]byte, bool, error) {
	if !r.semTryWait() {
		return nil, false, nil
	}
	return r.readChunk(max)
}

func (r *ring) readChunk(max int) ([]byte, bool, error) {
	p := r.rp
	if m := atomic.LoadUint32(r.word(p + 1)); m != chunkMagic {
		return nil, false, fmt.Errorf("ipc: ring %s: chunk at word %d has magic %#x (EBADMSG)", r.hdrPath, p, m)
	}
	n := atomic.LoadUint32(r.word(p))
	if int64(n) > int64(max) || int64(n)+chunkMargin > int64(r.words)*4 {
		return nil, false, fmt.Errorf("ipc: ring %s: chunk of %d bytes over the %d limit", r.hdrPath, n, max)
	}
	msg := r.copyOut(p+2, int(n))
	atomic.StoreUint32(r.word(p), 0)
	atomic.StoreUint32(r.word(p+1), chunkMagicDead)
	r.rp = r.step(p, n)
	atomic.StoreUint32(r.u32(rhReadPt), r.rp)
	return msg, true, nil
}

// post is sem_post on glibc's 64-bit semaphore: value+1, and a shared
// FUTEX_WAKE when someone waits (nwaiters, the high half, is non-zero).
func (r *ring) post() {
	v := atomic.AddUint64(r.sem(), 1)
	if v>>32 != 0 {
		unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&r.hdr[rhSem])), futexWake, 1, 0, 0, 0)
	}
}

func (r *ring) semTryWait() bool {
	s := r.sem()
	for {
		v := atomic.LoadUint64(s)
		if uint32(v) == 0 {
			return false
		}
		if atomic.CompareAndSwapUint64(s, v, v-1) {
			return true
		}
	}
}

// semWait is glibc's sem_timedwait (nptl/sem_waitcommon.c): register as a
// waiter, sleep on the value word while it is 0, take a unit and deregister in
// one CAS. alive is consulted between short sleeps so a dead server is noticed.
func (r *ring) semWait(deadline time.Time, alive func() error) error {
	if r.semTryWait() {
		return nil
	}
	s := r.sem()
	const waiter = uint64(1) << 32
	atomic.AddUint64(s, waiter)
	for {
		v := atomic.LoadUint64(s)
		if uint32(v) > 0 {
			if atomic.CompareAndSwapUint64(s, v, v-1-waiter) {
				return nil
			}
			continue
		}
		slice := 200 * time.Millisecond
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				atomic.AddUint64(s, ^(waiter - 1)) // nwaiters-1
				return ErrTimeout
			}
			slice = min(slice, left)
		}
		ts := unix.NsecToTimespec(int64(slice))
		unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&r.hdr[rhSem])), futexWait, 0, uintptr(unsafe.Pointer(&ts)), 0, 0)
		if err := alive(); err != nil {
			atomic.AddUint64(s, ^(waiter - 1))
			return err
		}
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func le32put(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// shmServer is the server side of one SHM connection.
type shmServer struct {
	c             *Conn
	req, resp, ev *ring
	pending       int // events committed whose wake-up byte is not written yet (event writer only)
}

func newShmServer(c *Conn, base, service string) (serverTransport, connResponse, error) {
	var out connResponse
	names := [3]string{
		fmt.Sprintf("%s-request-%s", base, service),
		fmt.Sprintf("%s-response-%s", base, service),
		fmt.Sprintf("%s-event-%s", base, service),
	}
	for _, n := range names {
		if err := checkPath(n, nameMax); err != nil {
			return nil, out, err
		}
	}
	t := &shmServer{c: c}
	var err error
	// All six files must exist before the client reads the response.
	if t.req, err = createRing(names[0], c.maxMsg, c.creds); err == nil {
		if t.resp, err = createRing(names[1], c.maxMsg, c.creds); err == nil {
			t.ev, err = createRing(names[2], c.maxMsg, c.creds)
		}
	}
	if err != nil {
		t.cleanup()
		return nil, out, err
	}
	out.Request, out.Response, out.Event = names[0], names[1], names[2]
	return t, out, nil
}

// serve treats bytes on the setup socket as wake-ups, not framing: each time
// some arrive it drains every request the semaphore counts (libqb's server
// also handles "as many as the semaphore says" per POLLIN). Each committed
// request is followed by its byte, so none is left behind.
func (t *shmServer) serve(deliver func([]byte) bool) error {
	var b [512]byte
	for {
		n, err := t.c.setup.Read(b[:])
		if n > 0 {
			for {
				msg, ok, rerr := t.req.tryRead(t.c.maxMsg)
				if rerr != nil {
					return rerr
				}
				if !ok {
					break
				}
				if !deliver(msg) {
					return nil
				}
			}
		}
		if err != nil {
			select {
			case <-t.c.done:
				return nil
			default:
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("setup socket: %w", err)
		}
	}
}

func (t *shmServer) writeResponse(msg []byte) error {
	// No wake-up byte: the client sleeps on the response semaphore.
	return t.resp.write(msg)
}

func (t *shmServer) writeEvent(msg []byte) error {
	if err := t.ev.write(msg); err != nil {
		return err
	}
	t.pending++
	return nil
}

// flushEvents writes one wake-up byte per event committed since the last
// flush (corosync sends 0x00 per event; the client polls the setup socket and
// takes one byte per event, so several bytes in one write are the same to it).
// libqb likewise keeps a count of notifications it could not write yet.
func (t *shmServer) flushEvents() error {
	for t.pending > 0 {
		n, err := t.c.setup.Write(make([]byte, min(t.pending, 4096)))
		t.pending -= n
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *shmServer) shutdown() { t.c.setup.Close() }

// setFlowControl writes the request ring's user_data word, which libqb clients
// read before every send (qb_ipc_shm_fc_get).
func (t *shmServer) setFlowControl(level int32) {
	atomic.StoreUint32(t.req.u32(rhUserData), uint32(level))
}

func (t *shmServer) cleanup() {
	t.c.setup.Close()
	// corosync's order: response, event, request.
	for _, r := range []*ring{t.resp, t.ev, t.req} {
		if r != nil {
			r.close()
		}
	}
}
