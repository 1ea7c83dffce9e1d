package pengine

import (
	"regexp"
	"strings"

	"github.com/beevik/etree"
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
			m := re.FindStringSubmatch(r.ID)
			if !invert && m != nil {
				c.unpackRscLocation(e, r, "", "", locs, m)
			} else if invert && m == nil {
				c.unpackRscLocation(e, r, "", "", locs, nil)
			}
		}
	}
}

func (c *cluster) unpackRscLocation(e *etree.Element, r *Resource, role, score string, locs *[]*location, submatch []string) {
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
		sc := attr(rule, "score")
		sattr := attr(rule, "score-attribute")
		for _, n := range c.nodes {
			if !c.evalRule(rule, ruleCtx{node: n, rsc: r}) {
				continue
			}
			v := parseScore(sc, c.nodeHealth)
			if sc == "" && sattr != "" {
				v = parseScore(n.Attrs[sattr], c.nodeHealth)
			}
			l.nodes[n] = v
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

func (c *cluster) unpackColocationSets(e *etree.Element, sets []*etree.Element, score int) {
	id := attr(e, "id")
	var prev *etree.Element
	for _, s := range sets {
		s = c.resolveRef(s)
		sscore := score
		if hasAttr(s, "score") {
			sscore = parseScore(attr(s, "score"), nil)
		}
		members := c.setMembers(s)
		role := roleAttr(s, "role")
		if !hasAttr(s, "sequential") || isTrue(attr(s, "sequential")) {
			for i := 1; i < len(members); i++ {
				c.newColocation(id, attr(e, "node-attribute"), sscore, members[i], members[i-1], role, role, c.influenceOf(e, members[i]))
			}
		}
		if prev != nil {
			pm := c.setMembers(prev)
			if len(pm) > 0 && len(members) > 0 {
				// each member of this set with the last of... (with-rsc is the previous set's last)
				last := pm[len(pm)-1]
				first := members[0]
				c.newColocation(id, attr(e, "node-attribute"), score, first, last, role, roleAttr(prev, "role"), c.influenceOf(e, first))
			}
		}
		prev = s
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
			_ = id
			c.orderRsc(rf, af, rt, at, orderFlagsForKind(kind, af, sym))
			if sym == symSymmetric {
				iaf, iat := invertAction(af), invertAction(at)
				if iaf != "" && iat != "" {
					c.orderRsc(rt, iat, rf, iaf, orderFlagsForKind(kind, iaf, symInverse))
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

func (c *cluster) unpackOrderSets(e *etree.Element, sets []*etree.Element) {
	kind := orderKind(e)
	var prevMembers []*Resource
	var prevAction string
	var prevSet *etree.Element
	for _, s := range sets {
		s = c.resolveRef(s)
		members := c.setMembers(s)
		action := attr(s, "action")
		if action == "" {
			action = "start"
		}
		skind := kind
		if hasAttr(s, "kind") {
			skind = orderKind(s)
		}
		sym := orderSymmetry(s, skind, attr(e, "symmetrical"))
		flags := orderFlagsForKind(skind, action, sym)
		sequential := !hasAttr(s, "sequential") || isTrue(attr(s, "sequential"))
		if sequential {
			for i := 1; i < len(members); i++ {
				c.orderRsc(members[i-1], action, members[i], action, flags)
				if sym == symSymmetric {
					ia := invertAction(action)
					if ia != "" {
						c.orderRsc(members[i], ia, members[i-1], ia, orderFlagsForKind(skind, ia, symInverse))
					}
				}
			}
		}
		if prevSet != nil && len(prevMembers) > 0 && len(members) > 0 {
			psym := orderSymmetry(e, kind, "")
			pflags := orderFlagsForKind(kind, prevAction, psym)
			requireAll := !hasAttr(prevSet, "require-all") || isTrue(attr(prevSet, "require-all"))
			prevSeq := !hasAttr(prevSet, "sequential") || isTrue(attr(prevSet, "sequential"))
			var fromList []*Resource
			if prevSeq {
				fromList = []*Resource{prevMembers[len(prevMembers)-1]}
			} else {
				fromList = prevMembers
			}
			var toList []*Resource
			if sequential {
				toList = []*Resource{members[0]}
			} else {
				toList = members
			}
			if !requireAll {
				// one-or-more: a pseudo action that is runnable if any first is
				pa := c.newAction(nil, "one-or-more:"+attr(e, "id"), "one-or-more", nil, false)
				pa.set(aPseudo | aRequiresAny)
				pa.RequiredRunnableBefore = 1
				for _, f := range prevMembers {
					c.newOrdering(f, opKeyFor(f.ID, prevAction, 0), nil, nil, "", pa, pflags|orderOneOrMore)
				}
				for _, t := range toList {
					c.newOrdering(nil, "", pa, t, opKeyFor(t.ID, action, 0), nil, pflags|orderRunnableLeft)
				}
			} else {
				for _, f := range fromList {
					for _, t := range toList {
						c.orderRsc(f, prevAction, t, action, pflags)
					}
				}
			}
			if psym == symSymmetric && requireAll {
				ia, ipa := invertAction(action), invertAction(prevAction)
				if ia != "" && ipa != "" {
					for _, f := range fromList {
						for _, t := range toList {
							c.orderRsc(t, ia, f, ipa, orderFlagsForKind(kind, ia, symInverse))
						}
					}
				}
			}
		}
		prevMembers, prevAction, prevSet = members, action, s
	}
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
	var rs []*Resource
	if v := attr(e, "rsc"); v != "" {
		for _, id := range c.expandIDs(v) {
			if r := c.findConstraintRsc(id); r != nil {
				rs = append(rs, r)
			}
		}
	}
	for _, s := range e.SelectElements("resource_set") {
		rs = append(rs, c.setMembers(c.resolveRef(s))...)
	}
	role := roleAttr(e, "rsc-role")
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
	for _, r := range rs {
		if role == RolePromoted {
			r.walk(func(x *Resource) { x.ticketDemote = true })
		}
		c.constraintsForTicket(r, granted, standby, role, loss)
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
