package pengine

import (
	"sort"
	"strconv"
)

var strconvItoa = strconv.Itoa

// Role transition tables (pcmk_sched_primitive.c rsc_state_matrix).
var roleNext = [5][5]Role{
	/* Unknown */ {RoleUnknown, RoleStopped, RoleStopped, RoleStopped, RoleStopped},
	/* Stopped */ {RoleStopped, RoleStopped, RoleStarted, RoleUnpromoted, RoleUnpromoted},
	/* Started */ {RoleStopped, RoleStopped, RoleStarted, RoleUnpromoted, RolePromoted},
	/* Unpromoted */ {RoleStopped, RoleStopped, RoleStopped, RoleUnpromoted, RolePromoted},
	/* Promoted */ {RoleStopped, RoleUnpromoted, RoleUnpromoted, RoleUnpromoted, RolePromoted},
}

type transFn int

const (
	fnNone transFn = iota
	fnStop
	fnStart
	fnPromote
	fnDemote
	fnErr
)

var roleFn = [5][5]transFn{
	{fnErr, fnStop, fnErr, fnErr, fnErr},
	{fnErr, fnNone, fnStart, fnStart, fnErr},
	{fnErr, fnStop, fnNone, fnNone, fnPromote},
	{fnErr, fnStop, fnStop, fnNone, fnPromote},
	{fnErr, fnDemote, fnDemote, fnDemote, fnNone},
}

func (c *cluster) runFn(fn transFn, r *Resource, n *Node, optional bool) {
	switch fn {
	case fnStop:
		for _, cur := range r.RunningOn {
			if r.isExpectedNode(cur) {
				continue
			}
			opt := optional
			if r.PartialMigTarget != nil {
				if cur == r.PartialMigTarget && cur == r.AllocatedTo {
					continue
				}
				opt = false
			}
			st := c.stopAction(r, cur, opt)
			if r.AllocatedTo == nil {
				st.Reason = "node availability"
			} else if r.Restarting && r.StopUnexpected {
				st.Reason = "being multiply active"
			}
			if r.NeedsUnfencing {
				orderActions(st, c.fenceOp(cur, "on", true, ""), orderImpliesFirst)
			}
			if !r.Managed {
				st.clear(aRunnable)
			}
		}
	case fnStart:
		if n == nil {
			return
		}
		st := c.newAction(r, opKeyFor(r.ID, "start", 0), "start", n, true)
		c.orderVsUnfence(r, n, st, orderImpliesThen)
		if st.has(aRunnable) && !optional {
			st.clear(aOptional)
		}
		if r.isExpectedNode(n) {
			// it keeps running there: the "start" only anchors orderings
			st.set(aPseudo)
		}
	case fnPromote:
		if n == nil {
			return
		}
		runnable := true
		for _, s := range r.actionsFor(n, "start", true) {
			if !s.has(aRunnable) {
				runnable = false
			}
		}
		if runnable {
			c.promoteAction(r, n, optional)
		} else {
			for _, p := range r.actionsFor(n, "promote", true) {
				p.clear(aRunnable)
			}
		}
	case fnDemote:
		for _, cur := range r.RunningOn {
			c.demoteAction(r, cur, optional)
		}
	}
}

// createActions dispatches on the variant.
func (c *cluster) createActions(r *Resource) {
	switch r.Kind {
	case KindPrimitive:
		c.createPrimitiveActions(r)
	case KindGroup:
		for _, m := range r.Children {
			c.createActions(m)
		}
		for _, t := range []string{"start", "running", "stop", "stopped"} {
			a := c.newAction(r, opKeyFor(r.ID, t, 0), t, nil, true)
			a.set(aPseudo | aRunnable)
		}
		if r.top().Promotable {
			for _, t := range []string{"demote", "demoted", "promote", "promoted"} {
				a := c.newAction(r, opKeyFor(r.ID, t, 0), t, nil, true)
				a.set(aPseudo | aRunnable)
			}
		}
	case KindClone:
		c.createCloneActions(r)
	}
}

func (c *cluster) createCloneActions(r *Resource) {
	active, starting, stopping := false, false, false
	for _, ch := range r.Children {
		c.createActions(ch)
		for _, p := range ch.primitives() {
			if len(p.RunningOn) > 0 {
				active = true
			}
			for _, a := range p.Actions {
				if a.has(aOptional) || !(a.has(aPseudo) || a.has(aRunnable)) {
					continue
				}
				if a.Task == "stop" {
					stopping = true
				} else if a.Task == "start" && a.has(aRunnable) {
					starting = true
				}
			}
		}
	}
	start := c.pseudoAction(r, "start", !starting, true)
	started := c.pseudoAction(r, "running", !starting, false)
	started.Priority = Infinity
	if active || starting {
		started.set(aRunnable)
	}
	r.notif = map[string]*notifyData{}
	r.notif["start"] = c.cloneNotifPseudoOps(r, "start", start, started)
	stop := c.pseudoAction(r, "stop", !stopping, true)
	stopped := c.pseudoAction(r, "stopped", !stopping, true)
	stopped.Priority = Infinity
	r.notif["stop"] = c.cloneNotifPseudoOps(r, "stop", stop, stopped)
	if r.notif["start"] != nil && r.notif["stop"] != nil {
		orderActions(r.notif["stop"].postDone, r.notif["start"].pre, orderOptional)
	}
	if r.Promotable {
		promoting, demoting := false, false
		for _, ch := range r.Children {
			for _, p := range ch.primitives() {
				for _, a := range p.Actions {
					if a.has(aOptional) {
						continue
					}
					if a.Task == "promote" && a.has(aRunnable) {
						promoting = true
					}
					if a.Task == "demote" {
						demoting = true
					}
				}
			}
		}
		pr := c.pseudoAction(r, "promote", !promoting, true)
		pd := c.pseudoAction(r, "promoted", !promoting, true)
		pd.Priority = Infinity
		r.notif["promote"] = c.cloneNotifPseudoOps(r, "promote", pr, pd)
		de := c.pseudoAction(r, "demote", !demoting, true)
		dd := c.pseudoAction(r, "demoted", !demoting, true)
		dd.Priority = Infinity
		r.notif["demote"] = c.cloneNotifPseudoOps(r, "demote", de, dd)
		if nd, np := r.notif["demote"], r.notif["promote"]; nd != nil && np != nil {
			orderActions(r.notif["stop"].postDone, np.pre, orderOptional)
			orderActions(r.notif["start"].postDone, np.pre, orderOptional)
			orderActions(nd.postDone, np.pre, orderOptional)
			orderActions(nd.postDone, r.notif["start"].pre, orderOptional)
			orderActions(nd.postDone, r.notif["stop"].pre, orderOptional)
		}
	}
}

func (c *cluster) createPrimitiveActions(r *Resource) {
	if r.NextRole == RoleUnknown {
		if r.AllocatedTo == nil {
			r.NextRole = RoleStopped
		} else {
			r.NextRole = RoleStarted
			if cp := r.cloneParent(); cp != nil && cp.Promotable {
				r.NextRole = RoleUnpromoted
			}
		}
	}
	var current *Node
	numAll, numClean := 0, 0
	// pe__find_active_on: a resource that does not need fencing counts as
	// active on the first clean online node it runs on.
	for _, n := range r.RunningOn {
		numAll++
		happy := n.Online && !n.Unclean
		if happy {
			numClean++
		}
		if !r.RequiresFencing && happy && (current == nil || !current.Online || current.Unclean) {
			current = n
		}
		if current == nil {
			current = n
		}
	}
	if r.PartialMigSource != nil {
		for _, n := range r.RunningOn {
			if n == r.PartialMigSource {
				current = n
			}
		}
	}
	for _, dn := range r.dangling {
		c.stopAction(r, dn, false)
	}
	needStop, needPromote, moving, allowMigrate := false, false, false, false
	if current != nil && r.AllocatedTo != nil && current != r.AllocatedTo && r.NextRole >= RoleStarted {
		moving = true
		allowMigrate = c.canMigrate(r, current)
		needStop = true
	}
	multiply := false
	switch {
	case r.PartialMigSource != nil && r.PartialMigTarget != nil && allowMigrate && numAll == 2 &&
		current == r.PartialMigSource && r.AllocatedTo == r.PartialMigTarget:
		// the partial migration continues
	case r.PartialMigSource != nil || r.PartialMigTarget != nil:
		needStop = true
		r.PartialMigSource, r.PartialMigTarget = nil, nil
		allowMigrate = false
	case r.RequiresFencing:
		multiply = numAll > 1
	default:
		multiply = numClean > 1
	}
	if multiply {
		switch r.MultipleActive {
		case "", "stop_start":
			needStop = true
		case "stop_unexpected":
			// the restart skips the node where it stays (isExpectedNode)
			needStop = true
			r.StopUnexpected = true
		}
	} else {
		r.StopUnexpected = false
	}
	if r.StartPending && r.AllocatedTo != nil {
		st := c.startAction(r, r.AllocatedTo, true)
		st.set(aPrintAlways)
	}
	switch {
	case moving:
	case r.Failed:
		if r.StopFlag {
			needStop = true
		} else if r.NextRole == RolePromoted {
			needPromote = true
		}
	case r.Block:
		needStop = true
	case r.Role > RoleStarted && current != nil && r.AllocatedTo != nil:
		st := c.startAction(r, r.AllocatedTo, true)
		if !st.has(aOptional) {
			needStop = true
		}
	}
	// restart actions: bring down to stopped on current, back up
	role := r.Role
	r.Restarting = true
	for role != RoleStopped {
		next := roleNext[role][RoleStopped]
		fn := roleFn[role][next]
		if fn == fnNone {
			break
		}
		c.runFn(fn, r, current, !needStop)
		role = next
	}
	for r.Role <= r.NextRole && role != r.Role && !r.Block {
		required := needStop
		next := roleNext[role][r.Role]
		if next == RolePromoted && needPromote {
			required = true
		}
		fn := roleFn[role][next]
		if fn == fnNone {
			break
		}
		c.runFn(fn, r, r.AllocatedTo, !required)
		role = next
	}
	r.Restarting = false
	// role transition to next role
	role = r.Role
	for role != r.NextRole {
		next := roleNext[role][r.NextRole]
		fn := roleFn[role][next]
		if fn == fnNone {
			break
		}
		c.runFn(fn, r, r.AllocatedTo, false)
		role = next
	}
	c.createRecurring(r)
	if allowMigrate {
		c.createMigrationActions(r, current)
	}
}

// isExpectedNode reports whether n is where a multiply active resource with
// multiple-active=stop_unexpected stays active while the restart actions
// are created (pcmk_sched_primitive.c is_expected_node).
func (r *Resource) isExpectedNode(n *Node) bool {
	return r.StopUnexpected && r.Restarting && r.NextRole > RoleStopped && r.AllocatedTo != nil && r.AllocatedTo == n
}

// createRecurring schedules configured recurring operations
// (pcmk__create_recurring_actions): for the role the resource will have on
// its assigned node, and role=Stopped monitors everywhere else.
func (c *cluster) createRecurring(r *Resource) {
	if r.Block || r.maintenance() {
		return
	}
	var start *Action
	n := r.AllocatedTo
	if n != nil && !n.Maintenance && (r.NextRole != RoleStopped || !r.Managed) {
		start = c.startAction(r, n, true)
	}
	seen := map[string]int{}
	for _, od := range r.Ops {
		if od.Interval > 0 {
			seen[od.Name+"_"+itoa(od.Interval)]++
		}
	}
	for _, od := range r.Ops {
		if od.Interval <= 0 {
			continue
		}
		switch od.Name {
		case "stop", "start", "demote", "promote", "reload-agent", "migrate_to", "migrate_from":
			continue
		}
		if seen[od.Name+"_"+itoa(od.Interval)] > 1 {
			continue
		}
		if r.findOp(od.Name, od.Interval) == nil || !r.findOp(od.Name, od.Interval).Enabled {
			continue
		}
		key := opKeyFor(r.ID, od.Name, od.Interval)
		if start != nil {
			c.recurringForActive(r, start, n, od, key)
		}
		c.recurringForInactive(r, n, od, key)
	}
}

func itoa(i int) string { return strconvItoa(i) }

// maintenance is pe_rsc_maintenance: the resource's own maintenance meta or
// the cluster's maintenance-mode.
func (r *Resource) maintenance() bool {
	return r.InMaintenance
}

func (c *cluster) recurringForActive(r *Resource, start *Action, n *Node, od *OpDef, key string) {
	if od.Role == RoleStopped {
		return
	}
	optional := true
	if n == nil || c.actionFlags(start, nil)&aOptional == 0 {
		optional = false
	} else if a := r.findExact(key, n); a == nil {
		optional = false
	} else if a.has(aReschedule) {
		optional = false
	}
	if (od.Role != RoleUnknown && r.NextRole != od.Role) || (od.Role == RoleUnknown && r.NextRole == RolePromoted) {
		if optional {
			cancel := c.newCancel(r, od.Name, od.Interval, n)
			after := ""
			switch r.Role {
			case RoleUnpromoted, RoleStarted:
				if r.NextRole == RolePromoted {
					after = "promote"
				} else if r.NextRole == RoleStopped {
					after = "stop"
				}
			case RolePromoted:
				after = "demote"
			}
			if after != "" {
				c.newOrdering(r, "", cancel, r, opKeyFor(r.ID, after, 0), nil, orderRunnableLeft)
			}
		}
		return
	}
	mon := c.newAction(r, key, od.Name, n, optional)
	if !start.has(aRunnable) {
		mon.clear(aRunnable)
	} else if n == nil || !n.Online || n.Unclean {
		mon.clear(aRunnable)
	}
	if r.NextRole == RolePromoted {
		mon.Meta["op_target_rc"] = "8"
	}
	if n == nil || r.Managed {
		c.newOrdering(r, opKeyFor(r.ID, "start", 0), nil, nil, key, mon, orderImpliesThen|orderRunnableLeft)
		c.newOrdering(r, opKeyFor(r.ID, "reload-agent", 0), nil, nil, key, mon, orderImpliesThen|orderRunnableLeft)
		if r.NextRole == RolePromoted {
			c.newOrdering(r, opKeyFor(r.ID, "promote", 0), nil, r, "", mon, orderOptional|orderRunnableLeft)
		} else if r.Role == RolePromoted {
			c.newOrdering(r, opKeyFor(r.ID, "demote", 0), nil, r, "", mon, orderOptional|orderRunnableLeft)
		}
	}
}

func (c *cluster) newCancel(r *Resource, name string, interval int, n *Node) *Action {
	a := c.newAction(r, opKeyFor(r.ID, name, interval), "cancel", n, false)
	a.Task = "cancel"
	a.CancelTask = name
	a.Meta["operation"] = name
	a.Meta["interval"] = itoa(interval)
	return a
}

func (c *cluster) recurringForInactive(r *Resource, n *Node, od *OpDef, key string) {
	if od.Role != RoleStopped {
		return
	}
	if !r.Unique {
		return
	}
	for _, sn := range c.nodes {
		if n != nil && sn == n {
			if r.findExact(key, n) != nil {
				cancel := c.newCancel(r, od.Name, od.Interval, n)
				if r.NextRole == RoleStarted || r.NextRole == RoleUnpromoted {
					c.newOrdering(r, "", cancel, r, opKeyFor(r.ID, "start", 0), nil, orderRunnableLeft)
				}
			}
			continue
		}
		optional := r.findExact(key, sn) != nil
		mon := c.newAction(r, key, od.Name, sn, optional)
		mon.Meta["op_target_rc"] = "7"
		if r.Managed {
			for _, p := range r.actionsFor(sn, "monitor", false) {
				if p.Interval == 0 {
					orderActions(p, mon, orderRunnableLeft)
				}
			}
		}
		for _, st := range r.actionsFor(sn, "stop", true) {
			if !st.has(aOptional) && !mon.has(aOptional) && !r.Managed {
				mon.set(aOptional)
			}
			if !st.has(aRunnable) {
				mon.clear(aRunnable)
			}
			if r.Managed {
				c.newOrdering(r, opKeyFor(r.ID, "stop", 0), st, nil, "", mon, orderImpliesThen|orderRunnableLeft)
			}
		}
		if !sn.Online || sn.Unclean {
			mon.clear(aRunnable)
		}
	}
}

// internalConstraints creates implicit orderings (internal_constraints).
func (c *cluster) internalConstraints(r *Resource) {
	switch r.Kind {
	case KindPrimitive:
		if !r.Managed {
			return
		}
		c.orderRsc(r, "stop", r, "start", orderOptional|orderImpliesThen|orderRestart)
		if r.remoteNode != nil || r.IsFenceDevice {
			c.avoidRemoteNodes(r)
		}
		if r.Container != nil {
			if r.remoteNode != nil {
				c.avoidRemoteNodes(r.Container)
				c.orderRsc(r.Container, "monitor", r, "stop", orderOptional)
			}
			if r.remoteNode == nil && r.Container.remoteNode != nil {
				// container=<remote node>: must run on that node
				for n := range r.Allowed {
					if n.RemoteRsc != r.Container {
						r.Allowed[n] = -Infinity
					}
				}
			} else {
				c.orderRsc(r.Container, "start", r, "start", orderImpliesThen|orderRunnableLeft)
				c.orderRsc(r, "stop", r.Container, "stop", orderImpliesFirst)
				c.newColocation("resource-with-container", "", Infinity, r, r.Container, RoleUnknown, RoleUnknown, true)
			}
		}
		if !r.IsFenceDevice && c.enableUnfencing && r.NeedsUnfencing {
			c.orderRestartVsUnfence(r)
		}
		if len(r.Utilization) > 0 && c.utilizationOn() {
			c.createUtilizationConstraints(r)
		}
		if r.top().Promotable || r.Role > RoleUnpromoted {
			c.orderRsc(r, "demote", r, "stop", orderPromotedImpliesFirst)
			c.orderRsc(r, "start", r, "promote", orderRunnableLeft)
		}
	case KindGroup:
		c.orderRsc(r, "stop", r, "stopped", orderRunnableLeft)
		c.orderRsc(r, "stopped", r, "start", orderOptional)
		c.orderRsc(r, "start", r, "running", orderRunnableLeft)
		promotable := r.top().Promotable
		var prev, lastActive *Resource
		for _, m := range r.Children {
			c.internalConstraints(m)
			down := orderImpliesFirstPrinted
			postDown := orderImpliesThenPrinted
			if prev == nil {
				if r.Ordered {
					down |= orderOptional
					postDown = orderImpliesThen
				}
			} else if r.Colocated {
				c.newColocation("group:internal_colocation", "", Infinity, m, prev, RoleUnknown, RoleUnknown, true)
			}
			if promotable {
				c.orderRsc(r, "demote", m, "demote", down)
				c.orderRsc(m, "demote", r, "demoted", postDown)
				c.orderRsc(m, "promote", r, "promoted", orderRunnableLeft|orderImpliesThen|orderImpliesThenPrinted)
				c.orderRsc(r, "promote", m, "promote", orderImpliesFirstPrinted)
			}
			c.orderRsc(r, "stop", m, "stop", down)
			c.orderRsc(m, "stop", r, "stopped", postDown)
			c.orderRsc(r, "start", m, "start", orderImpliesFirstPrinted)
			c.orderRsc(m, "start", r, "running", orderRunnableLeft|orderImpliesThen|orderImpliesThenPrinted)
			if !r.Ordered {
				c.orderRsc(r, "start", m, "start", orderImpliesThen|orderRunnableLeft|orderImpliesFirstPrinted)
			} else if prev != nil {
				c.orderRsc(prev, "start", m, "start", orderImpliesThen|orderRunnableLeft)
				c.orderRsc(m, "stop", prev, "stop", orderOptional|orderRestart)
				if promotable {
					c.orderRsc(prev, "promote", m, "promote", orderImpliesThen|orderRunnableLeft)
					c.orderRsc(m, "demote", prev, "demote", orderOptional)
				}
			}
			if len(m.RunningOn) > 0 {
				if r.Ordered && prev != nil && len(prev.RunningOn) == 0 && lastActive != nil && len(lastActive.RunningOn) > 0 {
					c.orderRsc(m, "stop", lastActive, "stop", orderOptional)
				}
				lastActive = m
			}
			prev = m
		}
	case KindClone:
		c.orderRsc(r, "stopped", r, "start", orderOptional)
		c.orderRsc(r, "start", r, "running", orderRunnableLeft)
		c.orderRsc(r, "stop", r, "stopped", orderRunnableLeft)
		if r.Promotable {
			c.orderRsc(r, "demoted", r, "stop", orderOptional)
			c.orderRsc(r, "running", r, "promote", orderRunnableLeft)
		}
		var last *Resource
		for _, ch := range r.Children {
			c.internalConstraints(ch)
			c.orderRsc(r, "start", ch, "start", orderRunnableLeft|orderImpliesFirstPrinted)
			c.orderRsc(ch, "start", r, "running", orderImpliesThenPrinted)
			if r.Ordered && last != nil {
				c.orderRsc(last, "start", ch, "start", orderOptional)
			}
			c.orderRsc(r, "stop", ch, "stop", orderImpliesFirstPrinted)
			c.orderRsc(ch, "stop", r, "stopped", orderImpliesThenPrinted)
			if r.Ordered && last != nil {
				c.orderRsc(ch, "stop", last, "stop", orderOptional)
			}
			last = ch
		}
		if r.Promotable {
			// pcmk__order_promotable_instances
			c.orderRsc(r, "stopped", r, "start", orderOptional)
			c.orderRsc(r, "stopped", r, "promote", orderOptional)
			c.orderRsc(r, "demoted", r, "stop", orderOptional)
			c.orderRsc(r, "demoted", r, "start", orderOptional)
			c.orderRsc(r, "demoted", r, "promote", orderOptional)
			c.orderRsc(r, "running", r, "promote", orderOptional)
			c.orderRsc(r, "demote", r, "demoted", orderOptional)
			var prev *Resource
			for _, ch := range r.Children {
				c.orderRsc(ch, "demote", ch, "promote", orderOptional)
				c.orderRsc(r, "promote", ch, "promote", orderOptional)
				c.orderRsc(ch, "promote", r, "promoted", orderOptional)
				if prev != nil && r.Ordered {
					c.orderRsc(prev, "promote", ch, "promote", orderOptional)
				}
				c.orderRsc(r, "demote", ch, "demote", orderImpliesFirstPrinted)
				c.orderRsc(ch, "demote", r, "demoted", orderImpliesThenPrinted)
				if prev != nil && r.Ordered {
					c.orderRsc(ch, "demote", prev, "demote", orderOptional)
				}
				prev = ch
			}
		}
	}
}

// scheduleProbes creates start-up probes (pcmk__schedule_probes).
func (c *cluster) scheduleProbes() {
	if !c.probesOn {
		return
	}
	for _, n := range c.nodes {
		if !n.Online {
			if n.isRemote() && n.RemoteRsc != nil && c.remoteState(n) == remoteFailed {
				c.fenceNode(n, "the connection is unrecoverable")
			}
			continue
		}
		if n.Unclean || n.NoDiscovery {
			continue
		}
		// CIBs saved before Pacemaker 1.1.14 may carry probe_complete=false:
		// the node is asked to re-probe everything itself instead of being
		// given per-resource probes (pcmk__schedule_probes).
		if v, ok := n.Attrs["probe_complete"]; ok && !isTrue(v) {
			a := c.newAction(nil, "probe_again-"+n.Uname, "probe_again", n, false)
			a.Meta["op_no_wait"] = "true"
			continue
		}
		for _, r := range c.resources {
			c.probe(r, n)
		}
	}
}

func (c *cluster) probe(r *Resource, n *Node) bool {
	switch r.Kind {
	case KindGroup:
		any := false
		for _, ch := range r.Children {
			if c.probe(ch, n) {
				any = true
			}
		}
		return any
	case KindClone:
		// clone_create_probe sorts instances by number first
		sort.SliceStable(r.Children, func(i, j int) bool { return r.Children[i].InstanceNum < r.Children[j].InstanceNum })
		if r.Unique {
			any := false
			for _, ch := range r.Children {
				if c.probe(ch, n) {
					any = true
				}
			}
			return any
		}
		var child *Resource
		for _, ch := range r.Children {
			known := false
			ch.walk(func(x *Resource) {
				if x.Kind == KindPrimitive && len(x.history[n]) > 0 {
					known = true
				}
			})
			if known {
				child = ch
				break
			}
		}
		if child == nil {
			for _, ch := range r.Children {
				if ch.AllocatedTo == n || (ch.Kind == KindGroup && len(ch.Children) > 0 && ch.Children[0].AllocatedTo == n) {
					child = ch
					break
				}
			}
		}
		if child == nil {
			child = r.Children[0]
		}
		return c.probe(child, n)
	case KindBundle:
		return c.probeBundle(r, n)
	}
	if r.Orphan {
		return false
	}
	if n.isRemote() && (r.IsFenceDevice || r.remoteNode != nil) {
		return false
	}
	if n.isGuest() && containsGuestNode(r.top()) {
		return false
	}
	if r.KnownOn[n] {
		return false
	}
	top := r.top()
	_, allowed := r.Allowed[n]
	if r.ExclusiveDiscover || top.ExclusiveDiscover {
		if !allowed || r.Discover[n] != "exclusive" {
			return false
		}
	}
	if r.Discover[n] == "never" {
		return false
	}
	if n.isGuest() {
		guest := n.RemoteRsc.Container
		if guest.Role == RoleStopped {
			// nothing can be active on a stopped guest; start after its probe
			if guest.AllocatedTo != nil && !guest.KnownOn[guest.AllocatedTo] {
				c.newOrdering(guest, opKeyFor(guest.ID, "monitor", 0), nil, top, opKeyFor(top.ID, "start", 0), nil, orderOptional)
			}
			return false
		}
		if guestWillStop(n) {
			c.newOrdering(guest, opKeyFor(guest.ID, "stop", 0), nil, top, opKeyFor(top.ID, "start", 0), nil, orderOptional)
			return false
		}
	}
	p := c.newAction(r, opKeyFor(r.ID, "monitor", 0), "monitor", n, false)
	p.clear(aOptional)
	c.orderVsUnfence(r, n, p, orderOptional)
	running := false
	for _, x := range r.RunningOn {
		if x == n {
			running = true
		}
	}
	if !running {
		p.Meta["op_target_rc"] = "7"
	} else if r.Role == RolePromoted {
		p.Meta["op_target_rc"] = "8"
	}
	if !r.isCloneInstance() && r.cloneParent() == nil {
		top = r
	} else if r.cloneParent() == nil {
		top = r
	}
	flags := orderOptional
	if !p.has(aRunnable) && len(r.RunningOn) == 0 {
		flags |= orderRunnableLeft
	}
	c.newOrdering(r, "", p, top, opKeyFor(top.ID, "start", 0), nil, flags)
	return true
}
