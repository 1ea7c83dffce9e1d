package totem

import (
	"fmt"
	"time"

	"ringmaster/totem/wire"
)

// NodeID is a corosync node id; an alias so callers need not import wire.
type NodeID = wire.NodeID

// RingID is a ring configuration id {representative, seq}.
type RingID = wire.RingID

// Input is what Step consumes: Start, Receive, Tick, Send, TransAck or Leave.
type Input interface{ isInput() }

// Start brings the node up (corosync: the first interface-up event,
// main_iface_change_fn). RingSeq is the ring seq read from the ringid file
// (0 when there is none); like corosync the machine adds 1 to it, so a
// fresh node's first join carries ring_seq 1, and enters GATHER.
type Start struct{ RingSeq uint64 }

// Receive hands the machine one decoded SRP message from the network. The
// machine may keep references to slices inside it (payloads); the driver
// must not reuse them.
type Receive struct{ Msg wire.Message }

// Tick only lets time pass: every timer due at now fires. Step fires due
// timers before any input, so Tick is what a driver sends when Ready's
// Deadline is reached and nothing else happened.
type Tick struct{}

// Send queues one application message (a totempg packet) for ordered
// delivery to the ring (totemsrp_mcast). Step returns ErrQueueFull when
// the pending queue is full.
type Send struct {
	Payload   []byte
	Guarantee uint32
}

// TransAck tells the machine that the service synchronisation of the new
// ring is complete (totemsrp_trans_ack). Only meaningful with
// Config.HoldUntilTransAck.
type TransAck struct{}

// Leave is an orderly shutdown: the machine multicasts a leave message
// (a join with header nodeid 0 naming itself failed) and stops (state Down).
// A machine runs once: to rejoin, create a new one and Start it with the
// stored ring seq.
type Leave struct{}

func (Start) isInput()    {}
func (Receive) isInput()  {}
func (Tick) isInput()     {}
func (Send) isInput()     {}
func (Leave) isInput()    {}
func (TransAck) isInput() {}

// Packet is one SRP message to transmit.
type Packet struct {
	// To is the unicast destination (the token target) or 0 for a
	// "multicast": every node of the network, the sender included (corosync
	// delivers its own multicasts back to itself and depends on it for
	// joins; a transport may leave out the sender's copy of a regular Mcast,
	// which the machine stored before sending and ignores when it returns).
	To  NodeID
	Msg wire.Message
	// Flush is set for join, leave, merge detect and token hold cancel: the
	// messages udpu sends to every configured member, active or not.
	Flush bool
}

// Event is handed up in order: Deliver or ConfChange.
type Event interface{ isEvent() }

// Deliver is one message in agreed order.
type Deliver struct {
	From    NodeID // originator (system_from)
	Ring    RingID // ring on which it was ordered
	Seq     uint32 // its sequence number on that ring
	Payload []byte
}

// ConfKind tells a transitional from a regular configuration.
type ConfKind uint8

const (
	Transitional ConfKind = 1 // TOTEM_CONFIGURATION_TRANSITIONAL
	Regular      ConfKind = 0 // TOTEM_CONFIGURATION_REGULAR
)

func (k ConfKind) String() string {
	if k == Transitional {
		return "transitional"
	}
	return "regular"
}

// ConfChange is an extended-virtual-synchrony configuration change, with the
// member lists totemsrp hands to totempg's confchg callback.
type ConfChange struct {
	Kind    ConfKind
	Ring    RingID   // the new ring (both for the transitional and the regular one)
	Members []NodeID // transitional: old ∩ new that shared my old ring; regular: new ring
	Left    []NodeID // transitional only: old members not in the transitional set
	Joined  []NodeID // regular only: new members not in the transitional set
	// Failed lists the Left members that did not announce a leave
	// ("Failed to receive the leave message").
	Failed []NodeID
}

func (Deliver) isEvent()    {}
func (ConfChange) isEvent() {}

func (d Deliver) String() string {
	return fmt.Sprintf("deliver from=%d ring=%s seq=%d %q", d.From, d.Ring, d.Seq, d.Payload)
}

func (c ConfChange) String() string {
	s := fmt.Sprintf("confchg %s ring=%s members=%v", c.Kind, c.Ring, c.Members)
	if c.Kind == Transitional {
		s += fmt.Sprintf(" left=%v", c.Left)
		if len(c.Failed) > 0 {
			s += fmt.Sprintf(" failed=%v", c.Failed)
		}
	} else {
		s += fmt.Sprintf(" joined=%v", c.Joined)
	}
	return s
}

// Ready is everything Step produced since the last Advance.
//
// The driver must act on the fields in this order: first store PersistRing
// (corosync writes the ringid file before the commit token goes out, so a
// restart never reuses a ring seq), then transmit Packets in order, then hand
// Events up in order, then call Advance.
type Ready struct {
	// PersistRing is set when the node adopted a new ring in COMMIT; its Seq
	// goes to <state_dir>/ringid_<nodeid>.
	PersistRing *RingID
	Packets     []Packet
	Events      []Event
	// Deadline is the virtual time of the earliest armed timer; HasDeadline
	// is false when no timer is armed.
	Deadline    time.Duration
	HasDeadline bool
	// State is the membership state after the step.
	State State
}

// State is the SRP membership state.
type State uint8

const (
	Operational State = 1
	Gather      State = 2
	Commit      State = 3
	Recovery    State = 4
	// Down is the state before Start and after Leave (not a corosync state).
	Down State = 0
)

func (s State) String() string {
	switch s {
	case Operational:
		return "OPERATIONAL"
	case Gather:
		return "GATHER"
	case Commit:
		return "COMMIT"
	case Recovery:
		return "RECOVERY"
	}
	return "DOWN"
}
