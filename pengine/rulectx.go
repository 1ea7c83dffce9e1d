package pengine

import (
	"time"

	"github.com/beevik/etree"

	"ringmaster/pengine/rules"
)

// ruleCtx is what a rule may look at; it becomes a rules.Context.
type ruleCtx struct {
	node       *Node
	rsc        *Resource // for rsc_expression (rsc_defaults, op_defaults)
	opName     string
	opInterval int
	hasOp      bool
	role       Role
	valueSrc   *Resource // for value-source="param"/"meta" (location rules)
	regex      *rules.RegexMatch
}

func (c *cluster) rulesContext(rc ruleCtx) *rules.Context {
	ctx := &rules.Context{Now: c.now}
	if rc.node != nil {
		ctx.NodeAttrs = rc.node.Attrs
	}
	if rc.rsc != nil {
		ctx.Rsc = &rules.RscInfo{Class: rc.rsc.Class, Provider: rc.rsc.Provider, Type: rc.rsc.Type}
	}
	if rc.hasOp {
		ctx.Op = &rules.OpInfo{Name: rc.opName, Interval: time.Duration(rc.opInterval) * time.Millisecond}
	}
	if rc.valueSrc != nil {
		ctx.Params = c.rscParams(rc.valueSrc, rc.node)
		ctx.Meta = rc.valueSrc.Meta
	}
	ctx.Regex = rc.regex
	if rc.role != RoleUnknown {
		ctx.Role = rc.role.String()
	}
	ctx.Logf = func(format string, args ...any) { c.warnf(format, args...) }
	return ctx
}

// evalRule evaluates a <rule> with ringmaster/pengine/rules.
func (c *cluster) evalRule(rule *etree.Element, rc ruleCtx) bool {
	ok, _ := rules.Evaluate(rule, c.rulesContext(rc))
	return ok
}

// parseDateTime parses a date/time as crm_simulate -t does (UTC when no
// zone is given).
func parseDateTime(s string) (time.Time, bool) {
	t, err := rules.ParseDateTime(s, time.Unix(0, 0).UTC())
	if err != nil || !t.IsDefined() {
		return time.Time{}, false
	}
	return t.Go(), true
}
