package rules

import (
	"fmt"
	"strings"
)

// FormatFlags choose a rendering, as the crm_time_* flags of
// include/crm/common/iso8601.h do.
type FormatFlags int

const (
	FormatDate      FormatFlags = 1 << iota // the date part
	FormatTimeOfDay                         // the time part
	FormatWithTZ                            // keep the local fields and print the offset
	FormatDuration                          // render a duration
	FormatOrdinal                           // YYYY-DDD
	FormatWeeks                             // YYYY-Www-D
	FormatSeconds                           // seconds since 0001-01-01
	FormatEpoch                             // seconds since 1970-01-01
)

// Format renders t as crm_time_as_string does. Without FormatWithTZ the time
// is shown in UTC with a trailing "Z"; with it, in its own offset, followed
// by " +hh:mm" unless the offset is 0.
func (t Time) Format(flags FormatFlags) string {
	dt := t
	if t.Offset != 0 && flags&FormatWithTZ == 0 {
		dt = t.utc()
	}
	if !dt.IsDefined() {
		return "<undefined time>"
	}
	switch {
	case flags&FormatSeconds != 0:
		return fmt.Sprint(t.Seconds())
	case flags&FormatEpoch != 0:
		return fmt.Sprint(t.Unix())
	}
	var b strings.Builder
	if flags&FormatDate != 0 {
		switch {
		case flags&FormatWeeks != 0:
			if y, w, d, ok := dt.ISOWeek(); ok {
				fmt.Fprintf(&b, "%d-W%02d-%d", uint32(y), uint32(w), uint32(d))
			}
		case flags&FormatOrdinal != 0:
			fmt.Fprintf(&b, "%d-%03d", uint32(dt.Year), uint32(dt.Day))
		default:
			y, m, d := dt.Gregorian()
			fmt.Fprintf(&b, "%04d-%02d-%02d", uint32(y), uint32(m), uint32(d))
		}
	}
	if flags&FormatTimeOfDay != 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		h, m, s := dt.TimeOfDay()
		fmt.Fprintf(&b, "%02d:%02d:%02d", h, m, s)
		if flags&FormatWithTZ != 0 && dt.Offset != 0 {
			oh, om, _ := splitSeconds(dt.Offset)
			sign := byte('+')
			if dt.Offset < 0 {
				sign = '-'
			}
			fmt.Fprintf(&b, " %c%02d:%02d", sign, oh, om)
		} else {
			b.WriteByte('Z')
		}
	}
	return b.String()
}

// String is the default rendering, "YYYY-MM-DD hh:mm:ssZ".
func (t Time) String() string { return t.Format(FormatDate | FormatTimeOfDay) }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// String renders a duration as crm_duration_as_string does, for example
// "   2 years  5 months 360 seconds (6 minutes)" or " 1 month ".
func (d Duration) String() string {
	var b strings.Builder
	if d.Years != 0 {
		fmt.Fprintf(&b, "%4d year%s ", d.Years, plural(d.Years))
	}
	if d.Months != 0 {
		fmt.Fprintf(&b, "%2d month%s ", d.Months, plural(d.Months))
	}
	if d.Days != 0 {
		fmt.Fprintf(&b, "%2d day%s ", d.Days, plural(d.Days))
	}
	if (b.Len() == 0 || d.Seconds != 0) && d.Seconds > -60 && d.Seconds < 60 {
		fmt.Fprintf(&b, "%d second%s", d.Seconds, plural(d.Seconds))
	} else if d.Seconds != 0 {
		fmt.Fprintf(&b, "%d seconds (", d.Seconds)
		h, m, s := splitSeconds(d.Seconds)
		if h != 0 {
			sep := ""
			if m != 0 || s != 0 {
				sep = " "
			}
			fmt.Fprintf(&b, "%d hour%s%s", h, plural(h), sep)
		}
		if m != 0 {
			sep := ""
			if s != 0 {
				sep = " "
			}
			fmt.Fprintf(&b, "%d minute%s%s", m, plural(m), sep)
		}
		if s != 0 {
			fmt.Fprintf(&b, "%d second%s", s, plural(s))
		}
		b.WriteByte(')')
	}
	return b.String()
}
