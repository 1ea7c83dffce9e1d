package rules

import (
	"math"

	"github.com/beevik/etree"
)

// DateResult is the outcome of a date expression, with the meanings of the
// pcmk_rc_* codes pe__eval_date_expr returns.
type DateResult int

const (
	// DateUndetermined: the expression is malformed or incomplete.
	DateUndetermined DateResult = iota
	// DateBeforeRange: not yet in effect.
	DateBeforeRange
	// DateInRange: in effect (in_range, gt, lt).
	DateInRange
	// DateAfterRange: expired.
	DateAfterRange
	// DateSatisfied: a date_spec matches.
	DateSatisfied
	// DateUnsatisfied is never produced by evaluation; it exists for tools
	// that report pcmk_rc_op_unsatisfied.
	DateUnsatisfied
)

func (r DateResult) String() string {
	switch r {
	case DateBeforeRange:
		return "before range"
	case DateInRange:
		return "within range"
	case DateAfterRange:
		return "after range"
	case DateSatisfied:
		return "satisfied"
	case DateUnsatisfied:
		return "unsatisfied"
	}
	return "undetermined"
}

// EvaluateDate evaluates one <date_expression> at ctx.Now
// (pe__eval_date_expr), returning its result and the earliest time it will
// change, when known (zero Time otherwise).
func EvaluateDate(expr *etree.Element, ctx *Context) (DateResult, Time) {
	e := newEval(ctx)
	r := e.dateExpr(expr)
	return r, e.next
}

// dateExpr is pe__eval_date_expr. operation is in_range (the default), gt,
// lt or date_spec; start and end are ISO 8601 date/times, and in_range may
// give a <duration> instead of an end.
func (e *evaluator) dateExpr(x *etree.Element) DateResult {
	id := attrOr(x, "id", "without ID")
	op := attrPtr(x, "operation")
	var start, end *Time
	if v := attrPtr(x, "start"); v != nil {
		if t, err := ParseDateTime(*v, e.ctx.Now); err == nil {
			start = &t
		} else {
			e.problem("date_expression %s: start: %v", id, err)
		}
	}
	if v := attrPtr(x, "end"); v != nil {
		if t, err := ParseDateTime(*v, e.ctx.Now); err == nil {
			end = &t
		} else {
			e.problem("date_expression %s: end: %v", id, err)
		}
	}
	if start != nil && end == nil {
		if d := firstChild(x, "duration"); d != nil {
			t := xmlDuration(*start, d)
			end = &t
		}
	}
	now := e.now
	switch {
	case op == nil || equalFold(*op, "in_range"):
		switch {
		case start == nil && end == nil:
			e.problem("date_expression %s: in_range needs start or end", id)
		case start != nil && now.Compare(*start) < 0:
			e.setIfEarlier(*start)
			return DateBeforeRange
		case end != nil && now.Compare(*end) > 0:
			return DateAfterRange
		default:
			if end != nil {
				// The answer changes the second after the end.
				e.setIfEarlier(end.AddSeconds(1))
			}
			return DateInRange
		}
	case equalFold(*op, "date_spec"):
		return cronSatisfied(now, firstChild(x, "date_spec"))
	case equalFold(*op, "gt"):
		switch {
		case start == nil:
			e.problem("date_expression %s: gt needs start", id)
		case now.Compare(*start) > 0:
			return DateInRange
		default:
			e.setIfEarlier(start.AddSeconds(1))
			return DateBeforeRange
		}
	case equalFold(*op, "lt"):
		switch {
		case end == nil:
			e.problem("date_expression %s: lt needs end", id)
		case now.Compare(*end) < 0:
			e.setIfEarlier(*end)
			return DateInRange
		default:
			return DateAfterRange
		}
	default:
		e.problem("date_expression %s: unknown operation %q", id, *op)
	}
	return DateUndetermined
}

func firstChild(x *etree.Element, tag string) *etree.Element {
	for _, c := range x.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// xmlDuration is pe_parse_xml_duration: the attributes of a <duration>
// added to start field by field, years first (without re-checking the day,
// so February 29 plus a year is day 60 of the next year).
func xmlDuration(start Time, d *etree.Element) Time {
	t := start
	field := func(name string, apply func(int)) {
		a := d.SelectAttr(name)
		if a == nil {
			return
		}
		v, err := scanLL(a.Value, 0)
		if err == nil && v != 0 && v >= math.MinInt32 && v <= math.MaxInt32 {
			apply(int(v))
		}
	}
	field("years", func(n int) { t.Year += n })
	field("months", func(n int) { t.addMonths(n) })
	field("weeks", func(n int) { t.addDays(i32(int64(n) * 7)) })
	field("days", func(n int) { t.addDays(n) })
	field("hours", func(n int) { t.addSeconds(i32(int64(n) * hourSeconds)) })
	field("minutes", func(n int) { t.addSeconds(i32(int64(n) * 60)) })
	field("seconds", func(n int) { t.addSeconds(n) })
	return t
}

// cronSatisfied is pe_cron_range_satisfied: every field the date_spec
// gives must hold for now's local fields. A field that is missing or that
// does not parse as "N", "N-M", "N-" or "-M" is ignored (so "1,3,5" is
// ignored); the first failing field decides before/after.
func cronSatisfied(now Time, spec *etree.Element) DateResult {
	y, mon, md := now.Gregorian()
	h, mi, s := now.TimeOfDay()
	wy, w, wd, _ := now.ISOWeek()
	checks := []struct {
		name  string
		value int
	}{
		{"years", y}, {"months", mon}, {"monthdays", md},
		{"hours", h}, {"minutes", mi}, {"seconds", s},
		{"yeardays", now.Day},
		{"weekyears", wy}, {"weeks", w}, {"weekdays", wd},
		{"moon", moonPhase(now)},
	}
	for _, c := range checks {
		if spec == nil {
			break
		}
		a := spec.SelectAttr(c.name)
		if a == nil {
			continue
		}
		if r := checkRange(a.Value, int64(uint32(c.value))); r != DateInRange && r != DateUndetermined {
			return r
		}
	}
	return DateSatisfied
}

// checkRange is check_one.
func checkRange(value string, field int64) DateResult {
	low, high, ok := ParseRange(value)
	if !ok {
		return DateUndetermined
	}
	switch {
	case low == high, low != -1 && high != -1:
		switch {
		case field < low:
			return DateBeforeRange
		case field > high:
			return DateAfterRange
		}
		return DateInRange
	case low == -1:
		if field <= high {
			return DateInRange
		}
		return DateAfterRange
	default: // high == -1
		if field >= low {
			return DateInRange
		}
		return DateBeforeRange
	}
}

// ParseRange reads "N", "N-M", "N-" or "-M" as pcmk__parse_ll_range does;
// an open end is -1, and a single number gives low == high.
func ParseRange(s string) (low, high int64, ok bool) {
	low, high = -1, -1
	if s == "" || s == "-" {
		return low, high, false
	}
	if s[0] == '-' {
		v, end, ok, overflow := strtoll(s[1:])
		if !ok || overflow || end != len(s)-1 {
			return -1, -1, false
		}
		return -1, v, true
	}
	v, end, ok, overflow := strtoll(s)
	if !ok || overflow {
		return -1, -1, false
	}
	low = v
	rest := s[end:]
	switch {
	case rest == "":
		high = low
	case rest[0] == '-':
		if len(rest) > 1 {
			v, end, ok, overflow := strtoll(rest[1:])
			if !ok || overflow || end != len(rest)-1 {
				return low, -1, false
			}
			high = v
		}
	default:
		return -1, -1, false
	}
	return low, high, true
}

// moonPhase is rules.c phase_of_the_moon (0 new ... 4 full ... 7), from
// the year and day of the year.
func moonPhase(now Time) int {
	y, diy := uint32(now.Year), uint32(now.Day)
	goldn := (y % 19) + 1
	epact := (11*goldn + 18) % 30
	if (epact == 25 && goldn > 11) || epact == 24 {
		epact++
	}
	return int(((((diy + epact) * 6) + 11) % 177 / 22) & 7)
}
