package pengine

import (
	"regexp"
	"strings"

	"github.com/beevik/etree"

	"ringmaster/pengine/rules"
)

// location is a resolved rsc_location (pe__location_t).
type location struct {
	id         string
	rsc        *Resource
	nodes      map[*Node]int
	order      []*Node
	roleFilter Role
	discovery  string
}

func (c *cluster) findConstraintRsc(id string) *Resource {
	if r := c.rscByID[id]; r != nil {
		return r
	}
	return nil
}

// expandTag returns the resource ids a tag or id stands for.
func (c *cluster) expandIDs(id string) []string {
	if ids, ok := c.tags[id]; ok {
		return ids
	}
	if t, ok := c.templates[id]; ok {
		_ = t
		var out []string
		for _, r := range c.allResources() {
			if r.Kind == KindPrimitive && attr(r.XML, "template") == id && r.Parent == nil {
				out = append(out, r.ID)
			}
		}
		return out
	}
	return []string{id}
}

// isTagOrTemplate reports whether a constraint's reference names a tag or
// a resource template rather than a resource.
func (c *cluster) isTagOrTemplate(id string) bool {
	if _, ok := c.tags[id]; ok {
		return true
	}
	_, ok := c.templates[id]
	return ok
}

func (c *cluster) allResources() []*Resource {
	var out []*Resource
	for _, r := range c.resources {
		r.walk(func(x *Resource) { out = append(out, x) })
	}
	return out
}

func (c *cluster) unpackConstraints(locs *[]*location) {
	cons := c.cfg.SelectElement("constraints")
	if cons == nil {
		return
	}
	for _, e := range cons.ChildElements() {
		switch e.Tag {
		case "rsc_location":
			c.unpackLocation(e, locs)
		case "rsc_colocation":
			c.unpackColocation(e)
		case "rsc_order":
			c.unpackOrder(e)
		case "rsc_ticket":
			c.unpackTicket(e)
		}
	}
}

func (c *cluster) unpackLocation(e *etree.Element, locs *[]*location) {
	if sets := e.SelectElements("resource_set"); len(sets) > 0 {
		for _, s := range sets {
			s = c.resolveRef(s)
			for _, ref := range s.SelectElements("resource_ref") {
				for _, id := range c.expandIDs(attr(ref, "id")) {
					if r := c.findConstraintRsc(id); r != nil {
						c.unpackRscLocation(e, r, attr(s, "role"), attr(s, "score"), locs, nil)
					}
				}
			}
		}
		return
	}
	if v := attr(e, "rsc"); v != "" {
		for _, id := range c.expandIDs(v) {
			if r := c.findConstraintRsc(id); r != nil {
				c.unpackRscLocation(e, r, "", "", locs, nil)
			}
		}
	}
	if v := attr(e, "rsc-pattern"); v != "" {
		invert := strings.HasPrefix(v, "!")
		v = strings.TrimPrefix(v, "!")
		re, err := regexp.Compile(v)
		if err != nil {
			c.warnf("constraint %s: invalid rsc-pattern %q", attr(e, "id"), v)
			return
		}
		for _, r := range c.resources {
			m := re.FindStringSubmatchIndex(r.ID)
			if !invert && m != nil {
				c.unpackRscLocation(e, r, "", "", locs, m)
			} else if invert && m == nil {
				c.unpackRscLocation(e, r, "", "", locs, nil)
			}
		}
	}
}

func (c *cluster) unpackRscLocation(e *etree.Element, r *Resource, role, score string, locs *[]*location, submatch []int) {
	id := attr(e, "id")
	if score == "" {
		score = attr(e, "score")
	}
	disc := attr(e, "resource-discovery")
	node := attr(e, "node")
	if node != "" && score != "" {
		n := c.nodeByName[node]
		if n == nil {
			return
		}
		l := &location{id: id, rsc: r, nodes: map[*Node]int{n: parseScore(score, c.nodeHealth)}, order: []*Node{n}, discovery: disc}
		if role == "" {
			role = attr(e, "role")
		}
		if role != "" {
			rr, _ := parseRole(role)
			if rr == RolePromoted || rr == RoleStopped {
				l.roleFilter = rr
			}
		}
		*locs = append(*locs, l)
		return
	}
	for _, rule := range e.SelectElements("rule") {
		rule = c.resolveRef(rule)
		l := &location{id: id, rsc: r, nodes: map[*Node]int{}, discovery: disc}
		if rr, ok := parseRole(attr(rule, "role")); ok && (rr == RolePromoted || rr == RoleStopped) {
			l.roleFilter = rr
		}
		var re *rules.RegexMatch
		if submatch != nil {
			re = &rules.RegexMatch{Subject: r.ID, Index: submatch}
		}
		health := rules.HealthScores{Red: c.nodeHealth["red"], Yellow: c.nodeHealth["yellow"], Green: c.nodeHealth["green"]}
		for _, n := range c.nodes {
			if !c.evalRule(rule, ruleCtx{node: n, valueSrc: r, regex: re}) {
				continue
			}
			attrs := n.Attrs
			l.nodes[n] = rules.RuleScore(rule, func(name string) (string, bool) { v, ok := attrs[name]; return v, ok }, re, health)
			l.order = append(l.order, n)
		}
		*locs = append(*locs, l)
	}
}

// applyLocation adds a location's scores to a resource and its children
// (pcmk__apply_location and the variant methods).
func (c *cluster) applyLocation(l *location, r *Resource) {
	if l.roleFilter == RolePromoted && r == l.rsc {
		// kept for promotion priorities (apply_promoted_locations)
		r.promotedLocs = append(r.promotedLocs, l)
	}
	if l.roleFilter > RoleUnknown && l.roleFilter != r.NextRole {
		for _, ch := range r.Children {
			c.applyLocation(l, ch)
		}
		return
	}
	for _, n := range l.order {
		w := l.nodes[n]
		if old, ok := r.Allowed[n]; ok {
			r.Allowed[n] = addScore(old, w)
		} else {
			r.Allowed[n] = w
		}
		if l.discovery != "" {
			if r.Discover[n] != "never" || l.discovery == "never" {
				r.Discover[n] = l.discovery
			}
			if l.discovery == "exclusive" {
				r.ExclusiveDiscover = true
			}
		}
	}
	for _, ch := range r.Children {
		c.applyLocation(l, ch)
	}
}

func (c *cluster) newColocation(id, nodeAttr string, score int, dep, pri *Resource, depRole, priRole Role, influence bool) {
	if score == 0 || dep == nil || pri == nil {
		return
	}
	if depRole == RoleStarted {
		depRole = RoleUnknown
	}
	if priRole == RoleStarted {
		priRole = RoleUnknown
	}
	co := &Colocation{ID: id, Dependent: dep, Primary: pri, Score: score,
		DependentRole: depRole, PrimaryRole: priRole, NodeAttr: nodeAttr, Influence: influence}
	dep.ThisWith = append(dep.ThisWith, co)
	pri.WithThis = append(pri.WithThis, co)
	c.colocations = append(c.colocations, co)
}

func roleAttr(e *etree.Element, names ...string) Role {
	for _, n := range names {
		if v := attr(e, n); v != "" {
			r, _ := parseRole(v)
			return r
		}
	}
	return RoleUnknown
}

func (c *cluster) influenceOf(e *etree.Element, r *Resource) bool {
	if hasAttr(e, "influence") {
		return isTrue(attr(e, "influence"))
	}
	if v, ok := r.Meta["critical"]; ok {
		return isTrue(v)
	}
	return true
}

func (c *cluster) unpackColocation(e *etree.Element) {
	id := attr(e, "id")
	score := parseScore(attr(e, "score"), nil)
	sets := e.SelectElements("resource_set")
	if len(sets) > 0 {
		c.unpackColocationSets(e, sets, score)
		return
	}
	if c.isTagOrTemplate(attr(e, "rsc")) && c.isTagOrTemplate(attr(e, "with-rsc")) {
		// unpack_colocation_tags refuses to colocate two templates/tags
		c.warnf("Ignoring constraint '%s' because two templates or tags cannot be colocated", id)
		return
	}
	deps := c.expandIDs(attr(e, "rsc"))
	pris := c.expandIDs(attr(e, "with-rsc"))
	for _, d := range deps {
		for _, p := range pris {
			dep, pri := c.findConstraintRsc(d), c.findConstraintRsc(p)
			if dep == nil || pri == nil {
				continue
			}
			c.newColocation(id, attr(e, "node-attribute"), score, dep, pri,
				roleAttr(e, "rsc-role"), roleAttr(e, "with-rsc-role"), c.influenceOf(e, dep))
		}
	}
}

func (c *cluster) setMembers(s *etree.Element) []*Resource {
	var out []*Resource
	for _, ref := range s.SelectElements("resource_ref") {
		for _, id := range c.expandIDs(attr(ref, "id")) {
			if r := c.findConstraintRsc(id); r != nil {
				out = append(out, r)
			}
		}
	}
	return out
}

// unpackColocationSets is the resource_set half of
// pcmk__unpack_colocation: each set is colocated within itself, then every
// set with the one before it. Set colocations ignore node-attribute.
func (c *cluster) unpackColocationSets(e *etree.Element, sets []*etree.Element, score int) {
	var prev *etree.Element
	for _, s := range sets {
		s = c.resolveRef(s)
		c.colocateWithinSet(e, s, score)
		if prev != nil {
			c.colocateSets(e, prev, s, score)
		}
		prev = s
	}
}

// setIsSequential reads a set's sequential attribute, which defaults to true.
func setIsSequential(s *etree.Element) bool {
	return !hasAttr(s, "sequential") || isTrue(attr(s, "sequential"))
}

// colocateWithinSet is unpack_colocation_set. A positive score chains the
// members: with ordering="group" (the default) each member follows the one
// listed before it, with ordering="listed" each member leads the one after
// it. A negative score anti-colocates every member with every member listed
// before it, the only way to keep all of them apart.
func (c *cluster) colocateWithinSet(e, s *etree.Element, score int) {
	setID := attr(s, "id")
	if hasAttr(s, "score") {
		score = parseScore(attr(s, "score"), nil)
	}
	if score == 0 || !setIsSequential(s) {
		return
	}
	members := c.setMembers(s)
	role := roleAttr(s, "role")
	ordering := attr(s, "ordering")
	switch {
	case score > 0 && (ordering == "" || strings.EqualFold(ordering, "group")):
		for i := 1; i < len(members); i++ {
			c.newColocation(setID, "", score, members[i], members[i-1], role, role, c.influenceOf(e, members[i]))
		}
	case score > 0:
		for i := 1; i < len(members); i++ {
			c.newColocation(setID, "", score, members[i-1], members[i], role, role, c.influenceOf(e, members[i-1]))
		}
	default:
		for i, r := range members {
			influence := c.influenceOf(e, r)
			for _, with := range members[:i] {
				if with.ID == r.ID {
					break
				}
				c.newColocation(setID, "", score, r, with, role, role, influence)
			}
		}
	}
}

// colocateSets is colocate_rsc_sets: the earlier set (set1) depends on the
// later one (set2). A sequential set is represented by one member, set1 by
// its first and set2 by its last; a non-sequential set by all of its
// members.
func (c *cluster) colocateSets(e, set1, set2 *etree.Element, score int) {
	if score == 0 {
		return
	}
	id := attr(e, "id")
	m1, m2 := c.setMembers(set1), c.setMembers(set2)
	role1, role2 := roleAttr(set1, "role"), roleAttr(set2, "role")
	if setIsSequential(set1) && len(m1) > 0 {
		m1 = m1[:1]
	}
	if setIsSequential(set2) && len(m2) > 0 {
		m2 = m2[len(m2)-1:]
	}
	for _, r1 := range m1 {
		influence := c.influenceOf(e, r1)
		for _, r2 := range m2 {
			c.newColocation(id, "", score, r1, r2, role1, role2, influence)
		}
	}
}

func (c *cluster) unpackOrder(e *etree.Element) {
	id := attr(e, "id")
	sets := e.SelectElements("resource_set")
	if len(sets) > 0 {
		c.unpackOrderSets(e, sets)
		return
	}
	firsts := c.expandIDs(attr(e, "first"))
	thens := c.expandIDs(attr(e, "then"))
	af := attr(e, "first-action")
	if af == "" {
		af = "start"
	}
	at := attr(e, "then-action")
	if at == "" {
		at = af
	}
	kind := orderKind(e)
	sym := orderSymmetry(e, kind, "")
	for _, f := range firsts {
		for _, t := range thens {
			rf, rt := c.findConstraintRsc(f), c.findConstraintRsc(t)
			if rf == nil || rt == nil {
				continue
			}
			flags := orderFlagsForKind(kind, af, sym)
			// deprecated restart-type=restart on "then" upgrades an
			// optional ordering so that recovery of "first" restarts it
			// (handle_restart_type)
			restartThen := kind == kindOptional && strings.EqualFold(rt.Meta["restart-type"], "restart")
			if restartThen {
				flags |= orderImpliesThen
			}
			min := 0
			if rf.Kind == KindClone {
				if v, ok := rf.Meta["clone-min"]; ok {
					min = atoiDef(v, 0)
				} else if hasAttr(e, "require-all") && !isTrue(attr(e, "require-all")) {
					min = 1
				}
			}
			if min > 0 {
				c.cloneMinOrdering(id, rf, af, rt, at, flags, min)
			} else {
				c.orderRsc(rf, af, rt, at, flags)
			}
			if sym == symSymmetric {
				iaf, iat := invertAction(af), invertAction(at)
				if iaf != "" && iat != "" {
					iflags := orderFlagsForKind(kind, iaf, symInverse)
					if restartThen {
						iflags |= orderImpliesFirst
					}
					c.orderRsc(rt, iat, rf, iaf, iflags)
				}
			}
		}
	}
}

const (
	kindMandatory = iota
	kindOptional
	kindSerialize
)
const (
	symSymmetric = iota
	symAsymmetric
	symInverse
)

func orderKind(e *etree.Element) int {
	k := attr(e, "kind")
	if k == "" {
		if hasAttr(e, "score") && parseScore(attr(e, "score"), nil) == 0 {
			return kindOptional
		}
		return kindMandatory
	}
	switch strings.ToLower(k) {
	case "optional":
		return kindOptional
	case "serialize":
		return kindSerialize
	}
	return kindMandatory
}

func orderSymmetry(e *etree.Element, kind int, parentSym string) int {
	if hasAttr(e, "kind") || hasAttr(e, "score") {
		kind = orderKind(e)
	}
	v := attr(e, "symmetrical")
	if v == "" {
		v = parentSym
	}
	if v != "" {
		if isTrue(v) && kind != kindSerialize {
			return symSymmetric
		}
		return symAsymmetric
	}
	if kind == kindSerialize {
		return symAsymmetric
	}
	return symSymmetric
}

func orderFlagsForKind(kind int, first string, sym int) int {
	f := orderOptional
	switch kind {
	case kindSerialize:
		f |= orderSerializeOnly
	case kindMandatory:
		switch sym {
		case symAsymmetric:
			f |= orderAsymmetrical
		case symSymmetric:
			f |= orderImpliesThen
			if first == "start" || first == "promote" {
				f |= orderRunnableLeft
			}
		case symInverse:
			f |= orderImpliesFirst
		}
	}
	return f
}

func invertAction(a string) string {
	switch a {
	case "start":
		return "stop"
	case "stop":
		return "start"
	case "promote":
		return "demote"
	case "demote":
		return "promote"
	case "promoted":
		return "demoted"
	case "demoted":
		return "promoted"
	case "running":
		return "stopped"
	case "stopped":
		return "running"
	}
	return ""
}

// unpackOrderSets follows pcmk__unpack_ordering for constraints with
// resource sets: each set orders its own members (unpack_order_set), and
// consecutive sets are ordered with each other (order_rsc_sets).
func (c *cluster) unpackOrderSets(e *etree.Element, sets []*etree.Element) {
	id := attr(e, "id")
	kind := orderKind(e)
	sym := orderSymmetry(e, kind, "")
	invert := attr(e, "symmetrical")
	var last *etree.Element
	for _, s := range sets {
		s = c.resolveRef(s)
		c.unpackOrderSet(s, kind, invert)
		if last != nil {
			c.orderRscSets(id, last, s, kind, sym)
			if sym == symSymmetric {
				c.orderRscSets(id, s, last, kind, symInverse)
			}
		}
		last = s
	}
}

func (c *cluster) unpackOrderSet(s *etree.Element, parentKind int, parentSym string) {
	action := attr(s, "action")
	if action == "" {
		action = "start"
	}
	kind := parentKind
	if hasAttr(s, "kind") {
		kind = orderKind(s)
	}
	sequential := true
	if hasAttr(s, "sequential") {
		sequential = isTrue(attr(s, "sequential"))
	}
	sym := orderSymmetry(s, parentKind, parentSym)
	flags := orderFlagsForKind(kind, action, sym)
	members := c.setMembers(s)
	if len(members) == 1 {
		return
	}
	var last *Resource
	for i, r := range members {
		if kind == kindSerialize {
			for _, t := range members[i+1:] {
				c.orderRsc(r, action, t, action, flags)
			}
		} else if sequential {
			if last != nil {
				c.orderRsc(last, action, r, action, flags)
			}
			last = r
		}
	}
	if sym == symAsymmetric {
		return
	}
	last = nil
	ia := invertAction(action)
	flags = orderFlagsForKind(kind, ia, symInverse)
	for _, r := range members {
		if sequential {
			if last != nil {
				c.orderRsc(r, ia, last, ia, flags)
			}
			last = r
		}
	}
}

func (c *cluster) orderRscSets(id string, set1, set2 *etree.Element, kind, sym int) {
	a1, a2 := attr(set1, "action"), attr(set2, "action")
	if a1 == "" {
		a1 = "start"
	}
	if a2 == "" {
		a2 = "start"
	}
	requireAll := !hasAttr(set1, "require-all") || isTrue(attr(set1, "require-all"))
	if sym == symInverse {
		a1, a2 = invertAction(a1), invertAction(a2)
	}
	if a1 == "stop" || a1 == "demote" {
		requireAll = true
	}
	flags := orderFlagsForKind(kind, a2, sym)
	m1, m2 := c.setMembers(set1), c.setMembers(set2)
	if !requireAll {
		key := "one-or-more:" + attr(set1, "id")
		pa := c.newAction(nil, key, key, nil, true)
		pa.set(aPseudo | aRunnable | aRequiresAny)
		for _, r := range m1 {
			c.newOrdering(r, opKeyFor(r.ID, a1, 0), nil, nil, "", pa, orderOneOrMore|orderImpliesThenPrinted)
		}
		for _, r := range m2 {
			c.newOrdering(nil, "", pa, r, opKeyFor(r.ID, a2, 0), nil, flags|orderRunnableLeft)
		}
		return
	}
	var r1, r2 *Resource
	if isTrue(attr(set1, "sequential")) && len(m1) > 0 {
		if sym == symInverse {
			r1 = m1[0]
		} else {
			r1 = m1[len(m1)-1]
		}
	}
	if isTrue(attr(set2, "sequential")) && len(m2) > 0 {
		if sym == symInverse {
			r2 = m2[len(m2)-1]
		} else {
			r2 = m2[0]
		}
	}
	switch {
	case r1 != nil && r2 != nil:
		c.orderRsc(r1, a1, r2, a2, flags)
	case r1 != nil:
		for _, t := range m2 {
			c.orderRsc(r1, a1, t, a2, flags)
		}
	case r2 != nil:
		for _, f := range m1 {
			c.orderRsc(f, a1, r2, a2, flags)
		}
	default:
		for _, f := range m1 {
			for _, t := range m2 {
				c.orderRsc(f, a1, t, a2, flags)
			}
		}
	}
}

// cloneMinOrdering makes "then" wait for a minimum number of instances of
// the "first" clone (clone_min_ordering).
func (c *cluster) cloneMinOrdering(id string, first *Resource, af string, then *Resource, at string, flags, min int) {
	key := "clone-one-or-more:" + id
	pa := c.newAction(nil, key, key, nil, true)
	pa.set(aPseudo | aRunnable | aRequiresAny)
	pa.RequiredRunnableBefore = min
	for _, ch := range first.Children {
		c.newOrdering(ch, opKeyFor(ch.ID, af, 0), nil, nil, "", pa, orderOneOrMore|orderImpliesThenPrinted)
	}
	c.newOrdering(nil, "", pa, then, opKeyFor(then.ID, at, 0), nil, flags|orderRunnableLeft)
}

// unpackTicket handles rsc_ticket: a revoked ticket bans the resource.
func (c *cluster) unpackTicket(e *etree.Element) {
	ticket := attr(e, "ticket")
	granted := false
	standby := false
	if c.status != nil {
		if ts := c.status.SelectElement("tickets"); ts != nil {
			for _, t := range ts.SelectElements("ticket_state") {
				if attr(t, "id") == ticket {
					granted = isTrue(attr(t, "granted"))
					standby = isTrue(attr(t, "standby"))
				}
			}
		}
	}
	if granted && !standby {
		return
	}
	type group struct {
		rscs []*Resource
		role Role
	}
	var groups []group
	if v := attr(e, "rsc"); v != "" {
		var rs []*Resource
		for _, id := range c.expandIDs(v) {
			if r := c.findConstraintRsc(id); r != nil {
				rs = append(rs, r)
			}
		}
		groups = append(groups, group{rs, roleAttr(e, "rsc-role")})
	}
	for _, s := range e.SelectElements("resource_set") {
		s = c.resolveRef(s)
		groups = append(groups, group{c.setMembers(s), roleAttr(s, "role")})
	}
	for _, g := range groups {
		role := g.role
		if role == RoleStarted {
			role = RoleUnknown
		}
		loss := attr(e, "loss-policy")
		switch loss {
		case "fence":
			if !c.stonithEnabled {
				loss = "stop"
			}
		case "freeze", "demote", "stop":
		default:
			if role == RolePromoted {
				loss = "demote"
			} else {
				loss = "stop"
			}
		}
		for _, r := range g.rscs {
			if role == RolePromoted && (!granted || standby) {
				r.walk(func(x *Resource) { x.ticketDemote = true })
			}
			c.constraintsForTicket(r, granted, standby, role, loss)
		}
	}
}

// constraintsForTicket applies a revoked or standby ticket to a resource
// (pcmk_sched_tickets.c constraints_for_ticket).
func (c *cluster) constraintsForTicket(r *Resource, granted, standby bool, role Role, loss string) {
	if len(r.Children) > 0 {
		for _, ch := range r.Children {
			c.constraintsForTicket(ch, granted, standby, role, loss)
		}
		return
	}
	banAll := func() {
		for _, n := range c.nodes {
			r.Allowed[n] = -Infinity
		}
	}
	matches := role == RoleUnknown || role == r.Role
	switch {
	case !granted && len(r.RunningOn) > 0:
		switch loss {
		case "stop":
			banAll()
		case "demote":
			if role != RolePromoted {
				banAll()
			}
		case "fence":
			if !matches {
				return
			}
			banAll()
			for _, n := range r.RunningOn {
				c.fenceNode(n, "deadman ticket was lost")
			}
		case "freeze":
			if !matches {
				return
			}
			r.Managed = false
			r.Block = true
		}
	case !granted, standby:
		if role != RolePromoted || loss == "stop" {
			banAll()
		}
	}
}
