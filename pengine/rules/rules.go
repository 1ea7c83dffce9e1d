package rules

import (
	"fmt"
	"time"

	"github.com/beevik/etree"
)

// Evaluate tells whether a <rule> element is in effect (pe_eval_expr):
// its expressions are combined with boolean-op "and" (the default) or
// "or"; nested rules, node attribute, date, resource, operation and #role
// expressions are understood; a rule with an id-ref stands for the rule it
// names.
//
// The answer is always Pacemaker's, including for malformed rules; err
// describes the first configuration problem met on the way (a bad date, a
// missing attribute name, an unknown element ...) for the caller to log. It
// never means the answer is unusable.
func Evaluate(rule *etree.Element, ctx *Context) (bool, error) {
	ok, _, err := EvaluateWithNext(rule, ctx)
	return ok, err
}

// EvaluateWithNext is Evaluate that also reports the earliest time at which
// a date expression met on the way will change its answer (the zero time if
// none), for cluster-recheck scheduling. Like upstream it only considers the
// expressions it had to evaluate, and date_spec never contributes.
func EvaluateWithNext(rule *etree.Element, ctx *Context) (ok bool, next time.Time, err error) {
	e := newEval(ctx)
	ok = e.rule(rule)
	return ok, e.nextTime(), e.err
}

// EvaluateRules evaluates the <rule> children of an element such as an
// nvpair block or a lifetime (pe_eval_rules): true if there are none or if
// any of them is in effect.
func EvaluateRules(parent *etree.Element, ctx *Context) (ok bool, next time.Time, err error) {
	e := newEval(ctx)
	ok = e.rules(parent)
	return ok, e.nextTime(), e.err
}

// evaluator carries one evaluation: the context, "now" in Pacemaker's
// representation, the earliest change seen and the first problem seen.
type evaluator struct {
	ctx   *Context
	now   Time
	next  Time
	err   error
	depth int
}

// maxDepth bounds rule nesting. Upstream recurses without limit, so a rule
// that refers to itself through an id-ref crashes it; here the innermost
// level is refused instead.
const maxDepth = 100

func newEval(ctx *Context) *evaluator {
	if ctx == nil {
		ctx = &Context{}
	}
	now := ctx.At
	if !now.IsDefined() {
		now = FromTime(ctx.Now)
	}
	return &evaluator{ctx: ctx, now: now}
}

func (e *evaluator) problem(format string, args ...any) {
	err := fmt.Errorf(format, args...)
	e.ctx.logf("%v", err)
	if e.err == nil {
		e.err = err
	}
}

func (e *evaluator) nextTime() time.Time {
	if !e.next.IsDefined() {
		return time.Time{}
	}
	loc := e.ctx.Now.Location()
	return time.Unix(e.next.Unix(), 0).In(loc)
}

// setIfEarlier is crm_time_set_if_earlier.
func (e *evaluator) setIfEarlier(t Time) {
	if !e.next.IsDefined() || t.Compare(e.next) < 0 {
		e.next = t
	}
}

func (e *evaluator) rules(parent *etree.Element) bool {
	if parent == nil {
		return true
	}
	found := false
	for _, r := range parent.ChildElements() {
		if r.Tag != "rule" {
			continue
		}
		found = true
		if e.rule(r) {
			return true
		}
	}
	return !found
}

func (e *evaluator) rule(rule *etree.Element) bool {
	if e.depth >= maxDepth {
		e.problem("rule %s: nested more than %d deep (an id-ref cycle?)", attrOr(rule, "id", "without ID"), maxDepth)
		return false
	}
	e.depth++
	defer func() { e.depth-- }()
	if ref := rule.SelectAttr("id-ref"); ref != nil {
		target := resolveIDRef(rule)
		if target == nil {
			// Upstream then evaluates nothing, and an empty "and" passes.
			e.problem("rule id-ref %q does not name exactly one rule", ref.Value)
			return true
		}
		rule = target
	}
	doAnd := !equalFold(attrOr(rule, "boolean-op", ""), "or")
	empty := true
	for _, x := range rule.ChildElements() {
		empty = false
		ok := e.expr(x)
		if ok && !doAnd {
			return true
		}
		if !ok && doAnd {
			return false
		}
	}
	if empty {
		e.problem("invalid rule %s: rules must contain at least one expression", attrOr(rule, "id", "without ID"))
	}
	return doAnd
}

func (e *evaluator) expr(x *etree.Element) bool {
	switch x.Tag {
	case "rule":
		return e.rule(x)
	case "date_expression":
		switch e.dateExpr(x) {
		case DateInRange, DateSatisfied:
			return true
		}
		return false
	case "rsc_expression":
		return e.rscExpr(x)
	case "op_expression":
		return e.opExpr(x)
	case "expression":
		if attrOr(x, "attribute", "") == "#role" {
			return e.roleExpr(x)
		}
		if e.ctx.NodeAttrs == nil {
			// These can never succeed without a node to compare with.
			return false
		}
		return e.attrExpr(x)
	}
	e.problem("unknown rule element <%s> (id %s)", x.Tag, attrOr(x, "id", "none"))
	return false
}

// attrOr returns the value of an attribute, or def when it is absent.
func attrOr(x *etree.Element, name, def string) string {
	if a := x.SelectAttr(name); a != nil {
		return a.Value
	}
	return def
}

func attrPtr(x *etree.Element, name string) *string {
	if a := x.SelectAttr(name); a != nil {
		return &a.Value
	}
	return nil
}

// attrExpr is pe__eval_attr_expr: an <expression> on a node attribute
// (including #uname, #id, #kind and the other built-ins).
func (e *evaluator) attrExpr(x *etree.Element) bool {
	attr := attrPtr(x, "attribute")
	op := attrPtr(x, "operation")
	value := attrPtr(x, "value")
	typ := attrPtr(x, "type")
	if attr == nil {
		e.problem("expression %s invalid: attribute not specified", attrOr(x, "id", "without ID"))
		return false
	}
	if op == nil {
		e.problem("expression %s invalid: operation not specified", attrOr(x, "id", "without ID"))
	}
	name := *attr
	if e.ctx.matchData() {
		if e.ctx.Regex != nil {
			if s, ok := ExpandRegexMatches(name, e.ctx.Regex); ok {
				name = s
			}
		}
		value = e.valueSource(value, attrPtr(x, "value-source"))
	}
	var have *string
	if v, ok := e.ctx.NodeAttrs[name]; ok {
		have = &v
	}
	return acceptAttr(have, value, typ, op)
}

// valueSource is expand_value_source: with value-source "param" or "meta"
// the value names a resource parameter or meta-attribute to compare with.
func (e *evaluator) valueSource(value, source *string) *string {
	if value == nil || *value == "" {
		return nil
	}
	var table map[string]string
	switch {
	case source != nil && equalFold(*source, "param"):
		table = e.ctx.Params
	case source != nil && equalFold(*source, "meta"):
		table = e.ctx.Meta
	default:
		return value
	}
	if v, ok := table[*value]; ok {
		return &v
	}
	return nil
}

// roleExpr is pe__eval_role_expr. "defined" means a promotable role,
// "not_defined" a plain one, and "ne" is only tested for promotable roles.
func (e *evaluator) roleExpr(x *etree.Element) bool {
	role := roleOf(e.ctx.Role)
	if role == roleUnknown {
		return false
	}
	op := attrOr(x, "operation", "")
	value := attrOr(x, "value", "")
	switch {
	case equalFold(op, "defined"):
		return role > roleStarted
	case equalFold(op, "not_defined"):
		return role > roleUnknown && role < roleUnpromoted
	case equalFold(op, "eq"):
		return roleOf(value) == role
	case equalFold(op, "ne"):
		if role > roleUnknown && role < roleUnpromoted {
			return false
		}
		return roleOf(value) != role
	}
	return false
}

// rscExpr is pe__eval_rsc_expr (rsc_defaults): class and type match when
// given; the provider must match exactly, absence included.
func (e *evaluator) rscExpr(x *etree.Element) bool {
	r := e.ctx.Rsc
	if r == nil {
		return false
	}
	if c := attrPtr(x, "class"); c != nil && *c != r.Class {
		return false
	}
	p := attrPtr(x, "provider")
	if (p == nil) != (r.Provider == "") || (p != nil && *p != r.Provider) {
		return false
	}
	if t := attrPtr(x, "type"); t != nil && *t != r.Type {
		return false
	}
	return true
}

// opExpr is pe__eval_op_expr (op_defaults): the name must match; the
// interval, when given, too. An unreadable interval fails the expression.
func (e *evaluator) opExpr(x *etree.Element) bool {
	op := e.ctx.Op
	if op == nil {
		return false
	}
	iv := attrPtr(x, "interval")
	if iv != nil {
		ms, err := ParseIntervalMS(*iv)
		if err != nil {
			e.problem("op_expression %s: cannot parse interval %q", attrOr(x, "id", "without ID"), *iv)
			return false
		}
		if ms != uint32(op.Interval/time.Millisecond) {
			return false
		}
	}
	name := attrPtr(x, "name")
	return name != nil && *name == op.Name
}

// ExpandRegexMatches replaces %0-%9 in s by the submatches of re
// (pe_expand_re_matches). A %N whose group did not match, or matched
// nothing, is dropped. ok is false when the result would be empty (the
// caller then keeps s unchanged, as upstream does).
func ExpandRegexMatches(s string, re *RegexMatch) (string, bool) {
	if s == "" || re == nil {
		return "", false
	}
	nregs := len(re.Index) / 2
	out := make([]byte, 0, len(s))
	for p := 0; p < len(s); p++ {
		if s[p] == '%' && p+1 < len(s) && cIsDigit(s[p+1]) {
			i := int(s[p+1] - '0')
			if i < nregs {
				so, eo := re.Index[2*i], re.Index[2*i+1]
				if so >= 0 && eo > so && eo <= len(re.Subject) {
					out = append(out, re.Subject[so:eo]...)
				}
			}
			p++
			continue
		}
		out = append(out, s[p])
	}
	if len(out) == 0 {
		return "", false
	}
	return string(out), true
}

// RuleScore returns the score a location constraint's rule gives a node
// (pcmk_sched_location.c get_node_score): the rule's score attribute, or
// else, with score-attribute, the node's value of the named attribute
// (-INFINITY when the node lacks it; %0-%9 expanded from re). lookup gives
// the node attribute as the scheduler computes it for the resource. A rule
// with neither scores 0. health gives meaning to red/yellow/green.
func RuleScore(rule *etree.Element, lookup func(name string) (string, bool), re *RegexMatch, health HealthScores) int {
	if rule.SelectAttr("id-ref") != nil {
		if rule = resolveIDRef(rule); rule == nil {
			return 0
		}
	}
	if s := attrPtr(rule, "score"); s != nil {
		return health.ParseScore(*s)
	}
	name := attrPtr(rule, "score-attribute")
	if name == nil {
		return 0
	}
	attr := *name
	if re != nil && len(re.Index) >= 2 && re.Index[0] != -1 {
		if s, ok := ExpandRegexMatches(attr, re); ok {
			attr = s
		}
	}
	v, ok := lookup(attr)
	if !ok {
		return -Infinity
	}
	return health.ParseScore(v)
}
