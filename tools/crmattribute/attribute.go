package crmattribute

import (
	"embed"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/tools/crmattribute/gopt"
	"ringmaster/tools/pcmkout"
)

//go:embed help
var helpFS embed.FS

func helpText(prog, name string) string {
	b, _ := helpFS.ReadFile("help/" + prog + "." + name + ".txt")
	return string(b)
}

var attributeEntries = []gopt.Entry{
	{Long: "help", Short: 'h'}, {Long: "help-all"}, {Long: "help-output"},
	{Long: "help-selections"}, {Long: "help-command"}, {Long: "help-additional"}, {Long: "help-deprecated"},
	{Long: "version", Short: '$'}, {Long: "verbose", Short: 'V'},
	{Long: "output-as", Kind: gopt.Required}, {Long: "output-to", Kind: gopt.Required}, {Long: "text-fancy"},
	{Long: "quiet", Short: 'q'}, {Long: "quiet-hidden", Short: 'Q'},
	{Long: "id", Short: 'i', Kind: gopt.Required}, {Long: "name", Short: 'n', Kind: gopt.Required},
	{Long: "pattern", Short: 'P', Kind: gopt.Required}, {Long: "promotion", Short: 'p', Kind: gopt.Optional},
	{Long: "set-name", Short: 's', Kind: gopt.Required},
	{Long: "delete", Short: 'D'}, {Long: "query", Short: 'G'}, {Long: "update", Short: 'v', Kind: gopt.Required},
	{Long: "default", Short: 'd', Kind: gopt.Required}, {Long: "lifetime", Short: 'l', Kind: gopt.Required},
	{Long: "node", Short: 'N', Kind: gopt.Required}, {Long: "type", Short: 't', Kind: gopt.Required},
	{Long: "utilization", Short: 'z'}, {Long: "inhibit-policy-engine", Short: '!'},
	{Long: "attr-id", Kind: gopt.Required}, {Long: "attr-name", Kind: gopt.Required},
	{Long: "attr-value", Kind: gopt.Required}, {Long: "delete-attr", Kind: gopt.Required}, {Long: "get-value"},
	{Long: "node-uname", Short: 'U', Kind: gopt.Required},
}

// attrOptions mirrors crm_attribute.c's options struct; nil pointers are
// the C NULLs, which matter for the defaults and the output.
type attrOptions struct {
	command                       byte
	attrDefault, attrID, attrName *string
	attrPattern, attrValue        *string
	destNode, destUname           *string
	setName, setType, typ         *string
	promotion, quiet, version     bool
	outputAs, outputTo            string
}

func sp(s string) *string { return &s }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Attribute runs crm_attribute with env.Args and returns its exit code.
func Attribute(env Env) int {
	o := attrOptions{command: 'G', outputAs: "text"}
	opts, _, perr := gopt.Parse(env.Args, attributeEntries, "NPUdilnpstv")
	// GLib runs the callbacks of the options met before an error, and
	// prints a help text the moment it meets a help option.
	for _, op := range opts {
		v := op.Value
		switch op.Name {
		case "help", "help-all", "help-output", "help-selections", "help-command", "help-additional", "help-deprecated":
			fmt.Fprint(env.Stdout, helpText("crm_attribute", op.Name))
			return pcmkout.ExitOK
		case "version":
			o.version = true
		case "output-as":
			o.outputAs = v
		case "output-to":
			o.outputTo = v
		case "quiet", "quiet-hidden":
			o.quiet = true
		case "id", "attr-id":
			o.attrID = sp(v)
		case "name", "attr-name":
			o.attrName = sp(v)
		case "pattern":
			o.attrPattern = sp(v)
		case "promotion":
			// promotion_cb: the score name of the given resource, or of
			// OCF_RESOURCE_INSTANCE, or none at all.
			o.promotion = true
			o.attrName = nil
			rsc := v
			if !op.Has {
				rsc = env.getenv("OCF_RESOURCE_INSTANCE")
				if _, ok := lookupEnv(env, "OCF_RESOURCE_INSTANCE"); !ok {
					continue
				}
			}
			o.attrName = sp("master-" + rsc)
		case "set-name":
			o.setName = sp(v)
		case "delete", "delete-attr":
			o.command, o.attrValue = 'D', nil
		case "query", "get-value":
			o.command, o.attrValue = 'G', nil
		case "update", "attr-value":
			o.command, o.attrValue = 'u', sp(v)
		case "default":
			o.attrDefault = sp(v)
		case "lifetime", "type":
			o.typ = sp(v)
		case "node", "node-uname":
			o.destUname = sp(v)
		case "utilization":
			o.typ, o.setType = sp("nodes"), sp("utilization")
		}
	}
	if perr != nil {
		fmt.Fprintf(env.Stderr, "crm_attribute: %s\n", perr)
		return pcmkout.ExitUsage
	}
	w, code := newWriter(env, "crm_attribute", o.outputAs, o.outputTo, o.quiet)
	if w == nil {
		return code
	}
	if o.version {
		w.version()
		w.finish(pcmkout.ExitOK, "")
		return pcmkout.ExitOK
	}
	code, msg := runAttribute(env, &o, w)
	w.finish(code, msg)
	return code
}

func lookupEnv(env Env, k string) (string, bool) {
	if env.Getenv == nil {
		return os.LookupEnv(k)
	}
	v := env.Getenv(k)
	return v, v != ""
}

// newWriter is pcmk__output_new for the text and xml formats.
func newWriter(env Env, prog, as, to string, quiet bool) (writer, int) {
	out := env.Stdout
	if to != "" && to != "-" {
		f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: Error creating output format %s: %s\n", prog, as, cib.Rc(-errnoOf(err)))
			return nil, pcmkout.ExitError
		}
		out = f
	}
	switch as {
	case "text", "":
		return &textWriter{out: out, stderr: env.Stderr, prog: prog, quiet: quiet}, 0
	case "xml":
		argv0 := prog
		if env.Prog != "" {
			argv0 = env.Prog
		}
		argv := append([]string{argv0}, env.Args...)
		return &xmlWriter{out: out, prog: prog, request: pcmkout.QuoteCmdline(argv)}, 0
	}
	fmt.Fprintf(env.Stderr, "%s: Error creating output format %s: Unknown output format\n", prog, as)
	return nil, pcmkout.ExitError
}

func errnoOf(err error) int {
	var pe *os.PathError
	if e, ok := err.(*os.PathError); ok {
		pe = e
		if n, ok := pe.Err.(interface{ Errno() uintptr }); ok {
			return int(n.Errno())
		}
	}
	return 5 // EIO
}

// runAttribute is crm_attribute.c main() after option parsing.
func runAttribute(env Env, o *attrOptions, w writer) (int, string) {
	if o.promotion && o.attrName == nil {
		return pcmkout.ExitUsage, "-p/--promotion must be called from an OCF resource agent or with a resource ID specified"
	}
	conn, rc := env.signon("crm_attribute")
	if rc != cib.OK {
		return rc.ExitCode(), "Could not connect to the CIB: " + rc.String()
	}
	defer conn.Close()
	// set_type: the section follows from -l/-t, -p and -N.
	switch {
	case o.typ == nil && o.promotion:
		o.typ = sp("status")
	case o.typ == nil && o.destUname != nil:
		o.typ = sp("nodes")
	case o.typ == nil:
		o.typ = sp("crm_config")
	case strings.EqualFold(*o.typ, "reboot"):
		o.typ = sp("status")
	case strings.EqualFold(*o.typ, "forever"):
		o.typ = sp("nodes")
	}
	remote := false
	if !strings.EqualFold(*o.typ, "crm_config") && !strings.EqualFold(*o.typ, "tickets") {
		if target := nodeAttrTarget(env, o.destUname); target != nil {
			o.destUname = target
		} else if env.getenv("CIB_file") != "" && o.destUname == nil {
			o.destUname = sp(env.hostname())
		}
		if o.destUname == nil {
			name, rc := controllerNodeName(env)
			if rc != cib.OK {
				return rc.ExitCode(), "Could not connect to controller: " + rc.String()
			}
			o.destUname = &name
		}
		uuid, isRemote, rc := QueryNodeUUID(conn, *o.destUname)
		if rc != cib.OK {
			return rc.ExitCode(), fmt.Sprintf("Could not map name=%s to a UUID", *o.destUname)
		}
		o.destNode, remote = &uuid, isRemote
	}
	if o.command == 'D' && o.attrName == nil && o.attrPattern == nil {
		return pcmkout.ExitUsage, "Error: must specify attribute name or pattern to delete"
	}
	if o.attrPattern != nil {
		if !(o.command == 'G' || ((o.command == 'u' || o.command == 'D') && strings.EqualFold(*o.typ, "status"))) {
			return pcmkout.ExitUsage, "Error: pattern can only be used with query, or with till-reboot update or delete"
		}
		o.attrName = o.attrPattern
	}
	a := &attrs{conn: conn, w: w}
	var errMsg string
	sent := false
	if strings.EqualFold(*o.typ, "status") && env.getenv("CIB_file") == "" && env.getenv("CIB_shadow") == "" &&
		(o.command == 'D' || o.command == 'u') {
		// Transient attributes go through the attribute manager; when it
		// cannot be reached the error is reported and the CIB is
		// written directly, as the fall-through in main() does.
		// With no attribute manager the IPC connection is refused.
		rc := -cib.Rc(syscall.ECONNREFUSED)
		if env.AttrdUpdate != nil {
			rc = env.AttrdUpdate(o.command, deref(o.destUname), deref(o.attrName), deref(o.attrValue), deref(o.setName), o.attrPattern != nil)
		}
		if rc == cib.OK {
			sent = true
		} else {
			val := "(null)"
			if o.attrValue != nil {
				val = *o.attrValue
			}
			errMsg = fmt.Sprintf("Could not update %s=%s: %s (%d)", deref(o.attrName), val, rc, -int(rc))
		}
	}
	rc = cib.OK
	if !sent {
		switch o.command {
		case 'D':
			rc = a.commandDelete(o)
		case 'u':
			rc = a.commandUpdate(o, remote)
		default:
			rc = a.commandQuery(o)
		}
	}
	// GLib keeps the first error set (a later g_set_error over it is
	// ignored), so an attribute manager failure is the message even when
	// the CIB fallback fails too; the exit code is the later one.
	switch {
	case rc != cib.OK && errMsg != "":
		return rc.ExitCode(), errMsg
	case rc == eNOTUNIQ:
		return rc.ExitCode(), "Please choose from one of the matches below and supply the 'id' with --attr-id"
	case rc != cib.OK:
		return rc.ExitCode(), "Error performing operation: " + rc.String()
	}
	return pcmkout.ExitOK, errMsg
}

const eNOTUNIQ = -cib.Rc(syscall.ENOTUNIQ)

// nodeAttrTarget is pcmk__node_attr_target: for no node, "auto" or
// "localhost", the name the scheduler knows this node by, from the
// environment a resource agent runs in.
func nodeAttrTarget(env Env, name *string) *string {
	if name != nil && !strings.EqualFold(*name, "auto") && !strings.EqualFold(*name, "localhost") {
		return nil
	}
	target := env.getenv("CRM_meta_container_attribute_target")
	if phys := env.getenv("CRM_meta_physical_host"); phys != "" && strings.EqualFold(target, "host") {
		return sp(phys)
	}
	if h := env.getenv("OCF_RESKEY_CRM_meta_on_node"); h != "" {
		return sp(h)
	}
	return name
}

func controllerNodeName(env Env) (string, cib.Rc) {
	if env.NodeName == nil {
		return "", -cib.Rc(syscall.ECONNREFUSED)
	}
	return env.NodeName()
}

// attrs is lib/cib/cib_attrs.c over one connection.
type attrs struct {
	conn Conn
	w    writer
}

var cibSectionXPath = map[string]string{
	"cib": "//cib", "status": "//cib/status", "configuration": "//cib/configuration",
	"crm_config": "//cib/configuration/crm_config", "nodes": "//cib/configuration/nodes",
	"resources": "//cib/configuration/resources", "constraints": "//cib/configuration/constraints",
	"op_defaults": "//cib/configuration/op_defaults", "rsc_defaults": "//cib/configuration/rsc_defaults",
	"acls": "//cib/configuration/acls", "fencing-topology": "//cib/configuration/fencing-topology",
	"tags": "//cib/configuration/tags", "alerts": "//cib/configuration/alerts", "all": "//cib",
}

// findAttr is find_attr: an XPath query for the nvpairs, answering one
// <nvpair> or an <xpath-query> holding several.
func (a *attrs) findAttr(section string, nodeUUID *string, attrSetType, setName, attrID, attrName *string) (*etree.Element, cib.Rc) {
	setType := "instance_attributes"
	if attrSetType != nil {
		setType = *attrSetType
	}
	nodeType := ""
	switch {
	case strings.EqualFold(section, "crm_config"):
		nodeUUID, setType = nil, "cluster_property_set"
	case strings.EqualFold(section, "op_defaults"), strings.EqualFold(section, "rsc_defaults"):
		nodeUUID, setType = nil, "meta_attributes"
	case strings.EqualFold(section, "tickets"):
		nodeUUID, section, nodeType = nil, "status", "tickets"
	case nodeUUID == nil:
		return nil, cib.EINVAL
	}
	base, ok := cibSectionXPath[section]
	if !ok {
		return nil, cib.ENOMSG
	}
	var x strings.Builder
	x.WriteString(base)
	if nodeType == "tickets" {
		x.WriteString("//tickets")
	} else if nodeUUID != nil {
		nt := "node"
		if strings.EqualFold(section, "status") {
			nt, setType = "node_state", "transient_attributes"
		}
		fmt.Fprintf(&x, "//%s[@id='%s']", nt, *nodeUUID)
	}
	x.WriteString("//" + setType)
	if setName != nil {
		fmt.Fprintf(&x, "[@id='%s']", *setName)
	}
	x.WriteString("//nvpair")
	switch {
	case attrID != nil && attrName != nil:
		fmt.Fprintf(&x, "[@id='%s' and @name='%s']", *attrID, *attrName)
	case attrID != nil:
		fmt.Fprintf(&x, "[@id='%s']", *attrID)
	case attrName != nil:
		fmt.Fprintf(&x, "[@name='%s']", *attrName)
	}
	res := a.conn.Perform(cib.Request{Op: cib.OpQuery, Section: x.String(),
		Options: cib.OptSyncCall | cib.OptScopeLocal | cib.OptXPath})
	if res.Rc != cib.OK {
		return res.Output, res.Rc
	}
	return res.Output, cib.OK
}

// handleMultiples lists the matches when more than one nvpair was found.
func (a *attrs) handleMultiples(search *etree.Element, attrName *string) cib.Rc {
	if search == nil || len(search.ChildElements()) == 0 {
		return cib.OK
	}
	a.w.info("Multiple attributes match name=%s", nullStr(attrName))
	for _, c := range search.ChildElements() {
		v, ok := cib.Attr(c, "value")
		if !ok {
			v = "(null)"
		}
		a.w.info("  Value: %s \t(id=%s)", v, cib.ID(c))
	}
	return eNOTUNIQ
}

func nullStr(p *string) string {
	if p == nil {
		return "(null)"
	}
	return *p
}

func nvpair(id, name, value *string) *etree.Element {
	e := etree.NewElement("nvpair")
	if id != nil {
		cib.SetAttr(e, "id", *id)
	}
	if name != nil {
		cib.SetAttr(e, "name", *name)
	}
	if value != nil {
		cib.SetAttr(e, "value", *value)
	}
	return e
}

func child(parent *etree.Element, tag string) *etree.Element {
	if parent == nil {
		return etree.NewElement(tag)
	}
	return parent.CreateElement(tag)
}

// updateNodeAttr is cib__update_node_attr.
func (a *attrs) updateNodeAttr(section string, nodeUUID, setType, setName, attrID, attrName, attrValue *string, nodeType string) cib.Rc {
	if attrValue == nil || (attrName == nil && attrID == nil) {
		return cib.EINVAL
	}
	search, rc := a.findAttr(section, nodeUUID, setType, setName, attrID, attrName)
	var top, obj *etree.Element
	switch {
	case rc == cib.OK:
		if a.handleMultiples(search, attrName) == eNOTUNIQ {
			return eNOTUNIQ
		}
		attrID = sp(cib.ID(search))
		if _, ok := cib.Attr(search, "id"); !ok {
			attrID = nil
		}
	case rc != cib.ENXIO:
		return rc
	default:
		tag := ""
		switch {
		case strings.EqualFold(section, "tickets"):
			nodeUUID, section, nodeType = nil, "status", "tickets"
			top = etree.NewElement("status")
			obj = top.CreateElement("tickets")
		case strings.EqualFold(section, "nodes"):
			if nodeUUID == nil {
				return cib.EINVAL
			}
			if strings.EqualFold(nodeType, "remote") {
				top = etree.NewElement("nodes")
				obj = top.CreateElement("node")
				cib.SetAttr(obj, "type", "remote")
				cib.SetAttr(obj, "id", *nodeUUID)
				cib.SetAttr(obj, "uname", *nodeUUID)
			} else {
				tag = "node"
			}
		case strings.EqualFold(section, "status"):
			tag = "transient_attributes"
			if nodeUUID == nil {
				return cib.EINVAL
			}
			top = etree.NewElement("node_state")
			cib.SetAttr(top, "id", *nodeUUID)
			obj = top
		default:
			tag, nodeUUID = section, nil
		}
		if setName == nil {
			switch {
			case strings.EqualFold(section, "crm_config"):
				setName = sp("cib-bootstrap-options")
			case strings.EqualFold(nodeType, "tickets"):
				setName = sp(section + "-tickets")
			case nodeUUID != nil:
				s := section + "-" + *nodeUUID
				if setType != nil {
					s += "-" + *setType
				}
				setName = &s
			default:
				setName = sp(section + "-options")
			}
		}
		if attrID == nil {
			id := strings.NewReplacer(":", ".", "#", ".").Replace(*setName + "-" + deref(attrName))
			attrID = &id
		} else if attrName == nil {
			attrName = attrID
		}
		if tag != "" {
			obj = child(obj, tag)
			if nodeUUID != nil {
				cib.SetAttr(obj, "id", *nodeUUID)
			}
			if top == nil {
				top = obj
			}
		}
		switch {
		case nodeUUID == nil && !strings.EqualFold(nodeType, "tickets"):
			if strings.EqualFold(section, "crm_config") {
				obj = child(obj, "cluster_property_set")
			} else {
				obj = child(obj, "meta_attributes")
			}
		case setType != nil:
			obj = child(obj, *setType)
		default:
			obj = child(obj, "instance_attributes")
		}
		cib.SetAttr(obj, "id", *setName)
		if top == nil {
			top = obj
		}
	}
	nv := nvpair(attrID, attrName, attrValue)
	if obj != nil {
		obj.AddChild(nv)
	}
	if top == nil {
		top = nv
	}
	res := a.conn.Perform(cib.Request{Op: cib.OpModify, Section: section, Data: top,
		Options: cib.OptSyncCall | cib.OptQuorumOverride})
	if res.Rc != cib.OK {
		a.w.err("Error setting %s=%s (section=%s, set=%s): %s", nullStr(attrName), *attrValue, section,
			func() string {
				if setName == nil {
					return "<null>"
				}
				return *setName
			}(), res.Rc)
		return res.Rc
	}
	return cib.OK
}

// deleteNodeAttr is cib__delete_node_attr.
func (a *attrs) deleteNodeAttr(section string, nodeUUID, setType, setName, attrID, attrName, attrValue *string) cib.Rc {
	if attrName == nil && attrID == nil {
		return cib.EINVAL
	}
	var localID *string
	if attrID == nil {
		search, rc := a.findAttr(section, nodeUUID, setType, setName, attrID, attrName)
		if rc != cib.OK {
			return rc
		}
		if a.handleMultiples(search, attrName) == eNOTUNIQ {
			return cib.OK
		}
		if id, ok := cib.Attr(search, "id"); ok {
			localID = &id
		}
		attrID = localID
	}
	res := a.conn.Perform(cib.Request{Op: cib.OpDelete, Section: section, Data: nvpair(attrID, attrName, attrValue),
		Options: cib.OptSyncCall | cib.OptQuorumOverride})
	if res.Rc != cib.OK {
		return res.Rc
	}
	kind := "option"
	if nodeUUID != nil {
		kind = "attribute"
	}
	msg := fmt.Sprintf("Deleted %s %s: id=%s", section, kind, nullStr(localID))
	if setName != nil {
		msg += " set=" + *setName
	}
	if attrName != nil {
		msg += " name=" + *attrName
	}
	a.w.info("%s", msg)
	return cib.OK
}

// matches is pcmk__str_eq with pcmk__str_regex: an extended regular
// expression searched for in the name.
func matches(name string, has bool, pattern string) bool {
	if !has {
		return false
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return false
	}
	return re.MatchString(name)
}

// forEachChild is pcmk__xe_foreach_child over an element's children: a
// single nvpair answer has none, so a pattern matching exactly one
// attribute changes nothing, as in Pacemaker.
func forEachChild(e *etree.Element, fn func(*etree.Element) cib.Rc) cib.Rc {
	if e == nil {
		return cib.OK
	}
	for _, c := range e.ChildElements() {
		if rc := fn(c); rc != cib.OK {
			return rc
		}
	}
	return cib.OK
}

func (a *attrs) commandDelete(o *attrOptions) cib.Rc {
	var rc cib.Rc
	if o.attrPattern != nil {
		var result *etree.Element
		result, rc = a.findAttr(*o.typ, o.destNode, o.setType, o.setName, nil, nil)
		if rc == cib.OK {
			rc = forEachChild(result, func(c *etree.Element) cib.Rc {
				name, has := cib.Attr(c, "name")
				if !matches(name, has, *o.attrPattern) {
					return cib.OK
				}
				r := a.deleteNodeAttr(*o.typ, o.destNode, o.setType, o.setName, o.attrID, &name, o.attrValue)
				if r == cib.ENXIO {
					r = cib.OK
				}
				return r
			})
		}
	} else {
		rc = a.deleteNodeAttr(*o.typ, o.destNode, o.setType, o.setName, o.attrID, o.attrName, o.attrValue)
	}
	if rc == cib.ENXIO {
		rc = cib.OK
	}
	return rc
}

func (a *attrs) commandUpdate(o *attrOptions, remote bool) cib.Rc {
	nodeType := ""
	if remote {
		nodeType = "remote"
	}
	if o.attrPattern != nil {
		result, rc := a.findAttr(*o.typ, o.destNode, o.setType, o.setName, nil, nil)
		if rc != cib.OK {
			return rc
		}
		return forEachChild(result, func(c *etree.Element) cib.Rc {
			name, has := cib.Attr(c, "name")
			if !matches(name, has, *o.attrPattern) {
				return cib.OK
			}
			return a.updateNodeAttr(*o.typ, o.destNode, o.setType, o.setName, o.attrID, &name, o.attrValue, nodeType)
		})
	}
	return a.updateNodeAttr(*o.typ, o.destNode, o.setType, o.setName, o.attrID, o.attrName, o.attrValue, nodeType)
}

func (a *attrs) commandQuery(o *attrOptions) cib.Rc {
	usePattern := o.attrPattern != nil
	var result *etree.Element
	var rc cib.Rc
	if usePattern {
		result, rc = a.findAttr(*o.typ, o.destNode, o.setType, o.setName, nil, nil)
	} else {
		result, rc = a.findAttr(*o.typ, o.destNode, o.setType, o.setName, o.attrID, o.attrName)
	}
	outputOne := func(e *etree.Element) bool {
		name, hasName := cib.Attr(e, "name")
		if usePattern && !matches(name, hasName, *o.attrPattern) {
			return false
		}
		at := AttrValue{Scope: *o.typ, ID: deref(o.attrID), Name: name}
		if v, ok := cib.Attr(e, "value"); ok {
			at.Value = &v
		}
		a.w.attribute(at)
		return true
	}
	switch {
	case rc == cib.ENXIO && o.attrDefault != nil:
		a.w.attribute(AttrValue{Scope: *o.typ, ID: deref(o.attrID), Name: deref(o.attrName),
			Value: o.attrDefault, Host: deref(o.destUname)})
		return cib.OK
	case rc != cib.OK:
		return rc
	case result != nil && len(result.ChildElements()) > 0:
		did := false
		for _, c := range result.ChildElements() {
			if outputOne(c) {
				did = true
			}
		}
		if !did {
			return cib.ENXIO
		}
	case result != nil:
		outputOne(result)
	}
	return cib.OK
}

// QueryNodeUUID is query_node_uuid: the id by which the CIB knows the node
// called uname (compared case-insensitively), looking at cluster nodes,
// remote-node resources, guest nodes and remote node states in document
// order, and whether it is a Pacemaker Remote node.
func QueryNodeUUID(conn Conn, uname string) (string, bool, cib.Rc) {
	res := conn.Perform(cib.Request{Op: cib.OpQuery, Options: cib.OptSyncCall | cib.OptScopeLocal})
	if res.Rc != cib.OK || res.Output == nil {
		return "", false, cib.ENXIO
	}
	root := res.Output
	host := asciiLower(uname)
	eq := func(e *etree.Element, attr string) bool {
		v, ok := cib.Attr(e, attr)
		return ok && asciiUpperToLower(v) == host
	}
	cfg := cib.FirstChild(root, "configuration")
	var first *etree.Element
	if cfg != nil {
		for _, sec := range cfg.ChildElements() {
			switch sec.Tag {
			case "nodes":
				for _, n := range sec.ChildElements() {
					if n.Tag == "node" && eq(n, "uname") {
						first = n
						break
					}
				}
			case "resources":
				for _, p := range sec.ChildElements() {
					if p.Tag != "primitive" {
						continue
					}
					if cib.AttrOr(p, "class", "") == "ocf" && cib.AttrOr(p, "provider", "") == "pacemaker" &&
						cib.AttrOr(p, "type", "") == "remote" && eq(p, "id") {
						first = p
						break
					}
					for _, m := range p.ChildElements() {
						if m.Tag != "meta_attributes" {
							continue
						}
						for _, nv := range m.ChildElements() {
							if nv.Tag == "nvpair" && cib.AttrOr(nv, "name", "") == "remote-node" && eq(nv, "value") {
								first = nv
								break
							}
						}
						if first != nil {
							break
						}
					}
					if first != nil {
						break
					}
				}
			}
			if first != nil {
				break
			}
		}
	}
	if first == nil {
		if st := cib.FirstChild(root, "status"); st != nil {
			for _, ns := range st.ChildElements() {
				if ns.Tag == "node_state" && cib.AttrOr(ns, "remote_node", "") == "true" && eq(ns, "id") {
					first = ns
					break
				}
			}
		}
	}
	if first == nil {
		return "", false, cib.ENXIO
	}
	var uuid string
	var ok, remote bool
	switch first.Tag {
	case "node":
		if strings.EqualFold(cib.AttrOr(first, "type", ""), "remote") {
			uuid, ok = cib.Attr(first, "uname")
			remote = true
		} else {
			uuid, ok = cib.Attr(first, "id")
		}
	case "primitive":
		uuid, ok = cib.Attr(first, "id")
		remote = true
	case "nvpair":
		uuid, ok = cib.Attr(first, "value")
		remote = true
	case "node_state":
		uuid, ok = cib.Attr(first, "uname")
		remote = isTrue(cib.AttrOr(first, "remote_node", ""))
	}
	if !ok {
		return "", false, cib.ENXIO
	}
	return uuid, remote, cib.OK
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// asciiUpperToLower is XPath translate() with the A-Z/a-z tables.
func asciiUpperToLower(s string) string { return asciiLower(s) }

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}
