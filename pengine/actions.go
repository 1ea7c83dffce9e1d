package pengine

import (
	"strconv"
	"strings"
)

func opKeyFor(rscID, task string, interval int) string {
	return rscID + "_" + task + "_" + strconv.Itoa(interval)
}

// parseOpKey splits "rsc_task_interval" (parse_op_key).
func parseOpKey(key string) (rsc, task string, interval int, ok bool) {
	i := strings.LastIndexByte(key, '_')
	if i < 0 {
		return "", "", 0, false
	}
	iv, err := strconv.Atoi(key[i+1:])
	if err != nil {
		return "", "", 0, false
	}
	rest := key[:i]
	// tasks that contain an underscore
	for _, t := range []string{"migrate_to", "migrate_from", "clear_failcount", "pre_notify", "post_notify", "confirmed-pre_notify", "confirmed-post_notify"} {
		if strings.HasSuffix(rest, "_"+t) {
			return rest[:len(rest)-len(t)-1], t, iv, true
		}
	}
	j := strings.LastIndexByte(rest, '_')
	if j < 0 {
		return "", "", 0, false
	}
	return rest[:j], rest[j+1:], iv, true
}

// newAction finds or creates the action (custom_action with save_action).
func (c *cluster) newAction(r *Resource, key, task string, n *Node, optional bool) *Action {
	var idx map[string][]*Action
	if r != nil {
		idx = r.byKey
	} else {
		if c.singletons == nil {
			c.singletons = map[string][]*Action{}
		}
		idx = c.singletons
	}
	a := findExisting(idx[key], n)
	if a == nil {
		a = &Action{ID: c.actionID, Rsc: r, Task: task, Key: key, Node: n,
			Flags: aRunnable, Meta: map[string]string{}, Extra: map[string]string{}}
		c.actionID++
		if optional {
			a.set(aOptional)
		}
		if task == "lrm_delete" {
			a.set(aDC)
		}
		if r != nil {
			_, _, iv, _ := parseOpKey(key)
			a.Interval = iv
			c.unpackOperation(a, r, iv)
			r.Actions = append(r.Actions, a)
		}
		idx[key] = append(idx[key], a)
		c.actions = append(c.actions, a)
	}
	// update_action_optional
	if r != nil && n != nil && !a.has(aPseudo) && !r.Managed && a.Interval == 0 && a.Meta["interval"] == "" {
		a.set(aOptional)
	} else if !optional {
		a.clear(aOptional)
	}
	if r != nil {
		c.updateRunnable(a)
	}
	return a
}

// unpackOperation fills an action's meta-data from op_defaults and the
// matching <op> (unpack_operation).
func (c *cluster) unpackOperation(a *Action, r *Resource, interval int) {
	if r.Kind != KindPrimitive {
		a.Needs = 0
		return
	}
	task := a.Task
	od := r.findOp(task, interval)
	a.OpDef = od
	rc := ruleCtx{rsc: r, opName: task, opInterval: interval, hasOp: true}
	c.unpackNVSetsCtx(c.opDefaults, "meta_attributes", rc, a.Meta, false)
	isProbe := task == "monitor" && interval == 0
	if isProbe {
		var best *OpDef
		for _, o := range r.Ops {
			if o.Name == "monitor" && o.Interval > 0 && o.Enabled {
				if best == nil || o.Interval < best.Interval {
					best = o
				}
			}
		}
		if best != nil && attr(best.XML, "timeout") != "" {
			a.Meta["timeout"] = attr(best.XML, "timeout")
		}
	}
	if od != nil {
		c.unpackNVSetsCtx(od.XML, "meta_attributes", rc, a.Meta, true)
		for _, at := range od.XML.Attr {
			a.Meta[at.Key] = at.Value
		}
	}
	delete(a.Meta, "id")
	if interval > 0 {
		a.Meta["interval"] = strconv.Itoa(interval)
	} else {
		delete(a.Meta, "interval")
	}
	to := parseMsec(a.Meta["timeout"])
	if to < 0 {
		to = 20000
	}
	a.Meta["timeout"] = strconv.Itoa(to)
	switch {
	case task != "start" && task != "promote":
		a.Needs = 0
	case r.RequiresFencing:
		a.Needs = 2
	case r.RequiresQuorum:
		a.Needs = 1
	default:
		a.Needs = 0
	}
	a.OnFail = c.opOnFail(r, task, interval)
	a.FailRole = c.opFailRole(r, task, interval)
}

// updateRunnable is update_resource_action_runnable.
func (c *cluster) updateRunnable(a *Action) {
	if a.has(aPseudo) {
		return
	}
	n := a.Node
	switch {
	case n == nil:
		a.clear(aRunnable)
	case !a.has(aDC) && !n.Online && (!n.isGuest() || n.RemoteRequiresReset):
		a.clear(aRunnable)
		if a.Rsc.Managed && a.Task == "stop" && !n.Unclean {
			c.fenceNode(n, "stop is unrunnable")
		}
	case !a.has(aDC) && n.Pending:
		a.clear(aRunnable)
	case a.Needs == 0:
		// an action that needs neither quorum nor fencing drops any
		// reason given so far each time it is looked up again
		// (update_resource_action_runnable)
		a.Reason = ""
		a.set(aRunnable)
	default:
		switch c.effectiveQuorumPolicy(a.Rsc) {
		case "stop":
			a.clear(aRunnable)
			a.Reason = "no quorum"
		case "freeze":
			if len(a.Rsc.RunningOn) == 0 || a.Rsc.NextRole > a.Rsc.Role {
				a.clear(aRunnable)
				a.Reason = "quorum freeze"
			}
		default:
			a.set(aRunnable)
		}
	}
}

func (c *cluster) effectiveQuorumPolicy(r *Resource) string {
	if c.haveQuorum {
		return "ignore"
	}
	p := c.noQuorumPolicy
	if p == "demote" {
		switch r.Role {
		case RolePromoted, RoleUnpromoted:
			if r.NextRole > RoleUnpromoted {
				r.NextRole = RoleUnpromoted
			}
			return "ignore"
		}
		return "stop"
	}
	if p == "suicide" {
		return "ignore"
	}
	return p
}

func (c *cluster) rscAction(r *Resource, task string, n *Node, optional bool) *Action {
	return c.newAction(r, opKeyFor(r.ID, task, 0), task, n, optional)
}

func (c *cluster) stopAction(r *Resource, n *Node, optional bool) *Action {
	return c.rscAction(r, "stop", n, optional)
}
func (c *cluster) startAction(r *Resource, n *Node, optional bool) *Action {
	return c.rscAction(r, "start", n, optional)
}
func (c *cluster) promoteAction(r *Resource, n *Node, optional bool) *Action {
	return c.rscAction(r, "promote", n, optional)
}
func (c *cluster) demoteAction(r *Resource, n *Node, optional bool) *Action {
	return c.rscAction(r, "demote", n, optional)
}

// pseudoAction creates a resource pseudo-action (pe__new_rsc_pseudo_action).
func (c *cluster) pseudoAction(r *Resource, task string, optional, runnable bool) *Action {
	a := c.newAction(r, opKeyFor(r.ID, task, 0), task, nil, optional)
	a.set(aPseudo)
	if runnable {
		a.set(aRunnable)
	} else {
		a.clear(aRunnable)
	}
	return a
}

// fenceOp finds or creates the fencing action for a node (pe_fence_op).
func (c *cluster) fenceOp(n *Node, op string, optional bool, reason string) *Action {
	if op == "" {
		op = c.stonithAction
	}
	key := "stonith-" + n.Uname + "-" + op
	a := c.newAction(nil, key, "stonith", n, true)
	a.Meta["stonith_action"] = op
	if !optional && c.canFence(n) {
		a.clear(aOptional)
	}
	if a.Reason == "" && reason != "" {
		a.Reason = reason
	}
	return a
}

// clearFailcount schedules a fail-count reset (pe__clear_failcount).
func (c *cluster) clearFailcount(r *Resource, n *Node, reason string) *Action {
	a := c.newAction(r, opKeyFor(r.ID, "clear_failcount", 0), "clear_failcount", n, false)
	a.Meta["op_no_wait"] = "true"
	return a
}

// orderActions adds an ordering edge (order_actions).
func orderActions(first, then *Action, typ int) bool {
	if first == nil || then == nil || typ == orderNone {
		return false
	}
	for _, e := range first.After {
		if e.Action == then && e.Type&typ != 0 {
			return false
		}
	}
	first.After = append(first.After, &orderEdge{Action: then, Type: typ})
	then.Before = append(then.Before, &orderEdge{Action: first, Type: typ})
	return true
}

// newOrdering records a resource-level ordering (pcmk__new_ordering).
func (c *cluster) newOrdering(firstRsc *Resource, firstKey string, firstAct *Action,
	thenRsc *Resource, thenKey string, thenAct *Action, typ int) {
	if firstAct == nil && firstRsc == nil || thenAct == nil && thenRsc == nil {
		return
	}
	if firstRsc == nil && firstAct != nil {
		firstRsc = firstAct.Rsc
	}
	if thenRsc == nil && thenAct != nil {
		thenRsc = thenAct.Rsc
	}
	if firstKey == "" && firstAct != nil {
		firstKey = firstAct.Key
	}
	if thenKey == "" && thenAct != nil {
		thenKey = thenAct.Key
	}
	o := &Ordering{ID: c.orderID, FirstRsc: firstRsc, FirstAct: firstAct,
		FirstTask: firstKey, ThenRsc: thenRsc, ThenAct: thenAct, ThenTask: thenKey, Type: typ}
	c.orderings = append(c.orderings, o)
	c.orderID++
	c.orderMigrationEquivalents(o)
}

// orderRsc is pcmk__order_resource_actions.
func (c *cluster) orderRsc(first *Resource, ftask string, then *Resource, ttask string, typ int) {
	c.newOrdering(first, opKeyFor(first.ID, ftask, 0), nil, then, opKeyFor(then.ID, ttask, 0), nil, typ)
}

// findActions returns r's actions with the given key (any node if n==nil).
func (r *Resource) findActions(key string, n *Node) []*Action {
	var out []*Action
	for _, a := range r.Actions {
		if a.Key == key && (n == nil || a.Node == n) {
			out = append(out, a)
		}
	}
	return out
}

// actionsFor is pe__resource_actions: actions of a task, optionally on a node.
func (r *Resource) actionsFor(n *Node, task string, requireNode bool) []*Action {
	key := opKeyFor(r.ID, task, 0)
	var out []*Action
	for _, a := range r.Actions {
		if a.Key != key {
			continue
		}
		if n == nil {
			if requireNode && a.Node != nil {
				continue
			}
			out = append(out, a)
		} else if a.Node == n {
			out = append(out, a)
		}
	}
	return out
}

// firstAction finds the most recently created action of r with the given
// task on n (find_first_action over Pacemaker's prepended action list).
func (r *Resource) firstAction(task string, n *Node) *Action {
	for i := len(r.Actions) - 1; i >= 0; i-- {
		a := r.Actions[i]
		if a.Task == task && (n == nil || a.Node == n) {
			return a
		}
	}
	return nil
}

// findExisting is find_existing_action: without a node any action with the
// key matches; with a node, an action on that node or one not yet placed
// (which is then placed there) matches. The earliest created wins.
func findExisting(list []*Action, n *Node) *Action {
	var found *Action
	for _, a := range list {
		switch {
		case n == nil:
		case a.Node == nil:
			a.Node = n
		case a.Node != n:
			continue
		}
		if found == nil {
			found = a
		}
	}
	return found
}

// findExact is find_actions_exact: the action with the key on exactly n.
func (r *Resource) findExact(key string, n *Node) *Action {
	for _, a := range r.byKey[key] {
		if a.Node == n {
			return a
		}
	}
	return nil
}
