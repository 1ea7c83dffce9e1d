package knet

// Receiver is everything knet keeps per source host on the receive side: the
// duplicate window, the reassembly buffers, and the restart detection driven by
// that host's pings (knet-wire.md §2.5–2.6).
type Receiver struct {
	Window RxWindow
	Frags  Reassembler
	// dataSinceUntimed records whether DATA arrived since the previous untimed ping.
	dataSinceUntimed bool
}

// Data runs one DATA frame through dedup and reassembly and returns the complete
// message when there is one to hand up. A returned message is marked delivered.
func (r *Receiver) Data(d *Data) ([]byte, bool) {
	if !r.Window.Check(d.Seq) {
		return nil, false
	}
	r.dataSinceUntimed = true
	msg := d.Payload
	if d.FragNum > 1 {
		var ok bool
		if msg, ok = r.Frags.Add(&r.Window, d); !ok {
			return nil, false
		}
	}
	r.Window.Deliver(d.Seq)
	return msg, true
}

// Ping applies a ping's restart signal: a timed ping with seq 0 comes from a sender
// that has sent no data since it started, so everything known about its old
// sequence is wiped; an untimed ping wipes it if no data came since the last one.
func (r *Receiver) Ping(p *Ping) {
	if p.Pong {
		return
	}
	if p.Timed {
		if p.Seq == 0 {
			r.Reset()
		}
		return
	}
	if !r.dataSinceUntimed {
		r.Reset()
	}
	r.dataSinceUntimed = false
}

// Reset forgets the host's sequence and partial messages.
func (r *Receiver) Reset() { *r = Receiver{} }
