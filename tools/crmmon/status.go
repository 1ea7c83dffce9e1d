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
	v.Walk(func(r *pengine.RscView) {
		if r.Kind != "primitive" {
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

// failedOps lists history entries whose result was a failure, node by
// node in status order, as unpack_rsc_op records them in data_set->failed:
// an operation failed when it did not complete or its rc differs from the
// expected one (a probe finding the resource stopped is no failure).
func failedOps(v *pengine.ClusterView) []*FailedOp {
	var out []*FailedOp
	seen := map[*etree.Element]bool{}
	type entry struct {
		op   *pengine.OpView
		node string
		rsc  string
	}
	var all []entry
	v.Walk(func(r *pengine.RscView) {
		for node, ops := range r.History {
			for _, op := range ops {
				all = append(all, entry{op, node, r.ID})
			}
		}
	})
	// keep the document order of the status section
	order := map[*etree.Element]int{}
	i := 0
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		order[e] = i
		i++
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	if len(all) > 0 {
		root := all[0].op.XML
		for root.Parent() != nil {
			root = root.Parent()
		}
		walk(root)
	}
	sort.SliceStable(all, func(a, b int) bool { return order[all[a].op.XML] < order[all[b].op.XML] })
	for _, e := range all {
		op := e.op
		if seen[op.XML] || op.Task == "notify" || op.Task == "meta-data" {
			continue
		}
		failed := false
		switch {
		case op.Status == -1 || op.Status == 1: // pending, cancelled
		case op.Status != 0:
			failed = true
		case op.TargetRC >= 0 && op.RC != op.TargetRC:
			failed = !(op.Task == "monitor" && op.Interval == 0 && op.RC == 7)
			if op.Task == "monitor" && op.Interval == 0 && op.RC == 8 {
				failed = false
			}
		}
		if !failed {
			continue
		}
		seen[op.XML] = true
		rsc := attr(op.XML, "operation_key")
		if i := strings.LastIndexByte(rsc, '_'); i > 0 {
			rsc = rsc[:i]
			if j := strings.LastIndexByte(rsc, '_'); j > 0 {
				rsc = rsc[:j]
			}
		} else {
			rsc = e.rsc
		}
		out = append(out, &FailedOp{XML: op.XML, Node: e.node, Rsc: rsc})
	}
	return out
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
					out = append(out, &Ban{ID: attr(e, "id"), Rsc: rsc, Node: nv.Name, NodeView: nv, Score: sc, Role: rrole})
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
