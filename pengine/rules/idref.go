package rules

import "github.com/beevik/etree"

// resolveIDRef is expand_idref: an element carrying id-ref stands for the
// one element of the same tag whose id it names, searched in the whole
// document (upstream's "//tag[@id='ref']" ignores where the search starts).
// nil when there is no such element or more than one.
func resolveIDRef(x *etree.Element) *etree.Element {
	ref := x.SelectAttr("id-ref")
	if ref == nil {
		return x
	}
	root := x
	for p := root.Parent(); p != nil; p = p.Parent() {
		root = p
	}
	var found *etree.Element
	n := 0
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range e.ChildElements() {
			if n > 1 {
				return
			}
			if c.Tag == x.Tag {
				if id := c.SelectAttr("id"); id != nil && id.Value == ref.Value {
					found = c
					n++
				}
			}
			walk(c)
		}
	}
	if root.Tag == x.Tag {
		if id := root.SelectAttr("id"); id != nil && id.Value == ref.Value {
			found = root
			n++
		}
	}
	walk(root)
	if n != 1 {
		return nil
	}
	return found
}

// ResolveIDRef returns the element x stands for: x itself, or the element
// its id-ref names (nil if that is not exactly one element).
func ResolveIDRef(x *etree.Element) *etree.Element { return resolveIDRef(x) }
