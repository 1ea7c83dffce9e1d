package lrmd

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// Operation names (lrmd_op) of the executor's IPC protocol
// (include/crm/lrmd.h @2.1.5, shared/docs/ipc-wire.md §4.5).
const (
	OpRegister     = "register"
	OpRscRegister  = "lrmd_rsc_register"
	OpRscUnreg     = "lrmd_rsc_unregister"
	OpRscInfo      = "lrmd_rsc_info"
	OpRscExec      = "lrmd_rsc_exec"
	OpRscCancel    = "lrmd_rsc_cancel"
	OpRscMetadata  = "lrmd_rsc_metadata"
	OpPoke         = "lrmd_rsc_poke"
	OpNewClient    = "lrmd_rsc_new_client"
	OpCheck        = "lrmd_check"
	OpAlertExec    = "lrmd_alert_exec"
	OpGetRecurring = "lrmd_get_recurring"
	OpIPCFwd       = "ipc_fwd"
)

// ProtocolVersion is LRMD_PROTOCOL_VERSION; MinProtocolVersion the oldest
// client version accepted.
const (
	ProtocolVersion    = "1.1"
	MinProtocolVersion = "1.0"
)

// Request is a decoded <lrmd_command>.
type Request struct {
	Op              string
	CallID          int
	CallOpts        int
	ClientName      string
	ProtocolVersion string
	IsIPCProvider   bool
	TimeoutMS       int64
	// Rsc is the first <lrmd_rsc> anywhere in the request, as upstream's
	// get_xpath_object("//lrmd_rsc"); nil when there is none.
	Rsc *RscData
	// Watchdog is lrmd_watchdog of lrmd_check's call data.
	Watchdog string
	// Alert is the first <lrmd_alert> of an lrmd_alert_exec request.
	Alert *AlertData
}

// AlertData is the <lrmd_alert> element of lrmd_alert_exec.
type AlertData struct {
	ID        string
	Path      string
	TimeoutMS int64
	Params    map[string]string
}

// RscData is the <lrmd_rsc> element of a request.
type RscData struct {
	ID           string
	Class        string
	Provider     string
	Type         string
	Action       string
	UserData     string
	Origin       string
	IntervalMS   int64
	TimeoutMS    int64
	StartDelayMS int64
	Params       map[string]string
}

// ErrNotRequest is returned for XML that is not an executor request.
var ErrNotRequest = errors.New("lrmd: not an lrmd_command")

// maxRequest bounds what DecodeRequest parses.
const maxRequest = 16 << 20

// DecodeRequest parses an executor request. Numbers that do not parse are 0,
// like crm_element_value_int leaving its output untouched.
func DecodeRequest(xml []byte) (*Request, error) {
	if len(xml) > maxRequest {
		return nil, fmt.Errorf("lrmd: %d-byte request is too large", len(xml))
	}
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(xml); err != nil {
		return nil, fmt.Errorf("lrmd: bad request XML: %w", err)
	}
	root := doc.Root()
	if root == nil {
		return nil, ErrNotRequest
	}
	if root.Tag != "lrmd_command" && root.SelectAttrValue("t", "") != "lrmd" {
		return nil, fmt.Errorf("%w: <%s>", ErrNotRequest, root.Tag)
	}
	req := &Request{
		Op:              root.SelectAttrValue("lrmd_op", ""),
		CallID:          atoi(root.SelectAttrValue("lrmd_callid", "")),
		CallOpts:        atoi(root.SelectAttrValue("lrmd_callopt", "")),
		ClientName:      root.SelectAttrValue("lrmd_clientname", ""),
		ProtocolVersion: root.SelectAttrValue("lrmd_protocol_version", ""),
		IsIPCProvider:   isTrue(root.SelectAttrValue("lrmd_is_ipc_provider", "")),
		TimeoutMS:       atoi64(root.SelectAttrValue("lrmd_timeout", "")),
	}
	if r := findFirst(root, "lrmd_rsc", 0); r != nil {
		req.Rsc = &RscData{
			ID:           r.SelectAttrValue("lrmd_rsc_id", ""),
			Class:        r.SelectAttrValue("lrmd_class", ""),
			Provider:     r.SelectAttrValue("lrmd_provider", ""),
			Type:         r.SelectAttrValue("lrmd_type", ""),
			Action:       r.SelectAttrValue("lrmd_rsc_action", ""),
			UserData:     r.SelectAttrValue("lrmd_rsc_userdata_str", ""),
			Origin:       r.SelectAttrValue("lrmd_origin", ""),
			IntervalMS:   atoi64(r.SelectAttrValue("lrmd_rsc_interval", "")),
			TimeoutMS:    atoi64(r.SelectAttrValue("lrmd_timeout", "")),
			StartDelayMS: atoi64(r.SelectAttrValue("lrmd_rsc_start_delay", "")),
			Params:       params(r),
		}
	}
	if a := findFirst(root, "lrmd_alert", 0); a != nil {
		req.Alert = &AlertData{
			ID:        a.SelectAttrValue("lrmd_alert_id", ""),
			Path:      a.SelectAttrValue("lrmd_alert_path", ""),
			TimeoutMS: atoi64(a.SelectAttrValue("lrmd_timeout", "")),
			Params:    params(a),
		}
	}
	if cd := root.SelectElement("lrmd_calldata"); cd != nil {
		if e := findFirst(cd, "", 0); e != nil {
			req.Watchdog = e.SelectAttrValue("lrmd_watchdog", "")
		}
		if req.Watchdog == "" {
			req.Watchdog = cd.SelectAttrValue("lrmd_watchdog", "")
		}
	}
	return req, nil
}

// params is xml2list: the attributes of <attributes>, then its
// <param name= value=> children (hash2smartfield's form for names that are
// not valid attribute names).
func params(rsc *etree.Element) map[string]string {
	p := map[string]string{}
	a := rsc.SelectElement("attributes")
	if a == nil {
		return p
	}
	for _, at := range a.Attr {
		p[attrName(at)] = at.Value
	}
	for _, c := range a.ChildElements() {
		if c.Tag == "param" {
			if n := c.SelectAttrValue("name", ""); n != "" {
				p[n] = c.SelectAttrValue("value", "")
			}
		}
	}
	return p
}

func attrName(a etree.Attr) string {
	if a.Space != "" {
		return a.Space + ":" + a.Key
	}
	return a.Key
}

// findFirst returns the first element named tag (any when tag is "") below e
// in document order, depth-bounded against hostile nesting.
func findFirst(e *etree.Element, tag string, depth int) *etree.Element {
	if depth > 64 {
		return nil
	}
	for _, c := range e.ChildElements() {
		if tag == "" || c.Tag == tag {
			return c
		}
		if f := findFirst(c, tag, depth+1); f != nil {
			return f
		}
	}
	return nil
}

func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

func atoi64(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// Reply builds <lrmd_reply lrmd_origin lrmd_rc lrmd_callid …> (create_lrmd_reply)
// with extra attributes appended in order.
func Reply(origin string, rc, callID int, extra ...string) []byte {
	e := etree.NewElement("lrmd_reply")
	e.CreateAttr("lrmd_origin", origin)
	e.CreateAttr("lrmd_rc", strconv.Itoa(rc))
	e.CreateAttr("lrmd_callid", strconv.Itoa(callID))
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] != "" {
			e.CreateAttr(extra[i], clean(extra[i+1]))
		}
	}
	return render(e)
}

// RscInfoReply is process_lrmd_get_rsc_info's reply.
func RscInfoReply(rc, callID int, r *Resource) []byte {
	if r == nil {
		return Reply("process_lrmd_get_rsc_info", rc, callID)
	}
	return Reply("process_lrmd_get_rsc_info", rc, callID,
		"lrmd_rsc_id", r.ID, "lrmd_class", r.Class, "lrmd_provider", r.Provider, "lrmd_type", r.Type)
}

// RecurringReply is process_lrmd_get_recurring's reply: an <lrmd_rsc> per
// resource with an <lrmd_rsc_op> per recurring op.
func RecurringReply(rc, callID int, rscIDs []string, ops []RecurringOp) []byte {
	e := etree.NewElement("lrmd_reply")
	e.CreateAttr("lrmd_origin", "process_lrmd_get_recurring")
	e.CreateAttr("lrmd_rc", strconv.Itoa(rc))
	e.CreateAttr("lrmd_callid", strconv.Itoa(callID))
	for _, id := range rscIDs {
		r := e.CreateElement("lrmd_rsc")
		r.CreateAttr("lrmd_rsc_id", clean(id))
		for _, o := range ops {
			if o.RscID != id {
				continue
			}
			x := r.CreateElement("lrmd_rsc_op")
			x.CreateAttr("lrmd_rsc_action", clean(o.Action))
			x.CreateAttr("lrmd_rsc_interval", strconv.FormatInt(o.IntervalMS, 10))
			x.CreateAttr("lrmd_timeout", strconv.FormatInt(o.TimeoutMS, 10))
		}
	}
	return render(e)
}

// NotifyXML is send_cmd_complete_notify's <lrmd_notify>.
func NotifyXML(n Notify) []byte {
	e := etree.NewElement("lrmd_notify")
	add := func(k, v string) {
		if v != "" {
			e.CreateAttr(k, clean(v))
		}
	}
	add("lrmd_origin", "send_cmd_complete_notify")
	add("lrmd_timeout", strconv.FormatInt(n.TimeoutMS, 10))
	add("lrmd_rsc_interval", strconv.FormatInt(n.IntervalMS, 10))
	add("lrmd_rsc_start_delay", strconv.FormatInt(n.StartDelayMS, 10))
	add("lrmd_exec_rc", strconv.Itoa(n.RC))
	add("lrmd_exec_op_status", strconv.Itoa(int(n.Status)))
	add("lrmd_callid", strconv.Itoa(n.CallID))
	deleted := "0"
	if n.RscDeleted {
		deleted = "1"
	}
	add("lrmd_rsc_deleted", deleted)
	add("lrmd_run_time", strconv.FormatInt(n.RunTime, 10))
	add("lrmd_rcchange_time", strconv.FormatInt(n.RCChangeTime, 10))
	add("lrmd_exec_time", strconv.FormatInt(n.ExecTimeMS, 10))
	add("lrmd_queue_time", strconv.FormatInt(n.QueueTimeMS, 10))
	add("lrmd_op", OpRscExec)
	add("lrmd_rsc_id", n.RscID)
	add("lrmd_rsc_action", n.Action)
	add("lrmd_rsc_userdata_str", n.UserData)
	add("lrmd_rsc_exit_reason", n.ExitReason)
	add("lrmd_rsc_output", n.Output)
	if n.Params != nil {
		a := e.CreateElement("attributes")
		keys := make([]string, 0, len(n.Params))
		for k := range n.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if validAttrName(k) {
				a.CreateAttr(k, clean(n.Params[k]))
			} else {
				p := a.CreateElement("param")
				p.CreateAttr("name", clean(k))
				p.CreateAttr("value", clean(n.Params[k]))
			}
		}
	}
	return render(e)
}

// GenericNotifyXML is send_generic_notify's <lrmd_notify> for register,
// unregister and poke.
func GenericNotifyXML(rc, callID int, op, rscID string) []byte {
	e := etree.NewElement("lrmd_notify")
	e.CreateAttr("lrmd_origin", "send_generic_notify")
	e.CreateAttr("lrmd_rc", strconv.Itoa(rc))
	e.CreateAttr("lrmd_callid", strconv.Itoa(callID))
	e.CreateAttr("lrmd_op", clean(op))
	if rscID != "" {
		e.CreateAttr("lrmd_rsc_id", clean(rscID))
	}
	return render(e)
}

// NewClientNotifyXML is notify_of_new_client's event.
func NewClientNotifyXML() []byte {
	e := etree.NewElement("lrmd_notify")
	e.CreateAttr("lrmd_origin", "notify_of_new_client")
	e.CreateAttr("lrmd_op", OpNewClient)
	return render(e)
}

// ExecEvent is a decoded <lrmd_notify> (what a client reads).
type ExecEvent struct {
	Op         string
	Origin     string
	RC         int // lrmd_rc of generic notifications
	Notify     Notify
	RscDeleted bool
}

// DecodeNotify parses an executor event.
func DecodeNotify(xml []byte) (*ExecEvent, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		return nil, fmt.Errorf("lrmd: bad notify XML: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "lrmd_notify" {
		return nil, errors.New("lrmd: not an lrmd_notify")
	}
	g := func(k string) string { return root.SelectAttrValue(k, "") }
	ev := &ExecEvent{Op: g("lrmd_op"), Origin: g("lrmd_origin"), RC: atoi(g("lrmd_rc"))}
	n := &ev.Notify
	n.RscID, n.Action, n.CallID = g("lrmd_rsc_id"), g("lrmd_rsc_action"), atoi(g("lrmd_callid"))
	n.IntervalMS, n.TimeoutMS, n.StartDelayMS = atoi64(g("lrmd_rsc_interval")), atoi64(g("lrmd_timeout")), atoi64(g("lrmd_rsc_start_delay"))
	n.RC, n.Status = atoi(g("lrmd_exec_rc")), ExecStatus(atoi(g("lrmd_exec_op_status")))
	n.ExitReason, n.Output, n.UserData = g("lrmd_rsc_exit_reason"), g("lrmd_rsc_output"), g("lrmd_rsc_userdata_str")
	n.RscDeleted = g("lrmd_rsc_deleted") == "1"
	n.RunTime, n.RCChangeTime = atoi64(g("lrmd_run_time")), atoi64(g("lrmd_rcchange_time"))
	n.ExecTimeMS, n.QueueTimeMS = atoi64(g("lrmd_exec_time")), atoi64(g("lrmd_queue_time"))
	ev.RscDeleted = n.RscDeleted
	return ev, nil
}

// Command builds a client request <lrmd_command> (lrmd_create_op); rsc may
// be nil.
func Command(op string, callID, callOpts int, clientName string, rsc *RscData, extra ...string) []byte {
	e := etree.NewElement("lrmd_command")
	e.CreateAttr("t", "lrmd")
	e.CreateAttr("lrmd_op", op)
	e.CreateAttr("lrmd_callid", strconv.Itoa(callID))
	e.CreateAttr("lrmd_callopt", strconv.Itoa(callOpts))
	if clientName != "" {
		e.CreateAttr("lrmd_clientname", clientName)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		e.CreateAttr(extra[i], extra[i+1])
	}
	if rsc != nil {
		d := e.CreateElement("lrmd_calldata").CreateElement("lrmd_rsc")
		add := func(k, v string) {
			if v != "" {
				d.CreateAttr(k, v)
			}
		}
		add("lrmd_rsc_id", rsc.ID)
		add("lrmd_class", rsc.Class)
		add("lrmd_provider", rsc.Provider)
		add("lrmd_type", rsc.Type)
		add("lrmd_origin", rsc.Origin)
		add("lrmd_rsc_action", rsc.Action)
		add("lrmd_rsc_userdata_str", rsc.UserData)
		if rsc.Action != "" {
			d.CreateAttr("lrmd_rsc_interval", strconv.FormatInt(rsc.IntervalMS, 10))
			d.CreateAttr("lrmd_timeout", strconv.FormatInt(rsc.TimeoutMS, 10))
			d.CreateAttr("lrmd_rsc_start_delay", strconv.FormatInt(rsc.StartDelayMS, 10))
		}
		if rsc.Params != nil {
			a := d.CreateElement("attributes")
			keys := make([]string, 0, len(rsc.Params))
			for k := range rsc.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				a.CreateAttr(k, rsc.Params[k])
			}
		}
	}
	return render(e)
}

func render(e *etree.Element) []byte {
	doc := etree.NewDocument()
	doc.SetRoot(e)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil
	}
	return b
}

// pcmkEscaper is what Pacemaker's own XML serializer (crm_xml_escape in
// lib/common/xml.c) does to attribute values beyond the XML entities: a tab
// becomes four spaces, newline and carriage return become the two characters
// "\n" and "\r". Clients see exactly that in lrmd_rsc_output. (Upstream also
// stops escaping after the first two bytes with the high bit set; we do not
// copy that bug.)
var pcmkEscaper = strings.NewReplacer("\t", "    ", "\n", `\n`, "\r", `\r`)

// clean makes s what a Pacemaker daemon would put into an attribute:
// invalid UTF-8 and control characters become '?' (agent output is arbitrary
// bytes, and libxml2 on the client side rejects them), then crm_xml_escape.
func clean(s string) string {
	return pcmkEscaper.Replace(sanitize(s))
}

func sanitize(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		s = s[n:]
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteByte('?')
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
			b.WriteByte('?')
		case r == 0xFFFE || r == 0xFFFF:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func validAttrName(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
		case i > 0 && (r == '-' || r == '.' || (r >= '0' && r <= '9')):
		default:
			return false
		}
	}
	return true
}

// CompareVersion is compare_version for "X.Y" strings: -1, 0 or 1.
func CompareVersion(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = atoi(pa[i])
		}
		if i < len(pb) {
			y = atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
