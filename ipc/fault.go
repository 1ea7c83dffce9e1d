package ipc

import (
	"fmt"
	"runtime/debug"
)

// recoverFault turns a memory fault on a shared mapping into an error. A client
// owns its ring files and may truncate them; libqb's server guards its teardown
// with a SIGBUS handler (lib/ipc_shm.c qb_ipcs_shm_disconnect) for the same
// reason. Only faults are recovered: any other panic is a bug and goes on.
// Use as: defer recoverFault(&err) in a goroutine that called guardFaults.
func recoverFault(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if f, ok := r.(interface{ Addr() uintptr }); ok {
		*err = fmt.Errorf("ipc: memory fault at %#x on a shared ring (file truncated by the peer?)", f.Addr())
		return
	}
	panic(r)
}

// guardFaults makes memory faults in the calling goroutine panic (and so be
// recoverable by recoverFault) instead of killing the process.
func guardFaults() { debug.SetPanicOnFault(true) }
