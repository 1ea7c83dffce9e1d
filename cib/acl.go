package cib

import (
	"strings"

	"github.com/beevik/etree"
)

// ACLs follow lib/common/acl.c. A user other than root and hacluster is
// subject to ACLs when crm_config has enable-acl=true. The user's
// permissions come from <acl_target id=USER> (or the older <acl_user>):
// its <role id=…> references to <acl_role>s and its direct
// <acl_permission>s, in document order. Each permission (kind read, write or
// deny) selects elements by xpath, or by reference (id), object-type (element
// name) and attribute (which narrows to elements carrying it); every selected
// element gets that mode. A check walks from the element up to the root: the
// first element whose modes grant the request allows it, the first with deny
// refuses it, and nothing found means denied (the default is no access).

type aclMode uint8

const (
	aclRead aclMode = 1 << iota
	aclWrite
	aclDeny
)

type aclRule struct {
	mode  aclMode
	xpath string
}

// ACL is one user's compiled permissions.
type ACL struct {
	User  string
	rules []aclRule
}

// ACLRequired is pcmk_acl_required: everybody but root and hacluster.
func ACLRequired(user string) bool {
	return user != "" && user != "root" && user != "hacluster"
}

// ACLEnabled reports whether the CIB turns ACLs on (enable-acl in any
// cluster_property_set of crm_config, as crm_is_true understands it).
func ACLEnabled(cib *etree.Element) bool {
	cfg := FirstChild(cib, "configuration")
	if cfg == nil {
		return false
	}
	cc := FirstChild(cfg, "crm_config")
	if cc == nil {
		return false
	}
	for _, set := range cc.ChildElements() {
		for _, nv := range set.ChildElements() {
			if AttrOr(nv, "name", "") == "enable-acl" {
				return isTrue(AttrOr(nv, "value", ""))
			}
		}
	}
	return false
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// NewACL returns the ACL for user against cib, or nil when ACLs do not
// apply (not required for the user, or not enabled).
func NewACL(cib *etree.Element, user string) *ACL {
	if !ACLRequired(user) || !ACLEnabled(cib) {
		return nil
	}
	a := &ACL{User: user}
	cfg := FirstChild(cib, "configuration")
	acls := FirstChild(cfg, "acls")
	if acls == nil {
		return a
	}
	for _, child := range acls.ChildElements() {
		switch elemName(child) {
		case "acl_target", "acl_user":
			if ID(child) == user {
				a.parseEntry(acls, child, 0)
			}
		}
	}
	return a
}

func (a *ACL) parseEntry(top, entry *etree.Element, depth int) {
	if depth > 8 {
		return
	}
	for _, c := range entry.ChildElements() {
		tag := elemName(c)
		if tag == "acl_permission" {
			tag = AttrOr(c, "kind", "")
		}
		switch tag {
		case "role", "role_ref":
			ref := ID(c)
			for _, r := range top.ChildElements() {
				if elemName(r) == "acl_role" && ID(r) == ref {
					a.parseEntry(top, r, depth+1)
					break
				}
			}
		case "read":
			a.add(c, aclRead)
		case "write":
			a.add(c, aclWrite)
		case "deny":
			a.add(c, aclDeny)
		}
	}
}

// add is create_acl: the selector becomes one XPath.
func (a *ACL) add(perm *etree.Element, mode aclMode) {
	tag, hasTag := Attr(perm, "object-type")
	if !hasTag {
		tag, hasTag = Attr(perm, "tag")
	}
	ref, hasRef := Attr(perm, "reference")
	if !hasRef {
		ref, hasRef = Attr(perm, "ref")
	}
	xp, hasXP := Attr(perm, "xpath")
	attr, hasAttr := Attr(perm, "attribute")
	if !hasTag && !hasRef && !hasXP {
		return
	}
	if !hasXP {
		if !hasTag {
			tag = "*"
		}
		switch {
		case hasRef && hasAttr:
			xp = "//" + tag + "[@id='" + ref + "' and @" + attr + "]"
		case hasRef:
			xp = "//" + tag + "[@id='" + ref + "']"
		case hasAttr:
			xp = "//" + tag + "[@" + attr + "]"
		default:
			xp = "//" + tag
		}
	}
	a.rules = append(a.rules, aclRule{mode: mode, xpath: xp})
}

// modes evaluates all rules on a document (pcmk__apply_acl).
func (a *ACL) modes(doc *etree.Element) map[*etree.Element]aclMode {
	m := map[*etree.Element]aclMode{}
	for _, r := range a.rules {
		matches, err := SelectXPath(doc, r.xpath)
		if err != nil {
			continue
		}
		for _, e := range matches {
			m[e] |= r.mode
		}
	}
	return m
}

func allowed(have, want aclMode) bool {
	switch {
	case have&aclDeny != 0:
		return false
	case have&want == want:
		return true
	case want == aclRead && have&aclWrite != 0:
		return true
	}
	return false
}

// check walks up from e (pcmk__check_acl).
func check(m map[*etree.Element]aclMode, e *etree.Element, want aclMode) bool {
	for p := e; p != nil && p.Tag != ""; p = p.Parent() {
		have := m[p]
		if allowed(have, want) {
			return true
		}
		if have&aclDeny != 0 {
			return false
		}
	}
	return false
}

// FilterRead returns a copy of cib with what the user may not read removed
// (xml_acl_filtered_copy): denied elements are purged first, then anything
// without a readable element beneath it; elements kept only as the way to a
// readable descendant keep just their id. nil means nothing is readable.
func (a *ACL) FilterRead(cib *etree.Element) *etree.Element {
	doc := cib.Copy()
	m := a.modes(doc)
	for _, r := range a.rules {
		if r.mode != aclDeny {
			continue
		}
		matches, _ := SelectXPath(doc, r.xpath)
		for _, e := range matches {
			if !purge(m, e) && e == doc {
				return nil
			}
		}
	}
	if !purge(m, doc) {
		return nil
	}
	return doc
}

// purge is purge_xml_attributes: true when something readable remains.
func purge(m map[*etree.Element]aclMode, e *etree.Element) bool {
	if allowed(m[e], aclRead) {
		return true
	}
	kept := e.Attr[:0]
	for _, at := range e.Attr {
		if attrName(at) == "id" {
			kept = append(kept, at)
		}
	}
	e.Attr = kept
	readable := false
	for _, c := range e.ChildElements() {
		if purge(m, c) {
			readable = true
		}
	}
	if !readable {
		if p := e.Parent(); p != nil {
			p.RemoveChild(e)
		}
	}
	return readable
}

// CheckWrite decides whether the user may turn old into new: every created
// element (unless it carries nothing but an id outside the acls section,
// implicitly_allowed), every changed attribute and every deleted element
// needs write access. Attribute changes and deletions are judged by the
// rules as evaluated when change tracking starts (on old); creations by the
// rules evaluated again on the result, as xml_acl_disable does
// (pcmk__apply_acl + pcmk__apply_creation_acl). It returns EACCES on the
// first refusal.
func (a *ACL) CheckWrite(old, new *etree.Element) Rc {
	if !a.checkNode(old, new, a.modes(old), a.modes(new)) {
		return EACCES
	}
	return OK
}

func (a *ACL) checkNode(old, new *etree.Element, mo, mn map[*etree.Element]aclMode) bool {
	if attrsDiffer(old, new) && !check(mo, old, aclWrite) {
		return false
	}
	used := map[*etree.Element]bool{}
	for _, oc := range old.ChildElements() {
		nc := matchChild(new, oc)
		if nc == nil || used[nc] {
			if !check(mo, oc, aclWrite) {
				return false
			}
			continue
		}
		used[nc] = true
		if !a.checkNode(oc, nc, mo, mn) {
			return false
		}
	}
	for _, nc := range new.ChildElements() {
		if used[nc] {
			continue
		}
		if !a.checkCreated(nc, mn) {
			return false
		}
	}
	return true
}

func (a *ACL) checkCreated(e *etree.Element, mn map[*etree.Element]aclMode) bool {
	onlyID := true
	for _, at := range e.Attr {
		if attrName(at) != "id" {
			onlyID = false
		}
	}
	implicit := onlyID && !strings.Contains(ElementXPath(e), "/acls/")
	if !implicit && !check(mn, e, aclWrite) {
		return false
	}
	for _, c := range e.ChildElements() {
		if !a.checkCreated(c, mn) {
			return false
		}
	}
	return true
}

func attrsDiffer(a, b *etree.Element) bool {
	if len(a.Attr) != len(b.Attr) {
		return true
	}
	for _, at := range a.Attr {
		if v, ok := Attr(b, attrName(at)); !ok || v != at.Value {
			return true
		}
	}
	return false
}

// ACLForUser compiles user's permissions whether or not enable-acl is set,
// as pcmk__acl_annotate_permissions does for cibadmin --show-access; nil
// when the user is not subject to ACLs.
func ACLForUser(cib *etree.Element, user string) *ACL {
	if !ACLRequired(user) {
		return nil
	}
	a := &ACL{User: user}
	cfg := FirstChild(cib, "configuration")
	if cfg == nil {
		return a
	}
	if acls := FirstChild(cfg, "acls"); acls != nil {
		for _, child := range acls.ChildElements() {
			switch elemName(child) {
			case "acl_target", "acl_user":
				if ID(child) == user {
					a.parseEntry(acls, child, 0)
				}
			}
		}
	}
	return a
}

// Access classifies every element of doc for the user: "writable",
// "readable" or "denied" (pcmk__acl_annotate_permissions_recursive).
func (a *ACL) Access(doc *etree.Element) func(*etree.Element) string {
	m := a.modes(doc)
	return func(e *etree.Element) string {
		switch {
		case len(a.rules) == 0 || !check(m, e, aclRead):
			return "denied"
		case !check(m, e, aclWrite):
			return "readable"
		}
		return "writable"
	}
}
