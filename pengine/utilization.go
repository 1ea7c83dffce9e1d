package pengine

import (
	"sort"
	"strings"
)

// Utilization-based placement (pcmk_sched_utilization.c).

func (c *cluster) utilizationOn() bool { return c.placementStrategy != "default" }

func (n *Node) capacity() map[string]int {
	if n.remaining == nil {
		n.remaining = map[string]int{}
		for k, v := range n.Utilization {
			n.remaining[k] = v
		}
	}
	return n.remaining
}

// compareCapacity is pcmk__compare_node_capacities: negative when a has
// more free capacity.
func (c *cluster) compareCapacity(a, b *Node) int {
	ca, cb := a.capacity(), b.capacity()
	result := 0
	for k, v := range ca {
		if v > cb[k] {
			result--
		} else if v < cb[k] {
			result++
		}
	}
	for k, v := range cb {
		if _, ok := ca[k]; ok {
			continue
		}
		if 0 > v {
			result--
		} else if 0 < v {
			result++
		}
	}
	return result
}

func consumeCapacity(n *Node, r *Resource) {
	cp := n.capacity()
	for k, v := range r.Utilization {
		if cur, ok := cp[k]; ok {
			cp[k] = cur - v
		} else {
			cp[k] = 0
		}
	}
}

func releaseCapacity(n *Node, r *Resource) {
	cp := n.capacity()
	for k, v := range r.Utilization {
		cp[k] = cp[k] + v
	}
}

func haveEnoughCapacity(n *Node, util map[string]int) bool {
	cp := n.capacity()
	for k, v := range util {
		if v > cp[k] {
			return false
		}
	}
	return true
}

// colocatedResources follows mandatory colocations (the resource types'
// colocated_resources methods). A group first collects its members'
// chains (all members when they are colocated or the group is cloned, else
// its first member's), then follows the colocations naming the group
// itself (pcmk__group_colocated_resources).
func (c *cluster) colocatedResources(r, orig *Resource, list []*Resource) []*Resource {
	if orig == nil {
		orig = r
	}
	if r.Kind == KindGroup {
		if r.Colocated || (r.Parent != nil && r.Parent.Kind == KindClone) {
			for _, m := range r.Children {
				list = c.colocatedResources(m, orig, list)
			}
		} else if len(r.Children) > 0 {
			list = c.colocatedResources(r.Children[0], orig, list)
		}
	}
	return c.colocatedChain(r, orig, list)
}

// colocatedChain is pcmk__colocated_resources: r and every resource its
// mandatory, location-affecting colocations lead to, in either direction.
func (c *cluster) colocatedChain(r, orig *Resource, list []*Resource) []*Resource {
	for _, x := range list {
		if x == r {
			return list
		}
	}
	list = append(list, r)
	for _, co := range r.ThisWith {
		if co.Primary == orig {
			continue
		}
		if co.Score == Infinity && c.colocationAffects(r, co.Primary, co, true) == affectsLocation {
			list = c.colocatedResources(co.Primary, orig, list)
		}
	}
	for _, co := range r.WithThis {
		if co.Dependent == orig {
			continue
		}
		if r.Kind == KindClone && co.Dependent.Kind != KindClone {
			continue
		}
		if co.Score == Infinity && c.colocationAffects(co.Dependent, r, co, true) == affectsLocation {
			list = c.colocatedResources(co.Dependent, orig, list)
		}
	}
	return list
}

func addUtilization(r *Resource, all []*Resource, util map[string]int) {
	if !r.Provisional {
		return
	}
	switch r.Kind {
	case KindPrimitive:
		for k, v := range r.Utilization {
			util[k] += v
		}
	case KindGroup:
		in := func(x *Resource) bool {
			for _, y := range all {
				if y == x {
					return true
				}
			}
			return false
		}
		if r.Colocated || r.cloneParent() != nil {
			for _, m := range r.Children {
				if m.Provisional && !in(m) {
					addUtilization(m, all, util)
				}
			}
		} else if len(r.Children) > 0 && r.Children[0].Provisional && !in(r.Children[0]) {
			addUtilization(r.Children[0], all, util)
		}
	case KindClone:
		for _, ch := range r.Children {
			if ch.Provisional {
				addUtilization(ch, all, util)
				break
			}
		}
	}
}

// banInsufficientCapacity is pcmk__ban_insufficient_capacity; it returns
// the node with most free capacity when none can hold everything.
func (c *cluster) banInsufficientCapacity(r *Resource) *Node {
	if !c.utilizationOn() {
		return nil
	}
	rscs := c.colocatedResources(r, nil, nil)
	found := false
	for _, x := range rscs {
		if x == r {
			found = true
		}
	}
	if !found {
		rscs = append(rscs, r)
	}
	util := map[string]int{}
	for _, x := range rscs {
		addUtilization(x, rscs, util)
	}
	nodes := make([]*Node, 0, len(r.Allowed))
	for n := range r.Allowed {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Index < nodes[j].Index })
	anyCapable := false
	var most *Node
	for _, n := range nodes {
		if !n.available(r.Allowed[n], true) {
			continue
		}
		if haveEnoughCapacity(n, util) {
			anyCapable = true
		}
		if most == nil || c.compareCapacity(n, most) < 0 {
			most = n
		}
	}
	if anyCapable {
		for _, n := range nodes {
			if n.available(r.Allowed[n], true) && !haveEnoughCapacity(n, util) {
				c.resourceLocation(r, n, -Infinity)
			}
		}
		return nil
	}
	for _, n := range nodes {
		if n.available(r.Allowed[n], true) && !haveEnoughCapacity(n, r.Utilization) {
			c.resourceLocation(r, n, -Infinity)
		}
	}
	return most
}

func (c *cluster) loadStopped(n *Node) *Action {
	key := "load_stopped_" + n.Uname
	a := c.newAction(nil, key, key, nil, true)
	a.set(aPseudo | aRunnable)
	if a.Node == nil {
		a.Node = n
		a.clear(aOptional)
	}
	return a
}

// createUtilizationConstraints orders stops before starts elsewhere through
// per-node load_stopped pseudo-actions.
func (c *cluster) createUtilizationConstraints(r *Resource) {
	for _, n := range r.RunningOn {
		ls := c.loadStopped(n)
		c.newOrdering(r, opKeyFor(r.ID, "stop", 0), nil, nil, "", ls, orderLoad)
	}
	var nodes []*Node
	for n := range r.Allowed {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Uname < nodes[j].Uname })
	for _, n := range nodes {
		ls := c.loadStopped(n)
		c.newOrdering(nil, "", ls, r, opKeyFor(r.ID, "start", 0), nil, orderLoad)
		c.newOrdering(nil, "", ls, r, opKeyFor(r.ID, "migrate_to", 0), nil, orderLoad)
	}
}

// sortResources orders resources for non-default placement strategies
// (pcmk__sort_resources / cmp_resources).
func (c *cluster) sortResources() {
	nodes := make(map[*Node]int)
	for _, n := range c.nodes {
		nodes[n] = 0
	}
	sortedNodes := c.sortedNodes(nodes, nil)
	tables := map[*Resource]map[*Node]int{}
	table := func(r *Resource) map[*Node]int {
		if t, ok := tables[r]; ok {
			return t
		}
		t := c.addColocatedRec(r, nil, "", 1, selThisWith, map[*Resource]bool{})
		tables[r] = t
		return t
	}
	weight := func(n *Node, t map[*Node]int) int {
		if n == nil || t == nil {
			return -Infinity
		}
		if w, ok := t[n]; ok {
			return w
		}
		return -Infinity
	}
	sort.SliceStable(c.resources, func(i, j int) bool {
		a, b := c.resources[i], c.resources[j]
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		ta, tb := table(a), table(b)
		wa, wb := weight(a.currentNode(), ta), weight(b.currentNode(), tb)
		if wa != wb {
			return wa > wb
		}
		for _, n := range sortedNodes {
			wa, wb = weight(n, ta), weight(n, tb)
			if wa != wb {
				return wa > wb
			}
		}
		return false
	})
}

// applyNodeHealth is pcmk__apply_node_health: the sum of a node's #health*
// attributes becomes a location score for every resource.
func (c *cluster) applyNodeHealth(locs *[]*location) {
	switch c.healthStrategy {
	case "", "none":
		return
	}
	base := 0
	if c.healthStrategy == "progressive" {
		base = parseScore(c.opt("node-health-base"), c.nodeHealth)
	}
	for _, n := range c.nodes {
		health := base
		keys := make([]string, 0)
		for k := range n.Attrs {
			if strings.HasPrefix(k, "#health") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			health = addScore(parseScore(n.Attrs[k], c.nodeHealth), health)
		}
		if health == 0 {
			continue
		}
		for _, r := range c.resources {
			if health < 0 && isTrue(r.Meta["allow-unhealthy-nodes"]) {
				continue
			}
			*locs = append(*locs, &location{id: c.healthStrategy, rsc: r, nodes: map[*Node]int{n: health}, order: []*Node{n}})
		}
	}
}
