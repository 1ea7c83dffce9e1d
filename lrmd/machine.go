package lrmd

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Errno values the executor puts (negated) into lrmd_rc.
const (
	EACCES      = 13
	ENODEV      = 19
	EINVAL      = 22
	EPROTO      = 71
	EOPNOTSUPP  = 95
	EINPROGRESS = 115
)

// Call option bits (enum lrmd_call_options, include/crm/lrmd.h).
const (
	OptNotifyOrigOnly    = 0x2
	OptDropRecurring     = 0x3 // overlaps OptNotifyOrigOnly, as upstream
	OptNotifyChangesOnly = 0x4
)

// Resource is what lrmd_rsc_register caches about a resource.
type Resource struct {
	ID       string
	Class    string
	Provider string
	Type     string
	CallOpts int
}

// ExecRequest is one lrmd_rsc_exec request. Durations are milliseconds, as
// on the wire.
type ExecRequest struct {
	ClientID     string
	CallID       int
	CallOpts     int
	RscID        string
	Action       string
	UserData     string
	IntervalMS   int64
	TimeoutMS    int64
	StartDelayMS int64
	Params       map[string]string
}

// OpID names one operation inside the machine (not on the wire).
type OpID uint64

// Run asks the driver to start an agent action. The driver must answer every
// Run with exactly one Complete for the same Op.
type Run struct {
	Op         OpID
	Rsc        Resource
	Action     string // as requested; the runner maps monitor to status for LSB
	IntervalMS int64
	TimeoutMS  int64
	Params     map[string]string
	// LeaveGroup is SVC_ACTION_LEAVE_GROUP (on-fail=block): on timeout only
	// the agent's own process is killed, not its process group.
	LeaveGroup bool
}

// Kill asks the driver to kill a running action (SIGKILL to its process
// group, as mainloop's child_kill_helper); a Complete follows.
type Kill struct {
	Op     OpID
	Reason string // "timeout" or "cancel"
}

// Outcome is what the driver reports when an action's process ends.
type Outcome struct {
	ExitStatus int        // raw exit status of the agent (or the runner's own OCF error)
	Status     ExecStatus // ExecDone when the agent ran to its exit
	Reason     string     // exit reason (from stderr or the runner)
	Stdout     string
	Stderr     string
	PID        int
	Signal     int // non-zero when the process was killed by a signal
}

// Notify is one lrmd_notify for a finished (or cancelled) operation, the
// fields of send_cmd_complete_notify.
type Notify struct {
	ClientID     string
	OrigOnly     bool // send only to ClientID (lrmd_opt_notify_orig_only)
	RscID        string
	Action       string
	CallID       int
	IntervalMS   int64
	TimeoutMS    int64
	StartDelayMS int64
	RC           int
	Status       ExecStatus
	ExitReason   string
	Output       string
	UserData     string
	RscDeleted   bool
	RunTime      int64 // epoch seconds of the last run
	RCChangeTime int64 // epoch seconds of the last rc change
	ExecTimeMS   int64
	QueueTimeMS  int64
	Params       map[string]string
}

// Ready is what the driver must act on after a call into the machine.
// Order: Kills first (they free nothing by themselves), then Runs, then send
// Notifies; all three are independent of each other on the wire.
type Ready struct {
	Runs     []Run
	Kills    []Kill
	Notifies []Notify
}

type opState int

const (
	opQueued  opState = iota // in the resource's pending queue
	opRunning                // handed to the driver
	opWaiting                // recurring, waiting for its next interval
)

type op struct {
	id    OpID
	req   ExecRequest
	state opState
	rsc   *rsc

	delayUntil time.Time // start-delay, while queued
	queuedAt   time.Time
	runAt      time.Time
	deadline   time.Time // timeout while running (zero: none)
	nextRun    time.Time // while waiting
	ran        bool      // started at least once (upstream: in recurring_ops)

	timedOut  bool
	cancelled bool

	firstNotifySent bool
	lastRC          int
	lastStatus      ExecStatus
	lastExit        int
	epochLastRun    int64
	epochRCChange   int64
}

type rsc struct {
	Resource
	deleted bool
	pending []*op
	active  *op
	ops     map[OpID]*op // every live op of the resource (queued, running, waiting)
}

// Machine is the executor's op scheduler (daemons/execd/execd_commands.c
// @2.1.5): a queue per resource of which only one op runs at a time,
// start-delay, recurring ops re-run an interval after each completion, cancel,
// timeouts, and the results sent to clients. It performs no I/O and reads no
// clock: every call takes now.
type Machine struct {
	rscs  map[string]*rsc
	ops   map[OpID]*op
	next  OpID
	ready Ready
	logf  func(format string, args ...any)
}

// NewMachine returns an empty executor. logf receives Pacemaker-style log
// lines ("executing - rsc:X action:start call_id:3"); nil discards them.
func NewMachine(logf func(string, ...any)) *Machine {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Machine{rscs: map[string]*rsc{}, ops: map[OpID]*op{}, logf: logf}
}

// Ready returns the pending outputs; Advance clears them.
func (m *Machine) Ready() Ready { return m.ready }

// HasReady reports whether Ready has anything.
func (m *Machine) HasReady() bool {
	return len(m.ready.Runs)+len(m.ready.Kills)+len(m.ready.Notifies) > 0
}

// Advance acknowledges that the driver acted on Ready.
func (m *Machine) Advance() { m.ready = Ready{} }

// Register caches a resource (process_lrmd_rsc_register). Registering the
// same id with the same class/provider/type again changes nothing; with a
// different agent it replaces the old entry, whose ops end as if unregistered.
func (m *Machine) Register(now time.Time, r Resource) {
	if old := m.rscs[r.ID]; old != nil {
		if strings.EqualFold(old.Class, r.Class) && strings.EqualFold(old.Provider, r.Provider) && strings.EqualFold(old.Type, r.Type) {
			m.logf("notice: Ignoring duplicate registration of '%s'", r.ID)
			return
		}
		m.drop(now, old)
	}
	m.rscs[r.ID] = &rsc{Resource: r, ops: map[OpID]*op{}}
	m.logf("info: Cached agent information for '%s'", r.ID)
}

// Resource returns a registered resource (lrmd_rsc_info).
func (m *Machine) Resource(id string) (Resource, bool) {
	r := m.rscs[id]
	if r == nil {
		return Resource{}, false
	}
	return r.Resource, true
}

// Unregister forgets a resource (process_lrmd_rsc_unregister). Queued ops
// end cancelled, recurring ones are cancelled, and a running op finishes
// with rsc_deleted set. It returns 0, or -EINPROGRESS when an op was still
// running.
func (m *Machine) Unregister(now time.Time, id string) int {
	r := m.rscs[id]
	if r == nil {
		m.logf("info: Ignoring unregistration of resource '%s', which is not registered", id)
		return 0
	}
	rc := 0
	if r.active != nil {
		rc = -EINPROGRESS
	}
	m.drop(now, r)
	return rc
}

// drop removes r like free_rsc.
func (m *Machine) drop(now time.Time, r *rsc) {
	delete(m.rscs, r.ID)
	r.deleted = true
	for _, o := range r.pending {
		o.state = opWaiting // no longer queued
		m.finish(now, o, OCFOk, ExecCancelled)
	}
	r.pending = nil
	for _, o := range m.sortedOps(r) {
		if o.req.IntervalMS == 0 {
			continue
		}
		m.cancelOp(now, o)
	}
}

// Exec queues an operation (process_lrmd_rsc_exec + schedule_lrmd_cmd) and
// returns the call id, or -ENODEV / -EINVAL.
func (m *Machine) Exec(now time.Time, req ExecRequest) int {
	if req.RscID == "" {
		return -EINVAL
	}
	r := m.rscs[req.RscID]
	if r == nil {
		m.logf("info: Resource '%s' not found (%d active resources)", req.RscID, len(m.rscs))
		return -ENODEV
	}
	if req.Params == nil {
		req.Params = map[string]string{}
	}
	if m.mergeDuplicate(now, r, req) {
		return req.CallID
	}
	// The controller expects the executor to cancel recurring ops before a
	// resource stops.
	if strings.EqualFold(req.Action, "stop") {
		m.cancelAllRecurring(now, r, "")
	}
	m.next++
	o := &op{id: m.next, req: req, rsc: r, lastExit: -1}
	m.ops[o.id] = o
	r.ops[o.id] = o
	m.enqueue(now, o)
	if req.StartDelayMS > 0 {
		o.delayUntil = now.Add(time.Duration(req.StartDelayMS) * time.Millisecond)
	}
	m.kick(now, r)
	return req.CallID
}

func (m *Machine) enqueue(now time.Time, o *op) {
	o.state = opQueued
	o.queuedAt = now
	o.rsc.pending = append(o.rsc.pending, o)
}

// mergeDuplicate is merge_recurring_duplicate: a second request for the same
// recurring action takes over the existing op's call id and user data, and a
// waiting op runs again at once.
func (m *Machine) mergeDuplicate(now time.Time, r *rsc, req ExecRequest) bool {
	if req.IntervalMS == 0 {
		return false
	}
	var dup *op
	for _, o := range m.sortedOps(r) {
		if o.req.IntervalMS == req.IntervalMS && strings.EqualFold(o.req.Action, req.Action) && !o.cancelled {
			dup = o
			break
		}
	}
	if dup == nil {
		return false
	}
	m.logf("warning: Duplicate recurring op entry detected (%s_%s_%d), merging with previous op entry",
		r.ID, req.Action, req.IntervalMS)
	dup.firstNotifySent = false
	dup.req.UserData = req.UserData
	dup.req.CallID = req.CallID
	if dup.state == opWaiting {
		m.enqueue(now, dup)
		m.kick(now, r)
	}
	return true
}

// Cancel is cancel_op: a queued or waiting op ends cancelled at once, a
// running recurring op is killed and ends cancelled when it exits. It returns
// 0, -ENODEV for an unknown resource, -EOPNOTSUPP when nothing matched.
func (m *Machine) Cancel(now time.Time, rscID, action string, intervalMS int64) int {
	r := m.rscs[rscID]
	if r == nil {
		return -ENODEV
	}
	for _, o := range r.pending {
		if o.req.IntervalMS == intervalMS && strings.EqualFold(o.req.Action, action) {
			m.cancelOp(now, o)
			return 0
		}
	}
	if intervalMS == 0 {
		return -EOPNOTSUPP
	}
	for _, o := range m.sortedOps(r) {
		if o.req.IntervalMS == intervalMS && strings.EqualFold(o.req.Action, action) && !o.cancelled {
			m.cancelOp(now, o)
			return 0
		}
	}
	return -EOPNOTSUPP
}

func (m *Machine) cancelOp(now time.Time, o *op) {
	switch o.state {
	case opRunning:
		if !o.cancelled {
			o.cancelled = true
			m.logf("info: Terminating in-flight op %s_%s_%d early because it was cancelled", o.req.RscID, o.req.Action, o.req.IntervalMS)
			m.ready.Kills = append(m.ready.Kills, Kill{Op: o.id, Reason: "cancel"})
		}
	case opQueued:
		m.unqueue(o)
		o.state = opWaiting
		fallthrough
	default:
		o.cancelled = true
		m.finish(now, o, OCFOk, ExecCancelled)
	}
}

func (m *Machine) unqueue(o *op) {
	r := o.rsc
	for i, p := range r.pending {
		if p == o {
			r.pending = append(r.pending[:i:i], r.pending[i+1:]...)
			return
		}
	}
}

// cancelAllRecurring cancels the recurring ops of r (those started by client
// when client is not empty).
func (m *Machine) cancelAllRecurring(now time.Time, r *rsc, client string) {
	for _, o := range m.sortedOps(r) {
		if o.req.IntervalMS == 0 || o.cancelled {
			continue
		}
		if client != "" && o.req.ClientID != client {
			continue
		}
		m.cancelOp(now, o)
	}
}

// ClientGone is client_disconnect_cleanup: resources registered with
// lrmd_opt_drop_recurring lose the recurring ops the client started.
func (m *Machine) ClientGone(now time.Time, client string) {
	for _, id := range m.rscIDs() {
		r := m.rscs[id]
		if r.CallOpts&OptDropRecurring == OptDropRecurring {
			m.cancelAllRecurring(now, r, client)
		}
	}
}

// Complete reports that the driver's process for op ended.
func (m *Machine) Complete(now time.Time, id OpID, out Outcome) {
	o := m.ops[id]
	if o == nil || o.state != opRunning {
		m.logf("error: Completed executor action (%d) does not match any known operations", id)
		return
	}
	r := o.rsc
	if r.active == o {
		r.active = nil
	}
	status, exit, reason := out.Status, out.ExitStatus, out.Reason
	switch {
	case o.cancelled && out.Signal != 0:
		status, exit, reason = ExecCancelled, OCFOk, ""
	case o.timedOut && (out.Signal != 0 || status != ExecDone):
		status = ExecTimeout
		exit = GenericError(r.Class, o.req.Action)
		reason = fmt.Sprintf("%s did not complete within %s", actionKind(r.Class), ReadableInterval(o.req.TimeoutMS))
		m.logf("info: %s %s_%s_%d[%d] timed out after %s", actionKind(r.Class), r.ID, o.req.Action, o.req.IntervalMS, out.PID, ReadableInterval(o.req.TimeoutMS))
	}
	code := MapExit(r.Class, o.req.Action, exit)
	if o.lastExit != code {
		o.epochRCChange = now.Unix()
	}
	o.lastExit = code
	output := out.Stderr
	if output == "" {
		output = out.Stdout
	}
	m.finishRun(now, o, code, status, reason, output, out.PID)
	m.kick(now, r)
}

// Tick handles every deadline that is due at now: start-delays, recurring
// intervals and timeouts.
func (m *Machine) Tick(now time.Time) {
	for _, id := range m.opIDs() {
		o := m.ops[id]
		if o == nil {
			continue
		}
		switch o.state {
		case opRunning:
			if !o.deadline.IsZero() && !now.Before(o.deadline) && !o.timedOut {
				o.timedOut = true
				m.ready.Kills = append(m.ready.Kills, Kill{Op: o.id, Reason: "timeout"})
			}
		case opWaiting:
			if !o.nextRun.IsZero() && !now.Before(o.nextRun) {
				o.nextRun = time.Time{}
				m.enqueue(now, o)
			}
		}
	}
	for _, id := range m.rscIDs() {
		m.kick(now, m.rscs[id])
	}
}

// NextDeadline is the earliest time at which Tick has something to do.
func (m *Machine) NextDeadline() (time.Time, bool) {
	var best time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	for _, o := range m.ops {
		switch o.state {
		case opRunning:
			if !o.timedOut {
				consider(o.deadline)
			}
		case opWaiting:
			consider(o.nextRun)
		case opQueued:
			if o.rsc.active == nil && len(o.rsc.pending) > 0 && o.rsc.pending[0] == o {
				consider(o.delayUntil)
			}
		}
	}
	return best, !best.IsZero()
}

// kick is execute_resource_action: when nothing of r runs, start the head
// of its queue unless its start-delay is still pending.
func (m *Machine) kick(now time.Time, r *rsc) {
	if r == nil || r.deleted || r.active != nil || len(r.pending) == 0 {
		return
	}
	o := r.pending[0]
	if !o.delayUntil.IsZero() {
		if now.Before(o.delayUntil) {
			return
		}
		o.delayUntil = time.Time{}
	}
	r.pending = r.pending[1:]
	r.active = o
	o.state = opRunning
	o.ran = true
	o.runAt = now
	o.epochLastRun = now.Unix()
	o.timedOut = false
	o.deadline = time.Time{}
	if o.req.TimeoutMS > 0 {
		o.deadline = now.Add(time.Duration(o.req.TimeoutMS) * time.Millisecond)
	}
	level := "info"
	if strings.EqualFold(o.req.Action, "monitor") {
		level = "debug"
	}
	m.logf("%s: executing - rsc:%s action:%s call_id:%d", level, r.ID, o.req.Action, o.req.CallID)
	m.ready.Runs = append(m.ready.Runs, Run{
		Op: o.id, Rsc: r.Resource, Action: o.req.Action, IntervalMS: o.req.IntervalMS,
		TimeoutMS: o.req.TimeoutMS, Params: copyParams(o.req.Params),
		LeaveGroup: strings.EqualFold(o.req.Params["CRM_meta_on_fail"], "block"),
	})
}

// finish ends an op that is not running (cancelled in the queue or while
// waiting, or dropped with its resource).
func (m *Machine) finish(now time.Time, o *op, rc int, st ExecStatus) {
	o.runAt = time.Time{}
	m.finishRun(now, o, rc, st, "", "", 0)
}

// finishRun is cmd_finalize: notify, then forget a one-shot or cancelled op
// and re-arm a recurring one.
func (m *Machine) finishRun(now time.Time, o *op, rc int, st ExecStatus, reason, output string, pid int) {
	r := o.rsc
	var execMS, queueMS int64
	if !o.runAt.IsZero() {
		execMS = now.Sub(o.runAt).Milliseconds()
		queueMS = o.runAt.Sub(o.queuedAt).Milliseconds()
	}
	m.logFinished(o, pid, rc, st, reason, execMS, queueMS)

	if !(o.firstNotifySent && o.req.CallOpts&OptNotifyChangesOnly != 0 && o.lastRC == rc && o.lastStatus == st) {
		o.firstNotifySent = true
		o.lastRC, o.lastStatus = rc, st
		m.ready.Notifies = append(m.ready.Notifies, Notify{
			ClientID: o.req.ClientID, OrigOnly: o.req.CallOpts&OptNotifyOrigOnly != 0,
			RscID: o.req.RscID, Action: o.req.Action, CallID: o.req.CallID,
			IntervalMS: o.req.IntervalMS, TimeoutMS: o.req.TimeoutMS, StartDelayMS: o.req.StartDelayMS,
			RC: rc, Status: st, ExitReason: reason, Output: output, UserData: o.req.UserData,
			RscDeleted: r.deleted, RunTime: o.epochLastRun, RCChangeTime: o.epochRCChange,
			ExecTimeMS: execMS, QueueTimeMS: queueMS, Params: copyParams(o.req.Params),
		})
	}
	if o.req.IntervalMS == 0 || st == ExecCancelled || o.cancelled || r.deleted {
		delete(m.ops, o.id)
		delete(r.ops, o.id)
		return
	}
	// Recurring: the services library runs it again one interval after it
	// finished (recurring_action_timer).
	o.state = opWaiting
	o.runAt = time.Time{}
	o.epochLastRun = 0
	o.nextRun = now.Add(time.Duration(o.req.IntervalMS) * time.Millisecond)
}

func (m *Machine) logFinished(o *op, pid, rc int, st ExecStatus, reason string, execMS, queueMS int64) {
	level := "info"
	if strings.EqualFold(o.req.Action, "monitor") {
		level = "debug"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (call %d", o.req.RscID, o.req.Action, o.req.CallID)
	if pid != 0 {
		fmt.Fprintf(&b, ", PID %d", pid)
	}
	if st == ExecDone {
		fmt.Fprintf(&b, ") exited with status %d", rc)
	} else {
		fmt.Fprintf(&b, ") could not be executed: %s", st)
	}
	if reason != "" {
		fmt.Fprintf(&b, " (%s)", reason)
	}
	fmt.Fprintf(&b, " (execution time %s", ReadableInterval(execMS))
	if queueMS > 0 {
		fmt.Fprintf(&b, " after being queued %s", ReadableInterval(queueMS))
	}
	b.WriteString(")")
	m.logf("%s: %s", level, b.String())
}

// RecurringOp is one entry of lrmd_get_recurring.
type RecurringOp struct {
	RscID      string
	Action     string
	IntervalMS int64
	TimeoutMS  int64
}

// Recurring lists the recurring ops that have run at least once (upstream's
// recurring_ops list) of rscID, or of every resource when rscID is empty.
// ok is false when rscID names no resource.
func (m *Machine) Recurring(rscID string) (ops []RecurringOp, ok bool) {
	ids := m.rscIDs()
	if rscID != "" {
		if m.rscs[rscID] == nil {
			return nil, false
		}
		ids = []string{rscID}
	}
	for _, id := range ids {
		for _, o := range m.sortedOps(m.rscs[id]) {
			if o.req.IntervalMS > 0 && o.ran && !o.cancelled {
				ops = append(ops, RecurringOp{RscID: id, Action: o.req.Action, IntervalMS: o.req.IntervalMS, TimeoutMS: o.req.TimeoutMS})
			}
		}
	}
	return ops, true
}

// Resources returns the ids of every registered resource, sorted.
func (m *Machine) Resources() []string { return m.rscIDs() }

// Running reports the op currently running for a resource, if any.
func (m *Machine) Running(rscID string) (action string, intervalMS int64, ok bool) {
	r := m.rscs[rscID]
	if r == nil || r.active == nil {
		return "", 0, false
	}
	return r.active.req.Action, r.active.req.IntervalMS, true
}

// Queued reports how many ops wait in a resource's queue.
func (m *Machine) Queued(rscID string) int {
	if r := m.rscs[rscID]; r != nil {
		return len(r.pending)
	}
	return 0
}

func (m *Machine) rscIDs() []string {
	ids := make([]string, 0, len(m.rscs))
	for id := range m.rscs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (m *Machine) opIDs() []OpID {
	ids := make([]OpID, 0, len(m.ops))
	for id := range m.ops {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func (m *Machine) sortedOps(r *rsc) []*op {
	ops := make([]*op, 0, len(r.ops))
	for _, o := range r.ops {
		ops = append(ops, o)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	return ops
}

func copyParams(p map[string]string) map[string]string {
	c := make(map[string]string, len(p))
	for k, v := range p {
		c[k] = v
	}
	return c
}

// actionKind is services__action_kind.
func actionKind(class string) string {
	if class == ClassStonith {
		return "Fence agent"
	}
	return "Resource agent"
}
