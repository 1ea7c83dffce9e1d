package pengine

import (
	"fmt"
	"sort"
	"strings"
)

// StatusText renders a crm_mon-like cluster status (the "Current cluster
// status:" block of crm_simulate). revised shows the state after the
// transition (every scheduled action assumed to succeed).
func (res *Result) StatusText(revised bool) string {
	c := res.c
	var b strings.Builder
	b.WriteString("  * Node List:\n")
	var online, offline []string
	for _, n := range c.nodes {
		switch {
		case n.Unclean && !revised:
			if n.Online {
				fmt.Fprintf(&b, "    * Node %s: UNCLEAN (online)\n", n.Uname)
			} else {
				fmt.Fprintf(&b, "    * Node %s: UNCLEAN (offline)\n", n.Uname)
			}
		case n.Online && n.Standby:
			fmt.Fprintf(&b, "    * Node %s: standby\n", n.Uname)
		case n.Online && n.Maintenance:
			fmt.Fprintf(&b, "    * Node %s: maintenance\n", n.Uname)
		case n.Online:
			online = append(online, n.Uname)
		default:
			offline = append(offline, n.Uname)
		}
	}
	if len(online) > 0 {
		fmt.Fprintf(&b, "    * Online: [ %s ]\n", strings.Join(online, " "))
	}
	if len(offline) > 0 {
		fmt.Fprintf(&b, "    * OFFLINE: [ %s ]\n", strings.Join(offline, " "))
	}
	b.WriteString("\n  * Full List of Resources:\n")
	for _, r := range c.resources {
		if r.Orphan && len(r.RunningOn) == 0 {
			continue
		}
		res.writeRsc(&b, r, "    ", revised)
	}
	return b.String()
}

func agentString(r *Resource) string {
	if r.Provider != "" {
		return r.Class + ":" + r.Provider + ":" + r.Type
	}
	return r.Class + ":" + r.Type
}

func (res *Result) writeRsc(b *strings.Builder, r *Resource, indent string, revised bool) {
	switch r.Kind {
	case KindGroup:
		fmt.Fprintf(b, "%s* Resource Group: %s:\n", indent, r.ID)
		for _, ch := range r.Children {
			res.writeRsc(b, ch, indent+"  ", revised)
		}
	case KindClone:
		kind := "Clone Set"
		if r.Promotable {
			kind = "Clone Set"
		}
		child := ""
		if len(r.Children) > 0 {
			child = r.Children[0].XMLID
		}
		extra := ""
		if r.Promotable {
			extra = " (promotable)"
		}
		if r.Unique {
			extra += " (unique)"
		}
		fmt.Fprintf(b, "%s* %s: %s [%s]%s:\n", indent, kind, r.ID, child, extra)
		byRole := map[string][]string{}
		var stopped []string
		for _, inst := range r.Children {
			for _, p := range inst.primitives() {
				nodes, role := p.RunningOn, p.Role
				if revised {
					nodes, role = nil, p.NextRole
					if p.AllocatedTo != nil && role != RoleStopped {
						nodes = []*Node{p.AllocatedTo}
					}
				}
				if len(nodes) == 0 {
					if !inst.Orphan {
						stopped = append(stopped, "")
					}
					continue
				}
				label := "Started"
				if role == RolePromoted {
					label = "Promoted"
				} else if role == RoleUnpromoted {
					label = "Unpromoted"
				}
				byRole[label] = append(byRole[label], nodes[0].Uname)
			}
		}
		for _, label := range []string{"Promoted", "Started", "Unpromoted"} {
			if ns := byRole[label]; len(ns) > 0 {
				sort.Strings(ns)
				fmt.Fprintf(b, "%s  * %s: [ %s ]\n", indent, label, strings.Join(dedup(ns), " "))
			}
		}
		if len(stopped) > 0 && !r.Unique {
			var free []string
			for _, n := range res.c.nodes {
				used := false
				for _, l := range byRole {
					for _, x := range l {
						if x == n.Uname {
							used = true
						}
					}
				}
				if !used {
					free = append(free, n.Uname)
				}
			}
			if len(free) > 0 {
				fmt.Fprintf(b, "%s  * Stopped: [ %s ]\n", indent, strings.Join(free, " "))
			}
		}
	default:
		nodes, role := r.RunningOn, r.Role
		if revised {
			nodes, role = nil, r.NextRole
			if r.AllocatedTo != nil && role != RoleStopped {
				nodes = []*Node{r.AllocatedTo}
			}
		}
		state := "Stopped"
		if len(nodes) > 0 {
			state = role.String() + " " + nodes[0].Uname
			if r.Failed && !revised {
				state = "FAILED " + nodes[0].Uname
			}
		}
		suffix := ""
		if !r.Managed {
			suffix = " (unmanaged)"
		}
		fmt.Fprintf(b, "%s* %s\t(%s):\t %s%s\n", indent, r.ID, agentString(r), state, suffix)
	}
}

func dedup(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// ExecutionLines lists the graph's actions in a dependency-respecting order,
// as crm_simulate's "Executing Cluster Transition:" section does.
func (res *Result) ExecutionLines() []string {
	done := map[*Action]bool{}
	inGraph := map[*Action]bool{}
	for _, s := range res.Synapses {
		inGraph[s.Action] = true
	}
	var out []string
	remaining := append([]*Synapse(nil), res.Synapses...)
	for len(remaining) > 0 {
		progress := false
		var next []*Synapse
		for _, s := range remaining {
			ready := true
			for _, in := range s.Inputs {
				if inGraph[in] && !done[in] {
					ready = false
					break
				}
			}
			if !ready {
				next = append(next, s)
				continue
			}
			done[s.Action] = true
			progress = true
			if l := execLine(s.Action); l != "" {
				out = append(out, l)
			}
		}
		remaining = next
		if !progress {
			for _, s := range remaining {
				if l := execLine(s.Action); l != "" {
					out = append(out, l)
				}
			}
			break
		}
	}
	return out
}

// execLine is the simulator's line for one executed action; probe_again
// is confirmed silently (pcmk_simulate.c simulate_rsc_action).
func execLine(a *Action) string {
	switch {
	case a.Task == "probe_again":
		return ""
	case a.Task == "stonith":
		return fmt.Sprintf("  * Fencing %s (%s)", a.Node.Uname, a.Meta["stonith_action"])
	case a.Task == "do_shutdown":
		return fmt.Sprintf("  * Cluster action:  do_shutdown on %s", a.Node.Uname)
	case a.has(aPseudo):
		return fmt.Sprintf("  * Pseudo action:   %s", a.Key)
	case a.Rsc != nil:
		task := a.Task
		if a.Interval > 0 {
			task = fmt.Sprintf("%s=%d", a.Task, a.Interval)
		}
		return fmt.Sprintf("  * Resource action: %-15s %s on %s", a.Rsc.ID, task, a.Node.Uname)
	}
	return fmt.Sprintf("  * Cluster action:  %s on %s", a.Task, a.Node.Uname)
}
