package crmmon

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ringmaster/pengine"
)

// ctime is pcmk__epoch2str's layout.
const ctime = "Mon Jan _2 15:04:05 2006"

func epochStr(sec int64) string { return time.Unix(sec, 0).Local().Format(ctime) }

func has(bits, f uint32) bool { return bits&f != 0 }

// textRenderer writes the text format (pcmk__cluster_status_text).
type textRenderer struct {
	t    listOut
	html *htmlList // set when rendering html: a few messages differ there
	s    *Status
	o    Options
	now  time.Time
}

// listOut is what the text and html formats share: nested lists of items.
type listOut interface {
	BeginList(header string)
	Item(format string, args ...any)
	ItemID(id, format string, args ...any)
	EndList()
	Printf(format string, args ...any)
}

// lister follows PCMK__OUTPUT_LIST_HEADER / FOOTER: the header (with a
// spacer line before it when asked) is printed at the first item.
type lister struct {
	r      *textRenderer
	spacer bool
	title  string
	open   bool
}

func (l *lister) header() {
	if l.open {
		return
	}
	if l.spacer && l.r.html == nil {
		l.r.t.Printf("\n")
	}
	l.r.t.BeginList(l.title)
	l.open = true
}

func (l *lister) footer() bool {
	if l.open {
		l.r.t.EndList()
	}
	return l.open
}

func (r *textRenderer) nodeName(n *pengine.NodeView) string {
	return displayName(r.s, n, has(r.o.Show, ShowNodeID))
}

// displayName is pe__node_display_name.
func displayName(s *Status, n *pengine.NodeView, detail bool) string {
	name := n.Name
	if detail && n.Guest {
		name += "@"
		if n.GuestHost != nil {
			name += n.GuestHost.Name
		}
	}
	if detail && !strings.EqualFold(n.Name, n.ID) {
		name += " (" + n.ID + ")"
	}
	return name
}

func (r *textRenderer) render() {
	printed := false
	if r.summary() {
		printed = true
	}
	if has(r.o.Sections, SecNodes) && len(r.o.OnlyNode) > 0 {
		if r.nodeList(printed) {
			printed = true
		}
	}
	if has(r.o.Sections, SecResources) {
		if r.resourceList(printed) {
			printed = true
		}
	}
	if has(r.o.Sections, SecAttributes) {
		if r.nodeAttributes(printed) {
			printed = true
		}
	}
	if has(r.o.Sections, SecOperations|SecFailcounts) {
		if r.nodeSummary(printed) {
			printed = true
		}
	}
	if has(r.o.Sections, SecFailures) && len(r.s.Failed) > 0 {
		if r.failedActions(printed) {
			printed = true
		}
	}
	if has(r.o.Sections, SecBans) {
		if r.banList(printed) {
			printed = true
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (r *textRenderer) summary() bool {
	s, v := r.s, r.s.View
	l := &lister{r: r, title: "Cluster Summary"}
	t := r.t
	if has(r.o.Sections, SecStack) {
		l.header()
		if r.html != nil {
			r.html.spans(nil, [2]string{"bold", "Stack: "}, [2]string{"", s.Stack})
		} else {
			t.ItemID("Stack", "%s", s.Stack)
		}
	}
	if has(r.o.Sections, SecDC) {
		l.header()
		if v.DC != nil {
			ver := s.DCVersion
			if ver == "" {
				ver = "unknown"
			}
			mixed := ""
			if mixedVersion(v) {
				mixed = "MIXED-VERSION "
			}
			with := "WITHOUT"
			if isTrue(s.HaveQuorum) {
				with = "with"
			}
			if r.html != nil {
				sp := [][2]string{{"bold", "Current DC: "}, {"", fmt.Sprintf("%s (version %s) -", r.nodeName(v.DC), ver)}}
				if mixed != "" {
					sp = append(sp, [2]string{"warning", " MIXED-VERSION"})
				}
				sp = append(sp, [2]string{"", " partition"})
				if with == "with" {
					sp = append(sp, [2]string{"", " with"})
				} else {
					sp = append(sp, [2]string{"warning", " WITHOUT"})
				}
				sp = append(sp, [2]string{"", " quorum"})
				r.html.spans(nil, sp...)
			} else {
				t.ItemID("Current DC", "%s (version %s) - %spartition %s quorum", r.nodeName(v.DC), ver, mixed, with)
			}
		} else if r.html != nil {
			r.html.spans(nil, [2]string{"bold", "Current DC: "}, [2]string{"warning", "NONE"})
		} else {
			t.ItemID("Current DC", "NONE")
		}
	}
	if has(r.o.Sections, SecTimes) {
		l.header()
		if r.html != nil {
			r.html.spans(nil, [2]string{"bold", "Last updated: "}, [2]string{"", r.now.Local().Format(ctime)})
			r.html.spans(nil, [2]string{"bold", "Last change: "}, [2]string{"", lastChanged(s)})
		} else {
			t.ItemID("Last updated", "%s", r.now.Local().Format(ctime))
			t.ItemID("Last change", " %s", lastChanged(s))
		}
	}
	if has(r.o.Sections, SecCounts) {
		l.header()
		nn := len(v.Nodes)
		if r.html != nil {
			t = r.html.spanItems()
		}
		t.Item("%d node%s configured", nn, plural(nn))
		ni := s.NumInstances
		if r.html != nil && (s.Disabled > 0 || s.Blocked > 0) {
			r.html.countsSpans(ni, s.Disabled, s.Blocked)
		} else {
			switch {
			case s.Disabled > 0 && s.Blocked > 0:
				t.Item("%d resource instance%s configured (%d DISABLED, %d BLOCKED from further action due to failure)", ni, plural(ni), s.Disabled, s.Blocked)
			case s.Disabled > 0:
				t.Item("%d resource instance%s configured (%d DISABLED)", ni, plural(ni), s.Disabled)
			case s.Blocked > 0:
				t.Item("%d resource instance%s configured (%d BLOCKED from further action due to failure)", ni, plural(ni), s.Blocked)
			default:
				t.Item("%d resource instance%s configured", ni, plural(ni))
			}
		}
	}
	t = r.t
	if has(r.o.Sections, SecOptions) && r.html != nil {
		// cluster_summary_html closes the summary and puts the options in
		// a list of their own; the closing footer only ends that list when
		// the summary had printed something, so otherwise it stays open.
		if l.footer() {
			r.html.BeginList("Config Options")
			r.html.clusterOptions(v)
		} else {
			r.html.BeginList("Config Options")
			r.html.clusterOptions(v)
			l = &lister{r: r, title: "Cluster Summary"}
		}
	} else if has(r.o.Sections, SecOptions) {
		l.header()
		r.clusterOptions()
	}
	rc := l.footer()
	if has(r.o.Sections, SecMaintMode) && r.html == nil {
		if v.Maintenance {
			t.Printf("\n              *** Resource management is DISABLED ***\n")
			t.Printf("  The cluster will not attempt to start, stop or recover services\n")
			rc = true
		} else if v.StopAll {
			t.Printf("\n    *** Resource management is DISABLED ***\n")
			t.Printf("  The cluster will keep all resources stopped\n")
			rc = true
		}
	}
	return rc
}

func (r *textRenderer) clusterOptions() {
	v := r.s.View
	t := r.t
	if v.StonithEnabled {
		t.Item("STONITH of failed nodes enabled")
	} else {
		t.Item("STONITH of failed nodes disabled")
	}
	if v.Symmetric {
		t.Item("Cluster is symmetric")
	} else {
		t.Item("Cluster is asymmetric")
	}
	switch v.NoQuorumPolicy {
	case "freeze":
		t.ItemID("No quorum policy", "Freeze resources")
	case "stop":
		t.ItemID("No quorum policy", "Stop ALL resources")
	case "demote":
		t.ItemID("No quorum policy", "Demote promotable resources and stop all other resources")
	case "ignore":
		t.ItemID("No quorum policy", "Ignore")
	case "suicide":
		t.ItemID("No quorum policy", "Suicide")
	}
	if v.Maintenance {
		t.Item("Resource management: disabled (maintenance mode)")
	} else if v.StopAll {
		t.Item("Resource management: disabled (stop-all-resources)")
	} else {
		t.Item("Resource management: enabled")
	}
}

func lastChanged(s *Status) string {
	if s.LastWritten == "" && s.User == "" && s.Client == "" && s.Origin == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString(s.LastWritten)
	if s.User != "" {
		b.WriteString(" by " + s.User)
	}
	if s.Client != "" {
		b.WriteString(" via " + s.Client)
	}
	if s.Origin != "" {
		b.WriteString(" on " + s.Origin)
	}
	return b.String()
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// featureSet is get_node_feature_set.
func featureSet(n *pengine.NodeView) string {
	if !n.Online || n.Type == "remote" || n.Guest {
		return ""
	}
	if fs, ok := n.Attrs["#feature-set"]; ok {
		return fs
	}
	return "<3.15.1"
}

func mixedVersion(v *pengine.ClusterView) bool {
	first := ""
	for _, n := range v.Nodes {
		if fs := featureSet(n); fs != "" {
			if first == "" {
				first = fs
			} else if fs != first {
				return true
			}
		}
	}
	return false
}

// nodeTextStatus is node_text_status.
func nodeTextStatus(n *pengine.NodeView) string {
	switch {
	case n.Unclean:
		if n.Online {
			return "UNCLEAN (online)"
		} else if n.Pending {
			return "UNCLEAN (pending)"
		}
		return "UNCLEAN (offline)"
	case n.Pending:
		return "pending"
	case n.StandbyOnFail && n.Online:
		return "standby (on-fail)"
	case n.Standby:
		if n.Online {
			if len(n.Running) > 0 {
				return "standby (with active resources)"
			}
			return "standby"
		}
		return "OFFLINE (standby)"
	case n.Maintenance:
		if n.Online {
			return "maintenance"
		}
		return "OFFLINE (maintenance)"
	case n.Online:
		return "online"
	}
	return "OFFLINE"
}

func (r *textRenderer) nodeList(spacer bool) bool {
	l := &lister{r: r, spacer: spacer, title: "Node List"}
	var online, offline, onlineRemote, offlineRemote, onlineGuest []string
	for _, n := range r.s.View.Nodes {
		name := r.nodeName(n)
		if !inListFold(n.Name, r.o.OnlyNode) {
			continue
		}
		l.header()
		individual := n.Unclean || n.Pending || (n.StandbyOnFail && n.Online) || n.Standby ||
			n.Maintenance || has(r.o.Show, ShowByNode) || has(r.o.Show, ShowFeatureSet) ||
			r.html != nil // node_list_html lists every node on its own
		if !individual {
			if n.Online {
				switch nodeKind(n) {
				case "guest":
					onlineGuest = append(onlineGuest, name)
				case "remote":
					onlineRemote = append(onlineRemote, name)
				default:
					online = append(online, name)
				}
			} else {
				switch nodeKind(n) {
				case "remote":
					offlineRemote = append(offlineRemote, name)
				case "guest":
				default:
					offline = append(offline, name)
				}
			}
			continue
		}
		r.nodeFull(n)
	}
	for _, g := range []struct {
		id    string
		names []string
	}{{"Online", online}, {"OFFLINE", offline}, {"RemoteOnline", onlineRemote}, {"RemoteOFFLINE", offlineRemote}, {"GuestOnline", onlineGuest}} {
		if len(g.names) > 0 {
			r.t.ItemID(g.id, "[ %s ]", strings.Join(g.names, " "))
		}
	}
	return l.footer()
}

// nodeFull is the "node" message with full=true.
func (r *textRenderer) nodeFull(n *pengine.NodeView) {
	kind := "Node"
	switch nodeKind(n) {
	case "guest":
		kind = "GuestNode"
	case "remote":
		kind = "RemoteNode"
	}
	str := kind + " " + r.nodeName(n) + ": " + nodeTextStatus(n)
	if has(r.o.Show, ShowFeatureSet) {
		if fs := featureSet(n); fs != "" {
			str += ", feature set " + fs
		}
	}
	if !has(r.o.Show, ShowByNode) {
		if r.html != nil {
			r.html.spans(nil, append([][2]string{{"bold", r.nodeName(n) + ":"}}, htmlNodeStatus(n, r.o.Show)...)...)
			return
		}
		r.t.Item("%s", str)
		return
	}
	if r.html != nil {
		r.html.nodeByNode(r, n)
		return
	}
	if has(r.o.Show, ShowBrief) {
		if rscs := r.briefRunning(n); len(rscs) > 0 {
			r.t.BeginList(str)
			r.t.BeginList("Resources")
			r.brief(rscs, (r.o.Show|ShowRscOnly)&^ShowInactive)
			r.t.EndList()
			r.t.EndList()
		}
		return
	}
	r.t.BeginList(str)
	r.t.BeginList("Resources")
	show := r.o.Show | ShowRscOnly
	for _, x := range runningRscs(n) {
		r.resource(x, show, r.o.OnlyNode, r.o.OnlyRsc)
	}
	r.t.EndList()
	r.t.EndList()
}

func (r *textRenderer) resourceHeader(show uint32) {
	switch {
	case has(show, ShowByNode):
		r.t.BeginList("Inactive Resources")
	case has(show, ShowInactive):
		r.t.BeginList("Full List of Resources")
	default:
		r.t.BeginList("Active Resources")
	}
}

func (r *textRenderer) resourceList(spacer bool) bool {
	show := r.o.Show
	if has(show, ShowByNode) && !has(show, ShowInactive) {
		return false
	}
	printedHeader := false
	rc := false
	if has(show, ShowBrief) && !has(show, ShowByNode) {
		if spacer && r.html == nil {
			r.t.Printf("\n")
		}
		r.resourceHeader(show)
		printedHeader = true
		var rscs []*pengine.RscView
		for _, x := range r.s.View.Resources {
			if !isFiltered(x, r.o.OnlyRsc, true) {
				rscs = append(rscs, x)
			}
		}
		rc = r.brief(rscs, show)
	}
	for _, x := range r.s.View.Resources {
		isActive := active(x, true)
		partial := active(x, false)
		switch {
		case x.Orphan && !isActive:
			continue
		case has(show, ShowByNode):
			if isActive {
				continue
			}
		case has(show, ShowBrief) && x.Kind == "primitive":
			continue
		case !partial && !has(show, ShowInactive):
			continue
		case partial && !runningOnAny(x, r.o.OnlyNode):
			continue
		}
		if !printedHeader {
			if spacer && r.html == nil {
				r.t.Printf("\n")
			}
			r.resourceHeader(show)
			printedHeader = true
		}
		if r.resource(x, show, r.o.OnlyNode, r.o.OnlyRsc) {
			rc = true
		}
	}
	if !rc {
		if !printedHeader {
			if spacer && r.html == nil {
				r.t.Printf("\n")
			}
			r.resourceHeader(show)
			printedHeader = true
		}
		switch {
		case has(show, ShowByNode):
			r.t.Item("No inactive resources")
		case has(show, ShowInactive):
			r.t.Item("No resources")
		default:
			r.t.Item("No active resources")
		}
	}
	if printedHeader {
		r.t.EndList()
	}
	return rc || printedHeader
}

// resource dispatches on the variant (crm_map_element_name(rsc->xml)).
func (r *textRenderer) resource(x *pengine.RscView, show uint32, onlyNode, onlyRsc []string) bool {
	switch x.Kind {
	case "group":
		return r.group(x, show, onlyNode, onlyRsc)
	case "clone":
		return r.clone(x, show, onlyNode, onlyRsc)
	case "bundle":
		return r.bundle(x, show, onlyNode, onlyRsc)
	}
	return r.primitive(x, show, onlyNode, onlyRsc)
}

func (r *textRenderer) primitive(x *pengine.RscView, show uint32, onlyNode, onlyRsc []string) bool {
	if isFiltered(x, onlyRsc, true) {
		return false
	}
	var node *pengine.NodeView
	if len(x.RunningOn) > 0 {
		node = x.RunningOn[0]
	}
	if node == nil {
		node = x.PendingNode
	}
	if isTrue(x.Meta["internal_rsc"]) && !has(show, ShowImplicit) {
		return false
	}
	line := primitiveString(x, printableID(x), node, show, true)
	if displayableRole(x) == "Stopped" {
		name := ""
		if node != nil && !has(show, ShowRscOnly) && len(x.RunningOn) <= 1 {
			name = node.Name
		}
		if op := failedProbeFor(r.s, x, name); op != nil {
			line = insertProbe(line, x, node, show, op)
		}
	}
	if r.html != nil {
		r.html.spans(nil, [2]string{htmlRscClass(x), line})
		return true
	}
	r.t.Item("%s", line)
	return true
}

// displayableRole is native_displayable_role.
func displayableRole(x *pengine.RscView) string {
	if x.Role == "Started" && top(x).Promotable {
		return "Unpromoted"
	}
	return x.Role
}

func pendingState(x *pengine.RscView) string {
	switch x.PendingTask {
	case "start":
		return "Starting"
	case "stop":
		return "Stopping"
	case "migrate_to", "migrate_from":
		return "Migrating"
	case "promote":
		return "Promoting"
	case "demote":
		return "Demoting"
	}
	return ""
}

// hasProvider is pcmk_ra_cap_provider: only ocf agents have one.
func hasProvider(class string) bool { return strings.EqualFold(class, "ocf") }

func agentOf(x *pengine.RscView) string {
	class := attr(x.XML, "class")
	kind := attr(x.XML, "type")
	if class == "" {
		class = x.Class
	}
	if kind == "" {
		kind = x.Type
	}
	if class == "" {
		class = "unknown"
	}
	if kind == "" {
		kind = "unknown"
	}
	if hasProvider(class) {
		prov := attr(x.XML, "provider")
		if prov == "" {
			prov = x.Provider
		}
		return class + ":" + prov + ":" + kind
	}
	return class + ":" + kind
}

// primitiveString is pcmk__native_output_string.
func primitiveString(x *pengine.RscView, name string, node *pengine.NodeView, show uint32, showNodes bool) string {
	multiple := len(x.RunningOn) > 1
	if has(show, ShowRscOnly) || multiple {
		node = nil
	}
	var b strings.Builder
	b.WriteString(name + "\t(" + agentOf(x) + "):\t")
	addWord := func(w string) {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(w)
	}
	if x.Orphan {
		b.WriteString(" ORPHANED")
	}
	if x.Failed {
		b.WriteString(" FAILED")
		if role := displayableRole(x); roleRank(role) > roleRank("Unpromoted") {
			addWord(role)
		}
	} else {
		st := ""
		if has(show, ShowPending) {
			st = pendingState(x)
		}
		if st == "" {
			st = displayableRole(x)
		}
		addWord(st)
	}
	if node != nil {
		addWord(node.Name)
	}
	flags := []string{}
	if node != nil && !node.Online && node.Unclean {
		flags = append(flags, "UNCLEAN")
	}
	if has(show, ShowPending) && x.PendingTask == "monitor" {
		flags = append(flags, "Monitoring")
	}
	if tr, ok := x.Meta["target-role"]; ok {
		switch strings.ToLower(tr) {
		case "stopped":
			flags = append(flags, "disabled")
		case "unpromoted", "slave":
			if top(x).Promotable {
				flags = append(flags, "target-role:"+tr)
			}
		}
	}
	if x.Blocked {
		flags = append(flags, "blocked")
	} else if !x.Managed {
		flags = append(flags, "unmanaged")
	}
	if x.FailureIgnored {
		flags = append(flags, "failure ignored")
	}
	if len(flags) > 0 {
		b.WriteString(" (" + strings.Join(flags, ", ") + ")")
	}
	if has(show, ShowRscOnly) || multiple {
		if d := attr(x.XML, "description"); d != "" {
			addWord(d)
		}
	}
	if showNodes && !has(show, ShowRscOnly) && multiple {
		b.WriteString(" [")
		for _, n := range x.RunningOn {
			b.WriteString(" " + n.Name)
		}
		b.WriteString(" ]")
	}
	return b.String()
}

func (r *textRenderer) group(x *pengine.RscView, show uint32, onlyNode, onlyRsc []string) bool {
	parentPasses := inList(printableID(x), onlyRsc) || (strings.Contains(x.ID, ":") && inList(x.ID, onlyRsc))
	isActive := active(x, true)
	partial := active(x, false)
	if isFiltered(x, onlyRsc, true) {
		return false
	}
	inactive := 0
	if !isActive && partial {
		for _, c := range x.Children {
			if !active(c, true) {
				inactive++
			}
		}
	}
	opened := false
	header := func() {
		if opened {
			return
		}
		opened = true
		var attrs []string
		if inactive > 0 && !has(show, ShowInactive) {
			attrs = append(attrs, fmt.Sprintf("%d member%s inactive", inactive, plural(inactive)))
		}
		if !x.Managed {
			attrs = append(attrs, "unmanaged")
		}
		if isDisabled(x) {
			attrs = append(attrs, "disabled")
		}
		if len(attrs) > 0 {
			r.t.BeginList(fmt.Sprintf("Resource Group: %s (%s)", x.ID, strings.Join(attrs, ", ")))
		} else {
			r.t.BeginList("Resource Group: " + x.ID)
		}
	}
	if has(show, ShowBrief) {
		var rscs []*pengine.RscView
		for _, c := range x.Children {
			if !isFiltered(c, onlyRsc, true) {
				rscs = append(rscs, c)
			}
		}
		if len(rscs) > 0 {
			header()
			r.brief(rscs, show|ShowInactive)
		}
	} else {
		star := len(onlyRsc) == 1 && onlyRsc[0] == "*"
		for _, c := range x.Children {
			cf := isFiltered(c, onlyRsc, false)
			ca := active(c, false)
			si := has(show, ShowInactive)
			skip := true
			switch {
			case !star && !cf:
				skip = false
			case !cf && (ca || si):
				skip = false
			case parentPasses && (ca || si):
				skip = false
			}
			if skip {
				continue
			}
			header()
			r.resource(c, show, onlyNode, onlyRsc)
		}
	}
	if opened {
		r.t.EndList()
	}
	return opened
}

func (r *textRenderer) clone(x *pengine.RscView, show uint32, onlyNode, onlyRsc []string) bool {
	if isFiltered(x, onlyRsc, true) {
		return false
	}
	printEverything := inList(printableID(x), onlyRsc) || (strings.Contains(x.ID, ":") && inList(x.ID, onlyRsc))
	opened := false
	header := func() {
		if opened {
			return
		}
		opened = true
		var attrs []string
		if x.Promotable {
			attrs = append(attrs, "promotable")
		}
		if x.Unique {
			attrs = append(attrs, "unique")
		}
		if !x.Managed {
			attrs = append(attrs, "unmanaged")
		}
		if isDisabled(x) {
			attrs = append(attrs, "disabled")
		}
		child := ""
		if len(x.Children) > 0 {
			child = x.Children[0].XMLID
		}
		if len(attrs) > 0 {
			r.t.BeginList(fmt.Sprintf("Clone Set: %s [%s] (%s)", x.ID, child, strings.Join(attrs, ", ")))
		} else {
			r.t.BeginList(fmt.Sprintf("Clone Set: %s [%s]", x.ID, child))
		}
	}
	var promoted, started []*pengine.NodeView
	stopped := map[string]string{}
	for _, c := range x.Children {
		printFull := false
		partial := active(c, false)
		if filteredByNode(c, onlyNode) {
			continue
		}
		if isFiltered(c, onlyRsc, printEverything) {
			continue
		}
		if has(show, ShowCloneDetail) {
			printFull = true
		}
		switch {
		case x.Unique:
			if partial || !x.Orphan {
				printFull = true
			}
		case has(show, ShowPending) && c.PendingTask != "" && c.PendingTask != "probe":
			printFull = true
		case !partial:
			if !c.Orphan && !has(show, ShowCloneDetail) && has(show, ShowInactive) {
				stopped[c.ID] = "Stopped"
			}
		case anySet(c, func(p *pengine.RscView) bool { return p.Orphan }, true) ||
			!anySet(c, func(p *pengine.RscView) bool { return p.Managed }, false) ||
			anySet(c, func(p *pengine.RscView) bool { return p.Failed }, true):
			printFull = true
		case active(c, true):
			loc := location(c)
			if loc != nil {
				if !loc.Online && loc.Unclean {
					printFull = true
				} else if roleRank(state(c)) > roleRank("Unpromoted") {
					promoted = append(promoted, loc)
				} else {
					started = append(started, loc)
				}
			} else {
				printFull = true
			}
		default:
			printFull = true
		}
		if printFull {
			header()
			r.resource(c, show, onlyNode, []string{"*"})
		}
	}
	if has(show, ShowCloneDetail) {
		if opened {
			r.t.EndList()
		}
		return true
	}
	activeInstances := 0
	names := func(ns []*pengine.NodeView) []string {
		sort.SliceStable(ns, func(i, j int) bool { return cmpNodeName(ns[i].Name, ns[j].Name) < 0 })
		var out []string
		for _, n := range ns {
			if !inListFold(n.Name, onlyNode) {
				continue
			}
			out = append(out, n.Name)
			activeInstances++
		}
		return out
	}
	if l := names(promoted); len(l) > 0 {
		header()
		r.t.Item("Promoted: [ %s ]", strings.Join(l, " "))
	}
	if l := names(started); len(l) > 0 {
		header()
		if x.Promotable {
			if strings.EqualFold(configuredRole(x), "unpromoted") || strings.EqualFold(configuredRole(x), "slave") {
				r.t.Item("Unpromoted (target-role): [ %s ]", strings.Join(l, " "))
			} else {
				r.t.Item("Unpromoted: [ %s ]", strings.Join(l, " "))
			}
		} else {
			r.t.Item("Started: [ %s ]", strings.Join(l, " "))
		}
	}
	if has(show, ShowInactive) {
		if !x.Unique && x.CloneMax > activeInstances {
			stopped = map[string]string{}
			running := map[string]bool{}
			for _, n := range activeOn(x) {
				running[n.Name] = true
			}
			state := "Stopped"
			if strings.EqualFold(configuredRole(x), "stopped") {
				state = "Stopped (disabled)"
			}
			for _, n := range r.s.View.Nodes {
				if !allowedOn(x, n) {
					continue
				}
				if !running[n.Name] && inListFold(n.Name, onlyNode) {
					if op := failedProbeFor(r.s, x, n.Name); op != nil {
						rc := minZero(attr(op, "rc-code"))
						stopped[n.Name] = "Stopped (" + pengine.OCFExitText(rc) + ")"
					} else {
						stopped[n.Name] = state
					}
				}
			}
		}
		if len(stopped) > 0 {
			header()
			var vals []string
			seen := map[string]bool{}
			for _, v := range stopped {
				if !seen[v] {
					seen[v] = true
					vals = append(vals, v)
				}
			}
			sort.Strings(vals)
			for _, v := range vals {
				var ns []string
				for k, sv := range stopped {
					if sv == v {
						ns = append(ns, k)
					}
				}
				sort.SliceStable(ns, func(i, j int) bool { return cmpNodeName(ns[i], ns[j]) < 0 })
				r.t.Item("%s: [ %s ]", v, strings.Join(ns, " "))
			}
		} else if activeInstances == 0 {
			header()
			r.t.EndList()
			return true
		}
	}
	if opened {
		r.t.EndList()
	}
	return opened
}

// allowedOn approximates rsc->allowed_nodes for the Stopped list: every
// cluster node the clone was not banned from by a -INFINITY location.
func allowedOn(x *pengine.RscView, n *pengine.NodeView) bool {
	if len(x.Allowed) > 0 {
		if _, ok := x.Allowed[n]; !ok {
			return false
		}
	}
	return n.Type != "ping"
}

func configuredRole(x *pengine.RscView) string {
	if tr, ok := x.Meta["target-role"]; ok {
		return tr
	}
	if len(x.Children) > 0 {
		return x.Children[0].Meta["target-role"]
	}
	return ""
}

// cmpNodeName is pe__cmp_node_name (pcmk__numeric_strcasecmp).
func cmpNodeName(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si := i
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			sj := j
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, _ := strconv.ParseInt(a[si:i], 10, 64)
			nb, _ := strconv.ParseInt(b[sj:j], 10, 64)
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			continue
		}
		la, lb := lower(ca), lower(cb)
		if la != lb {
			if la < lb {
				return -1
			}
			return 1
		}
		i++
		j++
	}
	return (len(a) - i) - (len(b) - j)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// brief is pe__rscs_brief_output.
func (r *textRenderer) brief(rscs []*pengine.RscView, show uint32) bool {
	counts := map[string]int{}
	activeBy := map[string]map[string]int{}
	for _, x := range rscs {
		if x.Kind != "primitive" {
			continue
		}
		key := agentOf(x)
		counts[key]++
		for _, n := range x.RunningOn {
			if !n.Unclean && !n.Online && x.Managed {
				continue
			}
			if activeBy[n.Name] == nil {
				activeBy[n.Name] = map[string]int{}
			}
			activeBy[n.Name][key]++
		}
	}
	var types []string
	for k := range counts {
		types = append(types, k)
	}
	sort.Strings(types)
	var nodes []string
	for k := range activeBy {
		nodes = append(nodes, k)
	}
	sort.SliceStable(nodes, func(i, j int) bool { return cmpNodeName(nodes[i], nodes[j]) < 0 })
	rc := false
	for _, typ := range types {
		all := 0
		for _, nn := range nodes {
			c := activeBy[nn][typ]
			if c == 0 {
				continue
			}
			all += c
			name := nn
			if has(show, ShowRscOnly) {
				name = ""
			}
			if has(show, ShowInactive) {
				r.t.Item("%d/%d\t(%s):\tActive %s", c, counts[typ], typ, name)
			} else {
				r.t.Item("%d\t(%s):\tActive %s", c, typ, name)
			}
			rc = true
		}
		if has(show, ShowInactive) && all == 0 {
			r.t.Item("%d/%d\t(%s):\tActive", all, counts[typ], typ)
			rc = true
		}
	}
	return rc
}

// attribute names hidden from the attribute list (FILTER_STR).
func hiddenAttr(name string) bool {
	for _, p := range []string{"fail-count-", "last-failure-", "shutdown", "terminate", "standby", "#"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func visibleAttrs(n *pengine.NodeView) []string {
	var names []string
	for k := range n.Attrs {
		if !hiddenAttr(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// pingExpected is add_extra_info: a ping resource running on the node
// whose attribute name matches gives the expected score.
func pingExpected(n *pengine.NodeView, name string) (int, bool) {
	for _, x := range n.Running {
		typ := attr(x.XML, "type")
		if !strings.EqualFold(typ, "ping") && !strings.EqualFold(typ, "pingd") {
			continue
		}
		aname := x.Params["name"]
		if aname == "" {
			aname = "pingd"
		}
		if !strings.EqualFold(aname, name) {
			continue
		}
		hosts := 0
		if h := x.Params["host_list"]; h != "" {
			hosts = len(strings.Split(h, " "))
		}
		mult, err := strconv.Atoi(x.Params["multiplier"])
		if err != nil {
			mult = 1
		}
		return hosts * mult, true
	}
	return 0, false
}

func (r *textRenderer) nodeAttributes(spacer bool) bool {
	l := &lister{r: r, spacer: spacer, title: "Node Attributes"}
	for _, n := range r.s.View.Nodes {
		if !n.Online {
			continue
		}
		names := visibleAttrs(n)
		if len(names) == 0 || !inListFold(n.Name, r.o.OnlyNode) {
			continue
		}
		l.header()
		r.t.BeginList(r.nodeHeader(n))
		for _, name := range names {
			val := n.Attrs[name]
			exp, extra := pingExpected(n, name)
			if r.html != nil {
				r.html.nodeAttribute(name, val, exp, extra)
				continue
			}
			if extra {
				v, err := strconv.Atoi(val)
				if err != nil {
					v = 0
				}
				if v <= 0 {
					r.t.Item("%-32s\t: %-10s\t: Connectivity is lost", name, val)
					continue
				} else if v < exp {
					r.t.Item("%-32s\t: %-10s\t: Connectivity is degraded (Expected=%d)", name, val, exp)
					continue
				}
			}
			r.t.Item("%-32s\t: %-10s", name, val)
		}
		r.t.EndList()
	}
	return l.footer()
}

// failcount sums the node's fail-count attributes for a resource
// (pe_get_failcount with pe_fc_default), with the newest last-failure. An
// anonymous clone instance counts failures recorded under its base name,
// with or without an instance number, as generate_fail_regex matches.
func failcount(n *pengine.NodeView, x *pengine.RscView) (int, int64) {
	if n == nil || x == nil {
		return 0, 0
	}
	id := printableID(x)
	anon := id != x.ID
	matches := func(rest string) bool {
		name, _, _ := strings.Cut(rest, "#")
		if name == id {
			return true
		}
		if anon && strings.HasPrefix(name, id+":") {
			_, err := strconv.Atoi(name[len(id)+1:])
			return err == nil
		}
		return false
	}
	total := 0
	var last int64
	for k, v := range n.Attrs {
		if rest, ok := strings.CutPrefix(k, "fail-count-"); ok && matches(rest) {
			total = addScore(total, parseScore(v))
		}
		if rest, ok := strings.CutPrefix(k, "last-failure-"); ok && matches(rest) {
			if t, err := strconv.ParseInt(v, 10, 64); err == nil && t > last {
				last = t
			}
		}
	}
	return total, last
}

func addScore(a, b int) int {
	s := a + b
	if s > 1000000 {
		return 1000000
	}
	if s < -1000000 {
		return -1000000
	}
	return s
}

func migrationThreshold(x *pengine.RscView) int {
	if v, ok := x.Meta["migration-threshold"]; ok {
		return parseScore(v)
	}
	return 1000000
}

func historyString(x *pengine.RscView, id string, all bool, fc int, last int64) string {
	switch {
	case x == nil:
		return id + ": orphan"
	case all || fc != 0 || last > 0:
		s := fmt.Sprintf("%s: migration-threshold=%d", id, migrationThreshold(x))
		if fc > 0 {
			s += fmt.Sprintf(" fail-count=%d", fc)
		}
		if last > 0 {
			s += fmt.Sprintf(" last-failure='%s'", epochStr(last))
		}
		return s
	}
	return id + ":"
}

// findRsc is pe_find_resource for an lrm_resource id.
func findRsc(v *pengine.ClusterView, id string) *pengine.RscView {
	var found *pengine.RscView
	v.Walk(func(r *pengine.RscView) {
		if found == nil && r.ID == id {
			found = r
		}
	})
	if found == nil {
		v.Walk(func(r *pengine.RscView) {
			if found == nil && r.Kind == "primitive" && r.XMLID == id {
				found = r
			}
		})
	}
	return found
}

// opList is get_operation_list: no notifies, no probes that found the
// resource stopped, sorted by call id.
func opList(lr *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, op := range lr.SelectElements("lrm_rsc_op") {
		task := attr(op, "operation")
		iv := attr(op, "interval")
		rc := minZero(attr(op, "rc-code"))
		if task == "monitor" && (iv == "" || iv == "0") {
			task = "probe"
		}
		if task == "notify" || (task == "probe" && rc == 7) {
			continue
		}
		out = append(out, op)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, _ := strconv.Atoi(attr(out[i], "call-id"))
		b, _ := strconv.Atoi(attr(out[j], "call-id"))
		if a == -1 && b != -1 {
			return false
		}
		if b == -1 && a != -1 {
			return true
		}
		if a != b {
			return a < b
		}
		return attr(out[i], "last-rc-change") < attr(out[j], "last-rc-change")
	})
	return out
}

func nodeStates(cib *etree.Element) []*etree.Element {
	st := cib.SelectElement("status")
	if st == nil {
		return nil
	}
	return st.SelectElements("node_state")
}

func nodeByID(v *pengine.ClusterView, id string) *pengine.NodeView {
	for _, n := range v.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

func lrmResources(ns *etree.Element) []*etree.Element {
	lrm := ns.SelectElement("lrm")
	if lrm == nil {
		return nil
	}
	rs := lrm.SelectElement("lrm_resources")
	if rs == nil {
		return nil
	}
	return rs.SelectElements("lrm_resource")
}

// historyFiltered is node_history_list's resource filter.
func historyFiltered(x *pengine.RscView, onlyRsc []string) bool {
	if x == nil {
		return false
	}
	if top(x).Kind == "group" {
		return !inList(printableID(x), onlyRsc) && !inList(printableID(top(x)), onlyRsc)
	}
	return isFiltered(x, onlyRsc, true)
}

func (r *textRenderer) nodeSummary(spacer bool) bool {
	title := "Migration Summary"
	if has(r.o.Sections, SecOperations) {
		title = "Operations"
	}
	l := &lister{r: r, spacer: spacer, title: title}
	v := r.s.View
	for _, ns := range nodeStates(r.s.CIB) {
		n := nodeByID(v, attr(ns, "id"))
		if n == nil || !n.Online || !inListFold(n.Name, r.o.OnlyNode) {
			continue
		}
		l.header()
		nodeOpen := false
		for _, lr := range lrmResources(ns) {
			id := attr(lr, "id")
			x := findRsc(v, id)
			if historyFiltered(x, r.o.OnlyRsc) {
				continue
			}
			if !has(r.o.Sections, SecOperations) {
				fc, last := failcount(n, x)
				if fc <= 0 {
					continue
				}
				if !nodeOpen {
					nodeOpen = true
					r.t.BeginList(r.nodeHeader(n))
				}
				r.t.Item("%s", historyString(x, id, false, fc, last))
				continue
			}
			ops := opList(lr)
			if len(ops) == 0 {
				continue
			}
			if !nodeOpen {
				nodeOpen = true
				r.t.BeginList(r.nodeHeader(n))
			}
			fc, last := failcount(n, x)
			name := id
			if x != nil {
				name = printableID(x)
			}
			r.t.BeginList(historyString(x, name, true, fc, last))
			for _, op := range ops {
				r.t.Item("%s", opHistoryString(op, has(r.o.Show, ShowTiming)))
			}
			r.t.EndList()
		}
		if nodeOpen {
			r.t.EndList()
		}
	}
	return l.footer()
}

func opHistoryString(op *etree.Element, timing bool) string {
	task := attr(op, "operation")
	iv := attr(op, "interval")
	if task == "monitor" && (iv == "" || iv == "0") {
		task = "probe"
	}
	ivs := ""
	if iv != "" && iv != "0" {
		ivs = fmt.Sprintf(" interval=\"%sms\"", iv)
	}
	call := attr(op, "call-id")
	if !timing {
		if ivs != "" {
			return fmt.Sprintf("(%s) %s:%s", call, task, ivs)
		}
		return fmt.Sprintf("(%s) %s", call, task)
	}
	s := fmt.Sprintf("(%s) %s:%s", call, task, ivs)
	if t, err := strconv.ParseInt(attr(op, "last-rc-change"), 10, 64); err == nil && t > 0 {
		s += fmt.Sprintf(" last-rc-change=\"%s\"", epochStr(t))
	}
	if v := op.SelectAttr("exec-time"); v != nil {
		s += fmt.Sprintf(" exec-time=\"%sms\"", v.Value)
	}
	if v := op.SelectAttr("queue-time"); v != nil {
		s += fmt.Sprintf(" queue-time=\"%sms\"", v.Value)
	}
	rc := minZero(attr(op, "rc-code"))
	return s + fmt.Sprintf(" rc=%d (%s)", rc, pengine.OCFExitText(rc))
}

func (r *textRenderer) failedActions(spacer bool) bool {
	l := &lister{r: r, spacer: spacer, title: "Failed Resource Actions"}
	for _, f := range r.s.Failed {
		if !inListFold(attr(f.XML, "on_node"), r.o.OnlyNode) && !inListFold(f.Node, r.o.OnlyNode) {
			continue
		}
		if maskedProbe(f.XML) || !inList(f.Rsc, r.o.OnlyRsc) {
			continue
		}
		l.header()
		r.t.Item("%s", failedActionString(f, has(r.o.Show, ShowFailedDetail)))
	}
	return l.footer()
}

func failedActionString(f *FailedOp, technical bool) string {
	x := f.XML
	key := attr(x, "operation_key")
	if key == "" {
		key = attr(x, "id")
	}
	node := attr(x, "on_node")
	if node == "" {
		node = f.Node
	}
	if node == "" {
		node = "unknown node"
	}
	reason := attr(x, "exit-reason")
	exec := attr(x, "exec-time")
	rc := minZero(attr(x, "rc-code"))
	status, _ := strconv.Atoi(attr(x, "op-status"))
	if technical {
		call := attr(x, "call-id")
		if call == "" {
			call = "unknown"
		}
		s := fmt.Sprintf("%s on %s '%s' (%d): call=%s, status='%s'", key, node, pengine.OCFExitText(rc), rc, call, execStatusStr(status))
		if reason != "" {
			s += ", exitreason='" + reason + "'"
		}
		if t, err := strconv.ParseInt(attr(x, "last-rc-change"), 10, 64); err == nil {
			s += ", last-rc-change='" + epochStr(t) + "'"
		}
		if q := attr(x, "queue-time"); q != "" {
			s += ", queued=" + q + "ms"
		}
		if exec != "" {
			s += ", exec=" + exec + "ms"
		}
		return s
	}
	rsc, task, interval, ok := parseOpKey(key)
	if !ok {
		rsc, task, interval = "unknown resource", "unknown action", 0
	}
	s := rsc + " "
	if interval != 0 {
		s += readableInterval(interval) + "-interval "
	}
	s += actionStr(task, interval) + " on " + node
	if status == 0 {
		s += " returned '" + pengine.OCFExitText(rc) + "'"
		if reason != "" {
			s += " (" + reason + ")"
		}
	} else {
		s += " could not be executed (" + execStatusStr(status)
		if reason != "" {
			s += ": " + reason
		}
		s += ")"
	}
	if t, err := strconv.ParseInt(attr(x, "last-rc-change"), 10, 64); err == nil {
		s += " at " + epochStr(t)
	}
	if ms, err := strconv.Atoi(exec); err == nil && ms > 0 {
		s += " after " + readableInterval(ms)
	}
	return s
}

// parseOpKey splits "rsc_task_interval" (parse_op_key).
func parseOpKey(key string) (rsc, task string, interval int, ok bool) {
	i := strings.LastIndexByte(key, '_')
	if i <= 0 {
		return "", "", 0, false
	}
	iv, err := strconv.Atoi(key[i+1:])
	if err != nil {
		return "", "", 0, false
	}
	rest := key[:i]
	for _, special := range []string{"_migrate_to", "_migrate_from", "_pre_notify_", "_post_notify_", "_confirmed-"} {
		_ = special
	}
	for _, t := range []string{"migrate_to", "migrate_from"} {
		if strings.HasSuffix(rest, "_"+t) {
			return strings.TrimSuffix(rest, "_"+t), t, iv, true
		}
	}
	j := strings.LastIndexByte(rest, '_')
	if j <= 0 {
		return "", "", 0, false
	}
	return rest[:j], rest[j+1:], iv, true
}

// actionStr is crm_action_str.
func actionStr(task string, interval int) string {
	if task == "monitor" && interval == 0 {
		return "probe"
	}
	if task == "monitor" {
		return "monitor"
	}
	return task
}

// readableInterval is pcmk__readable_interval (note its strict
// comparisons: exactly one minute prints as "60s").
func readableInterval(ms int) string {
	var b strings.Builder
	for _, u := range []struct {
		ms   int
		name string
	}{{86400000, "d"}, {3600000, "h"}, {60000, "m"}} {
		if ms > u.ms {
			fmt.Fprintf(&b, "%d%s", ms/u.ms, u.name)
			ms -= ms / u.ms * u.ms
		}
	}
	switch {
	case ms > 1000:
		fmt.Fprintf(&b, "%d", ms/1000)
		ms -= ms / 1000 * 1000
		if ms > 0 {
			fmt.Fprintf(&b, ".%03d", ms)
		}
		b.WriteString("s")
	case ms > 0:
		fmt.Fprintf(&b, "%dms", ms)
	case b.Len() == 0:
		b.WriteString("0s")
	}
	return b.String()
}

// execStatusStr is pcmk_exec_status_str.
func execStatusStr(st int) string {
	switch st {
	case -1:
		return "pending"
	case 0:
		return "complete"
	case 1:
		return "Cancelled"
	case 2:
		return "Timed Out"
	case 3:
		return "NOT SUPPORTED"
	case 4:
		return "Error"
	case 5:
		return "Hard error"
	case 6:
		return "Fatal error"
	case 7:
		return "Not installed"
	case 8:
		return "Internal communication failure"
	case 9:
		return "Invalid"
	case 10:
		return "No fence device"
	case 11:
		return "No secrets"
	}
	return "UNKNOWN!"
}

func roleDesc(role string) string {
	switch strings.ToLower(role) {
	case "promoted", "master":
		return "in Promoted role "
	}
	return ""
}

func (r *textRenderer) banList(spacer bool) bool {
	l := &lister{r: r, spacer: spacer, title: "Negative Location Constraints"}
	for _, b := range r.s.Bans {
		if r.o.NegPrefix != "" && !strings.HasPrefix(b.ID, r.o.NegPrefix) {
			continue
		}
		x := findRsc(r.s.View, b.Rsc)
		if x != nil && !inList(printableID(x), r.o.OnlyRsc) && !inList(printableID(top(x)), r.o.OnlyRsc) {
			continue
		}
		l.header()
		r.t.Item("%s\tprevents %s from running %son %s", b.ID, b.Rsc, roleDesc(b.Role), r.nodeName(b.NodeView))
	}
	return l.footer()
}

// failedProbeFor is pe__failed_probe_for_rsc: a masked failed probe of
// the resource (a clone's instances go by the clone child's id) on the
// named node, or on any node when name is empty.
func failedProbeFor(s *Status, x *pengine.RscView, name string) *etree.Element {
	id := x.ID
	if t := top(x); t.Kind == "clone" {
		id = x.XMLID
		if x.Kind == "clone" && len(x.Children) > 0 {
			id = x.Children[0].XMLID
		}
	}
	for _, f := range s.Failed {
		if !maskedProbe(f.XML) {
			continue
		}
		on := attr(f.XML, "on_node")
		if on == "" {
			on = f.Node
		}
		if name != "" && !strings.EqualFold(on, name) {
			continue
		}
		key := attr(f.XML, "operation_key")
		if key == "" {
			key = attr(f.XML, "id")
		}
		if rsc, _, _, ok := parseOpKey(key); ok && rsc == id {
			return f.XML
		}
	}
	return nil
}

// insertProbe adds the failed probe's result after the state, where
// pcmk__native_output_string puts it: " (<rc text>) " before any flags.
func insertProbe(line string, x *pengine.RscView, node *pengine.NodeView, show uint32, op *etree.Element) string {
	rc := minZero(attr(op, "rc-code"))
	note := " (" + pengine.OCFExitText(rc) + ") "
	head := primitiveString(x, printableID(x), node, show, false)
	// the state part ends before " (" flags or the end of the line
	base := head
	if i := strings.Index(base, " ("); i >= 0 && i > strings.Index(base, "):\t") {
		base = base[:i]
	}
	return base + note + strings.TrimPrefix(line, base)
}

// briefRunning is what a node's --brief resource list shows: the resources
// running there that the --resource filter lets through.
func (r *textRenderer) briefRunning(n *pengine.NodeView) []*pengine.RscView {
	var rscs []*pengine.RscView
	for _, x := range runningRscs(n) {
		if !isFiltered(x, r.o.OnlyRsc, true) {
			rscs = append(rscs, x)
		}
	}
	return rscs
}
