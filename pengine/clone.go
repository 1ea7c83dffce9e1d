package pengine

import "sort"

// topAllowed is pcmk__top_allowed_node: the clone-level score entry for a node.
func topAllowed(r *Resource, n *Node) (int, bool) {
	t := r.top()
	w, ok := t.Allowed[n]
	return w, ok
}

// updateScore adds score to r's (and its children's) entry for n
// (common_update_score).
func updateScore(r *Resource, n *Node, score int) {
	if w, ok := r.Allowed[n]; ok {
		r.Allowed[n] = addScore(w, score)
	}
	for _, ch := range r.Children {
		updateScore(ch, n, score)
	}
}

// assignClone distributes clone instances (pcmk__clone_allocate).
func (c *cluster) assignClone(r *Resource, prefer *Node) *Node {
	if !r.Provisional || r.Allocating {
		return nil
	}
	if r.Promotable {
		c.addPromotionScores(r)
	}
	r.Allocating = true
	for _, co := range r.ThisWith {
		c.assign(co.Primary, prefer)
	}
	for _, co := range r.WithThis {
		if c.colocHasInfluence(co, nil) {
			factor := float64(co.Score) / float64(Infinity)
			c.addColocatedNodeScores(co.Dependent, r, r.Allowed, co.NodeAttr, factor, true, true)
		}
	}
	c.showScores("pcmk__clone_allocate", r)
	if r.count == nil {
		r.count = map[*Node]int{}
	}
	sort.SliceStable(r.Children, func(i, j int) bool { return c.cmpInstance(r.Children[i], r.Children[j]) < 0 })
	c.distributeChildren(r)
	if r.Promotable {
		c.setInstanceRoles(r)
	}
	r.Provisional = false
	r.Allocating = false
	return nil
}

func (c *cluster) colocHasInfluence(co *Colocation, r *Resource) bool {
	if r == nil {
		r = co.Primary
	}
	return co.Influence || len(r.RunningOn) == 0
}

func (r *Resource) activeNodes() []*Node {
	var out []*Node
	for _, p := range r.primitives() {
		for _, n := range p.RunningOn {
			dup := false
			for _, x := range out {
				if x == n {
					dup = true
				}
			}
			if !dup {
				out = append(out, n)
			}
		}
	}
	return out
}

func didFail(r *Resource) bool {
	if r.Failed {
		return true
	}
	for _, ch := range r.Children {
		if didFail(ch) {
			return true
		}
	}
	return false
}

// cmpInstance orders clone instances for assignment (pcmk__cmp_instance).
func (c *cluster) cmpInstance(a, b *Resource) int {
	na, nb := a.activeNodes(), b.activeNodes()
	if len(na) > 0 && len(nb) > 0 && len(na) != len(nb) {
		if len(na) < len(nb) {
			return -1
		}
		return 1
	}
	var n1, n2 *Node
	if len(na) > 0 {
		n1 = na[0]
	}
	if len(nb) > 0 {
		n2 = nb[0]
	}
	allowed := func(r *Resource, n **Node) bool {
		if *n != nil {
			if w, ok := r.Allowed[*n]; !ok || w < 0 {
				*n = nil
				return false
			}
		}
		return true
	}
	can1, can2 := allowed(a, &n1), allowed(b, &n2)
	if can1 != can2 {
		if can1 {
			return -1
		}
		return 1
	}
	if a.Priority != b.Priority {
		if a.Priority > b.Priority {
			return -1
		}
		return 1
	}
	if n1 == nil && n2 == nil {
		return 0
	} else if n1 == nil {
		return 1
	} else if n2 == nil {
		return -1
	}
	c1, c2 := n1.available(0, false), n2.available(0, false)
	if c1 != c2 {
		if c1 {
			return -1
		}
		return 1
	}
	_, t1 := topAllowed(a, n1)
	_, t2 := topAllowed(b, n2)
	if !t1 && !t2 {
		return 0
	} else if !t1 {
		return 1
	} else if !t2 {
		return -1
	}
	top := a.top()
	if top.count[n1] != top.count[n2] {
		if top.count[n1] < top.count[n2] {
			return -1
		}
		return 1
	}
	f1, f2 := didFail(a), didFail(b)
	if !f1 && f2 {
		return -1
	} else if f1 && !f2 {
		return 1
	}
	if rc := c.cmpInstanceByColocation(a, b, na[0], nb[0]); rc != 0 {
		return rc
	}
	return a.InstanceNum - b.InstanceNum
}

func (c *cluster) cmpInstanceByColocation(a, b *Resource, cur1, cur2 *Node) int {
	score := func(r *Resource, n *Node) int {
		t := map[*Node]int{n: 0}
		for _, co := range r.Parent.ThisWith {
			c.addColocatedNodeScores(co.Primary, r, t, co.NodeAttr, float64(co.Score)/float64(Infinity), false, false)
		}
		for _, co := range r.Parent.WithThis {
			if !c.colocHasInfluence(co, r) {
				continue
			}
			c.addColocatedNodeScores(co.Dependent, r, t, co.NodeAttr, float64(co.Score)/float64(Infinity), false, true)
		}
		return t[n]
	}
	s1, s2 := score(a, cur1), score(b, cur2)
	if s1 < s2 {
		return 1
	} else if s1 > s2 {
		return -1
	}
	return 0
}

// distributeChildren assigns instances: first to their current nodes, then
// the rest (distribute_children).
func (c *cluster) distributeChildren(r *Resource) {
	max, perHost := r.CloneMax, r.CloneNodeMax
	available := 0
	for n := range r.Allowed {
		r.count[n] = 0
		if n.available(0, false) {
			available++
		}
	}
	allColoc := max < available
	loopMax := 1
	if available > 0 && max/available > 1 {
		loopMax = max / available
	}
	allocated := 0
	for _, ch := range r.Children {
		if allocated >= max {
			break
		}
		if len(ch.activeNodes()) == 0 || !ch.Provisional || ch.Failed {
			continue
		}
		cur := ch.activeNodes()[0]
		if w, ok := ch.Allowed[cur]; !cur.available(w, true) || !ok && false {
			continue
		}
		if _, ok := topAllowed(ch, cur); ok && r.count[cur] >= loopMax {
			continue
		}
		if c.allocateInstance(r, ch, cur, allColoc, perHost) != nil {
			allocated++
		}
	}
	for _, ch := range r.Children {
		if !ch.Provisional {
			continue
		}
		if allocated >= max {
			for _, n := range c.nodes {
				ch.walk(func(x *Resource) { x.Allowed[n] = -Infinity })
			}
			continue
		}
		if c.allocateInstance(r, ch, nil, allColoc, perHost) != nil {
			allocated++
		}
	}
}

func hasColoc(list []*Colocation, co *Colocation) bool {
	for _, x := range list {
		if x == co {
			return true
		}
	}
	return false
}

// appendParentColocation gives an instance its clone's colocations.
func (c *cluster) appendParentColocation(r, child *Resource, all bool) {
	for _, co := range r.ThisWith {
		if (all || co.Score < 0 || co.Score == Infinity) && !hasColoc(child.ThisWith, co) {
			child.ThisWith = append(child.ThisWith, co)
		}
	}
	for _, co := range r.WithThis {
		if !c.colocHasInfluence(co, child) {
			continue
		}
		if (all || co.Score < 0) && !hasColoc(child.WithThis, co) {
			child.WithThis = append(child.WithThis, co)
		}
	}
}

func (c *cluster) canRunInstance(r *Resource, limit int) {
	for n := range r.Allowed {
		ok := n.available(0, false) && !r.Orphan
		if ok {
			w, present := topAllowed(r, n)
			switch {
			case !present:
				ok = false
			case w < 0:
				updateScore(r, n, w)
				continue
			case r.top().count[n] < limit:
				continue
			default:
				ok = false
			}
		}
		updateScore(r, n, -Infinity)
	}
}

func snapshotScores(r *Resource) map[*Resource]map[*Node]int {
	out := map[*Resource]map[*Node]int{}
	r.walk(func(x *Resource) { out[x] = copyScores(x.Allowed) })
	return out
}

func (c *cluster) allocateInstance(clone, ch *Resource, prefer *Node, allColoc bool, limit int) *Node {
	if !ch.Provisional {
		return ch.location()
	}
	if ch.Allocating {
		return nil
	}
	c.appendParentColocation(clone, ch, allColoc)
	if prefer != nil {
		if w, ok := ch.Allowed[prefer]; !ok || w < 0 {
			return nil
		}
	}
	c.canRunInstance(ch, limit)
	backup := snapshotScores(ch)
	chosen := c.assign(ch, prefer)
	if ch.Kind == KindGroup {
		chosen = ch.location()
	}
	if chosen != nil && prefer != nil && chosen != prefer {
		for x, m := range backup {
			x.Allowed = m
		}
		unprovision(ch)
		chosen = nil
	}
	if chosen != nil {
		clone.count[chosen]++
	}
	return chosen
}

// location is where the resource is (or will be) placed.
func (r *Resource) location() *Node {
	if r.Kind == KindPrimitive {
		return r.AllocatedTo
	}
	if r.AllocatedTo != nil {
		return r.AllocatedTo
	}
	for _, ch := range r.Children {
		if n := ch.location(); n != nil {
			return n
		}
	}
	return nil
}

func unprovision(r *Resource) {
	r.walk(func(x *Resource) {
		if x.AllocatedTo != nil && x.Kind == KindPrimitive {
			x.AllocatedTo.NumResources--
			releaseCapacity(x.AllocatedTo, x)
		}
		x.Provisional = true
		x.AllocatedTo = nil
	})
}

func blockedRecursive(r *Resource) bool {
	b := false
	r.walk(func(x *Resource) {
		if x.Block {
			b = true
		}
	})
	return b
}

// compatibleInstance is find_compatible_child: the instance of clone that
// will be on the node where local is (or could best be) placed.
func (c *cluster) compatibleInstance(local, clone *Resource, role Role) *Resource {
	return c.compatibleInstanceAt(local, clone, role, false)
}

// currentLocation is the node a resource is active on now.
func (r *Resource) currentLocation() *Node {
	if nodes := r.activeNodes(); len(nodes) > 0 {
		return nodes[0]
	}
	return nil
}

func (c *cluster) compatibleInstanceAt(local, clone *Resource, role Role, current bool) *Resource {
	loc := func(r *Resource) *Node {
		if current {
			return r.currentLocation()
		}
		return r.location()
	}
	byNode := func(n *Node) *Resource {
		for _, inst := range clone.Children {
			st := inst.nextRoleState()
			if current {
				st = inst.stateRole()
			}
			if role != RoleUnknown && st != role {
				continue
			}
			if blockedRecursive(inst) {
				continue
			}
			if loc(inst) == n {
				return inst
			}
		}
		return nil
	}
	if n := loc(local); n != nil {
		return byNode(n)
	}
	for _, n := range c.sortedNodes(local.Allowed, nil) {
		if inst := byNode(n); inst != nil {
			return inst
		}
	}
	return nil
}

// nodeListExclude bans dep from nodes not in keep; with merge it adds the
// placement weights of the kept nodes (node_list_exclude).
func nodeListExclude(dep *Resource, keep map[*Node]int, merge bool) {
	for n, w := range dep.Allowed {
		if kw, ok := keep[n]; !ok {
			dep.Allowed[n] = -Infinity
		} else if merge {
			dep.Allowed[n] = addScore(w, kw)
		}
	}
	for n := range keep {
		if _, ok := dep.Allowed[n]; !ok {
			dep.Allowed[n] = -Infinity
		}
	}
}

// applyColocWithClone handles "dependent with clone" for a primitive
// dependent (pcmk__clone_apply_coloc_score).
func (c *cluster) applyColocWithClone(dep, pri *Resource, co *Colocation) {
	if pri.Promotable {
		switch {
		case pri.Provisional:
			return
		case co.PrimaryRole == RoleUnknown:
		case dep.Provisional:
			c.updateDependentWithPromotable(pri, dep, co)
			return
		case co.DependentRole == RolePromoted:
			c.updatePromotableDependentPriority(pri, dep, co)
			return
		}
	}
	interleave := co.Dependent.Kind == KindClone && co.Dependent.Interleave
	if pri.Provisional {
		return
	}
	if interleave {
		inst := c.compatibleInstance(dep, pri, RoleUnknown)
		if inst != nil {
			c.applyColocScore(dep, inst, co)
		} else if co.Score >= Infinity {
			c.assignTo(dep, nil)
		}
		return
	}
	if co.Score >= Infinity {
		keep := map[*Node]int{}
		for _, inst := range pri.Children {
			n := inst.location()
			if n != nil && !blockedRecursive(inst) {
				keep[n] = inst.allocWeight()
			}
		}
		nodeListExclude(dep, keep, false)
		return
	}
	for _, inst := range pri.Children {
		c.applyColocScore(dep, inst, co)
	}
}

func (r *Resource) allocWeight() int {
	if r.Kind == KindPrimitive {
		return r.allocScore
	}
	for _, ch := range r.Children {
		return ch.allocWeight()
	}
	return 0
}

func (c *cluster) updateDependentWithPromotable(pri, dep *Resource, co *Colocation) {
	keep := map[*Node]int{}
	for _, inst := range pri.Children {
		n := inst.location()
		if n == nil {
			continue
		}
		if inst.nextRoleState() == co.PrimaryRole {
			if co.Score < Infinity {
				a := co.NodeAttr
				if a == "" {
					a = "#uname"
				}
				pv := n.Attrs[a]
				for dn, w := range dep.Allowed {
					if dn.Attrs[a] == pv {
						dep.Allowed[dn] = addScore(w, co.Score)
					}
				}
			}
			keep[n] = inst.allocWeight()
		}
	}
	if co.Score >= Infinity && (co.DependentRole != RolePromoted || co.PrimaryRole != RolePromoted) {
		nodeListExclude(dep, keep, true)
	}
}

func (c *cluster) updatePromotableDependentPriority(pri, dep *Resource, co *Colocation) {
	inst := c.compatibleInstance(dep, pri, co.PrimaryRole)
	if inst != nil {
		dep.Priority = addScore(dep.Priority, co.Score)
	} else if co.Score >= Infinity {
		dep.Priority = -Infinity
	}
}

// ---- promotable clones (pcmk_sched_promotable.c) ----

func (c *cluster) promotionScoreApplies(r *Resource, n *Node) bool {
	parent := r.top()
	check := func() bool {
		w, ok := r.Allowed[n]
		return ok && w >= 0
	}
	if !r.Unique {
		var active *Resource
		known := false
		for _, inst := range parent.Children {
			for _, p := range inst.primitives() {
				if p.XMLID != r.XMLID {
					continue
				}
				for _, rn := range p.RunningOn {
					if rn == n && active == nil {
						active = p
					}
				}
				if p.KnownOn[n] {
					known = true
				}
			}
		}
		if active == r {
			return check()
		}
		if active == nil && known {
			return check()
		}
	}
	if len(r.RunningOn) == 0 && len(r.KnownOn) == 0 {
		return check()
	}
	if r.KnownOn[n] {
		return check()
	}
	for _, rn := range r.RunningOn {
		if rn == n {
			return check()
		}
	}
	return false
}

func (c *cluster) promotionScore(r *Resource, n *Node) (int, bool) {
	if len(r.Children) > 0 {
		score, isDefault := 0, true
		for _, ch := range r.Children {
			s, d := c.promotionScore(ch, n)
			if !d {
				isDefault = false
			}
			score += s
		}
		return score, isDefault
	}
	if !c.promotionScoreApplies(r, n) {
		return 0, true
	}
	name := r.ID
	if r.CloneName != "" {
		name = r.CloneName
	}
	v, ok := n.Attrs["master-"+name]
	if !ok && !r.Unique && r.XMLID != r.ID {
		v, ok = n.Attrs["master-"+r.XMLID]
	}
	if !ok {
		return 0, true
	}
	return parseScore(v, nil), false
}

func (c *cluster) addPromotionScores(r *Resource) {
	for _, ch := range r.Children {
		for n, w := range ch.Allowed {
			if !n.available(0, false) {
				continue
			}
			score, _ := c.promotionScore(ch, n)
			if score > 0 {
				ch.Allowed[n] = addScore(w, score)
			}
			if score > ch.Priority {
				ch.Priority = score
			}
		}
	}
}

func setRoleUnpromotedIfStarted(r *Resource) {
	if r.Role == RoleStarted {
		r.Role = RoleUnpromoted
	}
	for _, ch := range r.Children {
		setRoleUnpromotedIfStarted(ch)
	}
}

func setNextRoleUnpromoted(r *Resource) {
	if r.location() == nil {
		r.NextRole = RoleStopped
	} else {
		r.NextRole = RoleUnpromoted
	}
	for _, ch := range r.Children {
		setNextRoleUnpromoted(ch)
	}
}

func setNextRolePromoted(r *Resource) {
	if r.NextRole == RoleUnknown {
		r.NextRole = RolePromoted
	}
	for _, ch := range r.Children {
		setNextRolePromoted(ch)
	}
}

func (r *Resource) nextRoleState() Role {
	if r.Kind == KindPrimitive {
		return r.NextRole
	}
	best := RoleUnknown
	for _, ch := range r.Children {
		if x := ch.nextRoleState(); x > best {
			best = x
		}
	}
	return best
}

// setInstanceRoles chooses the promoted instances (pcmk__set_instance_roles).
func (c *cluster) setInstanceRoles(r *Resource) {
	promotedOn := map[*Node]int{}
	for _, inst := range r.Children {
		c.setInstancePriority(r, inst)
	}
	c.sortPromotable(r)
	promoted := 0
	for _, inst := range r.Children {
		chosen := inst.location()
		if c.opts.ShowScores {
			name := "none"
			if chosen != nil {
				name = chosen.Uname
			}
			c.scores = append(c.scores, inst.ID+" promotion score on "+name+": "+scoreString(inst.sortIndex))
		}
		var node *Node
		if inst.sortIndex >= 0 && (promoted < r.PromotedMax || !r.Managed) {
			node = c.nodeToBePromotedOn(r, inst, promotedOn)
		}
		if node == nil {
			setNextRoleUnpromoted(inst)
			continue
		}
		if inst.stateRole() < RolePromoted && !c.haveQuorum && c.noQuorumPolicy == "freeze" {
			setNextRoleUnpromoted(inst)
			continue
		}
		promotedOn[node]++
		setNextRolePromoted(inst)
		promoted++
	}
}

func (c *cluster) nodeToBePromotedOn(clone, r *Resource, promotedOn map[*Node]int) *Node {
	for _, ch := range r.Children {
		if c.nodeToBePromotedOn(clone, ch, promotedOn) == nil {
			return nil
		}
	}
	n := r.location()
	switch {
	case n == nil:
		return nil
	case !r.Managed:
		if r.stateRole() != RolePromoted {
			return nil
		}
	case r.Priority < 0:
		return nil
	case !n.available(0, false):
		return nil
	}
	if _, ok := clone.Allowed[n]; !ok {
		return nil
	}
	if promotedOn[n] >= clone.PromotedNodeMax && r.Managed {
		return nil
	}
	return n
}

func (c *cluster) setInstancePriority(clone, inst *Resource) {
	if inst.stateRole() == RoleStarted {
		setRoleUnpromotedIfStarted(inst)
	}
	chosen := inst.location()
	if chosen == nil {
		inst.sortIndex = inst.Priority
		return
	}
	next := inst.nextRoleState()
	switch next {
	case RoleStarted, RoleUnknown:
		s, isDefault := c.promotionScore(inst, chosen)
		inst.Priority = s
		if isDefault {
			inst.Priority = -1
		}
	case RoleUnpromoted, RoleStopped:
		inst.Priority = -Infinity
	}
	for _, l := range clone.promotedLocs {
		if w, ok := l.nodes[chosen]; ok {
			inst.Priority = addScore(inst.Priority, w)
		}
	}
	for _, l := range inst.promotedLocs {
		if w, ok := l.nodes[chosen]; ok {
			inst.Priority = addScore(inst.Priority, w)
		}
	}
	for _, co := range inst.ThisWith {
		c.applyColocScore(inst, co.Primary, co)
	}
	inst.sortIndex = inst.Priority
	if next == RolePromoted {
		inst.sortIndex = Infinity
	}
}

func (c *cluster) sortPromotable(r *Resource) {
	for _, ch := range r.Children {
		if ch.sortIndex < 0 {
			continue
		}
		if n := ch.location(); n != nil {
			if w, ok := r.Allowed[n]; ok {
				r.Allowed[n] = addScore(ch.sortIndex, w)
			}
		}
	}
	for _, co := range r.ThisWith {
		if co.DependentRole != RolePromoted {
			continue
		}
		factor := float64(co.Score) / float64(Infinity)
		c.addColocatedNodeScores(co.Primary, r, r.Allowed, co.NodeAttr, factor, co.Score < Infinity, false)
	}
	for _, co := range r.WithThis {
		if co.PrimaryRole != RolePromoted || !c.colocHasInfluence(co, nil) {
			continue
		}
		factor := float64(co.Score) / float64(Infinity)
		c.addColocatedNodeScores(co.Dependent, r, r.Allowed, co.NodeAttr, factor, true, true)
	}
	if r.ticketDemote {
		for n := range r.Allowed {
			r.Allowed[n] = -Infinity
		}
	}
	for _, ch := range r.Children {
		n := ch.location()
		switch {
		case !ch.Managed && ch.nextRoleState() == RolePromoted:
			ch.sortIndex = Infinity
		case n == nil || ch.sortIndex < 0:
		default:
			ch.sortIndex = r.Allowed[n]
		}
	}
	sort.SliceStable(r.Children, func(i, j int) bool {
		a, b := r.Children[i], r.Children[j]
		if a.sortIndex != b.sortIndex {
			return a.sortIndex > b.sortIndex
		}
		ra, rb := a.stateRole(), b.stateRole()
		if ra != rb {
			return ra > rb
		}
		return c.cmpInstance(a, b) < 0
	})
}
