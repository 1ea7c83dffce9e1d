// Package ipc is libqb-compatible IPC (libqb 2.0.6, as on Debian 12): the
// server that corosync's and Pacemaker's services sit on, and a client that
// talks to real corosync/Pacemaker daemons or to ours.
//
// A server listens on the abstract unix socket named after its service
// ("cmap", "cpg", "cib_rw", ...). Each client connects, sends a 24-byte
// connection request and gets a 12328-byte answer naming the transport the
// server picked for it and where its channels live:
//
//   - Socket (QB_IPC_SOCKET): requests/responses and events are unix datagrams
//     on per-connection abstract sockets; a 24-byte control file carries flow
//     control (sock.go).
//   - SHM (QB_IPC_SHM, libqb's "native"): three ring buffers in files under
//     /dev/shm, glibc semaphores inside them, and one wake-up byte per request
//     and per event on the setup socket (shm.go).
//
// The layouts are in shared/docs/ipc-wire.md §1; they were verified against
// real corosync 3.1.7 and unmodified libqb clients.
//
// Messages cross the Handler and Client APIs whole, libqb headers included: a
// request starts with the 16-byte request header {id i32, pad, size i32, pad},
// a response or event with the 24-byte response header {id, size, error}. Every
// service layout in ipc-wire.md is written that way. Use NewRequest,
// NewResponse, ParseRequestHeader and ParseResponseHeader for the headers.
// libqb clients read exactly hdr.size bytes of a response into a buffer sized
// for the expected reply, so services must send exactly the sizes the wire
// spec gives.
//
// # Server goroutines and the Handler contract
//
// Each connection has a reader goroutine (requests, in order) and two writer
// goroutines (responses, events), each draining its own queue; a client that
// stops reading only ever blocks its own writers. Handler methods are called
// with ServerOptions.Lock held, so a service sees one call at a time and needs
// no further locking for state touched only from handler calls; code outside
// handler calls (timers, totem deliveries) takes the same Lock. Conn.Respond,
// Conn.SendEvent and Conn.Close only queue work and never block, so they are
// safe under the Lock. A client whose queue passes ServerOptions.QueueLimit is
// disconnected rather than letting memory grow.
//
// # What a connection leaves on disk
//
// Each connection gets a directory <ShmDir>/qb-<serverpid>-<clientpid>-<fd>-<random>
// (mode 0770, owned by the client) holding the SOCKET control file or the six
// SHM ring files (mode 0600, owned by the client), all created before the
// handshake answer. They are removed when the connection ends, whoever ends it.
//
// # Flow control and statistics
//
// Conn.SetFlowControl and Server.SetFlowControl are libqb's
// qb_ipcs_flowcontrol_set and qb_ipcs_request_rate_limit: libqb clients see
// EAGAIN (CS_ERR_TRY_AGAIN) and the server holds the client's requests until
// the level drops to 0. Conn.Stats and Server.Stats carry the counters corosync
// publishes under stats.ipcs.*.
//
// # Robustness
//
// Every read is bounded by the negotiated message size (itself capped by
// ServerOptions.MaxMsgSize). A client that sends a malformed handshake or
// request, corrupts or truncates its rings (a memory fault on the mapping is
// recovered, as libqb guards its teardown with a SIGBUS handler), floods, or
// stops reading is dropped; nothing it does reaches other clients.
package ipc
