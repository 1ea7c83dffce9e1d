// Package crmrule is the logic of the crm_rule tool: it checks whether
// rules of a CIB are in effect at a given time, with the results, messages
// and exit codes of Pacemaker 2.1.5's crm_rule (lib/pacemaker/pcmk_rule.c).
package crmrule

import (
	"time"

	"github.com/beevik/etree"

	"ringmaster/pengine/rules"
)

// Outcome is the answer for one rule, in the terms of the Pacemaker return
// codes crm_rule reports.
type Outcome int

const (
	InEffect     Outcome = iota // pcmk_rc_within_range: "is still in effect"
	Satisfied                   // pcmk_rc_ok: "satisfies conditions"
	Expired                     // pcmk_rc_after_range
	NotYet                      // pcmk_rc_before_range
	Unsatisfied                 // pcmk_rc_op_unsatisfied
	Undetermined                // pcmk_rc_undetermined: "Error parsing rule"
	NotFound                    // ENXIO
	Unsupported                 // EOPNOTSUPP
	DuplicateID                 // pcmk_rc_duplicate_id
)

// ExitCode maps an outcome to the crm_exit_t pcmk_rc2exitc gives it.
func (o Outcome) ExitCode() int {
	switch o {
	case InEffect, Satisfied:
		return ExitOK
	case Expired:
		return ExitExpired
	case NotYet:
		return ExitNotYetInEffect
	case Unsatisfied:
		return ExitUnsatisfied
	case Undetermined:
		return ExitIndeterminate
	case NotFound:
		return ExitNoSuch
	case Unsupported:
		return ExitUnimplemented
	case DuplicateID:
		return ExitMultiple
	}
	return ExitError
}

// isOK tells whether the outcome is pcmk_rc_ok itself (which the final
// exit status skips over).
func (o Outcome) isOK() bool { return o == Satisfied }

// Result is one checked rule.
type Result struct {
	RuleID  string
	Outcome Outcome
	Error   string // the reason, for outcomes that are not answers
}

// CheckRules checks each rule id against the CIB at the given time, as
// pcmk__check_rules does. Only rules that hold exactly one
// date_expression, which is not a date_spec or is a date_spec with years
// and without moon, can be checked. clock is the process clock in the
// local zone, which dates in rules that name no zone are read in.
func CheckRules(cib *etree.Element, now rules.Time, clock time.Time, ids []string) []Result {
	out := make([]Result, 0, len(ids))
	for _, id := range ids {
		out = append(out, checkRule(cib, now, clock, id))
	}
	return out
}

func checkRule(cib *etree.Element, now rules.Time, clock time.Time, id string) Result {
	res := Result{RuleID: id}
	// Upstream searches the whole document, but only once it has found the
	// constraints section.
	var matches []*etree.Element
	if cib != nil && constraints(cib) != nil {
		matches = descendants(cib, func(x *etree.Element) bool {
			return x.Tag == "rule" && attrIs(x, "id", id)
		})
	}
	switch {
	case len(matches) == 0:
		res.Outcome, res.Error = NotFound, "Rule not found"
		return res
	case len(matches) > 1:
		res.Outcome, res.Error = DuplicateID, "Found more than one rule with matching ID"
		return res
	}
	// XPath "//rule[@id=X]//date_expression" over every rule with that id.
	var dates []*etree.Element
	for _, m := range matches {
		dates = append(dates, descendants(m, func(x *etree.Element) bool { return x.Tag == "date_expression" })...)
	}
	switch {
	case len(dates) == 0:
		res.Outcome, res.Error = Unsupported, "Rule does not have a date expression"
		return res
	case len(dates) > 1:
		res.Outcome, res.Error = Unsupported, "Rule has more than one date expression"
		return res
	}
	expr := dates[0]
	op := expr.SelectAttr("operation")
	// "@operation != 'date_spec'" is false when there is no operation at
	// all, so the default in_range is refused like an unsupported
	// date_spec, as upstream does.
	if op == nil || op.Value == "date_spec" {
		years, moon := false, false
		for _, c := range expr.ChildElements() {
			if c.Tag == "date_spec" {
				years = years || c.SelectAttr("years") != nil
				moon = moon || c.SelectAttr("moon") != nil
			}
		}
		if op == nil || !years || moon {
			res.Outcome = Unsupported
			res.Error = "Rule must either not use date_spec, or use date_spec with years= but not moon="
			return res
		}
	}
	ctx := &rules.Context{Now: clock, At: now}
	switch r, _ := rules.EvaluateDate(expr, ctx); r {
	case rules.DateInRange:
		res.Outcome = InEffect
	case rules.DateSatisfied:
		res.Outcome = Satisfied
	case rules.DateAfterRange:
		res.Outcome = Expired
	case rules.DateBeforeRange:
		res.Outcome = NotYet
	default:
		res.Outcome, res.Error = Undetermined, "Error parsing rule"
	}
	return res
}

// constraints finds /cib/configuration/constraints; the element given
// is the document's root.
func constraints(root *etree.Element) *etree.Element {
	if root.Tag != "cib" {
		return nil
	}
	if c := root.SelectElement("configuration"); c != nil {
		return c.SelectElement("constraints")
	}
	return nil
}

func attrIs(x *etree.Element, name, value string) bool {
	a := x.SelectAttr(name)
	return a != nil && a.Value == value
}

// descendants lists, in document order, the elements strictly below x
// for which keep is true.
func descendants(x *etree.Element, keep func(*etree.Element) bool) []*etree.Element {
	var out []*etree.Element
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range e.ChildElements() {
			if keep(c) {
				out = append(out, c)
			}
			walk(c)
		}
	}
	walk(x)
	return out
}
