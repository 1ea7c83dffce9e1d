package conf

import (
	"errors"
	"fmt"
	"time"
)

// TestOutput is what `corosync -t` prints for a configuration, and its exit
// status. corosync prints parser and logging errors bare on stderr (Raw),
// and everything else through logsys (formatted with the configuration's
// timestamp and function_name settings, and only when to_stderr is on).
type TestOutput struct {
	Lines    []OutputLine
	ExitCode int
	// Logging is the logging configuration used to format Log lines (nil
	// when the file could not be read that far).
	Logging *Logging
}

// OutputLine is one line of `corosync -t`: either raw text or a log record.
type OutputLine struct {
	Raw string
	Log *LogLine
}

// Test runs Load and returns what `corosync -t` would print.
func Test(path string, data []byte, env *Env, opt Options) TestOutput {
	c, warns, err := LoadBytes(path, data, env, opt)
	return TestResult(c, warns, err)
}

// TestResult turns a Load result into `corosync -t` output. For a refused
// file c may be nil; warnings are those returned with the error.
func TestResult(c *Config, warns []Warning, err error) TestOutput {
	var out TestOutput
	var e *Error
	if err != nil && !errors.As(err, &e) {
		e = &Error{Stage: StageParse, Msg: err.Error()}
	}
	if e != nil && (e.Stage == StageParse || e.Stage == StageLogging) {
		out.Lines = []OutputLine{{Raw: e.Error()}}
		out.ExitCode = e.ExitCode()
		return out
	}
	var lg *Logging
	if c != nil {
		lg = &c.Logging
	} else if e != nil && e.logging != nil {
		lg = e.logging
	}
	out.Logging = lg
	show := lg == nil || lg.ToStderr
	debug := lg != nil && (lg.Debug == "on" || lg.Debug == "trace")
	logf := func(l LogLine) {
		if show {
			ll := l
			out.Lines = append(out.Lines, OutputLine{Log: &ll})
		}
	}
	var dbg []LogLine
	if c != nil {
		dbg = c.Debug
	} else if e != nil {
		dbg = e.debug
	}
	if debug {
		for _, d := range dbg {
			logf(d)
		}
	}
	for _, w := range warns {
		if !w.Ours {
			logf(LogLine{Level: LevelWarning, Subsys: "MAIN", Func: "main", Msg: w.Msg})
		}
	}
	if e != nil {
		logf(LogLine{Level: LevelError, Subsys: "MAIN", Func: "main", Msg: e.Msg})
		logf(LogLine{Level: LevelError, Subsys: "MAIN", Func: "_corosync_exit_error",
			Msg: fmt.Sprintf("Corosync Cluster Engine exiting with status %d at %s.", e.ExitCode(), e.Where())})
		out.ExitCode = e.ExitCode()
		return out
	}
	logf(LogLine{Level: LevelNotice, Subsys: "MAIN", Func: "_corosync_exit_error", Msg: "Corosync Cluster Engine exiting normally"})
	return out
}

// Format renders the output with now as the log timestamp.
func (o TestOutput) Format(now time.Time) string {
	s := ""
	for _, l := range o.Lines {
		if l.Log != nil {
			s += l.Log.Format(o.Logging, now) + "\n"
		} else {
			s += l.Raw + "\n"
		}
	}
	return s
}
