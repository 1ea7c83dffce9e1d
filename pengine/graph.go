package pengine

import (
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

func (c *cluster) shouldAddAction(a *Action) bool {
	if !a.has(aRunnable) {
		return false
	}
	if a.has(aOptional) && !a.has(aPrintAlways) {
		return false
	}
	if a.Rsc != nil && !a.Rsc.Managed && a.Task != "monitor" {
		if !(a.Task == "cancel" && a.Meta["interval"] != "" && a.Meta["interval"] != "0") {
			return false
		}
	}
	if a.has(aPseudo) || a.Task == "stonith" || a.Task == "do_shutdown" {
		return true
	}
	if a.Node == nil {
		return false
	}
	if a.has(aDC) {
		return true
	}
	if a.Node.isGuest() && !a.Node.RemoteRequiresReset {
		return true
	}
	if !a.Node.Online || a.Node.Unclean {
		return false
	}
	return true
}

func canChange(e *orderEdge) bool {
	return e.Type&^(orderImpliesFirstPrinted|orderImpliesThenPrinted|orderOptional) != 0
}

func (c *cluster) shouldAddInput(a *Action, e *orderEdge) bool {
	in := e.Action
	if e.dumped {
		return true
	}
	switch {
	case e.Type == orderNone:
		return false
	case !in.has(aRunnable) && !canChange(e):
		return false
	case !in.has(aRunnable) && e.Type&orderOneOrMore != 0:
		return false
	case e.Type&orderImpliesFirstMigratable != 0 && !in.has(aRunnable):
		return false
	case e.Type&orderApplyFirstNonMigratable != 0 && in.has(aMigrateRunnable):
		return false
	case e.Type == orderOptional && in.has(aMigrateRunnable) && strings.HasSuffix(in.Key, "_stop_0"):
		return false
	case e.Type == orderLoad:
		return false
	case e.Type == orderAntiColocation:
		if in.Node != nil && a.Node != nil && in.Node != a.Node {
			e.Type = orderNone
			return false
		}
		if in.has(aOptional) {
			e.Type = orderNone
			return false
		}
	case in.Rsc != nil && in.Rsc != a.Rsc && in.Rsc.Failed && !in.Rsc.Managed &&
		strings.HasSuffix(in.Key, "_stop_0") && a.Rsc != nil && a.Rsc.Kind == KindClone:
		return false
	case in.has(aOptional) && !in.has(aPrintAlways) && !in.has(aDumped) && !c.shouldAddAction(in):
		return false
	}
	return true
}

// Graph is the transition graph.
type Graph struct {
	Synapses                     []*Synapse
	ClusterDelay, StonithTimeout string
	FailedStartOffset            string
	BatchLimit                   string
}

// Synapse is one graph entry: an action and the actions it waits for.
type Synapse struct {
	ID       int
	Priority int
	Action   *Action
	Inputs   []*Action
}

func (c *cluster) buildGraph() *Graph {
	g := &Graph{ClusterDelay: c.opt("cluster-delay"), StonithTimeout: c.opt("stonith-timeout"),
		FailedStartOffset: "INFINITY", BatchLimit: c.opt("batch-limit")}
	if !c.startFailureFatal {
		g.FailedStartOffset = "1"
	}
	add := func(a *Action) {
		// dedup inputs
		if !a.has(aDedup) {
			seen := map[*Action]*orderEdge{}
			var out []*orderEdge
			for _, e := range a.Before {
				if p, ok := seen[e.Action]; ok {
					p.Type |= e.Type
					continue
				}
				seen[e.Action] = e
				out = append(out, e)
			}
			a.Before = out
			a.set(aDedup)
		}
		if a.has(aDumped) || !c.shouldAddAction(a) {
			return
		}
		a.set(aDumped)
		s := &Synapse{ID: len(g.Synapses), Action: a}
		if a.Rsc != nil {
			s.Priority = a.Rsc.Priority
		}
		if a.Priority > s.Priority {
			s.Priority = a.Priority
		}
		for _, e := range a.Before {
			if c.shouldAddInput(a, e) {
				e.dumped = true
				s.Inputs = append(s.Inputs, e.Action)
			}
		}
		g.Synapses = append(g.Synapses, s)
	}
	var walk func(r *Resource)
	walk = func(r *Resource) {
		if r.Kind == KindClone {
			// clone_expand first re-summarises every clone action from its
			// instances: one whose instances all became unrunnable late
			// (after its own orderings were settled) is unrunnable too.
			for _, a := range r.Actions {
				c.actionFlags(a, nil)
			}
			for _, t := range []string{"start", "stop", "promote", "demote"} {
				c.createNotifications(r, r.notif[t])
			}
			for _, ch := range r.Children {
				walk(ch)
			}
			for _, a := range r.Actions {
				add(a)
			}
			return
		}
		for _, a := range r.Actions {
			add(a)
		}
		for _, ch := range r.Children {
			walk(ch)
		}
	}
	for _, r := range c.resources {
		walk(r)
	}
	for _, a := range c.actions {
		if a.Rsc == nil {
			add(a)
		}
	}
	return g
}

func metaName(k string) string {
	return "CRM_meta_" + strings.ReplaceAll(k, "-", "_")
}

// opKeyForGraph is the operation_key written for an action.
func (a *Action) graphKey() string {
	if a.Rsc != nil && a.Rsc.CloneName != "" && a.Rsc.CloneName != a.Rsc.ID && a.Rsc.Kind == KindPrimitive && !a.Rsc.Unique {
		return a.Key
	}
	return a.Key
}

func (c *cluster) actionElement(parent *etree.Element, a *Action, details bool) {
	var tag string
	switch {
	case a.Task == "stonith":
		if a.has(aPseudo) {
			tag = "pseudo_event"
		} else {
			tag = "crm_event"
		}
	case a.Task == "do_shutdown" || a.Task == "clear_failcount":
		tag = "crm_event"
	case a.Task == "lrm_delete":
		tag = "crm_event"
	case a.has(aPseudo):
		tag = "pseudo_event"
	default:
		tag = "rsc_op"
	}
	e := parent.CreateElement(tag)
	e.CreateAttr("id", strconv.Itoa(a.ID))
	e.CreateAttr("operation", a.Task)
	key := a.Key
	if a.Rsc != nil && a.Rsc.CloneName != "" {
		// clone_op_key: the executor knows the instance by its history name
		task := a.Task
		if a.CancelTask != "" {
			task = a.CancelTask
		}
		iv, _ := strconv.Atoi(a.Meta["interval"])
		if a.Task == "notify" {
			key = a.Rsc.CloneName + "_" + a.Meta["notify_type"] + "_notify_" + a.Meta["notify_operation"] + "_0"
		} else {
			key = opKeyFor(a.Rsc.CloneName, task, iv)
		}
	}
	e.CreateAttr("operation_key", key)
	needsNode := tag != "pseudo_event" || a.Task == "stonith"
	if needsNode && a.Node != nil {
		e.CreateAttr("on_node", a.Node.Uname)
		e.CreateAttr("on_node_uuid", a.Node.ID)
	}
	if !details {
		return
	}
	if a.Rsc != nil && !a.has(aPseudo) {
		p := e.CreateElement("primitive")
		r := a.Rsc
		if r.Orphan && r.CloneName != "" {
			p.CreateAttr("id", r.CloneName)
			p.CreateAttr("long-id", r.ID)
		} else if !r.Unique {
			p.CreateAttr("id", r.XMLID)
			if r.CloneName != "" && r.CloneName != r.XMLID {
				p.CreateAttr("long-id", r.CloneName)
			} else {
				p.CreateAttr("long-id", r.ID)
			}
		} else {
			p.CreateAttr("id", r.ID)
		}
		if r.Class != "" {
			p.CreateAttr("class", r.Class)
		}
		if r.Provider != "" {
			p.CreateAttr("provider", r.Provider)
		}
		if r.Type != "" {
			p.CreateAttr("type", r.Type)
		}
	}
	attrs := map[string]string{"crm_feature_set": "3.16.2"}
	for k, v := range a.Extra {
		attrs[k] = v
	}
	if a.Rsc != nil && a.Rsc.Kind == KindPrimitive {
		for k, v := range a.Rsc.Params {
			attrs[k] = v
		}
	}
	for k, v := range a.Meta {
		attrs[metaName(k)] = v
	}
	if needsNode && a.Node != nil {
		attrs["CRM_meta_on_node"] = a.Node.Uname
		attrs["CRM_meta_on_node_uuid"] = a.Node.ID
	}
	if a.Rsc != nil {
		for p := a.Rsc; p != nil; p = p.Parent {
			if p.Kind == KindClone {
				attrs["CRM_meta_clone_max"] = strconv.Itoa(p.CloneMax)
				attrs["CRM_meta_clone_node_max"] = strconv.Itoa(p.CloneNodeMax)
				attrs["CRM_meta_globally_unique"] = strconv.FormatBool(p.Unique)
				attrs["CRM_meta_notify"] = strconv.FormatBool(p.Notify)
				if p.Promotable {
					attrs["CRM_meta_promoted_max"] = strconv.Itoa(p.PromotedMax)
					attrs["CRM_meta_promoted_node_max"] = strconv.Itoa(p.PromotedNodeMax)
					attrs["CRM_meta_master_max"] = strconv.Itoa(p.PromotedMax)
					attrs["CRM_meta_master_node_max"] = strconv.Itoa(p.PromotedNodeMax)
				}
			}
			if v, ok := p.Meta["clone"]; ok && p.Kind == KindPrimitive {
				attrs["CRM_meta_clone"] = v
			}
		}
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ae := e.CreateElement("attributes")
	for _, k := range keys {
		if validXMLName(k) {
			ae.CreateAttr(k, attrs[k])
		}
	}
	// hash2smartfield: names that cannot be attributes become <param> children
	for _, k := range keys {
		if !validXMLName(k) {
			p := ae.CreateElement("param")
			p.CreateAttr("name", k)
			p.CreateAttr("value", attrs[k])
		}
	}
	if a.Task == "stonith" && a.Node != nil && (a.Meta["stonith_action"] == "reboot" || a.Meta["stonith_action"] == "off") || a.Task == "do_shutdown" {
		d := e.CreateElement("downed")
		d.CreateElement("node").CreateAttr("id", a.Node.ID)
	}
}

// XML renders the graph as Pacemaker writes it.
func (c *cluster) graphXML(g *Graph) *etree.Document {
	doc := etree.NewDocument()
	root := doc.CreateElement("transition_graph")
	root.CreateAttr("cluster-delay", g.ClusterDelay)
	root.CreateAttr("stonith-timeout", g.StonithTimeout)
	root.CreateAttr("failed-stop-offset", "INFINITY")
	root.CreateAttr("failed-start-offset", g.FailedStartOffset)
	root.CreateAttr("batch-limit", g.BatchLimit)
	root.CreateAttr("transition_id", "0")
	for _, s := range g.Synapses {
		se := root.CreateElement("synapse")
		se.CreateAttr("id", strconv.Itoa(s.ID))
		if s.Priority > 0 {
			se.CreateAttr("priority", strconv.Itoa(s.Priority))
		}
		c.actionElement(se.CreateElement("action_set"), s.Action, true)
		in := se.CreateElement("inputs")
		for _, i := range s.Inputs {
			c.actionElement(in.CreateElement("trigger"), i, false)
		}
	}
	doc.Indent(2)
	return doc
}

func validXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i, ch := range s {
		switch {
		case ch == '_' || ch == ':' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch > 127:
		case i > 0 && (ch == '-' || ch == '.' || ch >= '0' && ch <= '9'):
		default:
			return false
		}
	}
	return true
}
