package crmresource

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ringmaster/pengine"
	"ringmaster/tools/pcmkout"
)

// opEntry is one line of --list-operations / --list-all-operations.
type opEntry struct {
	op       *etree.Element
	rsc      string
	node     string
	rscState string // the resource as node_and_op prints it, "" = unknown
}

func eattr(e *etree.Element, k string) string { return e.SelectAttrValue(k, "") }

// findOperations is find_operations: node_state by node_state (online
// nodes, or all when fencing is enabled), each lrm_resource's operations
// by call id; with active only those since the resource last started.
func findOperations(cib *etree.Element, v *pengine.ClusterView, rsc, node string, active bool) []opEntry {
	var out []opEntry
	status := cib.SelectElement("status")
	if status == nil {
		return nil
	}
	for _, ns := range status.SelectElements("node_state") {
		uname := eattr(ns, "uname")
		if node != "" && !strings.EqualFold(uname, node) {
			continue
		}
		nv := v.Node(uname)
		if nv == nil || (!nv.Online && !v.StonithEnabled) {
			continue
		}
		lrm := ns.SelectElement("lrm")
		if lrm == nil || lrm.SelectElement("lrm_resources") == nil {
			continue
		}
		for _, lr := range lrm.SelectElement("lrm_resources").SelectElements("lrm_resource") {
			id := eattr(lr, "id")
			if rsc != "" && !strings.EqualFold(id, rsc) {
				continue
			}
			ops := lr.SelectElements("lrm_rsc_op")
			sort.SliceStable(ops, func(i, j int) bool { return callID(ops[i]) < callID(ops[j]) })
			if active {
				ops = activeOps(ops)
			}
			for _, op := range ops {
				out = append(out, opEntry{op: op, rsc: id, node: uname})
			}
		}
	}
	return out
}

func callID(e *etree.Element) int {
	v, err := strconv.Atoi(eattr(e, "call-id"))
	if err != nil {
		return 0
	}
	return v
}

// activeOps is calculate_active_ops + extract_operations' filter.
func activeOps(ops []*etree.Element) []*etree.Element {
	start, stop, impliedMon, impliedClone := -1, -1, -1, -1
	for i, op := range ops {
		task := eattr(op, "operation")
		switch {
		case task == "stop" && eattr(op, "op-status") == "0":
			stop = i
		case task == "start" || task == "migrate_from":
			start = i
		case impliedMon <= stop && task == "monitor":
			if rc := eattr(op, "rc-code"); rc == "0" || rc == "8" {
				impliedMon = i
			}
		case task == "promote" || task == "demote":
			impliedClone = i
		}
	}
	if start == -1 {
		if impliedClone != -1 {
			start = impliedClone
		} else if impliedMon != -1 {
			start = impliedMon
		}
	}
	if start < stop {
		return nil
	}
	if start < 0 {
		start = 0
	}
	return ops[start:]
}

// nodeAndOp is the node-and-op message's text.
func nodeAndOp(v *pengine.ClusterView, e opEntry) string {
	str := "Unknown resource " + e.rsc
	if r, _ := findView(v, e.rsc); r != nil && r.Kind == "primitive" {
		str = rscOnlyString(r)
	}
	key := eattr(e.op, "operation_key")
	if key == "" {
		key = eattr(e.op, "id")
	}
	lc := ""
	if t, err := strconv.ParseInt(eattr(e.op, "last-rc-change"), 10, 64); err == nil {
		lc = fmt.Sprintf(", last-rc-change='%s', exec=%sms", time.Unix(t, 0).Local().Format("Mon Jan _2 15:04:05 2006"), eattr(e.op, "exec-time"))
	}
	st, err := strconv.Atoi(eattr(e.op, "op-status"))
	if err != nil {
		st = -2
	}
	return fmt.Sprintf("%s: %s (node=%s, call=%s, rc=%s%s): %s", str, key, e.node, eattr(e.op, "call-id"),
		eattr(e.op, "rc-code"), lc, execStatus(st))
}

// nodeAndOpXML is node_and_op_xml.
func nodeAndOpXML(v *pengine.ClusterView, e opEntry) *pcmkout.Node {
	key := eattr(e.op, "operation_key")
	if key == "" {
		key = eattr(e.op, "id")
	}
	st, err := strconv.Atoi(eattr(e.op, "op-status"))
	if err != nil {
		st = -2
	}
	n := pcmkout.NewNode("operation", "op", key, "node", e.node, "call", eattr(e.op, "call-id"),
		"rc", eattr(e.op, "rc-code"), "status", execStatus(st))
	if r, _ := findView(v, e.rsc); r != nil {
		class := eattr(r.XML, "class")
		prov := ""
		if strings.EqualFold(class, "ocf") {
			prov = eattr(r.XML, "provider")
		}
		name := r.ID
		if top := topOf(r); top.Kind == "clone" && !r.Unique {
			name = r.XMLID
		}
		n.Set("rsc", name)
		n.Set("agent", class+":"+prov+":"+eattr(r.XML, "type"))
	}
	if t, err := strconv.ParseInt(eattr(e.op, "last-rc-change"), 10, 64); err == nil {
		n.Set("last-rc-change", time.Unix(t, 0).Local().Format("Mon Jan _2 15:04:05 2006"))
		if x := e.op.SelectAttr("exec-time"); x != nil {
			n.Set("exec-time", x.Value)
		}
	}
	return n
}

func topOf(r *pengine.RscView) *pengine.RscView {
	for r.Parent != nil {
		r = r.Parent
	}
	return r
}

// rscOnlyString is pcmk__native_output_string with pcmk_show_rsc_only:
// name, agent and state, no node.
func rscOnlyString(r *pengine.RscView) string {
	class := eattr(r.XML, "class")
	agent := class
	if strings.EqualFold(class, "ocf") {
		agent += ":" + eattr(r.XML, "provider")
	}
	agent += ":" + eattr(r.XML, "type")
	name := r.ID
	top := r
	for top.Parent != nil {
		top = top.Parent
	}
	if top.Kind == "clone" && !r.Unique {
		name = r.XMLID
	}
	role := r.Role
	if role == "Started" && top.Promotable {
		role = "Unpromoted"
	}
	s := name + "\t(" + agent + "):\t"
	if r.Orphan {
		s += " ORPHANED"
	}
	if r.Failed {
		s += " FAILED"
		if role == "Promoted" {
			s += " " + role
		}
	} else {
		s += " " + role
	}
	var flags []string
	if tr, ok := r.Meta["target-role"]; ok && strings.EqualFold(tr, "stopped") {
		flags = append(flags, "disabled")
	}
	if r.Blocked {
		flags = append(flags, "blocked")
	} else if !r.Managed {
		flags = append(flags, "unmanaged")
	}
	if r.FailureIgnored {
		flags = append(flags, "failure ignored")
	}
	if len(flags) > 0 {
		s += " (" + strings.Join(flags, ", ") + ")"
	}
	if d := eattr(r.XML, "description"); d != "" {
		s += " " + d
	}
	return s
}

func execStatus(st int) string {
	switch st {
	case -1:
		return "pending"
	case 0:
		return "complete"
	case 1:
		return "Cancelled"
	case 2:
		return "Timed Out"
	case 3:
		return "NOT SUPPORTED"
	case 4:
		return "Error"
	case 5:
		return "Hard error"
	case 6:
		return "Fatal error"
	case 7:
		return "Not installed"
	case 8:
		return "Internal communication failure"
	case 9:
		return "Invalid"
	case 10:
		return "No fence device"
	case 11:
		return "No secrets"
	}
	return "UNKNOWN!"
}
