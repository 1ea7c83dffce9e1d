package cib

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// ParseXML parses CIB (or any Pacemaker) XML text the way Pacemaker's
// string2xml/filename2xml do with XML_PARSE_NOBLANKS followed by
// pcmk__strip_xml_text: text nodes are dropped everywhere, comments are kept.
// It returns the root element detached from its document.
func ParseXML(data []byte) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("parse XML: %w", err)
	}
	root := doc.Root()
	if root == nil {
		return nil, fmt.Errorf("parse XML: no root element")
	}
	doc.RemoveChild(root)
	StripText(root)
	normalizeAttrs(root)
	return root, nil
}

// normalizeAttrs applies XML attribute-value normalization (XML 1.0 §3.3.3),
// which libxml2 performs and encoding/xml does not: literal tab, CR and LF
// in a value become spaces. (A character reference such as &#10; should
// survive as a real newline; encoding/xml hides the difference, so such
// values are normalized too, a known, rare divergence.)
func normalizeAttrs(e *etree.Element) {
	for i := range e.Attr {
		v := e.Attr[i].Value
		if strings.ContainsAny(v, "\t\r\n") {
			v = strings.ReplaceAll(v, "\r\n", " ")
			v = strings.Map(func(r rune) rune {
				if r == '\t' || r == '\r' || r == '\n' {
					return ' '
				}
				return r
			}, v)
			e.Attr[i].Value = v
		}
	}
	for _, c := range e.ChildElements() {
		normalizeAttrs(c)
	}
}

// ParseXMLString is ParseXML for a string.
func ParseXMLString(s string) (*etree.Element, error) { return ParseXML([]byte(s)) }

// StripText removes every text/CDATA node below el (comments stay), matching
// pcmk__strip_xml_text.
func StripText(el *etree.Element) {
	// Remove back to front through etree's API so its child indexes stay
	// consistent.
	for i := len(el.Child) - 1; i >= 0; i-- {
		switch c := el.Child[i].(type) {
		case *etree.CharData, *etree.ProcInst, *etree.Directive:
			el.RemoveChildAt(i)
		case *etree.Element:
			StripText(c)
		}
	}
}

// attrName returns the qualified name of an attribute as libxml2 reports it
// (prefix:local).
func attrName(a etree.Attr) string {
	if a.Space != "" {
		return a.Space + ":" + a.Key
	}
	return a.Key
}

func elemName(e *etree.Element) string {
	if e.Space != "" {
		return e.Space + ":" + e.Tag
	}
	return e.Tag
}

// Attr returns the value of attribute name and whether it is present.
func Attr(e *etree.Element, name string) (string, bool) {
	for _, a := range e.Attr {
		if attrName(a) == name {
			return a.Value, true
		}
	}
	return "", false
}

// AttrOr returns the attribute value or def.
func AttrOr(e *etree.Element, name, def string) string {
	if v, ok := Attr(e, name); ok {
		return v
	}
	return def
}

// ID returns the id attribute ("" when absent).
func ID(e *etree.Element) string { v, _ := Attr(e, "id"); return v }

// SetAttr sets (or adds at the end) an attribute, like crm_xml_add.
func SetAttr(e *etree.Element, name, value string) {
	for i, a := range e.Attr {
		if attrName(a) == name {
			e.Attr[i].Value = value
			return
		}
	}
	space, key := "", name
	if i := strings.IndexByte(name, ':'); i > 0 {
		space, key = name[:i], name[i+1:]
	}
	e.Attr = append(e.Attr, etree.Attr{Space: space, Key: key, Value: value})
}

// RemoveAttr deletes an attribute if present.
func RemoveAttr(e *etree.Element, name string) {
	for i, a := range e.Attr {
		if attrName(a) == name {
			e.Attr = append(e.Attr[:i], e.Attr[i+1:]...)
			return
		}
	}
}

// AttrInt parses an integer attribute like crm_element_value_int (atoi
// semantics: leading digits, 0 on garbage), returning def when absent.
func AttrInt(e *etree.Element, name string, def int) int {
	v, ok := Attr(e, name)
	if !ok {
		return def
	}
	return atoi(v)
}

func atoi(s string) int {
	s = strings.TrimLeft(s, " \t\n")
	n, i, neg := 0, 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<40 {
			break
		}
	}
	if neg {
		n = -n
	}
	return n
}

// Children returns the element children of e.
func Children(e *etree.Element) []*etree.Element { return e.ChildElements() }

// FirstChild returns the first child element named name, or nil
// (find_xml_node / first_named_child).
func FirstChild(e *etree.Element, name string) *etree.Element {
	for _, c := range e.ChildElements() {
		if elemName(c) == name {
			return c
		}
	}
	return nil
}

// MatchChild is pcmk__xe_match: the first child named name whose attribute
// attr equals value (any child of that name when attr is "").
func MatchChild(parent *etree.Element, name, attr, value string) *etree.Element {
	for _, c := range parent.ChildElements() {
		if elemName(c) != name {
			continue
		}
		if attr == "" {
			return c
		}
		if v, ok := Attr(c, attr); ok && v == value {
			return c
		}
	}
	return nil
}

// Serialize renders XML exactly as Pacemaker's pcmk__xml2text does without
// the full-fledged (libxml2) path: attributes in document order escaped by
// crm_xml_escape, children nested, comments kept, text dropped. With
// formatted, every node sits on its own line indented by two spaces per level
// (dump_xml_formatted, what cibadmin prints); without, everything is on one
// line (dump_xml_unformatted, the IPC payload form).
func Serialize(e *etree.Element, formatted bool) string {
	var b bytes.Buffer
	writeNode(&b, e, formatted, 0, false)
	return b.String()
}

func writeNode(b *bytes.Buffer, e *etree.Element, formatted bool, depth int, filtered bool) {
	indent := func(d int) {
		if formatted {
			for i := 0; i < 2*d; i++ {
				b.WriteByte(' ')
			}
		}
	}
	indent(depth)
	b.WriteByte('<')
	b.WriteString(elemName(e))
	for _, a := range e.Attr {
		n := attrName(a)
		if filtered && isFilterable(n) {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(Escape(a.Value))
		b.WriteByte('"')
	}
	// libxml keeps stripped-away nothing: our tree has only elements and
	// comments, so "has children" equals "has tokens".
	hasChildren := false
	for _, t := range e.Child {
		switch t.(type) {
		case *etree.Element, *etree.Comment:
			hasChildren = true
		}
	}
	if !hasChildren {
		b.WriteString("/>")
	} else {
		b.WriteByte('>')
	}
	if formatted {
		b.WriteByte('\n')
	}
	if !hasChildren {
		return
	}
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.Element:
			writeNode(b, c, formatted, depth+1, filtered)
		case *etree.Comment:
			indent(depth + 1)
			b.WriteString("<!--")
			b.WriteString(c.Data)
			b.WriteString("-->")
			if formatted {
				b.WriteByte('\n')
			}
		}
	}
	indent(depth)
	b.WriteString("</")
	b.WriteString(elemName(e))
	b.WriteByte('>')
	if formatted {
		b.WriteByte('\n')
	}
}

// isFilterable lists the attributes pcmk__xa_filterable hides from v2
// digests: they change on every write without changing meaning.
func isFilterable(name string) bool {
	switch name {
	case "origin", "cib-last-written", "update-origin", "update-client", "update-user":
		return true
	}
	return false
}

// Escape reproduces crm_xml_escape byte for byte, including its quirks:
// tab becomes four spaces, newline and carriage return become the two
// characters \n and \r, other control bytes become \ooo octal, and as soon as
// two consecutive bytes with the high bit set are seen (a UTF-8 sequence) the
// rest of the value is copied unescaped.
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c&0x80 != 0 && i+1 < len(s) && s[i+1]&0x80 != 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		switch c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '&':
			b.WriteString("&amp;")
		case '\t':
			b.WriteString("    ")
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < ' ' || c > '~' {
				// C's char is signed: a lone high byte prints as the octal of
				// a negative int seen as unsigned ("%.3o" is a minimum width).
				fmt.Fprintf(&b, "\\%.3o", uint32(int32(int8(c))))
			} else {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}
