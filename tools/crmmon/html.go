package crmmon

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"ringmaster/pengine"
	"ringmaster/tools/pcmkout"
)

// The html format (lib/common/output_html.c): the same lists as text, as
// <h2>/<h3> headings over <ul> lists, serialised the way libxml2's HTML
// writer formats a document.

const htmlStyle = `.bold { font-weight: bold }
.online { color: green }
.offline { color: red }
.maint { color: blue }
.standby { color: blue }
.health_red { color: red }
.health_yellow { color: GoldenRod }
.rsc-failed { color: red }
.rsc-failure-ignored { color: DarkGreen }
.rsc-managed { color: blue }
.rsc-multiple { color: orange }
.rsc-ok { color: green }
.warning { color: red; font-weight: bold }`

// htmlList builds the body tree; stack[0] is <body>.
type htmlList struct {
	stack []*pcmkout.Node
}

func (h *htmlList) top() *pcmkout.Node { return h.stack[len(h.stack)-1] }

// BeginList is html_begin_list: a nested list sits in its own <li> under
// an <h3>; a top-level one under an <h2>.
func (h *htmlList) BeginList(header string) {
	nested := len(h.stack) > 1
	if nested {
		h.stack = append(h.stack, h.top().AddNew("li"))
	}
	if header != "" {
		tag := "h2"
		if nested {
			tag = "h3"
		}
		h.top().AddNew(tag).Text = header
	}
	h.stack = append(h.stack, h.top().AddNew("ul"))
}

func (h *htmlList) Item(format string, args ...any) {
	h.top().AddNew("li").Text = fmt.Sprintf(format, args...)
}

func (h *htmlList) ItemID(id, format string, args ...any) {
	li := h.top().AddNew("li", "class", id)
	li.Text = fmt.Sprintf(format, args...)
}

func (h *htmlList) EndList() {
	h.stack = h.stack[:len(h.stack)-1] // the <ul>
	if len(h.stack) > 1 && h.top().Name == "li" {
		h.stack = h.stack[:len(h.stack)-1]
	}
}

func (h *htmlList) Printf(string, ...any) {}

// spans adds an <li> of <span class=...> children (class "" = none).
func (h *htmlList) spans(_ any, parts ...[2]string) {
	addSpans(h.top().AddNew("li"), parts...)
}

// spanItems is a list writer whose items are <li><span>text</span></li>,
// as cluster_counts_html writes them.
func (h *htmlList) spanItems() listOut { return spanLister{h} }

type spanLister struct{ *htmlList }

func (s spanLister) Item(format string, args ...any) {
	s.spans(nil, [2]string{"", fmt.Sprintf(format, args...)})
}

func htmlNodeStatus(n *pengine.NodeView, show uint32) [][2]string {
	var out [][2]string
	if n.Online {
		out = append(out, [2]string{"online", " online"})
	} else {
		out = append(out, [2]string{"offline", " OFFLINE"})
	}
	switch {
	case n.StandbyOnFail && len(n.Running) > 0:
		out = append(out, [2]string{"standby", " (in standby due to on-fail, with active resources)"})
	case n.StandbyOnFail:
		out = append(out, [2]string{"standby", " (in standby due to on-fail)"})
	case n.Standby && len(n.Running) > 0:
		out = append(out, [2]string{"standby", " (in standby, with active resources)"})
	case n.Standby:
		out = append(out, [2]string{"standby", " (in standby)"})
	}
	if n.Maintenance {
		out = append(out, [2]string{"maint", " (in maintenance mode)"})
	}
	if has(show, ShowFeatureSet) {
		if fs := featureSet(n); fs != "" {
			out = append(out, [2]string{"", ", feature set " + fs})
		}
	}
	return out
}

// htmlRscClass is pe__common_output_html's choice of class.
func htmlRscClass(x *pengine.RscView) string {
	switch {
	case !x.Managed:
		return "rsc-managed"
	case x.Failed, len(x.RunningOn) == 0:
		return "rsc-failed"
	case len(x.RunningOn) > 1:
		return "rsc-multiple"
	case x.FailureIgnored:
		return "rsc-failure-ignored"
	}
	return "rsc-ok"
}

var inlineHTML = map[string]bool{"span": true, "a": true, "b": true, "i": true, "em": true, "strong": true}

// writeHTML follows libxml2's htmlNodeDumpFormatOutput: a block element
// breaks the line after its start tag and before its end tag only when it
// has several children and does not start (or end) with text, and after
// its end tag when a sibling element follows.
func writeHTML(b *strings.Builder, n *pcmkout.Node, hasNext bool) {
	b.WriteString("<" + n.Name)
	for _, a := range n.Attrs {
		b.WriteString(" " + a[0] + "=\"" + pcmkout.EscapeAttr(a[1]) + "\"")
	}
	b.WriteString(">")
	block := !inlineHTML[n.Name]
	kids := len(n.Children)
	if n.Text != "" {
		b.WriteString(htmlEscape(n.Text))
	} else {
		if block && kids > 1 && n.Name[0] != 'p' {
			b.WriteString("\n")
		}
		for i, c := range n.Children {
			writeHTML(b, c, i+1 < kids)
		}
		if block && kids > 1 && n.Name[0] != 'p' {
			b.WriteString("\n")
		}
	}
	b.WriteString("</" + n.Name + ">")
	if block && hasNext {
		b.WriteString("\n")
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func renderHTML(w io.Writer, s *Status, o Options, now time.Time, h HTMLOptions) {
	body := pcmkout.NewNode("body")
	hl := &htmlList{stack: []*pcmkout.Node{body}}
	r := &textRenderer{t: hl, html: hl, s: s, o: o, now: now}
	r.render()
	title := h.Title
	if title == "" {
		title = "Cluster Status"
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n")
	b.WriteString("<title>" + htmlEscape(title) + "</title>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<style>" + htmlStyle + "</style>\n")
	if h.Stylesheet != "" {
		b.WriteString("<link rel=\"stylesheet\" type=\"text/css\" href=\"" + pcmkout.EscapeAttr(h.Stylesheet) + "\">\n")
	}
	b.WriteString("</head>\n")
	writeHTML(&b, body, false)
	b.WriteString("\n</html>\n")
	io.WriteString(w, b.String())
}

// countsSpans is cluster_counts_html's resource line when some instances
// are disabled or blocked: the words DISABLED and BLOCKED sit in their own
// bold spans between plain ones.
func (h *htmlList) countsSpans(n, disabled, blocked int) {
	head := fmt.Sprintf("%d resource instance%s configured (", n, plural(n))
	switch {
	case disabled > 0 && blocked > 0:
		h.spans(nil, [2]string{"", fmt.Sprintf("%s%d ", head, disabled)}, [2]string{"bold", "DISABLED"},
			[2]string{"", fmt.Sprintf(", %d ", blocked)}, [2]string{"bold", "BLOCKED"},
			[2]string{"", " from further action due to failure)"})
	case disabled > 0:
		h.spans(nil, [2]string{"", fmt.Sprintf("%s%d ", head, disabled)}, [2]string{"bold", "DISABLED"}, [2]string{"", ")"})
	default:
		h.spans(nil, [2]string{"", fmt.Sprintf("%s%d ", head, blocked)}, [2]string{"bold", "BLOCKED"},
			[2]string{"", " from further action due to failure)"})
	}
}

// clusterOptions is cluster_options_html: plain items, with the
// resource-management state in spans when it is not enabled.
func (h *htmlList) clusterOptions(v *pengine.ClusterView) {
	if v.StonithEnabled {
		h.Item("STONITH of failed nodes enabled")
	} else {
		h.Item("STONITH of failed nodes disabled")
	}
	if v.Symmetric {
		h.Item("Cluster is symmetric")
	} else {
		h.Item("Cluster is asymmetric")
	}
	switch v.NoQuorumPolicy {
	case "freeze":
		h.Item("No quorum policy: Freeze resources")
	case "stop":
		h.Item("No quorum policy: Stop ALL resources")
	case "demote":
		h.Item("No quorum policy: Demote promotable resources and stop all other resources")
	case "ignore":
		h.Item("No quorum policy: Ignore")
	case "suicide":
		h.Item("No quorum policy: Suicide")
	}
	switch {
	case v.Maintenance:
		h.spans(nil, [2]string{"", "Resource management: "}, [2]string{"bold", "DISABLED"},
			[2]string{"", " (the cluster will not attempt to start, stop, or recover services)"})
	case v.StopAll:
		h.spans(nil, [2]string{"", "Resource management: "}, [2]string{"bold", "STOPPED"},
			[2]string{"", " (the cluster will keep all resources stopped)"})
	default:
		h.Item("Resource management: enabled")
	}
}

// nodeHeader is the "node" message with full=false: node_text's
// "Node: NAME" list header, node_html's "NAME:".
func (r *textRenderer) nodeHeader(n *pengine.NodeView) string {
	if r.html != nil {
		return r.nodeName(n) + ":"
	}
	return "Node: " + r.nodeName(n)
}

// pushItem opens an <li> that later output goes into, as
// pcmk__output_xml_create_parent does; popItem closes it.
func (h *htmlList) pushItem() *pcmkout.Node {
	li := h.top().AddNew("li")
	h.stack = append(h.stack, li)
	return li
}

func (h *htmlList) popItem() { h.stack = h.stack[:len(h.stack)-1] }

func addSpans(parent *pcmkout.Node, parts ...[2]string) {
	for _, p := range parts {
		var sp *pcmkout.Node
		if p[0] != "" {
			sp = parent.AddNew("span", "class", p[0])
		} else {
			sp = parent.AddNew("span")
		}
		sp.Text = p[1]
	}
}

// nodeByNode is node_html with full=true under --group-by-node: a "NAME:"
// list holding one item with the status spans, and inside that item the
// node's resources. Unlike the text format, the Resources list is opened
// only when the node runs something.
func (h *htmlList) nodeByNode(r *textRenderer, n *pengine.NodeView) {
	h.BeginList(r.nodeName(n) + ":")
	li := h.pushItem()
	addSpans(li, append([][2]string{{"", "Status:"}}, htmlNodeStatus(n, r.o.Show)...)...)
	if has(r.o.Show, ShowBrief) {
		if rscs := r.briefRunning(n); len(rscs) > 0 {
			h.BeginList("Resources")
			r.brief(rscs, (r.o.Show|ShowRscOnly)&^ShowInactive)
			h.EndList()
		}
	} else if rscs := runningRscs(n); len(rscs) > 0 {
		h.BeginList("Resources")
		show := r.o.Show | ShowRscOnly
		for _, x := range rscs {
			r.resource(x, show, r.o.OnlyNode, r.o.OnlyRsc)
		}
		h.EndList()
	}
	h.popItem()
	h.EndList()
}

// nodeAttribute is node_attribute_html: a plain "NAME: VALUE" item, or for
// an attribute a running ping resource sets, the pair in a span followed by
// a bold note when connectivity is lost or degraded (the degraded note
// lacks its closing parenthesis in Pacemaker 2.1.5, and so here).
func (h *htmlList) nodeAttribute(name, val string, expected int, extra bool) {
	if !extra {
		h.Item("%s: %s", name, val)
		return
	}
	li := h.top().AddNew("li")
	addSpans(li, [2]string{"", name + ": " + val})
	v, err := strconv.Atoi(val)
	if err != nil {
		v = 0
	}
	switch {
	case v <= 0:
		addSpans(li, [2]string{"bold", "(connectivity is lost)"})
	case v < expected:
		addSpans(li, [2]string{"bold", fmt.Sprintf("(connectivity is degraded -- expected %d", expected)})
	}
}
