package pengine

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
		} else if n.Online && n.Shutdown && !n.Unclean {
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
		if !a.Rsc.Managed {
			continue
		}
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
