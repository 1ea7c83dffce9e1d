package rules

import (
	"errors"
	"math"
	"strings"
	"time"
)

// ErrInterval is returned for an interval Pacemaker cannot read; the
// interval then counts as 0, as upstream.
var ErrInterval = errors.New("invalid interval specification")

// ParseInterval reads an operation interval or timeout as
// crm_parse_interval_spec does: an ISO 8601 duration ("PT10S"; note
// Duration.TotalSeconds for how years, months and days count), or a number
// with an optional unit: ms/msec, us/usec, s/sec (the default), m/min,
// h/hr, with optional whitespace around the number. A fraction is cut off
// ("1.5s" is 1s). The result is whole milliseconds, capped at 2^32-1 ms.
// An empty or unreadable text gives 0 and ErrInterval.
func ParseInterval(s string) (time.Duration, error) {
	var msec int64 = -1
	if s != "" && s[0] == 'P' {
		if d, err := ParseDuration(s); err == nil {
			msec = 1000 * d.TotalSeconds()
		}
	} else {
		msec = parseMsec(s)
	}
	if msec < 0 {
		return 0, ErrInterval
	}
	if msec >= math.MaxUint32 {
		msec = math.MaxUint32
	}
	return time.Duration(msec) * time.Millisecond, nil
}

// ParseIntervalMS is ParseInterval in the milliseconds Pacemaker stores
// (an operation key's interval, CRM_meta_interval).
func ParseIntervalMS(s string) (uint32, error) {
	d, err := ParseInterval(s)
	return uint32(d / time.Millisecond), err
}

// parseMsec is crm_get_msec; -1 for an error.
func parseMsec(input string) int64 {
	const ws = " \t\n\r\f"
	num := strings.TrimLeft(input, ws)
	n := len(num) - len(strings.TrimLeft(num, "0123456789."))
	if n < 1 {
		return -1
	}
	units := strings.TrimLeft(num[n:], ws)
	var multiplier, divisor int64 = 1000, 1
	hasPrefix := func(p string) bool { return len(units) >= len(p) && equalFold(units[:len(p)], p) }
	switch {
	case hasPrefix("ms"):
		multiplier = 1
	case hasPrefix("us"):
		multiplier, divisor = 1, 1000
	case hasPrefix("s"):
	case hasPrefix("m"):
		multiplier = 60 * 1000
	case hasPrefix("h"):
		multiplier = 60 * 60 * 1000
	case units != "" && units[0] != '\n' && units[0] != '\r':
		return -1
	}
	msec, _, ok, _ := strtoll(num)
	if !ok {
		msec = -1
	}
	if msec > math.MaxInt64/multiplier {
		return math.MaxInt64
	}
	return msec * multiplier / divisor
}
