package pengine

import (
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// ruleCtx is what a rule may look at.
type ruleCtx struct {
	node       *Node
	rsc        *Resource
	opName     string
	opInterval int
	hasOp      bool
	role       Role
}

// evalRule evaluates a <rule>. It covers the expression kinds the scheduler
// needs for placement and attribute blocks (node attribute, date, resource
// and operation expressions); it follows lib/pengine/rules.c.
func (c *cluster) evalRule(rule *etree.Element, rc ruleCtx) bool {
	rule = c.resolveRef(rule)
	op := strings.ToLower(attr(rule, "boolean-op"))
	isOr := op == "or"
	any := false
	empty := true
	for _, e := range rule.ChildElements() {
		var ok bool
		switch e.Tag {
		case "expression":
			ok = c.evalExpr(e, rc)
		case "date_expression":
			ok = c.evalDateExpr(e)
		case "rule":
			ok = c.evalRule(e, rc)
		case "rsc_expression":
			ok = rc.rsc != nil && (attr(e, "class") == "" || attr(e, "class") == rc.rsc.Class) &&
				(attr(e, "provider") == "" || attr(e, "provider") == rc.rsc.Provider) &&
				(attr(e, "type") == "" || attr(e, "type") == rc.rsc.Type)
		case "op_expression":
			ok = rc.hasOp && attr(e, "name") == rc.opName &&
				(!hasAttr(e, "interval") || parseInterval(attr(e, "interval")) == rc.opInterval)
		default:
			continue
		}
		empty = false
		if isOr && ok {
			return true
		}
		if !isOr && !ok {
			return false
		}
		any = any || ok
	}
	if empty {
		return true
	}
	if isOr {
		return any
	}
	return true
}

func (c *cluster) evalExpr(e *etree.Element, rc ruleCtx) bool {
	name := attr(e, "attribute")
	op := attr(e, "operation")
	value := attr(e, "value")
	typ := strings.ToLower(attr(e, "type"))
	var attrs map[string]string
	if rc.node != nil {
		attrs = rc.node.Attrs
	}
	switch attr(e, "value-source") {
	case "param":
		if rc.rsc != nil {
			value = rc.rsc.Params[value]
		}
	case "meta":
		if rc.rsc != nil {
			value = rc.rsc.Meta[value]
		}
	}
	if name == "#role" {
		// role expressions match only when a role is known
		if rc.role == RoleUnknown {
			return false
		}
	}
	actual, have := attrs[name]
	switch op {
	case "defined":
		return have
	case "not_defined":
		return !have
	}
	if !have {
		return op == "ne"
	}
	cmp := 0
	if typ == "" {
		// default: number if both look like numbers (integer), else string
		if _, err := strconv.ParseFloat(value, 64); err == nil {
			if _, err2 := strconv.ParseFloat(actual, 64); err2 == nil && (op == "lt" || op == "gt" || op == "lte" || op == "gte") {
				typ = "number"
			}
		}
	}
	switch typ {
	case "number", "integer":
		a, err1 := strconv.ParseFloat(actual, 64)
		b, err2 := strconv.ParseFloat(value, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if typ == "integer" {
			a, b = float64(int64(a)), float64(int64(b))
		}
		switch {
		case a < b:
			cmp = -1
		case a > b:
			cmp = 1
		}
	case "version":
		cmp = compareVersion(actual, value)
	default:
		if op == "eq" || op == "ne" {
			if strings.EqualFold(actual, value) {
				cmp = 0
			} else {
				cmp = 1
			}
		} else {
			cmp = strings.Compare(actual, value)
		}
	}
	switch op {
	case "eq":
		return cmp == 0
	case "ne":
		return cmp != 0
	case "lt":
		return cmp < 0
	case "lte":
		return cmp <= 0
	case "gt":
		return cmp > 0
	case "gte":
		return cmp >= 0
	}
	return false
}

func compareVersion(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
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

func (c *cluster) evalDateExpr(e *etree.Element) bool {
	op := attr(e, "operation")
	if op == "" {
		op = "in_range"
	}
	now := c.now
	start, hasStart := parseDateTime(attr(e, "start"))
	end, hasEnd := parseDateTime(attr(e, "end"))
	if !hasEnd && op == "in_range" && hasStart {
		if d := e.SelectElement("duration"); d != nil {
			end = addDuration(start, d)
			hasEnd = true
		}
	}
	switch op {
	case "gt":
		return hasStart && now.After(start)
	case "lt":
		return hasEnd && now.Before(end)
	case "in_range":
		if hasStart && now.Before(start) {
			return false
		}
		if hasEnd && now.After(end) {
			return false
		}
		return hasStart || hasEnd
	case "date_spec":
		if ds := e.SelectElement("date_spec"); ds != nil {
			return matchDateSpec(ds, now)
		}
	}
	return false
}

func addDuration(t time.Time, d *etree.Element) time.Time {
	get := func(k string) int { v, _ := strconv.Atoi(attr(d, k)); return v }
	return t.AddDate(get("years"), get("months"), get("weeks")*7+get("days")).
		Add(time.Duration(get("hours"))*time.Hour + time.Duration(get("minutes"))*time.Minute +
			time.Duration(get("seconds"))*time.Second)
}

func inRangeSpec(spec string, v int) bool {
	if spec == "" {
		return true
	}
	if i := strings.Index(spec, "-"); i > 0 {
		lo, _ := strconv.Atoi(spec[:i])
		hi, _ := strconv.Atoi(spec[i+1:])
		return v >= lo && v <= hi
	}
	x, err := strconv.Atoi(spec)
	return err == nil && x == v
}

func matchDateSpec(ds *etree.Element, t time.Time) bool {
	_, wk := t.ISOWeek()
	wy, _ := t.ISOWeek()
	wd := int(t.Weekday())
	if wd == 0 {
		wd = 7
	}
	checks := []struct {
		k string
		v int
	}{
		{"years", t.Year()}, {"months", int(t.Month())}, {"monthdays", t.Day()},
		{"hours", t.Hour()}, {"minutes", t.Minute()}, {"seconds", t.Second()},
		{"yeardays", t.YearDay()}, {"weekyears", wy}, {"weeks", wk}, {"weekdays", wd},
	}
	for _, ch := range checks {
		if !inRangeSpec(attr(ds, ch.k), ch.v) {
			return false
		}
	}
	return true
}

// parseDateTime parses the ISO 8601 forms Pacemaker accepts: calendar
// (2005-01-20), ordinal (2005-020), week dates are not handled; time
// after 'T' or a space; optional Z or offset.
func parseDateTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	datePart, timePart := s, ""
	if i := strings.IndexAny(s, "T "); i >= 0 {
		datePart, timePart = s[:i], strings.TrimSpace(s[i+1:])
	}
	var d time.Time
	var err error
	parts := strings.Split(datePart, "-")
	switch {
	case len(parts) == 3:
		d, err = time.Parse("2006-01-02", datePart)
	case len(parts) == 2 && len(parts[1]) == 3:
		y, e1 := strconv.Atoi(parts[0])
		yd, e2 := strconv.Atoi(parts[1])
		if e1 != nil || e2 != nil {
			return time.Time{}, false
		}
		d = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, yd-1)
	default:
		return time.Time{}, false
	}
	if err != nil {
		return time.Time{}, false
	}
	if timePart != "" {
		tz := time.UTC
		off := 0
		if strings.HasSuffix(timePart, "Z") {
			timePart = strings.TrimSuffix(timePart, "Z")
		} else if i := strings.LastIndexAny(timePart, "+-"); i > 0 {
			o := timePart[i+1:]
			sign := 1
			if timePart[i] == '-' {
				sign = -1
			}
			o = strings.ReplaceAll(o, ":", "")
			h, _ := strconv.Atoi(o[:min(2, len(o))])
			m := 0
			if len(o) > 2 {
				m, _ = strconv.Atoi(o[2:])
			}
			off = sign * (h*3600 + m*60)
			timePart = timePart[:i]
		}
		tp := strings.Split(timePart, ":")
		var hh, mm, ss int
		if len(tp) > 0 {
			hh, _ = strconv.Atoi(tp[0])
		}
		if len(tp) > 1 {
			mm, _ = strconv.Atoi(tp[1])
		}
		if len(tp) > 2 {
			ss, _ = strconv.Atoi(strings.Split(tp[2], ".")[0])
		}
		d = time.Date(d.Year(), d.Month(), d.Day(), hh, mm, ss, 0, tz).Add(-time.Duration(off) * time.Second)
	}
	return d, true
}
