package pengine

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/beevik/etree"
)

// Resource definition changes and orphaned history
// (pcmk_sched_actions.c pcmk__handle_rsc_config_changes, pe_digest.c).

func (c *cluster) handleRscConfigChanges() {
	if c.status == nil {
		return
	}
	for _, n := range c.nodes {
		if !n.Maintenance && !n.available(0, false) {
			continue
		}
		var st *etree.Element
		for _, s := range c.status.SelectElements("node_state") {
			if attr(s, "uname") == n.Uname {
				st = s
				break
			}
		}
		if st == nil {
			continue
		}
		lrm := st.SelectElement("lrm")
		if lrm == nil {
			continue
		}
		rs := lrm.SelectElement("lrm_resources")
		if rs == nil {
			continue
		}
		for _, entry := range rs.SelectElements("lrm_resource") {
			if len(entry.ChildElements()) == 0 {
				continue
			}
			id := attr(entry, "id")
			for _, r := range c.rscsMatchingID(id) {
				if r.Kind == KindPrimitive {
					c.processRscHistory(entry, r, n)
				}
			}
		}
	}
}

// clearOrphanFailcounts is clear_failcounts_if_orphaned: an orphaned
// top-level resource's unexpired fail counts are cleared on every online
// node, before the resource is stopped.
func (c *cluster) clearOrphanFailcounts() {
	for _, r := range c.resources {
		if !r.Orphan {
			continue
		}
		for _, n := range c.nodes {
			if !n.Online {
				continue
			}
			if fc, _ := c.failCount(r, n, true, nil); fc == 0 {
				continue
			}
			clear := c.clearFailcount(r, n, "it is orphaned")
			c.newOrdering(r, "", clear, r, opKeyFor(r.ID, "stop", 0), nil, orderOptional)
		}
	}
}

func (c *cluster) rscsMatchingID(id string) []*Resource {
	var out []*Resource
	for _, top := range c.resources {
		top.walk(func(r *Resource) {
			if r.ID == id || (r.CloneName != "" && r.CloneName == id) {
				out = append(out, r)
			}
		})
	}
	return out
}

func (c *cluster) processRscHistory(entry *etree.Element, r *Resource, n *Node) {
	if r.Orphan {
		if cp := r.cloneParent(); cp != nil && !cp.Unique {
			return
		}
		c.scheduleCleanup(r, n, false)
		return
	}
	running := false
	for _, x := range r.RunningOn {
		if x == n {
			running = true
		}
	}
	if !running {
		if c.agentChanged(r, n, entry, false) {
			c.scheduleCleanup(r, n, false)
		}
		return
	}
	if c.agentChanged(r, n, entry, true) {
		c.scheduleCleanup(r, n, false)
	}
	var ops []*lrmOp
	for _, e := range entry.SelectElements("lrm_rsc_op") {
		ops = append(ops, parseLrmOp(e))
	}
	ops = sortOpsByCallID(ops)
	start, stop := calculateActiveOps(ops)
	if start < stop {
		return
	}
	for i, op := range ops {
		if i < start {
			continue
		}
		if op.Interval > 0 && (r.maintenance() || n.Maintenance) {
			c.scheduleCancel(r, attr(op.XML, "call-id"), op.Task, op.Interval, n)
		} else if op.Interval > 0 || op.Task == "monitor" || op.Task == "start" || op.Task == "promote" || op.Task == "migrate_from" {
			if c.checkActionConfig(r, n, op) {
				if fc, _ := c.failCount(r, n, true, nil); fc != 0 {
					c.clearFailcount(r, n, "action definition changed")
				}
			}
		}
	}
}

func (c *cluster) agentChanged(r *Resource, n *Node, entry *etree.Element, active bool) bool {
	changed := false
	mine := map[string]string{"type": r.Type, "class": r.Class, "provider": r.Provider}
	for _, k := range []string{"type", "class", "provider"} {
		if mine[k] != attr(entry, k) {
			changed = true
		}
	}
	if changed {
		c.triggerUnfencing(r, n, "Device definition changed")
	}
	if changed && active {
		c.newAction(r, opKeyFor(r.ID, "stop", 0), "stop", n, false)
		r.StartPending = true
	}
	return changed
}

// scheduleCleanup is pcmk__schedule_cleanup: delete the resource history.
func (c *cluster) scheduleCleanup(r *Resource, n *Node, optional bool) {
	if r.Failed || n.Unclean || !n.Online {
		return
	}
	c.newAction(r, opKeyFor(r.ID, "delete", 0), "delete", n, optional)
	flag := orderOptional
	if optional {
		flag = orderImpliesThen
	}
	c.orderRsc(r, "stop", r, "delete", flag)
	c.orderRsc(r, "delete", r, "start", flag)
}

func (c *cluster) scheduleCancel(r *Resource, callID, task string, interval int, n *Node) {
	cancel := c.newCancel(r, task, interval, n)
	cancel.Meta["call-id"] = callID
	c.newOrdering(r, opKeyFor(r.ID, "stop", 0), nil, r, "", cancel, orderOptional)
}

const (
	digestMatch = iota
	digestAll
	digestRestart
	digestUnknown
)

// checkActionConfig is pcmk__check_action_config.
func (c *cluster) checkActionConfig(r *Resource, n *Node, op *lrmOp) bool {
	task := op.Task
	if op.Interval > 0 {
		if od := r.findOp(task, op.Interval); od != nil && od.Enabled {
			// still configured
		} else if c.stopOrphanActions {
			c.scheduleCancel(r, attr(op.XML, "call-id"), task, op.Interval, n)
			return true
		} else {
			return true
		}
	}
	if op.Interval == 0 && (task == "monitor" || task == "migrate_from" || task == "promote") {
		task = "start"
	}
	switch c.digestCompare(r, n, op, task, true) {
	case digestRestart:
		c.forceRestart(r, n, task, op.Interval)
		return true
	case digestAll, digestUnknown:
		if op.Interval > 0 {
			c.triggerUnfencing(r, n, "Device parameters changed (reschedule)")
			a := c.newAction(r, opKeyFor(r.ID, task, op.Interval), task, n, true)
			a.set(aReschedule)
		} else if attr(op.XML, "op-restart-digest") != "" {
			c.triggerUnfencing(r, n, "Device parameters changed (reload)")
			c.scheduleReload(r, n)
		} else {
			c.forceRestart(r, n, task, op.Interval)
		}
		return true
	}
	return false
}

func (c *cluster) forceRestart(r *Resource, n *Node, task string, interval int) {
	a := c.newAction(r, opKeyFor(r.ID, task, interval), task, nil, false)
	a.Reason = "resource definition change"
	c.triggerUnfencing(r, n, "Device parameters changed")
}

func (c *cluster) scheduleReload(r *Resource, n *Node) {
	if n == nil || !r.Managed || r.Failed {
		return
	}
	if r.StartPending {
		c.newAction(r, opKeyFor(r.ID, "stop", 0), "stop", n, false)
		return
	}
	r.Reload = true
	reload := c.newAction(r, opKeyFor(r.ID, "reload-agent", 0), "reload-agent", n, false)
	if reload.Reason == "" {
		reload.Reason = "resource definition change"
	}
	c.newOrdering(nil, "", reload, r, opKeyFor(r.ID, "stop", 0), nil, orderOptional|orderThenCancelsFirst)
	c.newOrdering(nil, "", reload, r, opKeyFor(r.ID, "demote", 0), nil, orderOptional|orderThenCancelsFirst)
}

// digestCompare is rsc_action_digest_cmp (without secure digests, which
// only matter for sanitized simulations).
func (c *cluster) digestCompare(r *Resource, n *Node, op *lrmOp, task string, sanitized bool) int {
	all, restartParams, rc := c.digestParams(r, n, task, op.Interval, op)
	digestAllCalc := xmlDigest(all)
	// crm_simulate runs "sanitized": when only secure parameters (which
	// saved CIBs omit) differ, the definition did not change
	// (only_sanitized_changed).
	if sec := attr(op.XML, "op-secure-digest"); sanitized && sec != "" && digestAllCalc != attr(op.XML, "op-digest") {
		if c.secureDigest(r, n, op, all) == sec {
			return digestMatch
		}
	}
	if dr := attr(op.XML, "op-restart-digest"); dr != "" && restartParams != nil {
		if xmlDigest(restartParams) != dr {
			return digestRestart
		}
	}
	d := attr(op.XML, "op-digest")
	switch {
	case d == "":
		return digestUnknown
	case d != digestAllCalc:
		if op.Interval == 0 && rc == digestRestart {
			return digestRestart
		}
		return digestAll
	}
	return digestMatch
}

func (c *cluster) digestParams(r *Resource, n *Node, task string, interval int, op *lrmOp) (all, restart map[string]string, rc int) {
	all = map[string]string{}
	for k, v := range c.rscParams(r, n) {
		all[k] = v
	}
	if host := bundleRemoteHost(r); host != nil {
		all["addr"] = host.Uname
	}
	tmp := &Action{Task: task, Meta: map[string]string{}, Extra: map[string]string{}}
	c.unpackOperation(tmp, r, interval)
	if tmp.OpDef != nil {
		c.unpackNVSets(tmp.OpDef.XML, "instance_attributes", n, tmp.Extra, false)
	}
	for k, v := range tmp.Extra {
		all[k] = v
	}
	if interval > 0 {
		all["CRM_meta_timeout"] = tmp.Meta["timeout"]
	}
	if interval == 0 && len(tmp.Extra) > 0 {
		rc = digestRestart
	}
	for k := range all {
		switch k {
		case "id", "crm_feature_set", "op-digest", "on_node", "on_node_uuid", "pcmk_external_ip":
			delete(all, k)
		}
	}
	if attr(op.XML, "op-restart-digest") != "" {
		restart = map[string]string{}
		keep := attr(op.XML, "op-force-restart")
		filter := hasAttr(op.XML, "op-force-restart")
		for k, v := range all {
			if !filter || strings.Contains(keep, " "+k+" ") {
				restart[k] = v
			}
		}
	}
	return all, restart, rc
}

// rscParams are the instance attributes as evaluated for a node.
func (c *cluster) rscParams(r *Resource, n *Node) map[string]string {
	if n == nil {
		return r.Params
	}
	out := map[string]string{}
	src := []*etree.Element{r.XML}
	if t := attr(r.XML, "template"); t != "" {
		if te, ok := c.templates[t]; ok {
			src = append(src, te)
		}
	}
	for _, s := range src {
		c.unpackNVSets(s, "instance_attributes", n, out, false)
	}
	for p := r.Parent; p != nil; p = p.Parent {
		c.unpackNVSets(p.XML, "instance_attributes", n, out, false)
	}
	return out
}

func xmlEscapeAttr(s string) string {
	var b strings.Builder
	for _, ch := range s {
		switch ch {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\n':
			b.WriteString("&#10;")
		case '\r':
			b.WriteString("&#13;")
		case '\t':
			b.WriteString("&#9;")
		default:
			b.WriteRune(ch)
		}
	}
	return b.String()
}

// xmlDigest is calculate_operation_digest: MD5 of the sorted <parameters>
// element as Pacemaker serialises it (leading space, trailing newline).
func xmlDigest(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(" <parameters")
	for _, k := range keys {
		b.WriteString(" " + k + "=\"" + xmlEscapeAttr(params[k]) + "\"")
	}
	b.WriteString("/>\n")
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// secureDigest is calculate_secure_digest.
func (c *cluster) secureDigest(r *Resource, n *Node, op *lrmOp, all map[string]string) string {
	version := attr(op.XML, "crm_feature_set")
	if version == "" {
		version = attr(c.cib, "crm_feature_set")
	}
	old := compareFeatureSet(version, "3.16.0") < 0
	params := map[string]string{}
	if old {
		for k, v := range c.rscParams(r, n) {
			params[k] = v
		}
	} else {
		for k, v := range all {
			params[k] = v
		}
	}
	secure := attr(op.XML, "op-secure-params")
	for k := range params {
		if strings.Contains(secure, " "+k+" ") {
			delete(params, k)
		}
		if old && r.IsFenceDevice && strings.HasPrefix(k, "pcmk_") {
			delete(params, k)
		}
		if strings.HasPrefix(k, "CRM_meta_") && !(k == "CRM_meta_timeout" && op.Interval > 0 && !old) {
			delete(params, k)
		}
	}
	return xmlDigest(params)
}

func compareFeatureSet(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x = atoiDef(as[i], 0)
		}
		if i < len(bs) {
			y = atoiDef(bs[i], 0)
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
