package crmattribute

import (
	"fmt"
	"io"

	"ringmaster/tools/pcmkout"
)

// AttrValue is one "attribute" message (pcmk_output.c attribute_*):
// Value is nil when the nvpair has no value.
type AttrValue struct {
	Scope, ID, Name, Host string
	Value                 *string
}

// writer renders the events of one run in one format.
type writer interface {
	attribute(a AttrValue)
	info(format string, args ...any)
	err(format string, args ...any)
	version()
	finish(code int, errMsg string)
}

// textWriter is output_text.c: info lines on stdout (silenced by
// --quiet), errors on stderr, attributes as crm_attribute's own text
// formatter prints them.
type textWriter struct {
	out, stderr io.Writer
	prog        string
	quiet       bool
}

func (w *textWriter) attribute(a AttrValue) {
	if w.quiet {
		if a.Value != nil {
			fmt.Fprintf(w.out, "%s\n", *a.Value)
		}
		return
	}
	pre := func(k, v string) string {
		if v == "" {
			return ""
		}
		return k + v
	}
	val := "(null)"
	if a.Value != nil {
		val = *a.Value
	}
	w.info("%s %s %s value=%s", pre("scope=", a.Scope), pre("id=", a.ID), pre("name=", a.Name), val)
}

func (w *textWriter) info(format string, args ...any) {
	if !w.quiet {
		fmt.Fprintf(w.out, format+"\n", args...)
	}
}

func (w *textWriter) err(format string, args ...any) {
	fmt.Fprintf(w.stderr, format+"\n", args...)
}

func (w *textWriter) version() {
	fmt.Fprint(w.out, "Pacemaker 2.1.5\nWritten by Andrew Beekhof and the Pacemaker project contributors\n")
}

func (w *textWriter) finish(code int, errMsg string) {
	if errMsg != "" {
		fmt.Fprintf(w.stderr, "%s: %s\n", w.prog, errMsg)
	}
}

// xmlWriter is output_xml.c: attributes as <attribute> elements, info
// dropped, errors collected into the closing <status>.
type xmlWriter struct {
	out     io.Writer
	prog    string
	request string
	body    []*pcmkout.Node
	errs    []string
}

func (w *xmlWriter) attribute(a AttrValue) {
	n := pcmkout.NewNode("attribute")
	if a.Name != "" {
		n.Set("name", a.Name)
	}
	v := ""
	if a.Value != nil {
		v = *a.Value
	}
	n.Set("value", v)
	if a.Scope != "" {
		n.Set("scope", a.Scope)
	}
	if a.ID != "" {
		n.Set("id", a.ID)
	}
	if a.Host != "" {
		n.Set("host", a.Host)
	}
	w.body = append(w.body, n)
}

func (w *xmlWriter) info(string, ...any) {}

func (w *xmlWriter) err(format string, args ...any) {
	w.errs = append(w.errs, fmt.Sprintf(format, args...))
}

func (w *xmlWriter) version() {
	w.body = append(w.body, pcmkout.NewNode("version", "program", "Pacemaker", "version", "2.1.5",
		"author", "Andrew Beekhof and the Pacemaker project contributors", "build", "a3f44794f94",
		"features", "agent-manpages cibsecrets corosync-ge-2 generated-manpages lha monotonic nagios ncurses remote systemd"))
}

func (w *xmlWriter) finish(code int, errMsg string) {
	errs := w.errs
	if errMsg != "" {
		errs = append(errs, w.prog+": "+errMsg)
	}
	pcmkout.Result(w.out, w.request, w.body, code, errs)
}
