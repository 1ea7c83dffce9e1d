package crmresource

import (
	"fmt"
	"sort"
	"time"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/pengine"
	"ringmaster/pengine/rules"
	"ringmaster/tools/pcmkout"
)

// The --ban, --move and --clear commands (tools/crm_resource_ban.c): they
// add or remove rsc_location constraints named cli-ban-RSC-on-NODE and
// cli-prefer-RSC.

// lifetime is parse_cli_lifetime: the end of the constraint's life as
// crm_time_as_string prints it, "" without --lifetime, ok=false when the
// duration is invalid.
func (s *session) lifetime() (string, bool) {
	spec := s.o.lifetime
	if spec == "" {
		return "", true
	}
	d, err := rules.ParseDuration(spec)
	if err != nil {
		s.w.err("Invalid duration specified: %s\nPlease refer to https://en.wikipedia.org/wiki/ISO_8601#Durations for examples of valid durations", spec)
		return "", false
	}
	now := s.env.Now
	if now.IsZero() {
		now = time.Now()
	}
	later := now.Local().AddDate(d.Years, d.Months, d.Days).Add(time.Duration(d.Seconds) * time.Second)
	str := rules.FromTime(later).Format(rules.FormatDate | rules.FormatTimeOfDay | rules.FormatWithTZ)
	s.w.info("Migration will take effect until: %s", str)
	return str, true
}

func (s *session) modifyConstraints(frag *etree.Element) cib.Rc {
	return s.conn.Perform(cib.Request{Op: cib.OpModify, Section: "constraints", Data: frag, Options: cib.OptSyncCall}).Rc
}

func (s *session) promotedRole() string { return "Promoted" }

// banOn is cli_resource_ban for one node.
func (s *session) banOn(rscID, host string) int {
	later, ok := s.lifetime()
	if !ok {
		return errEINVAL
	}
	frag := etree.NewElement("constraints")
	loc := frag.CreateElement("rsc_location")
	id := "cli-ban-" + rscID + "-on-" + host
	loc.CreateAttr("id", id)
	what := "running"
	if s.o.promoted {
		what = "being promoted"
	}
	s.w.info("WARNING: Creating rsc_location constraint '%s' with a score of -INFINITY for resource %s on %s.\n\tThis will prevent %s from %s on %s until the constraint is removed using the clear option or by editing the CIB with an appropriate tool\n\tThis will be the case even if %s is the last node in the cluster",
		id, rscID, host, rscID, what, host, host)
	loc.CreateAttr("rsc", rscID)
	if s.o.promoted {
		loc.CreateAttr("role", s.promotedRole())
	} else {
		loc.CreateAttr("role", "Started")
	}
	if later == "" {
		loc.CreateAttr("node", host)
		loc.CreateAttr("score", "-INFINITY")
	} else {
		rule := loc.CreateElement("rule")
		rule.CreateAttr("id", id+"-rule")
		rule.CreateAttr("score", "-INFINITY")
		rule.CreateAttr("boolean-op", "and")
		expr := rule.CreateElement("expression")
		expr.CreateAttr("id", id+"-expr")
		expr.CreateAttr("attribute", "#uname")
		expr.CreateAttr("operation", "eq")
		expr.CreateAttr("value", host)
		expr.CreateAttr("type", "string")
		de := rule.CreateElement("date_expression")
		de.CreateAttr("id", id+"-lifetime")
		de.CreateAttr("operation", "lt")
		de.CreateAttr("end", later)
	}
	if rc := s.modifyConstraints(frag); rc != cib.OK {
		return int(rc)
	}
	return 0
}

const (
	errEINVAL   = 22
	errEALREADY = 114
)

// prefer is cli_resource_prefer.
func (s *session) prefer(rscID, host string) int {
	later, ok := s.lifetime()
	if !ok {
		return errEINVAL
	}
	frag := etree.NewElement("constraints")
	loc := frag.CreateElement("rsc_location")
	loc.CreateAttr("id", "cli-prefer-"+rscID)
	loc.CreateAttr("rsc", rscID)
	if s.o.promoted {
		loc.CreateAttr("role", s.promotedRole())
	} else {
		loc.CreateAttr("role", "Started")
	}
	if later == "" {
		loc.CreateAttr("node", host)
		loc.CreateAttr("score", "INFINITY")
	} else {
		rule := loc.CreateElement("rule")
		rule.CreateAttr("id", "cli-prefer-rule-"+rscID)
		rule.CreateAttr("score", "INFINITY")
		rule.CreateAttr("boolean-op", "and")
		expr := rule.CreateElement("expression")
		expr.CreateAttr("id", "cli-prefer-expr-"+rscID)
		expr.CreateAttr("attribute", "#uname")
		expr.CreateAttr("operation", "eq")
		expr.CreateAttr("value", host)
		expr.CreateAttr("type", "string")
		de := rule.CreateElement("date_expression")
		de.CreateAttr("id", "cli-prefer-lifetime-end-"+rscID)
		de.CreateAttr("operation", "lt")
		de.CreateAttr("end", later)
	}
	if rc := s.modifyConstraints(frag); rc != cib.OK {
		return int(rc)
	}
	return 0
}

// clearOn is cli_resource_clear: host "" means every node.
func (s *session) clearOn(rscID, host string, clearBan, force bool) {
	if host == "" {
		for _, n := range s.allNodes() {
			s.clearOn(rscID, n, clearBan, force)
		}
		return
	}
	// resource_clear_node_in_expr: a lifetime-limited preference for host.
	root, rc := s.query()
	if rc == cib.OK {
		if cons := constraintsOf(root); cons != nil {
			for _, loc := range cons.SelectElements("rsc_location") {
				if loc.SelectAttrValue("id", "") != "cli-prefer-"+rscID {
					continue
				}
				for _, rule := range loc.SelectElements("rule") {
					if rule.SelectAttrValue("id", "") != "cli-prefer-rule-"+rscID {
						continue
					}
					for _, ex := range rule.SelectElements("expression") {
						if ex.SelectAttrValue("attribute", "") == "#uname" && ex.SelectAttrValue("value", "") == host {
							del := etree.NewElement("rsc_location")
							del.CreateAttr("id", "cli-prefer-"+rscID)
							s.conn.Perform(cib.Request{Op: cib.OpDelete, Section: "constraints", Data: del, Options: cib.OptSyncCall})
						}
					}
				}
			}
		}
	}
	// resource_clear_node_in_location
	frag := etree.NewElement("constraints")
	if clearBan {
		l := frag.CreateElement("rsc_location")
		l.CreateAttr("id", "cli-ban-"+rscID+"-on-"+host)
	}
	l := frag.CreateElement("rsc_location")
	l.CreateAttr("id", "cli-prefer-"+rscID)
	if !force {
		l.CreateAttr("node", host)
	}
	s.conn.Perform(cib.Request{Op: cib.OpDelete, Section: "constraints", Data: frag, Options: cib.OptSyncCall})
}

func constraintsOf(root *etree.Element) *etree.Element {
	if cfg := root.SelectElement("configuration"); cfg != nil {
		return cfg.SelectElement("constraints")
	}
	return nil
}

// allNodes are the working set's nodes (configuration order).
func (s *session) allNodes() []string {
	if s.view != nil {
		var out []string
		for _, n := range s.view.Nodes {
			out = append(out, n.Name)
		}
		return out
	}
	return s.cf.nodes
}

// ban is the --ban command.
func (s *session) ban(r *cfgRsc, node string) (int, string) {
	if node == "" {
		return s.banOrMove(r)
	}
	if rc := s.banOn(s.o.rscID, node); rc != 0 {
		return s.errnoExit(rc)
	}
	return pcmkout.ExitOK, ""
}

func (s *session) errnoExit(rc int) (int, string) {
	switch rc {
	case errEINVAL:
		return pcmkout.ExitUsage, ""
	case errEALREADY:
		return 108, ""
	}
	return cib.Rc(rc).ExitCode(), ""
}

// banOrMove is ban_or_move: without a node, ban the one node the resource
// (or its single promoted instance) is active on.
func (s *session) banOrMove(r *cfgRsc) (int, string) {
	nodes := s.activeNodes(r)
	if len(nodes) == 1 {
		if rc := s.banOn(s.o.rscID, nodes[0].Name); rc != 0 {
			return s.errnoExit(rc)
		}
		return pcmkout.ExitOK, ""
	}
	if isPromotable(r) {
		count, current := s.promotedInstances(r)
		if count == 1 && current != "" {
			if rc := s.banOn(s.o.rscID, current); rc != 0 {
				return s.errnoExit(rc)
			}
			return pcmkout.ExitOK, ""
		}
		return pcmkout.ExitUsage, fmt.Sprintf("Resource '%s' not moved: active in %d locations (promoted in %d).\n"+
			"To prevent '%s' from running on a specific location, specify a node."+
			"To prevent '%s' from being promoted at a specific location, specify a node and the --promoted option.",
			s.o.rscID, len(nodes), count, s.o.rscID, s.o.rscID)
	}
	return pcmkout.ExitUsage, fmt.Sprintf("Resource '%s' not moved: active in %d locations.\n"+
		"To prevent '%s' from running on a specific location, specify a node.",
		s.o.rscID, len(nodes), s.o.rscID)
}

// promotedInstances counts a promotable clone's promoted instances and
// names the node of the last one.
func (s *session) promotedInstances(r *cfgRsc) (int, string) {
	count, node := 0, ""
	if s.view == nil {
		return 0, ""
	}
	s.view.Walk(func(v *pengine.RscView) {
		if v.ID != r.id {
			return
		}
		for _, inst := range v.Children {
			if instRole(inst) == "Promoted" {
				count++
				if len(inst.RunningOn) > 0 {
					node = inst.RunningOn[0].Name
				}
			}
		}
	})
	return count, node
}

// move is cli_resource_move (or ban_or_move without a node).
func (s *session) move(r *cfgRsc, dest string) (int, string) {
	if s.o.node == "" {
		return s.banOrMove(r)
	}
	rscID := s.o.rscID
	if s.o.promoted && !isPromotable(r) {
		p := r.uberParent()
		if p.promotable {
			s.w.info("Using parent '%s' for move instead of '%s'.", r.id, rscID)
			rscID = p.id
			r = p
		} else {
			s.w.info("Ignoring --promoted option: %s is not promotable", rscID)
			s.o.promoted = false
		}
	}
	nodes := s.activeNodes(r)
	count := len(nodes)
	current := ""
	if count > 0 {
		current = nodes[0].Name
	}
	isClone := r.variant == variantClone
	if isPromotable(r) {
		pc, pn := s.promotedInstances(r)
		if s.o.promoted || pc != 0 {
			count, current = pc, pn
			if pc > 0 {
				// The move now concerns the promoted instance itself.
				isClone = false
			}
		}
	}
	if count > 1 {
		if isClone {
			current = ""
		} else {
			return 109, ""
		}
	}
	curIsDest := false
	if current != "" && current == dest {
		curIsDest = true
		if !s.o.force {
			return 108, ""
		}
	}
	s.clearOn(rscID, "", false, s.o.force)
	s.clearOn(rscID, dest, true, s.o.force)
	rc := s.prefer(rscID, dest)
	if s.o.force && !curIsDest {
		if current != "" {
			s.banOn(rscID, current)
		} else if count > 1 {
			what := "active"
			if s.o.promoted {
				what = "promoted"
			}
			s.w.info("Resource '%s' is currently %s in %d locations. One may now move to %s", rscID, what, count, dest)
			s.w.info("To prevent '%s' from being %s at a specific location, specify a node.", rscID, what)
		}
	}
	if rc != 0 {
		return s.errnoExit(rc)
	}
	return pcmkout.ExitOK, ""
}

// locationIDs is build_constraint_list: every rsc_location id, sorted.
func locationIDs(root *etree.Element) []string {
	var ids []string
	if cons := constraintsOf(root); cons != nil {
		for _, l := range cons.FindElements(".//rsc_location") {
			ids = append(ids, l.SelectAttrValue("id", ""))
		}
	}
	sort.Strings(ids)
	return ids
}

// clear is clear_constraints.
func (s *session) clear(r *cfgRsc, node string) (int, string) {
	var before []string
	if !s.w.quiet {
		before = locationIDs(s.cib)
	}
	switch {
	case s.o.clearExpired:
		s.clearExpired(s.o.rscID, node)
	case node != "":
		s.clearOn(s.o.rscID, node, true, s.o.force)
	default:
		s.clearOn(s.o.rscID, "", true, s.o.force)
	}
	if !s.w.quiet {
		root, rc := s.query()
		if rc != cib.OK {
			return rc.ExitCode(), "Could not get modified CIB: " + rc.String() + "\n"
		}
		after := map[string]int{}
		for _, id := range locationIDs(root) {
			after[id]++
		}
		for _, id := range before {
			if after[id] > 0 {
				after[id]--
				continue
			}
			s.w.info("Removing constraint: %s", id)
		}
	}
	return pcmkout.ExitOK, ""
}

// clearExpired is cli_resource_clear_all_expired: cli-ban/cli-prefer
// constraints whose lifetime has ended.
func (s *session) clearExpired(rscID, node string) {
	root, rc := s.query()
	if rc != cib.OK {
		return
	}
	cons := constraintsOf(root)
	if cons == nil {
		return
	}
	now := rules.FromTime(s.env.Now.Local())
	for _, loc := range cons.FindElements(".//rsc_location") {
		id := loc.SelectAttrValue("id", "")
		var lifeID string
		switch {
		case len(id) > 8 && id[:8] == "cli-ban-":
			lifeID = id + "-lifetime"
		case len(id) > 11 && id[:11] == "cli-prefer-":
			lifeID = "cli-prefer-lifetime-end-" + loc.SelectAttrValue("rsc", "")
		default:
			continue
		}
		if rscID != "" && loc.SelectAttrValue("rsc", "") != rscID {
			continue
		}
		if s.o.promoted && loc.SelectAttrValue("role", "") != s.promotedRole() {
			continue
		}
		var de *etree.Element
		for _, d := range loc.FindElements(".//date_expression") {
			if d.SelectAttrValue("id", "") == lifeID {
				de = d
			}
		}
		if de == nil {
			continue
		}
		if node != "" && loc.SelectAttrValue("node", "") != node {
			match := false
			for _, ex := range loc.FindElements("./rule/expression") {
				if ex.SelectAttrValue("attribute", "") == "#uname" && ex.SelectAttrValue("value", "") == node {
					match = true
				}
			}
			if !match {
				continue
			}
		}
		end, err := rules.ParseDateTime(de.SelectAttrValue("end", ""), s.env.Now)
		if err != nil {
			continue
		}
		if now.Compare(end) == 1 {
			frag := etree.NewElement("constraints")
			l := frag.CreateElement("rsc_location")
			l.CreateAttr("id", id)
			s.conn.Perform(cib.Request{Op: cib.OpDelete, Section: "constraints", Data: frag, Options: cib.OptSyncCall})
		}
	}
}
