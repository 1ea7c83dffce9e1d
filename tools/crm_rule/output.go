package crmrule

import (
	"fmt"
	"io"
	"strings"
)

// Exit codes (crm_exit_t) and their messages (crm_exit_str).
const (
	ExitOK             = 0
	ExitError          = 1
	ExitUnimplemented  = 3
	ExitUsage          = 64
	ExitDataErr        = 65
	ExitNoInput        = 66
	ExitOSErr          = 71
	ExitNoSuch         = 105
	ExitMultiple       = 109
	ExitExpired        = 110
	ExitNotYetInEffect = 111
	ExitIndeterminate  = 112
	ExitUnsatisfied    = 113
)

var exitText = map[int]string{
	ExitOK:             "OK",
	ExitError:          "Error occurred",
	ExitUnimplemented:  "Unimplemented",
	ExitUsage:          "Incorrect usage",
	ExitDataErr:        "Invalid data given",
	ExitNoInput:        "Input file not available",
	ExitOSErr:          "Operating system error occurred",
	ExitNoSuch:         "No such object",
	ExitMultiple:       "Multiple items match request",
	ExitExpired:        "Requested item has expired",
	ExitNotYetInEffect: "Requested item is not yet in effect",
	ExitIndeterminate:  "Could not determine status",
	ExitUnsatisfied:    "Not applicable under current conditions",
}

// ExitText is crm_exit_str for the codes crm_rule can end with.
func ExitText(code int) string {
	if s, ok := exitText[code]; ok {
		return s
	}
	return "Unknown exit status"
}

// apiVersion is PCMK__API_VERSION of Pacemaker 2.1.5.
const apiVersion = "2.25"

// Output is one of crm_rule's output formats (pcmk__output_t): results
// and errors go in, finish writes what is left.
type Output interface {
	RuleCheck(r Result)
	Err(msg string)
	Version()
	Finish(exitCode int)
}

type textOutput struct {
	dest, stderr io.Writer
}

// NewText is the text format: answers on dest, errors on stderr.
func NewText(dest, stderr io.Writer) Output { return &textOutput{dest, stderr} }

func (o *textOutput) RuleCheck(r Result) {
	switch r.Outcome {
	case InEffect:
		fmt.Fprintf(o.dest, "Rule %s is still in effect\n", r.RuleID)
	case Satisfied:
		fmt.Fprintf(o.dest, "Rule %s satisfies conditions\n", r.RuleID)
	case Expired:
		fmt.Fprintf(o.dest, "Rule %s is expired\n", r.RuleID)
	case NotYet:
		fmt.Fprintf(o.dest, "Rule %s has not yet taken effect\n", r.RuleID)
	case Unsatisfied:
		fmt.Fprintf(o.dest, "Rule %s does not satisfy conditions\n", r.RuleID)
	default:
		o.Err(checkError(r))
	}
}

func checkError(r Result) string {
	e := r.Error
	if e == "" {
		e = "unexpected error"
	}
	return fmt.Sprintf("Could not determine whether rule %s is in effect: %s", r.RuleID, e)
}

func (o *textOutput) Err(msg string) { fmt.Fprintf(o.stderr, "%s\n", msg) }

func (o *textOutput) Version() {
	io.WriteString(o.dest, "Pacemaker 2.1.5\nWritten by Andrew Beekhof and the Pacemaker project contributors\n")
}

func (o *textOutput) Finish(int) {}

type xmlOutput struct {
	dest    io.Writer
	request string
	body    strings.Builder
	errors  []string
}

// NewXML is the xml format; request is the command line as
// pcmk__quote_cmdline renders it.
func NewXML(dest io.Writer, request string) Output { return &xmlOutput{dest: dest, request: request} }

func (o *xmlOutput) RuleCheck(r Result) {
	fmt.Fprintf(&o.body, "  <rule-check rule-id=\"%s\" rc=\"%d\"/>\n", escapeAttr(r.RuleID), r.Outcome.ExitCode())
	switch r.Outcome {
	case InEffect, Satisfied, Expired, NotYet, Unsatisfied:
	default:
		o.Err(checkError(r))
	}
}

func (o *xmlOutput) Err(msg string) { o.errors = append(o.errors, msg) }

func (o *xmlOutput) Version() {
	o.body.WriteString(`  <version program="Pacemaker" version="2.1.5" author="Andrew Beekhof and the Pacemaker project contributors" build="a3f44794f94" features="agent-manpages cibsecrets corosync-ge-2 generated-manpages lha monotonic nagios ncurses remote systemd"/>` + "\n")
}

func (o *xmlOutput) Finish(code int) {
	var b strings.Builder
	fmt.Fprintf(&b, "<pacemaker-result api-version=\"%s\" request=\"%s\">\n", apiVersion, escapeAttr(o.request))
	b.WriteString(o.body.String())
	if len(o.errors) == 0 {
		fmt.Fprintf(&b, "  <status code=\"%d\" message=\"%s\"/>\n", code, escapeAttr(ExitText(code)))
	} else {
		fmt.Fprintf(&b, "  <status code=\"%d\" message=\"%s\">\n    <errors>\n", code, escapeAttr(ExitText(code)))
		for _, e := range o.errors {
			fmt.Fprintf(&b, "      <error>%s</error>\n", escapeText(e))
		}
		b.WriteString("    </errors>\n  </status>\n")
	}
	b.WriteString("</pacemaker-result>\n")
	io.WriteString(o.dest, b.String())
}

// escapeAttr and escapeText escape as libxml2 serialises attribute values
// and text.
func escapeAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
		"\n", "&#10;", "\r", "&#13;", "\t", "&#9;").Replace(s)
}

func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;").Replace(s)
}

// QuoteCmdline joins argv as pcmk__quote_cmdline does: an argument with a
// space is single-quoted, its own single quotes backslash-escaped.
func QuoteCmdline(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		switch {
		case !strings.Contains(a, " "):
			parts[i] = a
		default:
			parts[i] = "'" + strings.ReplaceAll(a, "'", `\'`) + "'"
		}
	}
	return strings.Join(parts, " ")
}
