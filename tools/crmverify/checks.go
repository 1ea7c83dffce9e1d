package crmverify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/pengine"
)

// Finding is one configuration error or warning, with the scheduler
// function that reports it and its message.
type Finding struct {
	Func    string
	Text    string
	Warning bool
}

// Report collects findings.
type Report struct {
	Findings []Finding
	fn       string
}

func (r *Report) errf(format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Func: r.fn, Text: fmt.Sprintf(format, args...)})
}

func (r *Report) warnf(format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Func: r.fn, Text: fmt.Sprintf(format, args...), Warning: true})
}

// HasErrors reports whether anything set crm_config_error.
func (r *Report) HasErrors() bool {
	for _, f := range r.Findings {
		if !f.Warning {
			return true
		}
	}
	return false
}

// HasWarnings reports whether anything set crm_config_warning.
func (r *Report) HasWarnings() bool {
	for _, f := range r.Findings {
		if f.Warning {
			return true
		}
	}
	return false
}

// model is the part of the configuration the checks look at.
type model struct {
	root       *etree.Element
	cfg        *etree.Element
	options    map[string]string
	rscDefault map[string]string
	opDefault  map[string]string
	resources  map[string]*etree.Element // every resource element by id
	templates  map[string]*etree.Element
	tags       map[string]bool
	prims      []*etree.Element // primitives, document order
	stonith    bool
}

func children(e *etree.Element, tag string) []*etree.Element {
	if e == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if tag == "" || c.Tag == tag {
			out = append(out, c)
		}
	}
	return out
}

func attr(e *etree.Element, k string) string { return cib.AttrOr(e, k, "") }

// nvsets gathers name/value pairs of the sets named tag directly under e,
// the first value of a name winning (unpack_instance_attributes without
// rules or scores, which these checks do not need).
func nvsets(e *etree.Element, tag string, into map[string]string) {
	for _, set := range children(e, tag) {
		for _, nv := range children(set, "nvpair") {
			n := attr(nv, "name")
			if _, ok := into[n]; !ok && n != "" {
				into[n] = attr(nv, "value")
			}
		}
	}
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

func newModel(root *etree.Element) *model {
	cfg := cib.FirstChild(root, "configuration")
	if cfg == nil {
		cfg = etree.NewElement("configuration")
	}
	m := &model{root: root, cfg: cfg, options: map[string]string{},
		rscDefault: map[string]string{}, opDefault: map[string]string{},
		resources: map[string]*etree.Element{}, templates: map[string]*etree.Element{}, tags: map[string]bool{}}
	nvsets(cib.FirstChild(m.cfg, "crm_config"), "cluster_property_set", m.options)
	nvsets(cib.FirstChild(m.cfg, "rsc_defaults"), "meta_attributes", m.rscDefault)
	nvsets(cib.FirstChild(m.cfg, "op_defaults"), "meta_attributes", m.opDefault)
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range children(e, "") {
			switch c.Tag {
			case "primitive":
				m.resources[attr(c, "id")] = c
				m.prims = append(m.prims, c)
				if m.class(c) == "stonith" {
					m.stonith = true
				}
			case "group", "clone", "master", "bundle":
				m.resources[attr(c, "id")] = c
				walk(c)
			case "template":
				m.templates[attr(c, "id")] = c
			}
		}
	}
	walk(cib.FirstChild(m.cfg, "resources"))
	for _, t := range children(cib.FirstChild(m.cfg, "tags"), "tag") {
		m.tags[attr(t, "id")] = true
	}
	return m
}

func (m *model) class(p *etree.Element) string {
	if c := attr(p, "class"); c != "" {
		return c
	}
	if t := m.templates[attr(p, "template")]; t != nil {
		return attr(t, "class")
	}
	return ""
}

func (m *model) stonithEnabled() bool {
	v, ok := m.options["stonith-enabled"]
	return !ok || isTrue(v)
}

// meta is a resource's effective meta-attribute: its own, its parents',
// then rsc_defaults.
func (m *model) meta(e *etree.Element, name string) (string, bool) {
	for p := e; p != nil && p.Tag != "resources"; p = p.Parent() {
		own := map[string]string{}
		nvsets(p, "meta_attributes", own)
		if v, ok := own[name]; ok && !strings.EqualFold(v, "#default") {
			return v, true
		}
		if p.Tag == "primitive" {
			if t := m.templates[attr(p, "template")]; t != nil {
				nvsets(t, "meta_attributes", own)
				if v, ok := own[name]; ok {
					return v, true
				}
			}
		}
	}
	v, ok := m.rscDefault[name]
	if strings.EqualFold(v, "#default") {
		return "", false
	}
	return v, ok
}

func (m *model) promotable(e *etree.Element) bool {
	for p := e; p != nil && p.Tag != "resources"; p = p.Parent() {
		if p.Tag == "master" {
			return true
		}
		if p.Tag == "clone" {
			own := map[string]string{}
			nvsets(p, "meta_attributes", own)
			return isTrue(own["promotable"])
		}
	}
	return false
}

// ops is a primitive's operations, its template's first.
func (m *model) ops(p *etree.Element) []*etree.Element {
	var out []*etree.Element
	if t := m.templates[attr(p, "template")]; t != nil {
		out = append(out, children(cib.FirstChild(t, "operations"), "op")...)
	}
	return append(out, children(cib.FirstChild(p, "operations"), "op")...)
}

// Check runs the configuration checks on root. withStatus is false when
// the CIB had no status section (crm_verify then asks only for the
// minimal pe_flag_check_config pass).
func Check(root *etree.Element, withStatus bool, now time.Time, rep *Report) {
	m := newModel(root)
	var res *pengine.Result
	if withStatus {
		doc := etree.NewDocument()
		doc.SetRoot(root.Copy())
		if r, err := pengine.Schedule(doc, now, pengine.Options{}); err == nil {
			res = r
		}
	}
	running := map[string]bool{}
	if res != nil {
		var walk func(rs []*pengine.RscView)
		walk = func(rs []*pengine.RscView) {
			for _, r := range rs {
				if len(r.RunningOn) > 0 {
					base, _, _ := strings.Cut(r.ID, ":")
					running[base] = true
				}
				walk(r.Children)
			}
		}
		walk(res.View().Resources)
	}
	checkConfigOptions(m, rep)
	checkResources(m, withStatus, running, rep)
	checkConstraints(m, rep)
	if withStatus {
		checkStatus(m, res, rep)
	}
}

func checkConfigOptions(m *model, rep *Report) {
	rep.fn = "unpack_resources"
	// have-watchdog=true stands for a fencing device (SBD self-fencing).
	if m.stonithEnabled() && !m.stonith && !isTrue(m.options["have-watchdog"]) {
		rep.errf("Resource start-up disabled since no STONITH resources have been defined")
		rep.errf("Either configure some or disable STONITH with the stonith-enabled option")
		rep.errf("NOTE: Clusters with shared data need STONITH to ensure data integrity")
	}
}

var roles = map[string]int{"stopped": 1, "started": 2, "slave": 3, "unpromoted": 3, "master": 4, "promoted": 4}

func checkResources(m *model, withStatus bool, running map[string]bool, rep *Report) {
	fencing := m.stonithEnabled()
	var all []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range children(e, "") {
			switch c.Tag {
			case "primitive", "group", "clone", "master", "bundle":
				all = append(all, c)
				walk(c)
			}
		}
	}
	walk(cib.FirstChild(m.cfg, "resources"))
	for _, r := range all {
		id := attr(r, "id")
		// get_target_role
		if v, ok := m.meta(r, "target-role"); ok && !strings.EqualFold(v, "default") {
			rep.fn = "get_target_role"
			role, known := roles[strings.ToLower(v)]
			switch {
			case !known:
				rep.errf("Ignoring 'target-role' for %s because '%s' is not valid", id, v)
			case role > 2 && !m.promotable(r):
				rep.errf("Ignoring 'target-role' for %s because '%s' only makes sense for promotable clones", id, v)
			}
		}
		// unpack_requires
		if r.Tag == "primitive" || r.Tag == "group" || r.Tag == "clone" || r.Tag == "master" {
			if v, ok := m.meta(r, "requires"); ok {
				rep.fn = "unpack_requires"
				switch strings.ToLower(v) {
				case "fencing":
					if !fencing {
						rep.warnf("%s requires fencing but fencing is disabled", id)
					}
				case "unfencing":
					if r.Tag == "primitive" && m.class(r) == "stonith" {
						rep.warnf(`Resetting "requires" for %s to "quorum" because fencing devices cannot require unfencing`, id)
					} else if !fencing {
						rep.warnf(`Resetting "requires" for %s to "quorum" because fencing is disabled`, id)
					}
				}
			}
		}
	}
	// pe_warn_once: deprecated meta-attributes, reported once each.
	warned := map[string]bool{}
	once := func(key, fn, format string, args ...any) {
		if !warned[key] {
			warned[key] = true
			rep.fn = fn
			rep.warnf(format, args...)
		}
	}
	for _, r := range all {
		if v, _ := m.meta(r, "restart-type"); strings.EqualFold(v, "restart") {
			once("restart", "unpack_resource", "Support for restart-type is deprecated and will be removed in a future release")
		}
		if r.Tag == "group" {
			for _, opt := range []string{"ordered", "collocated"} {
				if v, ok := m.meta(r, opt); ok && isFalse(v) {
					once(opt, "set_group_flag", "Support for the '%s' group meta-attribute is deprecated and will be removed in a future release (use a resource set instead)", opt)
				}
			}
		}
	}
	// get_minimum_first_instances: require-all on an ordering whose first
	// resource is a clone without clone-min.
	for _, c := range children(cib.FirstChild(m.cfg, "constraints"), "rsc_order") {
		v, ok := cib.Attr(c, "require-all")
		first := m.resources[attr(c, "first")]
		if !ok || !(isTrue(v) || isFalse(v)) || first == nil || (first.Tag != "clone" && first.Tag != "master") {
			continue
		}
		if _, has := m.meta(first, "clone-min"); !has {
			once("require-all", "unpack_order_set", "Support for require-all in ordering constraints is deprecated and will be removed in a future release (use clone-min clone meta-attribute instead)")
		}
	}
	if !withStatus {
		return
	}
	maintenance := isTrue(m.options["maintenance-mode"])
	for _, p := range m.prims {
		if v, _ := m.meta(p, "maintenance"); maintenance || isTrue(v) {
			continue
		}
		ops := m.ops(p)
		rep.fn = "is_op_dup"
		for i, op := range ops {
			iv := intervalMS(attr(op, "interval"))
			if iv == 0 {
				continue
			}
			name := attr(op, "name")
			switch name {
			case "stop", "start", "demote", "promote", "reload-agent", "migrate_to", "migrate_from":
				rep.fn = "is_recurring_history"
				rep.errf("Ignoring %s because %s action cannot be recurring", attr(op, "id"), name)
				continue
			}
			first := ""
			for _, o := range ops[:i+1] {
				if attr(o, "name") == name && intervalMS(attr(o, "interval")) == iv {
					if first == "" {
						first = attr(o, "id")
					} else if o == op {
						rep.fn = "is_op_dup"
						rep.errf("Operation %s is duplicate of %s (do not use same name and interval combination more than once per resource)", attr(op, "id"), first)
					}
				}
			}
		}
		// An operation's on-fail is unpacked when its action is created,
		// which for these checks means the resource is active.
		if !running[attr(p, "id")] {
			continue
		}
		for _, op := range ops {
			onFail := attr(op, "on-fail")
			if onFail == "" {
				own := map[string]string{}
				nvsets(op, "meta_attributes", own)
				onFail = own["on-fail"]
			}
			if onFail == "" {
				onFail = m.opDefault["on-fail"]
			}
			name := attr(op, "name")
			switch {
			case name == "stop" && oneOfFold(onFail, "standby", "demote", "stop"):
				rep.fn = "unpack_operation_on_fail"
				rep.errf("Resetting 'on-fail' for %s stop action to default value because '%s' is not allowed for stop", attr(p, "id"), onFail)
			case strings.EqualFold(onFail, "fence") && !fencing:
				rep.fn = "unpack_operation"
				rep.errf("Resetting 'on-fail' for operation '%s_%s_%d' to 'stop' because 'fence' is not valid when fencing is disabled",
					attr(p, "id"), name, intervalMS(attr(op, "interval")))
			case strings.EqualFold(onFail, "demote") && name != "promote" &&
				(name != "monitor" || !oneOfFold(attr(op, "role"), "Promoted", "Master") || intervalMS(attr(op, "interval")) == 0):
				rep.fn = "unpack_operation_on_fail"
				rep.errf("Resetting 'on-fail' for %s %s action to default value because 'demote' is not allowed for it", attr(p, "id"), name)
			}
		}
	}
}

func isFalse(s string) bool {
	switch strings.ToLower(s) {
	case "false", "off", "no", "n", "0":
		return true
	}
	return false
}

func oneOfFold(s string, set ...string) bool {
	for _, x := range set {
		if strings.EqualFold(s, x) {
			return true
		}
	}
	return false
}

// inCollective reports whether a resource lives inside a bundle or a
// globally unique clone, whose members constraints cannot name (their
// instances are renamed "id:N").
func (m *model) inCollective(r *etree.Element) bool {
	for p := r.Parent(); p != nil && p.Tag != "resources"; p = p.Parent() {
		switch p.Tag {
		case "bundle":
			return true
		case "clone", "master":
			// An anonymous clone's instances answer to the child's id
			// (pe_find_clone); a unique clone's do not.
			for _, set := range children(p, "meta_attributes") {
				for _, nv := range children(set, "nvpair") {
					if attr(nv, "name") == "globally-unique" && isTrue(attr(nv, "value")) {
						return true
					}
				}
			}
			return false
		}
	}
	return false
}

// validRef is pcmk__valid_resource_or_tag: a resource (clone instances by
// their clone's id), a template or a tag.
func (m *model) validRef(id string) (isRsc, ok bool) {
	if r, found := m.resources[id]; found && !m.inCollective(r) {
		return true, true
	}
	if base, _, cut := strings.Cut(id, ":"); cut {
		if _, found := m.resources[base]; found {
			return true, true
		}
	}
	if m.templates[id] != nil || m.tags[id] {
		return false, true
	}
	return false, false
}

func checkConstraints(m *model, rep *Report) {
	for _, c := range children(cib.FirstChild(m.cfg, "constraints"), "") {
		id := attr(c, "id")
		switch c.Tag {
		case "rsc_colocation":
			rep.fn = "unpack_colocation_tags"
			if len(children(c, "resource_set")) > 0 {
				checkSets(m, c, rep)
				continue
			}
			d, p := attr(c, "rsc"), attr(c, "with-rsc")
			dr, dok := m.validRef(d)
			pr, pok := m.validRef(p)
			switch {
			case d != "" && !dok:
				rep.errf("Ignoring constraint '%s' because '%s' is not a valid resource or tag", id, d)
			case p != "" && !pok:
				rep.errf("Ignoring constraint '%s' because '%s' is not a valid resource or tag", id, p)
			case d != "" && p != "" && !dr && !pr:
				rep.errf("Ignoring constraint '%s' because two templates or tags cannot be colocated", id)
			}
		case "rsc_order":
			rep.fn = "get_ordering_type"
			if k, ok := cib.Attr(c, "kind"); ok && !oneOfFold(k, "Mandatory", "Optional", "Serialize") {
				rep.errf("Resetting 'kind' for constraint %s to 'Mandatory' because '%s' is not valid", id, k)
			}
			if k := attr(c, "kind"); strings.EqualFold(k, "Serialize") {
				if _, ok := cib.Attr(c, "symmetrical"); ok {
					rep.fn = "unpack_order_set"
					rep.warnf("Ignoring symmetrical for '%s' because not valid with kind of 'Serialize'", id)
				}
			}
			if len(children(c, "resource_set")) > 0 {
				rep.fn = "unpack_order_tags"
				checkSets(m, c, rep)
				continue
			}
			rep.fn = "unpack_order_tags"
			for _, k := range []string{"first", "then"} {
				if v := attr(c, k); v != "" {
					if _, ok := m.validRef(v); !ok {
						rep.errf("Ignoring constraint '%s' because '%s' is not a valid resource or tag", id, v)
						break
					}
				}
			}
		case "rsc_location":
			rep.fn = "unpack_location_tags"
			if len(children(c, "resource_set")) > 0 {
				checkSets(m, c, rep)
				continue
			}
			if v := attr(c, "rsc"); v != "" {
				if _, ok := m.validRef(v); !ok {
					rep.errf("Ignoring constraint '%s' because '%s' is not a valid resource or tag", id, v)
				}
			}
		case "rsc_ticket":
			rep.fn = "unpack_rsc_ticket_tags"
			if len(children(c, "resource_set")) > 0 {
				checkSets(m, c, rep)
				continue
			}
			if v := attr(c, "rsc"); v != "" {
				if _, ok := m.validRef(v); !ok {
					rep.errf("Ignoring constraint '%s' because '%s' is not a valid resource or tag", id, v)
				}
			}
		}
	}
}

// checkSets is pcmk__tag_to_set's reference check on resource sets.
func checkSets(m *model, c *etree.Element, rep *Report) {
	for _, set := range children(c, "resource_set") {
		for _, ref := range children(set, "resource_ref") {
			if _, ok := m.validRef(attr(ref, "id")); !ok {
				rep.fn = "pcmk__tag_to_set"
				rep.errf("Ignoring resource sets for constraint '%s' because '%s' is not a valid resource or tag", attr(c, "id"), attr(ref, "id"))
				return
			}
		}
	}
}

// checkStatus runs the scheduler for what only the status shows: nodes
// that are unclean (pe_warn "%s is unclean", "Scheduling node %s for
// fencing", "Node %s is unclean but cannot be fenced") and recorded node
// states that no longer match a configured node.
func checkStatus(m *model, res *pengine.Result, rep *Report) {
	known := map[string]bool{}
	for _, n := range children(cib.FirstChild(m.cfg, "nodes"), "node") {
		known[attr(n, "id")] = true
	}
	for _, p := range m.prims {
		if attr(p, "class") == "ocf" && attr(p, "provider") == "pacemaker" && attr(p, "type") == "remote" {
			known[attr(p, "id")] = true
		}
		meta := map[string]string{}
		nvsets(p, "meta_attributes", meta)
		if v := meta["remote-node"]; v != "" {
			known[v] = true
		}
	}
	guests := map[string]bool{}
	for _, p := range m.prims {
		meta := map[string]string{}
		nvsets(p, "meta_attributes", meta)
		if v := meta["remote-node"]; v != "" {
			guests[v] = true
		}
	}
	// pe_get_failcount: a failure timeout is ignored (with a warning) for
	// a resource whose failures block it.
	rep.fn = "pe_get_failcount"
	for _, p := range m.prims {
		ft, _ := m.meta(p, "failure-timeout")
		if intervalMS(ft) <= 0 {
			continue
		}
		block := false
		for _, op := range m.ops(p) {
			if strings.EqualFold(attr(op, "on-fail"), "block") {
				block = true
			}
		}
		if !block {
			continue
		}
		id := attr(p, "id")
		for _, ns := range children(cib.FirstChild(m.root, "status"), "node_state") {
			for _, ta := range children(ns, "transient_attributes") {
				for _, set := range children(ta, "instance_attributes") {
					for _, nv := range children(set, "nvpair") {
						n := attr(nv, "name")
						if (n == "fail-count-"+id || strings.HasPrefix(n, "fail-count-"+id+"#")) && cib.Char2Score(attr(nv, "value")) > 0 {
							rep.warnf("Ignoring failure timeout %d for %s because it conflicts with on-fail=block", intervalMS(ft)/1000, id)
						}
					}
				}
			}
		}
	}
	rep.fn = "unpack_node_state"
	for _, ns := range children(cib.FirstChild(m.root, "status"), "node_state") {
		id := attr(ns, "id")
		if id == "" || known[id] || isBundleNode(m, id) {
			continue
		}
		rep.warnf("Ignoring recorded node state for '%s' because it is no longer in the configuration", attr(ns, "uname"))
	}
	if res == nil {
		return
	}
	v := res.View()
	rep.fn = "determine_online_status"
	for _, n := range v.Nodes {
		if n.Unclean && !m.inBundle(n.Name) {
			rep.warnf("%s is unclean", n.Name)
		}
	}
	rep.fn = "schedule_fencing_and_shutdowns"
	for _, syn := range res.Synapses {
		if a := syn.Action; a != nil && a.Task == "stonith" && a.Node != nil && a.Meta["stonith_action"] != "on" &&
			!guests[a.Node.Uname] && !m.inBundle(a.Node.Uname) {
			rep.warnf("Scheduling node %s for fencing", a.Node.Uname)
		}
	}
	stopOrphans := true
	if val, ok := m.options["stop-orphan-resources"]; ok {
		stopOrphans = !isFalse(val)
	}
	var walk func(rs []*pengine.RscView)
	walk = func(rs []*pengine.RscView) {
		for _, r := range rs {
			if r.Orphan && len(r.RunningOn) > 0 && !m.inBundle(r.ID) {
				rep.fn = "process_orphan_resource"
				if stopOrphans {
					rep.warnf("Detected active orphan %s running on %s", r.ID, r.RunningOn[0].Name)
				} else {
					rep.warnf("Resource '%s' must be stopped manually on %s because cluster is configured not to stop active orphans", r.ID, r.RunningOn[0].Name)
				}
			}
			walk(r.Children)
		}
	}
	walk(v.Resources)
}

// inBundle reports whether name is a bundle's or one of its replicas'
// parts (BUNDLE-docker-N, BUNDLE-N, BUNDLE-ip-...), which the scheduler
// used here does not model.
func (m *model) inBundle(name string) bool {
	for id, r := range m.resources {
		if r.Tag == "bundle" && strings.HasPrefix(name, id+"-") {
			return true
		}
	}
	return false
}

// isBundleNode reports whether id names a bundle replica's guest node
// (BUNDLE-N).
func isBundleNode(m *model, id string) bool {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return false
	}
	if _, err := strconv.Atoi(id[i+1:]); err != nil {
		return false
	}
	r := m.resources[id[:i]]
	return r != nil && r.Tag == "bundle"
}

// intervalMS is crm_parse_interval_spec: ISO 8601 durations ("P40S",
// "PT1M") or a number with an optional unit (ms, s, m, h), in ms.
func intervalMS(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if s[0] == 'P' {
		return isoDurationMS(s[1:])
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0
	}
	switch strings.TrimSpace(strings.ToLower(s[i:])) {
	case "", "s", "sec":
		return n * 1000
	case "ms", "msec":
		return n
	case "us", "usec":
		return n / 1000
	case "m", "min":
		return n * 60000
	case "h", "hr":
		return n * 3600000
	}
	return n * 1000
}

func isoDurationMS(s string) int64 {
	var total int64
	inTime := false
	num := ""
	for _, c := range s {
		switch {
		case c == 'T':
			inTime = true
		case c >= '0' && c <= '9':
			num += string(c)
		default:
			n, _ := strconv.ParseInt(num, 10, 64)
			num = ""
			switch {
			case c == 'Y':
				total += n * 31536000
			case c == 'M' && !inTime:
				total += n * 2592000
			case c == 'W':
				total += n * 604800
			case c == 'D':
				total += n * 86400
			case c == 'H':
				total += n * 3600
			case c == 'M':
				total += n * 60
			case c == 'S':
				total += n
			}
		}
	}
	return total * 1000
}
