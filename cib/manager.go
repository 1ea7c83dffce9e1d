package cib

import (
	"strconv"

	"github.com/beevik/etree"
)

// Manager is the CIB manager's request handling (daemons/based:
// based_callbacks.c cib_common_callback / cib_process_request /
// cib_process_command, based_notify.c) as a pure machine: the driver hands
// it decoded requests from IPC clients and carries out the returned
// Effects (replies, events, disk writes). It holds no sockets, no clock
// and no randomness (client ids come from the driver).
//
// It serves one node in stand-alone mode: every request is processed
// locally (the node is its own primary). Replication over CPG is not done.
type Manager struct {
	Engine   *Engine
	NodeName string // stamped as update-origin (cib_our_uname)
	// Status, when not OK, answers every operation (the CIB read at start
	// did not validate: based's cib_status).
	Status Rc
	// Cluster makes modifying requests go through the cluster (CPG) in
	// agreed order instead of applying them at once; Primary is set by the
	// controller (cib_master/cib_slave) on the DC. See cluster.go.
	Cluster bool
	Primary bool
	cib     *etree.Element
	clients map[string]*Client
	pending map[pendingKey]pendingCall
	changed bool // a change since the last ping
	pingID  int
}

// Notification classes a client may subscribe to (cib_notify_*).
const (
	NotifyPost uint32 = 1 << iota
	NotifyPre
	NotifyConfirm
	NotifyDiff
	NotifyReplace
)

var notifyTypes = map[string]uint32{
	"cib_post_notify":         NotifyPost,
	"cib_pre_notify":          NotifyPre,
	"cib_update_confirmation": NotifyConfirm,
	"cib_diff_notify":         NotifyDiff,
	"cib_refresh_notify":      NotifyReplace,
}

// Client is one IPC connection.
type Client struct {
	ID         string
	Name       string
	User       string // from the connection's uid
	Privileged bool   // connected to cib_rw or cib_shm (not cib_ro)
	Notify     uint32
}

// Message is one XML message for a client: a response to request ReqID,
// or an event.
type Message struct {
	ClientID string
	Event    bool
	ReqID    int32
	Flags    uint32 // Pacemaker IPC send flags (see pcmkipc)
	XML      *etree.Element
}

// Effects are what the driver must do after a request, in order: persist
// first (when set), then send.
type Effects struct {
	Persist *etree.Element // new CIB to write to disk (configuration changed)
	Send    []Message
	CPG     []PeerMessage // to the cib CPG group, after Persist
}

// Pacemaker IPC send flags as they appear on the wire (crm_ipc_flags).
const (
	ipcClientResponse uint32 = 0x200
	ipcServerEvent    uint32 = 0x10000
	ipcServerFree     uint32 = 0x20000
)

// NewManager starts a manager on an initial CIB (which it owns).
func NewManager(eng *Engine, nodeName string, initial *etree.Element) *Manager {
	if FirstChild(initial, "status") == nil {
		initial.CreateElement("status")
	}
	return &Manager{Engine: eng, NodeName: nodeName, cib: initial, clients: map[string]*Client{}, pending: map[pendingKey]pendingCall{}}
}

// CIB returns the current CIB (read only for callers).
func (m *Manager) CIB() *etree.Element { return m.cib }

// Connect registers a new connection. Clients of cib_ro are not
// privileged: they may only read (cib_op_can_run).
func (m *Manager) Connect(id, user string, privileged bool) {
	m.clients[id] = &Client{ID: id, User: user, Privileged: privileged}
}

// Disconnect forgets a connection.
func (m *Manager) Disconnect(id string) { delete(m.clients, id) }

// Request handles one decoded request from client id. reqID and flags come
// from the Pacemaker IPC header.
func (m *Manager) Request(id string, reqID int32, flags uint32, req *etree.Element) Effects {
	c := m.clients[id]
	if c == nil || req == nil {
		return Effects{}
	}
	if c.Name == "" {
		c.Name = AttrOr(req, "cib_clientname", "")
		if c.Name == "" {
			c.Name = id
		}
	}
	op := AttrOr(req, "cib_op", "")
	switch op {
	case "register":
		if flags&ipcClientResponse == 0 {
			return Effects{}
		}
		ack := etree.NewElement("cib_common_callback_worker")
		SetAttr(ack, "cib_op", "register")
		SetAttr(ack, "cib_clientid", c.ID)
		return Effects{Send: []Message{{ClientID: id, ReqID: reqID, Flags: flags | ipcServerFree, XML: ack}}}
	case "cib_notify":
		status := 0
		bit, ok := notifyTypes[AttrOr(req, "cib_notify_type", "")]
		if !ok {
			status = ExitInvalid
		} else if AttrInt(req, "cib_notify_activate", 0) != 0 {
			c.Notify |= bit
		} else {
			c.Notify &^= bit
		}
		if flags&ipcClientResponse == 0 {
			return Effects{}
		}
		ack := etree.NewElement("ack")
		SetAttr(ack, "function", "cib_common_callback_worker")
		SetAttr(ack, "line", "0")
		SetAttr(ack, "status", strconv.Itoa(status))
		return Effects{Send: []Message{{ClientID: id, ReqID: reqID, Flags: ipcServerFree, XML: ack}}}
	}
	return m.process(c, reqID, req)
}

// effectiveUser is pcmk__update_acl_user: privileged connections (root,
// hacluster) may act as the user named in the request.
func effectiveUser(c *Client, requested string) string {
	if !ACLRequired(c.User) && requested != "" {
		return requested
	}
	return c.User
}

// requestData extracts the operation input as cib_op_prepare does.
func requestData(req *etree.Element) *etree.Element {
	op := AttrOr(req, "cib_op", "")
	opts := CallOpt(uint32(AttrInt(req, "cib_callopt", 0)))
	section := AttrOr(req, "cib_section", "")
	var data *etree.Element
	if cd := FirstChild(req, "cib_calldata"); cd != nil {
		if kids := cd.ChildElements(); len(kids) > 0 {
			data = kids[0]
		}
	}
	// cib_prepare_common: a whole <cib> sent with a section is cut down.
	if data != nil && section != "" && elemName(data) == "cib" && opts&OptXPath == 0 && op != OpApplyDiff {
		if s, _ := FindSection(data, section); s != nil {
			data = s
		}
	}
	// cib_prepare_diff: the diff may be wrapped in cib_update_diff.
	if op == OpApplyDiff && data != nil && elemName(data) == "cib_update_diff" {
		if kids := data.ChildElements(); len(kids) > 0 {
			data = kids[0]
		}
	}
	return data
}

// modifies is cib_op_modifies for the operations we forward.
func modifies(op string) bool {
	switch op {
	case OpModify, OpCreate, OpDelete, OpReplace, OpErase, OpBump, OpUpgrade, OpApplyDiff:
		return true
	}
	return false
}

func (m *Manager) process(c *Client, reqID int32, req *etree.Element) Effects {
	op := AttrOr(req, "cib_op", "")
	opts := CallOpt(uint32(AttrInt(req, "cib_callopt", 0)))
	if m.Status == OK && m.Cluster && modifies(op) && c.Privileged {
		return m.forward(c, reqID, req)
	}
	if m.Cluster && op == OpSync && m.Status == OK {
		// The DC's controller asks its own CIB to push the CIB to all.
		eff := Effects{CPG: []PeerMessage{{XML: m.syncCopy(req, c.ID, c.Name, m.NodeName)}}}
		res := Result{Rc: OK}
		eff.Send = append(eff.Send, m.reply(c.ID, reqID, req, opts, res))
		return eff
	}
	user := effectiveUser(c, AttrOr(req, "cib_user", ""))
	var eff Effects
	var res Result
	switch {
	case m.Status != OK && op != OpPing && op != OpNoop:
		res = Result{Rc: m.Status, Output: m.cib}
	case !c.Privileged && modifies(op):
		res = Result{Rc: EACCES}
	default:
		res, eff = m.apply(req, user, m.NodeName, c.Name, false)
	}
	if opts&OptDiscardReply == 0 {
		eff.Send = append(eff.Send, m.reply(c.ID, reqID, req, opts, res))
	}
	return eff
}

// apply performs one operation on the CIB and collects notifications and
// the CIB to persist (cib_process_command). global marks a peer's full
// replace (cib_update="true"): the version it carries is taken as is.
func (m *Manager) apply(req *etree.Element, user, origin, clientName string, global bool) (Result, Effects) {
	var eff Effects
	var res Result
	op := AttrOr(req, "cib_op", "")
	opts := CallOpt(uint32(AttrInt(req, "cib_callopt", 0)))
	data := requestData(req)
	switch op {
	case OpModify, OpCreate, OpDelete, OpReplace, OpErase, OpBump, OpUpgrade, OpApplyDiff, OpQuery:
		r := Request{
			Op: op, Section: AttrOr(req, "cib_section", ""), Options: opts, Data: data,
			User:       user,
			Origin:     origin,
			ClientName: clientName,
			SchemaMax:  AttrOr(req, "cib_schema_max", ""),
			Digest:     AttrOr(req, "digest", ""),
			Global:     global,
		}
		res = m.Engine.Perform(m.cib, r)
		if op == OpUpgrade && res.Rc == OK && res.CIB == nil {
			// The CIB manager reports an unnecessary upgrade.
			res.Rc = ErrSchemaUnchanged
		}
		if res.Rc == ErrSchemaValidation && res.Invalid != nil {
			res.Output = res.Invalid
		}
	case OpNoop, OpIsPrimary, OpSync, OpSyncOne, OpShutdown:
		res = Result{Rc: OK}
	case OpPrimary:
		m.Primary = true
		res = Result{Rc: OK}
	case OpSecondary:
		m.Primary = false
		res = Result{Rc: OK}
	case OpPing:
		ping := etree.NewElement("ping")
		SetAttr(ping, "cib_op", OpPing)
		SetAttr(ping, "digest", DigestVersioned(m.cib, FeatureSet))
		for _, f := range versionFields {
			SetAttr(ping, f, AttrOr(m.cib, f, "0"))
		}
		res = Result{Rc: OK, Output: ping}
	default:
		res = Result{Rc: EINVAL}
	}
	if res.Rc == OK && res.CIB != nil {
		old := m.cib
		m.cib = res.CIB
		m.changed = true
		if FirstChild(m.cib, "status") == nil {
			m.cib.CreateElement("status")
		}
		if res.Changes.Config || op == OpReplace {
			eff.Persist = m.cib
		}
		if opts&(OptInhibitNotify|OptDryRun) == 0 && res.Patchset != nil {
			eff.Send = append(eff.Send, m.notify(op, res.Rc, data, res.Patchset, NotifyDiff, "cib_diff_notify")...)
		}
		if op == OpReplace || op == OpErase {
			eff.Send = append(eff.Send, m.replaceNotify(old, res)...)
		}
	}
	return res, eff
}

// reply builds the cib-reply for a client: the response to its request when
// it called synchronously, an event otherwise.
func (m *Manager) reply(clientID string, reqID int32, req *etree.Element, opts CallOpt, res Result) Message {
	reply := etree.NewElement("cib-reply")
	SetAttr(reply, "t", "cib")
	SetAttr(reply, "cib_op", AttrOr(req, "cib_op", ""))
	SetAttr(reply, "cib_callid", AttrOr(req, "cib_callid", ""))
	SetAttr(reply, "cib_clientid", clientID)
	SetAttr(reply, "cib_callopt", strconv.FormatInt(int64(int32(opts)), 10))
	SetAttr(reply, "cib_rc", strconv.Itoa(int(res.Rc)))
	if res.Output != nil {
		cd := reply.CreateElement("cib_calldata")
		cd.AddChild(res.Output.Copy())
	}
	msg := Message{ClientID: clientID, XML: reply}
	if opts&OptSyncCall != 0 {
		msg.ReqID, msg.Flags = reqID, ipcServerFree
	} else {
		msg.Event, msg.Flags = true, ipcServerEvent|ipcServerFree
	}
	return msg
}

// notify builds a notification for every subscribed client (do_cib_notify).
func (m *Manager) notify(op string, rc Rc, update, result *etree.Element, bit uint32, subtype string) []Message {
	var out []Message
	for _, c := range m.sortedClients() {
		if c.Notify&bit == 0 {
			continue
		}
		n := etree.NewElement("notify")
		SetAttr(n, "t", "cib_notify")
		SetAttr(n, "subt", subtype)
		SetAttr(n, "cib_op", op)
		SetAttr(n, "cib_rc", strconv.Itoa(int(rc)))
		if result != nil {
			if id, ok := Attr(result, "id"); ok {
				SetAttr(n, "cib_object", id)
			}
		}
		if update != nil {
			SetAttr(n, "cib_object_type", elemName(update))
		} else if result != nil {
			SetAttr(n, "cib_object_type", elemName(result))
		}
		gen := n.CreateElement("cib_generation").CreateElement("generation_tuple")
		for _, a := range m.cib.Attr {
			SetAttr(gen, attrName(a), a.Value)
		}
		if update != nil {
			n.CreateElement("cib_update").AddChild(update.Copy())
		}
		if result != nil {
			n.CreateElement("cib_update_result").AddChild(result.Copy())
		}
		out = append(out, Message{ClientID: c.ID, Event: true, Flags: ipcServerEvent | ipcServerFree, XML: n})
	}
	return out
}

// replaceNotify is cib_replace_notify for clients subscribed to
// cib_refresh_notify.
func (m *Manager) replaceNotify(old *etree.Element, res Result) []Message {
	var out []Message
	for _, c := range m.sortedClients() {
		if c.Notify&NotifyReplace == 0 {
			continue
		}
		n := etree.NewElement("notify-replace")
		SetAttr(n, "t", "cib_notify")
		SetAttr(n, "subt", "cib_refresh_notify")
		SetAttr(n, "cib_op", OpReplace)
		SetAttr(n, "cib_rc", strconv.Itoa(int(res.Rc)))
		// nodes|alerts|status may all have changed; we do not narrow it.
		SetAttr(n, "cib_change_section", "7")
		gen := n.CreateElement("cib-replace-generation").CreateElement("generation_tuple")
		for _, a := range m.cib.Attr {
			SetAttr(gen, attrName(a), a.Value)
		}
		out = append(out, Message{ClientID: c.ID, Event: true, Flags: ipcServerEvent | ipcServerFree, XML: n})
	}
	return out
}

func (m *Manager) sortedClients() []*Client {
	out := make([]*Client, 0, len(m.clients))
	for _, c := range m.clients {
		out = append(out, c)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
