package pengine

import "strings"

// applyOrderings resolves resource-level orderings into action edges and
// propagates flags (pcmk__apply_orderings).
func (c *cluster) applyOrderings() {
	for _, o := range c.orderings {
		if o.FirstRsc != nil {
			c.rscOrderFirst(o)
			continue
		}
		if o.ThenRsc != nil {
			c.orderAfter(o.FirstAct, o.ThenRsc, o)
		} else {
			orderActions(o.FirstAct, o.ThenAct, o.Type)
		}
	}
	for i := len(c.actions) - 1; i >= 0; i-- {
		c.blockColocationDependents(c.actions[i])
	}
	for i := len(c.actions) - 1; i >= 0; i-- {
		c.updateAction(c.actions[i], 0)
	}
}

// blockColocationDependents is pcmk__block_colocation_dependents: an
// unrunnable start (or promote) of a whole primary blocks the dependents
// of its mandatory colocations.
func (c *cluster) blockColocationDependents(a *Action) {
	if a.has(aRunnable) || a.Rsc == nil || (a.Task != "start" && a.Task != "promote") {
		return
	}
	isStart := a.Task == "start"
	r := a.Rsc.top()
	for _, ch := range r.Children {
		ca := ch.firstAction(a.Task, nil)
		if ca == nil || ca.has(aRunnable) {
			return
		}
	}
	for _, co := range r.WithThis {
		if co.Score < Infinity {
			continue
		}
		if !isStart && co.PrimaryRole != RolePromoted {
			continue
		}
		task := "start"
		if co.DependentRole == RolePromoted {
			task = "promote"
		}
		c.markActionBlocked(co.Dependent, task, a.Rsc)
	}
}

func (c *cluster) markActionBlocked(r *Resource, task string, reason *Resource) {
	for _, a := range r.Actions {
		if a.has(aRunnable) && a.Task == task {
			a.clear(aRunnable)
			if a.Reason == "" {
				a.Reason = "colocation with " + reason.ID
			}
			c.blockColocationDependents(a)
			c.updateAction(a, 100)
		}
	}
	for _, ch := range r.Children {
		c.markActionBlocked(ch, task, reason)
	}
}

func (c *cluster) rscOrderFirst(o *Ordering) {
	first := o.FirstRsc
	var firsts []*Action
	if o.FirstAct != nil {
		firsts = []*Action{o.FirstAct}
	} else {
		firsts = first.findActions(o.FirstTask, nil)
	}
	if len(firsts) == 0 && first == o.ThenRsc {
		return
	}
	if len(firsts) == 0 {
		_, task, iv, ok := parseOpKey(o.FirstTask)
		if !ok {
			return
		}
		state := first.stateRole()
		if state == RoleStopped && task == "stop" {
			return
		}
		if state == RoleUnpromoted && task == "demote" {
			return
		}
		firsts = []*Action{c.newAction(first, opKeyFor(first.ID, task, iv), task, nil, true)}
	}
	for _, fa := range firsts {
		if o.ThenRsc == nil {
			orderActions(fa, o.ThenAct, o.Type)
		} else {
			c.orderAfter(fa, o.ThenRsc, o)
		}
	}
}

// stateRole is the resource's current role as fns->state(rsc, TRUE) reports.
func (r *Resource) stateRole() Role {
	if r.Kind == KindPrimitive {
		return r.Role
	}
	best := RoleStopped
	for _, ch := range r.Children {
		if x := ch.stateRole(); x > best {
			best = x
		}
	}
	return best
}

func (c *cluster) orderAfter(first *Action, r *Resource, o *Ordering) {
	var thens []*Action
	if o.ThenAct != nil {
		thens = []*Action{o.ThenAct}
	} else if r != nil {
		thens = r.findActions(o.ThenTask, nil)
	}
	for _, t := range thens {
		if first != nil {
			orderActions(first, t, o.Type)
		} else {
			t.clear(aRunnable)
		}
	}
}

func isParent(child, r *Resource) bool {
	for p := child.Parent; p != nil; p = p.Parent {
		if p == r {
			return true
		}
	}
	return false
}

// remapForOrdering maps a collective resource's start/stop/... to the
// completion pseudo-action (action_for_ordering).
func (c *cluster) remapForOrdering(a *Action) *Action {
	r := a.Rsc
	if r == nil || r.Kind == KindPrimitive || strings.Contains(a.Key, "notify") {
		return a
	}
	_, task, iv, ok := parseOpKey(a.Key)
	if !ok || iv > 0 {
		return a
	}
	var mapped string
	switch task {
	case "stop":
		mapped = "stopped"
	case "start":
		mapped = "running"
	case "promote":
		mapped = "promoted"
	case "demote":
		mapped = "demoted"
	case "stopped", "running", "promoted", "demoted":
		mapped = task
	default:
		return a
	}
	key := opKeyFor(r.ID, mapped, 0)
	if r.Notify && r.Parent == nil {
		// with notifications, order against the moment every
		// notification for the task has been confirmed
		// (action_uuid_for_ordering; upstream also does this for a clone
		// directly inside a bundle)
		key = notifyKey(r.ID, "confirmed-post", mapped)
	}
	if x := findExisting(r.byKey[key], nil); x != nil {
		return x
	}
	return a
}

// actionFlags returns the effective flags of an action for orderings
// (the variant's action_flags).
func (c *cluster) actionFlags(a *Action, n *Node) int {
	if a.Rsc == nil {
		return a.Flags
	}
	switch a.Rsc.Kind {
	case KindGroup:
		return c.groupActionFlags(a, n)
	case KindClone:
		return c.cloneActionFlags(a, n)
	}
	return a.Flags
}

func childTask(task string) string {
	switch task {
	case "running":
		return "start"
	case "stopped":
		return "stop"
	case "promoted":
		return "promote"
	case "demoted":
		return "demote"
	}
	return task
}

func (c *cluster) groupActionFlags(a *Action, n *Node) int {
	flags := aOptional | aRunnable | aPseudo
	for _, m := range a.Rsc.Children {
		task := complexTask(m, a.Task)
		ma := m.firstAction(task, n)
		if ma != nil {
			mf := c.actionFlags(ma, n)
			if flags&aOptional != 0 && mf&aOptional == 0 {
				flags &^= aOptional
				a.clear(aOptional)
			}
			if task != a.Task && flags&aRunnable != 0 && mf&aRunnable == 0 {
				flags &^= aRunnable
				a.clear(aRunnable)
			}
		} else if task != "stop" && task != "demote" {
			flags &^= aRunnable
		}
	}
	return flags
}

// cloneChildTask is clone_child_action: the instance task a clone action
// summarises (notifications name the action they are about).
func cloneChildTask(a *Action) string {
	task := a.Task
	if task == "notify" || task == "notified" {
		// key is <rsc>_<type>_notify_<task>_0
		k := strings.TrimSuffix(a.Key, "_0")
		if i := strings.LastIndex(k, "_notify_"); i >= 0 {
			task = k[i+len("_notify_"):]
		}
	}
	return task
}

// complexTask is get_complex_task with non-atomic children allowed.
func complexTask(r *Resource, task string) string {
	if r.Kind == KindPrimitive {
		return childTask(task)
	}
	return task
}

// cloneActionFlags is summary_action_flags: optional unless any instance's
// matching action is required; runnable only if some instance's is.
func (c *cluster) cloneActionFlags(a *Action, n *Node) int {
	flags := aOptional | aRunnable | aPseudo
	anyRunnable := false
	base := cloneChildTask(a)
	for _, ch := range a.Rsc.Children {
		task := complexTask(ch, base)
		var ca *Action
		if len(ch.Children) > 0 {
			ca = ch.firstAction(task, nil)
		} else {
			ca = ch.firstAction(task, n)
		}
		if ca == nil {
			continue
		}
		cf := c.actionFlags(ca, n)
		if flags&aOptional != 0 && cf&aOptional == 0 {
			flags &^= aOptional
			a.clear(aOptional)
		}
		if cf&aRunnable != 0 {
			anyRunnable = true
		}
	}
	if !anyRunnable {
		flags &^= aRunnable
		if n == nil {
			a.clear(aRunnable)
		}
	}
	return flags
}

func (c *cluster) flagsForOrdering(a *Action, n *Node) int {
	if a.Rsc == nil {
		return a.Flags
	}
	f := c.actionFlags(a, nil)
	if n == nil || a.Rsc.Kind != KindClone {
		return f
	}
	runnable := f&aRunnable != 0
	f = c.actionFlags(a, n)
	if runnable {
		f |= aRunnable
	}
	return f
}

// updateAction is pcmk__update_action_for_orderings.
func (c *cluster) updateAction(then *Action, depth int) {
	if depth > 200 {
		return
	}
	changedThen := false
	lastFlags := then.Flags
	if then.has(aRequiresAny) {
		then.RunnableBefore = 0
		if then.RequiredRunnableBefore == 0 {
			then.RequiredRunnableBefore = 1
		}
		then.clear(aRunnable)
	}
	// order_actions prepends to actions_before, so upstream walks the
	// newest ordering first; edges added during the walk are not visited.
	for i := len(then.Before) - 1; i >= 0; i-- {
		e := then.Before[i]
		first := e.Action
		thenNode, firstNode := then.Node, first.Node
		if first.Rsc != nil && first.Rsc.Kind == KindGroup && first.Task == "start" {
			firstNode = first.Rsc.AllocatedTo
		}
		if then.Rsc != nil && then.Rsc.Kind == KindGroup && then.Task == "start" {
			thenNode = then.Rsc.AllocatedTo
		}
		if e.Type&orderSameNode != 0 && firstNode != nil && thenNode != nil && firstNode != thenNode {
			e.Type = orderNone
			continue
		}
		if first.Rsc != nil && e.Type&orderThenCancelsFirst != 0 && !then.has(aOptional) {
			// a required "then" abandons "first" (a required stop cancels a reload)
			e.Action.set(aOptional)
			if first.Task == "reload-agent" {
				first.Rsc.Reload = false
			}
		}
		if first.Rsc != nil && then.Rsc != nil && first.Rsc != then.Rsc && !isParent(then.Rsc, first.Rsc) {
			first = c.remapForOrdering(first)
		}
		changedFirst := false
		if first == e.Action {
			ff := c.flagsForOrdering(first, thenNode)
			tf := c.flagsForOrdering(then, firstNode)
			ct, cf := c.updateForOrderingFlags(first, then, ff, tf, e)
			changedThen = changedThen || ct
			changedFirst = cf
		} else if orderActions(first, then, e.Type) {
			changedThen = true
			e.Type = orderNone
		} else {
			e.Type = orderNone
		}
		if changedFirst {
			for i := len(first.After) - 1; i >= 0; i-- {
				c.updateAction(first.After[i].Action, depth+1)
			}
			c.updateAction(first, depth+1)
		}
	}
	if then.has(aRequiresAny) {
		changedThen = lastFlags != then.Flags
	}
	if changedThen {
		if lastFlags&aRunnable != 0 && !then.has(aRunnable) {
			c.blockColocationDependents(then)
		}
		c.updateAction(then, depth+1)
		for i := len(then.After) - 1; i >= 0; i-- {
			c.updateAction(then.After[i].Action, depth+1)
		}
	}
}

// updateForOrderingFlags is update_action_for_ordering_flags.
func (c *cluster) updateForOrderingFlags(first, then *Action, ff, tf int, e *orderEdge) (changedThen, changedFirst bool) {
	node := then.Node
	typ := e.Type
	if typ&orderImpliesThenOnNode != 0 {
		typ &^= orderImpliesThenOnNode
		typ |= orderImpliesThen
		e.Type = typ
		node = first.Node
	}
	upd := func(flags, filter, t int) {
		ct, cf := c.updateOrdered(first, then, node, flags, filter, t)
		changedThen = changedThen || ct
		changedFirst = changedFirst || cf
	}
	if typ&orderImpliesThen != 0 {
		if then.Rsc != nil {
			upd(ff&aOptional, aOptional, orderImpliesThen)
		} else if ff&aOptional == 0 && then.has(aOptional) {
			then.clear(aOptional)
			changedThen = true
		}
	}
	if typ&orderRestart != 0 && then.Rsc != nil {
		upd(ff, aOptional|aRunnable, orderRestart)
	}
	if typ&orderImpliesFirst != 0 {
		if first.Rsc != nil {
			upd(ff, aOptional, orderImpliesFirst)
		} else if ff&aOptional == 0 && first.has(aRunnable) {
			first.clear(aRunnable)
			changedFirst = true
		}
	}
	if typ&orderPromotedImpliesFirst != 0 && then.Rsc != nil {
		upd(ff&aOptional, aOptional, orderPromotedImpliesFirst)
	}
	if typ&orderOneOrMore != 0 {
		if then.Rsc != nil {
			upd(ff, aRunnable, orderOneOrMore)
		} else if ff&aRunnable != 0 {
			then.RunnableBefore++
			if then.RunnableBefore >= then.RequiredRunnableBefore && !then.has(aRunnable) {
				then.set(aRunnable)
				changedThen = true
			}
		}
	}
	if typ&orderProbe != 0 && then.Rsc != nil {
		if ff&aRunnable == 0 && first.Rsc != nil && len(first.Rsc.RunningOn) > 0 {
			e.Type = orderNone
			typ = orderNone
		} else {
			upd(ff, aRunnable, orderRunnableLeft)
		}
	}
	if typ&orderRunnableLeft != 0 {
		if then.Rsc != nil {
			upd(ff, aRunnable, orderRunnableLeft)
		} else if ff&aRunnable == 0 && then.has(aRunnable) {
			then.clear(aRunnable)
			changedThen = true
		}
	}
	if typ&orderImpliesFirstMigratable != 0 && then.Rsc != nil {
		upd(ff, aOptional, orderImpliesFirstMigratable)
	}
	if typ&orderPseudoLeft != 0 && then.Rsc != nil {
		upd(ff, aOptional, orderPseudoLeft)
	}
	if typ&orderOptional != 0 && then.Rsc != nil {
		upd(ff, aRunnable, orderOptional)
	}
	if typ&orderAsymmetrical != 0 && then.Rsc != nil {
		upd(ff, aRunnable, orderAsymmetrical)
	}
	if first.has(aRunnable) && typ&orderImpliesThenPrinted != 0 && ff&aOptional == 0 {
		then.set(aPrintAlways)
	}
	if typ&orderImpliesFirstPrinted != 0 && tf&aOptional == 0 {
		first.set(aPrintAlways)
	}
	if typ&(orderImpliesThen|orderImpliesFirst|orderRestart) != 0 && first.Rsc != nil &&
		!first.Rsc.Managed && first.Rsc.Block && !first.has(aRunnable) && first.Task == "stop" {
		if then.has(aRunnable) {
			then.clear(aRunnable)
			changedThen = true
		}
	}
	return
}

// clearBecause clears a flag and records why (clear_action_flag_because
// with pe__action2reason's wording).
func clearBecause(a *Action, flag int, reason *Action) {
	if a.Flags&flag == 0 {
		return
	}
	a.clear(flag)
	if a.Rsc == reason.Rsc {
		return
	}
	change := "required"
	if flag == aRunnable || flag == aMigrateRunnable {
		change = "unrunnable"
	}
	text := change
	if reason.Rsc != nil {
		text += " " + reason.Rsc.ID
	}
	text += " " + reason.Task
	if a.Reason == "" || flag == aMigrateRunnable {
		a.Reason = text
	}
}

func taskVerb(t string) string {
	switch t {
	case "start", "running":
		return "start"
	case "stop", "stopped":
		return "stop"
	case "promote", "promoted":
		return "promote"
	case "demote", "demoted":
		return "demote"
	}
	return t
}

// updateOrdered is the variant's update_ordered_actions.
func (c *cluster) updateOrdered(first, then *Action, n *Node, flags, filter, typ int) (bool, bool) {
	if then.Rsc != nil && then.Rsc.Kind == KindClone {
		return c.multiUpdate(first, then, n, flags, filter, typ)
	}
	ct, cf := c.updatePrimitiveOrdered(first, then, n, flags, filter, typ)
	if then.Rsc != nil && then.Rsc.Kind == KindGroup {
		for _, m := range then.Rsc.Children {
			ma := m.firstAction(then.Task, n)
			if ma != nil {
				a, b := c.updateOrdered(first, ma, n, flags, filter, typ)
				ct = ct || a
				cf = cf || b
			}
		}
	}
	return ct, cf
}

// canInterleave is can_interleave_actions.
func canInterleave(first, then *Action) bool {
	if first.Rsc == nil || then.Rsc == nil || first.Rsc == then.Rsc {
		return false
	}
	if first.Rsc.Kind != KindClone || then.Rsc.Kind != KindClone {
		return false
	}
	r := then.Rsc
	if strings.HasSuffix(then.Key, "_stop_0") || strings.HasSuffix(then.Key, "_demote_0") {
		r = first.Rsc
	}
	return r.Interleave
}

// multiUpdate is pcmk__multi_update_actions for clones.
func (c *cluster) multiUpdate(first, then *Action, n *Node, flags, filter, typ int) (bool, bool) {
	if canInterleave(first, then) {
		return c.interleaveUpdate(first, then, n, filter, typ)
	}
	ct, cf := c.updatePrimitiveOrdered(first, then, n, flags, filter, typ)
	for _, ch := range then.Rsc.Children {
		ca := ch.firstAction(then.Task, n)
		if ca == nil {
			continue
		}
		if c.actionFlags(ca, n)&aRunnable == 0 {
			continue
		}
		a, b := c.updateOrdered(first, ca, n, flags, filter, typ)
		ct = ct || a
		cf = cf || b
		if a {
			for i := len(ca.After) - 1; i >= 0; i-- {
				c.updateAction(ca.After[i].Action, 60)
			}
		}
	}
	return ct, cf
}

// interleaveUpdate is multi_update_interleave_actions: each instance of
// "then" is ordered after the instance of "first" on the same node.
func (c *cluster) interleaveUpdate(first, then *Action, n *Node, filter, typ int) (bool, bool) {
	ct, cf := false, false
	current := strings.HasSuffix(first.Key, "_stopped_0") || strings.HasSuffix(first.Key, "_demoted_0")
	for _, tc := range then.Rsc.Children {
		fc := c.compatibleInstanceAt(tc, first.Rsc, RoleUnknown, current)
		if fc == nil {
			if current {
				continue
			}
			if typ&(orderRunnableLeft|orderImpliesThen) != 0 {
				if tc.location() != nil {
					c.assignTo(tc, nil)
					ct = true
				}
			}
			continue
		}
		task := cloneChildTask(first)
		if len(first.Rsc.Children) > 0 {
			task = complexTask(first.Rsc.Children[0], task)
		}
		fa := fc.firstAction(task, n)
		ta := tc.firstAction(then.Task, n)
		if fa == nil || ta == nil {
			continue
		}
		if orderActions(fa, ta, typ) {
			ct, cf = true, true
		}
		a, b := c.updateOrdered(fa, ta, n, c.actionFlags(fa, n), filter, typ)
		ct = ct || a
		cf = cf || b
	}
	return ct, cf
}

func childTask2(task string, r *Resource) string {
	return task
}

func (c *cluster) updatePrimitiveOrdered(first, then *Action, n *Node, flags, filter, typ int) (bool, bool) {
	thenFlags, firstFlags := then.Flags, first.Flags
	if typ&orderAsymmetrical != 0 && then.Rsc != nil {
		role := then.Rsc.stateRole()
		skip := false
		if role == RoleStopped && then.Task == "stop" {
			skip = true
		}
		if !skip && role >= RoleStarted && then.has(aOptional) && then.Node != nil && len(then.Rsc.RunningOn) == 1 &&
			then.Node == then.Rsc.RunningOn[0] && then.Task == "start" {
			skip = true
		}
		if !skip && !first.has(aRunnable) {
			clearBecause(then, aOptional, first)
			clearBecause(then, aRunnable, first)
		}
	}
	if typ&orderImpliesFirst != 0 && thenFlags&aOptional == 0 {
		if filter&aOptional != 0 && flags&aOptional == 0 && firstFlags&aOptional != 0 {
			clearBecause(first, aOptional, then)
		}
		if flags&aMigrateRunnable != 0 && !then.has(aMigrateRunnable) {
			clearBecause(first, aMigrateRunnable, then)
		}
	}
	if typ&orderPromotedImpliesFirst != 0 && then.Rsc != nil && then.Rsc.Role == RolePromoted &&
		filter&aOptional != 0 && !then.has(aOptional) {
		clearBecause(first, aOptional, then)
	}
	if typ&orderImpliesFirstMigratable != 0 && filter&aOptional != 0 {
		if then.Flags&(aMigrateRunnable|aRunnable) != aMigrateRunnable|aRunnable {
			clearBecause(first, aRunnable, then)
		}
		if !then.has(aOptional) {
			clearBecause(first, aOptional, then)
		}
	}
	if typ&orderPseudoLeft != 0 && filter&aOptional != 0 && !first.has(aRunnable) {
		clearBecause(then, aMigrateRunnable, first)
		then.clear(aPseudo)
	}
	if typ&orderRunnableLeft != 0 && filter&aRunnable != 0 && then.has(aRunnable) && flags&aRunnable == 0 {
		clearBecause(then, aRunnable, first)
		clearBecause(then, aMigrateRunnable, first)
	}
	if typ&orderImpliesThen != 0 && filter&aOptional != 0 && then.has(aOptional) && flags&aOptional == 0 &&
		!first.has(aMigrateRunnable) {
		clearBecause(then, aOptional, first)
	}
	if typ&orderRestart != 0 && first.Rsc != nil && then.Rsc != nil {
		reason := false
		if filter&aOptional != 0 && !then.has(aOptional) {
			reason = true
		}
		if filter&aRunnable != 0 && !then.has(aRunnable) && then.Rsc.Managed && first.Rsc == then.Rsc {
			reason = true
		}
		if reason {
			if first.has(aRunnable) {
				clearBecause(first, aOptional, then)
			}
			if !then.has(aOptional) {
				clearBecause(first, aOptional, then)
			}
			if !then.has(aMigrateRunnable) {
				clearBecause(first, aMigrateRunnable, then)
			}
			if !first.has(aOptional) && !first.has(aRunnable) {
				clearBecause(then, aRunnable, first)
			}
		}
	}
	ct := thenFlags != then.Flags
	cf := firstFlags != first.Flags
	if ct && then.Rsc != nil && then.Rsc.Parent != nil {
		c.updateAction(then, 50)
	}
	return ct, cf
}
