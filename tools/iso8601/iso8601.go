// Package iso8601 is the logic of the iso8601 tool: it displays and parses
// ISO 8601 dates, durations and periods exactly as Pacemaker 2.1.5's
// tools/iso8601.c does, over pengine/rules.
package iso8601

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"ringmaster/pengine/rules"
)

// Exit codes (crm_exit_t) the tool uses.
const (
	ExitOK           = 0
	ExitError        = 1
	ExitInvalidParam = 2
	ExitUsage        = 64
	ExitSoftware     = 70
)

// Options are the command line, already parsed.
type Options struct {
	// DateTime is the last of -n ("now") and -d DATE given, "" if none.
	DateTime string
	Duration *string // -D
	Period   *string // -p
	Expected *string // -E
	Print    rules.FormatFlags
	// LogErrors prints the parser's error lines on stderr, as Pacemaker
	// does with -V or PCMK_stderr set.
	LogErrors bool
}

// Run does what iso8601 does and returns its exit status. now is the
// process clock in the local time zone.
func Run(o Options, now time.Time, stdout, stderr io.Writer) int {
	code, msg := run(o, now, stdout, stderr)
	if msg != "" {
		fmt.Fprintf(stderr, "iso8601: %s\n", msg)
	}
	return code
}

func (o Options) logErr(stderr io.Writer, err error) {
	var pe *rules.ParseError
	if o.LogErrors && errors.As(err, &pe) {
		fmt.Fprintf(stderr, "(%s) \terror: %s\n", pe.Func, pe.Msg)
	}
}

func run(o Options, now time.Time, stdout, stderr io.Writer) (int, string) {
	var date *rules.Time
	base := o.Print | rules.FormatDate | rules.FormatTimeOfDay
	if equalFold(o.DateTime, "now") {
		t := rules.FromTime(now)
		date = &t
		fmt.Fprintf(stdout, "Current date/time: %s\n", t.Format(base))
	} else if o.DateTime != "" {
		t, err := rules.ParseDateTime(o.DateTime, now)
		if err != nil {
			o.logErr(stderr, err)
			return ExitInvalidParam, "Invalid date/time specified: " + o.DateTime
		}
		date = &t
		fmt.Fprintf(stdout, "Date: %s\n", t.Format(base))
	}
	var dur *rules.Duration
	if o.Duration != nil {
		d, err := rules.ParseDuration(*o.Duration)
		if err != nil {
			o.logErr(stderr, err)
			return ExitInvalidParam, "Invalid duration specified: " + *o.Duration
		}
		dur = &d
		fmt.Fprintf(stdout, "Duration: %s\n", d.String())
	}
	if o.Period != nil {
		p, err := rules.ParsePeriod(*o.Period, now)
		if err != nil {
			o.logErr(stderr, err)
			return ExitInvalidParam, "Invalid interval specified: " + *o.Period
		}
		fmt.Fprintf(stdout, "Period: %s to %s\n", p.Start.Format(base), p.End.Format(base))
	}
	switch {
	case date != nil && dur != nil:
		later := date.Add(*dur)
		fmt.Fprintf(stdout, "Duration ends at: %s\n", later.Format(base|rules.FormatWithTZ))
		if o.Expected != nil && !equalFold(*o.Expected, later.Format(base)) {
			return ExitError, ""
		}
	case date != nil && o.Expected != nil:
		if !equalFold(*o.Expected, date.Format(base)) {
			return ExitError, ""
		}
	}
	return ExitOK, ""
}

func equalFold(a, b string) bool {
	return strings.EqualFold(a, b) && isASCII(a) && isASCII(b) || a == b
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
