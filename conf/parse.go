package conf

import (
	"bytes"
	"fmt"
	"strings"
)

// This file is the corosync.conf reader. It follows corosync 3.1.7
// exec/coroparse.c:parse_section line for line in what it accepts and in the
// error it gives, because a drop-in must refuse exactly what corosync refuses
// and accept exactly what it accepts:
//
//   - the file is read with fgets into a 512-byte buffer, so a line of 511 or
//     more bytes (counting a '\r', not the '\n') is "Line too long";
//   - one trailing '\n' and then one '\r' are dropped, then trailing blanks;
//   - a line whose first non-blank byte is '#' is a comment; a '#' anywhere
//     else is data ("token: 3000 # s" has the value "3000 # s");
//   - a '{' anywhere makes the line a section opener (checked before ':'),
//     then a ':' makes it a key/value line, then a '}' a closer;
//   - section names and keys lose trailing blanks, ':' and '{'; values keep
//     everything after the first ':' and its following blanks (quotes too).
//
// The syntax tree keeps every physical line verbatim so that Format gives the
// same bytes back and edits touch only the lines they change.

// KeyNameMax is ICMAP_KEYNAME_MAXLEN: the longest cmap key name.
const KeyNameMax = 255

// lineBufSize is the fgets buffer of parse_section (char line[512]).
const lineBufSize = 512

// NodeKind tells what a Node is.
type NodeKind uint8

const (
	// KindRaw is a line that carries no data: blank or comment.
	KindRaw NodeKind = iota
	// KindKey is a "key: value" line.
	KindKey
	// KindSection is a "name {" ... "}" block.
	KindSection
)

// Node is one element of a corosync.conf file.
type Node struct {
	Kind NodeKind
	// Name is the key or the section name as coroparse sees it (trimmed).
	Name string
	// Value is the value of a key line, verbatim after the colon and blanks.
	Value string
	// Line is the 1-based line of the key or of the section opener.
	Line int
	// EndLine is the line of a section's closing brace.
	EndLine int
	// Children are the lines inside a section, in file order.
	Children []*Node

	raw      string // the physical line(s) as read, with terminator
	closeRaw string // a section's closing-brace line
	dirty    bool   // Value changed: raw must be re-rendered
}

// File is a parsed corosync.conf: a section-less root holding the top-level
// lines. Format returns the file's bytes; unmodified, they equal the input.
type File struct {
	// Name is the path used in messages ("parser error: NAME:LINE: ...").
	Name string
	Root *Node
	// Lines is the number of lines read.
	Lines int
}

// ParseError is a syntax or value error found while reading the file, worded
// as coroparse words it. Error() is the exact line corosync prints to stderr.
type ParseError struct {
	File string
	Line int
	// Key is the cmap key the error is about, when there is one.
	Key string
	Msg string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("parser error: %s:%d: %s", e.File, e.Line, e.Msg)
}

// eventKind mirrors coroparse's parser_cb_type.
type eventKind uint8

const (
	evSectionStart eventKind = iota
	evSectionEnd
	evItem
)

// event is one parser callback: the full dotted path, the bare key and the
// value (items), at a line.
type event struct {
	kind  eventKind
	path  string
	key   string
	value string
	line  int
}

// visitor receives parser events in file order; a non-empty message stops
// the parse with that message at the event's line (coroparse's callback
// returning 0 with *error_string set).
type visitor interface {
	// sectionStart returns the state for the lines inside the section.
	sectionStart(path string, state int, line int) (newState int, msg string)
	sectionEnd(path string, state int, line int) string
	item(path, key, value string, state int, line int) string
}

// Parse reads a corosync.conf into a syntax tree. name is the path shown in
// messages. It checks only the syntax; Load also applies coroparse's key
// rules (types and allowed values) in the same pass.
func Parse(name string, data []byte) (*File, error) {
	return parse(name, data, nil)
}

type lineReader struct {
	data []byte
	pos  int
}

// next emulates fgets(line, 512, fp): it returns the next chunk (at most 511
// bytes, up to and including '\n'), the raw bytes consumed, and whether the
// read hit end of file (feof).
func (r *lineReader) next() (chunk []byte, ok bool, eof bool) {
	if r.pos >= len(r.data) {
		return nil, false, true
	}
	rest := r.data[r.pos:]
	n := len(rest)
	if n > lineBufSize-1 {
		n = lineBufSize - 1
	}
	if i := bytes.IndexByte(rest[:n], '\n'); i >= 0 {
		n = i + 1
		chunk = rest[:n]
		r.pos += n
		return chunk, true, false
	}
	chunk = rest[:n]
	r.pos += n
	// fgets only sees end of file when it asks for more than is left.
	eof = n < lineBufSize-1 && r.pos >= len(r.data)
	return chunk, true, eof
}

// cString cuts b at its first NUL, as C string functions see it.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// removeWhitespace is coroparse's remove_whitespace: leading blanks go,
// trailing blanks (and ':' and '{' when asked) go, but never the first byte.
func removeWhitespace(s string, colonAndBrace bool) string {
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	s = s[i:]
	end := len(s) - 1
	for end > 0 {
		c := s[end]
		if isBlank(c) || (colonAndBrace && (c == ':' || c == '{')) {
			end--
			continue
		}
		break
	}
	if end < 0 {
		return ""
	}
	return s[:end+1]
}

// splitAt is strchr_rs plus the "*(loc-1) = '\0'" that follows it: it finds
// the first c, skips the blanks after it, and returns the text before the
// byte preceding that point and the text from that point on.
func splitAt(line string, c byte) (before, after string, ok bool) {
	i := strings.IndexByte(line, c)
	if i < 0 {
		return "", "", false
	}
	j := i + 1
	for j < len(line) && isBlank(line[j]) {
		j++
	}
	return line[:j-1], line[j:], true
}

func parse(name string, data []byte, v visitor) (*File, error) {
	f := &File{Name: name, Root: &Node{Kind: KindSection}}
	r := &lineReader{data: data}
	lineNo := 0
	type frame struct {
		node  *Node
		path  string
		state int
	}
	stack := []frame{{node: f.Root, path: "", state: 0}}
	errAt := func(msg, key string) error {
		f.Lines = lineNo
		return &ParseError{File: name, Line: lineNo, Key: key, Msg: msg}
	}
	for {
		chunk, ok, eof := r.next()
		if !ok {
			break
		}
		lineNo++
		top := &stack[len(stack)-1]
		raw := string(chunk)
		line := cString(chunk)
		if len(line) > 0 {
			if line[len(line)-1] != '\n' && !eof {
				return f, errAt("Line too long", "")
			}
			line = strings.TrimSuffix(line, "\n")
			line = strings.TrimSuffix(line, "\r")
		}
		line = strings.TrimRight(line, " \t")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			top.node.Children = append(top.node.Children, &Node{Kind: KindRaw, Line: lineNo, raw: raw})
			continue
		}
		if before, after, ok := splitAt(line, '{'); ok {
			section := removeWhitespace(before, true)
			rest := removeWhitespace(after, false)
			if section == "" {
				return f, errAt("Missing section name before opening bracket '{'", "")
			}
			if rest != "" {
				return f, errAt("Extra characters after opening bracket '{'", "")
			}
			if len(top.path)+len(section)+1 >= KeyNameMax {
				return f, errAt("Start of section makes total cmap path too long", "")
			}
			path := joinPath(top.path, section)
			newState := top.state
			if v != nil {
				var msg string
				newState, msg = v.sectionStart(path, top.state, lineNo)
				if msg != "" {
					return f, errAt(msg, path)
				}
			}
			n := &Node{Kind: KindSection, Name: section, Line: lineNo, raw: raw}
			top.node.Children = append(top.node.Children, n)
			stack = append(stack, frame{node: n, path: path, state: newState})
			continue
		}
		if before, after, ok := splitAt(line, ':'); ok {
			key := removeWhitespace(before, true)
			value := removeWhitespace(after, false)
			if len(top.path)+len(key)+1 >= KeyNameMax {
				return f, errAt("New key makes total cmap path too long", "")
			}
			path := joinPath(top.path, key)
			if v != nil {
				if msg := v.item(path, key, value, top.state, lineNo); msg != "" {
					return f, errAt(msg, path)
				}
			}
			top.node.Children = append(top.node.Children, &Node{Kind: KindKey, Name: key, Value: value, Line: lineNo, raw: raw})
			continue
		}
		if strings.IndexByte(line, '}') >= 0 {
			if removeWhitespace(line, false) != "}" {
				return f, errAt("Extra characters before or after closing bracket '}'", "")
			}
			if len(stack) == 1 {
				return f, errAt("Unexpected closing brace", "")
			}
			if v != nil {
				if msg := v.sectionEnd(top.path, top.state, lineNo); msg != "" {
					return f, errAt(msg, top.path)
				}
			}
			top.node.EndLine = lineNo
			top.node.closeRaw = raw
			stack = stack[:len(stack)-1]
			continue
		}
		return f, errAt("Line is not opening or closing section or key value", "")
	}
	f.Lines = lineNo
	if len(stack) > 1 {
		return f, errAt("Missing closing brace", "")
	}
	return f, nil
}

// joinPath is how parse_section builds cmap paths: "a" + "." + "b".
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
