// Package pcmkout renders tool results the way Pacemaker's formatted output
// (lib/common/output_text.c, output_xml.c) lays them out, so that the tools
// built on it print byte-identical text and XML.
//
// Tools build a typed result first and then walk it with one of these
// writers; the writers know layout (indentation, list bullets, the
// <pacemaker-result> envelope), never the meaning of the data.
package pcmkout

import (
	"fmt"
	"io"
	"strings"
)

// APIVersion is PCMK__API_VERSION of Pacemaker 2.1.5.
const APIVersion = "2.25"

// Exit codes (crm_exit_t) used by the tools.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitInvalidParm = 2
	ExitUnimpl      = 3
	ExitUsage       = 64
	ExitDataErr     = 65
	ExitNoInput     = 66
	ExitUnavailable = 69
	ExitSoftware    = 70
	ExitCantCreate  = 73
	ExitNoSuch      = 105
	ExitNotFound    = 105
)

var exitText = map[int]string{
	0:   "OK",
	1:   "Error occurred",
	2:   "Invalid parameter",
	3:   "Unimplemented",
	4:   "Insufficient privileges",
	5:   "Not installed",
	6:   "Not configured",
	7:   "Not running",
	64:  "Incorrect usage",
	65:  "Invalid data given",
	66:  "Input file not available",
	67:  "User does not exist",
	68:  "Host does not exist",
	69:  "Necessary service unavailable",
	70:  "Internal software bug",
	71:  "Operating system error occurred",
	72:  "System file not available",
	73:  "Cannot create output file",
	74:  "I/O error occurred",
	75:  "Temporary failure, try again",
	76:  "Protocol violated",
	77:  "Insufficient privileges",
	78:  "Invalid configuration",
	100: "Fatal error occurred, will not respawn",
	101: "System panic required",
	102: "Not connected",
	103: "Update was older than existing configuration",
	104: "Digest mismatch",
	105: "No such object",
	106: "Quorum required",
	107: "Operation not safe",
	108: "Requested item already exists",
	109: "Multiple items match request",
	110: "Requested item has expired",
	111: "Requested item is not yet in effect",
	112: "Could not determine status",
	113: "Not applicable under current conditions",
	124: "Timeout occurred",
	190: "Service is active but might fail soon",
	191: "Service is promoted but might fail soon",
	255: "Error occurred",
}

// ExitText is crm_exit_str.
func ExitText(code int) string {
	if s, ok := exitText[code]; ok {
		return s
	}
	if code > 128 && code < 255 {
		return "Interrupted by signal"
	}
	return "Unknown exit status"
}

// Text is the "text" format. With text-fancy on (crm_mon always, some
// crm_resource commands), list headers and items are indented two spaces per
// enclosing list and bulleted with "* " once inside a list.
type Text struct {
	W io.Writer
	// Fancy is --text-fancy: without it list headers are not printed and
	// items are neither indented nor bulleted.
	Fancy bool
	depth int
	lens  []int
}

func (t *Text) indent() {
	if !t.Fancy {
		return
	}
	for i := 0; i < t.depth; i++ {
		io.WriteString(t.W, "  ")
	}
	if t.depth > 0 {
		io.WriteString(t.W, "* ")
	}
}

// BeginList opens a list; a non-empty header is printed at the current
// level (an empty one only indents what follows, as begin_list(NULL) does).
func (t *Text) BeginList(header string) {
	if header != "" && t.Fancy {
		t.indent()
		io.WriteString(t.W, header+":\n")
	}
	t.depth++
	t.lens = append(t.lens, 0)
}

// Item prints one list item at the current level.
func (t *Text) Item(format string, args ...any) {
	t.indent()
	fmt.Fprintf(t.W, format, args...)
	io.WriteString(t.W, "\n")
	if n := len(t.lens); n > 0 {
		t.lens[n-1]++
	}
}

// ItemID prints "id: text" as a list item (text_list_item with an id).
func (t *Text) ItemID(id, format string, args ...any) {
	if !t.Fancy || id == "" {
		t.Item(format, args...)
		return
	}
	t.Item("%s: %s", id, fmt.Sprintf(format, args...))
}

// EndList closes the innermost list.
func (t *Text) EndList() {
	if t.depth > 0 {
		t.depth--
		t.lens = t.lens[:len(t.lens)-1]
	}
}

// Printf writes at the current indentation without a bullet.
func (t *Text) Printf(format string, args ...any) {
	fmt.Fprintf(t.W, format, args...)
}

// Node is one element of an XML result, serialised as libxml2's
// xmlNodeDump with formatting does it.
type Node struct {
	Name     string
	Attrs    [][2]string
	Text     string
	Children []*Node
}

// NewNode makes an element with attribute pairs (name, value, ...).
func NewNode(name string, kv ...string) *Node {
	n := &Node{Name: name}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Attrs = append(n.Attrs, [2]string{kv[i], kv[i+1]})
	}
	return n
}

// Add appends a child and returns it.
func (n *Node) Add(c *Node) *Node { n.Children = append(n.Children, c); return c }

// AddNew appends a new child element and returns it.
func (n *Node) AddNew(name string, kv ...string) *Node { return n.Add(NewNode(name, kv...)) }

// Set adds or replaces an attribute.
func (n *Node) Set(k, v string) {
	for i := range n.Attrs {
		if n.Attrs[i][0] == k {
			n.Attrs[i][1] = v
			return
		}
	}
	n.Attrs = append(n.Attrs, [2]string{k, v})
}

// Write serialises n at the given depth.
func (n *Node) Write(b *strings.Builder, depth int) {
	pad := strings.Repeat("  ", depth)
	b.WriteString(pad + "<" + n.Name)
	for _, a := range n.Attrs {
		b.WriteString(" " + a[0] + "=\"" + EscapeAttr(a[1]) + "\"")
	}
	switch {
	case n.Text != "" && len(n.Children) == 0:
		b.WriteString(">" + EscapeText(n.Text) + "</" + n.Name + ">\n")
	case len(n.Children) == 0:
		b.WriteString("/>\n")
	default:
		b.WriteString(">\n")
		for _, c := range n.Children {
			c.Write(b, depth+1)
		}
		b.WriteString(pad + "</" + n.Name + ">\n")
	}
}

// Result writes the <pacemaker-result> envelope around body with the
// closing <status>, as output_xml.c's finish does.
func Result(w io.Writer, request string, body []*Node, code int, errs []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "<pacemaker-result api-version=\"%s\" request=\"%s\">\n", APIVersion, EscapeAttr(request))
	for _, n := range body {
		n.Write(&b, 1)
	}
	st := NewNode("status", "code", fmt.Sprint(code), "message", ExitText(code))
	if len(errs) > 0 {
		e := st.AddNew("errors")
		for _, m := range errs {
			e.AddNew("error").Text = m
		}
	}
	st.Write(&b, 1)
	b.WriteString("</pacemaker-result>\n")
	io.WriteString(w, b.String())
}

// EscapeAttr escapes as libxml2 serialises attribute values.
func EscapeAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
		"\n", "&#10;", "\r", "&#13;", "\t", "&#9;").Replace(s)
}

// EscapeText escapes element text as libxml2 does.
func EscapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;").Replace(s)
}

// QuoteCmdline joins argv as pcmk__quote_cmdline does.
func QuoteCmdline(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if strings.Contains(a, " ") {
			parts[i] = "'" + strings.ReplaceAll(a, "'", `\'`) + "'"
		} else {
			parts[i] = a
		}
	}
	return strings.Join(parts, " ")
}

// ReadableScore is pcmk_readable_score.
func ReadableScore(s int) string {
	switch {
	case s >= 1000000:
		return "INFINITY"
	case s <= -1000000:
		return "-INFINITY"
	}
	return fmt.Sprint(s)
}

// StderrLogging reports whether a command-line tool logs to stderr: with
// -V, or when PCMK_stderr holds a true value as crm_is_true reads it.
func StderrLogging(verbose int, pcmkStderr string) bool {
	if verbose > 0 {
		return true
	}
	switch strings.ToLower(pcmkStderr) {
	case "1", "yes", "y", "true", "on":
		return true
	}
	return false
}
