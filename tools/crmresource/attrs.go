package crmresource

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/pengine"
	"ringmaster/pengine/rules"
	"ringmaster/tools/pcmkout"
)

// errnoExit maps the errno values crm_resource's attribute code returns to
// exit codes (pcmk_rc2exitc).
const (
	exitNotUnique = 109 // ENOTUNIQ -> CRM_EX_NOT_UNIQUE
)

// rscElement finds the configuration element of a resource id (the
// "//*[@id=...]" under resources that find_resource_attr searches).
func (s *session) rscElements(id string) []*etree.Element {
	res := s.resourcesSection()
	if res == nil {
		return nil
	}
	var out []*etree.Element
	for _, e := range descendants(res, "") {
		if e.SelectAttrValue("id", "\x00") == id {
			out = append(out, e)
		}
	}
	return out
}

func (s *session) resourcesSection() *etree.Element {
	root, rc := s.query()
	if rc != cib.OK {
		return nil
	}
	cfg := root.SelectElement("configuration")
	if cfg == nil {
		return nil
	}
	return cfg.SelectElement("resources")
}

// findResourceAttr is find_resource_attr: the nvpairs under resource rsc
// (in set type setType, set id setName when given) matching attrID and
// attrName. It returns the value and id of the single match, ENXIO for
// none, ENOTUNIQ (after listing them) for several.
func (s *session) findResourceAttr(rsc, setType, setName, attrID, attrName string) (value, id string, rc int) {
	var matches []*etree.Element
	seen := map[*etree.Element]bool{}
	for _, top := range s.rscElements(rsc) {
		var scopes []*etree.Element
		if setType != "" {
			for _, set := range top.ChildElements() {
				if set.Tag != setType {
					continue
				}
				if setName != "" && set.SelectAttrValue("id", "") != setName {
					continue
				}
				scopes = append(scopes, set)
			}
		} else {
			scopes = []*etree.Element{top}
		}
		for _, sc := range scopes {
			for _, nv := range descendants(sc, "nvpair") {
				if attrID != "" && nv.SelectAttrValue("id", "") != attrID {
					continue
				}
				if attrName != "" && nv.SelectAttrValue("name", "") != attrName {
					continue
				}
				if attrID == "" && attrName == "" {
					continue
				}
				if !seen[nv] {
					seen[nv] = true
					matches = append(matches, nv)
				}
			}
		}
	}
	switch len(matches) {
	case 0:
		return "", "", errENXIO
	case 1:
		return matches[0].SelectAttrValue("value", ""), matches[0].SelectAttrValue("id", ""), 0
	}
	s.w.info("Multiple attributes match name=%s", attrName)
	for _, m := range matches {
		s.w.info("  Value: %s \t(id=%s)", m.SelectAttrValue("value", ""), m.SelectAttrValue("id", ""))
	}
	if !s.w.xml && !s.w.quiet {
		fmt.Fprintln(s.w.stdout)
	}
	return "", "", errENOTUNIQ
}

const (
	errENXIO    = 6
	errENOTUNIQ = 76
)

func cloneStrip(id string) string {
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		return id[:i]
	}
	return id
}

// matchingAttrResources is find_matching_attr_resources.
func (s *session) matchingAttrResources(r *cfgRsc, requested, setName, setType, attrID, attrName, cmd string) []*cfgRsc {
	if s.o.force {
		return []*cfgRsc{r}
	}
	if r.parent != nil && r.parent.variant == variantClone {
		if _, _, rc := s.findResourceAttr(requested, setType, setName, attrID, attrName); rc != 0 {
			s.w.info("Performing %s of '%s' on '%s', the parent of '%s'", cmd, attrName, r.parent.id, requested)
			r = r.parent
		}
		return []*cfgRsc{r}
	}
	if r.parent == nil && len(r.children) > 0 && r.variant == variantClone {
		child := r.children[0]
		if child.variant == variantNative {
			if _, _, rc := s.findResourceAttr(child.id, setType, setName, attrID, attrName); rc == 0 {
				s.w.info("A value for '%s' already exists in child '%s', performing %s on that instead of '%s'",
					attrName, child.id, cmd, requested)
				r = child
			}
		}
		return []*cfgRsc{r}
	}
	var out []*cfgRsc
	var walk func(x *cfgRsc, depth int)
	walk = func(x *cfgRsc, depth int) {
		for _, c := range x.children {
			walk(c, depth+1)
			if x.variant == variantClone {
				break
			}
		}
		_, _, rc := s.findResourceAttr(x.id, setType, setName, attrID, attrName)
		if depth == 0 || rc == 0 {
			out = append(out, x)
		}
	}
	walk(r, 0)
	return out
}

func rcToExit(rc int) int {
	switch rc {
	case 0:
		return pcmkout.ExitOK
	case errENXIO:
		return pcmkout.ExitNoSuch
	case errENOTUNIQ:
		return exitNotUnique
	}
	return pcmkout.ExitError
}

// setParam is cli_resource_update_attribute.
func (s *session) setParam(r *cfgRsc, requested, setName, setType, attrID, attrName, value string, recursive bool) (int, string) {
	w := s.w
	if attrID == "" && !s.o.force {
		s.findResourceAttr(r.uberParent().id, "", "", "", attrName)
	}
	var list []*cfgRsc
	if setType == "instance_attributes" {
		if !s.o.force {
			_, id, rc := s.findResourceAttr(r.uberParent().id, "meta_attributes", setName, attrID, attrName)
			if rc == 0 {
				if !w.quiet {
					w.err("WARNING: There is already a meta attribute for '%s' called '%s' (id=%s)", r.uberParent().id, attrName, id)
					w.err("         Delete '%s' first or use the force option to override", id)
				}
				return exitNotUnique, ""
			}
		}
		list = []*cfgRsc{r}
	} else {
		list = s.matchingAttrResources(r, requested, setName, setType, attrID, attrName, "update")
	}
	if setName != "" || attrID != "" {
		list = list[len(list)-1:]
	}
	commonID := attrID
	for _, x := range list {
		attrID := commonID
		set := setName
		lookup := cloneStrip(x.id)
		_, foundID, rc := s.findResourceAttr(lookup, setType, set, attrID, attrName)
		var top *etree.Element
		switch {
		case rc == 0:
			attrID = foundID
			nv := etree.NewElement("nvpair")
			nv.CreateAttr("id", attrID)
			nv.CreateAttr("name", attrName)
			nv.CreateAttr("value", value)
			top = nv
		case rc != errENXIO:
			return rcToExit(rc), ""
		default:
			if set == "" {
				set = lookup + "-" + setType
			}
			if attrID == "" {
				attrID = set + "-" + attrName
			}
			top = etree.NewElement(x.tag)
			top.CreateAttr("id", lookup)
			so := top.CreateElement(setType)
			so.CreateAttr("id", set)
			nv := so.CreateElement("nvpair")
			nv.CreateAttr("id", attrID)
			nv.CreateAttr("name", attrName)
			nv.CreateAttr("value", value)
		}
		res := s.conn.Perform(cib.Request{Op: cib.OpModify, Section: "resources", Data: top, Options: cib.OptSyncCall})
		if res.Rc != cib.OK {
			return res.Rc.ExitCode(), ""
		}
		setPart := ""
		if set != "" {
			setPart = " set=" + set
		}
		idShown := foundID
		switch {
		case rc == 0:
		case commonID != "":
			idShown = "(null)" // upstream prints the unset local id
		default:
			idShown = attrID
		}
		w.info("Set '%s' option: id=%s%s name=%s value=%s", lookup, idShown, setPart, attrName, value)
		if recursive && setType == "meta_attributes" {
			s.visit = map[*cfgRsc]bool{}
			s.setRecursive(x, setType, attrName, value)
		}
	}
	return pcmkout.ExitOK, ""
}

// setRecursive follows colocations to the resources placed with r, as
// the --recursive meta-attribute update does.
func (s *session) setRecursive(r *cfgRsc, setType, attrName, value string) {
	s.visit[r] = true
	for _, c := range r.withThis {
		if c.score > 0 && !s.visit[c.dependent] {
			s.setParam(c.dependent, c.dependent.id, "", setType, "", attrName, value, true)
		}
	}
}

// deleteParam is cli_resource_delete_attribute.
func (s *session) deleteParam(r *cfgRsc, requested, setName, setType, attrID, attrName string) (int, string) {
	if attrID == "" && !s.o.force {
		s.findResourceAttr(r.uberParent().id, "", "", "", attrName)
	}
	list := []*cfgRsc{r}
	if setType == "meta_attributes" {
		list = s.matchingAttrResources(r, requested, setName, setType, attrID, attrName, "delete")
	}
	for _, x := range list {
		lookup := cloneStrip(x.id)
		_, foundID, rc := s.findResourceAttr(lookup, setType, setName, attrID, attrName)
		if rc == errENXIO {
			continue
		}
		if rc != 0 {
			return rcToExit(rc), ""
		}
		id := attrID
		if id == "" {
			id = foundID
		}
		nv := etree.NewElement("nvpair")
		nv.CreateAttr("id", id)
		nv.CreateAttr("name", attrName)
		res := s.conn.Perform(cib.Request{Op: cib.OpDelete, Section: "resources", Data: nv, Options: cib.OptSyncCall})
		if res.Rc != cib.OK {
			return res.Rc.ExitCode(), ""
		}
		setPart := ""
		if setName != "" {
			setPart = " set=" + setName
		}
		s.w.info("Deleted '%s' option: id=%s%s name=%s", lookup, foundID, setPart, attrName)
	}
	return pcmkout.ExitOK, ""
}

// getParam is the --get-parameter command: the value as evaluated for the
// node the resource is active on (when exactly one).
func (s *session) getParam(r *cfgRsc) (int, string) {
	w := s.w
	nodes := s.activeNodes(r)
	var current *pengine.NodeView
	if len(nodes) > 1 {
		w.err("%s is active on more than one node, returning the default value for %s", r.id, s.o.propName)
	} else if len(nodes) == 1 {
		current = nodes[0]
	}
	params := map[string]string{}
	ctx := &rules.Context{Now: s.env.Now}
	if current != nil {
		ctx.NodeAttrs = current.Attrs
	}
	x := r.xml
	switch s.o.attrSetType {
	case "instance_attributes":
		_ = rules.UnpackNVPairs(x, "instance_attributes", ctx, params, false)
		for p := r.parent; p != nil; p = p.parent {
			_ = rules.UnpackNVPairs(p.xml, "instance_attributes", ctx, params, false)
		}
	case "meta_attributes":
		for _, a := range x.Attr {
			params[a.Key] = a.Value
		}
		_ = rules.UnpackNVPairs(x, "meta_attributes", ctx, params, false)
		for p := r.parent; p != nil; p = p.parent {
			_ = rules.UnpackNVPairs(p.xml, "meta_attributes", ctx, params, false)
		}
		if cfg := s.cib.SelectElement("configuration"); cfg != nil {
			if d := cfg.SelectElement("rsc_defaults"); d != nil {
				_ = rules.UnpackNVPairs(d, "meta_attributes", &rules.Context{Now: s.env.Now,
					Rsc: &rules.RscInfo{Class: x.SelectAttrValue("class", ""), Provider: x.SelectAttrValue("provider", ""), Type: x.SelectAttrValue("type", "")}},
					params, false)
			}
		}
	default:
		_ = rules.UnpackNVPairs(x, "utilization", &rules.Context{Now: s.env.Now}, params, false)
	}
	v, ok := params[s.o.propName]
	if !ok {
		shown := r.id
		if iv := s.instanceView(r); iv != nil {
			shown = iv.ID
		}
		// Every resource below a clone is an instance ("rsc:0"), and the
		// lookup by common id finds the first one.
		for p := r.parent; p != nil && !strings.Contains(shown, ":"); p = p.parent {
			if p.variant == variantClone {
				shown += ":0"
			}
		}
		w.err("Attribute '%s' not found for '%s'", s.o.propName, shown)
		return pcmkout.ExitOK, ""
	}
	if w.xml {
		n := pcmkout.NewNode("list", "name", "attributes", "count", "1")
		it := n.AddNew("item", "name", s.o.propName)
		it.Text = v
		w.add(n)
	} else {
		fmt.Fprintf(w.stdout, "%s\n", v)
	}
	return pcmkout.ExitOK, ""
}

// getProperty is --get-property: an XML attribute of the resource element.
func (s *session) getProperty(r *cfgRsc) (int, string) {
	v := r.xml.SelectAttr(s.o.propName)
	if v == nil {
		return pcmkout.ExitNoSuch, ""
	}
	if s.w.xml {
		n := pcmkout.NewNode("list", "name", "properties", "count", "1")
		it := n.AddNew("item", "name", s.o.propName)
		it.Text = v.Value
		s.w.add(n)
	} else {
		fmt.Fprintf(s.w.stdout, "%s\n", v.Value)
	}
	return pcmkout.ExitOK, ""
}

// setProperty is --set-property: an XML attribute of the resource element.
func (s *session) setProperty() (int, string) {
	if s.o.rscType == "" {
		return pcmkout.ExitUsage, "You need to specify a resource type with -t"
	}
	e := etree.NewElement(s.o.rscType)
	e.CreateAttr("id", s.o.rscID)
	e.CreateAttr(s.o.propName, s.o.propValue)
	res := s.conn.Perform(cib.Request{Op: cib.OpModify, Section: "resources", Data: e, Options: cib.OptSyncCall})
	if res.Rc != cib.OK {
		return res.Rc.ExitCode(), ""
	}
	return pcmkout.ExitOK, ""
}

// deleteResource is --delete: remove the resource element (needs -t).
func (s *session) deleteResource() (int, string) {
	if s.o.rscType == "" {
		return pcmkout.ExitNoSuch, "You need to specify a resource type with -t"
	}
	e := etree.NewElement(s.o.rscType)
	e.CreateAttr("id", s.o.rscID)
	res := s.conn.Perform(cib.Request{Op: cib.OpDelete, Section: "resources", Data: e, Options: cib.OptSyncCall})
	if res.Rc != cib.OK {
		return res.Rc.ExitCode(), ""
	}
	return pcmkout.ExitOK, ""
}

// activeNodes are the distinct nodes a resource (or any instance or
// member) is active on, in the scheduler view.
func (s *session) activeNodes(r *cfgRsc) []*pengine.NodeView {
	if s.view == nil {
		return nil
	}
	var out []*pengine.NodeView
	seen := map[string]bool{}
	var walk func(v *pengine.RscView)
	walk = func(v *pengine.RscView) {
		for _, n := range v.RunningOn {
			if !seen[n.Name] {
				seen[n.Name] = true
				out = append(out, n)
			}
		}
		for _, c := range v.Children {
			walk(c)
		}
	}
	if v := s.instanceView(r); v != nil {
		walk(v)
	}
	return out
}

// instanceView is the resource pe_find_resource_with_flags returns for
// the requested id: an anonymous clone's common id names its first
// instance, an instance id that instance.
func (s *session) instanceView(r *cfgRsc) *pengine.RscView {
	if s.view == nil {
		return nil
	}
	var exact, first *pengine.RscView
	s.view.Walk(func(v *pengine.RscView) {
		if exact == nil && v.ID == s.o.rscID {
			exact = v
		}
		if exact == nil && v.ID == r.id {
			exact = v
		}
		if first == nil && v.XMLID == r.id && v.Parent != nil && v.Parent.Kind == "clone" {
			first = v
		}
	})
	if exact != nil {
		return exact
	}
	return first
}

// isPromotable is pe_rsc_promotable, which a promotable clone's
// instances carry too.
func isPromotable(r *cfgRsc) bool {
	return r.promotable || (r.parent != nil && r.parent.variant == variantClone && r.parent.promotable)
}

// descendants lists the elements below e (tag "" = any) in document
// order, as an XPath "//" step returns them.
func descendants(e *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	var walk func(x *etree.Element)
	walk = func(x *etree.Element) {
		for _, c := range x.ChildElements() {
			if tag == "" || c.Tag == tag {
				out = append(out, c)
			}
			walk(c)
		}
	}
	walk(e)
	return out
}
