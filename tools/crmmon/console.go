package crmmon

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ringmaster/pengine"
)

// The interactive console of crm_mon (tools/crm_mon.c's detect_user_input
// and the curses output of Pacemaker 2.1.5), drawn without ncurses: the
// screen is cleared with ANSI escapes and the same text the one-shot
// renderer produces is written again on every refresh.

// consoleState is what the single-key toggles change. It is a pure state
// machine: keys in, flags out, no I/O.
type consoleState struct {
	secs  uint32 // pcmk_section_e bits
	show  uint32 // pcmk_show_opt_e bits
	fence int    // interactive_fence_level, 0..3
	help  bool   // the "Display option change mode" screen is up
}

// newConsoleState syncs the fence level with the sections chosen on the
// command line, as crm_mon's main does before the first refresh.
func newConsoleState(secs, show uint32) *consoleState {
	c := &consoleState{secs: secs, show: show}
	switch {
	case secs&SecFencingAll == SecFencingAll:
		c.fence = 3
	case secs&SecFenceWorked != 0:
		c.fence = 2
	case secs&(SecFenceFailed|SecFencePending) != 0:
		c.fence = 1
	}
	return c
}

// setFencing is set_fencing_options: level 0 hides fence history, 1 shows
// failures and pending actions, 2 and 3 the whole history.
func (c *consoleState) setFencing(level int) {
	switch level {
	case 0:
		c.secs &^= SecFencingAll
	case 1:
		c.secs |= SecFenceFailed | SecFencePending
		c.secs &^= SecFenceWorked
	default:
		c.secs |= SecFencingAll
	}
}

// key applies one keystroke. Every key redraws; '?' opens the help screen
// and any key that is not a toggle closes it (the real tool's config_mode
// lasts for one keystroke: the next key redraws the status).
func (c *consoleState) key(k byte) {
	c.help = false
	switch k {
	case 'm':
		c.fence++
		if c.fence > 3 {
			c.fence = 0
		}
		c.setFencing(c.fence)
	case 'c':
		c.secs ^= SecTickets
	case 'f':
		c.secs ^= SecFailcounts
	case 'n':
		c.show ^= ShowByNode
	case 'o':
		c.secs ^= SecOperations
		if c.secs&SecOperations == 0 {
			c.show &^= ShowTiming
		}
	case 'r':
		c.show ^= ShowInactive
	case 'R':
		c.show ^= ShowDetails
	case 't':
		c.show ^= ShowTiming
		if c.show&ShowTiming != 0 {
			c.secs |= SecOperations
		}
	case 'A':
		c.secs ^= SecAttributes
	case 'L':
		c.secs ^= SecBans
	case 'D':
		// any header shown: hide them all, else show them all; options
		// are never shown in console mode
		if c.secs&SecSummary != 0 {
			c.secs &^= SecSummary
		} else {
			c.secs |= SecSummary
		}
		c.secs &^= SecOptions
	case 'b':
		c.show ^= ShowBrief
	case 'j':
		c.show ^= ShowPending
	case '?':
		c.help = true
	}
}

// optionDesc is get_option_desc: the --help text of the display option
// with that short name.
var optionDesc = map[byte]string{
	'c': "Display cluster tickets",
	'f': "Display resource fail counts",
	'n': "Group resources by node",
	'o': "Display resource operation history",
	'r': "Display inactive resources",
	't': "Display resource operation history with timing details",
	'A': "Display node attributes",
	'L': "Display negative location constraints [optionally filtered by id prefix]",
	'D': "Hide all headers",
	'R': "Show more details (node IDs, individual clone instances)",
	'b': "Brief output",
	'j': "Display pending state if 'record-pending' is enabled", // a hidden display option
	'm': "Show fence history:\n0=off, 1=failures and pending (default without option),\n2=add successes (default without value for option),\n3=show full history without reduction to most recent of each flavor",
}

// helpText is the "Display option change mode" screen.
func (c *consoleState) helpText() string {
	var b strings.Builder
	b.WriteString("Display option change mode\n")
	opt := func(k byte, set bool) {
		mark := byte(' ')
		if set {
			mark = '*'
		}
		fmt.Fprintf(&b, "%c %c: \t%s\n", mark, k, optionDesc[k])
	}
	opt('c', c.secs&SecTickets != 0)
	opt('f', c.secs&SecFailcounts != 0)
	opt('n', c.show&ShowByNode != 0)
	opt('o', c.secs&SecOperations != 0)
	opt('r', c.show&ShowInactive != 0)
	opt('t', c.show&ShowTiming != 0)
	opt('A', c.secs&SecAttributes != 0)
	opt('L', c.secs&SecBans != 0)
	opt('D', c.secs&SecSummary == 0)
	opt('R', c.show&ShowDetails != 0)
	opt('b', c.show&ShowBrief != 0)
	opt('j', c.show&ShowPending != 0)
	fmt.Fprintf(&b, "%d m: \t%s\n", c.fence, optionDesc['m'])
	b.WriteString("\nToggle fields via field letter, type any other key to return\n")
	return b.String()
}

// Screen control sequences: home + clear, as curses' clear() on a VT100.
const (
	ansiClear = "\x1b[H\x1b[2J"
)

// console is one running interactive crm_mon.
type console struct {
	st       *consoleState
	base     Options // filters and ban prefix from the command line
	fetch    func() (*etree.Document, error)
	now      func() time.Time
	out      io.Writer
	interval time.Duration
	last     *etree.Document
	lastErr  error
}

// screen renders the current frame as plain text (no escapes).
func (c *console) screen() string {
	if c.st.help {
		return c.st.helpText()
	}
	if c.lastErr != nil {
		return c.lastErr.Error() + "\n"
	}
	if c.last == nil {
		return "Waiting until cluster is available on this node ...\n"
	}
	var buf bytes.Buffer
	renderDoc(&buf, c.last, c.st.secs, c.st.show, c.base, c.now())
	return buf.String()
}

// draw writes one frame: clear, then the text with CR-LF line ends since
// the terminal is in raw mode.
func (c *console) draw() {
	text := strings.ReplaceAll(c.screen(), "\n", "\r\n")
	io.WriteString(c.out, ansiClear+text)
}

// refresh fetches the CIB again (mon_refresh_display).
func (c *console) refresh() {
	doc, err := c.fetch()
	if err != nil {
		c.lastErr = err
		return
	}
	c.last, c.lastErr = doc, nil
}

// consoleEvent is what wakes the console loop.
type consoleEvent int

const (
	evKey consoleEvent = iota
	evTick
	evCIBChanged
	evResize
	evStop
)

// run is the main loop: it redraws after every key, tick, CIB change or
// window resize until stop. keys carries raw bytes read from the terminal.
func (c *console) run(keys <-chan byte, changed <-chan struct{}, resize <-chan struct{}, stop <-chan struct{}, tick <-chan time.Time) {
	c.refresh()
	c.draw()
	for {
		select {
		case k, ok := <-keys:
			if !ok {
				keys = nil
				continue
			}
			c.st.key(k)
		case <-tick:
			c.refresh()
		case <-changed:
			c.refresh()
		case <-resize:
		case <-stop:
			return
		}
		c.draw()
	}
}

// renderDoc schedules a CIB for status and renders it as text, the same
// path the one-shot text output takes.
func renderDoc(w io.Writer, doc *etree.Document, secs, show uint32, base Options, now time.Time) {
	st, err := statusOf(doc, now)
	if err != nil {
		fmt.Fprintf(w, "%v\n", err)
		return
	}
	o := base
	o.Sections, o.Show = secs, show
	if o.OnlyNode == nil {
		o.OnlyNode = []string{"*"}
	}
	if o.OnlyRsc == nil {
		o.OnlyRsc = []string{"*"}
	}
	Render(w, "text", st, o, now, "", HTMLOptions{})
}

// statusOf is the scheduling step of the one-shot path.
func statusOf(doc *etree.Document, now time.Time) (*Status, error) {
	res, err := pengine.Schedule(doc.Copy(), now, pengine.Options{Now: now, StatusOnly: true})
	if err != nil {
		return nil, err
	}
	return Build(doc.Root(), res.View()), nil
}
