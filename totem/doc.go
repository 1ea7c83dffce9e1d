// Package totem is the Totem Single Ring Protocol of corosync (exec/totemsrp.c
// at v3.1.7) as a pure state machine: membership with extended virtual
// synchrony, and a token ring that totally orders and reliably delivers
// multicast messages. The wire codecs live in totem/wire, the transports in
// totem/transport, totempg packing in totem/pg; the seeded simulator that
// tests this package lives in internal/sim.
//
// # Driving the machine
//
//	m, _ := totem.New(totem.DefaultConfig(id, nodes), logf)
//	m.Step(now, totem.Start{RingSeq: seqFromRingidFile})
//	for {
//		rd := m.Ready()
//		// 1. if rd.PersistRing != nil: write its Seq to ringid_<nodeid>
//		// 2. send rd.Packets in order (To == 0: to every node, self included)
//		// 3. hand rd.Events (Deliver, ConfChange) up in order
//		m.Advance()
//		// wait for a packet, an application message, or rd.Deadline
//		m.Step(now, totem.Receive{Msg: decoded}) // or Send{...} / Tick{} / Leave{}
//	}
//
// now is a monotonic virtual time; the machine fires every timer due by now
// before it looks at the input, and Ready reports the next deadline, so a
// driver needs one OS timer. Nothing in the package reads a clock, owns a
// socket, starts a goroutine or draws random numbers (TestPure).
//
// # States
//
//	             Start / token lost / foreign message / join / merge detect
//	   +--------------------------------------------------------------+
//	   |                                                              |
//	   v     consensus of all (proc - failed), I am lowest nodeid     |
//	+--------+  -> create commit token ------------------------+   |
//	| GATHER |  commit token for my (proc - failed), newer seq  |   |
//	+--------+ ----------------------------------------------+  |   |
//	   ^  ^                                                  v  v   |
//	   |  | token lost, join from a new member      +------------+  |
//	   |  +----------------------------------------- |   COMMIT   |  |
//	   |                                             +------------+  |
//	   |                  commit token back with memb_index == N |   |
//	   |                                                         v   |
//	   | token lost (old ring state restored),       +------------+  |
//	   +-------------------------------------------- |  RECOVERY  |  |
//	     join from a new member                      +------------+  |
//	                                                         |       |
//	   retrans_flg clear for 3 tokens, install seq <= aru    |       |
//	   for 2 rotations: deliver old ring, transitional and   v       |
//	   regular configuration                         +-------------+ |
//	                                                 | OPERATIONAL |-+
//	                                                 +-------------+
//
// GATHER (memb_state_gather_enter, memb_join_process): every node multicasts
// a join with its proc and failed lists every join ms; a node marks agreement
// with each sender whose lists equal its own; when all of (proc - failed)
// agree, the lowest nodeid creates the commit token with ring seq = highest
// seq heard + 4. Nodes that do not agree within consensus ms are moved to the
// failed list. A node that failed to receive (fail_recv_const rotations with
// the token's aru stuck at its own) forms a ring of its own.
//
// COMMIT (memb_state_commit_enter, memb_state_commit_token_update): each
// member fills its entry of the commit token (old ring id, aru, high
// delivered, received flag), adopts and persists the new ring id, and passes
// the token to the next member of the sorted list. The second lap moves
// everybody into RECOVERY; the representative then originates the first ORF
// token.
//
// RECOVERY (memb_state_recovery_enter): the transitional membership is the
// set of new members that were in my old ring with the same old ring id. If
// any of them lacks old-ring messages, each member re-multicasts, wrapped in
// new-ring mcasts (encapsulated = 1), every old-ring message above the lowest
// aru. The retrans_flg on the token tells when nobody has anything left to
// send; after two further rotations with every member's aru at the install
// seq, OPERATIONAL is entered (memb_state_operational_enter): old-ring
// messages are delivered in order up to the first gap, the transitional
// configuration is delivered, then the remaining old-ring messages from
// transitional members, then the regular configuration.
//
// OPERATIONAL (message_handler_orf_token): the token carries seq, aru and a
// list of retransmit requests; its holder answers requests it can, asks for
// messages missing for miss_count_const visits, sends up to
// min(max_messages, window_size - fcc) new messages (less under backlog
// pressure), frees messages every member has, and delivers in seq order. An
// idle ring's representative holds the token for hold ms after
// seqno_unchanged_const quiet rotations and multicasts merge-detect every
// merge ms; a node with new data sends token_hold_cancel.
//
// # Deviations from corosync 3.1.7
//
// Each was found or confirmed by the simulator; each keeps the wire protocol
// and interoperates, it only changes local decisions.
//
//   - A join that teaches a GATHER node nothing new (its failed list is not
//     adopted because the sender is outside our ring) does not re-enter
//     GATHER. corosync re-enters, resending its join and restarting the
//     consensus timer; two such nodes answer each other forever and
//     consensus never expires (a join storm in simulation).
//   - A join that names us failed but carries a lower ring_seq than an
//     earlier join of the same sender (a reordered leftover of a finished
//     gather round) is ignored. corosync fails the sender back; with
//     gather rounds out of phase two nodes then excluded each other round
//     after round (15 simulated nodes never merged).
//   - Messages are freed only on a fresh token (after the ring id and
//     duplicate checks). corosync frees before them; a retransmitted token
//     then counts as the previous rotation and releases messages a
//     partitioned member never received, which recovery cannot resend.
//   - A regular (not encapsulated) new-ring mcast received while still in
//     RECOVERY is dropped and later requested again; corosync stores it in
//     the regular sort queue, which at that moment still holds the old ring.
//   - corosync's second send queue (new_message_queue_trans, released by
//     totemsrp_trans_ack once the service sync is done) is optional:
//     Config.HoldUntilTransAck with the TransAck input. Without it the
//     machine keeps one queue and needs no acknowledgement.
//   - Not in the machine: process-pause detection (pause_flush), the receive
//     flush before a token is processed, the send_join random delay, the
//     token_warning log, heartbeat_failures_allowed. They need a clock, a
//     socket or a random source and belong to the driver.
//   - Sequence numbers compare circularly as signed 32-bit differences; sq.h
//     shifts both values past a rollover point instead. Both agree within
//     the 16384-message window.
//   - Processors are identified and ordered by nodeid (3.x). A 2.x ring
//     orders by ring0 IP address; with nodeids derived from IPv4 addresses
//     the order is the same.
package totem
