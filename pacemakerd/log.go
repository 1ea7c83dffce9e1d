package pacemakerd

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Log writes lines in the format Pacemaker's daemons use for their log
// file (lib/common/logging.c set_format_string for a file target):
//
//	Nov 23 19:22:59 node01 pacemakerd          [1234] (main) 	notice: text
//
// timestamp, node name, daemon name padded to 20, [pid], (function),
// an empty tag, a TAB, the severity and the message.
type Log struct {
	mu     sync.Mutex
	w      io.Writer
	daemon string
	node   string
	pid    int
	now    func() time.Time
	debug  bool
}

// NewLog returns a logger writing to w. now supplies timestamps.
func NewLog(w io.Writer, daemon, node string, pid int, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{w: w, daemon: daemon, node: node, pid: pid, now: now}
}

// SetDebug enables debug lines.
func (l *Log) SetDebug(on bool) { l.debug = on }

func (l *Log) line(fn, sev, format string, args ...any) {
	if l == nil || l.w == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s %-20s[%d] (%s) \t%s: %s\n",
		l.now().Format(time.Stamp), l.node, l.daemon, l.pid, fn, sev, msg)
}

// Notice, Info, Warn, Err and Debug log at Pacemaker's severities; fn is
// the function name Pacemaker would print (kept so that log readers and
// greps written for Pacemaker find the same words).
func (l *Log) Notice(fn, format string, args ...any) { l.line(fn, "notice", format, args...) }
func (l *Log) Info(fn, format string, args ...any)   { l.line(fn, "info", format, args...) }
func (l *Log) Warn(fn, format string, args ...any)   { l.line(fn, "warning", format, args...) }
func (l *Log) Err(fn, format string, args ...any)    { l.line(fn, "error", format, args...) }
func (l *Log) Debug(fn, format string, args ...any) {
	if l != nil && l.debug {
		l.line(fn, "debug", format, args...)
	}
}
