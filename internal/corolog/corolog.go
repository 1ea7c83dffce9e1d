// Package corolog writes log lines the way corosync 3.1.7 does (exec/logsys.c,
// exec/logconfig.c on top of libqb's log formatter), so that a Ringmaster corosync
// log reads, greps and parses like the real one:
//
//	stderr:  Nov 22 11:34:30 notice  [MAIN  ] Corosync Cluster Engine 3.1.7 starting up
//	logfile: Nov 22 11:34:30 [1234] node01 corosync notice  [MAIN  ] Corosync Cluster Engine ...
//
// The stderr format is corosync's "%7p [%6g] %b" with the timestamp ("%t " or the
// default hires "%T ") in front and, with function_name/fileline on, " %n" / " %f:%l"
// after the subsystem tag. The log file puts "[%P] %H %N" (pid, host name, "corosync")
// after the timestamp. Syslog drops the timestamp and the priority.
//
// A Logger is a value handed to each component (Sub gives the subsystem tag); there
// is no global state. Configuration comes from the logging.* keys of the cmap.
package corolog

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Priority is a syslog priority plus libqb's trace level.
type Priority int

const (
	Emerg   Priority = 0
	Alert   Priority = 1
	Crit    Priority = 2
	Error   Priority = 3
	Warning Priority = 4
	Notice  Priority = 5
	Info    Priority = 6
	Debug   Priority = 7
	Trace   Priority = 8 // LOG_TRACE in libqb
)

var priorityNames = [...]string{"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug", "trace"}

// String returns libqb's name of the priority (what %p prints).
func (p Priority) String() string {
	if p >= 0 && int(p) < len(priorityNames) {
		return priorityNames[p]
	}
	return "unknown"
}

// ParsePriority accepts the names corosync.conf uses for logfile_priority and
// syslog_priority (logsys_priority_id_get: syslog's prioritynames, case-insensitive).
func ParsePriority(s string) (Priority, bool) {
	switch strings.ToLower(s) {
	case "alert":
		return Alert, true
	case "crit":
		return Crit, true
	case "debug":
		return Debug, true
	case "emerg", "panic":
		return Emerg, true
	case "err", "error":
		return Error, true
	case "info":
		return Info, true
	case "notice":
		return Notice, true
	case "warning", "warn":
		return Warning, true
	case "trace":
		return Trace, true
	}
	return 0, false
}

// DebugLevel is the logging.debug setting.
type DebugLevel int

const (
	DebugOff DebugLevel = iota
	DebugOn
	DebugTrace
)

// Timestamp is the logging.timestamp setting.
type Timestamp int

const (
	TimestampHires Timestamp = iota // the default in 3.1.7 ("%T")
	TimestampOn                     // seconds ("%t")
	TimestampOff
)

// Target is the per-subsystem part of the configuration (the top-level logging
// section, or a logger_subsys section layered over it).
type Target struct {
	ToStderr        bool
	ToLogfile       bool
	ToSyslog        bool
	LogfilePriority Priority // also the threshold for stderr, as in logsys
	SyslogPriority  Priority
	Debug           DebugLevel
}

// threshold returns the lowest priority written to the file/stderr and to syslog.
func (t Target) threshold() (file, syslog Priority) {
	file, syslog = t.LogfilePriority, t.SyslogPriority
	switch t.Debug {
	case DebugOn:
		file, syslog = Debug, Debug
	case DebugTrace:
		file, syslog = Trace, Trace
	}
	return
}

// Config is the whole logging configuration.
type Config struct {
	Timestamp      Timestamp
	FunctionName   bool
	FileLine       bool
	Logfile        string
	SyslogFacility string
	Global         Target
	Subsys         map[string]Target // keyed by the tag (QUORUM, TOTEM, ...)
}

// DefaultConfig is corosync's configuration with an empty logging section:
// stderr and syslog on, file off, priority info, hires timestamps.
func DefaultConfig() Config {
	return Config{
		Timestamp:      TimestampHires,
		SyslogFacility: "daemon",
		Global:         Target{ToStderr: true, ToSyslog: true, LogfilePriority: Info, SyslogPriority: Info},
	}
}

// ConfigFromKeys builds the configuration from the cmap's logging.* keys (string
// values, as the parser stores them), with corosync's error texts for bad values
// (exec/logconfig.c: "unknown value for timestamp", ...).
func ConfigFromKeys(keys map[string]string) (Config, error) {
	c := DefaultConfig()
	switch v, ok := keys["logging.timestamp"]; {
	case !ok || v == "hires":
		c.Timestamp = TimestampHires
	case v == "on":
		c.Timestamp = TimestampOn
	case v == "off":
		c.Timestamp = TimestampOff
	default:
		return c, fmt.Errorf("unknown value for timestamp")
	}
	onOff := func(key, what string) (bool, error) {
		switch keys[key] {
		case "", "off":
			return false, nil
		case "on":
			return true, nil
		}
		return false, fmt.Errorf("unknown value for %s", what)
	}
	var err error
	if c.FileLine, err = onOff("logging.fileline", "fileline"); err != nil {
		return c, err
	}
	if c.FunctionName, err = onOff("logging.function_name", "function_name"); err != nil {
		return c, err
	}
	c.Logfile = keys["logging.logfile"]
	if f, ok := keys["logging.syslog_facility"]; ok {
		c.SyslogFacility = f
	}
	if c.Global, err = targetFromKeys(keys, "logging", DefaultConfig().Global); err != nil {
		return c, err
	}
	// logger_subsys sections: logging.logger_subsys.<TAG>.subsys marks one.
	for k, v := range keys {
		rest, ok := strings.CutPrefix(k, "logging.logger_subsys.")
		if !ok {
			continue
		}
		tag, item, ok := strings.Cut(rest, ".")
		if !ok || item != "subsys" || v == "" {
			continue
		}
		t, err := targetFromKeys(keys, "logging.logger_subsys."+tag, c.Global)
		if err != nil {
			return c, err
		}
		if c.Subsys == nil {
			c.Subsys = map[string]Target{}
		}
		c.Subsys[tag] = t
	}
	return c, nil
}

func targetFromKeys(keys map[string]string, path string, base Target) (Target, error) {
	t := base
	yesNo := func(key string, dst *bool) error {
		v, ok := keys[path+"."+key]
		if !ok {
			return nil
		}
		switch v {
		case "yes", "on":
			*dst = true
		case "no", "off":
			*dst = false
		default:
			return fmt.Errorf("unknown value for %s", key)
		}
		return nil
	}
	for key, dst := range map[string]*bool{"to_stderr": &t.ToStderr, "to_syslog": &t.ToSyslog, "to_logfile": &t.ToLogfile, "to_file": &t.ToLogfile} {
		if err := yesNo(key, dst); err != nil {
			return t, err
		}
	}
	if v, ok := keys[path+".logfile_priority"]; ok {
		p, ok := ParsePriority(v)
		if !ok {
			return t, fmt.Errorf("unknown logfile priority specified")
		}
		t.LogfilePriority = p
	}
	if v, ok := keys[path+".syslog_priority"]; ok {
		p, ok := ParsePriority(v)
		if !ok {
			return t, fmt.Errorf("unknown syslog priority specified")
		}
		t.SyslogPriority = p
	}
	switch v, ok := keys[path+".debug"]; {
	case !ok:
		if path == "logging" {
			t.Debug = DebugOff
		}
	case v == "off":
		t.Debug = DebugOff
	case v == "on":
		t.Debug = DebugOn
	case v == "trace":
		t.Debug = DebugTrace
	default:
		return t, fmt.Errorf("unknown value for debug")
	}
	return t, nil
}

// Sink is where lines go. It is safe for concurrent use.
type Sink struct {
	mu       sync.Mutex
	cfg      Config
	stderr   io.Writer
	file     io.Writer
	syslog   func(p Priority, line string)
	now      func() time.Time
	pid      int
	hostname string
	name     string
}

// SinkOptions wires a Sink to the outside world; zero fields get defaults
// (os.Stderr, time.Now, os.Getpid, os.Hostname, no file, no syslog).
type SinkOptions struct {
	Stderr   io.Writer
	File     io.Writer                     // the opened logfile, if ToLogfile anywhere
	Syslog   func(p Priority, line string) // nil: syslog output dropped
	Now      func() time.Time
	PID      int
	Hostname string
	Name     string // %N, "corosync"
}

// NewSink returns a sink for cfg.
func NewSink(cfg Config, o SinkOptions) *Sink {
	s := &Sink{cfg: cfg, stderr: o.Stderr, file: o.File, syslog: o.Syslog, now: o.Now, pid: o.PID,
		hostname: o.Hostname, name: o.Name}
	if s.stderr == nil {
		s.stderr = os.Stderr
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.pid == 0 {
		s.pid = os.Getpid()
	}
	if s.hostname == "" {
		s.hostname, _ = os.Hostname()
	}
	if s.name == "" {
		s.name = "corosync"
	}
	return s
}

// SetConfig replaces the configuration (a reload of the logging section).
func (s *Sink) SetConfig(cfg Config) {
	s.mu.Lock()
	s.cfg = cfg
	s.mu.Unlock()
}

// SetFile replaces the log file writer (reopen after rotation).
func (s *Sink) SetFile(w io.Writer) {
	s.mu.Lock()
	s.file = w
	s.mu.Unlock()
}

// Logger returns the logger of a subsystem tag (MAIN, TOTEM, QUORUM, ...).
func (s *Sink) Logger(subsys string) *Logger { return &Logger{sink: s, subsys: subsys} }

// Record is one message before formatting.
type Record struct {
	Time     time.Time
	Priority Priority
	Subsys   string
	Function string
	File     string
	Line     int
	Msg      string
}

// Enabled reports whether a message of priority p from subsys goes anywhere.
func (s *Sink) Enabled(subsys string, p Priority) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.target(subsys)
	f, sl := t.threshold()
	return (t.ToStderr || t.ToLogfile) && p <= f || t.ToSyslog && s.syslog != nil && p <= sl
}

func (s *Sink) needCaller() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.FunctionName || s.cfg.FileLine
}

func (s *Sink) target(subsys string) Target {
	if t, ok := s.cfg.Subsys[subsys]; ok {
		return t
	}
	return s.cfg.Global
}

// Write formats r for every destination whose threshold it passes.
func (s *Sink) Write(r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.target(r.Subsys)
	fileMax, syslogMax := t.threshold()
	if r.Priority <= fileMax {
		if t.ToStderr {
			io.WriteString(s.stderr, s.format(r, false)+"\n")
		}
		if t.ToLogfile && s.file != nil {
			io.WriteString(s.file, s.format(r, true)+"\n")
		}
	}
	if t.ToSyslog && s.syslog != nil && r.Priority <= syslogMax {
		p := r.Priority
		// logsys bumps debug (and trace) to info for syslog (QB_LOG_CONF_PRIORITY_BUMP).
		if p >= Debug {
			p = Info
		}
		s.syslog(p, s.body(r))
	}
}

// Format returns the line r would have on stderr (file=false) or in the log file.
func (s *Sink) Format(r Record, file bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.format(r, file)
}

func (s *Sink) format(r Record, file bool) string {
	var b strings.Builder
	switch s.cfg.Timestamp {
	case TimestampOn:
		b.WriteString(r.Time.Format("Jan 02 15:04:05"))
		b.WriteByte(' ')
	case TimestampHires:
		b.WriteString(r.Time.Format("Jan 02 15:04:05.000"))
		b.WriteByte(' ')
	}
	if file {
		// logsys_file_format_get: "[%P] %H %N" then the rest of the format, which
		// starts with the space that followed the timestamp, or with nothing at all
		// when there is no timestamp (so "corosyncnotice" is what corosync writes).
		fmt.Fprintf(&b, "[%d] %s %s", s.pid, s.hostname, s.name)
		if s.cfg.Timestamp != TimestampOff {
			b.WriteByte(' ')
		}
	}
	fmt.Fprintf(&b, "%-7s ", r.Priority.String())
	b.WriteString(s.body(r))
	return b.String()
}

// body is "[%6g] %n %f:%l %b" with the optional parts as configured; it is also
// what syslog receives.
func (s *Sink) body(r Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%-6s] ", r.Subsys)
	switch {
	case s.cfg.FileLine && s.cfg.FunctionName:
		fmt.Fprintf(&b, "%s:%s:%d ", r.File, r.Function, r.Line)
	case s.cfg.FileLine:
		fmt.Fprintf(&b, "%s:%d ", r.File, r.Line)
	case s.cfg.FunctionName:
		b.WriteString(r.Function + " ")
	}
	b.WriteString(r.Msg)
	return b.String()
}

// Logger logs for one subsystem. The zero Logger and a nil *Logger discard.
type Logger struct {
	sink   *Sink
	subsys string
	fn     string // fixed function name for %n, "" = the Go caller's
}

// Discard returns a logger that writes nothing (for tests and tools).
func Discard() *Logger { return nil }

// Sub returns a logger for another subsystem on the same sink.
func (l *Logger) Sub(subsys string) *Logger {
	if l == nil || l.sink == nil {
		return nil
	}
	return &Logger{sink: l.sink, subsys: subsys}
}

// Func returns a logger that names fn as the function (what function_name: on
// prints). Code that reproduces a corosync message passes the C function that
// logs it, so such lines read as corosync's own.
func (l *Logger) Func(fn string) *Logger {
	if l == nil || l.sink == nil {
		return nil
	}
	return &Logger{sink: l.sink, subsys: l.subsys, fn: fn}
}

// Logf writes one message at priority p. Function, file and line are the caller's.
func (l *Logger) Logf(p Priority, format string, args ...any) { l.logf(2, p, format, args...) }

func (l *Logger) logf(skip int, p Priority, format string, args ...any) {
	if l == nil || l.sink == nil || !l.sink.Enabled(l.subsys, p) {
		return
	}
	r := Record{Time: l.sink.now(), Priority: p, Subsys: l.subsys, Msg: fmt.Sprintf(format, args...)}
	// The caller is looked up only when the format shows it (it is the costly part).
	if l.sink.needCaller() {
		if pc, file, line, ok := runtime.Caller(skip + 1); ok {
			r.File, r.Line = file[strings.LastIndexByte(file, '/')+1:], line
			if fn := runtime.FuncForPC(pc); fn != nil && l.fn == "" {
				r.Function = shortFuncName(fn.Name())
			}
		}
	}
	if l.fn != "" {
		r.Function = l.fn
	}
	l.sink.Write(r)
}

// shortFuncName turns "ringmaster/cmap.(*Service).Accept" into "Accept" and
// "main.run.func1" into "run".
func shortFuncName(name string) string {
	name = name[strings.LastIndexByte(name, '/')+1:]
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.LastIndexByte(name, ')'); i >= 0 && i+2 <= len(name) {
		name = name[i+2:]
	}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	return name
}

func (l *Logger) Errorf(format string, args ...any)   { l.logf(2, Error, format, args...) }
func (l *Logger) Warningf(format string, args ...any) { l.logf(2, Warning, format, args...) }
func (l *Logger) Noticef(format string, args ...any)  { l.logf(2, Notice, format, args...) }
func (l *Logger) Infof(format string, args ...any)    { l.logf(2, Info, format, args...) }
func (l *Logger) Debugf(format string, args ...any)   { l.logf(2, Debug, format, args...) }
func (l *Logger) Tracef(format string, args ...any)   { l.logf(2, Trace, format, args...) }

// Printf adapts the logger to func(format, args...) hooks (as debug level), e.g.
// ipc.ServerOptions.Logf.
func (l *Logger) Printf(format string, args ...any) { l.logf(2, Debug, format, args...) }
