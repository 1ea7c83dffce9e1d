package cibadmin

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"

	"github.com/beevik/etree"

	"ringmaster/cib"
)

// cibadmin --show-access (lib/pacemaker/pcmk_acl.c): every element and
// attribute is put in a namespace naming the user's access to it, and
// Pacemaker's access-render-2.xsl turns that into text, colours or
// prefixed XML. We render with xsltproc and the installed stylesheet.

const accessNS = "http://clusterlabs.org/ns/pacemaker/access/"

var renderParams = map[string][]string{
	"text": {
		"accessrendercfg:c-writable", "vvv---[ WRITABLE ]---vvv",
		"accessrendercfg:c-readable", "vvv---[ READABLE ]---vvv",
		"accessrendercfg:c-denied", "vvv---[ ~DENIED~ ]---vvv",
		"accessrendercfg:c-reset", "",
		"accessrender:extra-spacing", "yes",
		"accessrender:self-reproducing-prefix", "",
	},
	// ESC cannot travel through XSLT parameters (XML 1.0 text), so the
	// colours go in as placeholders and are substituted afterwards, the
	// trick the stylesheet's own comment describes.
	"color": {
		"accessrendercfg:c-writable", "%%ansi-green%%",
		"accessrendercfg:c-readable", "%%ansi-blue%%",
		"accessrendercfg:c-denied", "%%ansi-red%%",
		"accessrendercfg:c-reset", "%%ansi-reset%%",
		"accessrender:extra-spacing", "no",
		"accessrender:self-reproducing-prefix", "pcmk-access-",
	},
	"namespace": {
		"accessrendercfg:c-writable", "pcmk-access-writable:",
		"accessrendercfg:c-readable", "pcmk-access-readable:",
		"accessrendercfg:c-denied", "pcmk-access-denied:",
		"accessrendercfg:c-reset", "",
		"accessrender:extra-spacing", "no",
		"accessrender:self-reproducing-prefix", "pcmk-access-",
	},
}

// errAccess carries the rc text cibadmin prints.
type errAccess struct{ rc string }

func (e errAccess) Error() string { return e.rc }

// renderAccess returns the rendered document for user.
func renderAccess(doc *etree.Element, user, how string) (string, error) {
	if strings.ContainsAny(user, "<>&") {
		return "", errAccess{"Invalid argument"}
	}
	acl := cib.ACLForUser(doc, user)
	if acl == nil {
		return "", errAccess{"Already in requested state"}
	}
	// get_schema_version treats a missing validate-with as "none".
	if cib.SchemaIndex(cib.AttrOr(doc, "validate-with", "none")) < cib.SchemaIndex("pacemaker-3.0") {
		return "", errAccess{"Update does not conform to the configured schema"}
	}
	class := acl.Access(doc)
	var order []string
	seen := map[string]bool{}
	var b strings.Builder
	var walk func(e *etree.Element, depth int)
	walk = func(e *etree.Element, depth int) {
		c := class(e)
		if !seen[c] {
			seen[c] = true
			order = append(order, c)
		}
		ind := strings.Repeat("  ", depth)
		b.WriteString(ind + "<pcmk-access-" + c + ":" + e.Tag)
		if depth == 0 {
			b.WriteString("\x00NS\x00")
		}
		for _, a := range e.Attr {
			fmt.Fprintf(&b, " pcmk-access-%s:%s=\"%s\"", c, a.Key, xmlAttrEscape(a.Value))
		}
		kids := e.Child
		has := false
		for _, t := range kids {
			switch t.(type) {
			case *etree.Element, *etree.Comment:
				has = true
			}
		}
		if !has {
			b.WriteString("/>\n")
			return
		}
		b.WriteString(">\n")
		for _, t := range kids {
			switch x := t.(type) {
			case *etree.Element:
				walk(x, depth+1)
			case *etree.Comment:
				b.WriteString(ind + "  <!--" + x.Data + "-->\n")
			}
		}
		b.WriteString(ind + "</pcmk-access-" + c + ":" + e.Tag + ">\n")
	}
	walk(doc, 0)
	var ns strings.Builder
	for _, c := range order {
		fmt.Fprintf(&ns, " xmlns:pcmk-access-%s=\"%s%s\"", c, accessNS, c)
	}
	text := "<?xml version=\"1.0\"?>\n<!--ACLs as evaluated for user " + user + "-->\n" +
		strings.Replace(b.String(), "\x00NS\x00", ns.String(), 1)

	xslt, err := exec.LookPath("xsltproc")
	if err != nil {
		return "", errAccess{"Operation not supported"}
	}
	args := []string{}
	p := renderParams[how]
	for i := 0; i < len(p); i += 2 {
		args = append(args, "--stringparam", p[i], p[i+1])
	}
	args = append(args, "/usr/share/pacemaker/base/access-render-2.xsl", "-")
	cmd := exec.Command(xslt, args...)
	cmd.Stdin = strings.NewReader(text)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", errAccess{"Operation not supported"}
	}
	res := out.String()
	if how == "color" {
		res = strings.NewReplacer("%%ansi-green%%", "\x1b[32m", "%%ansi-blue%%", "\x1b[34m",
			"%%ansi-red%%", "\x1b[31m", "%%ansi-reset%%", "\x1b[0m").Replace(res)
	}
	return res, nil
}

// xmlAttrEscape escapes an attribute value as libxml2's serializer does.
func xmlAttrEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;", "\n", "&#10;", "\r", "&#13;", "\t", "&#9;")
	return r.Replace(s)
}
