package pengine

import (
	"sort"
)

func (n *Node) available(weight int, considerScore bool) bool {
	if n == nil || !n.Online || n.Shutdown || n.Unclean || n.Standby || n.Maintenance {
		return false
	}
	if considerScore && weight < 0 {
		return false
	}
	return true
}

func (c *cluster) anyAvailable(m map[*Node]int) bool {
	for n, w := range m {
		if n.available(w, true) {
			return true
		}
	}
	return false
}

// sortedNodes returns nodes of a score table best first (compare_nodes).
func (c *cluster) sortedNodes(m map[*Node]int, active *Node) []*Node {
	out := make([]*Node, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	eff := func(n *Node) int {
		if n.available(0, false) {
			return m[n]
		}
		return -Infinity
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		wa, wb := eff(a), eff(b)
		if wa != wb {
			return wa > wb
		}
		if c.placementStrategy != "minimal" {
			if c.placementStrategy == "balanced" {
				if r := c.compareCapacity(a, b); r != 0 {
					return r < 0
				}
			}
			if a.NumResources != b.NumResources {
				return a.NumResources < b.NumResources
			}
			if active != nil {
				if a == active {
					return true
				}
				if b == active {
					return false
				}
			}
		}
		return a.Uname < b.Uname
	})
	return out
}

func (r *Resource) currentNode() *Node {
	if len(r.RunningOn) == 0 {
		return nil
	}
	return r.RunningOn[0]
}

// applyNodeCriteria applies locations, stickiness and failure thresholds.
func (c *cluster) applyNodeCriteria(locs []*location) {
	if isTrue(c.opt("shutdown-lock")) {
		for _, r := range c.allResources() {
			if r.Kind == KindPrimitive {
				c.shutdownLock(r)
			}
		}
	}
	for _, l := range locs {
		c.applyLocation(l, l.rsc)
	}
	for _, r := range c.resources {
		c.applyStickiness(r)
	}
	for _, n := range c.nodes {
		for _, r := range c.resources {
			c.checkFailureThreshold(r, n)
			c.applyExclusiveDiscovery(r, n)
		}
	}
}

func (c *cluster) applyStickiness(r *Resource) {
	if len(r.Children) > 0 {
		for _, ch := range r.Children {
			c.applyStickiness(ch)
		}
		return
	}
	if !r.Managed || r.Stickiness < 1 || len(r.RunningOn) != 1 {
		return
	}
	n := r.RunningOn[0]
	if _, ok := r.Allowed[n]; !ok && !c.symmetric {
		return
	}
	c.resourceLocation(r, n, r.Stickiness)
}

// resourceLocation adds a score for a node to r and its children.
func (c *cluster) resourceLocation(r *Resource, n *Node, score int) {
	if old, ok := r.Allowed[n]; ok {
		r.Allowed[n] = addScore(old, score)
	} else {
		r.Allowed[n] = score
	}
	for _, ch := range r.Children {
		c.resourceLocation(ch, n, score)
	}
}

func (c *cluster) checkFailureThreshold(r *Resource, n *Node) {
	if len(r.Children) > 0 {
		for _, ch := range r.Children {
			c.checkFailureThreshold(ch, n)
		}
		return
	}
	if a := r.findExact(opKeyFor(r.ID, "clear_failcount", 0), n); a != nil {
		return
	}
	if r.MigrationThreshold == 0 || r.FailureIgnored {
		return
	}
	fc, _ := c.failCount(r, n, true, nil)
	if fc <= 0 {
		return
	}
	ban := r
	if !r.Unique {
		ban = r.top()
	}
	if r.MigrationThreshold-fc <= 0 {
		c.resourceLocation(ban, n, -Infinity)
	}
}

func (c *cluster) applyExclusiveDiscovery(r *Resource, n *Node) {
	if r.ExclusiveDiscover || r.top().ExclusiveDiscover {
		for _, ch := range r.Children {
			c.applyExclusiveDiscovery(ch, n)
		}
		if _, ok := r.Allowed[n]; ok && r.Discover[n] != "exclusive" {
			r.Allowed[n] = -Infinity
		}
	}
}

// assign places a resource (the variant's assign method).
func (c *cluster) assign(r *Resource, prefer *Node) *Node {
	switch r.Kind {
	case KindGroup:
		return c.assignGroup(r, prefer)
	case KindClone:
		return c.assignClone(r, prefer)
	}
	return c.assignPrimitive(r, prefer)
}

func (c *cluster) assignGroup(r *Resource, prefer *Node) *Node {
	if !r.Provisional {
		return r.AllocatedTo
	}
	if r.Allocating {
		return nil
	}
	if len(r.Children) == 0 {
		r.Provisional = false
		return nil
	}
	r.Allocating = true
	first := r.Children[0]
	r.Role = first.Role
	c.expandGroupColocations(r)
	var firstNode *Node
	for _, m := range r.Children {
		n := c.assign(m, prefer)
		if firstNode == nil {
			firstNode = n
		}
	}
	r.NextRole = first.NextRole
	r.Allocating = false
	r.Provisional = false
	if !r.Colocated {
		return nil
	}
	r.AllocatedTo = firstNode
	return firstNode
}

func (c *cluster) expandGroupColocations(r *Resource) {
	if len(r.Children) == 0 || r.expanded {
		return
	}
	r.expanded = true
	first := r.Children[0]
	for _, co := range r.ThisWith {
		first.ThisWith = append(first.ThisWith, co)
	}
	anyUnmanaged := !first.Managed
	for _, m := range r.Children[1:] {
		if anyUnmanaged {
			for _, co := range r.ThisWith {
				if co.Score >= Infinity {
					m.ThisWith = append(m.ThisWith, co)
				}
			}
		} else if !m.Managed {
			anyUnmanaged = true
		}
	}
	r.ThisWith = nil
	last := r.Children[len(r.Children)-1]
	for _, co := range r.WithThis {
		last.WithThis = append(last.WithThis, co)
	}
	r.WithThis = nil
}

func copyScores(m map[*Node]int) map[*Node]int {
	out := make(map[*Node]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *cluster) assignPrimitive(r *Resource, prefer *Node) *Node {
	if r.Parent != nil && !r.Parent.Allocating {
		c.assign(r.Parent, prefer)
	}
	if !r.Provisional {
		return r.AllocatedTo
	}
	if r.Allocating {
		return nil
	}
	r.Allocating = true
	for _, co := range r.ThisWith {
		var archive map[*Node]int
		if co.DependentRole >= RolePromoted || (co.Score < 0 && co.Score > -Infinity) {
			archive = copyScores(r.Allowed)
		}
		c.assign(co.Primary, nil)
		c.applyColocScore(r, co.Primary, co)
		if archive != nil && !c.anyAvailable(r.Allowed) {
			r.Allowed = archive
		}
	}
	for _, co := range r.WithThis {
		if !co.Influence && len(co.Primary.RunningOn) > 0 {
			continue
		}
		factor := float64(co.Score) / float64(Infinity)
		c.addColocatedNodeScores(co.Dependent, r, r.Allowed, co.NodeAttr, factor, true, false)
	}
	if r.NextRole == RoleStopped {
		for _, n := range c.nodes {
			r.Allowed[n] = -Infinity
		}
	} else if r.NextRole > r.Role && !c.haveQuorum && c.noQuorumPolicy == "freeze" {
		r.NextRole = r.Role
	}
	c.showScores("pcmk__primitive_assign", r)
	if c.stonithEnabled && !c.haveStonithResource {
		r.Managed = false
	}
	switch {
	case !r.Managed:
		if r.Role != RoleUnknown {
			r.NextRole = r.Role
		}
		c.finalizeAssignment(r, r.currentNode(), true)
	case c.stopAll:
		c.finalizeAssignment(r, nil, true)
	case r.Provisional && c.assignBestNode(r, prefer):
	}
	r.Allocating = false
	if r.remoteNode != nil {
		c.remoteConnectionAssigned(r)
	}
	return r.AllocatedTo
}

func (c *cluster) showScores(fn string, r *Resource) {
	if !c.opts.ShowScores {
		return
	}
	for _, n := range c.nodes {
		if w, ok := r.Allowed[n]; ok {
			c.scores = append(c.scores, fn+": "+r.ID+" allocation score on "+n.Uname+": "+scoreString(w))
		}
	}
}

func (c *cluster) assignBestNode(r *Resource, prefer *Node) bool {
	most := c.banInsufficientCapacity(r)
	if prefer == nil {
		prefer = most
	}
	if !r.Provisional {
		return r.AllocatedTo != nil
	}
	nodes := c.sortedNodes(r.Allowed, r.currentNode())
	var best, chosen *Node
	if len(nodes) > 0 {
		best = nodes[0]
	}
	if prefer != nil && len(nodes) > 0 {
		if w, ok := r.Allowed[prefer]; ok {
			if w >= r.Allowed[best] && prefer.available(w, true) {
				chosen = prefer
			}
		}
	}
	if chosen == nil && best != nil {
		chosen = best
		cp := r.cloneParent()
		if !(cp != nil && cp.Unique) && r.Allowed[chosen] > 0 && chosen.available(r.Allowed[chosen], false) {
			running := r.currentNode()
			if running != nil && running.available(r.Allowed[running], true) {
				for _, n := range nodes[1:] {
					if r.Allowed[n] != r.Allowed[chosen] {
						break
					}
					if n == running {
						chosen = n
					}
				}
			}
		}
	}
	return c.finalizeAssignment(r, chosen, false)
}

// finalizeAssignment is pcmk__finalize_assignment (primitives only).
func (c *cluster) finalizeAssignment(r *Resource, chosen *Node, force bool) bool {
	if !force && chosen != nil {
		w := r.Allowed[chosen]
		if w < 0 || !chosen.available(w, true) {
			r.NextRole = RoleStopped
			chosen = nil
		}
	}
	if r.AllocatedTo != nil {
		r.AllocatedTo.NumResources--
		releaseCapacity(r.AllocatedTo, r)
		r.AllocatedTo = nil
	}
	r.Provisional = false
	if chosen == nil {
		r.NextRole = RoleStopped
		for _, a := range r.Actions {
			switch a.Task {
			case "stop":
				a.clear(aOptional)
			case "start":
				a.clear(aRunnable)
			default:
				if a.Interval > 0 && a.Meta["op_target_rc"] != "7" {
					a.clear(aRunnable)
				}
			}
		}
		return false
	}
	r.AllocatedTo = chosen
	r.allocScore = r.Allowed[chosen]
	chosen.NumResources++
	consumeCapacity(chosen, r)
	return true
}

// assignTo forces an assignment of r and its descendants (pcmk__assign_resource).
func (c *cluster) assignTo(r *Resource, n *Node) {
	if len(r.Children) == 0 {
		c.finalizeAssignment(r, n, true)
		return
	}
	for _, ch := range r.Children {
		c.assignTo(ch, n)
	}
	r.Provisional = false
}

// applyColocScore applies a colocation to the dependent's scores (the
// primary's apply_coloc_score for a dependent).
func (c *cluster) applyColocScore(dep, pri *Resource, co *Colocation) {
	if dep.Kind == KindGroup {
		if dep.Colocated && len(dep.Children) > 0 {
			c.applyColocScore(dep.Children[0], pri, co)
			return
		}
		if co.Score >= Infinity {
			return
		}
		for _, m := range dep.Children {
			c.applyColocScore(m, pri, co)
		}
		return
	}
	switch pri.Kind {
	case KindGroup:
		if pri.Provisional {
			return
		}
		if pri.Colocated {
			var m *Resource
			if len(pri.Children) == 0 {
				return
			}
			if co.Score >= Infinity {
				m = pri.Children[len(pri.Children)-1]
			} else {
				m = pri.Children[0]
			}
			if m != nil {
				c.applyColocScore(dep, m, co)
			}
			return
		}
		if co.Score >= Infinity {
			return
		}
		for _, m := range pri.Children {
			c.applyColocScore(dep, m, co)
		}
		return
	case KindClone:
		c.applyColocWithClone(dep, pri, co)
		return
	}
	switch c.colocationAffects(dep, pri, co, false) {
	case affectsRole:
		c.applyColocToPriority(dep, pri, co)
	case affectsLocation:
		c.applyColocToWeights(dep, pri, co)
	}
}

const (
	affectsNothing = iota
	affectsLocation
	affectsRole
)

func (c *cluster) colocationAffects(dep, pri *Resource, co *Colocation, preview bool) int {
	if !preview && pri.Provisional {
		return affectsNothing
	}
	if co.DependentRole >= RoleUnpromoted && dep.Parent != nil && dep.Parent.Promotable && !dep.Provisional {
		return affectsRole
	}
	if !preview && !dep.Provisional {
		return affectsNothing
	}
	if co.Score > 0 && co.DependentRole != RoleUnknown && co.DependentRole != dep.NextRole {
		return affectsNothing
	}
	if co.Score > 0 && co.PrimaryRole != RoleUnknown && co.PrimaryRole != pri.NextRole {
		return affectsNothing
	}
	if co.Score < 0 && co.DependentRole != RoleUnknown && co.DependentRole == dep.NextRole {
		return affectsNothing
	}
	if co.Score < 0 && co.PrimaryRole != RoleUnknown && co.PrimaryRole == pri.NextRole {
		return affectsNothing
	}
	return affectsLocation
}

func nodeAttrOr(n *Node, a string) string {
	if a == "" {
		a = "#id"
	}
	return n.Attrs[a]
}

func (c *cluster) applyColocToWeights(dep, pri *Resource, co *Colocation) {
	attrName := co.NodeAttr
	if attrName == "" {
		attrName = "#id"
	}
	var value string
	if pri.AllocatedTo != nil {
		value = pri.AllocatedTo.Attrs[attrName]
	} else if co.Score < 0 {
		return
	}
	work := copyScores(dep.Allowed)
	for n, w := range work {
		switch {
		case pri.AllocatedTo == nil:
			work[n] = addScore(-co.Score, w)
		case n.Attrs[attrName] == value:
			if co.Score < Infinity {
				work[n] = addScore(co.Score, w)
			}
		case co.Score >= Infinity:
			work[n] = addScore(-co.Score, w)
		}
	}
	if co.Score <= -Infinity || co.Score >= Infinity || c.anyAvailable(work) {
		dep.Allowed = work
	}
}

func (c *cluster) applyColocToPriority(dep, pri *Resource, co *Colocation) {
	if pri.AllocatedTo == nil || dep.AllocatedTo == nil {
		return
	}
	a := co.NodeAttr
	if nodeAttrOr(dep.AllocatedTo, a) != nodeAttrOr(pri.AllocatedTo, a) {
		if co.Score == Infinity && co.DependentRole == RolePromoted {
			dep.Priority = -Infinity
		}
		return
	}
	if co.PrimaryRole != RoleUnknown && co.PrimaryRole != pri.NextRole {
		return
	}
	mult := 1
	if co.DependentRole == RoleUnpromoted {
		mult = -1
	}
	dep.Priority = addScore(mult*co.Score, dep.Priority)
}

const infinityHack = Infinity * -100

// addColocatedNodeScores folds the preferences of rsc (a dependent of
// colocations with "target") into nodes (pcmk__add_colocated_node_scores).
func (c *cluster) addColocatedNodeScores(rsc, target *Resource, nodes map[*Node]int, attrName string, factor float64, active, onlyPositive bool) {
	flags := 0
	if active {
		flags |= selActive
	}
	if onlyPositive {
		flags |= selNonNegative
	}
	out := c.addColocatedRec(rsc, nodes, attrName, factor, flags, map[*Resource]bool{})
	if out != nil {
		for k := range nodes {
			delete(nodes, k)
		}
		for k, v := range out {
			nodes[k] = v
		}
	}
}

const (
	selActive = 1 << iota
	selNonNegative
	selThisWith
)

// addColocatedRec returns the new table, or nil to leave nodes unchanged.
// A nil nodes table starts from the resource's own scores (cmp_resources).
func (c *cluster) addColocatedRec(rsc *Resource, nodes map[*Node]int, attrName string, factor float64, flags int, visiting map[*Resource]bool) map[*Node]int {
	if visiting[rsc] {
		return nil
	}
	visiting[rsc] = true
	defer delete(visiting, rsc)
	var work map[*Node]int
	if rsc.Kind == KindGroup {
		if len(rsc.Children) == 0 {
			return nil
		}
		member := rsc.Children[0]
		if nodes == nil {
			member = rsc.Children[len(rsc.Children)-1]
		}
		var base map[*Node]int
		if nodes != nil {
			base = copyScores(nodes)
		}
		work = c.addColocatedRec(member, base, attrName, factor, flags, visiting)
		if work == nil {
			if base == nil {
				return nil
			}
			work = base
		}
	} else if nodes == nil {
		work = copyScores(rsc.Allowed)
	} else {
		work = copyScores(nodes)
		c.addNodeScoresMatchingAttr(work, rsc, attrName, factor, flags&selNonNegative != 0)
	}
	if c.anyAvailable(work) {
		mult := 1.0
		if factor < 0 {
			mult = -1
		}
		var list []*Colocation
		switch {
		case flags&selThisWith != 0:
			list = rsc.ThisWith
		case rsc.Kind == KindGroup && len(rsc.Children) > 0:
			list = rsc.Children[len(rsc.Children)-1].WithThis
		default:
			list = rsc.WithThis
		}
		for _, co := range list {
			other := co.Dependent
			if flags&selThisWith != 0 {
				other = co.Primary
			} else if !co.Influence && len(co.Primary.RunningOn) > 0 {
				continue
			}
			f := mult * float64(co.Score) / float64(Infinity)
			if w := c.addColocatedRec(other, work, co.NodeAttr, f, flags|selActive, visiting); w != nil {
				work = w
			}
		}
	} else if flags&selActive != 0 {
		return nil
	}
	if flags&selNonNegative != 0 {
		for n, w := range work {
			if w == infinityHack {
				work[n] = 1
			}
		}
	}
	return work
}

func (c *cluster) bestScoreMatchingAttr(rsc *Resource, attrName, value string) int {
	best := -Infinity
	for n, w := range rsc.Allowed {
		if w > best && n.available(w, false) && n.Attrs[attrName] == value {
			best = w
		}
	}
	return best
}

func (c *cluster) addNodeScoresMatchingAttr(nodes map[*Node]int, rsc *Resource, attrName string, factor float64, onlyPositive bool) {
	if attrName == "" {
		attrName = "#uname"
	}
	for n, w := range nodes {
		score := c.bestScoreMatchingAttr(rsc, attrName, n.Attrs[attrName])
		if factor < 0 && score < 0 {
			continue
		}
		if w == infinityHack {
			continue
		}
		wf := factor * float64(score)
		weight := 0
		if wf < 0 {
			weight = int(wf - 0.5)
		} else {
			weight = int(wf + 0.5)
		}
		if weight == 0 && score != 0 {
			if factor > 0 {
				weight = 1
			} else if factor < 0 {
				weight = -1
			}
		}
		ns := addScore(weight, w)
		if onlyPositive && ns < 0 && w > 0 {
			nodes[n] = infinityHack
			continue
		}
		if onlyPositive && ns < 0 && w == 0 {
			continue
		}
		nodes[n] = ns
	}
}

// shutdownLock is pcmk__primitive_shutdown_lock: a resource active on a
// single node that is shutting down stays locked to it.
func (c *cluster) shutdownLock(r *Resource) {
	if r.IsFenceDevice || r.remoteNode != nil {
		return
	}
	if r.lockNode != nil {
		if len(r.RunningOn) > 0 {
			r.lockNode = nil
		}
	} else if len(r.RunningOn) == 1 {
		n := r.RunningOn[0]
		if n.Shutdown && !n.Unclean {
			r.lockNode = n
		}
	}
	if r.lockNode == nil {
		return
	}
	for _, n := range c.nodes {
		if n != r.lockNode {
			c.resourceLocation(r, n, -Infinity)
		}
	}
}
