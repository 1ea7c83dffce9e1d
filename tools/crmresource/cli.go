// Package crmresource is Pacemaker 2.1.5's crm_resource: it parses the
// same options (the last command option given wins, as with the GLib
// callbacks of tools/crm_resource.c), reads the CIB from CIB_file (or
// standard input with CIB_file=-) or the live CIB manager, builds a typed
// result per command and renders it as text or XML with the same words,
// layout and exit codes as the real tool.
package crmresource

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/spf13/pflag"

	"ringmaster/cib"
	"ringmaster/pengine"
	"ringmaster/tools/pcmkout"
)

// Env is what crm_resource takes from its process.
type Env struct {
	Args   []string // argv, program name first
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Now    time.Time
	// Engine performs CIB operations on a CIB file; nil means a default
	// engine without schema validation.
	Engine *cib.Engine
	// Connect opens the live CIB when neither CIB_file nor CIB_shadow is
	// set; nil means no CIB manager is reachable.
	Connect func(client string, timeout time.Duration) (Conn, cib.Rc)
	// AgentRoots overrides the agent directories (tests); zero value means
	// the system paths Pacemaker 2.1.5 was built with.
	AgentRoots *AgentRoots
}

// Conn is a CIB connection: a file or the live manager.
type Conn interface {
	Perform(req cib.Request) cib.Result
	Close() error
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

type command int

const (
	cmdNone command = iota
	cmdCleanup
	cmdColocations
	cmdCTS
	cmdDelete
	cmdDeleteParam
	cmdDigests
	cmdExecuteAgent
	cmdFail
	cmdGetParam
	cmdGetProperty
	cmdListActiveOps
	cmdListAgents
	cmdListAllOps
	cmdListAlternatives
	cmdListInstances
	cmdListProviders
	cmdListResources
	cmdListStandards
	cmdLocate
	cmdMetadata
	cmdMove
	cmdQueryRawXML
	cmdQueryXML
	cmdRefresh
	cmdRestart
	cmdSetParam
	cmdSetProperty
	cmdWait
	cmdWhy
	cmdBan
	cmdClear
)

// find flags (pe_find_*), only as far as crm_resource distinguishes them.
const (
	findAnon = 1 << iota
	findAny
)

// options mirrors the options structure of tools/crm_resource.c.
type options struct {
	cmd             command
	requireCIB      bool
	requireCrmd     bool
	requireDataset  bool
	requireResource bool
	requireNode     bool
	findFlags       int

	rscID, rscType, node       string
	force, clearExpired        bool
	recursive, promoted        bool
	interval, lifetime, opName string
	attrSetType                string
	propID, propName, propSet  string
	propValue                  string
	haveValue                  bool
	timeoutMS                  int
	agentSpec                  string
	checkLevel                 int

	cmdlineConfig             bool
	vAgent, vClass, vProvider string
	cmdlineParams             []pengine.Param
	remainder                 []string
	overrideParams            []pengine.Param
	haveOverrides             bool
	outputAs, outputTo        string
	quiet                     bool
	verbose                   int
	version                   bool
	parseErr                  string
	parseErrCode              int
}

func (o *options) reset() {
	o.requireCrmd, o.requireNode = false, false
	o.requireCIB, o.requireDataset, o.requireResource = true, true, true
	o.findFlags = 0
}

func (o *options) setCommand(c command) {
	if o.cmd != cmdNone {
		o.reset()
	}
	o.cmd = c
}

// cbValue is a flag whose every occurrence runs a callback in command-line
// order, the way GLib option callbacks do.
type cbValue struct {
	fn     func(string) error
	isBool bool
}

func (v *cbValue) String() string { return "" }
func (v *cbValue) Set(s string) error {
	return v.fn(s)
}
func (v *cbValue) Type() string {
	if v.isBool {
		return "bool"
	}
	return "string"
}

const noArg = "\x00"

func parseArgs(env Env, o *options) error {
	o.attrSetType = "instance_attributes"
	o.checkLevel = -1
	o.requireCIB, o.requireDataset, o.requireResource = true, true, true
	o.outputAs = "text"
	fs := pflag.NewFlagSet("crm_resource", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	flag := func(name, short string, fn func()) {
		f := fs.VarPF(&cbValue{fn: func(string) error { fn(); return nil }, isBool: true}, name, short, "")
		f.NoOptDefVal = "true"
	}
	str := func(name, short string, fn func(string) error) {
		fs.VarP(&cbValue{fn: fn}, name, short, "")
	}
	optional := func(name string, fn func(string) error) {
		f := fs.VarPF(&cbValue{fn: fn}, name, "", "")
		f.NoOptDefVal = noArg
	}
	set := func(p *string) func(string) error { return func(s string) error { *p = s; return nil } }

	// Output options.
	str("output-as", "", set(&o.outputAs))
	str("output-to", "", set(&o.outputTo))
	flag("text-fancy", "", func() {})
	flag("version", "$", func() { o.version = true })
	fs.CountVarP(&o.verbose, "verbose", "V", "")
	fs.BoolVarP(&o.quiet, "quiet", "Q", false, "")

	// Queries.
	listCB := func(c command) func() {
		return func() { o.setCommand(c); o.requireResource = false }
	}
	flag("list", "L", listCB(cmdListResources))
	flag("list-raw", "l", listCB(cmdListInstances))
	flag("list-cts", "c", listCB(cmdCTS))
	flag("list-operations", "O", listCB(cmdListActiveOps))
	flag("list-all-operations", "o", listCB(cmdListAllOps))
	flag("list-standards", "", func() {
		o.setCommand(cmdListStandards)
		o.requireCIB, o.requireDataset, o.requireResource = false, false, false
	})
	agentSpec := func(c command) func(string) error {
		return func(s string) error {
			o.setCommand(c)
			o.requireCIB, o.requireDataset, o.requireResource = false, false, false
			o.agentSpec = s
			return nil
		}
	}
	flag("list-ocf-providers", "", func() { _ = agentSpec(cmdListProviders)("") })
	str("list-agents", "", agentSpec(cmdListAgents))
	str("list-ocf-alternatives", "", agentSpec(cmdListAlternatives))
	str("show-metadata", "", agentSpec(cmdMetadata))
	simple := func(c command, flags int) func() {
		return func() { o.setCommand(c); o.findFlags = flags }
	}
	flag("query-xml", "q", simple(cmdQueryXML, findAny))
	flag("query-xml-raw", "w", simple(cmdQueryRawXML, findAny))
	str("get-parameter", "g", func(s string) error {
		o.setCommand(cmdGetParam)
		o.propName, o.findFlags = s, findAny
		return nil
	})
	str("get-property", "G", func(s string) error {
		o.setCommand(cmdGetProperty)
		o.propName, o.findFlags = s, findAny
		return nil
	})
	flag("locate", "W", simple(cmdLocate, findAnon))
	flag("constraints", "a", simple(cmdColocations, findAnon))
	flag("stack", "A", func() { simple(cmdColocations, findAnon)(); o.recursive = true })
	flag("why", "Y", func() { o.setCommand(cmdWhy); o.requireResource = false; o.findFlags = findAnon })

	// Commands.
	execAgent := func(name string) func(string) error {
		return func(s string) error {
			o.setCommand(cmdExecuteAgent)
			o.opName = name
			o.findFlags = findAnon
			o.haveOverrides = true
			if s != noArg && s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 {
					o.parseErr, o.parseErrCode = "Invalid check level setting: "+s, pcmkout.ExitUsage
					return fmt.Errorf("bad level")
				}
				o.checkLevel = n
			}
			return nil
		}
	}
	optional("validate", execAgent("validate"))
	cleanup := func(c command) func() {
		return func() {
			o.setCommand(c)
			o.requireResource = false
			if env.getenv("CIB_file") == "" {
				o.requireCrmd = true
			}
			o.findFlags = findAnon
		}
	}
	flag("cleanup", "C", cleanup(cmdCleanup))
	flag("refresh", "R", cleanup(cmdRefresh))
	setDel := func(c command) func(string) error {
		return func(s string) error {
			o.setCommand(c)
			o.propName, o.findFlags = s, findAny
			return nil
		}
	}
	str("set-parameter", "p", setDel(cmdSetParam))
	str("delete-parameter", "d", setDel(cmdDeleteParam))
	str("set-property", "S", func(s string) error {
		o.setCommand(cmdSetProperty)
		o.requireDataset = false
		o.propName, o.findFlags = s, findAny
		return nil
	})

	// Locations.
	flag("move", "M", simple(cmdMove, findAnon))
	flag("ban", "B", simple(cmdBan, findAnon))
	flag("clear", "U", simple(cmdClear, findAnon))
	flag("expired", "e", func() { o.clearExpired = true; o.requireResource = false })
	str("lifetime", "u", set(&o.lifetime))
	flag("promoted", "", func() { o.promoted = true })
	flag("master", "", func() { o.promoted = true })

	// Advanced.
	flag("delete", "D", func() {
		o.setCommand(cmdDelete)
		o.requireDataset = false
		o.findFlags = findAny
	})
	flag("fail", "F", func() { o.setCommand(cmdFail); o.requireCrmd = true; o.requireNode = true })
	flag("restart", "", simple(cmdRestart, findAnon))
	flag("wait", "", func() { o.setCommand(cmdWait); o.requireResource, o.requireDataset = false, false })
	flag("digests", "", func() {
		o.setCommand(cmdDigests)
		o.findFlags = findAnon
		o.haveOverrides = true
		o.requireNode, o.requireDataset = true, true
	})
	for _, n := range []string{"force-demote", "force-stop", "force-start", "force-promote"} {
		e := execAgent(n)
		flag(n, "", func() { _ = e(noArg) })
	}
	optional("force-check", execAgent("force-check"))

	// Additional options.
	str("node", "N", set(&o.node))
	flag("recursive", "", func() { o.recursive = true })
	str("resource-type", "t", set(&o.rscType))
	str("parameter-value", "v", func(s string) error { o.propValue, o.haveValue = s, true; return nil })
	flag("meta", "m", func() { o.attrSetType = "meta_attributes" })
	flag("utilization", "z", func() { o.attrSetType = "utilization" })
	str("operation", "n", set(&o.opName))
	str("interval", "I", set(&o.interval))
	str("class", "", func(s string) error { o.vClass = s; o.cmdlineConfig = true; o.requireResource = false; return nil })
	str("agent", "", func(s string) error { o.vAgent = s; o.cmdlineConfig = true; o.requireResource = false; return nil })
	str("provider", "", func(s string) error { o.vProvider = s; o.cmdlineConfig = true; o.requireResource = false; return nil })
	str("option", "", func(s string) error {
		i := strings.IndexByte(s, '=')
		if i <= 0 {
			o.parseErr, o.parseErrCode = "", pcmkout.ExitUsage
			return fmt.Errorf("bad option")
		}
		o.cmdlineParams = setParam(o.cmdlineParams, s[:i], s[i+1:])
		return nil
	})
	str("timeout", "T", func(s string) error { o.timeoutMS = parseMsec(s); return nil })
	str("resource", "r", set(&o.rscID))
	flag("force", "f", func() { o.force = true })
	str("set-name", "s", set(&o.propSet))
	str("nvpair", "i", set(&o.propID))
	str("xml-file", "x", func(string) error { return nil })
	str("host-uname", "H", set(&o.node))

	if err := fs.Parse(env.Args[1:]); err != nil {
		if o.parseErr == "" && o.parseErrCode == 0 {
			o.parseErr = glibOptionError(err)
		}
		if o.parseErrCode == 0 {
			o.parseErrCode = pcmkout.ExitUsage
		}
		return err
	}
	o.remainder = fs.Args()
	return nil
}

func setParam(ps []pengine.Param, k, v string) []pengine.Param {
	for i := range ps {
		if ps[i].Name == k {
			ps[i].Value = v
			return ps
		}
	}
	return append(ps, pengine.Param{Name: k, Value: v})
}

// glibOptionError words a parse failure as g_option_context_parse does.
func glibOptionError(err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "unknown flag: "):
		return "Unknown option " + strings.TrimPrefix(msg, "unknown flag: ")
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		if i := strings.LastIndex(msg, " in "); i > 0 {
			return "Unknown option " + msg[i+4:]
		}
	case strings.Contains(msg, "flag needs an argument"):
		if i := strings.LastIndex(msg, " in "); i > 0 {
			return "Missing argument for " + msg[i+4:]
		}
		if i := strings.LastIndex(msg, ": "); i > 0 {
			return "Missing argument for " + strings.Trim(msg[i+2:], "'")
		}
	}
	return msg
}

// parseMsec is crm_get_msec: a number with an optional unit; -1 when
// invalid.
func parseMsec(s string) int {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return -1
	}
	n, _ := strconv.Atoi(s[:i])
	switch strings.ToLower(strings.TrimSpace(s[i:])) {
	case "ms", "msec":
		return n
	case "", "s", "sec":
		return n * 1000
	case "m", "min":
		return n * 60000
	case "h", "hr":
		return n * 3600000
	case "us", "usec":
		return n / 1000
	}
	return -1
}

// out is the formatted-output object of one run.
type out struct {
	xml     bool
	t       *pcmkout.Text
	stdout  io.Writer
	stderr  io.Writer
	quiet   bool
	request string
	body    []*pcmkout.Node
	errs    []string
	cdata   string
	raw     string // XML for rawMark
}

// err is out->err: standard error in text, an <error> in XML.
func (w *out) err(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if w.xml {
		w.errs = append(w.errs, msg)
		return
	}
	fmt.Fprintln(w.stderr, msg)
}

// info is out->info: standard output in text unless quiet; nothing in XML.
func (w *out) info(format string, args ...any) {
	if w.xml || w.quiet {
		return
	}
	fmt.Fprintf(w.stdout, format+"\n", args...)
}

func (w *out) add(n *pcmkout.Node) { w.body = append(w.body, n) }

// Main runs crm_resource and returns its exit status.
func Main(env Env) int {
	var o options
	perr := parseArgs(env, &o)
	w := &out{stdout: env.Stdout, stderr: env.Stderr, request: pcmkout.QuoteCmdline(env.Args)}
	if perr != nil {
		if o.parseErr != "" {
			fmt.Fprintf(env.Stderr, "crm_resource: %s\n", o.parseErr)
		}
		return o.parseErrCode
	}
	switch o.outputAs {
	case "text", "":
	case "xml":
		w.xml = true
	default:
		fmt.Fprintf(env.Stderr, "crm_resource: Error creating output format %s: Unknown output format\nError performing operation: %s\n", o.outputAs, pcmkout.ExitText(pcmkout.ExitError))
		return pcmkout.ExitError
	}
	if o.outputTo != "" && o.outputTo != "-" {
		f, err := os.Create(o.outputTo)
		if err != nil {
			fmt.Fprintf(env.Stderr, "crm_resource: Error creating output format %s: %v\n", o.outputAs, err)
			return pcmkout.ExitError
		}
		defer f.Close()
		w.stdout = f
	}
	w.quiet = o.quiet
	if o.cmd == cmdNone {
		o.cmd = cmdListResources
		o.requireResource = false
	}
	w.t = &pcmkout.Text{W: w.stdout, Fancy: o.cmd == cmdColocations || o.cmd == cmdListResources}
	code, msg := run(env, &o, w)
	if code != pcmkout.ExitOK && code != pcmkout.ExitUsage {
		if msg != "" {
			msg += "\nError performing operation: " + pcmkout.ExitText(code)
		} else {
			msg = "Error performing operation: " + pcmkout.ExitText(code)
		}
	}
	if w.xml {
		errs := w.errs
		if msg != "" {
			errs = append(errs, "crm_resource: "+msg)
		}
		var b strings.Builder
		pcmkout.Result(&b, w.request, w.body, code, errs)
		res := strings.Replace(b.String(), "  <raw>"+rawMark+"</raw>\n", w.raw, 1)
		res = strings.Replace(res, cdataMark, "<![CDATA["+w.cdata+"]]>", 1)
		io.WriteString(w.stdout, res)
	} else if msg != "" {
		fmt.Fprintf(env.Stderr, "crm_resource: %s\n", msg)
	}
	return code
}

// session is what a command works with: the connection, the CIB and the
// scheduler's view of it.
type session struct {
	env  Env
	o    *options
	w    *out
	conn Conn
	cib  *etree.Element
	cf   *config
	res  *pengine.Result
	view *pengine.ClusterView

	visit map[*cfgRsc]bool // colocation loop guard of --recursive updates
}

func (s *session) signon() (Conn, cib.Rc) {
	path := s.env.getenv("CIB_file")
	if path == "" {
		if shadow := s.env.getenv("CIB_shadow"); shadow != "" {
			path = cib.ShadowPath(shadow)
		}
	}
	if path != "" {
		eng := s.env.Engine
		if eng == nil {
			eng = &cib.Engine{}
		}
		var f *cib.FileCIB
		var rc cib.Rc
		if path == "-" {
			f, rc = openStdinCIB(s.env, eng)
		} else {
			f, rc = cib.OpenFile(path, eng)
		}
		if rc != cib.OK {
			return nil, rc
		}
		return fileConn{f}, cib.OK
	}
	if s.env.Connect == nil {
		return nil, cib.ENOTCONN
	}
	return s.env.Connect("crm_resource", 30*time.Second)
}

type fileConn struct{ f *cib.FileCIB }

func (c fileConn) Perform(req cib.Request) cib.Result { return c.f.Perform(req) }
func (c fileConn) Close() error                       { return c.f.Close() }

// openStdinCIB reads CIB_file=- from the environment's standard input.
func openStdinCIB(env Env, eng *cib.Engine) (*cib.FileCIB, cib.Rc) {
	b, err := io.ReadAll(env.Stdin)
	if err != nil {
		return nil, cib.ENXIO
	}
	tmp, err := os.CreateTemp("", "crm_resource-stdin-*.xml")
	if err != nil {
		return nil, cib.ENXIO
	}
	name := tmp.Name()
	defer os.Remove(name)
	_, werr := tmp.Write(b)
	tmp.Close()
	if werr != nil {
		return nil, cib.ENXIO
	}
	f, rc := cib.OpenFile(name, eng)
	if f != nil {
		f.Path = "-"
	}
	return f, rc
}

// query fetches the whole CIB.
func (s *session) query() (*etree.Element, cib.Rc) {
	res := s.conn.Perform(cib.Request{Op: cib.OpQuery, Options: cib.OptSyncCall | cib.OptScopeLocal})
	if res.Rc != cib.OK {
		return nil, res.Rc
	}
	if res.Output == nil {
		return nil, cib.ENXIO
	}
	return res.Output, cib.OK
}

// populate is populate_working_set: the CIB, the configuration model and
// the scheduler's status view.
func (s *session) populate() (int, string) {
	root, rc := s.query()
	if rc != cib.OK {
		return rc.ExitCode(), "Could not get local CIB: " + rc.String()
	}
	s.cib = root.Copy()
	s.cf = loadConfig(s.cib)
	doc := etree.NewDocument()
	doc.SetRoot(s.cib.Copy())
	res, err := pengine.Schedule(doc, s.env.Now, pengine.Options{})
	if err != nil {
		return pcmkout.ExitSoftware, err.Error()
	}
	s.res = res
	s.view = res.View()
	return pcmkout.ExitOK, ""
}

func run(env Env, o *options, w *out) (int, string) {
	if o.clearExpired && o.cmd != cmdClear {
		return pcmkout.ExitUsage, "--expired requires --clear or -U"
	}
	if len(o.remainder) > 0 {
		if o.haveOverrides {
			for _, a := range o.remainder {
				i := strings.IndexByte(a, '=')
				v := ""
				if i > 0 {
					v = a[i+1:]
					if j := strings.IndexAny(v, " \t\n"); j >= 0 {
						v = v[:j]
					}
				}
				if i <= 0 || v == "" {
					// Upstream names argv[optind], and getopt never ran.
					arg1 := ""
					if len(env.Args) > 1 {
						arg1 = env.Args[1]
					}
					return pcmkout.ExitUsage, fmt.Sprintf("Error parsing '%s' as a name=value pair", arg1)
				}
				o.overrideParams = setParam(o.overrideParams, a[:i], v)
			}
		} else {
			var b strings.Builder
			b.WriteString("non-option ARGV-elements:\n")
			for i, a := range o.remainder {
				fmt.Fprintf(&b, "[%d of %d] %s\n", i+1, len(o.remainder), a)
			}
			return pcmkout.ExitUsage, b.String()
		}
	}
	if o.version {
		if w.xml {
			n := pcmkout.NewNode("version", "program", "Pacemaker", "version", "2.1.5",
				"author", "Andrew Beekhof and the Pacemaker project contributors", "build", "2.1.5", "features", "")
			w.add(n)
		} else {
			fmt.Fprintln(w.stdout, "Pacemaker 2.1.5\nWritten by Andrew Beekhof and the Pacemaker project contributors")
		}
		return pcmkout.ExitOK, ""
	}
	if o.cmdlineConfig {
		s := &session{env: env, o: o, w: w}
		if msg := s.validateCmdlineConfig(); msg != "" {
			return pcmkout.ExitUsage, msg
		}
		o.requireResource, o.requireDataset, o.requireCIB = false, false, false
	}
	if o.requireResource && o.rscID == "" {
		return pcmkout.ExitUsage, "Must supply a resource id with -r"
	}
	if o.requireNode && o.node == "" {
		return pcmkout.ExitUsage, "Must supply a node name with -N"
	}
	s := &session{env: env, o: o, w: w}
	if o.findFlags != 0 && o.rscID != "" {
		o.requireDataset = true
	}
	if o.requireCIB {
		conn, rc := s.signon()
		if rc != cib.OK {
			return rc.ExitCode(), "Could not connect to the CIB: " + rc.String()
		}
		s.conn = conn
		defer func() {
			if err := conn.Close(); err != nil {
				fmt.Fprintf(env.Stderr, "crm_resource: could not write the CIB: %v\n", err)
			}
		}()
	}
	if o.requireDataset {
		if code, msg := s.populate(); code != pcmkout.ExitOK {
			return code, msg
		}
	}
	var rsc *cfgRsc
	if o.findFlags != 0 && o.rscID != "" {
		rsc = s.findResource(o.rscID, o.findFlags)
		if rsc == nil {
			return pcmkout.ExitNoSuch, fmt.Sprintf("Resource '%s' not found", o.rscID)
		}
		if strings.Contains(o.rscID, ":") && rsc.parent != nil && rsc.parent.variant == variantClone &&
			(o.cmd == cmdBan || o.cmd == cmdClear || o.cmd == cmdMove || o.cmd == cmdRestart) {
			return pcmkout.ExitInvalidParm, fmt.Sprintf("Cannot operate on clone resource instance '%s'", o.rscID)
		}
	}
	nodeName := ""
	if o.node != "" && s.cf != nil {
		nodeName = s.findNode(o.node)
		if nodeName == "" {
			return pcmkout.ExitNoSuch, fmt.Sprintf("Node '%s' not found", o.node)
		}
	}
	if o.requireCrmd {
		// No controller client exists here: the controller is reached only
		// through its IPC socket, and without it Pacemaker fails the same way.
		return 102, "Error connecting to the controller: Connection refused"
	}

	switch o.cmd {
	case cmdListStandards, cmdListProviders, cmdListAlternatives:
		return s.listProviders()
	case cmdListAgents:
		return s.listAgents()
	case cmdMetadata:
		return s.showMetadata()
	case cmdColocations:
		rep := s.cf.constraintReport(rsc, o.recursive, o.force)
		if w.xml {
			w.add(rep.renderXML())
		} else {
			rep.renderText(w.t)
		}
		return pcmkout.ExitOK, ""
	case cmdListActiveOps, cmdListAllOps:
		ops := findOperations(s.cib, s.view, o.rscID, o.node, o.cmd == cmdListActiveOps)
		s.printOperations(ops)
		return pcmkout.ExitOK, ""
	case cmdLocate:
		nodes := locateResource(s.view, o.rscID)
		s.printLocate(nodes, o.rscID)
		return pcmkout.ExitOK, ""
	case cmdDigests:
		return s.digests(rsc, nodeName)
	case cmdListInstances:
		return s.listInstances()
	case cmdListResources:
		return s.listResources()
	case cmdGetParam:
		return s.getParam(rsc)
	case cmdGetProperty:
		return s.getProperty(rsc)
	case cmdSetParam:
		if o.propValue == "" {
			return pcmkout.ExitUsage, "You need to supply a value with the -v option"
		}
		return s.setParam(rsc, o.rscID, o.propSet, o.attrSetType, o.propID, o.propName, o.propValue, o.recursive)
	case cmdDeleteParam:
		return s.deleteParam(rsc, o.rscID, o.propSet, o.attrSetType, o.propID, o.propName)
	case cmdSetProperty:
		return s.setProperty()
	case cmdBan:
		return s.ban(rsc, nodeName)
	case cmdMove:
		return s.move(rsc, nodeName)
	case cmdClear:
		return s.clear(rsc, nodeName)
	case cmdWhy:
		return s.why(rsc, nodeName)
	case cmdQueryXML, cmdQueryRawXML:
		return s.queryXML(rsc, o.cmd == cmdQueryXML)
	case cmdDelete:
		return s.deleteResource()
	case cmdCleanup, cmdRefresh:
		return s.cleanupOffline(rsc, nodeName)
	case cmdExecuteAgent:
		code, msg := s.executeAgent(rsc)
		if code != pcmkout.ExitOK && msg == "" && o.cmd == cmdExecuteAgent {
			// main() goes straight to done with the agent's exit code.
			return code, ""
		}
		return code, msg
	case cmdWait:
		return s.wait()
	case cmdRestart:
		return s.needsController()
	}
	return pcmkout.ExitUnimpl, ""
}

// findResource is pe_find_resource_with_flags over the configuration: an
// exact id, or (for anonymous lookups) a clone instance's base id.
func (s *session) findResource(id string, flags int) *cfgRsc {
	for _, r := range s.cf.rscs {
		if r.id == id {
			return r
		}
	}
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		if r := s.cf.byID[id[:i]]; r != nil {
			if _, err := strconv.Atoi(id[i+1:]); err == nil {
				for p := r.parent; p != nil; p = p.parent {
					if p.variant == variantClone {
						return r
					}
				}
			}
		}
	}
	return nil
}

// findNode is pe_find_node: node names compare without case.
func (s *session) findNode(name string) string {
	for _, n := range s.cf.nodes {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	if s.view != nil {
		for _, n := range s.view.Nodes {
			if strings.EqualFold(n.Name, name) {
				return n.Name
			}
		}
	}
	return ""
}

func (s *session) printLocate(nodes []locatedNode, name string) {
	w := s.w
	if w.xml {
		n := pcmkout.NewNode("nodes", "resource", name)
		for _, ln := range nodes {
			c := n.AddNew("node")
			c.Text = ln.name
			if ln.promoted {
				c.Set("state", "promoted")
			}
		}
		w.add(n)
		return
	}
	if len(nodes) == 0 {
		if !w.quiet {
			fmt.Fprintf(w.stderr, "resource %s is NOT running\n", name)
		}
		return
	}
	w.t.BeginList("Nodes")
	for _, n := range nodes {
		if w.quiet {
			w.t.ItemID("node", "%s", n.name)
			continue
		}
		role := ""
		if n.promoted {
			role = " Promoted"
		}
		w.t.ItemID("node", "resource %s is running on: %s%s", name, n.name, role)
	}
	w.t.EndList()
}

func (s *session) printOperations(ops []opEntry) {
	if len(ops) == 0 {
		return
	}
	if s.w.xml {
		n := pcmkout.NewNode("operations")
		for _, e := range ops {
			n.Add(nodeAndOpXML(s.view, e))
		}
		s.w.add(n)
		return
	}
	s.w.t.BeginList("Resource Operations")
	for _, e := range ops {
		s.w.t.Item("%s", nodeAndOp(s.view, e))
	}
	s.w.t.EndList()
}

// needsController answers the commands that only the controller can carry
// out (--restart, --wait) when none is reachable.
func (s *session) needsController() (int, string) {
	return 102, "Error connecting to the controller: Connection refused"
}
