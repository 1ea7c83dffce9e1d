package crmresource

import (
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"ringmaster/tools/pcmkout"
)

// cfgRsc is a configured resource as the constraint listing needs it: its
// id, variant and place in the tree (pe_resource_t's id, variant, parent).
type cfgRsc struct {
	id         string
	variant    int // pe_native=0, pe_group, pe_clone, pe_container as in enum pe_obj_types
	promotable bool
	priority   int
	parent     *cfgRsc
	children   []*cfgRsc
	xml        *etree.Element
	tag        string

	locations []*locCons    // rsc_location, in unpack order
	thisWith  []*colocation // rsc_cons: this resource is the dependent
	withThis  []*colocation // rsc_cons_lhs: this resource is the primary
	visiting  bool          // pe_rsc_allocating, the loop guard of the listing
}

const (
	variantNative = iota
	variantGroup
	variantClone
	variantContainer
)

type locNode struct {
	node  string
	score int
}

type locCons struct {
	id    string
	nodes []locNode
}

type colocation struct {
	id                         string
	dependent, primary         *cfgRsc
	score                      int
	dependentRole, primaryRole string // "" = RSC_ROLE_UNKNOWN
	nodeAttr                   string
}

// config is the resource tree and constraints of one CIB.
type config struct {
	rscs  []*cfgRsc // every resource, tree order
	byID  map[string]*cfgRsc
	nodes []string
}

func metaValue(e *etree.Element, name string) string {
	for _, ma := range e.SelectElements("meta_attributes") {
		for _, nv := range ma.SelectElements("nvpair") {
			if nv.SelectAttrValue("name", "") == name {
				return nv.SelectAttrValue("value", "")
			}
		}
	}
	return ""
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// ParseScore is char2score: INFINITY words saturate, numbers clamp.
func parseScore(s string) int {
	switch strings.TrimSpace(s) {
	case "INFINITY", "+INFINITY", "infinity", "+infinity":
		return 1000000
	case "-INFINITY", "-infinity":
		return -1000000
	case "red":
		return -1000000
	case "yellow", "green":
		return 0
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	if v > 1000000 {
		v = 1000000
	}
	if v < -1000000 {
		v = -1000000
	}
	return v
}

func loadConfig(cib *etree.Element) *config {
	cf := &config{byID: map[string]*cfgRsc{}}
	cfg := cib.SelectElement("configuration")
	if cfg == nil {
		return cf
	}
	if ns := cfg.SelectElement("nodes"); ns != nil {
		for _, n := range ns.SelectElements("node") {
			name := n.SelectAttrValue("uname", "")
			if name == "" {
				name = n.SelectAttrValue("id", "")
			}
			cf.nodes = append(cf.nodes, name)
		}
	}
	var add func(e *etree.Element, parent *cfgRsc)
	add = func(e *etree.Element, parent *cfgRsc) {
		r := &cfgRsc{id: e.SelectAttrValue("id", ""), parent: parent, xml: e, tag: e.Tag,
			priority: parseScore(metaValue(e, "priority"))}
		switch e.Tag {
		case "primitive":
			r.variant = variantNative
		case "group":
			r.variant = variantGroup
		case "clone", "master":
			r.variant = variantClone
			r.promotable = e.Tag == "master" || isTrue(metaValue(e, "promotable"))
		case "bundle":
			r.variant = variantContainer
		default:
			return
		}
		if r.id == "" {
			return
		}
		if parent != nil {
			parent.children = append(parent.children, r)
		}
		cf.rscs = append(cf.rscs, r)
		if cf.byID[r.id] == nil {
			cf.byID[r.id] = r
		}
		for _, ch := range e.ChildElements() {
			add(ch, r)
		}
	}
	if rs := cfg.SelectElement("resources"); rs != nil {
		for _, e := range rs.ChildElements() {
			add(e, nil)
		}
	}
	if cons := cfg.SelectElement("constraints"); cons != nil {
		for _, e := range cons.ChildElements() {
			switch e.Tag {
			case "rsc_location":
				cf.unpackLocation(e)
			case "rsc_colocation":
				cf.unpackColocation(e)
			}
		}
	}
	return cf
}

// find looks a constraint's resource reference up; a clone instance
// suffix names the configured resource.
func (cf *config) find(id string) *cfgRsc {
	if r := cf.byID[id]; r != nil {
		return r
	}
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		return cf.byID[id[:i]]
	}
	return nil
}

func (cf *config) unpackLocation(e *etree.Element) {
	r := cf.find(e.SelectAttrValue("rsc", ""))
	if r == nil {
		return
	}
	lc := &locCons{id: e.SelectAttrValue("id", "")}
	if node := e.SelectAttrValue("node", ""); node != "" {
		known := false
		for _, n := range cf.nodes {
			if n == node {
				known = true
			}
		}
		if !known {
			return
		}
		lc.nodes = append(lc.nodes, locNode{node, parseScore(e.SelectAttrValue("score", "0"))})
	} else {
		// Rule-based locations: evaluated against the nodes by a simple
		// #uname test, the form the regression inputs use.
		for _, rule := range e.SelectElements("rule") {
			score := parseScore(rule.SelectAttrValue("score", "0"))
			for _, n := range cf.nodes {
				if ruleMatchesUname(rule, n) {
					lc.nodes = append(lc.nodes, locNode{n, score})
				}
			}
		}
	}
	r.locations = append(r.locations, lc)
}

func ruleMatchesUname(rule *etree.Element, node string) bool {
	exprs := rule.SelectElements("expression")
	if len(exprs) == 0 {
		return false
	}
	and := rule.SelectAttrValue("boolean-op", "and") != "or"
	for _, x := range exprs {
		ok := false
		if x.SelectAttrValue("attribute", "") == "#uname" {
			v := x.SelectAttrValue("value", "")
			switch x.SelectAttrValue("operation", "") {
			case "eq":
				ok = node == v
			case "ne":
				ok = node != v
			}
		}
		if and && !ok {
			return false
		}
		if !and && ok {
			return true
		}
	}
	return and
}

func roleOrUnknown(s string) string {
	switch strings.ToLower(s) {
	case "", "started":
		return ""
	case "master", "promoted":
		return "Promoted"
	case "slave", "unpromoted":
		return "Unpromoted"
	case "stopped":
		return "Stopped"
	}
	return s
}

func roleRank(s string) int {
	switch s {
	case "Stopped":
		return 1
	case "Started":
		return 2
	case "Unpromoted":
		return 3
	case "Promoted":
		return 4
	}
	return 0
}

// unpackColocation is unpack_simple_colocation + pcmk__new_colocation:
// a zero score or a missing resource adds nothing, and each side's list
// is kept sorted as cmp_primary_priority / cmp_dependent_priority sort it.
func (cf *config) unpackColocation(e *etree.Element) {
	if e.SelectElement("resource_set") != nil {
		return
	}
	dep := cf.find(e.SelectAttrValue("rsc", ""))
	pri := cf.find(e.SelectAttrValue("with-rsc", ""))
	score := parseScore(e.SelectAttrValue("score", "0"))
	if score == 0 || dep == nil || pri == nil {
		return
	}
	c := &colocation{id: e.SelectAttrValue("id", ""), dependent: dep, primary: pri, score: score,
		dependentRole: roleOrUnknown(e.SelectAttrValue("rsc-role", "")),
		primaryRole:   roleOrUnknown(e.SelectAttrValue("with-rsc-role", "")),
		nodeAttr:      e.SelectAttrValue("node-attribute", "")}
	dep.thisWith = insertSorted(dep.thisWith, c, func(x *colocation) *cfgRsc { return x.primary })
	pri.withThis = insertSorted(pri.withThis, c, func(x *colocation) *cfgRsc { return x.dependent })
}

func cmpRsc(a, b *cfgRsc) int {
	switch {
	case a.priority > b.priority:
		return -1
	case a.priority < b.priority:
		return 1
	case a.variant > b.variant:
		return -1
	case a.variant < b.variant:
		return 1
	}
	if a.variant == variantClone {
		if a.promotable && !b.promotable {
			return -1
		} else if !a.promotable && b.promotable {
			return 1
		}
	}
	return strings.Compare(a.id, b.id)
}

// insertSorted matches g_list_insert_sorted: the new element goes before
// the first element that compares greater.
func insertSorted(l []*colocation, c *colocation, side func(*colocation) *cfgRsc) []*colocation {
	i := sort.Search(len(l), func(i int) bool { return cmpRsc(side(c), side(l[i])) < 0 })
	l = append(l, nil)
	copy(l[i+1:], l[i:])
	l[i] = c
	return l
}

func (r *cfgRsc) uberParent() *cfgRsc {
	for r.parent != nil {
		r = r.parent
	}
	return r
}

// ConsEntry is one line of the colocation listing: a colocated resource
// with its locations and (recursively) its own colocations.
type ConsEntry struct {
	Colocation *colocation
	Rsc        *cfgRsc
	Loop       bool
	Locations  []*locCons
	Nested     *ConsList
}

// ConsList is a "Resources ... colocated with" list.
type ConsList struct {
	Header  string
	Entries []*ConsEntry
}

// ConstraintReport is the typed result of crm_resource -a/-A.
type ConstraintReport struct {
	Rsc       *cfgRsc
	Locations []*locCons
	WithThis  *ConsList // resources colocated with Rsc
	ThisWith  *ConsList // resources Rsc is colocated with
}

func (cf *config) clearVisiting() {
	for _, r := range cf.rscs {
		r.visiting = false
	}
}

// constraintReport follows locations_and_colocations: constraints apply
// to the group or clone, not a member, unless force.
func (cf *config) constraintReport(r *cfgRsc, recursive, force bool) *ConstraintReport {
	if !force {
		r = r.uberParent()
	}
	rep := &ConstraintReport{Rsc: r, Locations: r.locations}
	cf.clearVisiting()
	rep.WithThis = colocList(r, recursive, true)
	cf.clearVisiting()
	rep.ThisWith = colocList(r, recursive, false)
	return rep
}

func colocList(r *cfgRsc, recursive, withThis bool) *ConsList {
	if r.visiting {
		return nil
	}
	r.visiting = true
	l := &ConsList{}
	list := r.thisWith
	if withThis {
		list = r.withThis
		l.Header = "Resources colocated with " + r.id
	} else {
		l.Header = "Resources " + r.id + " is colocated with"
	}
	for _, c := range list {
		other := c.primary
		if withThis {
			other = c.dependent
		}
		e := &ConsEntry{Colocation: c, Rsc: other}
		if other.visiting {
			e.Loop = true
			l.Entries = append(l.Entries, e)
			continue
		}
		e.Locations = other.locations
		if recursive {
			e.Nested = colocList(other, recursive, withThis)
		}
		l.Entries = append(l.Entries, e)
	}
	return l
}

// Text rendering (pcmk_output.c locations-list and the colocation lists).

func textLocations(t *pcmkout.Text, rscID string, locs []*locCons) {
	open := false
	for _, lc := range locs {
		for _, n := range lc.nodes {
			if !open {
				t.BeginList("Locations")
				open = true
			}
			t.Item("Node %s (score=%s, id=%s, rsc=%s)", n.node, pcmkout.ReadableScore(n.score), lc.id, rscID)
		}
	}
	if open {
		t.EndList()
	}
}

func colocHeader(r *cfgRsc, c *colocation, dependents bool) string {
	if roleRank(c.primaryRole) > roleRank("Started") {
		word := "with"
		if dependents {
			word = "needs"
		}
		return r.id + " (score=" + pcmkout.ReadableScore(c.score) + ", " + word + " role=" + c.primaryRole + ", id=" + c.id + ")"
	}
	return r.id + " (score=" + pcmkout.ReadableScore(c.score) + ", id=" + c.id + ")"
}

func textColocs(t *pcmkout.Text, l *ConsList, dependents bool) {
	if l == nil || len(l.Entries) == 0 {
		return
	}
	t.BeginList(l.Header)
	for _, e := range l.Entries {
		if e.Loop {
			t.Item("%s (id=%s - loop)", e.Rsc.id, e.Colocation.id)
			continue
		}
		t.Item("%s", colocHeader(e.Rsc, e.Colocation, dependents))
		t.BeginList("")
		textLocations(t, e.Rsc.id, e.Locations)
		textColocs(t, e.Nested, dependents)
		t.EndList()
	}
	t.EndList()
}

func (rep *ConstraintReport) renderText(t *pcmkout.Text) {
	textLocations(t, rep.Rsc.id, rep.Locations)
	textColocs(t, rep.WithThis, true)
	textColocs(t, rep.ThisWith, false)
}

func xmlLocations(parent *pcmkout.Node, rscID string, locs []*locCons) {
	for _, lc := range locs {
		for _, n := range lc.nodes {
			parent.AddNew("rsc_location", "node", n.node, "rsc", rscID, "id", lc.id,
				"score", pcmkout.ReadableScore(n.score))
		}
	}
}

func xmlColoc(parent *pcmkout.Node, c *colocation) {
	n := parent.AddNew("rsc_colocation", "id", c.id, "rsc", c.dependent.id, "with-rsc", c.primary.id,
		"score", pcmkout.ReadableScore(c.score))
	if c.nodeAttr != "" {
		n.Set("node-attribute", c.nodeAttr)
	}
	if c.dependentRole != "" {
		n.Set("rsc-role", c.dependentRole)
	}
	if c.primaryRole != "" {
		n.Set("with-rsc-role", c.primaryRole)
	}
}

func xmlColocs(parent *pcmkout.Node, l *ConsList) {
	if l == nil {
		return
	}
	for _, e := range l.Entries {
		xmlColoc(parent, e.Colocation)
		if e.Loop {
			continue
		}
		xmlLocations(parent, e.Rsc.id, e.Locations)
		xmlColocs(parent, e.Nested)
	}
}

func (rep *ConstraintReport) renderXML() *pcmkout.Node {
	n := pcmkout.NewNode("constraints")
	xmlLocations(n, rep.Rsc.id, rep.Locations)
	xmlColocs(n, rep.WithThis)
	xmlColocs(n, rep.ThisWith)
	return n
}
