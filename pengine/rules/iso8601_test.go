package rules

import (
	"fmt"
	"testing"
	"time"
)

var utcNow = time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)

func TestParseDateTime(t *testing.T) {
	kolkata := utcNow.In(time.FixedZone("IST", 5*3600+1800))
	stJohns := utcNow.In(time.FixedZone("NST", -(3*3600 + 1800)))
	tests := []struct {
		in   string
		now  time.Time
		want string // Format(Date|TimeOfDay|WithTZ), or "error: <message>"
	}{
		{"2019-01-01", utcNow, "2019-01-01 00:00:00Z"},
		{"20190101", utcNow, "2019-01-01 00:00:00Z"},
		{"2005-040", utcNow, "2005-02-09 00:00:00Z"},
		{"2020-02-29 00:00:00Z", utcNow, "2020-02-29 00:00:00Z"},
		{"20191201T131211 -05:00", utcNow, "2019-12-01 13:12:11 -05:00"},
		{"2019-12-31 24:00:00Z", utcNow, "2020-01-01 00:00:00Z"},
		{"2009-W53-7", utcNow, "2010-01-03 00:00:00Z"},
		{"2008-W01-1", utcNow, "2007-12-31 00:00:00Z"},
		{"epoch", utcNow, "1970-01-01 00:00:00Z"},
		{"epoch 12:00", utcNow, "1970-01-01 00:00:00Z"},
		{"EPOCH/x", utcNow, "1970-01-01 00:00:00Z"},
		// A time without a zone takes the local offset of "now".
		{"2019-06-01 12:00", kolkata, "2019-06-01 12:00:00 +05:30"},
		// ... with upstream's sign slip for -03:30.
		{"2019-06-01 12:00", stJohns, "2019-06-01 12:00:00 -02:30"},
		// A date alone is UTC whatever the zone.
		{"2019-06-01", kolkata, "2019-06-01 00:00:00Z"},
		// An offset glued to the time is not seen.
		{"2019-06-01T12:00:00+01:00", utcNow, "2019-06-01 12:00:00Z"},
		{"2019-06-01T12:00:00 +01:00", utcNow, "2019-06-01 12:00:00 +01:00"},
		{"T12:30", kolkata, "2026-11-23 12:30:00 +05:30"},
		{"12:30:15Z", utcNow, "2026-11-23 12:30:15Z"},
		{"2019-01-01T", utcNow, "2019-01-01 00:00:00Z"},
		{"20190101T1230", utcNow, "2019-01-01 12:30:00Z"},
		// A negative month passes the checks and counts every month of the
		// year (upstream takes minutes to get there, walking 2^32 months).
		{"2019--1-0", utcNow, "2019-12-31 00:00:00Z"},
		{"", utcNow, "error: No ISO 8601 date/time specification given"},
		{"2019-13-01 00:00:00Z/P1M", utcNow, "error: '2019-13-01 00:00:00Z/P1M' is not a valid ISO 8601 date/time specification because '13' is not a valid month"},
		{"20191077T15/P1M", utcNow, "error: '20191077T15/P1M' is not a valid ISO 8601 date/time specification because '77' is not a valid day of the month"},
		{"2019-10-01T25:00:00Z/P1M", utcNow, "error: 25:00:00Z/P1M is not a valid ISO 8601 time specification because 25 is not a valid hour"},
		{"2019-10-01T24:00:01Z/P1M", utcNow, "error: 24:00:01Z/P1M is not a valid ISO 8601 time specification because 24 is not a valid hour"},
		{"20191001T007000Z", utcNow, "error: 007000Z is not a valid ISO 8601 time specification because 70 is not a valid minute"},
		{"2019-10-01 00:00:80Z/P1M", utcNow, "error: 00:00:80Z/P1M is not a valid ISO 8601 time specification because 80 is not a valid second"},
		{"2019-10-01 00:00:10 +25:00/P1M", utcNow, "error: 25:00/P1M is not a valid ISO 8601 time specification because 25 is not a valid hour"},
		{"20191001T000010 -00:61/P1M", utcNow, "error: 00:61/P1M is not a valid ISO 8601 time specification because 61 is not a valid minute"},
		{"2019-02-29 00:00:00Z", utcNow, "error: '2019-02-29 00:00:00Z' is not a valid ISO 8601 date/time specification because '29' is not a valid day of the month"},
		{"2019-366", utcNow, "error: '2019-366' is not a valid ISO 8601 date/time specification because '366' is not a valid day of the year (max 365)"},
		{"2019-W54-1", utcNow, "error: '2019-W54-1' is not a valid ISO 8601 date/time specification because '54' is not a valid week of the year (max 52)"},
		{"2019-W01-8", utcNow, "error: '2019-W01-8' is not a valid ISO 8601 date/time specification because '8' is not a valid day of the week"},
		{"2019-000", utcNow, "error: '2019-000' is not a valid ISO 8601 date/time specification"},
		{"garbage", utcNow, "error: 'garbage' is not a valid ISO 8601 date/time specification"},
		{"2019", utcNow, "error: '2019' is not a valid ISO 8601 date/time specification"},
	}
	for _, tc := range tests {
		got, err := ParseDateTime(tc.in, tc.now)
		s := ""
		if err != nil {
			s = "error: " + err.Error()
		} else {
			s = got.Format(FormatDate | FormatTimeOfDay | FormatWithTZ)
		}
		if s != tc.want {
			t.Errorf("ParseDateTime(%q) = %s, want %s", tc.in, s, tc.want)
		}
	}
}

// The week-date cases of Pacemaker's cts/cli/regression.dates.exp.
func TestWeekDates(t *testing.T) {
	want := map[string]string{
		"2006-W01-7": "2006-01-08", "2006-W01-1": "2006-01-02", "2007-W01-7": "2007-01-07", "2007-W01-1": "2007-01-01",
		"2008-W01-7": "2008-01-06", "2008-W01-1": "2007-12-31", "2009-W01-7": "2009-01-04", "2009-W01-1": "2008-12-29",
		"2010-W01-7": "2010-01-10", "2010-W01-1": "2010-01-04", "2011-W01-7": "2011-01-09", "2011-W01-1": "2011-01-03",
		"2012-W01-7": "2012-01-08", "2012-W01-1": "2012-01-02", "2013-W01-7": "2013-01-06", "2013-W01-1": "2012-12-31",
		"2014-W01-7": "2014-01-05", "2014-W01-1": "2013-12-30", "2015-W01-7": "2015-01-04", "2015-W01-1": "2014-12-29",
		"2016-W01-7": "2016-01-10", "2016-W01-1": "2016-01-04", "2017-W01-7": "2017-01-08", "2017-W01-1": "2017-01-02",
		"2018-W01-7": "2018-01-07", "2018-W01-1": "2018-01-01", "2040-W01-7": "2040-01-08", "2040-W01-1": "2040-01-02",
	}
	for in, day := range want {
		got, err := ParseDateTime(in+" 00Z", utcNow)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if s := got.Format(FormatDate | FormatTimeOfDay); s != day+" 00:00:00Z" {
			t.Errorf("%s = %s, want %s", in, s, day)
		}
		if s := got.Format(FormatDate | FormatTimeOfDay | FormatWeeks); s != in+" 00:00:00Z" {
			t.Errorf("%s round trip = %s", in, s)
		}
		// And Go agrees on the ISO week.
		y, w := got.Go().ISOWeek()
		if fmt.Sprintf("%d-W%02d-%d", y, w, (int(got.Go().Weekday())+6)%7+1) != in {
			t.Errorf("%s: Go's ISOWeek says %d-W%02d", in, y, w)
		}
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		date, dur, str, end string
	}{
		{"2014-01-01 00:30:00Z", "P-1H", "-3600 seconds (1 hour)", "2013-12-31 23:30:00Z"},
		{"epoch", "P2Y5MT6M", "   2 years  5 months 360 seconds (6 minutes)", "1972-06-01 00:06:00Z"},
		{"20090131T000000Z", "P1M", " 1 month ", "2009-02-28 00:00:00Z"},
		{"2009-01-31 00:00:00Z", "P2M", " 2 months ", "2009-03-31 00:00:00Z"},
		{"2009-01-31 00:00:00Z", "P3M", " 3 months ", "2009-04-30 00:00:00Z"},
		{"2009-03-31 01:00:00 +01:00", "P-1M", "-1 months ", "2009-02-28 01:00:00 +01:00"},
		{"2038-01-01 00:00:00Z", "P3M", " 3 months ", "2038-04-01 00:00:00Z"},
		{"2020-02-29", "P1Y", "   1 year ", "2021-03-01 00:00:00Z"},
		{"2020-02-29", "P4Y", "   4 years ", "2024-02-29 00:00:00Z"},
		{"2019-12-31", "P1D", " 1 day ", "2020-01-01 00:00:00Z"},
		{"2020-01-01", "P-1D", "-1 days ", "2019-12-31 00:00:00Z"},
		{"2019-01-01", "P1W", " 7 days ", "2019-01-08 00:00:00Z"},
		{"2019-01-01", "PT36H", "129600 seconds (36 hours)", "2019-01-02 12:00:00Z"},
		{"2019-01-01", "PT59S", "59 seconds", "2019-01-01 00:00:59Z"},
		{"2019-01-01", "PT61M", "3660 seconds (1 hour 1 minute)", "2019-01-01 01:01:00Z"},
		{"2019-01-01", "PT", "0 seconds", "2019-01-01 00:00:00Z"},
		{"2019-01-01", "P1M1M", " 1 month ", "2019-02-01 00:00:00Z"},
		{"2019-01-01", "P1D1D", " 2 days ", "2019-01-03 00:00:00Z"},
		{"2019-01-01", "P100000D", "100000 days ", "2292-10-16 00:00:00Z"},
		{"2019-01-01", "P-100000D", "-100000 days ", "1745-03-18 00:00:00Z"},
	}
	for _, tc := range tests {
		d, err := ParseDuration(tc.dur)
		if err != nil {
			t.Fatalf("%s: %v", tc.dur, err)
		}
		if s := d.String(); s != tc.str {
			t.Errorf("%s.String() = %q, want %q", tc.dur, s, tc.str)
		}
		start, err := ParseDateTime(tc.date, utcNow)
		if err != nil {
			t.Fatal(err)
		}
		if s := start.Add(d).Format(FormatDate | FormatTimeOfDay | FormatWithTZ); s != tc.end {
			t.Errorf("%s + %s = %s, want %s", tc.date, tc.dur, s, tc.end)
		}
	}
	for _, bad := range []struct{ in, msg string }{
		{"", "No ISO 8601 time duration given"},
		{"1D", "'1D' is not a valid ISO 8601 time duration because it does not start with a 'P'"},
		{"P", "'P' is not a valid ISO 8601 time duration because nothing follows 'P'"},
		{"P1Z/2019-02-20 00:00:00Z", "'P1Z/2019-02-20 00:00:00Z' is not a valid ISO 8601 time duration because 'Z' is not a valid time unit"},
		{"P1YM/2019-02-20 00:00:00Z", "'P1YM/2019-02-20 00:00:00Z' is not a valid ISO 8601 time duration because no integer at 'M/2019-02-20 00:00:00Z'"},
		{"P1", "'P1' is not a valid ISO 8601 time duration because no units after 1"},
	} {
		if _, err := ParseDuration(bad.in); err == nil || err.Error() != bad.msg {
			t.Errorf("ParseDuration(%q) error %v, want %q", bad.in, err, bad.msg)
		}
	}
}

func TestPeriods(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2005-040/2005-043", "2005-02-09 00:00:00Z 2005-02-12 00:00:00Z"},
		{"P1M/2005-043", "2005-01-12 00:00:00Z 2005-02-12 00:00:00Z"},
		{"2019-01-31/P1M", "2019-01-31 00:00:00Z 2019-02-28 00:00:00Z"},
		{"P1D", "2026-11-23 18:00:00Z 2026-11-24 18:00:00Z"},
		{"", "error: No ISO 8601 time period given"},
		{"2019-01-01 00:00:00Z", "error: '2019-01-01 00:00:00Z' is not a valid ISO 8601 time period because it has no duration or ending time"},
		{"2019-01-01 00:00:00Z/", "error: No ISO 8601 date/time specification given"},
		{"PT2S/P1M", "error: 'PT2S/P1M' is not a valid ISO 8601 time period because it has two durations"},
		{"2019-01-01 00:00:00Z/P", "error: 'P' is not a valid ISO 8601 time duration because nothing follows 'P'"},
	}
	for _, tc := range tests {
		p, err := ParsePeriod(tc.in, utcNow)
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			got = p.Start.String() + " " + p.End.String()
		}
		if got != tc.want {
			t.Errorf("ParsePeriod(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSecondsAndEpoch(t *testing.T) {
	for _, tc := range []struct {
		in      string
		seconds int64
		unix    int64
	}{
		{"1970-01-01 00:00:00Z", 62135596800, 0},
		{"2005-040", 63243504000, 1107907200},
		{"2019-01-01 12:00:00 +02:00", 63681933600, 1546336800},
		{"2038-01-19 03:14:08Z", 64283080448, 2147483648},
		{"0001-01-01", 0, -62135596800},
	} {
		d, err := ParseDateTime(tc.in, utcNow)
		if err != nil {
			t.Fatal(err)
		}
		if d.Seconds() != tc.seconds || d.Unix() != tc.unix {
			t.Errorf("%s: Seconds %d Unix %d, want %d %d", tc.in, d.Seconds(), d.Unix(), tc.seconds, tc.unix)
		}
		if tc.unix > 0 && FromUnix(tc.unix, nil).Compare(d) != 0 {
			t.Errorf("%s: FromUnix(%d) = %s", tc.in, tc.unix, FromUnix(tc.unix, nil))
		}
	}
}

func TestDurationSeconds(t *testing.T) {
	// crm_parse_interval_spec's view of durations (upstream 2.1.5 quirks).
	for in, want := range map[string]int64{
		"PT10S": 10, "PT1M": 60, "PT1H": 3600, "P1D": 0, "P2D": 86400, "P1W": 6 * 86400,
		"P1M": 30 * 86400, "P1Y": 0, "P2Y": 365 * 86400, "P1DT1S": 1,
	} {
		d, err := ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.TotalSeconds(); got != want {
			t.Errorf("%s: %d s, want %d", in, got, want)
		}
	}
}

func TestParseInterval(t *testing.T) {
	tests := []struct {
		in   string
		ms   int64
		fail bool
	}{
		{"10", 10000, false}, {"10s", 10000, false}, {"10sec", 10000, false}, {" 10 s ", 10000, false},
		{"1500ms", 1500, false}, {"1500msec", 1500, false}, {"2m", 120000, false}, {"2min", 120000, false},
		{"1h", 3600000, false}, {"1hr", 3600000, false}, {"1500us", 1, false}, {"1.5s", 1000, false},
		{"PT10S", 10000, false}, {"P1D", 0, false}, {"0", 0, false}, {"10x", 0, true}, {"", 0, true},
		{"-10", 0, true}, {"PT-10S", 0, true}, {"P", 0, true}, {".", 0, true}, {"10\n", 10000, false},
		{"99999999999999999999", 4294967295, false}, {"5000000h", 4294967295, false},
	}
	for _, tc := range tests {
		d, err := ParseInterval(tc.in)
		if (err != nil) != tc.fail || d != time.Duration(tc.ms)*time.Millisecond {
			t.Errorf("ParseInterval(%q) = %v, %v; want %dms fail=%v", tc.in, d, err, tc.ms, tc.fail)
		}
	}
}

func TestFormatFlags(t *testing.T) {
	d, _ := ParseDateTime("2019-01-01 01:00:00 +02:00", utcNow)
	for flags, want := range map[FormatFlags]string{
		FormatDate | FormatTimeOfDay:                 "2018-12-31 23:00:00Z",
		FormatDate | FormatTimeOfDay | FormatWithTZ:  "2019-01-01 01:00:00 +02:00",
		FormatDate | FormatTimeOfDay | FormatOrdinal: "2018-365 23:00:00Z",
		FormatDate | FormatTimeOfDay | FormatWeeks:   "2019-W01-1 23:00:00Z",
		FormatDate | FormatWithTZ | FormatWeeks:      "2019-W01-2",
		FormatTimeOfDay:                              "23:00:00Z",
		FormatSeconds:                                "63681894000",
		FormatEpoch:                                  "1546297200",
		FormatDuration:                               "",
	} {
		if flags == FormatDuration {
			continue
		}
		if got := d.Format(flags); got != want {
			t.Errorf("Format(%b) = %q, want %q", flags, got, want)
		}
	}
	if got := (Time{}).String(); got != "<undefined time>" {
		t.Errorf("undefined time prints %q", got)
	}
}

func TestCompareAcrossOffsets(t *testing.T) {
	a, _ := ParseDateTime("2019-06-01 12:00:00 +02:00", utcNow)
	b, _ := ParseDateTime("2019-06-01 10:00:00Z", utcNow)
	c, _ := ParseDateTime("2019-06-01 10:00:01Z", utcNow)
	if a.Compare(b) != 0 || a.Compare(c) != -1 || c.Compare(a) != 1 {
		t.Errorf("compare: %d %d %d", a.Compare(b), a.Compare(c), c.Compare(a))
	}
}

func TestAddDaysLongJumps(t *testing.T) {
	// The 400-year shortcut must agree with walking year by year.
	for _, days := range []int{1, 365, 366, 146097, 146097 + 367, 10_000_000, -1, -146097, -146098, -10_000_000} {
		fast := Time{Year: 2019, Day: 100}
		fast.addDays(days)
		slow := Time{Year: 2019, Day: 100 + days}
		for yd := yearDays(slow.Year); slow.Day > yd; yd = yearDays(slow.Year) {
			slow.Year++
			slow.Day -= yd
		}
		for slow.Day < 1 {
			slow.Year--
			slow.Day += yearDays(slow.Year)
		}
		if fast != slow {
			t.Errorf("addDays(%d) = %+v, walking gives %+v", days, fast, slow)
		}
	}
}

func TestAddMonthsOddStarts(t *testing.T) {
	// Day 366 of a common year (a leap day 366 plus years, in a date_expression
	// duration): upstream sees December 1 of "month 13" and, adding months,
	// never wraps back into the year.
	tm := Time{Year: 2021, Day: 366}
	tm.addMonths(2)
	if tm != (Time{Year: 2021, Day: 365}) {
		t.Errorf("month 13 + 2 = %+v", tm)
	}
	tm = Time{Year: 2021, Day: 366}
	tm.addMonths(-1)
	if y, m, d := tm.Gregorian(); y != 2021 || m != 12 || d != 1 {
		t.Errorf("month 13 - 1 = %d-%d-%d", y, m, d)
	}
}

func TestCShapes(t *testing.T) {
	for _, tc := range []struct {
		s, f string
		rc   int
		vals string
	}{
		{"2019-01-01", "%d-%d-%d", 3, "[2019 1 1]"},
		{"2019-040", "%d-%d-%d", 2, "[2019 40]"},
		{"20190101", "%4d%2d%2d", 3, "[2019 1 1]"},
		{"", "%d", -1, "[]"},
		{"  ", "%d:%d", -1, "[]"},
		{"12", "%d:%d:%d", 1, "[12]"},
		{"-05", "%2d%2d", 2, "[0 5]"},
		{"x", "%d", 0, "[]"},
	} {
		v, rc := scanfInts(tc.s, tc.f)
		if rc != tc.rc || fmt.Sprint(v) != tc.vals {
			t.Errorf("sscanf(%q, %q) = %v %d, want %s %d", tc.s, tc.f, v, rc, tc.vals, tc.rc)
		}
	}
	// glibc converts to a long, then stores its low 32 bits in the int.
	if v, _ := scanfInts("99999999999", "%d"); v[0] != 1215752191 {
		t.Errorf("overflowing %%d: %v", v)
	}
}
