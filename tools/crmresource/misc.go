package crmresource

import (
	"errors"
	"fmt"
	"github.com/beevik/etree"
	"ringmaster/cib"
	"strings"

	"ringmaster/pengine"
	"ringmaster/tools/crmmon"
	"ringmaster/tools/pcmkout"
)

// digests is the --digests command (pcmk__resource_digests).
func (s *session) digests(r *cfgRsc, node string) (int, string) {
	if r == nil || node == "" {
		return pcmkout.ExitSoftware, ""
	}
	if r.variant != variantNative {
		return pcmkout.ExitUnimpl, ""
	}
	id := r.id
	if s.o.rscID != r.id {
		// An anonymous clone's instances are found under their common id.
		id = s.o.rscID
	}
	d, err := s.res.ResourceDigests(id, node, s.o.overrideParams)
	if errors.Is(err, pengine.ErrNotPrimitive) {
		return pcmkout.ExitUnimpl, ""
	}
	if err != nil && !strings.Contains(id, ":") {
		// pe_find_anon: an anonymous clone's common id is its first instance.
		d, err = s.res.ResourceDigests(id+":0", node, s.o.overrideParams)
	}
	if err != nil {
		return pcmkout.ExitSoftware, err.Error()
	}
	w := s.w
	if w.xml {
		n := pcmkout.NewNode("digests", "resource", d.Resource, "node", d.Node, "task", d.Task,
			"interval", fmt.Sprintf("%dms", d.IntervalMS))
		add := func(typ, hash string, params []pengine.Param) {
			dn := n.AddNew("digest", "type", typ, "hash", hash)
			p := dn.AddNew("parameters")
			for _, kv := range params {
				p.Attrs = append(p.Attrs, [2]string{kv.Name, kv.Value})
			}
		}
		add("all", d.All, d.AllParams)
		if d.HaveSecure {
			add("nonprivate", d.Secure, d.SecureParams)
		}
		if d.HaveRestartDigest {
			add("nonreloadable", d.Restart, d.RestartParams)
		}
		w.add(n)
		return pcmkout.ExitOK, ""
	}
	var desc string
	switch {
	case d.IntervalMS != 0:
		desc = fmt.Sprintf("%dms-interval %s action", d.IntervalMS, d.Task)
	case d.Task == "monitor":
		desc = "probe action"
	default:
		desc = d.Task + " action"
	}
	w.t.BeginList(fmt.Sprintf("Digests for %s %s on %s", d.Resource, desc, d.Node))
	w.t.Item("%s (all parameters)", d.All)
	if d.HaveSecure {
		w.t.Item("%s (non-private parameters)", d.Secure)
	}
	if d.HaveRestartDigest {
		w.t.Item("%s (non-reloadable parameters)", d.Restart)
	}
	w.t.EndList()
	return pcmkout.ExitOK, ""
}

// listInstances is resource-names-list (--list-raw): every leaf resource.
func (s *session) listInstances() (int, string) {
	if len(s.view.Resources) == 0 {
		s.w.err("NO resources configured\n")
		return pcmkout.ExitNoSuch, ""
	}
	var names []string
	var add func(r *pengine.RscView)
	add = func(r *pengine.RscView) {
		if len(r.Children) == 0 {
			names = append(names, r.ID)
			return
		}
		for _, c := range r.Children {
			add(c)
		}
	}
	for _, r := range s.view.Resources {
		add(r)
	}
	if s.w.xml {
		n := pcmkout.NewNode("list", "name", "resource names", "count", fmt.Sprint(len(names)))
		for _, id := range names {
			n.AddNew("item", "name", "resource").Text = id
		}
		s.w.add(n)
		return pcmkout.ExitOK, ""
	}
	s.w.t.BeginList("Resource Names")
	for _, id := range names {
		s.w.t.ItemID("resource", "%s", id)
	}
	s.w.t.EndList()
	return pcmkout.ExitOK, ""
}

// viewOf finds the scheduler's view of a configured resource.
func (s *session) viewOf(id string) *pengine.RscView {
	var found *pengine.RscView
	s.view.Walk(func(v *pengine.RscView) {
		if found == nil && v.ID == id {
			found = v
		}
	})
	if found == nil {
		found, _ = findView(s.view, id)
	}
	return found
}

func uberView(v *pengine.RscView) *pengine.RscView {
	for v.Parent != nil {
		v = v.Parent
	}
	return v
}

func viewRunning(v *pengine.RscView) bool {
	if len(v.RunningOn) > 0 {
		return true
	}
	for _, c := range v.Children {
		if viewRunning(c) {
			return true
		}
	}
	return false
}

func viewRunningOn(v *pengine.RscView, node string) bool {
	for _, n := range v.RunningOn {
		if strings.EqualFold(n.Name, node) {
			return true
		}
	}
	for _, c := range v.Children {
		if viewRunningOn(c, node) {
			return true
		}
	}
	return false
}

// check is cli_resource_check's resource-check-list.
func (s *session) check(v *pengine.RscView, node string) *pcmkout.Node {
	parent := uberView(v)
	var stopped, unpromotable, unmanaged bool
	if role, ok := v.Meta["target-role"]; ok {
		switch strings.ToLower(role) {
		case "stopped":
			stopped = true
		case "unpromoted", "slave":
			unpromotable = parent.Promotable
		}
	}
	if m, ok := v.Meta["is-managed"]; ok && !isTrue(m) {
		unmanaged = true
	}
	if s.w.xml {
		n := pcmkout.NewNode("check", "id", parent.ID)
		if stopped {
			n.Set("remain_stopped", "true")
		}
		if unpromotable {
			n.Set("promotable", "false")
		}
		if unmanaged {
			n.Set("unmanaged", "true")
		}
		return n
	}
	if !stopped && !unpromotable && !unmanaged {
		return nil
	}
	t := s.w.t
	t.BeginList("Resource Checks")
	if stopped {
		t.ItemID("check", "Configuration specifies '%s' should remain stopped", parent.ID)
	}
	if unpromotable {
		t.ItemID("check", "Configuration specifies '%s' should not be promoted", parent.ID)
	}
	if unmanaged {
		t.ItemID("check", "Configuration prevents cluster from stopping or starting unmanaged '%s'", parent.ID)
	}
	t.EndList()
	return nil
}

// why is resource-reasons-list.
func (s *session) why(r *cfgRsc, node string) (int, string) {
	w := s.w
	var v *pengine.RscView
	if r != nil {
		v = s.viewOf(s.o.rscID)
		if v == nil {
			v = s.viewOf(r.id)
		}
		if v == nil {
			return pcmkout.ExitNoSuch, fmt.Sprintf("Resource '%s' not found", s.o.rscID)
		}
	}
	if w.xml {
		reason := pcmkout.NewNode("reason")
		switch {
		case v == nil && node == "":
			rs := reason.AddNew("resources")
			for _, x := range s.view.Resources {
				e := rs.AddNew("resource", "id", x.ID, "running", fmt.Sprint(viewRunning(x)))
				e.Add(s.check(x, ""))
			}
		case v != nil && node != "":
			if viewRunningOn(v, node) {
				reason.Set("running_on", node)
			}
			reason.Add(s.check(v, node))
		case v == nil:
			rs := reason.AddNew("resources")
			active, inactive := s.nodeResources(node)
			for _, x := range active {
				e := rs.AddNew("resource", "id", x.ID, "running", "true", "host", node)
				e.Add(s.check(x, node))
			}
			for _, x := range inactive {
				e := rs.AddNew("resource", "id", x.ID, "running", "false", "host", node)
				e.Add(s.check(x, node))
			}
		default:
			reason.Set("running", fmt.Sprint(viewRunning(v)))
			reason.Add(s.check(v, ""))
		}
		w.add(reason)
		return pcmkout.ExitOK, ""
	}
	t := w.t
	t.BeginList("Resource Reasons")
	switch {
	case v == nil && node == "":
		for _, x := range s.view.Resources {
			if viewRunning(x) {
				t.ItemID("reason", "Resource %s is running", x.ID)
			} else {
				t.ItemID("reason", "Resource %s is not running", x.ID)
			}
			s.check(x, "")
		}
	case v != nil && node != "":
		if viewRunningOn(v, node) {
			t.ItemID("reason", "Resource %s is running on host %s", v.ID, node)
		} else {
			t.ItemID("reason", "Resource %s is not running on host %s", v.ID, node)
		}
		s.check(v, node)
	case v == nil:
		active, inactive := s.nodeResources(node)
		for _, x := range active {
			t.ItemID("reason", "Resource %s is running on host %s", x.ID, node)
			s.check(x, node)
		}
		for _, x := range inactive {
			t.ItemID("reason", "Resource %s is assigned to host %s but not running", x.ID, node)
			s.check(x, node)
		}
	default:
		if viewRunning(v) {
			t.ItemID("reason", "Resource %s is running", v.ID)
		} else {
			t.ItemID("reason", "Resource %s is not running", v.ID)
		}
		s.check(v, "")
	}
	t.EndList()
	return pcmkout.ExitOK, ""
}

// nodeResources are the primitives running on a node; what the scheduler
// assigned there but is not running is not modelled in the view, so the
// second list stays empty.
func (s *session) nodeResources(node string) (active, inactive []*pengine.RscView) {
	for _, n := range s.view.Nodes {
		if strings.EqualFold(n.Name, node) {
			active = append(active, n.Running...)
		}
	}
	return active, nil
}

// queryXML is --query-xml / --query-xml-raw (cli_resource_print): the
// resource's status as crm_mon shows it, then its configuration.
func (s *session) queryXML(r *cfgRsc, expanded bool) (int, string) {
	x := r.xml.Copy()
	body := serializeXML(x)
	st := crmmon.Build(s.cib, s.view)
	o := crmmon.Options{Sections: crmmon.SecResources, Show: crmmon.ShowPending,
		OnlyNode: []string{"*"}, OnlyRsc: []string{r.id}}
	var b strings.Builder
	primitive := r.variant == variantNative && (r.parent == nil || r.parent.variant == variantGroup)
	if s.w.xml {
		if primitive {
			o.Show |= crmmon.ShowInactive
		}
		crmmon.Render(&b, "xml", st, o, s.env.Now, "crm_resource", crmmon.HTMLOptions{})
		out := b.String()
		inner := ""
		if primitive {
			inner = primitiveXML(out, r.id)
		} else if i := strings.Index(out, "  <resources>\n"); i >= 0 {
			rest := out[i+len("  <resources>\n"):]
			if j := strings.Index(rest, "  </resources>\n"); j >= 0 {
				inner = rest[:j]
			}
		}
		n := pcmkout.NewNode("raw")
		n.Text = rawMark
		s.w.add(n)
		s.w.raw = "  <resource_config>\n" + inner + "    <xml>" + cdataMark + "</xml>\n  </resource_config>\n"
		s.w.cdata = body
		return pcmkout.ExitOK, ""
	}
	hdr := "Active Resources:\n"
	if primitive {
		// A primitive is printed whatever its state.
		o.Show |= crmmon.ShowInactive
		hdr = "Full List of Resources:\n"
	}
	crmmon.Render(&b, "text", st, o, s.env.Now, "crm_resource", crmmon.HTMLOptions{})
	out := b.String()
	if i := strings.Index(out, hdr); i >= 0 {
		block := out[i+len(hdr):]
		if j := strings.Index(block, "\n\n"); j >= 0 {
			block = block[:j+1]
		}
		for _, line := range strings.SplitAfter(block, "\n") {
			t := strings.TrimLeft(line, " ")
			t = strings.TrimPrefix(t, "* ")
			if t == "" || strings.HasSuffix(t, ":\n") || t == "No active resources\n" {
				continue // list headers are not printed without text-fancy
			}
			if o.Show&crmmon.ShowInactive != 0 && !strings.HasPrefix(t, r.id+"\t") {
				continue
			}
			fmt.Fprint(s.w.stdout, t)
		}
	}
	fmt.Fprintf(s.w.stdout, "Resource XML:\n%s", body)
	return pcmkout.ExitOK, ""
}

// cleanupOffline is --cleanup/--refresh with CIB_file: Pacemaker reports
// what it would clean and leaves the file alone.
func (s *session) cleanupOffline(r *cfgRsc, node string) (int, string) {
	if r == nil {
		where := "all nodes"
		if node != "" {
			where = node
		}
		s.w.info("Dry run: skipping clean-up of %s due to CIB_file", where)
		return pcmkout.ExitOK, ""
	}
	if !s.o.force {
		r = r.uberParent()
	}
	var leaves []*pengine.RscView
	var walk func(v *pengine.RscView)
	walk = func(v *pengine.RscView) {
		if len(v.Children) == 0 {
			leaves = append(leaves, v)
			return
		}
		for _, c := range v.Children {
			walk(c)
		}
	}
	if v := s.viewOf(r.id); v != nil {
		walk(v)
	}
	for _, l := range leaves {
		nodes := []string{node}
		if node == "" {
			nodes = s.view.HistoryNodes(l)
		}
		for _, n := range nodes {
			if nv := s.view.Node(n); nv != nil && nv.Online {
				s.w.err("Dry run: skipping clean-up of %s on %s due to CIB_file", l.ID, n)
			}
		}
	}
	if v := s.viewOf(r.id); v != nil && !s.w.quiet {
		s.check(v, node)
	}
	return pcmkout.ExitOK, ""
}

// validateCmdlineConfig is validate_cmdline_config.
func (s *session) validateCmdlineConfig() string {
	o := s.o
	switch {
	case o.rscID != "":
		return "--resource cannot be used with --class, --agent, and --provider"
	case o.cmd != cmdExecuteAgent:
		return "--class, --agent, and --provider can only be used with --validate and --force-*"
	case o.vClass == "stonith":
		if o.vProvider != "" {
			return "stonith does not support providers"
		}
		for _, a := range s.stonithAgents() {
			if a == o.vAgent {
				return ""
			}
		}
		return fmt.Sprintf("%s is not a known stonith agent", o.vAgent)
	}
	if !s.agentExists(o.vClass, o.vProvider, o.vAgent) {
		return fmt.Sprintf("%s:%s:%s is not a known resource", o.vClass, o.vProvider, o.vAgent)
	}
	return ""
}

// agentExists is resources_agent_exists.
func (s *session) agentExists(std, prov, agent string) bool {
	known := false
	for _, x := range s.standards() {
		if x == std && x != "stonith" {
			known = true
		}
	}
	if !known {
		return false
	}
	if std == "ocf" {
		if prov == "" {
			return false
		}
		found := false
		for _, p := range s.ocfProviders() {
			if p == prov {
				found = true
			}
		}
		if !found {
			return false
		}
	} else if prov != "" {
		return false
	}
	for _, a := range s.agentsFor(std, prov) {
		if a == agent {
			return true
		}
	}
	return false
}

// serializeXML dumps an element as libxml2's formatted dump does.
func serializeXML(e *etree.Element) string {
	s := cib.Serialize(e, true)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// rawMark stands for XML copied verbatim from another renderer.
const rawMark = "\x00raw\x00"

// listResources is the default command (--list): crm_mon's resource
// section, inactive resources included, from the same renderer.
func (s *session) listResources() (int, string) {
	st := crmmon.Build(s.cib, s.view)
	o := crmmon.Options{Sections: crmmon.SecResources,
		Show:     crmmon.ShowInactive | crmmon.ShowRscOnly | crmmon.ShowPending,
		OnlyNode: []string{"*"}, OnlyRsc: []string{"*"}}
	var b strings.Builder
	format := "text"
	if s.w.xml {
		format = "xml"
	}
	crmmon.Render(&b, format, st, o, s.env.Now, "crm_resource", crmmon.HTMLOptions{})
	out := b.String()
	if s.w.xml {
		i := strings.Index(out, "  <resources")
		j := strings.Index(out, "  </resources>\n")
		if i < 0 {
			s.w.err("NO resources configured")
			return pcmkout.ExitNoSuch, ""
		}
		block := ""
		if j < 0 {
			// <resources/> has no closing tag.
			k := strings.Index(out[i:], "\n")
			block = out[i : i+k+1]
		} else {
			block = out[i : j+len("  </resources>\n")]
		}
		n := pcmkout.NewNode("raw")
		n.Text = rawMark
		s.w.add(n)
		s.w.raw = block
		return pcmkout.ExitOK, ""
	}
	i := strings.Index(out, "Full List of Resources:")
	if i < 0 {
		s.w.err("NO resources configured")
		return pcmkout.ExitNoSuch, ""
	}
	block := out[i:]
	if j := strings.Index(block, "\n\n"); j >= 0 {
		block = block[:j+1]
	}
	fmt.Fprint(s.w.stdout, block)
	return pcmkout.ExitOK, ""
}

// primitiveXML cuts one primitive's <resource> element out of crm_mon's
// XML and indents it as a child of <resource_config>.
func primitiveXML(out, id string) string {
	lines := strings.SplitAfter(out, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "<resource id=\""+pcmkout.EscapeAttr(id)+"\"") {
			start = i
			break
		}
	}
	if start < 0 {
		return ""
	}
	indent := len(lines[start]) - len(strings.TrimLeft(lines[start], " "))
	end := start
	if !strings.HasSuffix(strings.TrimSpace(lines[start]), "/>") {
		for end = start + 1; end < len(lines); end++ {
			if strings.TrimSpace(lines[end]) == "</resource>" && len(lines[end])-len(strings.TrimLeft(lines[end], " ")) == indent {
				break
			}
		}
	}
	var b strings.Builder
	for _, l := range lines[start : end+1] {
		b.WriteString("    " + l[indent:])
	}
	return b.String()
}
