package pengine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

func (c *cluster) unpackResources() error {
	c.rscByID = map[string]*Resource{}
	c.templates = map[string]*etree.Element{}
	c.tags = map[string][]string{}
	rscs := c.cfg.SelectElement("resources")
	if rscs == nil {
		return nil
	}
	for _, e := range rscs.ChildElements() {
		if e.Tag == "template" {
			c.templates[attr(e, "id")] = e
		}
	}
	if tags := c.cfg.SelectElement("tags"); tags != nil {
		for _, t := range tags.SelectElements("tag") {
			for _, r := range t.SelectElements("obj_ref") {
				c.tags[attr(t, "id")] = append(c.tags[attr(t, "id")], attr(r, "id"))
			}
		}
	}
	for _, e := range rscs.ChildElements() {
		switch e.Tag {
		case "primitive", "group", "clone", "master":
			r, err := c.unpackResource(e, nil, "")
			if err != nil {
				return err
			}
			if r != nil {
				c.resources = append(c.resources, r)
			}
		case "template":
		case "bundle":
			r, err := c.unpackBundle(e)
			if err != nil {
				return err
			}
			if r != nil {
				c.resources = append(c.resources, r)
			}
		}
	}
	for _, r := range c.resources {
		r.walk(func(x *Resource) {
			if x.IsFenceDevice {
				c.haveStonithResource = true
			}
		})
	}
	sort.SliceStable(c.resources, func(i, j int) bool {
		return c.resources[i].Priority > c.resources[j].Priority
	})
	return nil
}

func (r *Resource) walk(f func(*Resource)) {
	f(r)
	for _, ch := range r.Children {
		ch.walk(f)
	}
}

// primitives returns all primitive descendants (or r itself).
func (r *Resource) primitives() []*Resource {
	if r.Kind == KindPrimitive {
		return []*Resource{r}
	}
	var out []*Resource
	for _, ch := range r.Children {
		out = append(out, ch.primitives()...)
	}
	return out
}

func (r *Resource) top() *Resource {
	for r.Parent != nil {
		r = r.Parent
	}
	return r
}

func (r *Resource) isCloneInstance() bool {
	return r.Parent != nil && r.Parent.Kind == KindClone
}

// cloneParent returns the enclosing clone, if any.
func (r *Resource) cloneParent() *Resource {
	for p := r.Parent; p != nil; p = p.Parent {
		if p.Kind == KindClone {
			return p
		}
	}
	return nil
}

func (c *cluster) unpackResource(e *etree.Element, parent *Resource, suffix string) (*Resource, error) {
	xmlID := attr(e, "id")
	if xmlID == "" {
		return nil, fmt.Errorf("<%s> without id", e.Tag)
	}
	r := &Resource{ID: xmlID + suffix, XMLID: xmlID, XML: e, Parent: parent,
		Params: map[string]string{}, Meta: map[string]string{},
		Utilization: map[string]int{}, Allowed: map[*Node]int{},
		KnownOn: map[*Node]bool{}, Discover: map[*Node]string{},
		byKey: map[string][]*Action{}, history: map[*Node][]*lrmOp{},
		Provisional: true, Role: RoleStopped, NextRole: RoleUnknown,
		Managed: true, MigrationThreshold: Infinity, Index: len(c.rscByID)}
	if _, dup := c.rscByID[r.ID]; dup && parent == nil {
		c.warnf("duplicate resource id %s", r.ID)
		return nil, nil
	}
	c.rscByID[r.ID] = r
	if suffix != "" {
		r.Meta["clone"] = strings.TrimPrefix(suffix, ":")
		r.InstanceNum, _ = strconv.Atoi(strings.TrimPrefix(suffix, ":"))
	}
	switch e.Tag {
	case "primitive":
		r.Kind = KindPrimitive
	case "group":
		r.Kind = KindGroup
	case "bundle":
		r.Kind = KindBundle
	default:
		r.Kind = KindClone
	}
	src := []*etree.Element{e}
	if t := attr(e, "template"); t != "" && e.Tag == "primitive" {
		te, ok := c.templates[t]
		if !ok {
			return nil, fmt.Errorf("primitive %s: template %q not found", xmlID, t)
		}
		src = append(src, te)
	}
	// Own XML attributes are meta-data too (class, provider, type ...).
	for _, s := range src {
		for _, a := range s.Attr {
			if _, ok := r.Meta[a.Key]; !ok && a.Key != "id" {
				r.Meta[a.Key] = a.Value
			}
		}
	}
	for _, s := range src {
		c.unpackNVSets(s, "meta_attributes", nil, r.Meta, false)
	}
	if parent != nil {
		for k, v := range parent.Meta {
			if k == "clone" || k == "class" || k == "provider" || k == "type" || k == "template" {
				continue
			}
			if _, ok := r.Meta[k]; !ok {
				r.Meta[k] = v
			}
		}
	}
	r.Class, r.Provider, r.Type = r.Meta["class"], r.Meta["provider"], r.Meta["type"]
	c.unpackNVSetsCtx(c.rscDefaults, "meta_attributes", ruleCtx{rsc: r}, r.Meta, false)
	for _, s := range src {
		c.unpackNVSets(s, "instance_attributes", nil, r.Params, false)
	}
	for p := parent; p != nil; p = p.Parent {
		c.unpackNVSets(p.XML, "instance_attributes", nil, r.Params, false)
	}
	util := map[string]string{}
	for _, s := range src {
		c.unpackNVSets(s, "utilization", nil, util, false)
	}
	for k, v := range util {
		r.Utilization[k] = parseScore(v, nil)
	}

	m := r.Meta
	r.Priority = parseScore(m["priority"], nil)
	if c.maintenanceMode {
		r.Managed = false
	}
	if v, ok := m["is-managed"]; ok && v != "default" {
		r.Managed = isTrue(v)
	}
	if isTrue(m["maintenance"]) || c.maintenanceMode {
		r.Managed = false
		r.InMaintenance = true
	}
	r.Notify = isTrue(m["notify"])
	if v, ok := m["allow-migrate"]; ok {
		r.AllowMigrate = isTrue(v)
	} else if e.Tag == "primitive" && r.isRemoteConn() && m["container"] == "" {
		// a Pacemaker Remote connection migrates by default, so its node's
		// resources need not stop when it moves (pe__unpack_resource)
		r.AllowMigrate = true
	}
	if cp := r.cloneParent(); cp != nil || r.Kind == KindClone {
		r.Unique = isTrue(m["globally-unique"])
		r.Promotable = isTrue(m["promotable"]) || (cp != nil && cp.Promotable) || e.Tag == "master"
	} else {
		r.Unique = true
	}
	r.MultipleActive = m["multiple-active"]
	if v, ok := m["resource-stickiness"]; ok && v != "default" {
		r.Stickiness = parseScore(v, nil)
	}
	if v, ok := m["migration-threshold"]; ok && v != "default" {
		r.MigrationThreshold = parseScore(v, nil)
		if r.MigrationThreshold < 0 {
			r.MigrationThreshold = 1
		}
	}
	if strings.EqualFold(r.Class, "stonith") {
		r.IsFenceDevice = true
	}
	c.unpackRequires(r)
	if v, ok := m["failure-timeout"]; ok {
		r.FailureTimeout = parseInterval(v) / 1000
	}
	if r.isRemoteConn() && m["container"] == "" {
		// A remote connection's reconnect_interval works through the
		// failure timeout: the failed connection stays stopped until its
		// failure expires (pe__unpack_resource).
		if v, ok := r.Params["reconnect_interval"]; ok {
			r.ReconnectMs = parseInterval(v)
			r.FailureTimeout = r.ReconnectMs / 1000
		}
	}
	if v, ok := m["target-role"]; ok {
		// get_target_role: Started/default and Promoted (for promotable
		// clones) leave the default, anything else limits the next role.
		role, known := parseRole(v)
		switch {
		case !known || role == RoleStarted:
		case role > RoleStarted && !(r.Promotable && role == RoleUnpromoted):
		default:
			r.TargetRole = role
			r.hasTargetRole = true
			r.NextRole = role
		}
	}

	switch r.Kind {
	case KindPrimitive:
		c.unpackOps(r, src)
	case KindGroup:
		r.Ordered = true
		r.Colocated = true
		if v, ok := m["ordered"]; ok {
			r.Ordered = isTrue(v)
		}
		if v, ok := m["collocated"]; ok {
			r.Colocated = isTrue(v)
		}
		for _, ch := range e.SelectElements("primitive") {
			cr, err := c.unpackResource(ch, r, suffix)
			if err != nil {
				return nil, err
			}
			if cr != nil {
				r.Children = append(r.Children, cr)
			}
		}
	case KindClone:
		if _, ok := m["resource-stickiness"]; !ok {
			r.Meta["resource-stickiness"] = "1"
			r.Stickiness = 1
		}
		r.Interleave = isTrue(m["interleave"])
		r.Ordered = isTrue(m["ordered"])
		r.CloneMax = len(c.nodes)
		if v, ok := m["clone-max"]; ok {
			r.CloneMax = parseScore(v, nil)
		} else if v, ok := m["incarnation_max"]; ok {
			r.CloneMax = parseScore(v, nil)
		}
		r.CloneNodeMax = 1
		if v, ok := m["clone-node-max"]; ok {
			r.CloneNodeMax = parseScore(v, nil)
		} else if v, ok := m["incarnation_node_max"]; ok {
			r.CloneNodeMax = parseScore(v, nil)
		}
		r.PromotedMax = 1
		for _, k := range []string{"promoted-max", "master-max"} {
			if v, ok := m[k]; ok {
				r.PromotedMax = parseScore(v, nil)
				break
			}
		}
		r.PromotedNodeMax = 1
		for _, k := range []string{"promoted-node-max", "master-node-max"} {
			if v, ok := m[k]; ok {
				r.PromotedNodeMax = parseScore(v, nil)
				break
			}
		}
		if !r.Unique {
			r.Meta["globally-unique"] = "false"
		} else {
			r.Meta["globally-unique"] = "true"
		}
		var child *etree.Element
		for _, ch := range e.ChildElements() {
			if ch.Tag == "primitive" || ch.Tag == "group" {
				child = ch
				break
			}
		}
		if child == nil {
			return nil, fmt.Errorf("clone %s has nothing to clone", xmlID)
		}
		if r.Unique && !c.agentsSupportUnique(child) {
			// Only OCF and fence agents can be unique clones; anything
			// else (lsb, systemd, ...) makes the clone anonymous
			// (native_unpack, pe__force_anon).
			c.warnf("Ignoring globally-unique for %s because its agents can be used only as anonymous clones", r.ID)
			r.Unique = false
			r.Meta["globally-unique"] = "false"
			r.CloneNodeMax = 1
			if r.CloneMax > len(c.nodes) {
				r.CloneMax = len(c.nodes)
			}
		}
		n := r.CloneMax
		if n <= 0 {
			n = 1
		}
		// Instances beyond what the nodes can hold can never run; bound
		// them so a huge clone-max (INFINITY) cannot exhaust memory.
		if limit := len(c.nodes)*max(1, r.CloneNodeMax) + 16; n > limit {
			n = limit
		}
		if n > 4096 {
			n = 4096
		}
		for i := 0; i < n; i++ {
			cr, err := c.unpackResource(child, r, ":"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			r.Children = append(r.Children, cr)
		}
	}
	return r, nil
}

// agentsSupportUnique reports whether every primitive in a clone's child
// XML has a resource class with the "unique" capability (pcmk_get_ra_caps:
// ocf and stonith).
func (c *cluster) agentsSupportUnique(e *etree.Element) bool {
	if e.Tag == "group" {
		for _, ch := range e.SelectElements("primitive") {
			if !c.agentsSupportUnique(ch) {
				return false
			}
		}
		return true
	}
	class := attr(e, "class")
	if class == "" {
		if t, ok := c.templates[attr(e, "template")]; ok {
			class = attr(t, "class")
		}
	}
	return strings.EqualFold(class, "ocf") || strings.EqualFold(class, "stonith")
}

// unpackRequires is unpack_requires.
func (c *cluster) unpackRequires(r *Resource) {
	v := r.Meta["requires"]
	if v == "" {
		switch {
		case r.IsFenceDevice:
			v = "quorum"
		case r.Kind == KindPrimitive && r.isRemoteConn():
			v = "quorum"
		case c.enableUnfencing:
			v = "unfencing"
		case c.stonithEnabled:
			v = "fencing"
		default:
			v = "quorum"
		}
	}
	switch v {
	case "nothing":
	case "quorum":
		r.RequiresQuorum = true
	case "fencing":
		r.RequiresQuorum = true
		if c.stonithEnabled {
			r.RequiresFencing = true
		}
	case "unfencing":
		r.RequiresQuorum = true
		if !r.IsFenceDevice && c.stonithEnabled {
			r.RequiresFencing = true
			r.NeedsUnfencing = true
		}
	default:
		r.RequiresQuorum = true
		if c.stonithEnabled {
			r.RequiresFencing = true
		}
	}
}

// templateOpKey is template_op_key: a template's op is overridden by the
// primitive's op of the same name and role (Started and Unpromoted count as
// no role), whatever the intervals.
func templateOpKey(o *etree.Element) string {
	role := attr(o, "role")
	switch strings.ToLower(role) {
	case "", "started", "unpromoted", "slave":
		role = ""
	}
	return attr(o, "name") + "-" + role
}

// unpackOps reads the <operations> of a primitive (and its template).
func (c *cluster) unpackOps(r *Resource, src []*etree.Element) {
	seen := map[string]bool{}
	own := map[string]bool{} // the primitive's template_op_keys
	for i, s := range src {
		ops := s.SelectElement("operations")
		if ops == nil {
			continue
		}
		ops = c.resolveRef(ops)
		for _, o := range ops.SelectElements("op") {
			o = c.resolveRef(o)
			if i == 0 {
				own[templateOpKey(o)] = true
			} else if own[templateOpKey(o)] {
				continue
			}
			op := &OpDef{XML: o, ID: attr(o, "id"), Name: attr(o, "name"),
				Interval: parseInterval(attr(o, "interval")), Enabled: true,
				Meta: map[string]string{}}
			if v := attr(o, "role"); v != "" {
				op.Role, _ = parseRole(v)
			}
			if hasAttr(o, "enabled") && !isTrue(attr(o, "enabled")) {
				op.Enabled = false
			}
			k := op.Name + "_" + strconv.Itoa(op.Interval)
			if seen[k] && len(src) > 1 {
				continue
			}
			seen[k] = true
			r.Ops = append(r.Ops, op)
		}
	}
}

// findOp returns the configured op for name+interval (find_rsc_op_entry),
// preferring enabled ones.
func (r *Resource) findOp(name string, interval int) *OpDef {
	var disabled *OpDef
	for _, o := range r.Ops {
		if o.Name == name && o.Interval == interval {
			if o.Enabled {
				return o
			}
			if disabled == nil {
				disabled = o
			}
		}
	}
	return disabled
}
