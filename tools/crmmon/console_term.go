package crmmon

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beevik/etree"
	"golang.org/x/sys/unix"
)

// isTerminal reports whether fd is a tty (TCGETS succeeds).
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// makeCbreak puts the terminal in the mode curses' cbreak()+noecho() gives
// crm_mon: keys arrive one at a time and are not echoed, while Ctrl-C still
// raises SIGINT. It returns a function restoring the previous settings.
func makeCbreak(fd int) (func(), error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("reading terminal settings: %w", err)
	}
	t := *old
	t.Lflag &^= unix.ICANON | unix.ECHO
	t.Oflag &^= unix.OPOST // we write CR-LF ourselves
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, fmt.Errorf("setting terminal to cbreak mode: %w", err)
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// ConsoleIO is the terminal an interactive crm_mon runs on.
type ConsoleIO struct {
	In   *os.File // keys
	Out  io.Writer
	Stop <-chan struct{} // closed to end the console (SIGINT/SIGTERM in the real tool)
	// Resize, when set, triggers a redraw (SIGWINCH).
	Resize <-chan struct{}
	// Changed, when set, triggers a re-read of the CIB (a cib_diff_notify).
	Changed <-chan struct{}
	Now     func() time.Time
}

// RunConsole runs the interactive console until io.Stop is closed: the
// screen is redrawn after each key, each interval and each CIB change.
func RunConsole(cio ConsoleIO, fetch func() (*etree.Document, error), secs, show uint32, base Options, interval time.Duration) error {
	fd := int(cio.In.Fd())
	restore, err := makeCbreak(fd)
	if err != nil {
		return err
	}
	defer restore()
	keys := make(chan byte, 64)
	go func() {
		defer close(keys)
		buf := make([]byte, 64)
		for {
			n, err := cio.In.Read(buf)
			for _, b := range buf[:n] {
				keys <- b
			}
			if err != nil {
				return
			}
		}
	}()
	if interval <= 0 {
		interval = 5 * time.Second
	}
	tk := time.NewTicker(interval)
	defer tk.Stop()
	now := cio.Now
	if now == nil {
		now = time.Now
	}
	c := &console{st: newConsoleState(secs&^SecOptions, show), base: base, fetch: fetch, now: now, out: cio.Out, interval: interval}
	c.run(keys, cio.Changed, cio.Resize, cio.Stop, tk.C)
	io.WriteString(cio.Out, ansiClear)
	return nil
}

// signalStop returns a channel closed on SIGINT or SIGTERM (mon_shutdown)
// and one fed on SIGWINCH.
func signalStop() (stop <-chan struct{}, resize <-chan struct{}, cleanup func()) {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGWINCH)
	st := make(chan struct{})
	rs := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sig:
				if s == syscall.SIGWINCH {
					select {
					case rs <- struct{}{}:
					default:
					}
					continue
				}
				close(st)
				return
			case <-done:
				return
			}
		}
	}()
	return st, rs, func() { signal.Stop(sig); close(done) }
}

// ConsoleEnv is the process wiring the live console needs.
type ConsoleEnv struct {
	In, Out *os.File
	// Changed, when set, delivers CIB change notifications.
	Changed <-chan struct{}
}

// runLive is crm_mon's default mode against a running cluster: the
// interactive console on a terminal, else the text status again after
// every interval or CIB change, until SIGINT/SIGTERM.
func runLive(env Env, o *cliOpts, secs uint32, opts Options) int {
	ce := env.Console
	interval := parseInterval(o.interval)
	fetch := func() (*etree.Document, error) { return loadCIB(env) }
	stop, resize, cleanup := signalStop()
	defer cleanup()
	if ce.In != nil && ce.Out != nil && isTerminal(int(ce.In.Fd())) && isTerminal(int(ce.Out.Fd())) {
		err := RunConsole(ConsoleIO{In: ce.In, Out: ce.Out, Stop: stop, Resize: resize, Changed: ce.Changed},
			fetch, secs, o.show, opts, interval)
		if err == nil {
			return 0
		}
	}
	for {
		doc, err := fetch()
		if err != nil {
			fmt.Fprintf(env.Stderr, "crm_mon: %v\n", err)
		} else {
			renderDoc(env.Stdout, doc, secs&^SecOptions, o.show, opts, time.Now())
		}
		t := time.NewTimer(interval)
		select {
		case <-stop:
			t.Stop()
			return 0
		case <-ce.Changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// parseInterval is crm_parse_interval_spec for -i: plain seconds, a number
// with a unit (ms/msec/us/usec/s/sec/m/min/h/hr) or an ISO 8601 duration
// such as PT5S. Anything unparsable (or empty) gives the 5 s default.
func parseInterval(s string) time.Duration {
	const def = 5 * time.Second
	s = strings.TrimSpace(s)
	if s == "" {
		return def
	}
	if s[0] == 'P' {
		if d, err := time.ParseDuration(strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(s, "P"), "T"))); err == nil && d > 0 {
			return d
		}
		return def
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n <= 0 {
		return def
	}
	unit := map[string]time.Duration{"": time.Second, "s": time.Second, "sec": time.Second,
		"ms": time.Millisecond, "msec": time.Millisecond, "us": time.Microsecond, "usec": time.Microsecond,
		"m": time.Minute, "min": time.Minute, "h": time.Hour, "hr": time.Hour}[strings.TrimSpace(s[i:])]
	if unit == 0 || time.Duration(n) > (1<<62)/unit {
		return def // unknown unit, or too long to represent
	}
	return time.Duration(n) * unit
}
