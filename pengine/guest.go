package pengine

import "github.com/beevik/etree"

// Guest nodes: a resource (usually a VM) with the remote-node
// meta-attribute hosts a Pacemaker Remote node whose connection resource
// is created implicitly (unpack.c expand_remote_rsc_meta,
// remote.c pe_create_remote_xml).

func guestMeta(e *etree.Element) map[string]string {
	out := map[string]string{}
	for _, ms := range e.SelectElements("meta_attributes") {
		for _, nv := range ms.SelectElements("nvpair") {
			out[attr(nv, "name")] = attr(nv, "value")
		}
	}
	return out
}

// expandGuestNodes adds the implicit connection primitives for guest nodes
// to the resources section and creates their nodes.
func (c *cluster) expandGuestNodes() {
	rscs := c.cfg.SelectElement("resources")
	if rscs == nil {
		return
	}
	existing := map[string]bool{}
	for _, e := range rscs.FindElements(".//primitive") {
		existing[attr(e, "id")] = true
	}
	var cands []*etree.Element
	for _, e := range rscs.ChildElements() {
		switch e.Tag {
		case "primitive":
			cands = append(cands, e)
		case "group":
			cands = append(cands, e.SelectElements("primitive")...)
		}
	}
	for _, e := range cands {
		m := guestMeta(e)
		name := m["remote-node"]
		if name == "" || existing[name] {
			continue
		}
		timeout := "60s"
		if v, ok := m["remote-connect-timeout"]; ok {
			timeout = v
		}
		p := etree.NewElement("primitive")
		p.CreateAttr("id", name)
		p.CreateAttr("class", "ocf")
		p.CreateAttr("provider", "pacemaker")
		p.CreateAttr("type", "remote")
		ms := p.CreateElement("meta_attributes")
		ms.CreateAttr("id", name+"-meta_attributes")
		add := func(parent *etree.Element, k, v string) {
			nv := parent.CreateElement("nvpair")
			nv.CreateAttr("id", name+"-"+parent.Tag+"-"+k)
			nv.CreateAttr("name", k)
			nv.CreateAttr("value", v)
		}
		add(ms, "internal_rsc", "true")
		add(ms, "container", attr(e, "id"))
		if v, ok := m["remote-allow-migrate"]; ok {
			add(ms, "allow-migrate", v)
		}
		if v, ok := m["is-managed"]; ok {
			add(ms, "is-managed", v)
		}
		srv, hasSrv := m["remote-addr"]
		port, hasPort := m["remote-port"]
		if hasSrv || hasPort {
			is := p.CreateElement("instance_attributes")
			is.CreateAttr("id", name+"-instance_attributes")
			if hasSrv {
				add(is, "addr", srv)
			}
			if hasPort {
				add(is, "port", port)
			}
		}
		ops := p.CreateElement("operations")
		mon := ops.CreateElement("op")
		mon.CreateAttr("id", name+"-monitor-interval-30s")
		mon.CreateAttr("name", "monitor")
		mon.CreateAttr("interval", "30s")
		mon.CreateAttr("timeout", "30s")
		st := ops.CreateElement("op")
		st.CreateAttr("id", name+"-start-interval-0")
		st.CreateAttr("name", "start")
		st.CreateAttr("interval", "0")
		st.CreateAttr("timeout", timeout)
		rscs.AddChild(p)
		existing[name] = true
		if c.nodeByName[name] == nil && c.nodeByID[name] == nil {
			n := c.newNode(name, name, "remote")
			n.Attrs["#kind"] = "container"
			n.guest = true
		}
		c.haveRemote = true
	}
}

// linkContainers resolves the container meta-attribute.
func (c *cluster) linkContainers() {
	for _, r := range c.allResources() {
		if v := r.Meta["container"]; v != "" && r.Kind == KindPrimitive {
			if ct := c.rscByID[v]; ct != nil {
				r.Container = ct
				ct.fillers = append(ct.fillers, r)
			}
		}
	}
}

func (n *Node) isGuest() bool {
	return n != nil && n.Type == "remote" && n.RemoteRsc != nil && n.RemoteRsc.Container != nil
}

// fenceGuest is pcmk__fence_guest: a pseudo fencing event after the
// container is stopped.
func (c *cluster) fenceGuest(n *Node) {
	ct := n.RemoteRsc.Container
	action := "off"
	var stop *Action
	if ct != nil {
		stop = ct.firstAction("stop", nil)
		if ct.firstAction("start", nil) != nil {
			action = "reboot"
		}
	}
	f := c.fenceOp(n, action, false, "guest is unclean")
	f.set(aPseudo | aRunnable)
	switch {
	case stop != nil && stop.has(aPseudo):
		pf := c.fenceOp(stop.Node, "", false, "")
		orderActions(pf, f, orderRunnableLeft|orderImpliesThen)
	case stop != nil:
		orderActions(stop, f, orderRunnableLeft|orderImpliesThen)
	default:
		if s := n.RemoteRsc.firstAction("stop", nil); s != nil {
			orderActions(s, f, orderOptional)
		}
	}
	c.orderVsFence(f)
}

// applyContainerOrdering is apply_container_ordering for actions on guest nodes.
func (c *cluster) applyContainerOrdering(a *Action, remote *Resource) {
	ct := remote.Container
	if ct.Failed {
		c.fenceNode(a.Node, "container failed")
	}
	task := a.Task
	if task == "migrate_to" || task == "migrate_from" {
		task = "stop"
	}
	switch task {
	case "start", "promote":
		c.orderStartThenAction(ct, a, orderImpliesThen)
		c.orderStartThenAction(remote, a, 0)
	case "stop", "demote":
		if !ct.Failed {
			c.orderActionThenStop(a, remote, 0)
		}
	default:
		if a.Interval > 0 {
			c.orderStartThenAction(remote, a, orderImpliesThen)
		} else {
			c.orderStartThenAction(remote, a, 0)
		}
	}
}

// containsGuestNode reports whether r (or a member) is the container of a
// guest node (pe__resource_contains_guest_node).
func containsGuestNode(r *Resource) bool {
	found := false
	r.walk(func(x *Resource) {
		for _, f := range x.fillers {
			if f.remoteNode != nil {
				found = true
			}
		}
	})
	return found
}

// guestWillStop is guest_resource_will_stop.
func guestWillStop(n *Node) bool {
	g := n.RemoteRsc.Container
	if n.RemoteRequiresReset || n.Unclean || g.Failed || g.NextRole == RoleStopped {
		return true
	}
	if g.Role > RoleStopped && g.AllocatedTo != nil {
		for _, x := range g.RunningOn {
			if x == g.AllocatedTo {
				return false
			}
		}
		return true
	}
	return false
}
