package cib

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/beevik/etree"
)

// SchemaValidator validates against Pacemaker's RELAX NG schemas with
// xmllint and upgrades with xsltproc and Pacemaker's upgrade stylesheets.
// This file holds the only process execution of the package; the Engine
// takes its methods as plain functions.
type SchemaValidator struct {
	Dir      string // /usr/share/pacemaker
	Xmllint  string // path of xmllint
	Xsltproc string // path of xsltproc ("" disables transforms)

	mu    sync.Mutex
	cache map[string]error // verdicts by schema + document digest
}

// DefaultSchemaValidator finds the schemas and tools on this host, or
// returns nil when they are absent (structural checks then stand alone).
func DefaultSchemaValidator() *SchemaValidator {
	dir := "/usr/share/pacemaker"
	if _, err := os.Stat(filepath.Join(dir, "pacemaker.rng")); err != nil {
		return nil
	}
	lint, err := exec.LookPath("xmllint")
	if err != nil {
		return nil
	}
	xslt, _ := exec.LookPath("xsltproc")
	return &SchemaValidator{Dir: dir, Xmllint: lint, Xsltproc: xslt}
}

// Validate checks root against the schema named by its validate-with.
func (v *SchemaValidator) Validate(root *etree.Element) error {
	schema := AttrOr(root, "validate-with", "")
	return v.ValidateWith(root, schema)
}

// ValidateWith checks root against one named schema.
func (v *SchemaValidator) ValidateWith(root *etree.Element, schema string) error {
	switch {
	case schema == "none":
		return nil
	case schema == "":
		schema = "pacemaker-1.0"
	case SchemaIndex(schema) < 0:
		return &ErrValidation{fmt.Sprintf("unknown schema %q", schema)}
	}
	text := Serialize(root, false)
	key := schema + " " + fmt.Sprintf("%x", md5.Sum([]byte(text)))
	v.mu.Lock()
	verdict, seen := v.cache[key]
	v.mu.Unlock()
	if seen {
		return verdict
	}
	err := v.xmllint(text, schema)
	v.mu.Lock()
	if v.cache == nil || len(v.cache) > 256 {
		v.cache = map[string]error{}
	}
	v.cache[key] = err
	v.mu.Unlock()
	return err
}

func (v *SchemaValidator) xmllint(text, schema string) error {
	rng := filepath.Join(v.Dir, schema+".rng")
	if _, err := os.Stat(rng); err != nil {
		return &ErrValidation{fmt.Sprintf("schema %s not installed", schema)}
	}
	cmd := exec.Command(v.Xmllint, "--noout", "--relaxng", rng, "-")
	cmd.Stdin = bytes.NewBufferString(text)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return &ErrValidation{fmt.Sprintf("does not validate against %s: %s", schema, bytes.TrimSpace(out))}
	}
	return nil
}

// transform runs one stylesheet over root.
func (v *SchemaValidator) transform(root *etree.Element, xsl string) (*etree.Element, error) {
	cmd := exec.Command(v.Xsltproc, xsl, "-")
	cmd.Stdin = bytes.NewBufferString(Serialize(root, false))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("xsltproc %s: %v: %s", filepath.Base(xsl), err, stderr.String())
	}
	return ParseXML(out)
}

// Upgrade follows schemas.c update_validation with transforms: walk
// forward from the current schema, taking each newer schema the document
// validates against, applying upgrade-X.Y(-enter/-leave).xsl where a major
// version boundary requires it. It returns the upgraded copy and the best
// schema reached (validate-with is set to it).
func (v *SchemaValidator) Upgrade(root *etree.Element, max string) (*etree.Element, string, Rc) {
	cur := SchemaIndex(AttrOr(root, "validate-with", ""))
	if cur >= len(KnownSchemas)-1 {
		return root, KnownSchemas[len(KnownSchemas)-1], ErrSchemaUnchanged
	}
	limit := len(KnownSchemas) - 1
	if max != "" {
		if m := SchemaIndex(max); m >= 0 && m < limit {
			limit = m
		}
	}
	if cur < 0 {
		cur = 0
	}
	doc := root.Copy()
	best := -1
	for i := cur; i <= limit; i++ {
		if err := v.ValidateWith(doc, KnownSchemas[i]); err == nil {
			best = i
			continue
		}
		if best < 0 {
			continue
		}
		// Not valid for schema i: a stylesheet from the best one may help.
		xsl := filepath.Join(v.Dir, "upgrade-"+KnownSchemas[best][len("pacemaker-"):]+".xsl")
		if _, err := os.Stat(xsl); err != nil || v.Xsltproc == "" {
			break
		}
		up := doc
		chain := []string{}
		enter := filepath.Join(v.Dir, "upgrade-"+KnownSchemas[best][len("pacemaker-"):]+"-enter.xsl")
		leave := filepath.Join(v.Dir, "upgrade-"+KnownSchemas[best][len("pacemaker-"):]+"-leave.xsl")
		if _, err := os.Stat(enter); err == nil {
			chain = append(chain, enter)
		}
		chain = append(chain, xsl)
		if _, err := os.Stat(leave); err == nil {
			chain = append(chain, leave)
		}
		var err error
		for _, s := range chain {
			if up, err = v.transform(up, s); err != nil {
				return root, "", ErrTransformFailed
			}
		}
		if v.ValidateWith(up, KnownSchemas[i]) != nil {
			return root, "", ErrSchemaValidation
		}
		doc, best = up, i
	}
	if best < 0 {
		return root, "", ErrSchemaValidation
	}
	if best <= SchemaIndex(AttrOr(root, "validate-with", "")) {
		return root, KnownSchemas[best], ErrSchemaUnchanged
	}
	SetAttr(doc, "validate-with", KnownSchemas[best])
	return doc, KnownSchemas[best], OK
}
