// Package crmmon is Pacemaker 2.1.5's crm_mon for one-shot output: the
// cluster state is unpacked by the scheduler (pengine.ClusterView), turned
// into a typed Status, and rendered per format (text, xml, html) through
// one registry, with the words, layout and section rules of
// lib/pengine/pe_output.c and lib/pacemaker/pcmk_output.c.
package crmmon

import (
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"ringmaster/pengine"
)

// Section bits (pcmk_section_e).
const (
	SecStack = 1 << iota
	SecDC
	SecTimes
	SecCounts
	SecOptions
	SecNodes
	SecResources
	SecAttributes
	SecFailcounts
	SecOperations
	SecFenceFailed
	SecFencePending
	SecFenceWorked
	SecTickets
	SecBans
	SecFailures
	SecMaintMode

	SecFencingAll = SecFenceFailed | SecFencePending | SecFenceWorked
	SecSummary    = SecStack | SecDC | SecTimes | SecCounts | SecMaintMode
	SecAll        = SecSummary | SecOptions | SecNodes | SecResources | SecAttributes | SecFailcounts |
		SecOperations | SecFencingAll | SecTickets | SecBans | SecFailures | SecMaintMode
)

// Show bits (pcmk_show_opt_e).
const (
	ShowBrief = 1 << iota
	ShowCloneDetail
	ShowNodeID
	ShowImplicit
	ShowTiming
	ShowInactive
	ShowByNode
	ShowPending
	ShowRscOnly
	ShowFailedDetail
	ShowFeatureSet

	ShowDetails = ShowCloneDetail | ShowNodeID | ShowImplicit | ShowFailedDetail | ShowFeatureSet
)

// Options select what a status shows.
type Options struct {
	Sections  uint32
	Show      uint32
	OnlyNode  []string // node names ("*" = all)
	OnlyRsc   []string // resource names ("*" = all)
	NegPrefix string   // --include=bans:PREFIX
}

// Status is the typed result crm_mon renders.
type Status struct {
	CIB  *etree.Element
	View *pengine.ClusterView

	Stack                             string
	DCVersion                         string
	HaveQuorum                        string // raw have-quorum attribute
	LastWritten, User, Client, Origin string
	NumInstances, Disabled, Blocked   int

	Failed []*FailedOp
	Bans   []*Ban
}

// FailedOp is one entry of the failed-actions list (data_set->failed).
type FailedOp struct {
	XML  *etree.Element
	Node string
	Rsc  string // resource id parsed from the operation key
}

// Ban is a negative location preference (ban-list).
type Ban struct {
	ID, Rsc, Node string
	NodeView      *pengine.NodeView
	Score         int
	Role          string
}

func attr(e *etree.Element, name string) string {
	if e == nil {
		return ""
	}
	return e.SelectAttrValue(name, "")
}

// Build makes the Status of one CIB from its unpacked view.
func Build(cib *etree.Element, v *pengine.ClusterView) *Status {
	s := &Status{CIB: cib, View: v, Stack: "unknown"}
	for _, nv := range cib.FindElements("//nvpair") {
		switch attr(nv, "name") {
		case "cluster-infrastructure":
			if s.Stack == "unknown" {
				s.Stack = attr(nv, "value")
			}
		case "dc-version":
			if s.DCVersion == "" {
				s.DCVersion = attr(nv, "value")
			}
		}
	}
	s.HaveQuorum = attr(cib, "have-quorum")
	s.LastWritten = attr(cib, "cib-last-written")
	s.User = attr(cib, "update-user")
	s.Client = attr(cib, "update-client")
	s.Origin = attr(cib, "update-origin")
	// data_set->nodes is kept sorted by name (pe_create_node inserts with
	// sort_node_uname); every node list follows that order.
	nodes := append([]*pengine.NodeView(nil), v.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return cmpNodeName(nodes[i].Name, nodes[j].Name) < 0 })
	v.Nodes = nodes
	// node->details->running_rsc grows as each node's lrm_resource entries
	// are unpacked, so it follows their order in the status section.
	for _, n := range v.Nodes {
		pos := func(x *pengine.RscView) int {
			if ops := x.History[n.Name]; len(ops) > 0 && ops[0].XML != nil && ops[0].XML.Parent() != nil {
				return ops[0].XML.Parent().Index()
			}
			return 1 << 30
		}
		sort.SliceStable(n.Running, func(i, j int) bool { return pos(n.Running[i]) < pos(n.Running[j]) })
	}
	// pe__count_common: orphans count only while active.
	v.Walk(func(r *pengine.RscView) {
		if r.Kind != "primitive" || (r.Orphan && roleRank(r.Role) <= roleRank("Stopped")) {
			return
		}
		s.NumInstances++
		if isDisabled(r) {
			s.Disabled++
		}
		if r.Blocked {
			s.Blocked++
		}
	})
	s.Failed = failedOps(v)
	s.Bans = bans(cib, v)
	return s
}

// isDisabled is pe__resource_is_disabled.
func isDisabled(r *pengine.RscView) bool {
	tr, ok := r.Meta["target-role"]
	if !ok {
		return false
	}
	switch strings.ToLower(tr) {
	case "stopped":
		return true
	case "unpromoted", "slave":
		return top(r).Promotable
	}
	return false
}

func top(r *pengine.RscView) *pengine.RscView {
	for r.Parent != nil {
		r = r.Parent
	}
	return r
}

// failedOps lists history entries whose result was a failure, as
// unpack_rsc_op records them in data_set->failed: node by node in status
// order (online nodes only), each resource's operations by call id, one
// entry per operation key and node. An operation failed when it did not
// complete, or completed with an rc other than the expected one (a probe
// may find the resource in any state).
func failedOps(v *pengine.ClusterView) []*FailedOp {
	var out []*FailedOp
	ops := map[*etree.Element]*pengine.OpView{}
	rscOf := map[*etree.Element]*pengine.RscView{}
	var status *etree.Element
	v.Walk(func(r *pengine.RscView) {
		for _, l := range r.History {
			for _, op := range l {
				ops[op.XML] = op
				rscOf[op.XML] = r
				if status == nil {
					status = op.XML
				}
			}
		}
	})
	if status == nil {
		return nil
	}
	for status.Parent() != nil && status.Tag != "status" {
		status = status.Parent()
	}
	seen := map[string]bool{}
	for _, ns := range status.SelectElements("node_state") {
		n := nodeByID(v, attr(ns, "id"))
		if n == nil || !n.Online {
			continue
		}
		for _, lr := range lrmResources(ns) {
			var list []*pengine.OpView
			for _, e := range lr.SelectElements("lrm_rsc_op") {
				if op := ops[e]; op != nil {
					list = append(list, op)
				}
			}
			sort.SliceStable(list, func(i, j int) bool { return list[i].CallID < list[j].CallID })
			for _, op := range list {
				if !opFailed(op) {
					continue
				}
				key := attr(op.XML, "operation_key")
				if key == "" {
					key = attr(op.XML, "id")
				}
				if seen[key+"\x00"+n.Name] {
					continue
				}
				seen[key+"\x00"+n.Name] = true
				rsc, _, _, ok := parseOpKey(key)
				if !ok {
					rsc = rscOf[op.XML].ID
				}
				out = append(out, &FailedOp{XML: op.XML, Node: n.Name, Rsc: rsc})
			}
		}
	}
	return out
}

func opFailed(op *pengine.OpView) bool {
	if op.Task == "notify" || op.Task == "meta-data" {
		return false
	}
	probe := op.Task == "monitor" && op.Interval == 0
	switch {
	case op.Status == -1 || op.Status == 1: // pending, cancelled
		return false
	case op.Status != 0 && op.Status != 4:
		return true
	case op.TargetRC < 0:
		return true
	case op.RC == op.TargetRC:
		return false
	case probe && (op.RC == 7 || op.RC == 0 || op.RC == 8):
		return false
	}
	return true
}

// maskedProbe is pcmk_xe_mask_probe_failure: a probe that found the agent
// missing or misconfigured is shown on the resource, not as a failure.
func maskedProbe(x *etree.Element) bool {
	if attr(x, "operation") != "monitor" || (attr(x, "interval") != "" && attr(x, "interval") != "0") {
		return false
	}
	rc := attr(x, "rc-code")
	return rc == "5" || rc == "2" || attr(x, "op-status") == "7"
}

func r0Managed(v *pengine.ClusterView, id string) bool {
	var m = true
	v.Walk(func(r *pengine.RscView) {
		if r.ID == id {
			m = r.Managed
		}
	})
	return m
}

// bans lists negative location preferences from rsc_location constraints
// with a node (rule-based ones are evaluated for #uname tests only).
func bans(cib *etree.Element, v *pengine.ClusterView) []*Ban {
	var out []*Ban
	cons := cib.FindElement("configuration/constraints")
	if cons == nil {
		return nil
	}
	for _, e := range cons.SelectElements("rsc_location") {
		rsc := attr(e, "rsc")
		if rsc == "" {
			continue
		}
		role := attr(e, "role")
		if node := attr(e, "node"); node != "" {
			sc := parseScore(attr(e, "score"))
			nv := v.Node(node)
			if sc < 0 && nv != nil {
				out = append(out, &Ban{ID: attr(e, "id"), Rsc: rsc, Node: node, NodeView: nv, Score: sc, Role: role})
			}
			continue
		}
		for _, rule := range e.SelectElements("rule") {
			sc := parseScore(attr(rule, "score"))
			if sc >= 0 {
				continue
			}
			rrole := attr(rule, "role")
			if rrole == "" {
				rrole = role
			}
			for _, nv := range v.Nodes {
				if unameRule(rule, nv.Name) {
					// a rule-based location is unpacked under the rule's id
					id := attr(rule, "id")
					if id == "" {
						id = attr(e, "id")
					}
					out = append(out, &Ban{ID: id, Rsc: rsc, Node: nv.Name, NodeView: nv, Score: sc, Role: rrole})
				}
			}
		}
	}
	return out
}

func unameRule(rule *etree.Element, node string) bool {
	exprs := rule.SelectElements("expression")
	if len(exprs) == 0 {
		return false
	}
	and := attr(rule, "boolean-op") != "or"
	for _, x := range exprs {
		ok := false
		if attr(x, "attribute") == "#uname" {
			switch attr(x, "operation") {
			case "eq":
				ok = node == attr(x, "value")
			case "ne":
				ok = node != attr(x, "value")
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

func parseScore(s string) int {
	switch strings.TrimSpace(s) {
	case "INFINITY", "+INFINITY":
		return 1000000
	case "-INFINITY":
		return -1000000
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	if v > 1000000 {
		return 1000000
	}
	if v < -1000000 {
		return -1000000
	}
	return v
}

// Resource predicates (the fns table of pe_resource_t).

// active is fns->active: a primitive is active on any node that is
// online, unclean, or where it is unmanaged; a collection with all=true
// needs every child active, with all=false any.
func active(r *pengine.RscView, all bool) bool {
	if r.Kind == "primitive" {
		for _, n := range r.RunningOn {
			if !n.Unclean && !n.Online && r.Managed {
				continue
			}
			return true
		}
		return false
	}
	any, every := false, true
	for _, c := range r.Children {
		if active(c, all) {
			any = true
		} else {
			every = false
		}
	}
	if !any {
		return false
	}
	if all && !every {
		return false
	}
	return true
}

// printableID is rsc_printable_id: anonymous clone instances go by their
// configured id.
func printableID(r *pengine.RscView) string {
	if !r.Unique && r.Parent != nil && isCloneInstance(r) {
		return r.XMLID
	}
	return r.ID
}

func isCloneInstance(r *pengine.RscView) bool {
	for p := r.Parent; p != nil; p = p.Parent {
		if p.Kind == "clone" {
			return true
		}
	}
	return false
}

func inList(s string, list []string) bool {
	for _, x := range list {
		if x == "*" || x == s {
			return true
		}
	}
	return false
}

func inListFold(s string, list []string) bool {
	for _, x := range list {
		if x == "*" || strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// isFiltered is fns->is_filtered.
func isFiltered(r *pengine.RscView, only []string, checkParent bool) bool {
	switch r.Kind {
	case "primitive":
		if inList(printableID(r), only) || inList(r.ID, only) {
			return false
		}
		if checkParent && r.Parent != nil {
			return isFiltered(top(r), only, false)
		}
		return true
	case "group":
		if checkParent && inList(printableID(top(r)), only) {
			return false
		}
		if inList(printableID(r), only) || (strings.Contains(r.ID, ":") && inList(r.ID, only)) {
			return false
		}
		for _, c := range r.Children {
			if !isFiltered(c, only, false) {
				return false
			}
		}
		return true
	case "bundle":
		return bundleFiltered(r, only)
	default: // clone
		if inList(printableID(r), only) {
			return false
		}
		if len(r.Children) > 0 && inList(r.Children[0].XMLID, only) {
			return false
		}
		for _, c := range r.Children {
			if !isFiltered(c, only, false) {
				return false
			}
		}
		return true
	}
}

// runningOnAny is pe__rsc_running_on_any.
func runningOnAny(r *pengine.RscView, only []string) bool {
	for _, n := range r.RunningOn {
		if inListFold(n.Name, only) {
			return true
		}
	}
	if r.Kind != "primitive" {
		for _, c := range r.Children {
			if runningOnAny(c, only) {
				return true
			}
		}
	}
	return false
}

// filteredByNode is pcmk__rsc_filtered_by_node.
func filteredByNode(r *pengine.RscView, only []string) bool {
	return activeOn(r) != nil && !runningOnAny(r, only)
}

func activeOn(r *pengine.RscView) []*pengine.NodeView {
	if r.Kind == "primitive" {
		return r.RunningOn
	}
	var out []*pengine.NodeView
	for _, c := range r.Children {
		for _, n := range activeOn(c) {
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

// location is fns->location(rsc, NULL, current): the single node an
// instance is active on, or nil.
func location(r *pengine.RscView) *pengine.NodeView {
	ns := activeOn(r)
	if len(ns) == 1 {
		return ns[0]
	}
	return nil
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

// state is fns->state(rsc, current).
func state(r *pengine.RscView) string {
	if r.Kind == "primitive" {
		return r.Role
	}
	best := "Unknown"
	for _, c := range r.Children {
		if s := state(c); roleRank(s) > roleRank(best) {
			best = s
		}
	}
	return best
}

func anySet(r *pengine.RscView, f func(*pengine.RscView) bool, any bool) bool {
	if r.Kind == "primitive" {
		return f(r)
	}
	for _, c := range r.Children {
		v := anySet(c, f, any)
		if any && v {
			return true
		}
		if !any && !v {
			return false
		}
	}
	return !any
}

// runningRscs lists the primitives running on a node in the order the
// scheduler attached them.
func runningRscs(n *pengine.NodeView) []*pengine.RscView { return n.Running }

// minZero is pcmk__scan_min_int(s, &v, 0): unparsable or negative is 0.
func minZero(s string) int {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < 0 {
		return 0
	}
	return v
}
