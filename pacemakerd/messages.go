// Package pacemakerd is the logic of Pacemaker's launcher (Pacemaker 2.1.5
// daemons/pacemakerd): the answers it gives on its "pacemakerd" IPC
// service (ping → state, quit → shutdown; pcmkd_messages.c), the table of
// subdaemons it starts in order and stops in reverse (pcmkd_subdaemons.c),
// the supervisor that watches and respawns them, and the pacemaker.log line
// format its messages are written in.
//
// The request handling is a pure function of the request, the launcher's
// state and the time given; the supervisor is the driver that owns the
// child processes.
package pacemakerd

import (
	"strconv"

	"github.com/beevik/etree"

	"ringmaster/cib"
)

// Launcher states as the ping reports them (XML_PING_ATTR_PACEMAKERDSTATE_*).
const (
	StateInit             = "init"
	StateStartingDaemons  = "starting_daemons"
	StateWaitForPing      = "wait_for_ping"
	StateRunning          = "running"
	StateShuttingDown     = "shutting_down"
	StateShutdownComplete = "shutdown_complete"
	StateRemote           = "remote"
)

// FeatureSet is CRM_FEATURE_SET of Pacemaker 2.1.5.
const FeatureSet = "3.16.1"

// Tasks pacemakerd answers (crm_task).
const (
	TaskPing        = "ping"
	TaskQuit        = "quit"
	TaskRmNodeCache = "rm_node_cache"
)

// Exit codes carried in acks and replies.
const (
	exOK             = 0
	exInvalidParam   = 2
	exInsufficient   = 4
	exIndeterminate  = 112
	ipcServerEvent   = 0x10000
	ipcServerFree    = 0x20000
	ipcClientRespond = 0x200
)

// Answer is what the launcher sends back for one request: an ack as the
// IPC response (when the client waits for one), then an optional reply
// as an event, and whether to start shutting down.
type Answer struct {
	Ack      *etree.Element
	AckFlags uint32
	Reply    *etree.Element // event, flags ReplyFlags
	Shutdown bool
}

// ReplyFlags are the IPC flags of reply events (crm_ipc_server_event |
// crm_ipc_server_free).
const ReplyFlags = ipcServerEvent | ipcServerFree

// Handle answers one request. state is the launcher's current state,
// progress the time (seconds since the epoch) of the last subdaemon
// check (subdaemon_check_progress), privileged whether the client runs as
// root or hacluster, flags the request's IPC flags.
func Handle(req *etree.Element, flags uint32, state string, progress int64, privileged bool) Answer {
	ackFlags := flags | ipcServerFree
	task := cib.AttrOr(req, "crm_task", "")
	switch task {
	case TaskPing:
		ping := etree.NewElement("ping_response")
		cib.SetAttr(ping, "crm_subsystem", cib.AttrOr(req, "crm_sys_to", ""))
		cib.SetAttr(ping, "pacemakerd_state", state)
		cib.SetAttr(ping, "crm-timestamp", strconv.FormatInt(progress, 10))
		cib.SetAttr(ping, "result", "ok")
		return Answer{Ack: ackLine("handle_ping_request", "52", exIndeterminate), AckFlags: ackFlags,
			Reply: reply(req, ping, "handle_ping_request")}
	case TaskQuit:
		sd := etree.NewElement("shutdown")
		status := exOK
		if !privileged {
			status = exInsufficient
		}
		cib.SetAttr(sd, "op_status", strconv.Itoa(status))
		return Answer{Ack: ack("handle_shutdown_request", exIndeterminate), AckFlags: ackFlags,
			Reply: reply(req, sd, "handle_shutdown_request"), Shutdown: privileged}
	case TaskRmNodeCache:
		// No peer cache is kept (handle_node_cache_request).
		return Answer{Ack: ack("handle_node_cache_request", exOK), AckFlags: ackFlags}
	}
	return Answer{Ack: ack("handle_unknown_request", exInvalidParam), AckFlags: ackFlags}
}

func ack(function string, status int) *etree.Element { return ackLine(function, "0", status) }

// ackLine is pcmk__ipc_create_ack; line is the C source line Pacemaker
// reports (kept for the ping so replies match the captured ones).
func ackLine(function, line string, status int) *etree.Element {
	a := etree.NewElement("ack")
	cib.SetAttr(a, "function", function)
	cib.SetAttr(a, "line", line)
	cib.SetAttr(a, "status", strconv.Itoa(status))
	return a
}

// reply is create_reply_adv: from and to reversed, the data in crm_xml.
func reply(req, data *etree.Element, origin string) *etree.Element {
	r := etree.NewElement("create_reply_adv")
	cib.SetAttr(r, "origin", origin)
	cib.SetAttr(r, "t", "crmd")
	cib.SetAttr(r, "version", FeatureSet)
	cib.SetAttr(r, "subt", "response")
	set := func(name, from string) {
		if v, ok := cib.Attr(req, from); ok {
			cib.SetAttr(r, name, v)
		}
	}
	set("reference", "reference")
	set("crm_task", "crm_task")
	set("crm_sys_to", "crm_sys_from")
	set("crm_sys_from", "crm_sys_to")
	if v := cib.AttrOr(req, "crm_host_from", ""); v != "" {
		cib.SetAttr(r, "crm_host_to", v)
	}
	r.CreateElement("crm_xml").AddChild(data)
	return r
}

// WantsResponse reports whether the client waits for an IPC response.
func WantsResponse(flags uint32) bool { return flags&ipcClientRespond != 0 }
