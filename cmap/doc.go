// Package cmap is corosync's configuration map: the typed key/value store every
// corosync component and client reads (exec/icmap.c), the libqb IPC service that
// serves it (exec/cmap.c, IPC name "cmap"), the message between nodes that
// compares configuration versions, and a client library (lib/cmap.c).
//
// Pieces, from the inside out:
//
//	Store      one map (icmap or stats): keys in libqb trie order, values typed as
//	           conf.Value, exact and prefix tracks queuing Events, the read-only
//	           rules clients are held to. Pure: no locks, goroutines or I/O.
//	wire.go    the IPC messages of ipc_cmap.h with corosync's exact sizes
//	           (GET answers 40 + the requested buffer; strings travel with their
//	           NUL; the end of an iteration is CS_ERR_NO_SECTIONS in 304 bytes).
//	Service    an ipc.Handler over both maps: per-connection map selection,
//	           iterators and tracks, libqb's stats.ipcs.* entries, corosync's
//	           access rule (root and uidgid.*). Daemon code changes the maps with
//	           Update and reacts to changes with Watch; one lock (shared with the
//	           IPC servers) serialises everything, as corosync's single thread does.
//	exec.go    the MCAST of totem service 0 and cmap's sync step (Sync), pure.
//	Client     a libcmap-compatible client for our tools and tests; it works
//	           against real corosync as well.
//
// Errors are corosync's cs_error_t values (Error), which is what crosses the wire
// and what corosync-cmapctl prints.
//
// Deliberate differences from corosync, all on input it would mishandle: a SET
// whose value_len runs past the message, a value of an unknown type, and a GET
// asking for a buffer larger than the connection's message size are refused
// (INVALID_PARAM / NO_MEMORY) instead of reading out of bounds or allocating
// without limit.
package cmap
