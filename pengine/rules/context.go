package rules

import (
	"time"
)

// Context is everything a rule may look at. The zero parts mean "not known
// here", which makes the expressions that need them false, exactly as a
// NULL in upstream's pe_rule_eval_data_t does.
type Context struct {
	// Now is the effective current time. Its location plays the part of
	// the process's local time zone: date_spec reads the local fields of
	// Now, and a date/time in a rule that names no zone gets the offset
	// of that location at Now (see ParseDateTime).
	Now time.Time

	// At, when defined, is the evaluation instant in Pacemaker's own
	// representation and takes precedence over Now, which then only
	// stands for the process clock and zone when dates in rules are
	// parsed. Tools that take a date argument (crm_rule -d, crm_simulate
	// -t) parse it with ParseDateTime and put it here, which keeps its
	// fields and offset exactly as upstream holds them.
	At Time

	// NodeAttrs are the attributes of the node the rule is evaluated for,
	// including the built-in ones the caller must fill in (#uname, #id,
	// #kind, #is_dc, #cluster-name, #site-name; see NodeBuiltins). A nil
	// map means "no node": node attribute expressions are then false.
	NodeAttrs map[string]string

	// Rsc makes rsc_expression meaningful (rsc_defaults); nil: false.
	Rsc *RscInfo
	// Op makes op_expression meaningful (op_defaults); nil: false.
	Op *OpInfo

	// Params and Meta are the resource's parameters and meta-attributes,
	// used by value-source="param"/"meta"; Regex is the rsc-pattern match
	// of a location constraint, used by %0-%9 in attribute names. When all
	// three are nil (as for nvpair blocks upstream) value-source is
	// ignored and the value is taken literally.
	Params, Meta map[string]string
	Regex        *RegexMatch

	// Role is the resource role for #role expressions ("Started",
	// "Promoted", "Unpromoted", "Stopped", or the legacy "Master" and
	// "Slave"); empty means unknown, which fails every #role expression.
	Role string

	// Logf, if set, receives configuration problems met while evaluating
	// (upstream logs them and goes on with a defined answer).
	Logf func(format string, args ...any)
}

// RscInfo identifies a resource agent: class (standard), provider, type.
// An empty Provider means the agent has none (stonith, systemd ...).
type RscInfo struct{ Class, Provider, Type string }

// OpInfo identifies an operation: its name and interval.
type OpInfo struct {
	Name     string
	Interval time.Duration
}

// RegexMatch is a match of a location constraint's rsc-pattern against a
// resource id: Subject is the id and Index what regexp's
// FindStringSubmatchIndex returned for it (pairs of offsets, -1 for a group
// that did not take part).
type RegexMatch struct {
	Subject string
	Index   []int
}

// NodeBuiltins returns the built-in node attributes Pacemaker puts in a
// node's attribute table before its instance_attributes (unpack.c
// add_node_attrs): #uname, #id, #is_dc ("true"/"false"), #kind
// ("cluster", "remote" or "container") and, when the cluster has a
// cluster-name, #cluster-name. After the node's own attributes are
// unpacked, call AddSiteName.
func NodeBuiltins(uname, id, kind string, isDC bool, clusterName string) map[string]string {
	m := map[string]string{"#uname": uname, "#id": id, "#kind": kind, "#is_dc": "false"}
	if isDC {
		m["#is_dc"] = "true"
	}
	if clusterName != "" {
		m["#cluster-name"] = clusterName
	}
	return m
}

// AddSiteName sets #site-name, unless already set, from the node's
// "site-name" attribute or else the cluster name (add_node_attrs).
func AddSiteName(attrs map[string]string, clusterName string) {
	if _, ok := attrs["#site-name"]; ok {
		return
	}
	if v, ok := attrs["site-name"]; ok {
		attrs["#site-name"] = v
	} else if clusterName != "" {
		attrs["#site-name"] = clusterName
	}
}

func (c *Context) matchData() bool {
	return c.Params != nil || c.Meta != nil || c.Regex != nil
}

func (c *Context) logf(format string, args ...any) {
	if c != nil && c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Role numbers of enum rsc_role_e, whose order the #role rules rely on.
const (
	roleUnknown = iota
	roleStopped
	roleStarted
	roleUnpromoted
	rolePromoted
)

// roleOf is text2role.
func roleOf(s string) int {
	switch {
	case equalFold(s, "Stopped"):
		return roleStopped
	case equalFold(s, "Started"):
		return roleStarted
	case equalFold(s, "Unpromoted"), equalFold(s, "Slave"):
		return roleUnpromoted
	case equalFold(s, "Promoted"), equalFold(s, "Master"):
		return rolePromoted
	}
	return roleUnknown
}
