package pengine

import "fmt"

// LogLine is a message Pacemaker's unpacking code logs on the way (for
// example a hard failure that bans a resource from a node). The status
// tools print these on stderr as libcrmcommon does with PCMK_stderr set.
type LogLine struct {
	Func, File string // the upstream function and file that logs it
	Line       int
	Level      string // "error", "warning", "notice"
	Msg        string
}

// String formats the line as Pacemaker's stderr logging does.
func (l LogLine) String() string {
	return fmt.Sprintf("(%s@%s:%d) \t%s: %s", l.Func, l.File, l.Line, l.Level, l.Msg)
}

func (c *cluster) logAt(fn, file string, line int, level, format string, args ...any) {
	c.logs = append(c.logs, LogLine{Func: fn, File: file, Line: line, Level: level, Msg: fmt.Sprintf(format, args...)})
}

// OCFExitText is services_ocf_exitcode_str: an OCF agent's exit code as
// Pacemaker's logs and tools name it.
func OCFExitText(rc int) string {
	switch rc {
	case 0:
		return "ok"
	case 1:
		return "error"
	case 2:
		return "invalid parameter"
	case 3:
		return "unimplemented feature"
	case 4:
		return "insufficient privileges"
	case 5:
		return "not installed"
	case 6:
		return "not configured"
	case 7:
		return "not running"
	case 8:
		return "promoted"
	case 9:
		return "promoted (failed)"
	case 190:
		return "OCF_DEGRADED"
	case 191:
		return "promoted (degraded)"
	}
	return "unknown"
}
