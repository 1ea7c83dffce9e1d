// Package fencing is the fencer's request handling (Pacemaker 2.1.5
// daemons/fenced: pacemaker-fenced.c st_ipc_dispatch, fenced_commands.c
// handle_*_request, fenced_history.c) as a pure machine: the driver hands
// it decoded IPC requests and CPG deliveries and carries out the returned
// Effects. It holds no sockets, no clock (time is an argument) and no
// randomness (client and operation ids come from the driver).
//
// What it answers is real state: the registered devices (none yet: device
// registration and the running of fence agents are not implemented, so
// every registration is refused rather than pretended) and the fencing
// history. A fencing request therefore ends as Pacemaker ends one with no
// capable device: failed with "No such device" (PCMK_EXEC_NO_FENCE_DEVICE,
// st_rc -ENODEV), recorded in the history as failed and notified — never
// reported as a success.
package fencing

import (
	"sort"
	"strconv"

	"github.com/beevik/etree"

	"ringmaster/cib"
)

// Operation names (include/crm/fencing/internal.h).
const (
	OpRegister      = "register"
	OpNotify        = "st_notify"
	OpQuery         = "st_query"
	OpFence         = "st_fence"
	OpRelay         = "st_relay"
	OpExec          = "st_execute"
	OpTimeoutUpdate = "st_timeout_update"
	OpHistory       = "st_fence_history"
	OpDeviceAdd     = "st_device_register"
	OpDeviceDel     = "st_device_remove"
	OpLevelAdd      = "st_level_add"
	OpLevelDel      = "st_level_remove"
	OpRmNodeCache   = "rm_node_cache"
	OpPoke          = "poke"
)

// Notification classes (get_stonith_flag).
const (
	NotifyFence         = "st_notify_fence"
	NotifyHistory       = "st_notify_history"
	NotifyHistorySynced = "st_notify_history_synced"
)

// Call options (enum stonith_call_options) the machine looks at.
const (
	OptSyncCall     = 0x1000
	OptDiscardReply = 0x10
	OptCleanup      = 0x80000
	OptBroadcast    = 0x100000
)

// Execution status (enum pcmk_exec_status) and exit codes used in replies.
const (
	ExecDone         = 0
	ExecNotSupported = 3
	ExecInvalid      = 9
	ExecNoFenceDev   = 10

	ExitOK         = 0
	ExitError      = 1
	ExitInsuffPriv = 4
	ExitProtocol   = 76
)

// Legacy return codes (negative errno) carried in st_rc.
const (
	rcOK         = 0
	rcENODEV     = -19
	rcEACCES     = -13
	rcEPROTO     = -71
	rcEOPNOTSUPP = -95
)

// History states (enum op_state).
const (
	StateQuery  = 0
	StateExec   = 1
	StateDone   = 2
	StateFailed = 4
)

// Pacemaker IPC send flags (crm_ipc_flags).
const (
	ipcClientResponse uint32 = 0x200
	ipcServerEvent    uint32 = 0x10000
	ipcServerFree     uint32 = 0x20000
)

// Result is a pcmk__action_result_t as stonith__xe_set_result writes it.
type Result struct {
	Exec   int
	Exit   int
	Rc     int // legacy rc (st_rc)
	Reason string
}

var ok = Result{Exec: ExecDone, Exit: ExitOK, Rc: rcOK}

// Client is one IPC connection.
type Client struct {
	ID         string
	Name       string // "<st_clientname>.<pid>" once known
	PID        int
	Privileged bool
	notify     map[string]bool
}

// Message is one XML message for a client: the response to request ReqID
// or, when Event is set, an event.
type Message struct {
	ClientID string
	Event    bool
	ReqID    int32
	Flags    uint32
	XML      *etree.Element
}

// PeerMessage is a message for the stonith-ng CPG group ("" = all).
type PeerMessage struct {
	To  string
	XML *etree.Element
}

// Effects are what the driver does after a step, in order.
type Effects struct {
	Send []Message
	CPG  []PeerMessage
}

// Op is one fencing operation of the history.
type Op struct {
	ID         string
	Target     string
	Action     string
	Origin     string
	Delegate   string
	ClientName string
	State      int
	Completed  int64 // seconds since the epoch
	Nsec       int64
	Reason     string
}

// Fencer is the machine.
type Fencer struct {
	NodeName string
	clients  map[string]*Client
	history  []Op
}

// New starts a fencer for node.
func New(node string) *Fencer {
	return &Fencer{NodeName: node, clients: map[string]*Client{}}
}

// Connect registers a new IPC connection.
func (f *Fencer) Connect(id string, pid int, privileged bool) {
	f.clients[id] = &Client{ID: id, PID: pid, Privileged: privileged, notify: map[string]bool{}}
}

// Disconnect forgets a connection.
func (f *Fencer) Disconnect(id string) { delete(f.clients, id) }

// History returns the fencing history, oldest first.
func (f *Fencer) History() []Op { return append([]Op(nil), f.history...) }

// Request handles one decoded IPC request. now is the wall clock in
// seconds and nanoseconds (history timestamps); opID names a new fencing
// operation should this request start one.
func (f *Fencer) Request(id string, reqID int32, flags uint32, req *etree.Element, now int64, nsec int64, opID string) Effects {
	c := f.clients[id]
	if c == nil || req == nil {
		return Effects{}
	}
	// st_ipc_dispatch: the controller's node-cache purge arrives as a
	// crm_task and is only relayed to peers; we keep no peer cache.
	if cib.AttrOr(req, "crm_task", "") == OpRmNodeCache {
		return Effects{}
	}
	if c.Name == "" {
		c.Name = cib.AttrOr(req, "st_clientname", "unknown") + "." + strconv.Itoa(c.PID)
	}
	cib.SetAttr(req, "st_clientid", c.ID)
	cib.SetAttr(req, "st_clientname", c.Name)
	cib.SetAttr(req, "st_clientnode", f.NodeName)
	opts := cib.AttrInt(req, "st_callopt", 0)
	op := cib.AttrOr(req, "st_op", "")
	sync := opts&OptSyncCall != 0

	// reply sends r the way do_local_reply does: the response to a
	// synchronous call, an event otherwise.
	reply := func(r *etree.Element) Effects {
		m := Message{ClientID: c.ID, XML: r}
		if sync {
			m.ReqID, m.Flags = reqID, ipcServerFree
		} else {
			m.Event, m.Flags = true, ipcServerEvent|ipcServerFree
		}
		return Effects{Send: []Message{m}}
	}
	// reuse answers with the request's own IPC flags (register, notify).
	reuse := func(r *etree.Element) Effects {
		return Effects{Send: []Message{{ClientID: c.ID, ReqID: reqID, Flags: flags | ipcServerFree, XML: r}}}
	}

	switch op {
	case OpRegister:
		r := etree.NewElement("reply")
		cib.SetAttr(r, "st_op", OpRegister)
		cib.SetAttr(r, "st_clientid", c.ID)
		return reuse(r)
	case OpNotify:
		if v, ok := cib.Attr(req, "st_notify_activate"); ok {
			c.notify[v] = true
		}
		if v, ok := cib.Attr(req, "st_notify_deactivate"); ok {
			delete(c.notify, v)
		}
		a := etree.NewElement("ack")
		cib.SetAttr(a, "function", "handle_notify_request")
		cib.SetAttr(a, "line", "0")
		cib.SetAttr(a, "status", "0")
		return reuse(a)
	case OpHistory:
		return f.history_(req, opts, reply)
	case OpQuery:
		list := etree.NewElement("stonith_query_capable_device_cb")
		if dev := findAttr(req, "st_target"); dev != nil {
			cib.SetAttr(list, "st_target", cib.AttrOr(dev, "st_target", ""))
		}
		// No device is registered (see the package comment).
		cib.SetAttr(list, "st-available-devices", "0")
		return reply(construct(req, list, ok))
	case OpFence:
		return f.fence(c, req, now, nsec, opID, reply)
	case OpDeviceAdd, OpDeviceDel, OpLevelAdd, OpLevelDel:
		res := Result{Exec: ExecNotSupported, Exit: ExitError, Rc: rcEOPNOTSUPP,
			Reason: "Fence devices are not supported by this fencer yet"}
		if !c.Privileged {
			res = Result{Exec: ExecInvalid, Exit: ExitInsuffPriv, Rc: rcEACCES,
				Reason: "Unprivileged users must register device via CIB"}
		}
		return reply(construct(req, nil, res))
	case OpTimeoutUpdate:
		return Effects{}
	case OpExec, OpRelay:
		res := Result{Exec: ExecNoFenceDev, Exit: ExitError, Rc: rcENODEV, Reason: "No such device"}
		return reply(construct(req, nil, res))
	}
	res := Result{Exec: ExecInvalid, Exit: ExitProtocol, Rc: rcEPROTO,
		Reason: "Unknown IPC request type '" + op + "' (bug?)"}
	return reply(construct(req, nil, res))
}

// history_ is handle_history_request/stonith_fence_history.
func (f *Fencer) history_(req *etree.Element, opts int, reply func(*etree.Element) Effects) Effects {
	target := ""
	if dev := findAttr(req, "st_target"); dev != nil {
		target = cib.AttrOr(dev, "st_target", "")
	}
	var data *etree.Element
	var eff Effects
	switch {
	case opts&OptCleanup != 0:
		kept := f.history[:0]
		for _, o := range f.history {
			// Cleanup drops finished operations (done or failed).
			if (target == "" || target == "*" || o.Target == target) && (o.State == StateDone || o.State == StateFailed) {
				continue
			}
			kept = append(kept, o)
		}
		f.history = kept
		eff.Send = append(eff.Send, f.notify(NotifyHistory, nil, nil)...)
	case opts&OptBroadcast != 0:
		eff.Send = append(eff.Send, f.notify(NotifyHistorySynced, nil, nil)...)
		// Our history goes to the peers, who merge it (there is nothing to
		// merge into ours until operations run somewhere).
		eff.CPG = append(eff.CPG, PeerMessage{XML: f.broadcastHistory()})
	default:
		data = f.localHistory(target)
	}
	if opts&OptDiscardReply == 0 {
		r := reply(construct(req, data, ok))
		eff.Send = append(r.Send, eff.Send...)
	}
	return eff
}

// localHistory is stonith_local_history: nil when empty.
func (f *Fencer) localHistory(target string) *etree.Element {
	var h *etree.Element
	for i := len(f.history) - 1; i >= 0; i-- {
		o := f.history[i]
		if target != "" && target != "*" && o.Target != target {
			continue
		}
		if h == nil {
			h = etree.NewElement("st_history")
		}
		e := h.CreateElement(OpExec)
		cib.SetAttr(e, "st_remote_op", o.ID)
		cib.SetAttr(e, "st_target", o.Target)
		cib.SetAttr(e, "st_device_action", o.Action)
		cib.SetAttr(e, "st_origin", o.Origin)
		if o.Delegate != "" {
			cib.SetAttr(e, "st_delegate", o.Delegate)
		}
		cib.SetAttr(e, "st_clientname", o.ClientName)
		cib.SetAttr(e, "st_date", strconv.FormatInt(o.Completed, 10))
		cib.SetAttr(e, "st_date_nsec", strconv.FormatInt(o.Nsec, 10))
		cib.SetAttr(e, "st_state", strconv.Itoa(o.State))
		if o.Reason != "" {
			cib.SetAttr(e, "exit-reason", o.Reason)
		}
	}
	return h
}

func (f *Fencer) broadcastHistory() *etree.Element {
	m := etree.NewElement("stonith_command")
	cib.SetAttr(m, "t", "stonith-ng")
	cib.SetAttr(m, "subt", "broadcast")
	cib.SetAttr(m, "st_op", OpHistory)
	cib.SetAttr(m, "st_callopt", strconv.Itoa(OptBroadcast|OptDiscardReply))
	cd := m.CreateElement("st_calldata")
	if h := f.localHistory(""); h != nil {
		cd.AddChild(h)
	} else {
		cd.CreateElement("stonith_send_broadcast_history")
	}
	return m
}

// fence is handle_fence_request for a local client. With no device able
// to fence anything, the remote operation Pacemaker would start ends at
// once the way it ends after an empty query round: failed, no device.
func (f *Fencer) fence(c *Client, req *etree.Element, now, nsec int64, opID string, reply func(*etree.Element) Effects) Effects {
	dev := findAttr(req, "st_target")
	target, action := "", "reboot"
	if dev != nil {
		target = cib.AttrOr(dev, "st_target", "")
		action = cib.AttrOr(dev, "st_device_action", action)
	}
	res := Result{Exec: ExecNoFenceDev, Exit: ExitError, Rc: rcENODEV}
	o := Op{
		ID: opID, Target: target, Action: action, Origin: f.NodeName,
		ClientName: c.Name, State: StateFailed, Completed: now, Nsec: nsec,
	}
	f.history = append(f.history, o)
	r := construct(req, nil, res)
	cib.SetAttr(r, "st_remote_op", opID)
	eff := reply(r)
	nf := etree.NewElement("st_notify_fence")
	cib.SetAttr(nf, "state", strconv.Itoa(StateFailed))
	cib.SetAttr(nf, "st_target", target)
	cib.SetAttr(nf, "st_device_action", action)
	cib.SetAttr(nf, "st_remote_op", opID)
	cib.SetAttr(nf, "st_origin", f.NodeName)
	cib.SetAttr(nf, "st_clientid", c.ID)
	cib.SetAttr(nf, "st_clientname", c.Name)
	eff.Send = append(eff.Send, f.notify(NotifyFence, &res, nf)...)
	eff.Send = append(eff.Send, f.notify(NotifyHistory, nil, nil)...)
	return eff
}

// notify is fenced_send_notification to every subscribed client.
func (f *Fencer) notify(typ string, res *Result, data *etree.Element) []Message {
	var out []Message
	ids := make([]string, 0, len(f.clients))
	for id := range f.clients {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !f.clients[id].notify[typ] {
			continue
		}
		n := etree.NewElement("notify")
		cib.SetAttr(n, "t", "st_notify")
		cib.SetAttr(n, "subt", typ)
		cib.SetAttr(n, "st_op", typ)
		r := ok
		if res != nil {
			r = *res
		}
		setResult(n, r)
		if data != nil {
			n.CreateElement("st_calldata").AddChild(data.Copy())
		}
		out = append(out, Message{ClientID: id, Event: true, Flags: ipcServerEvent | ipcServerFree, XML: n})
	}
	return out
}

// Deliver handles a message from the stonith-ng CPG group. Peers' pokes
// and history broadcasts need no answer while no operation ever runs
// here; everything else is ignored.
func (f *Fencer) Deliver(from string, msg *etree.Element) Effects {
	return Effects{}
}

// Poke is what a fencer multicasts when it starts and on membership
// changes (the peers learn it is there).
func Poke() *etree.Element {
	p := etree.NewElement("stonith_command")
	cib.SetAttr(p, "__name__", "stonith_command")
	cib.SetAttr(p, "t", "stonith-ng")
	cib.SetAttr(p, "st_op", OpPoke)
	return p
}

// construct is fenced_construct_reply.
func construct(req, data *etree.Element, res Result) *etree.Element {
	r := etree.NewElement("st-reply")
	cib.SetAttr(r, "st_origin", "fenced_construct_reply")
	cib.SetAttr(r, "t", "stonith-ng")
	setResult(r, res)
	for _, n := range []string{"st_op", "st_callid", "st_clientid", "st_clientname", "st_remote_op", "st_callopt"} {
		if v, ok := cib.Attr(req, n); ok {
			cib.SetAttr(r, n, v)
		}
	}
	if data != nil {
		r.CreateElement("st_calldata").AddChild(data)
	}
	return r
}

// setResult is stonith__xe_set_result.
func setResult(e *etree.Element, r Result) {
	cib.SetAttr(e, "op-status", strconv.Itoa(r.Exec))
	cib.SetAttr(e, "rc-code", strconv.Itoa(r.Exit))
	if r.Reason != "" {
		cib.SetAttr(e, "exit-reason", r.Reason)
	}
	cib.SetAttr(e, "st_rc", strconv.Itoa(r.Rc))
}

// findAttr is get_xpath_object("//@name"): the first element, the root
// included, carrying attribute name.
func findAttr(e *etree.Element, name string) *etree.Element {
	if _, ok := cib.Attr(e, name); ok {
		return e
	}
	for _, c := range e.ChildElements() {
		if f := findAttr(c, name); f != nil {
			return f
		}
	}
	return nil
}
