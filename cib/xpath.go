package cib

import (
	"fmt"

	"github.com/antchfx/xpath"
	"github.com/beevik/etree"
)

// XPath support. Pacemaker evaluates full XPath 1.0 (libxml2) for cibadmin
// -A/--xpath, crm_attribute's generated queries (with "and", "or",
// starts-with()…) and ACL rules, which etree's path subset cannot express,
// so we evaluate with github.com/antchfx/xpath over a navigator on etree.

// SelectXPath returns the elements of the tree under root (root being the
// document element) matched by expr, in document order. Matches that are not
// elements (attributes, text) are mapped to their owning element, as
// Pacemaker's getXpathResult does.
func SelectXPath(root *etree.Element, expr string) ([]*etree.Element, error) {
	x, err := xpath.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("xpath %q: %w", expr, err)
	}
	nav := &navigator{root: root, cur: nil}
	it := x.Select(nav)
	var out []*etree.Element
	seen := map[*etree.Element]bool{}
	for i := 0; it.MoveNext() && i < 1<<20; i++ {
		n := it.Current().(*navigator)
		e := n.cur
		if e == nil {
			e = root
		}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// navigator implements xpath.NodeNavigator. cur == nil means the document
// node (the parent of root); attr >= 0 selects an attribute of cur; comment
// is set when positioned on a comment child of cur.
type navigator struct {
	root    *etree.Element
	cur     *etree.Element
	attr    int
	comment *etree.Comment
	atAttr  bool
}

func (n *navigator) NodeType() xpath.NodeType {
	switch {
	case n.comment != nil:
		return xpath.CommentNode
	case n.atAttr:
		return xpath.AttributeNode
	case n.cur == nil:
		return xpath.RootNode
	}
	return xpath.ElementNode
}

func (n *navigator) LocalName() string {
	switch {
	case n.comment != nil, n.cur == nil:
		return ""
	case n.atAttr:
		return n.cur.Attr[n.attr].Key
	}
	return n.cur.Tag
}

func (n *navigator) Prefix() string {
	switch {
	case n.comment != nil, n.cur == nil:
		return ""
	case n.atAttr:
		return n.cur.Attr[n.attr].Space
	}
	return n.cur.Space
}

func (n *navigator) Value() string {
	switch {
	case n.comment != nil:
		return n.comment.Data
	case n.atAttr:
		return n.cur.Attr[n.attr].Value
	}
	// Element string value: concatenated text, which we strip; empty.
	return ""
}

func (n *navigator) Copy() xpath.NodeNavigator { c := *n; return &c }

func (n *navigator) MoveToRoot() { *n = navigator{root: n.root} }

func (n *navigator) MoveToParent() bool {
	switch {
	case n.comment != nil:
		n.comment = nil
		return true
	case n.atAttr:
		n.atAttr = false
		return true
	case n.cur == nil:
		return false
	case n.cur == n.root:
		n.cur = nil
		return true
	}
	n.cur = n.cur.Parent()
	return true
}

func (n *navigator) MoveToNextAttribute() bool {
	if n.cur == nil || n.comment != nil {
		return false
	}
	next := 0
	if n.atAttr {
		next = n.attr + 1
	}
	if next >= len(n.cur.Attr) {
		return false
	}
	n.attr, n.atAttr = next, true
	return true
}

// children lists the navigable children (elements and comments) of e, or
// just root for the document node.
func (n *navigator) children(e *etree.Element) []etree.Token {
	if e == nil {
		return []etree.Token{n.root}
	}
	var out []etree.Token
	for _, t := range e.Child {
		switch t.(type) {
		case *etree.Element, *etree.Comment:
			out = append(out, t)
		}
	}
	return out
}

func (n *navigator) moveToToken(parent *etree.Element, t etree.Token) {
	switch c := t.(type) {
	case *etree.Element:
		n.cur, n.comment = c, nil
	case *etree.Comment:
		n.cur, n.comment = parent, c
	}
	n.atAttr = false
}

func (n *navigator) MoveToChild() bool {
	if n.atAttr || n.comment != nil {
		return false
	}
	kids := n.children(n.cur)
	if len(kids) == 0 {
		return false
	}
	n.moveToToken(n.cur, kids[0])
	return true
}

// position returns the parent and the index of the current node among its
// parent's navigable children.
func (n *navigator) position() (*etree.Element, []etree.Token, int) {
	var parent *etree.Element
	var self etree.Token
	if n.comment != nil {
		parent, self = n.cur, n.comment
	} else {
		if n.cur == nil || n.cur == n.root {
			return nil, nil, -1
		}
		parent, self = n.cur.Parent(), n.cur
	}
	kids := n.children(parent)
	for i, k := range kids {
		if k == self {
			return parent, kids, i
		}
	}
	return parent, kids, -1
}

func (n *navigator) MoveToFirst() bool {
	if n.atAttr {
		return false
	}
	parent, kids, i := n.position()
	if i < 0 {
		return false
	}
	n.moveToToken(parent, kids[0])
	return true
}

func (n *navigator) MoveToNext() bool {
	if n.atAttr {
		return false
	}
	parent, kids, i := n.position()
	if i < 0 || i+1 >= len(kids) {
		return false
	}
	n.moveToToken(parent, kids[i+1])
	return true
}

func (n *navigator) MoveToPrevious() bool {
	if n.atAttr {
		return false
	}
	parent, kids, i := n.position()
	if i <= 0 {
		return false
	}
	n.moveToToken(parent, kids[i-1])
	return true
}

func (n *navigator) MoveTo(other xpath.NodeNavigator) bool {
	o, ok := other.(*navigator)
	if !ok || o.root != n.root {
		return false
	}
	*n = *o
	return true
}
