package iso8601

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"ringmaster/pengine/rules"
	"ringmaster/tools/pcmkout"
)

// Main runs the iso8601 command line: args without the program name. env
// looks up environment variables (PCMK_stderr). It returns the exit code.
func Main(args []string, env func(string) string, now time.Time, stdout, stderr io.Writer) int {
	var o Options
	var dur, period, expected string
	var verbose int
	var help, helpAll, helpCmds, helpMods, version bool
	var seconds, epoch, local, ordinal, week bool

	fs := pflag.NewFlagSet("iso8601", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	fs.BoolFuncP("now", "n", "Display the current date/time", func(string) error { o.DateTime = "now"; return nil })
	fs.FuncP("date", "d", "Parse an ISO 8601 date/time", func(v string) error { o.DateTime = v; return nil })
	fs.StringVarP(&period, "period", "p", "", "")
	fs.StringVarP(&dur, "duration", "D", "", "")
	fs.StringVarP(&expected, "expected", "E", "", "")
	fs.BoolVarP(&seconds, "seconds", "s", false, "")
	fs.BoolVarP(&epoch, "epoch", "S", false, "")
	fs.BoolVarP(&local, "local", "L", false, "")
	fs.BoolVarP(&ordinal, "ordinal", "O", false, "")
	fs.BoolVarP(&week, "week", "W", false, "")
	fs.BoolVarP(&version, "version", "$", false, "")
	fs.CountVarP(&verbose, "verbose", "V", "")
	fs.BoolVarP(&help, "help", "h", false, "")
	fs.BoolVar(&helpAll, "help-all", false, "")
	fs.BoolVar(&helpCmds, "help-commands", false, "")
	fs.BoolVar(&helpMods, "help-modifiers", false, "")

	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "iso8601: %s\n", GOptionError(err))
		return ExitUsage
	}
	switch {
	case helpAll:
		io.WriteString(stdout, helpText(true, true, true))
		return ExitOK
	case helpCmds:
		io.WriteString(stdout, helpText(false, true, false))
		return ExitOK
	case helpMods:
		io.WriteString(stdout, helpText(false, false, true))
		return ExitOK
	case help:
		io.WriteString(stdout, helpText(true, false, false))
		return ExitOK
	case version:
		io.WriteString(stdout, "Pacemaker 2.1.5\nWritten by Andrew Beekhof and the Pacemaker project contributors\n")
		return ExitOK
	}
	if fs.Changed("duration") {
		o.Duration = &dur
	}
	if fs.Changed("period") {
		o.Period = &period
	}
	if fs.Changed("expected") {
		o.Expected = &expected
	}
	for _, m := range []struct {
		on   bool
		flag rules.FormatFlags
	}{{seconds, rules.FormatSeconds}, {epoch, rules.FormatEpoch}, {local, rules.FormatWithTZ},
		{ordinal, rules.FormatOrdinal}, {week, rules.FormatWeeks}} {
		if m.on {
			o.Print |= m.flag
		}
	}
	o.LogErrors = pcmkout.StderrLogging(verbose, env("PCMK_stderr"))
	return Run(o, now, stdout, stderr)
}

// GOptionError words a pflag parse error as GLib's option parser words
// it, which is what Pacemaker's tools print.
func GOptionError(err error) string {
	var ne *pflag.NotExistError
	var vr *pflag.ValueRequiredError
	switch {
	case errors.As(err, &ne):
		if ne.GetSpecifiedShortnames() != "" {
			return "Unknown option -" + ne.GetSpecifiedName()
		}
		return "Unknown option --" + ne.GetSpecifiedName()
	case errors.As(err, &vr):
		if vr.GetSpecifiedShortnames() != "" {
			return "Missing argument for -" + vr.GetSpecifiedName()
		}
		return "Missing argument for --" + vr.GetSpecifiedName()
	}
	return err.Error()
}

const (
	helpHead = "Usage:\n  iso8601 [OPTION?]\n\nDisplay and parse ISO 8601 dates and times\n\n"
	helpTail = "For more information on the ISO 8601 standard, see https://en.wikipedia.org/wiki/ISO_8601\n"

	helpOptions = `Help Options:
  -h, --help                  Show help options
  --help-all                  Show all help options
  --help-commands             Show command options
  --help-modifiers            Show output modifiers

`
	helpCommands = `Commands:
  -n, --now                   Display the current date/time
  -d, --date=DATE             Parse an ISO 8601 date/time (for example,
                              '2019-09-24 00:30:00 +01:00' or '2019-040')
  -p, --period=PERIOD         Parse an ISO 8601 period (interval) with start time (for example,
                              '2005-040/2005-043')
  -D, --duration=DURATION     Parse an ISO 8601 duration (for example, 'P1M')
  -E, --expected=TEXT         Exit with error status if result does not match this text.
                              Requires: -n or -d

`
	helpModifiers = `Output modifiers:
  -s, --seconds               Show result as a seconds since 0000-001 00:00:00Z
  -S, --epoch                 Show result as a seconds since EPOCH (1970-001 00:00:00Z)
  -L, --local                 Show result as a 'local' date/time
  -O, --ordinal               Show result as an 'ordinal' date/time
  -W, --week                  Show result as an 'calendar week' date/time

`
	helpApp = `Application Options:
  -$, --version               Display software version and exit
  -V, --verbose               Increase debug output (may be specified multiple times)

`
)

func helpText(main, cmds, mods bool) string {
	s := helpHead
	if main {
		s += helpOptions
	}
	if cmds {
		s += helpCommands
	}
	if mods {
		s += helpModifiers
	}
	if main {
		s += helpApp
	}
	return s + helpTail
}
