// Package cibadmin is the logic of the cibadmin tool: the same options,
// output and exit codes as Pacemaker 2.1.5's tools/cibadmin.c. The CIB is
// reached through a Conn: a file (CIB_file / CIB_shadow) or the CIB manager.
package cibadmin

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ringmaster/cib"
)

//go:embed help.txt
var helpText string

//go:embed version.txt
var versionText string

// Conn is a signed-on CIB connection.
type Conn interface {
	Perform(req cib.Request) cib.Result
	Close() error
}

// Env is what the tool needs from its process.
type Env struct {
	Prog   string // argv[0], used in option errors
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Connect opens the live CIB manager when no CIB_file/CIB_shadow is
	// set, waiting at most timeout per call; nil means "not available"
	// (ENOTCONN).
	Connect func(name string, timeout time.Duration) (Conn, cib.Rc)
	// Engine runs file operations; nil means structural validation only.
	Engine *cib.Engine
}

var specs = []optSpec{
	{"help", '?', noArg}, {"version", '$', noArg}, {"verbose", 'V', noArg},
	{"upgrade", 'u', noArg}, {"query", 'Q', noArg}, {"erase", 'E', noArg},
	{"bump", 'B', noArg}, {"create", 'C', noArg}, {"modify", 'M', noArg},
	{"patch", 'P', noArg}, {"replace", 'R', noArg}, {"delete", 'D', noArg},
	{"delete-all", 'd', noArg}, {"empty", 'a', noArg}, {"md5-sum", '5', noArg},
	{"md5-sum-versioned", '6', noArg}, {"show-access", 'S', optionalArg},
	{"force", 'f', noArg}, {"timeout", 't', requiredArg}, {"user", 'U', requiredArg},
	{"sync-call", 's', noArg}, {"local", 'l', noArg}, {"allow-create", 'c', noArg},
	{"no-children", 'n', noArg}, {"no-bcast", 'b', noArg},
	{"xml-text", 'X', requiredArg}, {"xml-file", 'x', requiredArg}, {"xml-pipe", 'p', noArg},
	{"scope", 'o', requiredArg}, {"xpath", 'A', requiredArg}, {"node-path", 'e', noArg},
	{"node", 'N', requiredArg}, {"blank", 0, noArg},
}

// Run executes cibadmin with args (argv without argv[0]) and returns the
// exit code.
func Run(args []string, env Env) int {
	stdout, stderr := env.Stdout, env.Stderr
	usage := func(code int) int {
		if code == cib.ExitOK {
			fmt.Fprint(stdout, helpText)
		} else {
			fmt.Fprint(stderr, helpText)
		}
		return code
	}
	if len(args) < 1 {
		return usage(cib.ExitUsage)
	}
	prog := env.Prog
	if prog == "" {
		prog = "cibadmin"
	}
	opts, rest, ok := getopt(prog, args, specs, func(s string) { fmt.Fprint(stderr, s) })
	argerr := 0
	if !ok {
		argerr++
	}
	var (
		action, scope, xpathExpr, user, xmlText, xmlFile string
		haveXMLText, haveXMLFile, pipe, dangerous, force bool
		showAccess                                       bool
		callOpts                                         cib.CallOpt
		timeout                                          = 30 * time.Second
		accessHow, aclCred                               string
	)
	for _, o := range opts {
		switch o.short {
		case 't':
			// Seconds, only meaningful against the CIB manager; values
			// below 1 mean 30 as in cibadmin.c.
			if n, err := strconv.Atoi(o.arg); err == nil && n >= 1 {
				timeout = time.Duration(n) * time.Second
			} else {
				timeout = 30 * time.Second
			}
		case 'A':
			xpathExpr = o.arg
			scope = o.arg
			callOpts |= cib.OptXPath
		case 'e':
			callOpts |= cib.OptXPathAddress
		case 'u':
			action, dangerous = cib.OpUpgrade, true
		case 'E':
			action, dangerous = cib.OpErase, true
		case 'S':
			accessHow = "auto"
			if o.has {
				accessHow = o.arg
			}
			if o.has && !oneOf(o.arg, "auto", "namespace", "text", "color") {
				fmt.Fprintf(stderr, "Unrecognized value for --show-access: \"%s\"\n", o.arg)
				argerr++
			}
			showAccess = true
			callOpts |= cib.OptSyncCall
		case 'Q':
			action = cib.OpQuery
		case 'P':
			action = cib.OpApplyDiff
		case 'U':
			user = o.arg
		case 'M':
			action = cib.OpModify
		case 'R':
			action = cib.OpReplace
		case 'C':
			action = cib.OpCreate
		case 'D':
			action = cib.OpDelete
		case '5':
			action = "md5-sum"
		case '6':
			action = "md5-sum-versioned"
		case 'c':
			callOpts |= cib.OptCanCreate
		case 'n':
			callOpts |= cib.OptNoChildren
		case 'B':
			action = cib.OpBump
		case 'V':
			callOpts |= cib.OptVerbose
		case '?':
			return usage(cib.ExitOK)
		case '$':
			fmt.Fprint(stdout, versionText)
			return cib.ExitOK
		case 'o':
			scope = o.arg
		case 'X':
			xmlText, haveXMLText = o.arg, true
		case 'x':
			xmlFile, haveXMLFile = o.arg, true
		case 'p':
			pipe = true
		case 'N':
		case 'l':
			callOpts |= cib.OptScopeLocal
		case 'd':
			action = cib.OpDelete
			callOpts |= cib.OptMultiple
			dangerous = true
		case 'b':
			dangerous = true
			callOpts |= cib.OptInhibitBcast | cib.OptScopeLocal
		case 's':
			callOpts |= cib.OptSyncCall
		case 'f':
			force = true
			callOpts |= cib.OptQuorumOverride
		case 'a':
			out := cib.EmptyCIB(1)
			if len(rest) > 0 {
				cib.SetAttr(out, "validate-with", rest[0])
			}
			fmt.Fprint(stdout, cib.Serialize(out, true))
			return cib.ExitOK
		}
	}
	_ = xpathExpr
	if len(rest) > 0 {
		fmt.Fprintf(stdout, "non-option ARGV-elements: %s \n", strings.Join(rest, " "))
		return usage(cib.ExitUsage)
	}
	if action == "" {
		argerr++
	}
	if argerr > 0 {
		return usage(cib.ExitUsage)
	}
	if dangerous && !force {
		fmt.Fprint(stderr, "The supplied command is considered dangerous.  To prevent accidental destruction of the cluster, the --force flag is required in order to proceed.\n")
		return cib.ExitUnsafe
	}

	var input *etree.Element
	source := ""
	var perr error
	switch {
	case haveXMLFile:
		source = xmlFile
		var data []byte
		if data, perr = os.ReadFile(xmlFile); perr == nil {
			input, perr = cib.ParseXML(data)
		}
	case haveXMLText:
		source = "input string"
		input, perr = cib.ParseXMLString(xmlText)
	case pipe:
		source = "STDIN"
		var data []byte
		if data, perr = io.ReadAll(env.Stdin); perr == nil {
			input, perr = cib.ParseXML(data)
		}
	case showAccess:
		if user == "" {
			fmt.Fprint(stderr, "The supplied command requires -U user specified.\n")
			return cib.ExitUsage
		}
		// The query runs with our own rights; the user is only evaluated.
		aclCred, user = user, ""
	}
	if source != "" && (perr != nil || input == nil) {
		fmt.Fprintf(stderr, "Couldn't parse input from %s.\n", source)
		return cib.ExitConfig
	}

	switch action {
	case "md5-sum", "md5-sum-versioned":
		if input == nil {
			fmt.Fprint(stderr, "Please supply XML to process with -X, -x or -p\n")
			return cib.ExitUsage
		}
		if action == "md5-sum" {
			fmt.Fprint(stderr, "Digest: ")
			fmt.Fprintf(stdout, "%s\n", cib.DigestOnDisk(input))
		} else {
			v := cib.AttrOr(input, "crm_feature_set", "")
			fmt.Fprintf(stderr, "Versioned (%s) digest: ", versionOrNull(input))
			fmt.Fprintf(stdout, "%s\n", cib.DigestVersioned(input, v))
		}
		return cib.ExitOK
	}

	conn, rc := connect(env, timeout)
	if rc != cib.OK {
		fmt.Fprintf(stderr, "Could not connect to the CIB: %s\n", rc)
		fmt.Fprint(stderr, "Init failed, could not perform requested operations\n")
		return rc.ExitCode()
	}

	// A full replace always carries a status section (do_work).
	if action == cib.OpReplace && input != nil && input.Tag == "cib" {
		if cib.FirstChild(input, "status") == nil {
			input.CreateElement("status")
		}
	}
	req := cib.Request{Op: action, Section: scope, Options: callOpts, Data: input, User: user}
	res := conn.Perform(req)
	exit := cib.ExitOK
	switch {
	case res.Rc == cib.ErrSchemaUnchanged && action == cib.OpUpgrade:
		fmt.Fprintf(stdout, "Upgrade unnecessary: %s\n", res.Rc)
	case res.Rc != cib.OK:
		if _, isFile := conn.(fileConn); isFile {
			// Synchronous file operations fail in main().
			if res.Rc == cib.ErrSchemaValidation && res.Invalid != nil {
				dumpNumbered(stderr, cib.Serialize(res.Invalid, true))
			}
			fmt.Fprintf(stderr, "Call failed: %s\n", res.Rc)
		} else {
			// Replies from the manager go through cibadmin_op_callback.
			fmt.Fprintf(stderr, "Call %s failed: %s\n", action, res.Rc)
		}
		exit = res.Rc.ExitCode()
	}
	if res.Output != nil && showAccess {
		how := accessHow
		if how == "auto" || how == "" {
			how = "text" // color only on a terminal
			if f, ok := stdout.(*os.File); ok && isTerminal(f) {
				how = "color"
			}
		}
		text, err := renderAccess(res.Output, aclCred, how)
		if err != nil {
			fmt.Fprintf(stderr, "Could not evaluate access per request (%s, error: %s)\n", aclCred, err)
			conn.Close()
			return cib.ExitConfig
		}
		fmt.Fprintf(stdout, "%s\n", text)
		res.Output = nil
	}
	if res.Output != nil {
		printOutput(stdout, res.Output, callOpts)
	}
	if err := conn.Close(); err != nil && exit == cib.ExitOK {
		exit = cib.ExitError
	}
	return exit
}

func versionOrNull(e *etree.Element) string {
	if v, ok := cib.Attr(e, "crm_feature_set"); ok {
		return v
	}
	return "(null)"
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func printOutput(w io.Writer, e *etree.Element, opts cib.CallOpt) {
	if opts&cib.OptXPathAddress != 0 {
		if e.Tag == "xpath-query" {
			for _, c := range e.ChildElements() {
				printOutput(w, c, opts)
			}
		} else if id, ok := cib.Attr(e, "id"); ok {
			fmt.Fprintf(w, "%s\n", id)
		}
		return
	}
	fmt.Fprint(w, cib.Serialize(e, true))
}

type fileConn struct{ f *cib.FileCIB }

func (c fileConn) Perform(req cib.Request) cib.Result { return c.f.Perform(req) }
func (c fileConn) Close() error                       { return c.f.Close() }

// connect is cib_new + signon: CIB_file, then CIB_shadow, then the manager.
func connect(env Env, timeout time.Duration) (Conn, cib.Rc) {
	getenv := env.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	path := getenv("CIB_file")
	if path == "" {
		if shadow := getenv("CIB_shadow"); shadow != "" {
			path = cib.ShadowPath(shadow)
		}
	}
	if path != "" {
		f, rc := cib.OpenFile(path, env.Engine)
		if rc != cib.OK {
			return nil, rc
		}
		if env.Stdin != nil {
			f.Stdin = env.Stdin
		}
		return fileConn{f}, cib.OK
	}
	if env.Connect == nil {
		return nil, cib.ENOTCONN
	}
	return env.Connect("cibadmin", timeout)
}

// dumpNumbered prints a document with line numbers the way schemas.c
// dump_file does when a file CIB update fails validation.
func dumpNumbered(w io.Writer, text string) {
	var b strings.Builder
	line := 1
	fmt.Fprintf(&b, "%4d ", line)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			line++
			fmt.Fprintf(&b, "\n%4d ", line)
			continue
		}
		b.WriteByte(text[i])
	}
	b.WriteByte('\n')
	fmt.Fprint(w, b.String())
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
