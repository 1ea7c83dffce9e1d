package cib

import (
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Operation names (cib_op) of Pacemaker's CIB protocol (include/crm/cib/internal.h).
const (
	OpQuery     = "cib_query"
	OpModify    = "cib_modify"
	OpCreate    = "cib_create"
	OpDelete    = "cib_delete"
	OpReplace   = "cib_replace"
	OpErase     = "cib_erase"
	OpBump      = "cib_bump"
	OpUpgrade   = "cib_upgrade"
	OpApplyDiff = "cib_apply_diff"
	OpSync      = "cib_sync"
	OpSyncOne   = "cib_sync_one"
	OpIsPrimary = "cib_ismaster"
	OpPrimary   = "cib_master"
	OpSecondary = "cib_slave"
	OpNoop      = "noop"
	OpPing      = "cib_ping"
	OpShutdown  = "cib_shutdown_req"
)

// CallOpt holds the cib_callopt bits (enum cib_call_options).
type CallOpt uint32

// Call option bits.
const (
	OptVerbose        CallOpt = 0x1
	OptXPath          CallOpt = 0x2
	OptMultiple       CallOpt = 0x4
	OptCanCreate      CallOpt = 0x8
	OptDiscardReply   CallOpt = 0x10
	OptNoChildren     CallOpt = 0x20
	OptXPathAddress   CallOpt = 0x40
	OptMixedUpdate    CallOpt = 0x80
	OptScopeLocal     CallOpt = 0x100
	OptDryRun         CallOpt = 0x200
	OptSyncCall       CallOpt = 0x1000
	OptNoMtime        CallOpt = 0x2000
	OptZeroCopy       CallOpt = 0x4000
	OptInhibitNotify  CallOpt = 0x10000
	OptQuorumOverride CallOpt = 0x100000
	OptInhibitBcast   CallOpt = 0x1000000
	OptForceDiff      CallOpt = 0x10000000
)

// IsReadOnly reports whether op never changes the CIB.
func IsReadOnly(op string) bool {
	switch op {
	case OpQuery, OpIsPrimary, OpNoop, OpPing:
		return true
	}
	return false
}

// Request is one CIB operation as carried by a <cib_command>.
type Request struct {
	Op         string
	Section    string  // cib_section: a section name, or an XPath with OptXPath
	Options    CallOpt // cib_callopt
	Data       *etree.Element
	User       string // cib_user: ACLs apply unless "", root or hacluster
	Origin     string // F_ORIG (src): the node name stamped in update-origin
	ClientName string // cib_clientname: stamped in update-client
	SchemaMax  string // cib_schema_max for upgrade
	Digest     string // digest of a full replace, checked when set
	Global     bool   // a peer's full replace: versions are not managed

	quiet map[*etree.Element]bool // elements copied in whole by the operation
}

func (r Request) markQuiet(e *etree.Element) {
	if r.quiet != nil {
		r.quiet[e] = true
	}
}

// Result is what an operation produced.
type Result struct {
	Rc       Rc
	Output   *etree.Element // the answer (query result, <failed> on create errors)
	CIB      *etree.Element // the new CIB when it changed (nil for queries and failures)
	Patchset *etree.Element // v2 diff from the old to the new CIB
	Changes  Changes
	Invalid  *etree.Element // the refused CIB when validation failed
}

// Engine performs CIB operations. It is pure apart from the injected clock
// and validator: it reads one CIB, returns another, never touches the disk.
type Engine struct {
	// Now stamps cib-last-written; nil means time.Now.
	Now func() time.Time
	// Validate checks a candidate CIB against its validate-with schema;
	// nil means structural checks only (see Validator).
	Validate func(root *etree.Element) error
	// Upgrader performs cib_upgrade; nil means the native fallback.
	Upgrader Upgrader
}

func (e *Engine) now() time.Time {
	if e != nil && e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// LastWritten formats t like pcmk__xe_add_last_written (ctime without the
// newline).
func LastWritten(t time.Time) string { return t.Format("Mon Jan _2 15:04:05 2006") }

// Perform applies req to current (which it does not modify), following
// lib/cib/cib_utils.c cib_perform_op: the operation runs on a copy; the
// difference decides whether epoch (configuration changed) or num_updates
// (anything else) increases; ACLs and validation may refuse the result.
func (e *Engine) Perform(current *etree.Element, req Request) Result {
	if IsReadOnly(req.Op) {
		return e.query(current, req)
	}
	scratch := current.Copy()
	var out *etree.Element
	var rc Rc
	cr := &creation{quiet: map[*etree.Element]bool{}}
	req.quiet = cr.quiet
	switch req.Op {
	case OpModify:
		cr.tracked = true
		scratch, out, rc = opModify(scratch, req)
	case OpCreate:
		cr.tracked = true
		scratch, out, rc = opCreate(scratch, req)
	case OpDelete:
		cr.tracked = true
		scratch, out, rc = opDelete(scratch, req)
	case OpReplace:
		scratch, out, rc = opReplace(current, scratch, req)
	case OpErase:
		scratch, rc = opErase(current), OK
	case OpBump:
		bumpCounter(scratch, "epoch", false)
	case OpUpgrade:
		scratch, rc = e.opUpgrade(scratch, req)
	case OpApplyDiff:
		if req.Data == nil {
			rc = EINVAL
		} else {
			rc = ApplyPatchset(scratch, req.Data, true)
		}
	default:
		return Result{Rc: EPROTONOSUPPORT}
	}
	if rc != OK {
		return Result{Rc: rc, Output: out}
	}
	if scratch == nil {
		return Result{Rc: EINVAL}
	}
	if fs, ok := Attr(scratch, "crm_feature_set"); ok && CompareVersion(fs, FeatureSet) > 0 {
		return Result{Rc: EPROTONOSUPPORT}
	}
	// Counters may not go backwards (admin_epoch, then epoch).
	oa, na := AttrInt(current, "admin_epoch", 0), AttrInt(scratch, "admin_epoch", 0)
	if oa > na || (oa == na && AttrInt(current, "epoch", 0) > AttrInt(scratch, "epoch", 0)) {
		return Result{Rc: ErrOldData, Output: out}
	}
	StripText(scratch)
	fixPlusPlus(scratch)

	// ACL check on what the operation changed, before counters move.
	if acl := NewACL(current, req.User); acl != nil {
		if rc := acl.CheckWrite(current, scratch); rc != OK {
			res := Result{Rc: rc}
			if req.Op == OpCreate && len(acl.rules) == 0 && req.Data != nil {
				// A user without any ACL is refused at the first attribute
				// add_cib_object writes, so the refusal is reported per
				// object like other create failures.
				failed := etree.NewElement("failed")
				obj := req.Data
				if kids := obj.ChildElements(); elemName(obj) == req.Section && len(kids) > 0 {
					obj = kids[0]
				}
				recordFailure(failed, obj, req.Op, rc)
				res.Output = failed
			}
			return res
		}
	}

	patch, ch := createPatchset(current, scratch, cr)
	if ch.Any && !req.Global {
		if ch.Config {
			SetAttr(scratch, "num_updates", "0")
			SetAttr(scratch, "epoch", itoa(AttrInt(scratch, "epoch", 0)+1))
		} else {
			SetAttr(scratch, "num_updates", itoa(AttrInt(scratch, "num_updates", 0)+1))
		}
		refreshRootChange(patch, current, scratch)
	}

	if ch.Config && req.Options&OptNoMtime == 0 {
		SetAttr(scratch, "cib-last-written", LastWritten(e.now()))
		if schema, ok := Attr(scratch, "validate-with"); ok && schemaAtLeast(schema, "pacemaker-1.2") {
			setOrRemove(scratch, "update-origin", req.Origin)
			setOrRemove(scratch, "update-client", req.ClientName)
			setOrRemove(scratch, "update-user", req.User)
		}
	}
	if !strings.EqualFold(req.Section, "status") {
		if err := e.validate(scratch); err != nil {
			return Result{Rc: ErrSchemaValidation, Invalid: scratch}
		}
	}
	if req.Options&OptDryRun != 0 {
		return Result{Rc: OK, Output: out, Changes: ch}
	}
	if !ch.Any {
		return Result{Rc: OK, Output: out}
	}
	return Result{Rc: OK, Output: out, CIB: scratch, Patchset: patch, Changes: ch}
}

// setOrRemove is crm_xml_replace: a NULL value removes the attribute.
func setOrRemove(e *etree.Element, name, value string) {
	if value == "" {
		RemoveAttr(e, name)
		return
	}
	SetAttr(e, name, value)
}

func (e *Engine) validate(root *etree.Element) error {
	if err := CheckStructure(root); err != nil {
		return err
	}
	if e != nil && e.Validate != nil {
		return e.Validate(root)
	}
	return nil
}

func (e *Engine) query(current *etree.Element, req Request) Result {
	switch req.Op {
	case OpQuery:
	case OpPing, OpNoop, OpIsPrimary:
		return Result{Rc: OK}
	}
	view := current
	if acl := NewACL(current, req.User); acl != nil {
		view = acl.FilterRead(current)
		if view == nil {
			return Result{Rc: EACCES}
		}
	}
	if req.Options&OptXPath != 0 {
		return queryXPath(view, req)
	}
	root, _ := FindSection(view, req.Section)
	if root == nil {
		return Result{Rc: ENXIO}
	}
	if req.Options&OptNoChildren != 0 {
		return Result{Rc: OK, Output: shallow(root)}
	}
	return Result{Rc: OK, Output: root.Copy()}
}

func shallow(e *etree.Element) *etree.Element {
	s := etree.NewElement(elemName(e))
	for _, a := range e.Attr {
		SetAttr(s, attrName(a), a.Value)
	}
	return s
}

func queryXPath(view *etree.Element, req Request) Result {
	matches, err := SelectXPath(view, req.Section)
	if err != nil || len(matches) == 0 {
		return Result{Rc: ENXIO}
	}
	var answer *etree.Element
	if len(matches) > 1 {
		answer = etree.NewElement("xpath-query")
	}
	for _, m := range matches {
		switch {
		case req.Options&OptNoChildren != 0:
			s := shallow(m)
			if answer == nil {
				answer = s
			} else {
				answer.AddChild(s)
			}
		case req.Options&OptXPathAddress != 0:
			var path string
			for p := m; p != nil && p.Tag != ""; p = p.Parent() {
				if id, ok := Attr(p, "id"); ok {
					path = "/" + elemName(p) + "[@id='" + id + "']" + path
				} else {
					path = "/" + elemName(p) + path
				}
			}
			if answer == nil {
				answer = etree.NewElement("xpath-query")
			}
			SetAttr(answer.CreateElement("xpath-query-path"), "id", path)
		case answer != nil:
			answer.AddChild(m.Copy())
		default:
			answer = m.Copy()
		}
	}
	return Result{Rc: OK, Output: answer}
}

// bumpCounter is cib_update_counter.
func bumpCounter(e *etree.Element, field string, reset bool) {
	if v, ok := Attr(e, field); ok && !reset {
		SetAttr(e, field, itoa(atoi(v)+1))
		return
	}
	SetAttr(e, field, "1")
}

func opErase(current *etree.Element) *etree.Element {
	res := EmptyCIB(0)
	for _, a := range current.Attr {
		SetAttr(res, attrName(a), a.Value)
	}
	bumpCounter(res, "admin_epoch", false)
	return res
}

// xpathTarget runs an XPath-addressed modify/create/delete/replace
// (cib_ops.c cib_process_xpath).
func xpathOp(scratch *etree.Element, req Request) (*etree.Element, Rc) {
	matches, err := SelectXPath(scratch, req.Section)
	if err != nil {
		return scratch, ENXIO
	}
	if len(matches) == 0 {
		if req.Op == OpDelete {
			return scratch, OK
		}
		return scratch, ENXIO
	}
	rc := OK
	for _, m := range matches {
		switch req.Op {
		case OpDelete:
			if m == scratch {
				return scratch, EINVAL
			}
			if p := m.Parent(); p != nil {
				p.RemoveChild(m)
			}
			if req.Options&OptMultiple == 0 {
				return scratch, rc
			}
		case OpModify:
			if req.Data == nil {
				return scratch, EINVAL
			}
			if !updateChild(m, req.Data) {
				rc = ENXIO
			} else if req.Options&OptMultiple == 0 {
				return scratch, rc
			}
		case OpCreate:
			if req.Data == nil {
				return scratch, EINVAL
			}
			c := req.Data.Copy()
			m.AddChild(c)
			req.markQuiet(c)
			return scratch, rc
		case OpReplace:
			p := m.Parent()
			if p == nil {
				// Replacing the root element.
				if req.Data == nil {
					return scratch, EINVAL
				}
				return req.Data.Copy(), rc
			}
			p.RemoveChild(m)
			if req.Data != nil {
				c := req.Data.Copy()
				p.AddChild(c)
				req.markQuiet(c)
			}
			if req.Options&OptMultiple == 0 {
				return scratch, rc
			}
		}
	}
	return scratch, rc
}

func opModify(scratch *etree.Element, req Request) (*etree.Element, *etree.Element, Rc) {
	if req.Options&OptXPath != 0 {
		s, rc := xpathOp(scratch, req)
		return s, nil, rc
	}
	if req.Data == nil {
		return scratch, nil, EINVAL
	}
	section := req.Section
	objRoot, _ := FindSection(scratch, section)
	if objRoot == nil {
		objRoot = ensureSection(scratch, section)
		if objRoot == nil {
			return scratch, nil, EINVAL
		}
	}
	if !updateChild(objRoot, req.Data) {
		if req.Options&OptCanCreate == 0 {
			return scratch, nil, ENXIO
		}
		c := req.Data.Copy()
		objRoot.AddChild(c)
		req.markQuiet(c)
	}
	if req.Options&OptMixedUpdate != 0 {
		removeMarkedDeleted(scratch)
	}
	return scratch, nil, OK
}

func removeMarkedDeleted(e *etree.Element) {
	for _, c := range e.ChildElements() {
		if _, ok := Attr(c, "__delete__"); ok {
			e.RemoveChild(c)
			continue
		}
		removeMarkedDeleted(c)
	}
}

// updateChild is update_xml_child: find (depth first, first match) the
// element with update's name and id, and merge update into it.
func updateChild(child, update *etree.Element) bool {
	if elemName(child) == elemName(update) && sameID(child, update) {
		mergeUpdate(child, update)
		return true
	}
	for _, c := range child.ChildElements() {
		if updateChild(c, update) {
			return true
		}
	}
	return false
}

func sameID(a, b *etree.Element) bool {
	av, aok := Attr(a, "id")
	bv, bok := Attr(b, "id")
	return aok == bok && av == bv
}

// mergeUpdate is pcmk__xml_update(NULL, target, update, false): attributes
// are copied with ++/+= expansion, children matched by id (or id-ref, or
// name alone) and created when missing.
func mergeUpdate(target, update *etree.Element) {
	for _, a := range update.Attr {
		expandPlusPlus(target, attrName(a), a.Value)
	}
	for _, c := range update.ChildElements() {
		var t *etree.Element
		if id, ok := Attr(c, "id"); ok {
			t = MatchChild(target, elemName(c), "id", id)
		} else if ref, ok := Attr(c, "id-ref"); ok {
			t = MatchChild(target, elemName(c), "id-ref", ref)
		} else {
			t = MatchChild(target, elemName(c), "", "")
		}
		if t == nil {
			t = target.CreateElement(elemName(c))
			t.Space = c.Space
			t.Tag = c.Tag
		}
		mergeUpdate(t, c)
	}
}

// Infinity is Pacemaker's score INFINITY.
const Infinity = 1000000

// expandPlusPlus is xml.c expand_plus_plus: value "name++" increments the
// current value of attribute name, "name+=N" adds N (scores, saturating at
// INFINITY); anything else is set as is.
func expandPlusPlus(target *etree.Element, name, value string) {
	old, had := Attr(target, name)
	if !had || !strings.HasPrefix(value, name) || len(value) < len(name)+2 ||
		value[len(name)] != '+' || (value[len(name)+1] != '+' && value[len(name)+1] != '=') {
		SetAttr(target, name, value)
		return
	}
	n := 0
	if old != value {
		n = Char2Score(old)
	}
	offset := 1
	if value[len(name)+1] != '+' {
		offset = Char2Score(value[len(name)+2:])
	}
	n += offset
	if n > Infinity {
		n = Infinity
	}
	SetAttr(target, name, itoa(n))
}

// Char2Score converts a score string like char2score: INFINITY words,
// otherwise an integer clamped to ±INFINITY.
func Char2Score(s string) int {
	switch strings.ToLower(s) {
	case "":
		return 0
	case "infinity", "+infinity":
		return Infinity
	case "-infinity":
		return -Infinity
	case "red":
		return 0
	case "yellow":
		return 0
	case "green":
		return 0
	}
	n := atoi(s)
	if n > Infinity {
		return Infinity
	}
	if n < -Infinity {
		return -Infinity
	}
	return n
}

// fixPlusPlus is fix_plus_plus_recursive: any leftover "x++" value that
// referred to itself becomes 1 (or the += amount).
func fixPlusPlus(e *etree.Element) {
	for _, a := range e.Attr {
		if isPlusPlus(a) {
			// expanding may rewrite the attribute list: walk a copy
			for _, a := range append([]etree.Attr(nil), e.Attr...) {
				if isPlusPlus(a) {
					expandPlusPlus(e, attrName(a), a.Value)
				}
			}
			break
		}
	}
	for _, t := range e.Child {
		if c, ok := t.(*etree.Element); ok {
			fixPlusPlus(c)
		}
	}
}

// isPlusPlus reports a "name++" or "name+=N" value of attribute name.
func isPlusPlus(a etree.Attr) bool {
	name, v := attrName(a), a.Value
	return strings.HasPrefix(v, name) && len(v) >= len(name)+2 && v[len(name)] == '+' &&
		(v[len(name)+1] == '+' || v[len(name)+1] == '=')
}

func opCreate(scratch *etree.Element, req Request) (*etree.Element, *etree.Element, Rc) {
	section := req.Section
	if section == "all" || section == "cib" || (req.Data != nil && elemName(req.Data) == "cib") {
		section = ""
	}
	if req.Data == nil {
		return scratch, nil, EINVAL
	}
	if req.Options&OptXPath != 0 {
		s, rc := xpathOp(scratch, req)
		return s, nil, rc
	}
	if section == "" {
		return opModify(scratch, Request{Op: OpModify, Options: req.Options, Data: req.Data, quiet: req.quiet})
	}
	failed := etree.NewElement("failed")
	parent, _ := FindSection(scratch, section)
	rc := OK
	if elemName(req.Data) == section {
		for _, c := range req.Data.ChildElements() {
			rc = addObject(parent, c)
			if recordFailure(failed, c, req.Op, rc) {
				break
			}
		}
	} else {
		rc = addObject(parent, req.Data)
		recordFailure(failed, req.Data, req.Op, rc)
	}
	if rc == OK && len(failed.ChildElements()) > 0 {
		rc = EINVAL
	}
	if rc != OK {
		return scratch, failed, rc
	}
	return scratch, nil, OK
}

// recordFailure is update_results: a <failed_update> describing a refused
// object.
func recordFailure(failed, target *etree.Element, op string, rc Rc) bool {
	if rc == OK {
		return false
	}
	f := failed.CreateElement("failed_update")
	if id, ok := Attr(target, "id"); ok {
		SetAttr(f, "id", id)
	}
	SetAttr(f, "object_type", elemName(target))
	SetAttr(f, "operation", op)
	SetAttr(f, "reason", rc.String())
	f.AddChild(target.Copy())
	return true
}

// addObject is add_cib_object: refuse an object that already exists.
func addObject(parent, obj *etree.Element) Rc {
	if parent == nil || obj == nil {
		return EINVAL
	}
	var equiv *etree.Element
	if id, ok := Attr(obj, "id"); ok {
		equiv = MatchChild(parent, elemName(obj), "id", id)
	} else {
		equiv = MatchChild(parent, elemName(obj), "", "")
	}
	if equiv != nil {
		return EEXIST
	}
	return updateObject(parent, obj)
}

// updateObject is update_cib_object: create or find the object, drop the
// children named in its "replace" attribute, copy attributes, recurse.
func updateObject(parent, update *etree.Element) Rc {
	var target *etree.Element
	if id, ok := Attr(update, "id"); ok {
		target = MatchChild(parent, elemName(update), "id", id)
	} else {
		target = MatchChild(parent, elemName(update), "", "")
	}
	if target == nil {
		target = parent.CreateElement(update.Tag)
		target.Space = update.Space
	}
	if repl, ok := Attr(update, "replace"); ok {
		for _, item := range strings.Split(repl, ",") {
			if item == "" {
				continue
			}
			if rm := FirstChild(target, item); rm != nil {
				target.RemoveChild(rm)
			}
		}
		update = update.Copy()
		RemoveAttr(update, "replace")
		RemoveAttr(target, "replace")
	}
	for _, a := range update.Attr {
		expandPlusPlus(target, attrName(a), a.Value)
	}
	rc := OK
	for _, c := range update.ChildElements() {
		if r := updateObject(target, c); r != OK && rc == OK {
			rc = r
		}
	}
	return rc
}

func opDelete(scratch *etree.Element, req Request) (*etree.Element, *etree.Element, Rc) {
	if req.Options&OptXPath != 0 {
		s, rc := xpathOp(scratch, req)
		return s, nil, rc
	}
	if req.Data == nil {
		return scratch, nil, EINVAL
	}
	objRoot, _ := FindSection(scratch, req.Section)
	if objRoot == nil {
		return scratch, nil, OK
	}
	if elemName(req.Data) == req.Section {
		for _, c := range req.Data.ChildElements() {
			replaceChild(nil, objRoot, c, true)
		}
	} else {
		replaceChild(nil, objRoot, req.Data, true)
	}
	return scratch, nil, OK
}

// replaceChild is replace_xml_child: depth first, the first element (other
// than the search root) with update's name and, if update has one, its id —
// and for deletes every attribute of update equal (case-insensitively) —
// is deleted or replaced by a copy of update.
func replaceChild(parent, child, update *etree.Element, deleteOnly bool) bool {
	upID, upHas := Attr(update, "id")
	can := !upHas
	if cid, ok := Attr(child, "id"); upHas && ok && cid == upID {
		can = true
	}
	if !strings.EqualFold(elemName(update), elemName(child)) {
		can = false
	}
	if can && deleteOnly {
		for _, a := range update.Attr {
			v, ok := Attr(child, attrName(a))
			if !ok || !strings.EqualFold(v, a.Value) {
				can = false
				break
			}
		}
	}
	if can && parent != nil {
		if deleteOnly {
			parent.RemoveChild(child)
		} else {
			idx := child.Index()
			parent.RemoveChild(child)
			parent.InsertChildAt(idx, update.Copy())
		}
		return true
	}
	for _, c := range child.ChildElements() {
		if replaceChild(child, c, update, deleteOnly) {
			return true
		}
	}
	return false
}

func opReplace(current, scratch *etree.Element, req Request) (*etree.Element, *etree.Element, Rc) {
	if req.Options&OptXPath != 0 {
		s, rc := xpathOp(scratch, req)
		return s, nil, rc
	}
	if req.Data == nil {
		return scratch, nil, EINVAL
	}
	tag := elemName(req.Data)
	section := req.Section
	if section == "all" || strings.EqualFold(tag, section) {
		section = ""
	}
	if strings.EqualFold(tag, "cib") {
		cur := [3]int{AttrInt(current, "admin_epoch", 0), AttrInt(current, "epoch", 0), AttrInt(current, "num_updates", 0)}
		rep := [3]int{AttrInt(req.Data, "admin_epoch", 0), AttrInt(req.Data, "epoch", 0), AttrInt(req.Data, "num_updates", 0)}
		old := false
		if req.Digest != "" && DigestVersioned(req.Data, FeatureSet) != req.Digest {
			old = true
		}
		for i := 0; i < 3; i++ {
			if rep[i] < cur[i] {
				old = true
				break
			}
			if rep[i] > cur[i] {
				break
			}
		}
		if old {
			return scratch, nil, ErrOldData
		}
		return req.Data.Copy(), nil, OK
	}
	objRoot, _ := FindSection(scratch, section)
	if objRoot == nil || !replaceChild(nil, objRoot, req.Data, false) {
		return scratch, nil, ENXIO
	}
	return scratch, nil, OK
}

// Upgrader moves a CIB to a newer schema (SchemaValidator.Upgrade).
type Upgrader interface {
	Upgrade(root *etree.Element, max string) (*etree.Element, string, Rc)
}

func (e *Engine) opUpgrade(scratch *etree.Element, req Request) (*etree.Element, Rc) {
	if e == nil || e.Upgrader == nil {
		// Without the schemas we can only move validate-with forward when
		// it is already a 3.x schema (no transform needed inside a major).
		cur := AttrOr(scratch, "validate-with", "")
		if SchemaIndex(cur) >= len(KnownSchemas)-1 {
			// cib_process_upgrade: nothing newer is simply success.
			return scratch, OK
		}
		if !strings.HasPrefix(cur, "pacemaker-3.") {
			return scratch, ErrTransformFailed
		}
		SetAttr(scratch, "validate-with", LatestSchema)
	} else {
		up, _, rc := e.Upgrader.Upgrade(scratch, req.SchemaMax)
		if rc == ErrSchemaUnchanged {
			return scratch, OK
		}
		if rc != OK {
			return scratch, rc
		}
		scratch = up
	}
	bumpCounter(scratch, "admin_epoch", false)
	bumpCounter(scratch, "epoch", true)
	bumpCounter(scratch, "num_updates", true)
	return scratch, OK
}
