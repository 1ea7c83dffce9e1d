package crmmon

import (
	"strconv"
	"strings"
	"time"

	"ringmaster/pengine"
	"ringmaster/tools/pcmkout"
)

// xmlRenderer builds the XML format (cluster_status_xml); list titles
// become the element names --xml-substitute gives them.
type xmlRenderer struct {
	s   *Status
	o   Options
	now time.Time
}

func btoa(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (r *xmlRenderer) render() []*pcmkout.Node {
	var out []*pcmkout.Node
	s, v := r.s, r.s.View
	sec := r.o.Sections
	if has(sec, SecStack|SecDC|SecTimes|SecCounts|SecOptions) {
		sum := pcmkout.NewNode("summary")
		if has(sec, SecStack) {
			sum.AddNew("stack", "type", s.Stack)
		}
		if has(sec, SecDC) {
			if v.DC != nil {
				sum.AddNew("current_dc", "present", "true", "version", s.DCVersion, "name", v.DC.Name,
					"id", v.DC.ID, "with_quorum", btoa(isTrue(s.HaveQuorum)), "mixed_version", btoa(mixedVersion(v)))
			} else {
				sum.AddNew("current_dc", "present", "false")
			}
		}
		if has(sec, SecTimes) {
			sum.AddNew("last_update", "time", r.now.Local().Format(ctime))
			sum.AddNew("last_change", "time", s.LastWritten, "user", s.User, "client", s.Client, "origin", s.Origin)
		}
		if has(sec, SecCounts) {
			sum.AddNew("nodes_configured", "number", strconv.Itoa(len(v.Nodes)))
			sum.AddNew("resources_configured", "number", strconv.Itoa(s.NumInstances),
				"disabled", strconv.Itoa(s.Disabled), "blocked", strconv.Itoa(s.Blocked))
		}
		if has(sec, SecOptions) {
			stTimeout := "60000"
			if t, ok := v.Options["stonith-timeout"]; ok {
				if ms, ok := parseMs(t); ok {
					stTimeout = strconv.Itoa(ms)
				}
			}
			pfd := "0"
			if t, ok := v.Options["priority-fencing-delay"]; ok {
				if ms, ok := parseMs(t); ok {
					pfd = strconv.Itoa(ms / 1000 * 1000)
				}
			}
			sum.AddNew("cluster_options", "stonith-enabled", btoa(v.StonithEnabled),
				"symmetric-cluster", btoa(v.Symmetric), "no-quorum-policy", v.NoQuorumPolicy,
				"maintenance-mode", btoa(v.Maintenance), "stop-all-resources", btoa(v.StopAll),
				"stonith-timeout-ms", stTimeout, "priority-fencing-delay-ms", pfd)
		}
		out = append(out, sum)
	}
	if has(sec, SecNodes) {
		nodes := pcmkout.NewNode("nodes")
		for _, n := range v.Nodes {
			if !inListFold(n.Name, r.o.OnlyNode) {
				continue
			}
			nodes.Add(r.node(n))
		}
		out = append(out, nodes)
	}
	if has(sec, SecResources) {
		if n := r.resourceList(); n != nil {
			out = append(out, n)
		}
	}
	if has(sec, SecAttributes) {
		if n := r.nodeAttributes(); n != nil {
			out = append(out, n)
		}
	}
	if has(sec, SecOperations|SecFailcounts) {
		if n := r.nodeSummary(); n != nil {
			out = append(out, n)
		}
	}
	if has(sec, SecFailures) && len(s.Failed) > 0 {
		if n := r.failures(); n != nil {
			out = append(out, n)
		}
	}
	if has(sec, SecBans) {
		if n := r.bans(); n != nil {
			out = append(out, n)
		}
	}
	return out
}

// parseMs reads a duration as crm_get_msec does (plain numbers are seconds).
func parseMs(s string) (int, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	mult := 1000
	for _, u := range []struct {
		suf string
		m   int
	}{{"ms", 1}, {"msec", 1}, {"s", 1000}, {"sec", 1000}, {"m", 60000}, {"min", 60000}, {"h", 3600000}, {"hr", 3600000}} {
		if strings.HasSuffix(s, u.suf) {
			if _, err := strconv.Atoi(strings.TrimSuffix(s, u.suf)); err == nil {
				s, mult = strings.TrimSuffix(s, u.suf), u.m
				break
			}
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return v * mult, true
}

func (r *xmlRenderer) node(n *pengine.NodeView) *pcmkout.Node {
	typ := n.Type
	if typ == "" || typ == "normal" {
		typ = "member"
	}
	x := pcmkout.NewNode("node", "name", n.Name, "id", n.ID, "online", btoa(n.Online),
		"standby", btoa(n.Standby), "standby_onfail", btoa(n.StandbyOnFail),
		"maintenance", btoa(n.Maintenance), "pending", btoa(n.Pending), "unclean", btoa(n.Unclean),
		"health", "green")
	if fs := featureSet(n); fs != "" {
		x.Set("feature_set", fs)
	}
	for _, kv := range [][2]string{{"shutdown", btoa(n.Shutdown)}, {"expected_up", btoa(n.ExpectedUp)},
		{"is_dc", btoa(n.IsDC)}, {"resources_running", strconv.Itoa(len(n.Running))}, {"type", typ}} {
		x.Set(kv[0], kv[1])
	}
	if n.Guest {
		x.Set("id_as_resource", n.GuestContainer)
	}
	if has(r.o.Show, ShowByNode) {
		show := r.o.Show | ShowRscOnly
		for _, rs := range n.Running {
			r.resource(x, rs, show, r.o.OnlyNode, r.o.OnlyRsc)
		}
	}
	return x
}

func (r *xmlRenderer) resourceList() *pcmkout.Node {
	show := r.o.Show &^ ShowBrief
	if has(show, ShowByNode) && !has(show, ShowInactive) {
		return nil
	}
	list := pcmkout.NewNode("resources")
	reached := false
	for _, x := range r.s.View.Resources {
		isActive := active(x, true)
		partial := active(x, false)
		switch {
		case x.Orphan && !isActive:
			continue
		case has(show, ShowByNode):
			if isActive {
				continue
			}
		case !partial && !has(show, ShowInactive):
			continue
		case partial && !runningOnAny(x, r.o.OnlyNode):
			continue
		}
		// the list header is opened for the first resource that gets
		// this far, whether or not its message prints anything
		reached = true
		r.resource(list, x, show, r.o.OnlyNode, r.o.OnlyRsc)
	}
	if !reached {
		return nil
	}
	return list
}

func (r *xmlRenderer) resource(parent *pcmkout.Node, x *pengine.RscView, show uint32, onlyNode, onlyRsc []string) {
	switch x.Kind {
	case "group":
		r.group(parent, x, show, onlyNode, onlyRsc)
	case "clone":
		r.clone(parent, x, show, onlyNode, onlyRsc)
	case "bundle":
		r.bundle(parent, x, show, onlyNode, onlyRsc)
	default:
		r.primitive(parent, x, show, onlyRsc)
	}
}

func (r *xmlRenderer) primitive(parent *pcmkout.Node, x *pengine.RscView, show uint32, onlyRsc []string) {
	if isFiltered(x, onlyRsc, true) {
		return
	}
	ra := attr(x.XML, "class")
	if p := attr(x.XML, "provider"); p != "" {
		ra += ":" + p
	}
	ra += ":" + attr(x.XML, "type")
	st := ""
	if has(show, ShowPending) {
		st = pendingState(x)
	}
	if st == "" {
		st = displayableRole(x)
	}
	n := parent.AddNew("resource", "id", printableID(x), "resource_agent", ra, "role", st)
	if tr, ok := x.Meta["target-role"]; ok {
		n.Set("target_role", tr)
	}
	n.Set("active", btoa(active(x, true)))
	n.Set("orphaned", btoa(x.Orphan))
	n.Set("blocked", btoa(x.Blocked))
	n.Set("managed", btoa(x.Managed))
	n.Set("failed", btoa(x.Failed))
	n.Set("failure_ignored", btoa(x.FailureIgnored))
	n.Set("nodes_running_on", strconv.Itoa(len(x.RunningOn)))
	if has(show, ShowPending) && x.PendingTask == "monitor" {
		n.Set("pending", "Monitoring")
	}
	for _, on := range x.RunningOn {
		n.AddNew("node", "name", on.Name, "id", on.ID, "cached", btoa(on.Online))
	}
}

func (r *xmlRenderer) group(parent *pcmkout.Node, x *pengine.RscView, show uint32, onlyNode, onlyRsc []string) {
	parentPasses := inList(printableID(x), onlyRsc) || (strings.Contains(x.ID, ":") && inList(x.ID, onlyRsc))
	if isFiltered(x, onlyRsc, true) {
		return
	}
	var g *pcmkout.Node
	star := len(onlyRsc) == 1 && onlyRsc[0] == "*"
	for _, c := range x.Children {
		cf := isFiltered(c, onlyRsc, false)
		ca := active(c, false)
		si := has(show, ShowInactive)
		if !((!star && !cf) || (!cf && (ca || si)) || (parentPasses && (ca || si))) {
			continue
		}
		if g == nil {
			g = parent.AddNew("group", "id", x.ID, "number_resources", strconv.Itoa(len(x.Children)),
				"managed", btoa(x.Managed), "disabled", btoa(isDisabled(x)))
		}
		r.resource(g, c, show, onlyNode, onlyRsc)
	}
}

func (r *xmlRenderer) clone(parent *pcmkout.Node, x *pengine.RscView, show uint32, onlyNode, onlyRsc []string) {
	if isFiltered(x, onlyRsc, true) {
		return
	}
	printEverything := inList(printableID(x), onlyRsc) || (strings.Contains(x.ID, ":") && inList(x.ID, onlyRsc))
	var c *pcmkout.Node
	for _, ch := range x.Children {
		if filteredByNode(ch, onlyNode) || isFiltered(ch, onlyRsc, printEverything) {
			continue
		}
		if c == nil {
			c = parent.AddNew("clone", "id", x.ID, "multi_state", btoa(x.Promotable), "unique", btoa(x.Unique),
				"managed", btoa(x.Managed), "disabled", btoa(isDisabled(x)), "failed", btoa(x.Failed),
				"failure_ignored", btoa(x.FailureIgnored))
			if tr := configuredRole(x); tr != "" {
				c.Set("target_role", tr)
			}
		}
		r.resource(c, ch, show, onlyNode, []string{"*"})
	}
}

func (r *xmlRenderer) nodeAttributes() *pcmkout.Node {
	list := pcmkout.NewNode("node_attributes")
	for _, n := range r.s.View.Nodes {
		if !n.Online {
			continue
		}
		names := visibleAttrs(n)
		if len(names) == 0 || !inListFold(n.Name, r.o.OnlyNode) {
			continue
		}
		nx := list.AddNew("node", "name", n.Name)
		for _, name := range names {
			a := nx.AddNew("attribute", "name", name, "value", n.Attrs[name])
			if exp, ok := pingExpected(n, name); ok {
				a.Set("expected", strconv.Itoa(exp))
			}
		}
	}
	if len(list.Children) == 0 {
		return nil
	}
	return list
}

func (r *xmlRenderer) nodeSummary() *pcmkout.Node {
	list := pcmkout.NewNode("node_history")
	v := r.s.View
	ops := has(r.o.Sections, SecOperations)
	any := false
	for _, ns := range nodeStates(r.s.CIB) {
		n := nodeByID(v, attr(ns, "id"))
		if n == nil || !n.Online || !inListFold(n.Name, r.o.OnlyNode) {
			continue
		}
		any = true // the list header comes with the first online node
		var nx *pcmkout.Node
		for _, lr := range lrmResources(ns) {
			id := attr(lr, "id")
			x := findRsc(v, id)
			if historyFiltered(x, r.o.OnlyRsc) {
				continue
			}
			fc, last := failcount(n, x)
			var opl = opList(lr)
			if !ops {
				if fc <= 0 {
					continue
				}
			} else if len(opl) == 0 {
				continue
			}
			if nx == nil {
				nx = list.AddNew("node", "name", n.Name)
			}
			name := id
			if ops && x != nil {
				name = printableID(x)
			}
			h := nx.AddNew("resource_history", "id", name)
			if x == nil {
				h.Set("orphan", "true")
			} else if ops || fc != 0 || last > 0 {
				h.Set("orphan", "false")
				h.Set("migration-threshold", strconv.Itoa(migrationThreshold(x)))
				if fc > 0 {
					h.Set("fail-count", strconv.Itoa(fc))
				}
				if last > 0 {
					h.Set("last-failure", epochStr(last))
				}
			}
			if !ops {
				continue
			}
			for _, op := range opl {
				task := attr(op, "operation")
				iv := attr(op, "interval")
				if task == "monitor" && (iv == "" || iv == "0") {
					task = "probe"
				}
				rc := minZero(attr(op, "rc-code"))
				o := h.AddNew("operation_history", "call", attr(op, "call-id"), "task", task,
					"rc", strconv.Itoa(rc), "rc_text", pengine.OCFExitText(rc))
				if iv != "" && iv != "0" {
					o.Set("interval", iv+"ms")
				}
				if has(r.o.Show, ShowTiming) {
					if t, err := strconv.ParseInt(attr(op, "last-rc-change"), 10, 64); err == nil && t > 0 {
						o.Set("last-rc-change", epochStr(t))
					}
					if a := op.SelectAttr("exec-time"); a != nil {
						o.Set("exec-time", a.Value+"ms")
					}
					if a := op.SelectAttr("queue-time"); a != nil {
						o.Set("queue-time", a.Value+"ms")
					}
				}
			}
		}
	}
	if !any {
		return nil
	}
	return list
}

func (r *xmlRenderer) failures() *pcmkout.Node {
	list := pcmkout.NewNode("failures")
	for _, f := range r.s.Failed {
		x := f.XML
		if !inListFold(attr(x, "on_node"), r.o.OnlyNode) && !inListFold(f.Node, r.o.OnlyNode) {
			continue
		}
		if maskedProbe(f.XML) || !inList(f.Rsc, r.o.OnlyRsc) {
			continue
		}
		rc := minZero(attr(x, "rc-code"))
		st, _ := strconv.Atoi(attr(x, "op-status"))
		reason := attr(x, "exit-reason")
		if x.SelectAttr("exit-reason") == nil {
			reason = "none"
		}
		node := attr(x, "on_node")
		if node == "" {
			node = f.Node
		}
		var n *pcmkout.Node
		if k := attr(x, "operation_key"); k != "" {
			n = list.AddNew("failure", "op_key", k)
		} else {
			n = list.AddNew("failure", "id", attr(x, "id"))
		}
		n.Set("node", node)
		n.Set("exitstatus", pengine.OCFExitText(rc))
		n.Set("exitreason", reason)
		n.Set("exitcode", strconv.Itoa(rc))
		n.Set("call", attr(x, "call-id"))
		n.Set("status", execStatusStr(st))
		if t, err := strconv.ParseInt(attr(x, "last-rc-change"), 10, 64); err == nil && t > 0 {
			n.Set("last-rc-change", time.Unix(t, 0).Local().Format("2006-01-02 15:04:05Z07:00"))
			if q := attr(x, "queue-time"); q != "" {
				n.Set("queued", q)
			}
			if e := attr(x, "exec-time"); e != "" {
				n.Set("exec", e)
			}
			iv := attr(x, "interval")
			if iv == "" {
				iv = "0"
			}
			n.Set("interval", iv)
			n.Set("task", attr(x, "operation"))
		}
	}
	if len(list.Children) == 0 {
		return nil
	}
	return list
}

func (r *xmlRenderer) bans() *pcmkout.Node {
	list := pcmkout.NewNode("bans")
	for _, b := range r.s.Bans {
		if r.o.NegPrefix != "" && !strings.HasPrefix(b.ID, r.o.NegPrefix) {
			continue
		}
		x := findRsc(r.s.View, b.Rsc)
		if x != nil && !inList(printableID(x), r.o.OnlyRsc) && !inList(printableID(top(x)), r.o.OnlyRsc) {
			continue
		}
		po := btoa(strings.EqualFold(b.Role, "promoted") || strings.EqualFold(b.Role, "master"))
		list.AddNew("ban", "id", b.ID, "resource", b.Rsc, "node", b.Node, "weight", strconv.Itoa(b.Score),
			"promoted-only", po, "master_only", po)
	}
	if len(list.Children) == 0 {
		return nil
	}
	return list
}
