package pengine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"ringmaster/pengine/rules"
)

// Param is one name=value pair of a digest's <parameters> element, in the
// order Pacemaker writes the element.
type Param struct{ Name, Value string }

// Digests is what crm_resource --digests reports for one resource on one
// node (pcmk__resource_digests in lib/pacemaker/pcmk_resource.c).
type Digests struct {
	Resource, Node, Task string
	IntervalMS           int
	// All, Secure and Restart are the "all", "nonprivate" and
	// "nonreloadable" hashes; "" when Pacemaker would not compute one.
	All, Secure, Restart          string
	AllParams, SecureParams       []Param
	RestartParams                 []Param
	HaveSecure, HaveRestartDigest bool
}

// ErrNotPrimitive is returned by ResourceDigests for a collective
// resource: only primitives have operation digests (EOPNOTSUPP upstream).
var ErrNotPrimitive = fmt.Errorf("pengine: digests exist only for primitive resources")

// ResourceDigests computes the operation digests of resource rscID on
// node as pe__calculate_digests does for crm_resource: the operation
// history entry chosen as best_op does (or a start without history),
// overridden by the name=value pairs given (in command-line order).
func (res *Result) ResourceDigests(rscID, node string, overrides []Param) (d *Digests, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, fmt.Errorf("pengine: internal error computing digests: %v", p)
		}
	}()
	c := res.c
	r := c.rscByID[rscID]
	n := c.nodeByName[node]
	if r == nil || n == nil {
		return nil, fmt.Errorf("pengine: no resource %q or node %q", rscID, node)
	}
	if r.Kind != KindPrimitive {
		return nil, ErrNotPrimitive
	}
	xop := c.bestDigestOp(r, n)
	task, interval := "", 0
	if xop != nil {
		task = attr(xop, "operation")
		interval = parseMsec(attr(xop, "interval") + "ms")
		if interval < 0 {
			interval = 0
		}
	}
	if task == "" {
		task, interval = "start", 0
	}
	opVersion := ""
	if xop != nil {
		opVersion = attr(xop, "crm_feature_set")
	}
	if opVersion == "" {
		opVersion = attr(c.cib, "crm_feature_set")
	}
	if opVersion == "" {
		opVersion = "3.16.2"
	}
	ovr := &orderedParams{}
	for _, p := range gHashOrder(overrides, true) {
		ovr.set(p.Name, p.Value)
	}
	if v, ok := ovr.get("CRM_meta_interval"); ok {
		if i, e := strconv.ParseInt(strings.TrimSpace(v), 10, 64); e == nil && i >= 0 && i <= 0xffffffff {
			interval = int(i)
		}
	}
	params := gHashOrder(c.orderedRscParams(r, n), true)

	// calculate_main_digest
	tmp := &Action{Task: task, Meta: map[string]string{}, Extra: map[string]string{}}
	c.unpackOperation(tmp, r, interval)
	var extra []Param
	if tmp.OpDef != nil {
		c.unpackNVSets(tmp.OpDef.XML, "instance_attributes", n, tmp.Extra, false)
		extra = orderedFromMap(tmp.OpDef.XML, "instance_attributes", tmp.Extra)
	}
	all := &orderedParams{}
	for _, p := range ovr.list {
		all.add(p.Name, p.Value)
	}
	for _, p := range params {
		all.add(p.Name, p.Value)
	}
	for _, p := range gHashOrder(extra, false) {
		all.add(p.Name, p.Value)
	}
	var meta []Param
	for k, v := range tmp.Meta {
		meta = append(meta, Param{"CRM_meta_" + k, v})
	}
	sortParams(meta)
	for _, p := range meta {
		all.add(p.Name, p.Value)
	}
	filterForDigest(all)
	d = &Digests{Resource: r.ID, Node: n.Uname, Task: task, IntervalMS: interval}
	d.AllParams = all.list
	d.All = xmlDigest(all.asMap())

	// calculate_secure_digest
	old := compareFeatureSet(opVersion, "3.16.0") < 0
	secureList, haveList := " passwd password user ", true
	if xop != nil {
		secureList, haveList = attr(xop, "op-secure-params"), hasAttr(xop, "op-secure-params")
	}
	sec := &orderedParams{}
	if old {
		for _, p := range ovr.list {
			sec.add(p.Name, p.Value)
		}
		for _, p := range params {
			sec.add(p.Name, p.Value)
		}
	} else {
		for _, p := range all.list {
			sec.add(p.Name, p.Value)
		}
	}
	if haveList {
		sec.remove(func(k string) bool { return strings.Contains(secureList, " "+k+" ") })
	}
	if old && r.Class == "stonith" {
		sec.remove(isFenceParam)
	}
	filterForDigest(sec)
	if old {
		sec.remove(func(k string) bool { return k == "CRM_meta_timeout" })
	}
	d.HaveSecure = true
	d.SecureParams = sec.list
	d.Secure = xmlDigest(sec.asMap())

	// calculate_restart_digest
	if xop != nil && hasAttr(xop, "op-restart-digest") {
		rs := &orderedParams{}
		for _, p := range all.list {
			rs.set(p.Name, p.Value)
		}
		if hasAttr(xop, "op-force-restart") {
			keep := attr(xop, "op-force-restart")
			rs.remove(func(k string) bool { return !strings.Contains(keep, " "+k+" ") })
		}
		d.HaveRestartDigest = true
		d.RestartParams = rs.list
		d.Restart = xmlDigest(rs.asMap())
	}
	return d, nil
}

// bestDigestOp is best_op: the node's history entry of the resource that
// best describes its current definition.
func (c *cluster) bestDigestOp(r *Resource, n *Node) *etree.Element {
	if c.status == nil {
		return nil
	}
	var history *etree.Element
	for _, ns := range childrenNamed(c.status, "node_state") {
		if attr(ns, "uname") != n.Uname {
			continue
		}
		for _, lrm := range childrenNamed(ns, "lrm") {
			for _, lrs := range childrenNamed(lrm, "lrm_resources") {
				for _, lr := range childrenNamed(lrs, "lrm_resource") {
					if attr(lr, "id") == r.ID && history == nil {
						history = lr
					}
				}
			}
		}
	}
	if history == nil {
		return nil
	}
	var best *etree.Element
	bestEffective, bestInterval, bestFailure, bestHasDigest := false, 0, false, false
	for _, op := range childrenNamed(history, "lrm_rsc_op") {
		interval := parseMsec(attr(op, "interval") + "ms")
		if interval < 0 {
			interval = 0
		}
		task := strings.ToLower(attr(op, "operation"))
		effective := interval == 0 && (task == "monitor" || task == "start" || task == "promote" || task == "migrate_from")
		failure := strings.HasSuffix(attr(op, "id"), "_last_failure_0")
		hasDigest := hasAttr(op, "op-restart-digest")
		if best != nil {
			if bestEffective {
				if !effective {
					continue
				}
			} else if bestInterval != 0 && !effective && interval == 0 {
				continue
			}
			if !bestFailure && failure {
				continue
			}
			if bestHasDigest && !hasDigest {
				continue
			}
			if newerOp(best, op) > 0 {
				continue
			}
		}
		best, bestEffective, bestInterval, bestFailure, bestHasDigest = op, effective, interval, failure, hasDigest
	}
	return best
}

// newerOp is pe__is_newer_op for two entries of one node's history.
func newerOp(a, b *etree.Element) int {
	ac, bc := atoiDef(attr(a, "call-id"), -1), atoiDef(attr(b, "call-id"), -1)
	switch {
	case attr(a, "id") == attr(b, "id"):
		return 0
	case ac == -1 && bc == -1:
		return 0
	case ac >= 0 && ac < bc:
		return -1
	case bc >= 0 && ac > bc:
		return 1
	case ac >= 0 && bc >= 0:
		la, lb := atoiDef(attr(a, "last-rc-change"), -1), atoiDef(attr(b, "last-rc-change"), -1)
		if la >= 0 && la < lb {
			return -1
		}
		if lb >= 0 && la > lb {
			return 1
		}
	}
	return 0
}

// isFenceParam is pcmk_stonith_param: parameters Pacemaker itself reads
// for fencing devices.
func isFenceParam(k string) bool {
	switch k {
	case "provides", "stonith-timeout":
		return true
	}
	if !strings.HasPrefix(k, "pcmk_") {
		return false
	}
	switch k {
	case "pcmk_action_limit", "pcmk_delay_base", "pcmk_delay_max", "pcmk_host_argument",
		"pcmk_host_check", "pcmk_host_list", "pcmk_host_map":
		return true
	}
	rest := k[5:]
	i := strings.IndexByte(rest, '_')
	if i < 0 {
		return false
	}
	switch rest[i:] {
	case "_action", "_timeout", "_retries":
		return true
	}
	return false
}

// filterForDigest is pcmk__filter_op_for_digest.
func filterForDigest(p *orderedParams) {
	interval := 0
	if v, ok := p.get("CRM_meta_interval"); ok {
		interval = parseMsec(v + "ms")
	}
	timeout, haveTimeout := "", false
	if interval > 0 {
		timeout, haveTimeout = p.get("CRM_meta_timeout")
	}
	p.remove(func(k string) bool {
		if strings.HasPrefix(k, "CRM_meta_") {
			return true
		}
		switch k {
		case "id", "crm_feature_set", "op-digest", "on_node", "on_node_uuid", "pcmk_external_ip":
			return true
		}
		return false
	})
	if haveTimeout {
		p.set("CRM_meta_timeout", timeout)
	}
}

// orderedRscParams is rscParams with the order in which Pacemaker inserts
// the values into its table (sets by score, nvpairs in document order,
// the resource before its template and parents).
func (c *cluster) orderedRscParams(r *Resource, n *Node) []Param {
	final := c.rscParams(r, n)
	src := []*etree.Element{r.XML}
	if t := attr(r.XML, "template"); t != "" {
		if te, ok := c.templates[t]; ok {
			src = append(src, te)
		}
	}
	for p := r.Parent; p != nil; p = p.Parent {
		src = append(src, p.XML)
	}
	var out []Param
	seen := map[string]bool{}
	for _, s := range src {
		for _, p := range orderedFromMap(s, "instance_attributes", final) {
			if !seen[p.Name] {
				seen[p.Name] = true
				out = append(out, p)
			}
		}
	}
	for _, k := range sortedKeys(final) {
		if !seen[k] {
			out = append(out, Param{k, final[k]})
		}
	}
	return out
}

// orderedFromMap lists the keys of final in the order the blocks under
// parent would insert them.
func orderedFromMap(parent *etree.Element, tag string, final map[string]string) []Param {
	var out []Param
	seen := map[string]bool{}
	for _, b := range rules.SortedBlocks(parent, tag, "") {
		for _, nv := range b.FindElements(".//nvpair") {
			k := attr(nv, "name")
			if v, ok := final[k]; ok && !seen[k] {
				seen[k] = true
				out = append(out, Param{k, v})
			}
		}
	}
	for _, k := range sortedKeys(final) {
		if !seen[k] {
			out = append(out, Param{k, final[k]})
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	var ks []Param
	for k := range m {
		ks = append(ks, Param{k, ""})
	}
	sortParams(ks)
	out := make([]string, len(ks))
	for i, p := range ks {
		out[i] = p.Name
	}
	return out
}

func sortParams(ps []Param) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Name < ps[j-1].Name; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// orderedParams is an XML element's attribute list: setting an existing
// name keeps its place, a new name goes last.
type orderedParams struct{ list []Param }

func (o *orderedParams) get(k string) (string, bool) {
	for _, p := range o.list {
		if p.Name == k {
			return p.Value, true
		}
	}
	return "", false
}

func (o *orderedParams) set(k, v string) {
	for i := range o.list {
		if o.list[i].Name == k {
			o.list[i].Value = v
			return
		}
	}
	o.list = append(o.list, Param{k, v})
}

// add is hash2field: an existing attribute keeps its value.
func (o *orderedParams) add(k, v string) {
	if _, ok := o.get(k); !ok {
		o.list = append(o.list, Param{k, v})
	}
}

func (o *orderedParams) remove(drop func(string) bool) {
	kept := o.list[:0]
	for _, p := range o.list {
		if !drop(p.Name) {
			kept = append(kept, p)
		}
	}
	o.list = kept
}

func (o *orderedParams) asMap() map[string]string {
	m := make(map[string]string, len(o.list))
	for _, p := range o.list {
		m[p.Name] = p.Value
	}
	return m
}

// gHashOrder returns pairs (given in insertion order, later duplicates
// replacing values) in the order a GLib string-keyed GHashTable iterates
// them: g_str_hash (or pcmk__strcase_hash for Pacemaker's case-insensitive
// tables, such as a resource's parameters), index (hash*11) mod prime,
// quadratic probing, and the table growing from 8 slots when 15/16 full.
func gHashOrder(in []Param, caseless bool) []Param {
	type slot struct {
		used bool
		hash uint32
		p    Param
	}
	primes := []uint32{1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071}
	shift := 3
	table := make([]slot, 1<<shift)
	nnodes := 0
	var insert func(tab []slot, sh int, s slot) bool
	insert = func(tab []slot, sh int, s slot) bool {
		mask := uint32(len(tab) - 1)
		idx := (s.hash * 11) % primes[sh]
		step := uint32(0)
		for tab[idx].used {
			if tab[idx].p.Name == s.p.Name || (caseless && strings.EqualFold(tab[idx].p.Name, s.p.Name)) {
				tab[idx].p.Value = s.p.Value
				return false
			}
			step++
			idx = (idx + step) & mask
		}
		tab[idx] = s
		return true
	}
	for _, p := range in {
		h := uint32(5381)
		if caseless {
			// pcmk__strcase_hash, for pcmk__strikey_table tables.
			h = 0
			for i := 0; i < len(p.Name); i++ {
				c := p.Name[i]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				h = h*31 + uint32(int32(int8(c)))
			}
		} else {
			for i := 0; i < len(p.Name); i++ {
				h = h*33 + uint32(int32(int8(p.Name[i])))
			}
		}
		if h <= 1 {
			h = 2
		}
		if insert(table, shift, slot{used: true, hash: h, p: p}) {
			nnodes++
			if len(table) <= nnodes+nnodes/16 && shift+1 < len(primes) {
				size := int(float64(nnodes) * 1.333)
				ns := 0
				for ; size != 0; ns++ {
					size >>= 1
				}
				if ns < 3 {
					ns = 3
				}
				nt := make([]slot, 1<<ns)
				for _, s := range table {
					if s.used {
						insert(nt, ns, s)
					}
				}
				table, shift = nt, ns
			}
		}
	}
	var out []Param
	for _, s := range table {
		if s.used {
			out = append(out, s.p)
		}
	}
	return out
}
