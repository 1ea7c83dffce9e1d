package cib

import (
	"strconv"

	"github.com/beevik/etree"
)

// Cluster mode, Pacemaker 2.1.5's default ("non-legacy") replication
// (shared/docs/pcmk-cpg-wire.md §5.2, §6): a modifying request from a local
// client is not applied; it is multicast to the cib CPG group with
// cib_delegated_from set, and every node — the originator included —
// applies it when CPG delivers it, so all nodes apply the same requests in
// totem's agreed order. The originator answers its waiting client then.
// Resync is by full replace (<copy cib_op="cib_replace"
// original_cib_op="cib_sync" cib_update="true" digest=…>), sent by the DC's
// CIB when its controller asks (cib_sync) and checked by digest and
// version on receipt; the primary's ping compares digests. Patchsets never
// travel between nodes in this mode, and we never emit cib_update="true"
// on anything but a replace (it would flip 2.1.5 peers into legacy mode).

// PeerMessage is one message for the cib CPG group: To == "" means all.
type PeerMessage struct {
	To  string
	XML *etree.Element
}

type pendingKey struct{ client, call string }

type pendingCall struct {
	reqID int32
	opts  CallOpt
}

// forward is forward_request: stamp the request and send it to the group
// (or to cib_host only).
func (m *Manager) forward(c *Client, reqID int32, req *etree.Element) Effects {
	fw := req.Copy()
	user := effectiveUser(c, AttrOr(req, "cib_user", ""))
	SetAttr(fw, "cib_clientid", c.ID)
	SetAttr(fw, "cib_clientname", c.Name)
	SetAttr(fw, "acl_target", user)
	SetAttr(fw, "cib_user", user)
	SetAttr(fw, "src", m.NodeName)
	SetAttr(fw, "cib_delegated_from", m.NodeName)
	opts := CallOpt(uint32(AttrInt(req, "cib_callopt", 0)))
	if opts&OptDiscardReply == 0 {
		m.pending[pendingKey{c.ID, AttrOr(req, "cib_callid", "")}] = pendingCall{reqID: reqID, opts: opts}
	}
	return Effects{CPG: []PeerMessage{{To: AttrOr(req, "cib_host", ""), XML: fw}}}
}

// Deliver handles a message CPG delivered from node from (our own
// multicasts included), in agreed order.
func (m *Manager) Deliver(from string, msg *etree.Element) Effects {
	if msg == nil {
		return Effects{}
	}
	op := AttrOr(msg, "cib_op", "")
	switch {
	case msg.Tag == "cib_command" && modifies(op):
		return m.deliverRequest(msg)
	case msg.Tag == "cib_command" && op == OpSyncOne:
		// A DC asks us for our CIB: send it to the asker.
		return Effects{CPG: []PeerMessage{{To: from, XML: m.syncCopy(msg, AttrOr(msg, "cib_clientid", ""), AttrOr(msg, "cib_clientname", ""), from)}}}
	case msg.Tag == "copy" && op == OpReplace:
		// update-origin comes from the message's src, which a sync copy
		// does not carry (Pacemaker then removes the attribute).
		_, eff := m.apply(msg, AttrOr(msg, "cib_user", ""), AttrOr(msg, "src", ""), AttrOr(msg, "cib_clientname", ""), AttrOr(msg, "cib_update", "") == "true")
		return eff
	case msg.Tag == "ping" && op == "ping":
		return Effects{CPG: []PeerMessage{{To: from, XML: m.pingReply(msg, from)}}}
	case msg.Tag == "cib-reply" && op == "ping":
		return m.pingResult(from, msg)
	}
	return Effects{}
}

func (m *Manager) deliverRequest(msg *etree.Element) Effects {
	if m.Status != OK {
		return Effects{}
	}
	res, eff := m.apply(msg, AttrOr(msg, "cib_user", ""), AttrOr(msg, "src", ""), AttrOr(msg, "cib_clientname", ""), false)
	if AttrOr(msg, "cib_delegated_from", "") != m.NodeName {
		return eff
	}
	key := pendingKey{AttrOr(msg, "cib_clientid", ""), AttrOr(msg, "cib_callid", "")}
	call, ok := m.pending[key]
	if !ok {
		return eff
	}
	delete(m.pending, key)
	if _, alive := m.clients[key.client]; alive {
		eff.Send = append(eff.Send, m.reply(key.client, call.reqID, msg, call.opts, res))
	}
	return eff
}

// syncCopy is sync_our_cib: the whole CIB as a replace for replyTo.
func (m *Manager) syncCopy(req *etree.Element, clientID, clientName, replyTo string) *etree.Element {
	cp := etree.NewElement("copy")
	SetAttr(cp, "__name__", "cib_command")
	SetAttr(cp, "t", "cib")
	SetAttr(cp, "cib_clientid", clientID)
	SetAttr(cp, "cib_callopt", AttrOr(req, "cib_callopt", "0"))
	SetAttr(cp, "cib_callid", AttrOr(req, "cib_callid", "0"))
	SetAttr(cp, "cib_op", OpReplace)
	if v, ok := Attr(req, "cib_async_id"); ok {
		SetAttr(cp, "cib_async_id", v)
	}
	SetAttr(cp, "cib_clientname", clientName)
	if v, ok := Attr(req, "cib_user"); ok {
		SetAttr(cp, "cib_user", v)
	}
	SetAttr(cp, "cib_isreplyto", replyTo)
	SetAttr(cp, "original_cib_op", AttrOr(req, "cib_op", OpSync))
	SetAttr(cp, "cib_update", "true")
	SetAttr(cp, "crm_feature_set", FeatureSet)
	SetAttr(cp, "digest", DigestVersioned(m.cib, FeatureSet))
	cp.CreateElement("cib_calldata").AddChild(m.cib.Copy())
	return cp
}

// Ping is the primary's digest check, run by the driver 5 seconds after
// the last change (cib_digester_cb): a ping to all nodes.
func (m *Manager) Ping() Effects {
	if !m.Cluster || !m.Primary {
		return Effects{}
	}
	m.pingID++
	m.changed = false
	p := etree.NewElement("ping")
	SetAttr(p, "t", "cib")
	SetAttr(p, "cib_op", "ping")
	SetAttr(p, "cib_ping_id", strconv.Itoa(m.pingID))
	SetAttr(p, "crm_feature_set", FeatureSet)
	return Effects{CPG: []PeerMessage{{XML: p}}}
}

func (m *Manager) pingReply(ping *etree.Element, primary string) *etree.Element {
	r := etree.NewElement("cib-reply")
	SetAttr(r, "t", "cib")
	SetAttr(r, "cib_op", "ping")
	SetAttr(r, "cib_callopt", "0")
	SetAttr(r, "cib_rc", "0")
	SetAttr(r, "cib_isreplyto", primary)
	pr := r.CreateElement("cib_calldata").CreateElement("ping_response")
	SetAttr(pr, "crm_feature_set", FeatureSet)
	SetAttr(pr, "digest", DigestVersioned(m.cib, FeatureSet))
	SetAttr(pr, "cib_ping_id", AttrOr(ping, "cib_ping_id", "0"))
	pr.CreateElement("cib_calldata").AddChild(shallow(m.cib))
	return r
}

// pingResult: a node whose digest differs, when nothing changed since the
// ping, gets our CIB (cib_process_ping).
func (m *Manager) pingResult(from string, reply *etree.Element) Effects {
	if !m.Primary || m.changed {
		return Effects{}
	}
	pr := FirstChild(FirstChild(reply, "cib_calldata"), "ping_response")
	if pr == nil || AttrOr(pr, "cib_ping_id", "") != strconv.Itoa(m.pingID) {
		return Effects{}
	}
	if AttrOr(pr, "digest", "") == DigestVersioned(m.cib, FeatureSet) {
		return Effects{}
	}
	req := etree.NewElement("cib_command")
	SetAttr(req, "cib_op", OpSync)
	return Effects{CPG: []PeerMessage{{To: from, XML: m.syncCopy(req, "", "", m.NodeName)}}}
}
