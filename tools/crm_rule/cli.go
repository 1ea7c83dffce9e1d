package crmrule

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/beevik/etree"
	"github.com/spf13/pflag"

	"ringmaster/pengine/rules"
)

// Env is what crm_rule takes from its process.
type Env struct {
	Args   []string // argv, program name first
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Now is the clock, in the local time zone.
	Now time.Time
	// QueryCIB fetches the live CIB when neither -X nor CIB_file nor
	// CIB_shadow says where the CIB is; nil means no cluster to ask.
	QueryCIB func() (*etree.Element, error)
}

// errNoInput is what cib__signon_query reports when there is no CIB to
// read (pcmk_rc_no_input).
var errNoInput = errors.New("Input file not available")

// Main runs crm_rule and returns its exit status.
func Main(env Env) int {
	var check, textFancy, version bool
	var help, helpAll, helpOutput, helpModes, helpData, helpAddl bool
	var xmlText, date, outputAs, outputTo string
	var ruleIDs []string
	var verbose int

	fs := pflag.NewFlagSet("crm_rule", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVarP(&check, "check", "c", false, "")
	fs.StringVarP(&xmlText, "xml-text", "X", "", "")
	fs.StringVarP(&date, "date", "d", "", "")
	fs.StringArrayVarP(&ruleIDs, "rule", "r", nil, "")
	fs.StringVar(&outputAs, "output-as", "text", "")
	fs.StringVar(&outputTo, "output-to", "", "")
	fs.BoolVar(&textFancy, "text-fancy", false, "")
	fs.BoolVarP(&version, "version", "$", false, "")
	fs.CountVarP(&verbose, "verbose", "V", "")
	fs.BoolVarP(&help, "help", "h", false, "")
	fs.BoolVar(&helpAll, "help-all", false, "")
	fs.BoolVar(&helpOutput, "help-output", false, "")
	fs.BoolVar(&helpModes, "help-modes", false, "")
	fs.BoolVar(&helpData, "help-data", false, "")
	fs.BoolVar(&helpAddl, "help-additional", false, "")

	if err := fs.Parse(env.Args[1:]); err != nil {
		fmt.Fprintf(env.Stderr, "crm_rule: %s\n", gOptionError(err))
		return ExitUsage
	}
	for _, h := range []struct {
		on    bool
		parts string
	}{{helpAll, "oMDA"}, {helpOutput, "o"}, {helpModes, "M"}, {helpData, "D"}, {helpAddl, "A"}, {help, "h"}} {
		if h.on {
			io.WriteString(env.Stdout, helpText(h.parts))
			return ExitOK
		}
	}

	dest := env.Stdout
	if outputTo != "" && outputTo != "-" {
		f, err := os.Create(outputTo)
		if err != nil {
			fmt.Fprintf(env.Stderr, "crm_rule: Error creating output format %s: %v\n", outputAs, err)
			return ExitError
		}
		defer f.Close()
		dest = f
	}
	var out Output
	switch outputAs {
	case "text", "":
		out = NewText(dest, env.Stderr)
	case "xml":
		out = NewXML(dest, QuoteCmdline(env.Args))
	default:
		fmt.Fprintf(env.Stderr, "crm_rule: Error creating output format %s: Unknown output format\n", outputAs)
		return ExitError
	}

	code := run(env, out, check, version, fs.Changed("date"), date, fs.Changed("xml-text"), xmlText, ruleIDs)
	out.Finish(code)
	return code
}

func run(env Env, out Output, check, version, haveDate bool, date string, haveXML bool, xmlText string, ruleIDs []string) int {
	fail := func(code int, format string, args ...any) int {
		out.Err("crm_rule: " + fmt.Sprintf(format, args...))
		return code
	}
	if version {
		out.Version()
		return ExitOK
	}
	if !check {
		return fail(ExitUsage, "No mode operation given")
	}
	if len(ruleIDs) == 0 {
		return fail(ExitUsage, "--check requires use of --rule=")
	}
	at := rules.FromTime(env.Now)
	if haveDate {
		t, err := rules.ParseDateTime(date, env.Now)
		if err != nil {
			return fail(ExitDataErr, "Invalid date specified: '%s'", date)
		}
		at = t
	}
	var cib *etree.Element
	switch {
	case haveXML && xmlText == "-":
		b, err := io.ReadAll(env.Stdin)
		if cib = parseXML(b, err); cib == nil {
			return fail(ExitDataErr, "Couldn't parse input from STDIN\n")
		}
	case haveXML:
		if cib = parseXML([]byte(xmlText), nil); cib == nil {
			return fail(ExitDataErr, "Couldn't parse input string: %s\n", xmlText)
		}
	default:
		var err error
		if cib, err = loadCIB(env); err != nil {
			out.Err("CIB query failed: " + err.Error())
			return ExitNoInput
		}
	}
	if constraints(cib) == nil {
		// Upstream asserts (non-fatally) in its XPath search, then finds nothing.
		fmt.Fprintf(env.Stderr, "(log_assertion_as) \terror: xpath_search: Triggered fatal assertion at xpath.c:147 : xml_top != NULL\n")
	}
	code := ExitOK
	for _, r := range CheckRules(cib, at, env.Now, ruleIDs) {
		out.RuleCheck(r)
		if !r.Outcome.isOK() {
			code = r.Outcome.ExitCode()
		}
	}
	return code
}

func parseXML(b []byte, err error) *etree.Element {
	if err != nil {
		return nil
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return nil
	}
	return doc.Root()
}

// loadCIB finds the CIB as cib__signon_query does for a command-line tool:
// the file named by CIB_file, else the shadow copy named by CIB_shadow,
// else the live CIB.
func loadCIB(env Env) (*etree.Element, error) {
	get := env.Getenv
	if get == nil {
		get = func(string) string { return "" }
	}
	path := get("CIB_file")
	if path == "" {
		if name := get("CIB_shadow"); name != "" {
			dir := get("CIB_shadow_dir")
			if dir == "" {
				dir = "/var/lib/pacemaker/cib"
			}
			path = filepath.Join(dir, "shadow."+name)
		}
	}
	if path == "" {
		if env.QueryCIB == nil {
			return nil, errNoInput
		}
		cib, err := env.QueryCIB()
		if err != nil || cib == nil {
			return nil, errNoInput
		}
		return cib, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errNoInput
	}
	cib := parseXML(b, nil)
	if cib == nil {
		return nil, errNoInput
	}
	return cib, nil
}

// gOptionError words a pflag error as GLib's option parser does.
func gOptionError(err error) string {
	var ne *pflag.NotExistError
	var vr *pflag.ValueRequiredError
	switch {
	case errors.As(err, &ne):
		if ne.GetSpecifiedShortnames() != "" {
			return "Unknown option -" + ne.GetSpecifiedName()
		}
		return "Unknown option --" + ne.GetSpecifiedName()
	case errors.As(err, &vr):
		if vr.GetSpecifiedShortnames() != "" {
			return "Missing argument for -" + vr.GetSpecifiedName()
		}
		return "Missing argument for --" + vr.GetSpecifiedName()
	}
	return err.Error()
}

const (
	helpHead = "Usage:\n  crm_rule [OPTION?]\n\nevaluate rules from the Pacemaker configuration\n\n"
	helpTail = "Report bugs to users@clusterlabs.org\n\n"
)

var helpSections = map[byte]string{
	'h': `Help Options:
  -h, --help              Show help options
  --help-all              Show all help options
  --help-output           Show output help
  --help-modes            Show modes of operation
  --help-data             Show data options
  --help-additional       Show additional options

`,
	'o': `Output Options:
  --output-as=FORMAT      Specify output format as one of: text (default), xml
  --output-to=DEST        Specify file name for output (or "-" for stdout)
  --text-fancy            Use more highly formatted output (requires --output-as=text)

`,
	'M': `Modes (mutually exclusive):
  -c, --check             Check whether a rule is in effect

`,
	'D': `Data:
  -X, --xml-text          Use argument for XML (or stdin if '-')

`,
	'A': `Additional Options:
  -d, --date              Whether the rule is in effect on a given date
  -r, --rule              The ID of the rule to check (may be specified multiple times)

`,
	'a': `Application Options:
  -$, --version           Display software version and exit
  -V, --verbose           Increase debug output (may be specified multiple times)

`,
}

func helpText(parts string) string {
	s := helpHead
	if parts == "oMDA" {
		s += helpSections['h']
	}
	for i := 0; i < len(parts); i++ {
		s += helpSections[parts[i]]
	}
	if parts == "h" || parts == "oMDA" {
		s += helpSections['a']
	}
	return s + helpTail
}
