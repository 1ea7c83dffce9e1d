package cib

import (
	"strings"

	"github.com/beevik/etree"
)

// Section parents, from lib/common/cib.c cib_sections: the CIB element names
// a request may name in cib_section / cibadmin -o, and where each lives.
var sectionParent = map[string]string{
	"cib":              "",
	"all":              "",
	"status":           "cib",
	"configuration":    "cib",
	"crm_config":       "configuration",
	"nodes":            "configuration",
	"resources":        "configuration",
	"constraints":      "configuration",
	"op_defaults":      "configuration",
	"rsc_defaults":     "configuration",
	"acls":             "configuration",
	"fencing-topology": "configuration",
	"tags":             "configuration",
	"alerts":           "configuration",
}

// IsSection reports whether name is one of the named CIB sections.
func IsSection(name string) bool { _, ok := sectionParent[name]; return ok }

// FindSection is pcmk_find_cib_element: the element for a section name
// ("" or "cib"/"all" mean the root). An unknown name has no XPath in
// Pacemaker's table, and the NULL search it then makes yields the root, so
// unknown names also return the root (with known false).
func FindSection(root *etree.Element, section string) (*etree.Element, bool) {
	if section == "" || section == "cib" || section == "all" {
		return root, true
	}
	parent, ok := sectionParent[section]
	if !ok {
		return root, false
	}
	var p *etree.Element
	switch parent {
	case "cib":
		p = root
	case "configuration":
		p = FirstChild(root, "configuration")
	}
	if p == nil {
		return nil, true
	}
	return FirstChild(p, section), true
}

// ensureSection creates a missing known section under its parent (what
// cib_process_modify does before updating a section that is absent).
func ensureSection(root *etree.Element, section string) *etree.Element {
	if el, _ := FindSection(root, section); el != nil {
		return el
	}
	parent := sectionParent[section]
	var p *etree.Element
	switch parent {
	case "cib":
		p = root
	case "configuration":
		p = FirstChild(root, "configuration")
		if p == nil {
			p = root.CreateElement("configuration")
		}
	default:
		return nil
	}
	return p.CreateElement(section)
}

// ElementXPath is pcmk__element_xpath: /cib/configuration/resources/
// primitive[@id='x'], the addressing form used by v2 patchsets.
func ElementXPath(e *etree.Element) string {
	var parts []string
	for x := e; x != nil; x = x.Parent() {
		if x.Tag == "" { // the etree document node
			break
		}
		p := elemName(x)
		if id, ok := Attr(x, "id"); ok {
			p += "[@id='" + id + "']"
		}
		parts = append(parts, p)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// EmptyCIB is createEmptyCib: the document cibadmin --empty prints.
func EmptyCIB(epoch int) *etree.Element {
	root := etree.NewElement("cib")
	SetAttr(root, "crm_feature_set", FeatureSet)
	SetAttr(root, "validate-with", LatestSchema)
	SetAttr(root, "epoch", itoa(epoch))
	SetAttr(root, "num_updates", "0")
	SetAttr(root, "admin_epoch", "0")
	cfg := root.CreateElement("configuration")
	for _, s := range []string{"crm_config", "nodes", "resources", "constraints"} {
		cfg.CreateElement(s)
	}
	root.CreateElement("status")
	return root
}

// FeatureSet is CRM_FEATURE_SET of Pacemaker 2.1.5; LatestSchema the newest
// schema it ships.
const (
	FeatureSet   = "3.16.1"
	LatestSchema = "pacemaker-3.9"
)
