package conf

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

func errnoOf(err error) int {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return int(errno)
	}
	return 0
}

// Logging is the logging section as corosync's logconfig.c applies it.
type Logging struct {
	// Timestamp is "on" (seconds), "hires" (milliseconds, the default with
	// Debian's libqb) or "off".
	Timestamp    string
	FunctionName bool
	FileLine     bool
	ToStderr     bool
	ToSyslog     bool
	ToLogfile    bool
	Logfile      string
	// Debug is "off", "on" or "trace".
	Debug          string
	SyslogFacility string
	Blackbox       bool
	// Subsys holds the logger_subsys sections (by subsys name).
	Subsys map[string]SubsysLogging
}

// SubsysLogging is one logger_subsys section's overrides ("" = inherit).
type SubsysLogging struct {
	Debug     string
	ToStderr  string
	ToSyslog  string
	ToLogfile string
}

var syslogFacilities = []string{"auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail",
	"news", "syslog", "user", "uucp", "local0", "local1", "local2", "local3", "local4", "local5",
	"local6", "local7"}

// logsys prioritynames (exec/logsys.c), compared case-insensitively.
var syslogPriorities = []string{"alert", "crit", "debug", "emerg", "err", "error", "info", "notice", "warning"}

func oneOfFold(v string, list []string) bool {
	for _, s := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// read applies the checks of logconfig.c:corosync_main_config_read_logging
// and returns its reason on failure (corosync prints "parse error in
// config: <reason>." and exits 7). Opening the log file is left to the
// daemon.
func (l *Logging) read(m *Map, env *Env) string {
	*l = Logging{Timestamp: "hires", ToStderr: true, ToSyslog: true, Debug: "off",
		SyslogFacility: "daemon", Blackbox: true, Subsys: map[string]SubsysLogging{}}
	if v, ok := m.String("logging.fileline"); ok {
		switch v {
		case "on":
			l.FileLine = true
		case "off":
		default:
			return "unknown value for fileline"
		}
	}
	if v, ok := m.String("logging.function_name"); ok {
		switch v {
		case "on":
			l.FunctionName = true
		case "off":
		default:
			return "unknown value for function_name"
		}
	}
	if v, ok := m.String("logging.timestamp"); ok {
		if !oneOf(v, "on", "hires", "off") {
			return "unknown value for timestamp"
		}
		l.Timestamp = v
	}
	if v, ok := m.String("logging.blackbox"); ok {
		switch v {
		case "on":
		case "off":
			l.Blackbox = false
		default:
			return "unknown value for blackbox"
		}
	}
	if msg := l.readLevel(m, env, "logging", true); msg != "" {
		return msg
	}
	for _, k := range m.Keys("logging.logger_subsys.") {
		rest := strings.TrimPrefix(k, "logging.logger_subsys.")
		dot := strings.IndexByte(rest, '.')
		if dot <= 0 || rest[dot+1:] != "subsys" {
			continue
		}
		name := rest[:dot]
		if msg := l.readLevel(m, env, "logging.logger_subsys."+name, false); msg != "" {
			return msg
		}
		s := SubsysLogging{}
		s.Debug, _ = m.String("logging.logger_subsys." + name + ".debug")
		s.ToStderr, _ = m.String("logging.logger_subsys." + name + ".to_stderr")
		s.ToSyslog, _ = m.String("logging.logger_subsys." + name + ".to_syslog")
		s.ToLogfile, _ = m.String("logging.logger_subsys." + name + ".to_logfile")
		l.Subsys[name] = s
	}
	return ""
}

// readLevel is corosync_main_config_set for one path (top level or a
// logger_subsys).
func (l *Logging) readLevel(m *Map, env *Env, path string, top bool) string {
	dest := func(key string, set *bool) string {
		v, ok := m.String(path + "." + key)
		if !ok {
			return ""
		}
		switch v {
		case "yes", "on":
			if top && set != nil {
				*set = true
			}
		case "no", "off":
			if top && set != nil {
				*set = false
			}
		default:
			return "unknown value for " + key
		}
		return ""
	}
	if msg := dest("to_stderr", &l.ToStderr); msg != "" {
		return msg
	}
	if msg := dest("to_syslog", &l.ToSyslog); msg != "" {
		return msg
	}
	if v, ok := m.String(path + ".syslog_facility"); ok {
		if !oneOfFold(v, syslogFacilities) {
			return "unknown syslog facility specified"
		}
		if top {
			l.SyslogFacility = v
		}
	}
	if v, ok := m.String(path + ".syslog_level"); ok && !oneOfFold(v, syslogPriorities) {
		return "unknown syslog level specified"
	}
	if v, ok := m.String(path + ".syslog_priority"); ok && !oneOfFold(v, syslogPriorities) {
		return "unknown syslog priority specified"
	}
	if v, ok := m.String(path + ".logfile"); ok {
		if top {
			l.Logfile = v
		}
		// logsys_config_file_set opens the file (qb_log_file_open) right
		// away, even for corosync -t.
		if len(v) >= 4096 {
			sub := "MAIN"
			if !top {
				sub = strings.TrimPrefix(path, "logging.logger_subsys.")
			}
			return sub + ": logfile name exceed maximum system filename length"
		}
		if env != nil && env.OpenLogfile != nil && (top || v != l.Logfile) {
			if err := env.OpenLogfile(v); err != nil {
				return fmt.Sprintf("Can't open logfile '%s' for reason: %s (%d)", v, strerror(err), errnoOf(err))
			}
		}
	}
	if msg := dest("to_file", &l.ToLogfile); msg != "" {
		return msg
	}
	if msg := dest("to_logfile", &l.ToLogfile); msg != "" {
		return msg
	}
	if v, ok := m.String(path + ".logfile_priority"); ok && !oneOfFold(v, syslogPriorities) {
		return "unknown logfile priority specified"
	}
	if v, ok := m.String(path + ".debug"); ok {
		if !oneOf(v, "trace", "on", "off") {
			return "unknown value for debug"
		}
		if top {
			l.Debug = v
		}
	}
	return ""
}

// Level is a log priority as logsys prints it.
type Level uint8

const (
	LevelError Level = iota
	LevelWarning
	LevelNotice
	LevelInfo
	LevelDebug
	LevelTrace
)

func (l Level) String() string {
	return [...]string{"error", "warning", "notice", "info", "debug", "trace"}[l]
}

// LogLine is one message corosync logs.
type LogLine struct {
	Level  Level
	Subsys string // "MAIN", "TOTEM", ...
	Func   string // the C function name, shown with function_name: on
	Msg    string
}

// Format renders the line in corosync's default stderr format
// ("%t %7p [%6g] %b"), honouring logging.timestamp and function_name:
// "Nov 22 11:34:30 warning [MAIN  ] ...".
func (l LogLine) Format(lg *Logging, now time.Time) string {
	var b strings.Builder
	ts := "hires"
	fn := false
	if lg != nil {
		ts, fn = lg.Timestamp, lg.FunctionName
	}
	switch ts {
	case "on":
		b.WriteString(now.Format("Jan 02 15:04:05") + " ")
	case "hires":
		b.WriteString(now.Format("Jan 02 15:04:05.000") + " ")
	}
	lv := l.Level.String()
	b.WriteString(lv + strings.Repeat(" ", max(0, 7-len(lv))))
	sub := l.Subsys
	b.WriteString(" [" + sub + strings.Repeat(" ", max(0, 6-len(sub))) + "] ")
	if fn && l.Func != "" {
		b.WriteString(l.Func + " ")
	}
	b.WriteString(l.Msg)
	return b.String()
}

// DefaultLogging is the logging configuration of a file without a logging
// section: stderr and syslog on, no log file, debug off, hires timestamps.
func DefaultLogging() Logging {
	var l Logging
	l.read(NewMap(), nil)
	return l
}
