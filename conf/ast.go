package conf

import (
	"strings"
)

// Format returns the file's bytes: the input unchanged where nothing was
// edited, comments, blank lines and order included.
func (f *File) Format() []byte {
	var b strings.Builder
	for _, c := range f.Root.Children {
		c.format(&b)
	}
	return []byte(b.String())
}

func (n *Node) format(b *strings.Builder) {
	switch n.Kind {
	case KindRaw:
		b.WriteString(n.raw)
	case KindKey:
		if n.dirty {
			b.WriteString(leadingBlanks(n.raw) + n.Name + ": " + n.Value + lineEnding(n.raw))
		} else {
			b.WriteString(n.raw)
		}
	case KindSection:
		b.WriteString(n.raw)
		for _, c := range n.Children {
			c.format(b)
		}
		b.WriteString(n.closeRaw)
	}
}

func leadingBlanks(s string) string {
	return s[:len(s)-len(strings.TrimLeft(s, " \t"))]
}

func lineEnding(s string) string {
	switch {
	case strings.HasSuffix(s, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(s, "\n"):
		return "\n"
	}
	return ""
}

// Section returns the first section with the given dotted path ("totem",
// "totem.interface", "nodelist"), or nil.
func (f *File) Section(path string) *Node {
	n := f.Root
	for _, part := range strings.Split(path, ".") {
		n = n.child(KindSection, part)
		if n == nil {
			return nil
		}
	}
	return n
}

// Sections returns every child section of n with the given name, in order
// (the "node" entries of "nodelist", the "interface" entries of "totem").
func (n *Node) Sections(name string) []*Node {
	var out []*Node
	for _, c := range n.Children {
		if c.Kind == KindSection && c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func (n *Node) child(kind NodeKind, name string) *Node {
	for _, c := range n.Children {
		if c.Kind == kind && c.Name == name {
			return c
		}
	}
	return nil
}

// Get returns the value of key in section n (the last one wins, as in cmap).
func (n *Node) Get(key string) (string, bool) {
	val, ok := "", false
	for _, c := range n.Children {
		if c.Kind == KindKey && c.Name == key {
			val, ok = c.Value, true
		}
	}
	return val, ok
}

// Set changes the value of key in section n, or appends "key: value" before
// the section's closing brace with the indentation of its other lines.
func (n *Node) Set(key, value string) {
	var last *Node
	for _, c := range n.Children {
		if c.Kind == KindKey && c.Name == key {
			last = c
		}
	}
	if last != nil {
		if last.Value != value {
			last.Value = value
			last.dirty = true
		}
		return
	}
	n.Children = append(n.Children, &Node{Kind: KindKey, Name: key, Value: value, dirty: true,
		raw: n.childIndent() + key + ": " + value + n.lineEnding()})
}

// Delete removes every "key: ..." line of section n and reports whether one
// existed.
func (n *Node) Delete(key string) bool {
	kept := n.Children[:0]
	found := false
	for _, c := range n.Children {
		if c.Kind == KindKey && c.Name == key {
			found = true
			continue
		}
		kept = append(kept, c)
	}
	n.Children = kept
	return found
}

// AddSection appends an empty "name {" ... "}" block to section n and
// returns it.
func (n *Node) AddSection(name string) *Node {
	indent := n.childIndent()
	eol := n.lineEnding()
	s := &Node{Kind: KindSection, Name: name, raw: indent + name + " {" + eol, closeRaw: indent + "}" + eol}
	n.Children = append(n.Children, s)
	return s
}

// RemoveChild removes child c (a key, a section or a raw line) from n.
func (n *Node) RemoveChild(c *Node) bool {
	for i, x := range n.Children {
		if x == c {
			n.Children = append(n.Children[:i], n.Children[i+1:]...)
			return true
		}
	}
	return false
}

// childIndent guesses the indentation of a new line inside n from its
// existing non-blank lines, else one tab more than n itself.
func (n *Node) childIndent() string {
	for _, c := range n.Children {
		if c.Kind != KindRaw {
			return leadingBlanks(c.raw)
		}
	}
	if n.raw == "" { // root
		return ""
	}
	return leadingBlanks(n.raw) + "\t"
}

func (n *Node) lineEnding() string {
	if e := lineEnding(n.raw); e != "" {
		return e
	}
	for _, c := range n.Children {
		if e := lineEnding(c.raw); e != "" {
			return e
		}
	}
	return "\n"
}

// Check loads the (possibly edited) file as Load would, so an editor can
// refuse a change corosync would refuse before writing it.
func (f *File) Check(env *Env, opt Options) (*Config, []Warning, error) {
	return LoadBytes(f.Name, f.Format(), env, opt)
}
