package pengine

import "strings"

// Migration history (unpack.c unpack_migrate_to_success and friends).

// lrmIndex maps node name → lrm_resource id → history entries.
func (c *cluster) lrmOps(rscID, node string) ([]*lrmOp, bool) {
	if c.lrmIdx == nil {
		c.lrmIdx = map[string]map[string][]*lrmOp{}
		if c.status != nil {
			for _, st := range c.status.SelectElements("node_state") {
				m := map[string][]*lrmOp{}
				if lrm := st.SelectElement("lrm"); lrm != nil {
					if rs := lrm.SelectElement("lrm_resources"); rs != nil {
						for _, lr := range rs.SelectElements("lrm_resource") {
							ops := []*lrmOp{}
							for _, e := range lr.SelectElements("lrm_rsc_op") {
								ops = append(ops, parseLrmOp(e))
							}
							m[attr(lr, "id")] = ops
						}
					}
				}
				c.lrmIdx[attr(st, "uname")] = m
			}
		}
	}
	ops, ok := c.lrmIdx[node][rscID]
	return ops, ok
}

// isNewerOp is pe__is_newer_op (> 0 when a is newer than b).
func isNewerOp(a, b *lrmOp, sameDefault bool) int {
	an, bn := attr(a.XML, "on_node"), attr(b.XML, "on_node")
	same := sameDefault
	if an != "" && bn != "" {
		same = an == bn
	}
	switch {
	case a.CallID == -1 && b.CallID == -1:
		return 0
	case same && a.CallID >= 0 && a.CallID < b.CallID:
		return -1
	case same && b.CallID >= 0 && a.CallID > b.CallID:
		return 1
	case a.CallID >= 0 && b.CallID >= 0 && (!same || a.CallID == b.CallID):
		if a.LastChange < b.LastChange {
			return -1
		} else if a.LastChange > b.LastChange {
			return 1
		}
		return 0
	}
	if b.CallID == -1 {
		return -1
	}
	if a.CallID == -1 {
		return 1
	}
	return 0
}

func (c *cluster) findLrmOp(rscID, task, node, source string, targetRC int) *lrmOp {
	ops, _ := c.lrmOps(rscID, node)
	for _, op := range ops {
		if op.Task != task {
			continue
		}
		if source != "" && task == "migrate_to" && op.MigrateTarget != source {
			continue
		}
		if source != "" && task == "migrate_from" && op.MigrateSource != source {
			continue
		}
		if targetRC >= 0 && (op.RC != targetRC || op.Status != execDone) {
			return nil
		}
		return op
	}
	return nil
}

func (c *cluster) unknownOnNode(rscID, node string) bool {
	ops, ok := c.lrmOps(rscID, node)
	return !ok || len(ops) == 0
}

func (c *cluster) nonMonitorAfter(rscID, node string, op *lrmOp, same bool) bool {
	ops, _ := c.lrmOps(rscID, node)
	for _, o := range ops {
		if o.XML == op.XML {
			continue
		}
		switch o.Task {
		case "start", "stop", "migrate_to", "migrate_from":
			if isNewerOp(o, op, same) > 0 {
				return true
			}
		}
	}
	return false
}

func (c *cluster) monitorNotRunningAfter(rscID, node string, op *lrmOp, same bool) bool {
	m := c.findLrmOp(rscID, "monitor", node, "", 7)
	return m != nil && isNewerOp(m, op, same) > 0
}

func (c *cluster) newerStateAfterMigrate(rscID, node string, to, from *lrmOp) bool {
	op := to
	if from != nil {
		op = from
	}
	source, target := op.MigrateSource, op.MigrateTarget
	same := false
	if node == target {
		if from != nil {
			op, same = from, true
		} else {
			op = to
		}
	} else if node == source {
		if to != nil {
			op, same = to, true
		} else {
			op = from
		}
	}
	return c.nonMonitorAfter(rscID, node, op, same) || c.monitorNotRunningAfter(rscID, node, op, same)
}

func (c *cluster) migrateToSuccessFull(r *Resource, n *Node, op *lrmOp) {
	source, target := op.MigrateSource, op.MigrateTarget
	if source == "" || target == "" || source != n.Uname {
		return
	}
	id := r.historyID(n)
	sourceNewer := c.nonMonitorAfter(id, source, op, true)
	from := c.findLrmOp(id, "migrate_from", target, source, -1)
	if sourceNewer && from != nil {
		return
	}
	targetNewer := c.newerStateAfterMigrate(id, target, op, from)
	if sourceNewer && targetNewer {
		return
	}
	r.Role = RoleStarted
	tn, sn := c.nodeByName[target], c.nodeByName[source]
	switch {
	case from != nil && from.RC == 0 && from.Status == execDone:
		r.Role = RoleStopped
		r.dangling = append(r.dangling, n)
	case from != nil && from.Status != execPending:
		if !targetNewer && tn != nil && tn.Online {
			c.addRunning(r, tn, true)
		} else {
			r.Failed, r.StopFlag = true, true
			r.AllowMigrate = false
		}
	default:
		if !targetNewer && tn != nil && tn.Online {
			c.addRunning(r, tn, false)
			if sn != nil && sn.Online {
				r.PartialMigTarget, r.PartialMigSource = tn, sn
			}
		} else if !sourceNewer {
			r.Failed, r.StopFlag = true, true
			r.AllowMigrate = false
		}
	}
}

func (c *cluster) migrateToFailure(r *Resource, n *Node, op *lrmOp) {
	source, target := op.MigrateSource, op.MigrateTarget
	if source == "" || target == "" || source != n.Uname {
		return
	}
	id := r.historyID(n)
	r.Role = RoleStarted
	from := c.findLrmOp(id, "migrate_from", target, source, 0)
	if !c.unknownOnNode(id, target) && !c.newerStateAfterMigrate(id, target, op, from) {
		if tn := c.nodeByName[target]; tn != nil && tn.Online {
			c.addRunning(r, tn, false)
		}
	} else if !c.nonMonitorAfter(id, source, op, true) {
		r.dangling = append(r.dangling, n)
	}
}

func (c *cluster) migrateFromFailure(r *Resource, n *Node, op *lrmOp) {
	source, target := op.MigrateSource, op.MigrateTarget
	if source == "" || target == "" || target != n.Uname {
		return
	}
	id := r.historyID(n)
	r.Role = RoleStarted
	to := c.findLrmOp(id, "migrate_to", source, target, 0)
	if !c.unknownOnNode(id, source) && !c.newerStateAfterMigrate(id, source, to, op) {
		if sn := c.nodeByName[source]; sn != nil && sn.Online {
			c.addRunning(r, sn, true)
		}
	}
}

// historyID is the id the resource's history is recorded under.
func (r *Resource) historyID(n *Node) string {
	if r.CloneName != "" && !strings.Contains(r.CloneName, " ") {
		return r.CloneName
	}
	return r.ID
}
