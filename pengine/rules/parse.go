package rules

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ParseError is a refused ISO 8601 text. Msg is word for word the message
// Pacemaker logs for the same input and Func the upstream function that logs
// it, so that the iso8601 tool can print the same diagnostics.
type ParseError struct {
	Func string
	Msg  string
}

func (e *ParseError) Error() string { return e.Msg }

func perr(fn, format string, args ...any) error {
	return &ParseError{Func: fn, Msg: fmt.Sprintf(format, args...)}
}

var (
	errNoDigits = errors.New("no digits found")
	errOverflow = errors.New("value out of range")
)

// localOffset is the offset crm_time_parse_offset uses when a time carries
// no zone: that of the local zone at the current time (not at the date
// parsed), with upstream's sign slip for negative offsets that are not whole
// hours (-03:30 comes out as -02:30).
func localOffset(now time.Time) int {
	_, off := now.Zone()
	h := off / hourSeconds
	m := (off - hourSeconds*h) / 60
	if h < 0 && m < 0 {
		m = -m
	}
	return hourSeconds*h + 60*m
}

// parseSec is crm_time_parse_sec: "hh:mm:ss", "hh:mm", "hh", "hhmmss" ...
// 24:00:00 is accepted and returned as 86400.
func parseSec(s string) (int, error) {
	v, rc := scanfInts(s, "%d:%d:%d")
	if rc == 1 {
		v, rc = scanfInts(s, "%2d%2d%2d")
	}
	if rc == 0 {
		return 0, perr("crm_time_parse_sec", "%s is not a valid ISO 8601 time specification", s)
	}
	var hour, minute, second int
	if len(v) > 0 {
		hour = v[0]
	}
	if len(v) > 1 {
		minute = v[1]
	}
	if len(v) > 2 {
		second = v[2]
	}
	// The fields are unsigned upstream: negative values are "too large".
	if hour == 24 && minute == 0 && second == 0 {
		// 00:00:00 of the next day
	} else if uint32(hour) >= 24 {
		return 0, perr("crm_time_parse_sec", "%s is not a valid ISO 8601 time specification because %d is not a valid hour", s, hour)
	}
	if uint32(minute) >= 60 {
		return 0, perr("crm_time_parse_sec", "%s is not a valid ISO 8601 time specification because %d is not a valid minute", s, minute)
	}
	if uint32(second) >= 60 {
		return 0, perr("crm_time_parse_sec", "%s is not a valid ISO 8601 time specification because %d is not a valid second", s, second)
	}
	return i32(int64(hour)*hourSeconds + int64(minute)*60 + int64(second)), nil
}

// parseOffset is crm_time_parse_offset; has=false means "no zone given".
func parseOffset(s string, has bool, now time.Time) (int, error) {
	if !has {
		return localOffset(now), nil
	}
	if s != "" && s[0] == 'Z' {
		return 0, nil
	}
	if s != "" && (s[0] == '+' || s[0] == '-' || cIsDigit(s[0])) {
		neg := s[0] == '-'
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
		}
		off, err := parseSec(s)
		if err != nil {
			return 0, err
		}
		if neg {
			off = -off
		}
		return off, nil
	}
	// Anything else is taken as UTC, as upstream does.
	return 0, nil
}

// parseTimePart is crm_time_parse: the time of day, then a zone found by
// looking for a 'Z' anywhere after it or else for the first space.
func parseTimePart(s string, t *Time, now time.Time) error {
	sec, err := parseSec(s)
	if err != nil {
		return err
	}
	t.Second = sec
	off, has := "", false
	if i := strings.IndexByte(s, 'Z'); i >= 0 {
		off, has = s[i:], true
	} else if i := strings.IndexByte(s, ' '); i >= 0 {
		j := i
		for j < len(s) && cIsSpace(s[j]) {
			j++
		}
		off, has = s[j:], true
	}
	if t.Offset, err = parseOffset(off, has, now); err != nil {
		return err
	}
	if t.Second == daySeconds {
		t.Second = 0
		t.addDays(1)
	}
	return nil
}

// ParseDateTime parses a date/time the way Pacemaker 2.1.5 does
// (iso8601.c parse_date): calendar "2019-09-24", "20190924", ordinal
// "2019-267", week "2019-W39-2", or "epoch"; then optionally 'T' or a space
// and a time "hh[:mm[:ss]]" or "hhmmss", then "Z", or a space and an offset
// "+hh[:mm]". A time alone ("T12:00", "12:00") is taken on today's date.
//
// now stands for the process clock and zone upstream consults: its date is
// "today" for a bare time and its zone's current offset is given to a time
// that names no zone. A date without a time is always UTC. The package
// never reads the clock itself.
func ParseDateTime(s string, now time.Time) (Time, error) {
	const fn = "parse_date"
	if s == "" {
		return Time{}, perr(fn, "No ISO 8601 date/time specification given")
	}
	var dt Time
	timeStr, haveTime := "", false
	if s[0] == 'T' || (len(s) > 2 && s[2] == ':') {
		dt = FromTime(now)
		if s[0] == 'T' {
			timeStr = s[1:]
		} else {
			timeStr = s
		}
		haveTime = true
	} else {
		if len(s) >= 5 && strings.EqualFold(s[:5], "epoch") && (len(s) == 5 || s[5] == '/' || cIsSpace(s[5])) {
			return Time{Year: 1970, Day: 1}, nil
		}
		v, rc := scanfInts(s, "%d-%d-%d")
		if rc == 1 {
			v, rc = scanfInts(s, "%4d%2d%2d")
		}
		switch {
		case rc == 3:
			year, month, day := v[0], v[1], v[2]
			if month > 12 {
				return Time{}, perr(fn, "'%s' is not a valid ISO 8601 date/time specification because '%d' is not a valid month", s, month)
			} else if day > DaysInMonth(month, year) {
				return Time{}, perr(fn, "'%s' is not a valid ISO 8601 date/time specification because '%d' is not a valid day of the month", s, day)
			}
			dt.Year = year
			dt.Day = i32(int64(ordinalDays(year, uint32Month(month), day)))
		default:
			if v, rc = scanfInts(s, "%d-%d"); rc == 2 {
				year, day := v[0], v[1]
				if day > yearDays(year) {
					return Time{}, perr(fn, "'%s' is not a valid ISO 8601 date/time specification because '%d' is not a valid day of the year (max %d)", s, day, yearDays(year))
				}
				dt.Year, dt.Day = year, day
			} else if v, rc = scanfInts(s, "%d-W%d-%d"); rc == 3 {
				year, week, day := v[0], v[1], v[2]
				if week > WeeksInYear(year) {
					return Time{}, perr(fn, "'%s' is not a valid ISO 8601 date/time specification because '%d' is not a valid week of the year (max %d)", s, week, WeeksInYear(year))
				} else if day < 1 || day > 7 {
					return Time{}, perr(fn, "'%s' is not a valid ISO 8601 date/time specification because '%d' is not a valid day of the week", s, day)
				}
				// Week 1 is the week holding the year's first Thursday; the
				// steps (and so the intermediate year changes) are upstream's.
				jan1 := january1Weekday(year)
				dt.Year = year
				dt.addDays(i32((int64(week) - 1) * 7))
				if jan1 <= 4 {
					dt.addDays(1 - jan1)
				} else {
					dt.addDays(8 - jan1)
				}
				dt.addDays(day)
			} else {
				return Time{}, perr(fn, "'%s' is not a valid ISO 8601 date/time specification", s)
			}
		}
		rest := strings.TrimLeft(s, "0123456789-W")
		if rest != "" && (rest[0] == ' ' || rest[0] == 'T') {
			timeStr, haveTime = rest[1:], true
		}
	}
	if haveTime {
		if err := parseTimePart(timeStr, &dt, now); err != nil {
			return Time{}, err
		}
	}
	if !dt.Valid() {
		return Time{}, perr(fn, "'%s' is not a valid ISO 8601 date/time specification", s)
	}
	return dt, nil
}

// uint32Month mirrors get_ordinal_days taking the month as unsigned: a
// negative month walks past December (and adds every month once).
func uint32Month(m int) int {
	if m < 0 {
		return 13
	}
	return m
}

// parseInt is iso8601.c parse_int as used for durations (upper bound 0):
// an optional sign (or a fraction, which always yields 0 upstream) and up to
// width digits. It returns the characters consumed, 0 for "no number".
func parseInt(s string, width int) (n int, value int) {
	if s == "" {
		return 0, 0
	}
	off := 0
	if s[off] == 'T' {
		off++
	}
	fraction, neg := false, false
	if off < len(s) {
		switch s[off] {
		case '.', ',':
			fraction = true
			off++
		case '-':
			neg = true
			off++
		case '+', ':':
			off++
		}
	}
	var result int32
	digits := 0
	for off < len(s) && cIsDigit(s[off]) && (fraction || digits < width) {
		if !fraction {
			result = result*10 + int32(s[off]-'0')
		}
		off++
		digits++
	}
	if fraction {
		result = 0
	}
	if neg {
		result = -result
	}
	if digits == 0 {
		return 0, 0
	}
	return off, int(result)
}

// ParseDuration parses an ISO 8601 duration as crm_time_parse_duration
// does: 'P', then numbers each followed by a unit Y, M (months, or minutes
// after a 'T'), W, D, H, S, in any order, up to the end, a '/' or a space.
// Y and months replace, the rest accumulate; numbers may be negative
// ("P-1M"). "PT" alone is accepted and means zero, as upstream.
func ParseDuration(s string) (Duration, error) {
	const fn = "crm_time_parse_duration"
	var d Duration
	if s == "" {
		return d, perr(fn, "No ISO 8601 time duration given")
	}
	if s[0] != 'P' {
		return d, perr(fn, "'%s' is not a valid ISO 8601 time duration because it does not start with a 'P'", s)
	}
	if len(s) == 1 || cIsSpace(s[1]) {
		return d, perr(fn, "'%s' is not a valid ISO 8601 time duration because nothing follows 'P'", s)
	}
	isTime := false
	for i := 1; i < len(s) && s[i] != '/' && !cIsSpace(s[i]); i++ {
		if s[i] == 'T' {
			isTime = true
			continue
		}
		n, v := parseInt(s[i:], 10)
		if n == 0 {
			return Duration{}, perr(fn, "'%s' is not a valid ISO 8601 time duration because no integer at '%s'", s, s[i:])
		}
		i += n
		if i >= len(s) {
			return Duration{}, perr(fn, "'%s' is not a valid ISO 8601 time duration because no units after %d", s, v)
		}
		switch s[i] {
		case 'Y':
			d.Years = v
		case 'M':
			if isTime {
				d.Seconds = i32(int64(d.Seconds) + int64(int32(v*60)))
			} else {
				d.Months = v
			}
		case 'W':
			d.Days = i32(int64(d.Days) + int64(int32(v*7)))
		case 'D':
			d.Days = i32(int64(d.Days) + int64(v))
		case 'H':
			d.Seconds = i32(int64(d.Seconds) + int64(int32(v*hourSeconds)))
		case 'S':
			d.Seconds = i32(int64(d.Seconds) + int64(v))
		default:
			return Duration{}, perr(fn, "'%s' is not a valid ISO 8601 time duration because '%c' is not a valid time unit", s, s[i])
		}
	}
	return d, nil
}

// Period is an ISO 8601 time interval resolved to its two ends.
type Period struct {
	Start, End Time
	// Duration is set when the text gave one.
	Duration *Duration
}

// ParsePeriod parses "start/end", "start/duration", "duration/end" or a
// lone duration (starting now), as crm_time_parse_period does.
func ParsePeriod(s string, now time.Time) (Period, error) {
	const fn = "crm_time_parse_period"
	var p Period
	if s == "" {
		return p, perr(fn, "No ISO 8601 time period given")
	}
	var haveStart, haveEnd bool
	if s[0] == 'P' {
		d, err := ParseDuration(s)
		if err != nil {
			return Period{}, err
		}
		p.Duration = &d
	} else {
		t, err := ParseDateTime(s, now)
		if err != nil {
			return Period{}, err
		}
		p.Start, haveStart = t, true
	}
	rest := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		rest = s[i+1:]
		if rest != "" && rest[0] == 'P' {
			if p.Duration != nil {
				return Period{}, perr(fn, "'%s' is not a valid ISO 8601 time period because it has two durations", s)
			}
			d, err := ParseDuration(rest)
			if err != nil {
				return Period{}, err
			}
			p.Duration = &d
		} else {
			t, err := ParseDateTime(rest, now)
			if err != nil {
				return Period{}, err
			}
			p.End, haveEnd = t, true
		}
	} else if p.Duration != nil {
		p.Start, haveStart = FromTime(now), true
	} else {
		return Period{}, perr(fn, "'%s' is not a valid ISO 8601 time period because it has no duration or ending time", s)
	}
	if !haveStart {
		p.Start = p.End.Sub(*p.Duration)
	} else if !haveEnd {
		p.End = p.Start.Add(*p.Duration)
	}
	// Upstream names the text after the '/' in these two messages.
	if !p.Start.Valid() {
		return Period{}, perr(fn, "'%s' is not a valid ISO 8601 time period because the start is invalid", rest)
	}
	if !p.End.Valid() {
		return Period{}, perr(fn, "'%s' is not a valid ISO 8601 time period because the end is invalid", rest)
	}
	return p, nil
}
