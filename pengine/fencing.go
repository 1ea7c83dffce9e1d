package pengine

import "sort"

func (c *cluster) anyManaged() bool {
	any := false
	for _, r := range c.resources {
		r.walk(func(x *Resource) {
			if x.Kind == KindPrimitive && x.Managed {
				any = true
			}
		})
	}
	return any
}

// scheduleFencingAndShutdowns is schedule_fencing_and_shutdowns.
func (c *cluster) scheduleFencingAndShutdowns() {
	haveManaged := c.anyManaged()
	var dcDown *Action
	var fencing, shutdowns []*Action
	for _, n := range c.nodes {
		if n.isGuest() {
			if n.RemoteRequiresReset && haveManaged && c.canFence(n) {
				c.fenceGuest(n)
			}
			continue
		}
		if haveManaged && n.Unclean && c.canFence(n) {
			f := c.fenceOp(n, "", false, "node is unclean")
			c.orderVsFence(f)
			if n.IsDC {
				dcDown = f
			} else {
				if !c.concurrentFencing && len(fencing) > 0 {
					orderActions(fencing[0], f, orderOptional)
				}
				fencing = append([]*Action{f}, fencing...)
			}
		} else if n.Online && n.Shutdown && !n.Unclean && !n.isRemote() {
			// Pacemaker Remote and guest nodes get no shutdown action
			// (needs_shutdown)
			d := c.newAction(nil, "do_shutdown-"+n.Uname, "do_shutdown", n, false)
			d.Meta["op_no_wait"] = "true"
			c.orderStopsBeforeShutdown(n, d)
			if n.IsDC {
				dcDown = d
			} else {
				shutdowns = append(shutdowns, d)
			}
		}
	}
	if dcDown != nil {
		if dcDown.Task == "do_shutdown" {
			for _, s := range shutdowns {
				orderActions(s, dcDown, orderOptional)
			}
		}
		if c.concurrentFencing {
			for _, f := range fencing {
				orderActions(f, dcDown, orderOptional)
			}
		} else if len(fencing) > 0 {
			orderActions(fencing[0], dcDown, orderOptional)
		}
	}
}

func (c *cluster) orderStopsBeforeShutdown(n *Node, d *Action) {
	for _, a := range c.actions {
		if a.Rsc == nil || a.Node != n || a.Task != "stop" {
			continue
		}
		// Maintenance leaves the resource untouched; an unmanaged resource
		// is skipped too unless it is blocked by a failure, whose
		// unrunnable stop then blocks the shutdown
		// (pcmk__order_stops_before_shutdown).
		if a.Rsc.maintenance() || n.Maintenance {
			continue
		}
		if !a.Rsc.Managed && !a.Rsc.Block {
			continue
		}
		a.clear(aOptional)
		orderActions(a, d, orderOptional|orderRunnableLeft)
	}
}

func (c *cluster) orderVsFence(f *Action) {
	for _, r := range c.resources {
		c.rscStonithOrdering(r, f)
	}
}

func (c *cluster) rscStonithOrdering(r *Resource, f *Action) {
	if len(r.Children) > 0 {
		for _, ch := range r.Children {
			c.rscStonithOrdering(ch, f)
		}
		return
	}
	if !r.Managed {
		return
	}
	target := f.Node
	for _, a := range append([]*Action(nil), r.Actions...) {
		switch a.Needs {
		case 2:
			orderActions(f, a, orderOptional)
		case 1:
			if a.Task == "start" {
				if _, ok := r.Allowed[target]; ok && !r.KnownOn[target] {
					orderActions(f, a, orderOptional|orderRunnableLeft)
				}
			}
		}
	}
	implicit := r.RequiresFencing
	top := r.top()
	var parentStop *Action
	stops := r.actionsFor(target, "stop", false)
	if len(stops) > 0 && implicit {
		parentStop = top.firstAction("stop", nil)
	}
	for _, a := range stops {
		a.set(aPseudo | aRunnable)
		if implicit {
			a.set(aImpliedByStonith)
			orderActions(f, a, orderPreserve)
			if parentStop != nil {
				orderActions(f, parentStop, orderPreserve)
			}
		}
		if r.Notify && r.cloneParent() != nil {
			c.orderNotifsAfterFencing(a, r, f)
		}
	}
	for _, a := range r.actionsFor(target, "demote", false) {
		if !a.Node.Online || a.Node.Unclean || r.Failed {
			a.set(aPseudo | aRunnable)
			if implicit {
				orderActions(f, a, orderPreserve|orderOptional)
			}
		}
	}
}

// orderVsUnfence is pcmk__order_vs_unfence: unfence a node before probing
// or starting resources that need it (and fence devices).
func (c *cluster) orderVsUnfence(r *Resource, n *Node, a *Action, order int) {
	if !((r.IsFenceDevice && c.enableUnfencing) || r.NeedsUnfencing) {
		return
	}
	unfence := c.fenceOp(n, "on", true, "")
	orderActions(unfence, a, order)
	if u := n.Attrs["#node-unfenced"]; u == "" || u == "0" {
		c.triggerUnfencing(nil, n, "required by "+r.ID+" "+a.Task)
	}
}

// triggerUnfencing is trigger_unfencing: unfence n (r == nil), or, when
// r is a fence device whose definition changed, the node it is checked on
// — or every usable allowed node of r when that node cannot be unfenced.
func (c *cluster) triggerUnfencing(r *Resource, n *Node, reason string) {
	if !c.enableUnfencing || (r != nil && !r.IsFenceDevice) {
		return
	}
	usable := func(x *Node) bool { return x != nil && x.Online && !x.Unclean && !x.Shutdown }
	if usable(n) {
		c.fenceOp(n, "on", false, reason)
		return
	}
	if r == nil {
		return
	}
	var nodes []*Node
	for x := range r.Allowed {
		if usable(x) {
			nodes = append(nodes, x)
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Uname < nodes[j].Uname })
	for _, x := range nodes {
		c.fenceOp(x, "on", false, reason)
	}
}

// orderRestartVsUnfence is pcmk__order_restart_vs_unfence.
func (c *cluster) orderRestartVsUnfence(r *Resource) {
	var nodes []*Node
	for n := range r.Allowed {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Uname < nodes[j].Uname })
	for _, n := range nodes {
		unfence := c.fenceOp(n, "on", true, "")
		c.newOrdering(r, opKeyFor(r.ID, "stop", 0), nil, nil, unfence.Key, unfence, orderOptional|orderSameNode)
		c.newOrdering(nil, unfence.Key, unfence, r, opKeyFor(r.ID, "start", 0), nil, orderImpliesThenOnNode|orderSameNode)
	}
}
