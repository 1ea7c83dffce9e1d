package totem

import "ringmaster/totem/wire"

// queueSize bounds the window of sequence numbers a sort queue accepts, like
// QUEUE_RTR_ITEMS_SIZE_MAX (16384) in totemsrp.c: a message further ahead of
// the release point than this is dropped (it will be retransmitted).
const queueSize = 16384

// seqLT and seqLTE compare 32-bit ring sequence numbers circularly, so that a
// ring that runs long enough to wrap keeps its order (sq.h sq_lt_compare).
func seqLT(a, b uint32) bool  { return int32(a-b) < 0 }
func seqLTE(a, b uint32) bool { return int32(a-b) <= 0 }

// sortQueue holds the messages of one ring by sequence number until the
// whole ring has them (the "regular" and "recovery" sort queues of
// totemsrp.c). Sequence numbers below head have been released.
type sortQueue struct {
	head  uint32 // lowest sequence number still accepted
	items map[uint32]*wire.Mcast
	miss  map[uint32]int
}

func newSortQueue(head uint32) sortQueue {
	return sortQueue{head: head, items: map[uint32]*wire.Mcast{}, miss: map[uint32]int{}}
}

func (q *sortQueue) reinit(head uint32) { *q = newSortQueue(head) }

func (q *sortQueue) inRange(seq uint32) bool { return seq-q.head < queueSize }

func (q *sortQueue) get(seq uint32) *wire.Mcast { return q.items[seq] }

func (q *sortQueue) inUse(seq uint32) bool { _, ok := q.items[seq]; return ok }

func (q *sortQueue) add(seq uint32, m *wire.Mcast) {
	q.items[seq] = m
	delete(q.miss, seq)
}

// missCount counts one more token visit on which seq was missing and
// returns the new count (sq_item_miss_count).
func (q *sortQueue) missCount(seq uint32) int {
	q.miss[seq]++
	return q.miss[seq]
}

// release drops everything up to and including seq.
func (q *sortQueue) release(seq uint32) {
	if seq-q.head >= queueSize && seqLT(q.head, seq) {
		// far beyond the window (cannot happen on a sane ring): drop all
		clear(q.items)
		clear(q.miss)
		q.head = seq + 1
		return
	}
	for s := q.head; seqLTE(s, seq); s++ {
		delete(q.items, s)
		delete(q.miss, s)
	}
	q.head = seq + 1
}

// copyFrom makes q an independent copy of o (sq_copy).
func (q *sortQueue) copyFrom(o *sortQueue) {
	n := newSortQueue(o.head)
	for k, v := range o.items {
		n.items[k] = v
	}
	for k, v := range o.miss {
		n.miss[k] = v
	}
	*q = n
}
