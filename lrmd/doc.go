// Package lrmd is the executor's operation scheduler, the pure part of
// pacemaker-execd (daemons/execd/execd_commands.c @Pacemaker-2.1.5), plus
// the executor's IPC vocabulary (proto.go) and Pacemaker's result codes
// (result.go).
//
// # The machine
//
// Machine holds the registered resources and their operations. Calls are the
// inputs (Register, Unregister, Exec, Cancel, ClientGone, Complete, Tick);
// each takes the current time. Ready returns what the driver must do —
// start agents (Runs), kill agents (Kills), send results (Notifies) — and
// NextDeadline the earliest time Tick has work. Advance acknowledges Ready.
// lrmd/execd drives it with real processes and one OS timer; the tests drive
// it with a virtual clock.
//
// An operation moves through these states:
//
//	           Exec                    head of queue, resource idle,
//	(new) ──────────────▶ queued ─────────────────────────────────▶ running
//	                       ▲  │ start-delay not yet due: wait          │
//	                       │  │ Cancel: finished "Cancelled"           │ Complete
//	          interval due │  ▼                                        ▼
//	                    waiting ◀──────── recurring, not cancelled ── result
//	                       │                                 │ one-shot, cancelled,
//	                       │ Cancel / stop / Unregister      │ or resource gone
//	                       ▼                                 ▼
//	                finished "Cancelled"                 forgotten
//
// Rules kept from upstream:
//   - Only one operation of a resource runs at a time (execute_resource_action).
//   - A recurring operation runs again one interval after it finished
//     (recurring_action_timer), queued behind whatever else the resource has.
//   - A stop first cancels every recurring operation of its resource
//     (schedule_lrmd_cmd).
//   - A second request for the same recurring action merges into the
//     existing one, taking its call id, and runs it now if it was waiting
//     (merge_recurring_duplicate).
//   - Cancelling a running recurring operation kills it; it ends "Cancelled"
//     with rc 0 (services_action_cancel). A one-shot operation that already
//     runs cannot be cancelled (-EOPNOTSUPP).
//   - At its timeout a running agent is killed (SIGKILL to its process group,
//     mainloop.c child_timeout_callback: no SIGTERM first) and the result is
//     PCMK_EXEC_TIMEOUT, rc "generic error", reason
//     "Resource agent did not complete within <timeout>".
//   - With lrmd_opt_notify_changes_only only changed results are sent; with
//     lrmd_opt_notify_orig_only only the requesting client gets them.
//   - Raw agent exit codes become OCF codes by the agent's standard
//     (services_result2ocf: MapExit).
package lrmd
