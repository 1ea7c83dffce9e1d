package knet

// Reassembler rebuilds fragmented messages from one source host, as knet-wire.md
// §2.6 describes libknet's receive path: 32 buffers keyed by seq, the oldest evicted
// when all are busy, every non-last fragment of one message of equal size, the last
// fragment possibly arriving first. Age is counted in fragments received, not in
// wall time, which keeps the machine pure; libknet's eviction order (oldest last
// update first) is the same.
type Reassembler struct {
	bufs [reassemblyBuffers]fragBuf
	tick uint64
}

const reassemblyBuffers = 32

type fragBuf struct {
	inUse    bool
	seq      uint16
	fragNum  uint8
	fragSize int
	have     [MaxFragments + 1]bool
	count    int
	data     []byte
	last     []byte // the last fragment, parked until fragSize is known
	updated  uint64
}

// Reset drops every partial message (the sender restarted or became unreachable).
func (r *Reassembler) Reset() { *r = Reassembler{} }

// Add takes one DATA fragment (FragNum > 1) that passed the window check and
// returns the whole message once its last missing fragment arrives. Fragments that
// contradict the ones already held (different count, unequal sizes) are dropped.
func (r *Reassembler) Add(w *RxWindow, d *Data) (msg []byte, ok bool) {
	if d.FragNum < 2 || d.FragSeq < 1 || d.FragSeq > d.FragNum {
		return nil, false
	}
	r.tick++
	r.expire(w.rxSeq)
	b := r.find(d.Seq)
	if b == nil {
		if w.FragSeen(d.Seq) {
			return nil, false // finished or expired earlier
		}
		b = r.take()
		*b = fragBuf{inUse: true, seq: d.Seq, fragNum: d.FragNum}
	}
	b.updated = r.tick
	if d.FragNum != b.fragNum || b.have[d.FragSeq] {
		return nil, false
	}
	isLast := d.FragSeq == d.FragNum
	if !isLast {
		if b.fragSize == 0 {
			if len(d.Payload) == 0 {
				return nil, false
			}
			b.fragSize = len(d.Payload)
			b.data = make([]byte, int(b.fragNum-1)*b.fragSize, int(b.fragNum-1)*b.fragSize+b.fragSize)
		} else if len(d.Payload) != b.fragSize {
			return nil, false
		}
		copy(b.data[int(d.FragSeq-1)*b.fragSize:], d.Payload)
	} else {
		b.last = append([]byte(nil), d.Payload...)
	}
	b.have[d.FragSeq] = true
	b.count++
	if b.count < int(b.fragNum) {
		return nil, false
	}
	msg = append(b.data, b.last...)
	*b = fragBuf{}
	return msg, true
}

func (r *Reassembler) find(seq uint16) *fragBuf {
	for i := range r.bufs {
		if r.bufs[i].inUse && r.bufs[i].seq == seq {
			return &r.bufs[i]
		}
	}
	return nil
}

// take returns a free buffer, or the least recently updated one.
func (r *Reassembler) take() *fragBuf {
	oldest := &r.bufs[0]
	for i := range r.bufs {
		b := &r.bufs[i]
		if !b.inUse {
			return b
		}
		if b.updated < oldest.updated {
			oldest = b
		}
	}
	return oldest
}

// expire discards buffers whose seq is outside rxSeq-32 .. rxSeq.
func (r *Reassembler) expire(rxSeq uint16) {
	for i := range r.bufs {
		b := &r.bufs[i]
		if b.inUse && rxSeq-b.seq > reassemblyBuffers {
			*b = fragBuf{}
		}
	}
}
