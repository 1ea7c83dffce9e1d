package pengine

// Pacemaker Remote nodes (unpack.c unpack_remote_nodes and
// determine_remote_online_status, pcmk_sched_remote.c).

// unpackRemoteNodes creates a node for each ocf:pacemaker:remote primitive.
func (c *cluster) unpackRemoteNodes() {
	rscs := c.cfg.SelectElement("resources")
	if rscs == nil {
		return
	}
	for _, e := range rscs.ChildElements() {
		if e.Tag != "primitive" {
			continue
		}
		if attr(e, "class") == "ocf" && attr(e, "provider") == "pacemaker" && attr(e, "type") == "remote" {
			id := attr(e, "id")
			if id != "" && c.nodeByName[id] == nil && c.nodeByID[id] == nil {
				n := c.newNode(id, id, "remote")
				n.Attrs["#kind"] = "remote"
			}
		}
	}
	c.haveRemote = false
	for _, n := range c.nodes {
		if n.Type == "remote" {
			c.haveRemote = true
		}
	}
}

// linkRemoteNodes ties remote nodes to their connection resources.
func (c *cluster) linkRemoteNodes() {
	for _, r := range c.allResources() {
		if r.Kind == KindPrimitive && r.isRemoteConn() {
			if n := c.nodeByName[r.ID]; n != nil && n.Type == "remote" {
				n.RemoteRsc = r
				r.remoteNode = n
			}
		}
	}
}

func (n *Node) isRemote() bool { return n != nil && n.Type == "remote" }

// determineRemoteOnline follows determine_remote_online_status.
func (c *cluster) determineRemoteOnline(n *Node) {
	r := n.RemoteRsc
	if r == nil {
		n.Online = false
		return
	}
	ct := r.Container
	var host *Node
	if ct != nil && len(r.RunningOn) == 1 {
		host = r.RunningOn[0]
	}
	if r.Role == RoleStarted {
		n.Online = true
	}
	if r.Role == RoleStarted && r.NextRole == RoleStopped {
		n.Shutdown = true
	}
	switch {
	case ct != nil && ct.Failed:
		n.Online = false
		n.RemoteRequiresReset = true
	case r.Failed:
		n.Online = false
	case r.Role == RoleStopped || (ct != nil && ct.Role == RoleStopped):
		n.Online = false
		n.RemoteRequiresReset = false
	case host != nil && !host.Online && host.Unclean:
		n.Online = false
		n.RemoteRequiresReset = true
	}
}

// remoteConnectionAssigned is remote_connection_assigned.
func (c *cluster) remoteConnectionAssigned(r *Resource) {
	n := r.remoteNode
	if n == nil {
		return
	}
	if r.AllocatedTo != nil && r.NextRole != RoleStopped {
		n.Online = true
		if n.Unseen {
			n.Unclean = false
		}
	} else {
		n.Shutdown = true
	}
}

const (
	remoteUnknown = iota
	remoteAlive
	remoteResting
	remoteFailed
	remoteStopped
)

func (c *cluster) remoteState(n *Node) int {
	r := n.RemoteRsc
	cluster := r.currentNode()
	if r.NextRole == RoleStopped || r.AllocatedTo == nil {
		if cluster != nil && cluster.Unclean {
			return remoteFailed
		}
		if !r.Failed {
			return remoteStopped
		}
		if r.NextRole == RoleStopped && r.ReconnectMs > 0 && n.RemoteWasFenced && !n.Shutdown {
			// whether the connection can be recovered is known only when
			// the reconnect interval expires and it is tried again
			return remoteUnknown
		}
		return remoteFailed
	}
	if cluster == nil {
		return remoteUnknown
	}
	if cluster.Unclean || !cluster.Online {
		return remoteResting
	}
	if len(r.RunningOn) > 1 && r.PartialMigSource != nil && r.PartialMigTarget != nil {
		return remoteResting
	}
	return remoteAlive
}

func (c *cluster) orderStartThenAction(first *Resource, then *Action, extra int) {
	c.newOrdering(first, opKeyFor(first.ID, "start", 0), nil, then.Rsc, "", then, orderPreserve|orderRunnableLeft|extra)
}

func (c *cluster) orderActionThenStop(first *Action, then *Resource, extra int) {
	c.newOrdering(first.Rsc, "", first, then, opKeyFor(then.ID, "stop", 0), nil, orderPreserve|extra)
}

// orderRemoteConnectionActions is pcmk__order_remote_connection_actions.
func (c *cluster) orderRemoteConnectionActions() {
	if !c.haveRemote {
		return
	}
	for _, a := range append([]*Action(nil), c.actions...) {
		if a.Rsc == nil {
			continue
		}
		if a.Rsc.remoteNode != nil && a.Task == "clear_failcount" {
			c.newOrdering(a.Rsc, "", a, a.Rsc, opKeyFor(a.Rsc.ID, "start", 0), nil, orderOptional)
			continue
		}
		if a.Node == nil || !a.Node.isRemote() || a.has(aPseudo) {
			continue
		}
		remote := a.Node.RemoteRsc
		if remote == nil {
			continue
		}
		if a.Task == "start" {
			for _, ra := range a.Rsc.Actions {
				if ra.Node != nil && ra.Node != a.Node && ra.Task == "stop" {
					c.newOrdering(remote, opKeyFor(remote.ID, "start", 0), nil, a.Rsc, "", ra, orderOptional)
				}
			}
		}
		if remote.Container != nil {
			c.applyContainerOrdering(a, remote)
		} else {
			c.applyRemoteOrdering(a, remote)
		}
	}
}

func (c *cluster) applyRemoteOrdering(a *Action, remote *Resource) {
	state := c.remoteState(a.Node)
	task := a.Task
	if task == "migrate_to" || task == "migrate_from" {
		task = "stop"
	}
	switch task {
	case "start", "promote":
		opts := 0
		if state == remoteFailed {
			opts = orderImpliesThen
		}
		c.orderStartThenAction(remote, a, opts)
	case "stop":
		switch {
		case state == remoteAlive:
			c.orderActionThenStop(a, remote, orderImpliesFirst)
		case state == remoteFailed:
			c.fenceNode(a.Node, "resources are active but connection is unrecoverable")
		case remote.NextRole == RoleStopped:
			c.orderActionThenStop(a, remote, orderImpliesFirst)
		default:
			c.orderStartThenAction(remote, a, 0)
		}
	case "demote":
		if state == remoteResting || state == remoteUnknown {
			c.orderStartThenAction(remote, a, 0)
		}
	default:
		if a.Interval > 0 {
			c.orderStartThenAction(remote, a, orderImpliesThen)
			return
		}
		if a.Task == "monitor" && state == remoteFailed {
			c.fenceNode(a.Node, "resources are in unknown state and connection is unrecoverable")
		}
		if remote.currentNode() != nil && state == remoteStopped {
			c.orderActionThenStop(a, remote, orderRunnableLeft)
		} else {
			c.orderStartThenAction(remote, a, 0)
		}
	}
}

// avoidRemoteNodes bans connection resources and fence devices from remote
// nodes (rsc_avoids_remote_nodes).
func (c *cluster) avoidRemoteNodes(r *Resource) {
	for n := range r.Allowed {
		if n.isRemote() {
			r.Allowed[n] = -Infinity
		}
	}
}
