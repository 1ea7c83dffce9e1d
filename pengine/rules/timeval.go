package rules

import (
	"time"
)

// Time is a date and time as Pacemaker's crm_time_t holds one: a year, the
// ordinal day of that year, the second of that day and the offset from UTC
// (seconds east) that the first three are expressed in. Keeping Pacemaker's
// representation, rather than time.Time, is what lets date_spec look at the
// local fields, lets comparisons work on invalid dates the way upstream's do
// (for example day 366 of a common year after adding years) and makes every
// arithmetic quirk of lib/common/iso8601.c reproducible.
//
// The zero Time is "undefined", as an all-zero crm_time_t is.
type Time struct {
	Year   int
	Day    int // ordinal day, 1-366
	Second int // second of the day, 0-86399
	Offset int // seconds east of UTC
}

// Duration is an ISO 8601 duration as Pacemaker keeps it: years and months
// stay symbolic until added to a date; weeks are folded into days and hours
// and minutes into seconds.
type Duration struct {
	Years, Months, Days, Seconds int
}

const (
	hourSeconds = 60 * 60
	daySeconds  = 24 * hourSeconds
	// epochSeconds is the value Time.Seconds gives 1970-01-01 00:00:00Z
	// (iso8601.c EPOCH_SECONDS).
	epochSeconds = 62135596800
)

// IsDefined reports whether t was ever set (crm_time_is_defined).
func (t Time) IsDefined() bool { return t != Time{} }

// IsLeapYear is the Gregorian rule (crm_time_leapyear).
func IsLeapYear(year int) bool {
	leap := year%4 == 0
	if year%100 == 0 && year%400 != 0 {
		leap = false
	}
	return leap
}

func yearDays(year int) int {
	if IsLeapYear(year) {
		return 366
	}
	return 365
}

var monthDays = [13]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 29}

// DaysInMonth returns the days of month 1-12 of year, 0 for any other month
// (crm_time_days_in_month).
func DaysInMonth(month, year int) int {
	if month < 1 || month > 12 {
		return 0
	}
	if month == 2 && IsLeapYear(year) {
		month = 13
	}
	return monthDays[month-1]
}

// ordinalDays converts month and day to a day of the year the way
// get_ordinal_days does: it adds the lengths of the months before m, and
// months past December add nothing (upstream walks them, each 0 days long).
func ordinalDays(y, m, d int) int {
	for i := 1; i < m && i <= 12; i++ {
		d += DaysInMonth(i, y)
	}
	return d
}

// january1Weekday returns the weekday (Monday=1 ... Sunday=7) of January 1
// of year, with the arithmetic of crm_time_january1_weekday.
func january1Weekday(year int) int {
	yy := (year - 1) % 100
	c := (year - 1) - yy
	g := yy + yy/4
	return 1 + ((((c/100)%4)*5 + g) % 7)
}

// WeeksInYear returns 52 or 53 (crm_time_weeks_in_year).
func WeeksInYear(year int) int {
	weeks := 52
	jan1 := january1Weekday(year)
	if jan1 == 4 {
		weeks++
	} else if january1Weekday(year+1) == 5 {
		weeks++
	}
	return weeks
}

// FromTime converts a Go time as crm_time_set_timet converts a time_t after
// localtime(): the fields are those of t's location, the offset is that
// location's offset at t.
func FromTime(t time.Time) Time {
	_, off := t.Zone()
	h := off / hourSeconds
	m := (off - hourSeconds*h) / 60
	year := t.Year()
	if year <= 1900 {
		// ha_set_tm_time only takes tm_year when it is positive.
		year = 0
	}
	return Time{
		Year:   year,
		Day:    t.YearDay(),
		Second: t.Hour()*hourSeconds + t.Minute()*60 + t.Second(),
		Offset: hourSeconds*h + 60*m,
	}
}

// FromUnix is FromTime(time.Unix(sec, 0).In(loc)); loc nil means UTC.
func FromUnix(sec int64, loc *time.Location) Time {
	if loc == nil {
		loc = time.UTC
	}
	return FromTime(time.Unix(sec, 0).In(loc))
}

// Go returns t as a time.Time in a fixed zone of t's offset. Invalid field
// combinations are normalised the way time.Date normalises them.
func (t Time) Go() time.Time {
	loc := time.UTC
	if t.Offset != 0 {
		loc = time.FixedZone("", t.Offset)
	}
	return time.Date(t.Year, 1, t.Day, 0, 0, t.Second, 0, loc)
}

// addDays is crm_time_add_days. Only date/times come here (the lower bound
// of the day is 1); the year walk is shortened by whole 400-year cycles,
// which leaves the result unchanged.
func (t *Time) addDays(extra int) {
	const cycleDays, cycleYears = 146097, 400
	t.Day += extra
	if t.Day > cycleDays+366 {
		n := (t.Day - 366) / cycleDays
		t.Day -= n * cycleDays
		t.Year += n * cycleYears
	}
	for yd := yearDays(t.Year); t.Day > yd; yd = yearDays(t.Year) {
		t.Year++
		t.Day -= yd
	}
	if t.Day < -cycleDays {
		n := (-t.Day) / cycleDays
		t.Day += n * cycleDays
		t.Year -= n * cycleYears
	}
	for t.Day < 1 {
		t.Year--
		t.Day += yearDays(t.Year)
	}
}

// addSeconds is crm_time_add_seconds: seconds carry into days.
func (t *Time) addSeconds(extra int) {
	t.Second += extra
	days := t.Second / daySeconds
	t.Second %= daySeconds
	if t.Second < 0 {
		t.Second += daySeconds
		days--
	}
	t.addDays(days)
}

// Gregorian returns year, month and day of month, as crm_time_get_gregorian
// does for a date (a day past the last month yields month 13).
func (t Time) Gregorian() (y, m, d int) {
	days := t.Day
	months := 0
	if t.Year != 0 {
		for months = 1; months <= 12 && days > 0; months++ {
			md := DaysInMonth(months, t.Year)
			if md >= days {
				break
			}
			days -= md
		}
	}
	return t.Year, months, days
}

// addMonths is crm_time_add_months: the day of the month is kept unless the
// target month is shorter. Upstream steps one month at a time through an
// unsigned month counter; starting outside 1-12 (month 0 of year 0, or the
// month 13 of an overflowed day) it never wraps, which is reproduced.
func (t *Time) addMonths(extra int) {
	y, m, d := t.Gregorian()
	switch {
	case extra == 0:
	case m == 0 && extra < 0, m == 13 && extra > 0:
		m = 14 // stays outside 1-12: zero days, see below
	default:
		total := y*12 + (m - 1) + extra
		y = floorDiv(total, 12)
		m = total - y*12 + 1
	}
	dmax := DaysInMonth(m, y)
	if uint32(dmax) < uint32(d) {
		d = dmax
	}
	t.Year = y
	t.Day = ordinalDays(y, m, d)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// utc converts to offset 0 (crm_get_utc_time).
func (t Time) utc() Time {
	u := Time{Year: t.Year, Day: t.Day, Second: t.Second}
	if t.Offset != 0 {
		u.addSeconds(-t.Offset)
	}
	return u
}

// UTC returns t expressed at offset 0.
func (t Time) UTC() Time { return t.utc() }

// Compare orders two date/times by their UTC fields: -1, 0 or +1
// (crm_time_compare).
func (t Time) Compare(u Time) int {
	a, b := t.utc(), u.utc()
	switch {
	case a.Year != b.Year:
		return cmpInt(a.Year, b.Year)
	case a.Day != b.Day:
		return cmpInt(a.Day, b.Day)
	}
	return cmpInt(a.Second, b.Second)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Valid reports whether the fields make a real date/time (crm_time_check).
func (t Time) Valid() bool {
	return t.Day > 0 && t.Day <= yearDays(t.Year) && t.Second >= 0 && t.Second < daySeconds
}

// Add returns t plus d (crm_time_add): years, then months (clamping the day
// of the month), then days, then seconds, all on t's local fields.
func (t Time) Add(d Duration) Time {
	t.Year += d.Years
	t.addMonths(d.Months)
	t.addDays(d.Days)
	t.addSeconds(d.Seconds)
	return t
}

// Sub returns t minus d (crm_time_subtract).
func (t Time) Sub(d Duration) Time {
	t.Year -= d.Years
	if d.Months != 0 {
		t.addMonths(-d.Months)
	}
	t.addDays(-d.Days)
	t.addSeconds(-d.Seconds)
	return t
}

// AddSeconds returns t moved by n seconds.
func (t Time) AddSeconds(n int) Time { t.addSeconds(n); return t }

// daysBeforeYear is the sum of the lengths of years 1 .. y-1, the loop in
// crm_time_get_seconds, in closed form.
func daysBeforeYear(y int) int64 {
	if y <= 1 {
		return 0
	}
	n := int64(y - 1)
	return 365*n + n/4 - n/100 + n/400
}

// Seconds is crm_time_get_seconds: seconds since 0001-01-01 00:00:00Z (the
// iso8601 tool calls it "since 0000-001").
func (t Time) Seconds() int64 {
	u := t.utc()
	s := daySeconds * daysBeforeYear(u.Year)
	if u.Day > 0 {
		s += daySeconds * int64(u.Day-1)
	}
	return s + int64(u.Second)
}

// Unix is crm_time_get_seconds_since_epoch.
func (t Time) Unix() int64 { return t.Seconds() - epochSeconds }

// TotalSeconds is crm_time_get_seconds applied to a duration, which is how
// Pacemaker turns an ISO 8601 interval into seconds: years count as the
// lengths of years 1 .. n-1 (so P1Y is 0), months as 30 days, and days as
// days-1 (so P1D is 0 and P2D one day). These are upstream 2.1.5's results
// and operation intervals written as durations depend on them.
func (d Duration) TotalSeconds() int64 {
	s := daySeconds * daysBeforeYear(d.Years)
	if d.Months > 0 {
		s += daySeconds * 30 * int64(d.Months)
	}
	if d.Days > 0 {
		s += daySeconds * int64(d.Days-1)
	}
	return s + int64(d.Seconds)
}

// ISOWeek returns the ISO week-numbering year, week and weekday (Monday=1)
// as crm_time_get_isoweek computes them; ok is false for a day below 1.
func (t Time) ISOWeek() (y, w, d int, ok bool) {
	if t.Day <= 0 {
		return 0, 0, 0, false
	}
	jan1 := january1Weekday(t.Year)
	h := t.Day + jan1 - 1
	d = 1 + ((h - 1) % 7)
	yearNum := t.Year
	if t.Day <= 8-jan1 && jan1 > 4 {
		yearNum = t.Year - 1
		w = WeeksInYear(yearNum)
	}
	if yearNum == t.Year {
		if yearDays(yearNum)-t.Day < 4-d {
			yearNum = t.Year + 1
			w = 1
		}
	}
	if yearNum == t.Year {
		j := t.Day + (7 - d) + (jan1 - 1)
		w = j / 7
		if jan1 > 4 {
			w--
		}
	}
	return yearNum, w, d, true
}

// TimeOfDay splits the second of the day (crm_time_get_timeofday; a negative
// count is shown by its magnitude, as upstream does).
func (t Time) TimeOfDay() (h, m, s int) { return splitSeconds(t.Second) }

func splitSeconds(sec int) (h, m, s int) {
	u := uint32(sec)
	if sec < 0 {
		u = uint32(-sec)
	}
	h = int(u / hourSeconds)
	u -= uint32(h) * hourSeconds
	m = int(u / 60)
	s = int(u - uint32(m)*60)
	return
}
