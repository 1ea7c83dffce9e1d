// Package crmverify is Pacemaker 2.1.5's crm_verify (tools/crm_verify.c):
// read a complete CIB (a file, a string, standard input or the live
// cluster), validate it against its schema, run the scheduler's
// configuration checks over it and report "Errors found" or "Warnings
// found" with exit code 78, as the real tool does.
//
// The checks (checks.go) are the conditions under which Pacemaker's
// scheduler calls pcmk__config_err/pcmk__config_warn (and pe_err/pe_warn,
// which set the same flags): invalid references in constraints, duplicate
// recurring operations, missing fencing devices, unclean nodes in the
// status and so on. Each finding keeps the scheduler's message text; with
// -V they are printed, each once, before the verdict.
package crmverify

import (
	"embed"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/tools/crmattribute/gopt"
	"ringmaster/tools/pcmkout"
)

//go:embed help
var helpFS embed.FS

func helpText(name string) string {
	b, _ := helpFS.ReadFile("help/crm_verify." + name + ".txt")
	return string(b)
}

// Env is what crm_verify takes from its process.
type Env struct {
	Args   []string // without the program name
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Now    time.Time
	// Validate checks a CIB against its schema; nil skips validation.
	Validate func(root *etree.Element) error
	// QueryLive fetches the running cluster's CIB (-L); nil means the CIB
	// manager is not reachable.
	QueryLive func() (*etree.Element, cib.Rc)
}

var entries = []gopt.Entry{
	{Long: "help", Short: 'h'}, {Long: "help-all"}, {Long: "help-output"}, {Long: "help-data"},
	{Long: "help-additional"},
	{Long: "version", Short: '$'}, {Long: "verbose", Short: 'V'},
	{Long: "output-as", Kind: gopt.Required}, {Long: "output-to", Kind: gopt.Required}, {Long: "text-fancy"},
	{Long: "live-check", Short: 'L'}, {Long: "xml-file", Short: 'x', Kind: gopt.Required},
	{Long: "xml-pipe", Short: 'p'}, {Long: "xml-text", Short: 'X', Kind: gopt.Required},
	{Long: "save-xml", Short: 'S', Kind: gopt.Required},
}

// Exit codes (crm_exit_t).
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 64
	exitProtocol = 76
	exitConfig   = 78
)

// Main runs crm_verify and returns its exit code.
func Main(env Env) int {
	var (
		live, pipe, version bool
		verbosity           int
		file, text, save    string
		haveFile, haveText  bool
		outputAs, outputTo  = "text", ""
	)
	opts, _, perr := gopt.Parse(env.Args, entries, "xSX")
	for _, o := range opts {
		switch o.Name {
		case "help", "help-all", "help-output", "help-data", "help-additional":
			fmt.Fprint(env.Stdout, helpText(o.Name))
			return exitOK
		case "version":
			version = true
		case "verbose":
			verbosity++
		case "output-as":
			outputAs = o.Value
		case "output-to":
			outputTo = o.Value
		case "live-check":
			live = true
		case "xml-file":
			file, haveFile = o.Value, true
		case "xml-pipe":
			pipe = true
		case "xml-text":
			text, haveText = o.Value, true
		case "save-xml":
			save = o.Value
		}
	}
	if perr != nil {
		fmt.Fprintf(env.Stderr, "crm_verify: %s\n", perr)
		return exitUsage
	}
	out := env.Stdout
	if outputTo != "" && outputTo != "-" {
		f, err := os.OpenFile(outputTo, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			fmt.Fprintf(env.Stderr, "crm_verify: Error creating output format %s: %s\n", outputAs, err)
			return exitError
		}
		defer f.Close()
		out = f
	}
	xml := false
	switch outputAs {
	case "text", "":
	case "xml":
		xml = true
	default:
		fmt.Fprintf(env.Stderr, "crm_verify: Error creating output format %s: Unknown output format\n", outputAs)
		return exitError
	}
	finish := func(code int) int {
		if xml {
			var body []*pcmkout.Node
			if version {
				body = append(body, pcmkout.NewNode("version", "program", "Pacemaker", "version", "2.1.5",
					"author", "Andrew Beekhof and the Pacemaker project contributors", "build", "a3f44794f94",
					"features", "agent-manpages cibsecrets corosync-ge-2 generated-manpages lha monotonic nagios ncurses remote systemd"))
			}
			var b strings.Builder
			fmt.Fprintf(&b, "<pacemaker-result api-version=\"%s\" request=\"%s\">\n", pcmkout.APIVersion,
				pcmkout.EscapeAttr(pcmkout.QuoteCmdline(append([]string{"crm_verify"}, env.Args...))))
			for _, n := range body {
				n.Write(&b, 1)
			}
			pcmkout.NewNode("status", "code", fmt.Sprint(code), "message", pcmkout.ExitText(code)).Write(&b, 1)
			b.WriteString("</pacemaker-result>\n")
			io.WriteString(out, b.String())
		}
		return code
	}
	if version {
		if !xml {
			fmt.Fprint(out, "Pacemaker 2.1.5\nWritten by Andrew Beekhof and the Pacemaker project contributors\n")
		}
		return finish(exitOK)
	}
	fail := func(code int, msg string) int {
		// The error is printed without an output object (NULL out),
		// so it goes to stderr whatever the format.
		fmt.Fprintf(env.Stderr, "crm_verify: %s\n", msg)
		return finish(code)
	}

	var root *etree.Element
	switch {
	case live:
		var rc cib.Rc = cib.ENOTCONN
		if env.QueryLive != nil {
			root, rc = env.QueryLive()
		}
		if rc != cib.OK {
			// cib__signon_query reports any failure to reach the CIB
			// manager as pcmk_rc_cib_unavailable.
			return fail(66, "CIB query failed: Input file not available")
		}
	case haveFile:
		var data []byte
		var err error
		if file == "-" {
			data, err = io.ReadAll(env.Stdin)
		} else {
			data, err = os.ReadFile(file)
		}
		if err == nil {
			root, err = cib.ParseXML(data)
		}
		if err != nil || root == nil {
			return fail(exitError, "Couldn't parse input file: "+file)
		}
	case haveText:
		var err error
		root, err = cib.ParseXMLString(text)
		if err != nil || root == nil {
			return fail(exitError, "Couldn't parse input string: "+text)
		}
	case pipe:
		data, err := io.ReadAll(env.Stdin)
		if err == nil {
			root, err = cib.ParseXML(data)
		}
		if err != nil || root == nil {
			return fail(exitError, "Couldn't parse input from STDIN.")
		}
	default:
		return fail(exitError, "No configuration source specified.  Use --help for usage information.")
	}
	if !strings.EqualFold(root.Tag, "cib") {
		return fail(exitProtocol, "This tool can only check complete configurations (i.e. those starting with <cib>).")
	}
	if save != "" {
		os.WriteFile(save, []byte(cib.Serialize(root, true)), 0o644)
	}
	hadStatus := cib.FirstChild(root, "status") != nil
	if !hadStatus {
		root.CreateElement("status")
	}

	rep := &Report{}
	schema := cib.AttrOr(root, "validate-with", "")
	if strings.EqualFold(schema, "none") || schema == "" {
		// cli_config_update says this on the console whatever -V is.
		fmt.Fprint(env.Stderr, "Schema validation of configuration is disabled (enabling is encouraged and prevents common misconfigurations)\n")
	} else if env.Validate != nil {
		if err := env.Validate(root); err != nil {
			rep.errf("CIB did not pass schema validation")
			root = nil
		}
	}
	if root != nil {
		Check(root, hadStatus || live, env.Now, rep)
	}
	if verbosity > 0 {
		seen := map[string]bool{}
		for _, f := range rep.Findings {
			if seen[f.Text] || (f.Warning && verbosity < 2) {
				continue
			}
			seen[f.Text] = true
			level := "error"
			if f.Warning {
				level = "warning"
			}
			fmt.Fprintf(env.Stderr, "(%s) \t%s: %s\n", f.Func, level, f.Text)
		}
	}
	more := "\n-V may provide more details"
	if verbosity > 0 {
		more = ""
	}
	switch {
	case rep.HasErrors():
		return fail(exitConfig, "Errors found during check: config not valid"+more)
	case rep.HasWarnings():
		return fail(exitConfig, "Warnings found during check: config may not be valid"+more)
	}
	return finish(exitOK)
}
