package cib

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

func itoa(n int) string { return strconv.Itoa(n) }

var versionFields = [3]string{"admin_epoch", "epoch", "num_updates"}

// Changes summarises what differs between two CIB versions, the facts
// Pacemaker's change tracking records (xml.c mark_xml_changes).
type Changes struct {
	Any    bool // anything differs
	Config bool // something under /cib/configuration differs (is_config_change)
}

// CreatePatchset builds a format-2 patchset (lib/common/patchset.c
// xml_create_patchset_v2) turning source into target, or nil when they are
// equal. Children are matched by element name and id, as pcmk__xml_match
// does; version fields of a missing attribute default to "1".
func CreatePatchset(source, target *etree.Element) (*etree.Element, Changes) {
	return createPatchset(source, target, nil)
}

// creation tells the diff how elements came to exist, which decides
// whether their creation counts as a configuration change. Pacemaker only
// sees a configuration change when a tracked attribute write, a deletion
// or a move dirties /cib/configuration: an element copied in whole
// (add_node_copy: modify with --allow-create, XPath create/replace) or
// created without any attribute does not dirty its ancestors, so such a
// creation only increases num_updates. Verified against cibadmin.
type creation struct {
	quiet   map[*etree.Element]bool // copied in whole
	tracked bool                    // created by the tracked operations
}

func (c *creation) isQuiet(e *etree.Element) bool {
	if c == nil {
		return false
	}
	if c.quiet[e] {
		return true
	}
	return c.tracked && !hasAnyAttr(e)
}

func hasAnyAttr(e *etree.Element) bool {
	if len(e.Attr) > 0 {
		return true
	}
	for _, c := range e.ChildElements() {
		if hasAnyAttr(c) {
			return true
		}
	}
	return false
}

func createPatchset(source, target *etree.Element, cr *creation) (*etree.Element, Changes) {
	var ch Changes
	var deletes, rest []*etree.Element
	diffNode(source, target, &deletes, &rest, &ch, cr)
	if !ch.Any {
		return nil, ch
	}
	p := etree.NewElement("diff")
	SetAttr(p, "format", "2")
	v := p.CreateElement("version")
	for i, el := range []*etree.Element{source, target} {
		name := "source"
		if i == 1 {
			name = "target"
		}
		x := v.CreateElement(name)
		for _, f := range versionFields {
			SetAttr(x, f, AttrOr(el, f, "1"))
		}
	}
	for _, c := range deletes {
		p.AddChild(c)
	}
	for _, c := range rest {
		p.AddChild(c)
	}
	return p, ch
}

// refreshRootChange brings a patchset up to date after only the root's
// attributes of target changed (the version counters moving): the target
// version and the root's "modify" change are recomputed, the rest stands,
// as if CreatePatchset had been run again.
func refreshRootChange(patch, source, target *etree.Element) {
	if patch == nil {
		return
	}
	var rootPath = ElementXPath(target)
	var firstRest *etree.Element
	for _, c := range patch.ChildElements() {
		switch {
		case c.Tag == "version":
			if t := FirstChild(c, "target"); t != nil {
				for _, f := range versionFields {
					SetAttr(t, f, AttrOr(target, f, "1"))
				}
			}
		case AttrOr(c, "operation", "") == "delete":
		case AttrOr(c, "operation", "") == "modify" && AttrOr(c, "path", "") == rootPath:
			if firstRest == nil {
				firstRest = c
			}
		default:
			if firstRest == nil {
				firstRest = c
			}
		}
	}
	fresh := attrChange(source, target)
	switch {
	case firstRest != nil && AttrOr(firstRest, "operation", "") == "modify" && AttrOr(firstRest, "path", "") == rootPath:
		if fresh != nil {
			patch.InsertChildAt(firstRest.Index(), fresh)
		}
		patch.RemoveChild(firstRest)
	case fresh != nil && firstRest != nil:
		patch.InsertChildAt(firstRest.Index(), fresh)
	case fresh != nil:
		patch.AddChild(fresh)
	}
}

func inConfig(path string) bool { return strings.Contains(path, "/cib/configuration") }

// matchChild finds in parent the counterpart of needle: same name and same
// id (or, without an id, the first child of that name).
func matchChild(parent, needle *etree.Element) *etree.Element {
	id, ok := Attr(needle, "id")
	if !ok {
		return MatchChild(parent, elemName(needle), "", "")
	}
	return MatchChild(parent, elemName(needle), "id", id)
}

// attrChange is the "modify" change for the attributes of new that differ
// from old's, or nil when they are the same.
func attrChange(old, new *etree.Element) *etree.Element {
	var list []*etree.Element
	for _, a := range old.Attr {
		if _, ok := Attr(new, attrName(a)); !ok {
			c := etree.NewElement("change-attr")
			SetAttr(c, "name", attrName(a))
			SetAttr(c, "operation", "unset")
			list = append(list, c)
		}
	}
	for _, a := range new.Attr {
		if ov, ok := Attr(old, attrName(a)); !ok || ov != a.Value {
			c := etree.NewElement("change-attr")
			SetAttr(c, "name", attrName(a))
			SetAttr(c, "operation", "set")
			SetAttr(c, "value", a.Value)
			list = append(list, c)
		}
	}
	if len(list) == 0 {
		return nil
	}
	c := etree.NewElement("change")
	SetAttr(c, "operation", "modify")
	SetAttr(c, "path", ElementXPath(new))
	cl := c.CreateElement("change-list")
	for _, l := range list {
		cl.AddChild(l)
	}
	res := c.CreateElement("change-result")
	r := res.CreateElement(elemName(new))
	for _, a := range new.Attr {
		SetAttr(r, attrName(a), a.Value)
	}
	return c
}

// equalTree reports whether two subtrees are identical (names, attributes
// in order, comments, text and children), in which case diffNode has
// nothing to say about them. Stricter than the diff (attribute order and
// text count here), so a false answer only costs the full comparison.
func equalTree(a, b *etree.Element) bool {
	if a.Space != b.Space || a.Tag != b.Tag || len(a.Attr) != len(b.Attr) || len(a.Child) != len(b.Child) {
		return false
	}
	for i := range a.Attr {
		if a.Attr[i].Space != b.Attr[i].Space || a.Attr[i].Key != b.Attr[i].Key || a.Attr[i].Value != b.Attr[i].Value {
			return false
		}
	}
	for i, at := range a.Child {
		switch x := at.(type) {
		case *etree.Element:
			y, ok := b.Child[i].(*etree.Element)
			if !ok || !equalTree(x, y) {
				return false
			}
		case *etree.Comment:
			y, ok := b.Child[i].(*etree.Comment)
			if !ok || x.Data != y.Data {
				return false
			}
		case *etree.CharData:
			y, ok := b.Child[i].(*etree.CharData)
			if !ok || x.Data != y.Data {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func diffNode(old, new *etree.Element, deletes, rest *[]*etree.Element, ch *Changes, cr *creation) {
	if c := attrChange(old, new); c != nil {
		ch.Any = true
		if inConfig(AttrOr(c, "path", "")) {
			ch.Config = true
		}
		*rest = append(*rest, c)
	}

	oldKids, newKids := Children(old), Children(new)
	// Index the new children by (name, id) for the first-match rule of
	// pcmk__xml_match without a quadratic scan.
	type key struct {
		name, id string
		hasID    bool
	}
	first := make(map[key]*etree.Element, len(newKids))
	for _, nc := range newKids {
		id, has := Attr(nc, "id")
		k := key{elemName(nc), id, has}
		if _, ok := first[k]; !ok {
			first[k] = nc
		}
	}
	firstByName := make(map[string]*etree.Element, len(newKids))
	for _, nc := range newKids {
		if _, ok := firstByName[elemName(nc)]; !ok {
			firstByName[elemName(nc)] = nc
		}
	}
	lookup := func(oc *etree.Element) *etree.Element {
		id, has := Attr(oc, "id")
		if !has {
			return firstByName[elemName(oc)]
		}
		return first[key{elemName(oc), id, true}]
	}
	// Deleted children (reported with the path they had).
	matchedOld := map[*etree.Element]*etree.Element{}
	matchedNew := map[*etree.Element]*etree.Element{}
	for _, oc := range oldKids {
		nc := lookup(oc)
		if nc != nil && matchedNew[nc] == nil {
			matchedOld[oc], matchedNew[nc] = nc, oc
			continue
		}
		ch.Any = true
		p := ElementXPath(oc)
		if inConfig(p) {
			ch.Config = true
		}
		c := etree.NewElement("change")
		SetAttr(c, "operation", "delete")
		SetAttr(c, "path", p)
		*deletes = append(*deletes, c)
	}
	// Comments are compared as a whole list: any difference recreates them.
	diffComments(old, new, matchedOld, deletes, rest, ch)

	// Created and moved children, in the new order. A common child is
	// "moved" when its rank among the common children changed.
	var oldCommon []*etree.Element
	for _, oc := range oldKids {
		if matchedOld[oc] != nil {
			oldCommon = append(oldCommon, matchedOld[oc])
		}
	}
	rank := 0
	for _, nc := range newKids {
		oc := matchedNew[nc]
		if oc == nil {
			ch.Any = true
			p := ElementXPath(new)
			if inConfig(p+"/"+elemName(nc)) && !cr.isQuiet(nc) {
				ch.Config = true
			}
			c := etree.NewElement("change")
			SetAttr(c, "operation", "create")
			SetAttr(c, "path", p)
			SetAttr(c, "position", itoa(position(nc)))
			c.AddChild(nc.Copy())
			*rest = append(*rest, c)
			continue
		}
		if !equalTree(oc, nc) {
			diffNode(oc, nc, deletes, rest, ch, cr)
		}
		if oldCommon[rank] != nc {
			ch.Any = true
			if inConfig(ElementXPath(nc)) {
				ch.Config = true
			}
			c := etree.NewElement("change")
			SetAttr(c, "operation", "move")
			SetAttr(c, "path", ElementXPath(nc))
			SetAttr(c, "position", itoa(position(nc)))
			*rest = append(*rest, c)
			// Re-rank as if the move was applied.
			for i := rank; i < len(oldCommon); i++ {
				if oldCommon[i] == nc {
					copy(oldCommon[rank+1:i+1], oldCommon[rank:i])
					oldCommon[rank] = nc
					break
				}
			}
		}
		rank++
	}
}

// position is pcmk__xml_position: the index among element and comment
// siblings.
func position(e *etree.Element) int {
	p := e.Parent()
	if p == nil {
		return 0
	}
	i := 0
	for _, t := range p.Child {
		switch c := t.(type) {
		case *etree.Element:
			if c == e {
				return i
			}
			i++
		case *etree.Comment:
			i++
		}
	}
	return i
}

// comments lists the comments of e with their positions among the element
// and comment children, the identity pcmk__xc_match uses.
func comments(e *etree.Element, kept map[*etree.Element]*etree.Element) []string {
	var out []string
	i := 0
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.Element:
			if kept == nil || kept[c] != nil {
				i++
			}
		case *etree.Comment:
			out = append(out, itoa(i)+":"+c.Data)
			i++
		}
	}
	return out
}

func diffComments(old, new *etree.Element, kept map[*etree.Element]*etree.Element, deletes, rest *[]*etree.Element, ch *Changes) {
	// Compare positions among the elements both versions share: old ones
	// skip what this patch deletes, new ones what it creates.
	common := map[*etree.Element]*etree.Element{}
	for o, n := range kept {
		common[n] = o
	}
	oc, nc := comments(old, kept), comments(new, common)
	if strings.Join(oc, "\x00") == strings.Join(nc, "\x00") && len(oc) == len(nc) {
		return
	}
	ch.Any = true
	if inConfig(ElementXPath(new) + "/") {
		ch.Config = true
	}
	// Delete the old comments front to back. When they are applied, this
	// parent's deleted elements are already gone and so are the comments
	// before, so a comment's position counts only the surviving elements
	// before it (the skip flags of pcmk__xml_position).
	i := 0
	for _, t := range old.Child {
		switch x := t.(type) {
		case *etree.Element:
			if kept[x] != nil {
				i++
			}
		case *etree.Comment:
			c := etree.NewElement("change")
			SetAttr(c, "operation", "delete")
			SetAttr(c, "path", ElementXPath(old)+"/comment")
			SetAttr(c, "position", itoa(i))
			*deletes = append(*deletes, c)
		}
	}
	i = 0
	for _, t := range new.Child {
		switch x := t.(type) {
		case *etree.Element:
			i++
		case *etree.Comment:
			c := etree.NewElement("change")
			SetAttr(c, "operation", "create")
			SetAttr(c, "path", ElementXPath(new))
			SetAttr(c, "position", itoa(i))
			c.AddChild(etree.NewComment(x.Data))
			*rest = append(*rest, c)
			i++
		}
	}
}

// PatchVersions returns the source and target versions of a v2 patchset.
func PatchVersions(p *etree.Element) (src, tgt [3]int, err error) {
	v := FirstChild(p, "version")
	if v == nil {
		return src, tgt, fmt.Errorf("patchset has no version")
	}
	s, t := FirstChild(v, "source"), FirstChild(v, "target")
	for i, f := range versionFields {
		if s != nil {
			src[i] = AttrInt(s, f, 0)
		}
		if t != nil {
			tgt[i] = AttrInt(t, f, 0)
		}
	}
	return src, tgt, nil
}

// ApplyPatchset applies a v2 patchset to doc in place, like
// xml_apply_patchset: with checkVersion the patch's source version must be
// the document's (ErrDiffResync if the document is behind, ErrOldData if it
// is ahead or the patch changes no version); a digest, when present, must
// match the result (ErrDiffFailed).
func ApplyPatchset(doc, patch *etree.Element, checkVersion bool) Rc {
	if patch == nil {
		return OK
	}
	if AttrInt(patch, "format", 1) != 2 {
		return EINVAL
	}
	if checkVersion {
		if rc := patchVersionCheck(doc, patch); rc != OK {
			return rc
		}
	}
	rc := applyV2(doc, patch)
	if rc == OK {
		if d, ok := Attr(patch, "digest"); ok {
			if DigestVersioned(doc, AttrOr(doc, "crm_feature_set", "")) != d {
				return ErrDiffFailed
			}
		}
	}
	return rc
}

func patchVersionCheck(doc, patch *etree.Element) Rc {
	var this, add, del [3]int
	for i, f := range versionFields {
		this[i] = AttrInt(doc, f, 0)
		if this[i] < 0 {
			this[i] = 0
		}
	}
	add, del = this, this
	add[2]++
	if v := FirstChild(patch, "version"); v != nil {
		if s := FirstChild(v, "source"); s != nil {
			for i, f := range versionFields {
				del[i] = AttrInt(s, f, del[i])
			}
		}
		if t := FirstChild(v, "target"); t != nil {
			for i, f := range versionFields {
				add[i] = AttrInt(t, f, add[i])
			}
		}
	}
	for i := range versionFields {
		if this[i] < del[i] {
			return ErrDiffResync
		}
		if this[i] > del[i] {
			return ErrOldData
		}
	}
	for i := range versionFields {
		if add[i] > del[i] {
			return OK
		}
	}
	return ErrOldData
}

// searchV2Path resolves the simplified paths of v2 patchsets
// (/tag[@id='x']/tag…), like patchset.c search_v2_xpath. A trailing
// "comment" component with position >= 0 selects the comment there.
func searchV2Path(doc *etree.Element, path string, position int) (*etree.Element, *etree.Comment) {
	if !strings.HasPrefix(path, "/") {
		return nil, nil
	}
	parts := splitPath(path[1:])
	var cur *etree.Element
	for i, part := range parts {
		tag, id, hasID := part, "", false
		if j := strings.Index(part, "[@id='"); j >= 0 && strings.HasSuffix(part, "']") {
			tag, id, hasID = part[:j], part[j+6:len(part)-2], true
		}
		last := i == len(parts)-1
		if cur == nil {
			if elemName(doc) != tag || (hasID && ID(doc) != id) {
				return nil, nil
			}
			cur = doc
			continue
		}
		if last && tag == "comment" && position >= 0 {
			k := 0
			for _, t := range cur.Child {
				switch c := t.(type) {
				case *etree.Element:
					k++
				case *etree.Comment:
					if k == position {
						return cur, c
					}
					k++
				}
			}
			return nil, nil
		}
		var next *etree.Element
		for _, c := range cur.ChildElements() {
			if elemName(c) != tag {
				continue
			}
			if hasID && ID(c) != id {
				continue
			}
			next = c
			break
		}
		if next == nil {
			return nil, nil
		}
		cur = next
	}
	return cur, nil
}

// splitPath splits on "/" outside of [...] predicates.
func splitPath(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '/':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

type pendingChange struct {
	change *etree.Element
	match  *etree.Element
	pos    int
	order  int
}

func applyV2(doc, patch *etree.Element) Rc {
	rc := OK
	var pending []pendingChange
	for idx, change := range patch.ChildElements() {
		if change.Tag != "change" {
			continue
		}
		op, ok := Attr(change, "operation")
		if !ok {
			continue
		}
		path := AttrOr(change, "path", "")
		position := -1
		if op == "delete" {
			position = AttrInt(change, "position", -1)
		}
		match, comment := searchV2Path(doc, path, position)
		if comment != nil && op == "delete" {
			match.RemoveChild(comment)
			continue
		}
		switch {
		case match == nil && op == "delete":
			continue
		case match == nil:
			rc = ErrDiffFailed
			continue
		}
		switch op {
		case "create", "move":
			pending = append(pending, pendingChange{change, match, AttrInt(change, "position", 0), idx})
			if op == "move" && match.Parent() != nil {
				p := match.Parent()
				p.RemoveChild(match)
				p.AddChild(match)
			}
		case "delete":
			if p := match.Parent(); p != nil {
				p.RemoveChild(match)
			} else {
				rc = EINVAL
			}
		case "modify":
			res := FirstChild(change, "change-result")
			var attrs *etree.Element
			if res != nil {
				if k := res.ChildElements(); len(k) > 0 {
					attrs = k[0]
				}
			}
			if attrs == nil {
				rc = ENOMSG
				continue
			}
			match.Attr = nil
			for _, a := range attrs.Attr {
				SetAttr(match, attrName(a), a.Value)
			}
		default:
			rc = ErrDiffFailed
		}
	}
	sort.SliceStable(pending, func(i, j int) bool { return pending[i].pos < pending[j].pos })
	for _, pc := range pending {
		match := pc.match
		if pc.change.SelectAttrValue("operation", "") == "create" {
			var payload etree.Token
			for _, t := range pc.change.Child {
				switch t.(type) {
				case *etree.Element, *etree.Comment:
					payload = t
				}
				if payload != nil {
					break
				}
			}
			if payload == nil {
				rc = ErrDiffFailed
				continue
			}
			var child etree.Token
			switch x := payload.(type) {
			case *etree.Element:
				child = x.Copy()
			case *etree.Comment:
				child = etree.NewComment(x.Data)
			}
			insertAtPosition(match, child, pc.pos)
			continue
		}
		// move
		p := match.Parent()
		if p == nil {
			continue
		}
		if position(match) != pc.pos {
			p.RemoveChild(match)
			insertAtPosition(p, match, pc.pos)
		}
		if position(match) != pc.pos {
			rc = ErrDiffFailed
		}
	}
	return rc
}

// insertAtPosition puts child before the node now at position pos among
// parent's element/comment children, or at the end.
func insertAtPosition(parent *etree.Element, child etree.Token, pos int) {
	k := 0
	for i, t := range parent.Child {
		switch t.(type) {
		case *etree.Element, *etree.Comment:
			if k == pos {
				parent.InsertChildAt(i, child)
				return
			}
			k++
		}
	}
	parent.AddChild(child)
}
