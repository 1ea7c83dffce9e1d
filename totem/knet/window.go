package knet

// RxWindow is the per-source-host duplicate filter of knet-wire.md §2.5 (libknet
// threads_rx.c / host.c: a 4096-slot bitmap indexed by seq mod 4096 and the newest
// seq seen). It reproduces libknet's arithmetic exactly, including its blind spot: a
// duplicate more than ~4096 messages old is accepted as new.
type RxWindow struct {
	seen    [windowSize / 64]uint64
	frag    [windowSize / 64]uint64 // fragment bookkeeping: messages whose reassembly started
	rxSeq   uint16                  // newest seq seen; 0 = unset
	started bool
}

const windowSize = 4096

func (w *RxWindow) bit(m *[windowSize / 64]uint64, seq uint16) bool {
	i := seq % windowSize
	return m[i/64]&(1<<(i%64)) != 0
}

func (w *RxWindow) set(m *[windowSize / 64]uint64, seq uint16) {
	i := seq % windowSize
	m[i/64] |= 1 << (i % 64)
}

func (w *RxWindow) clear(m *[windowSize / 64]uint64, seq uint16) {
	i := seq % windowSize
	m[i/64] &^= 1 << (i % 64)
}

// distance is libknet's 16-bit distance from rx_seq back to seq.
func (w *RxWindow) distance(seq uint16) uint16 {
	if seq < w.rxSeq {
		return 65535 - seq + w.rxSeq
	}
	return w.rxSeq - seq
}

// Check reports whether a message with this seq should be accepted (it has not been
// delivered yet as far as the window can tell) and moves the window forward when
// seq is ahead. Deliver must be called once the message was handed up.
func (w *RxWindow) Check(seq uint16) bool {
	if !w.started {
		w.rxSeq, w.started = seq, true
	}
	d := w.distance(seq)
	switch {
	case d < windowSize:
		return !w.bit(&w.seen, seq)
	case d <= 65535-windowSize:
		w.Reset()
		w.rxSeq, w.started = seq, true
		return true
	default: // seq ahead by at most windowSize: clear the slots it skips
		for s := w.rxSeq + 1; ; s++ {
			w.clear(&w.seen, s)
			w.clear(&w.frag, s)
			if s == seq {
				break
			}
		}
		w.rxSeq = seq
		return true
	}
}

// Deliver marks seq as handed to the application.
func (w *RxWindow) Deliver(seq uint16) { w.set(&w.seen, seq) }

// FragSeen reports whether reassembly of seq was started before, and marks it.
func (w *RxWindow) FragSeen(seq uint16) bool {
	if w.bit(&w.frag, seq) {
		return true
	}
	w.set(&w.frag, seq)
	return false
}

// Reset forgets everything: a restarted sender (its timed ping carries seq 0)
// begins again.
func (w *RxWindow) Reset() { *w = RxWindow{} }

// NextSeq is the sender's rule: one counter per knet handle, incremented before each
// message, skipping 0 on wrap.
func NextSeq(seq uint16) uint16 {
	seq++
	if seq == 0 {
		seq = 1
	}
	return seq
}
