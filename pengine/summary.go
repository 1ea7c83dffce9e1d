package pengine

import (
	"fmt"
)

// summaryWriter keeps the growing column widths of rsc_action_item.
type summaryWriter struct {
	rscWidth, detailWidth int
	lines                 []string
}

// transitionSummary renders the Transition Summary. Pacemaker's column
// widths are static variables that first grow while the scheduler logs
// the same lines, so the printed lines use the widths of the whole list.
func (c *cluster) transitionSummary() []string {
	first := c.summaryPass(&summaryWriter{rscWidth: 5, detailWidth: 5})
	return c.summaryPass(&summaryWriter{rscWidth: first.rscWidth, detailWidth: first.detailWidth}).lines
}

func (c *cluster) summaryPass(w *summaryWriter) *summaryWriter {
	for i := len(c.actions) - 1; i >= 0; i-- {
		a := c.actions[i]
		if a.Rsc != nil || a.has(aOptional) {
			continue
		}
		var task string
		switch a.Task {
		case "do_shutdown":
			task = "Shutdown"
		case "stonith":
			task = "Fence (" + a.Meta["stonith_action"] + ")"
		default:
			continue
		}
		// node_action prints only when there is a reason (otherwise it is
		// just logged), so shutdowns do not appear.
		name := a.Node.Uname
		if a.Node.isGuest() {
			name += " (resource: " + a.Node.RemoteRsc.Container.ID + ")"
		}
		if a.Reason != "" {
			w.lines = append(w.lines, "  * "+task+" "+name+" '"+a.Reason+"'")
		}
	}
	for _, r := range c.resources {
		c.outputRscActions(w, r)
	}
	return w
}

func (c *cluster) outputRscActions(w *summaryWriter, r *Resource) {
	if len(r.Children) > 0 {
		for _, ch := range r.Children {
			c.outputRscActions(w, ch)
		}
		return
	}
	next := r.AllocatedTo
	var current *Node
	if len(r.RunningOn) > 0 {
		current = r.RunningOn[0]
		if r.Role == RoleStopped {
			r.Role = RoleStarted
		}
	}
	if current == nil && r.Orphan {
		return
	}
	c.rscActionDefault(w, r, current, next)
}

func firstOf(as []*Action) *Action {
	if len(as) == 0 {
		return nil
	}
	return as[0]
}

func (c *cluster) rscActionDefault(w *summaryWriter, r *Resource, current, next *Node) {
	if !r.Managed || (current == nil && next == nil) {
		return
	}
	moving := current != nil && next != nil && current != next
	start := firstOf(r.actionsFor(next, "start", false))
	var startNode *Node
	if start != nil && start.has(aRunnable) {
		startNode = current
	}
	stop := firstOf(r.actionsFor(startNode, "stop", false))
	if stop == nil && r.StopUnexpected {
		// not stopping where it stays, but stopping elsewhere
		stop = firstOf(r.actionsFor(nil, "stop", false))
	}
	promote := firstOf(r.actionsFor(next, "promote", false))
	demote := firstOf(r.actionsFor(next, "demote", false))
	if r.Role == r.NextRole {
		if next == nil {
			return
		}
		migrate := firstOf(r.actionsFor(next, "migrate_from", false))
		switch {
		case migrate != nil && current != nil && migrate.has(aRunnable):
			w.item("Migrate", r, current, next, start, nil)
		case r.Reload:
			w.item("Reload", r, current, next, start, nil)
		case start == nil || start.has(aOptional):
			if demote != nil && promote != nil && !demote.has(aOptional) && !promote.has(aOptional) {
				w.item("Re-promote", r, current, next, promote, demote)
			}
		case !start.has(aRunnable):
			src := start
			if stop != nil && stop.Reason != "" {
				src = stop
			}
			w.item("Stop", r, current, nil, stop, src)
		case moving && current != nil:
			if r.Failed {
				w.item("Recover", r, current, next, stop, nil)
			} else {
				w.item("Move", r, current, next, stop, nil)
			}
		case r.Failed:
			w.item("Recover", r, current, nil, stop, nil)
		default:
			w.item("Restart", r, current, next, start, nil)
		}
		return
	}
	if stop != nil && (r.NextRole == RoleStopped || (start != nil && !start.has(aRunnable))) {
		for _, n := range r.RunningOn {
			so := firstOf(r.findActions(opKeyFor(r.ID, "stop", 0), n))
			src := start
			if so != nil && so.Reason != "" {
				src = so
			}
			w.item("Stop", r, n, nil, so, src)
		}
	} else if stop != nil && r.Failed && r.StopFlag {
		w.item("Recover", r, current, next, stop, start)
	} else if moving {
		w.item("Move", r, current, next, stop, nil)
	} else if r.Reload {
		w.item("Reload", r, current, next, start, nil)
	} else if stop != nil && !stop.has(aOptional) {
		w.item("Restart", r, current, next, start, nil)
	} else if r.Role == RolePromoted {
		w.item("Demote", r, current, next, demote, nil)
	} else if r.NextRole == RolePromoted {
		w.item("Promote", r, current, next, promote, nil)
	} else if r.Role == RoleStopped && r.NextRole > RoleStopped {
		w.item("Start", r, current, next, start, nil)
	}
}

func uname(n *Node) string {
	if n == nil {
		return ""
	}
	return n.Uname
}

// item formats one line as rsc_action_item does.
func (w *summaryWriter) item(change string, r *Resource, origin, dest *Node, action, source *Action) {
	if action == nil && source == nil {
		// Pacemaker asserts an action; be lenient
	}
	if source == nil {
		source = action
	}
	if len(r.ID) > w.rscWidth {
		w.rscWidth = len(r.ID) + 2
	}
	needRole := r.Role > RoleStarted || r.NextRole > RoleUnpromoted
	sameHost := origin != nil && dest != nil && origin == dest
	sameRole := r.Role == r.NextRole
	var details string
	switch {
	case needRole && origin == nil:
		details = fmt.Sprintf("%s -> %s %s", r.Role, r.NextRole, uname(dest))
	case origin == nil:
		details = uname(dest)
	case needRole && dest == nil:
		details = fmt.Sprintf("%s %s", r.Role, uname(origin))
	case dest == nil:
		details = uname(origin)
	case needRole && sameRole && sameHost:
		details = fmt.Sprintf("%s %s", r.Role, uname(origin))
	case sameRole && sameHost:
		details = uname(origin)
	case needRole && sameRole:
		details = fmt.Sprintf("%s -> %s %s", uname(origin), uname(dest), r.Role)
	case sameRole:
		details = fmt.Sprintf("%s -> %s", uname(origin), uname(dest))
	case sameHost:
		details = fmt.Sprintf("%s -> %s %s", r.Role, r.NextRole, uname(origin))
	default:
		details = fmt.Sprintf("%s %s -> %s %s", r.Role, uname(origin), r.NextRole, uname(dest))
	}
	if len(details) > w.detailWidth {
		w.detailWidth = len(details)
	}
	reason := ""
	runnable := action != nil && action.has(aRunnable)
	if source != nil && source.Reason != "" && !runnable {
		reason = "due to " + source.Reason + " (blocked)"
	} else if source != nil && source.Reason != "" {
		reason = "due to " + source.Reason
	} else if !runnable {
		reason = "blocked"
	}
	line := fmt.Sprintf("  * %-8s   %-*s   ( %*s )", change, w.rscWidth, r.ID, w.detailWidth, details)
	if reason != "" {
		line += "  " + reason
	}
	w.lines = append(w.lines, line)
}
