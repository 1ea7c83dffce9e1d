package knetudp

import (
	"sync"
	"sync/atomic"
	"time"

	"ringmaster/totem/knet"
)

// Counters libknet keeps per host link (struct knet_link_stats) and per handle
// (struct knet_handle_stats), which corosync exposes as stats.knet.nodeN.linkM.*
// and stats.knet.handle.* (exec/stats.c). Bytes are UDP payload bytes, as
// libknet counts what it hands to sendmsg and gets from recvmmsg.

// LinkCounters are one host link's packet counters.
type LinkCounters struct {
	TxData, TxDataBytes, RxData, RxDataBytes               atomic.Uint64
	TxPing, TxPingBytes, RxPing, RxPingBytes               atomic.Uint64
	TxPong, TxPongBytes, RxPong, RxPongBytes               atomic.Uint64
	TxPMTU, TxPMTUBytes, RxPMTU, RxPMTUBytes               atomic.Uint64
	TxDataErrors, TxPingErrors, TxPongErrors, TxPMTUErrors atomic.Uint64
}

func (lc *LinkCounters) tx(t knet.Type, n int, failed bool) {
	var pk, by, er *atomic.Uint64
	switch t {
	case knet.TypeData:
		pk, by, er = &lc.TxData, &lc.TxDataBytes, &lc.TxDataErrors
	case knet.TypePing:
		pk, by, er = &lc.TxPing, &lc.TxPingBytes, &lc.TxPingErrors
	case knet.TypePong:
		pk, by, er = &lc.TxPong, &lc.TxPongBytes, &lc.TxPongErrors
	default:
		pk, by, er = &lc.TxPMTU, &lc.TxPMTUBytes, &lc.TxPMTUErrors
	}
	if failed {
		er.Add(1)
		return
	}
	pk.Add(1)
	by.Add(uint64(n))
}

func (lc *LinkCounters) rx(t knet.Type, n int) {
	switch t {
	case knet.TypeData:
		lc.RxData.Add(1)
		lc.RxDataBytes.Add(uint64(n))
	case knet.TypePing:
		lc.RxPing.Add(1)
		lc.RxPingBytes.Add(uint64(n))
	case knet.TypePong:
		lc.RxPong.Add(1)
		lc.RxPongBytes.Add(uint64(n))
	default:
		lc.RxPMTU.Add(1)
		lc.RxPMTUBytes.Add(uint64(n))
	}
}

// TxTotal and RxTotal are libknet's tx_total_* / rx_total_*: the sums over
// the packet kinds.
func (lc *LinkCounters) TxTotal() (packets, bytes uint64) {
	return lc.TxData.Load() + lc.TxPing.Load() + lc.TxPong.Load() + lc.TxPMTU.Load(),
		lc.TxDataBytes.Load() + lc.TxPingBytes.Load() + lc.TxPongBytes.Load() + lc.TxPMTUBytes.Load()
}

func (lc *LinkCounters) RxTotal() (packets, bytes uint64) {
	return lc.RxData.Load() + lc.RxPing.Load() + lc.RxPong.Load() + lc.RxPMTU.Load(),
		lc.RxDataBytes.Load() + lc.RxPingBytes.Load() + lc.RxPongBytes.Load() + lc.RxPMTUBytes.Load()
}

// TxErrors is tx_total_errors.
func (lc *LinkCounters) TxErrors() uint64 {
	return lc.TxDataErrors.Load() + lc.TxPingErrors.Load() + lc.TxPongErrors.Load() + lc.TxPMTUErrors.Load()
}

// TimeStat is a min/max/mean triple as libknet keeps them: the mean is the
// running mean over N samples.
type TimeStat struct {
	N             uint64
	Min, Max, Ave uint64
}

func (s *TimeStat) add(v uint64) {
	if s.N == 0 || v < s.Min {
		s.Min = v
	}
	s.Max = max(s.Max, v)
	s.Ave = (s.Ave*s.N + v) / (s.N + 1)
	s.N++
}

// HandleStats is struct knet_handle_stats. Compression times are in
// nanoseconds and crypto times in microseconds, as libknet reports them.
type HandleStats struct {
	TxUncompressedPackets     uint64
	TxCompressedPackets       uint64
	TxCompressedOriginalBytes uint64
	TxCompressedSizeBytes     uint64
	TxCompressTime            TimeStat
	RxCompressedPackets       uint64
	RxCompressedOriginalBytes uint64
	RxCompressedSizeBytes     uint64
	RxCompressTime            TimeStat
	TxCryptPackets            uint64
	TxCryptByteOverhead       uint64
	TxCryptTime               TimeStat
	RxCryptPackets            uint64
	RxCryptTime               TimeStat
}

type handleStats struct {
	mu sync.Mutex
	s  HandleStats
}

func (h *handleStats) update(f func(*HandleStats)) {
	h.mu.Lock()
	f(&h.s)
	h.mu.Unlock()
}

func since(t time.Time) uint64 { return uint64(time.Since(t)) }

type linkKey struct {
	host knet.NodeID
	link uint8
}

// LinkCounters returns the counters of one peer link, or nil if there is no
// such link.
func (c *Conn) LinkCounters(host knet.NodeID, link uint8) *LinkCounters {
	return c.counters[linkKey{host, link}]
}

// HandleStats returns a copy of the handle-wide counters.
func (c *Conn) HandleStats() HandleStats {
	c.hstats.mu.Lock()
	defer c.hstats.mu.Unlock()
	return c.hstats.s
}
