package pengine

import "sort"

// assignClone distributes clone instances (pcmk__clone_assign /
// distribute_children): instances stay where they run when allowed, the
// rest go to the best nodes with room, honouring clone-max and
// clone-node-max.
func (c *cluster) assignClone(r *Resource, prefer *Node) *Node {
	if !r.Provisional {
		return nil
	}
	if r.Allocating {
		return nil
	}
	r.Allocating = true
	for _, co := range r.ThisWith {
		c.assign(co.Primary, nil)
		c.applyColocScore(r, co.Primary, co)
	}
	for _, co := range r.WithThis {
		if !co.Influence && len(co.Primary.RunningOn) > 0 {
			continue
		}
		factor := float64(co.Score) / float64(Infinity)
		c.addColocatedNodeScores(co.Dependent, r, r.Allowed, co.NodeAttr, factor, true, false)
	}
	c.showScores("pcmk__clone_allocate", r)
	// Order instances: active ones first, then by instance number.
	insts := append([]*Resource(nil), r.Children...)
	sort.SliceStable(insts, func(i, j int) bool {
		ai, aj := len(insts[i].RunningOn) > 0, len(insts[j].RunningOn) > 0
		if ai != aj {
			return ai
		}
		return false
	})
	count := map[*Node]int{}
	assigned := 0
	max := r.CloneMax
	nodeMax := r.CloneNodeMax
	// Instances inherit the clone's node scores (colocations, locations).
	for _, inst := range insts {
		for n, w := range r.Allowed {
			if _, ok := inst.Allowed[n]; !ok {
				inst.Allowed[n] = w
			} else if w <= -Infinity {
				inst.Allowed[n] = -Infinity
			}
		}
		for n := range inst.Allowed {
			if w, ok := r.Allowed[n]; !ok || w <= -Infinity {
				inst.Allowed[n] = -Infinity
			}
		}
	}
	// First pass: keep active instances on their current node.
	for _, inst := range insts {
		cur := inst.currentNode()
		if cur == nil || len(inst.RunningOn) != 1 || assigned >= max {
			continue
		}
		if !cur.available(inst.Allowed[cur], true) || count[cur] >= nodeMax {
			continue
		}
		if w, ok := r.Allowed[cur]; !ok || w < 0 {
			continue
		}
		if inst.Failed && inst.StopFlag {
			// a failed instance is recovered through normal assignment
		}
		if c.assignInstance(inst, cur, count) {
			assigned++
		}
	}
	// Second pass: everything else.
	for _, inst := range insts {
		if !inst.Provisional {
			continue
		}
		if assigned >= max {
			c.assignTo(inst, nil)
			continue
		}
		for n := range count {
			if count[n] >= nodeMax {
				inst.Allowed[n] = -Infinity
			}
		}
		if c.assignInstance(inst, nil, count) {
			assigned++
		}
	}
	r.Allocating = false
	r.Provisional = false
	if r.Promotable {
		c.setPromotionRoles(r)
	}
	return nil
}

func (c *cluster) assignInstance(inst *Resource, prefer *Node, count map[*Node]int) bool {
	var n *Node
	if prefer != nil {
		// pre-assign on the preferred node only if it stays the best option
		saved := copyScores(inst.Allowed)
		for k := range inst.Allowed {
			if k != prefer {
				inst.Allowed[k] = -Infinity
			}
		}
		n = c.assign(inst, prefer)
		if n == nil {
			inst.Allowed = saved
			// undo
			unprovision(inst)
			return false
		}
		inst.Allowed = saved
	} else {
		n = c.assign(inst, nil)
	}
	if inst.Kind == KindGroup {
		n = inst.AllocatedTo
		if n == nil && len(inst.Children) > 0 {
			n = inst.Children[0].AllocatedTo
		}
	}
	if n == nil {
		return false
	}
	count[n]++
	return true
}

func unprovision(r *Resource) {
	r.walk(func(x *Resource) {
		if x.AllocatedTo != nil {
			x.AllocatedTo.NumResources--
		}
		x.Provisional = true
		x.AllocatedTo = nil
		if x.NextRole == RoleStopped && !x.hasTargetRole {
			x.NextRole = RoleUnknown
		}
	})
}

// applyColocWithClone handles "dependent with clone" (pcmk__clone_apply_coloc_score
// for a non-clone dependent): the dependent may only run where an instance runs
// (mandatory) or prefers those nodes.
func (c *cluster) applyColocWithClone(dep, pri *Resource, co *Colocation) {
	if pri.Provisional {
		return
	}
	if co.Score >= Infinity {
		allowed := map[*Node]bool{}
		for _, inst := range pri.Children {
			for _, p := range inst.primitives() {
				if p.AllocatedTo != nil && (co.PrimaryRole == RoleUnknown || p.NextRole == co.PrimaryRole || (co.PrimaryRole == RoleUnpromoted && p.NextRole == RoleStarted)) {
					allowed[p.AllocatedTo] = true
				}
			}
		}
		for n := range dep.Allowed {
			if !allowed[n] {
				dep.Allowed[n] = -Infinity
			}
		}
		return
	}
	for _, inst := range pri.Children {
		for _, p := range inst.primitives() {
			if p.AllocatedTo == nil {
				continue
			}
			if co.PrimaryRole != RoleUnknown && p.NextRole != co.PrimaryRole {
				continue
			}
			if w, ok := dep.Allowed[p.AllocatedTo]; ok {
				dep.Allowed[p.AllocatedTo] = addScore(w, co.Score)
			}
		}
		break
	}
}

// setPromotionRoles picks which instances of a promotable clone are promoted.
func (c *cluster) setPromotionRoles(r *Resource) {
	type cand struct {
		inst  *Resource
		score int
	}
	var cands []cand
	for _, inst := range r.Children {
		n := inst.AllocatedTo
		if n == nil {
			for _, p := range inst.primitives() {
				if p.AllocatedTo != nil {
					n = p.AllocatedTo
				}
			}
		}
		if n == nil {
			continue
		}
		score := c.promotionScore(inst, n)
		cands = append(cands, cand{inst, score})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].inst.Role > cands[j].inst.Role
	})
	promoted := 0
	perNode := map[*Node]int{}
	for _, cd := range cands {
		n := cd.inst.AllocatedTo
		if n == nil {
			n = cd.inst.primitives()[0].AllocatedTo
		}
		role := RoleUnpromoted
		if cd.score >= 0 && promoted < r.PromotedMax && perNode[n] < r.PromotedNodeMax && !cd.inst.ticketDemote {
			if !(cd.inst.hasTargetRole && cd.inst.TargetRole < RolePromoted) {
				role = RolePromoted
				promoted++
				perNode[n]++
			}
		}
		cd.inst.walk(func(x *Resource) {
			if x.NextRole == RoleUnknown || x.NextRole > role {
				x.NextRole = role
			}
		})
		if c.opts.ShowScores {
			c.scores = append(c.scores, cd.inst.ID+" promotion score on "+n.Uname+": "+scoreString(cd.score))
		}
	}
}

func (c *cluster) promotionScore(inst *Resource, n *Node) int {
	score := 0
	found := false
	for _, p := range inst.primitives() {
		for _, name := range []string{"master-" + p.ID, "master-" + p.XMLID, "promotion-" + p.ID} {
			if v, ok := n.Attrs[name]; ok {
				score = addScore(score, parseScore(v, nil))
				found = true
				break
			}
		}
	}
	if !found {
		if inst.Role == RolePromoted && len(inst.RunningOn) > 0 {
			return 0
		}
		return -1
	}
	if w, ok := inst.top().Allowed[n]; ok && w < 0 {
		return -Infinity
	}
	return score
}
