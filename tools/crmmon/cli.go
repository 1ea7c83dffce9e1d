package crmmon

import (
	"embed"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ringmaster/pengine"
	"ringmaster/tools/pcmkout"
)

// Env is what crm_mon takes from its process.
type Env struct {
	Args   []string // argv, program name first
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Now    time.Time
	// QueryLive reads the CIB from the running cluster (nil: no cluster).
	QueryLive func() (*etree.Element, error)
	// Console is the live console's wiring (nil: one shot only).
	Console *ConsoleEnv
}

type cliOpts struct {
	format             string // console, text, xml, html
	oneShot            bool
	show               uint32
	incExc             []string // "--include=x" / "--exclude=x", command-line order
	onlyNode, onlyRsc  string
	haveNode, haveRsc  bool
	htmlTitle, htmlCSS string
	htmlFile           string
	version            bool
	help               string // which --help* page was asked for
	interval           string
	verbose            int
}

// option table: name, short, takes an argument (0 no, 1 yes, 2 optional)
var optTable = []struct {
	long  string
	short byte
	arg   int
}{
	{"one-shot", '1', 0}, {"inactive", 'r', 0}, {"show-detail", 'R', 0}, {"failcounts", 'f', 0},
	{"operations", 'o', 0}, {"timing-details", 't', 0}, {"tickets", 'c', 0}, {"fence-history", 'm', 2},
	{"neg-locations", 'L', 2}, {"show-node-attributes", 'A', 0}, {"hide-headers", 'D', 0},
	{"brief", 'b', 0}, {"pending", 'j', 0}, {"simple-status", 's', 0}, {"group-by-node", 'n', 0},
	{"include", 'I', 1}, {"exclude", 'U', 1}, {"node", 0, 1}, {"resource", 0, 1},
	{"output-as", 0, 1}, {"output-to", 0, 1}, {"as-xml", 'X', 0}, {"as-html", 'h', 1},
	{"disable-ncurses", 'N', 0}, {"web-cgi", 'w', 0}, {"interval", 'i', 1}, {"daemonize", 'd', 0},
	{"pid-file", 'p', 1}, {"external-agent", 'E', 1}, {"external-recipient", 'e', 1},
	{"watch-fencing", 'W', 0}, {"xml-file", 'x', 1}, {"quiet", 'Q', 0}, {"verbose", 'V', 0},
	{"version", '$', 0}, {"help", '?', 0}, {"html-title", 0, 1}, {"html-stylesheet", 0, 1},
	{"html-cgi", 0, 0}, {"text-fancy", 0, 0}, {"help-all", 0, 0}, {"help-output", 0, 0},
	{"help-display", 0, 0}, {"help-additional", 0, 0}, {"help-deprecated", 0, 0},
}

// helpPages are Pacemaker 2.1.5's crm_mon --help, --help-all and
// --help-{output,display,additional,deprecated} pages, as GOption prints them.
//
//go:embed help/*.txt
var helpPages embed.FS

// parseArgs walks argv in order, as GOption does, so include/exclude
// flags apply in the order given.
func parseArgs(args []string) (*cliOpts, error) {
	o := &cliOpts{format: "console", show: ShowPending}
	apply := func(long, val string, hasVal bool) error {
		switch long {
		case "verbose":
			o.verbose++
		case "one-shot":
			o.oneShot = true
		case "inactive":
			o.show |= ShowInactive
		case "show-detail":
			o.show |= ShowDetails
		case "failcounts":
			o.incExc = append(o.incExc, "--include=failcounts")
		case "operations":
			o.incExc = append(o.incExc, "--include=failcounts,operations")
		case "timing-details":
			o.show |= ShowTiming
			o.incExc = append(o.incExc, "--include=operations")
		case "tickets":
			o.incExc = append(o.incExc, "--include=tickets")
		case "neg-locations":
			if hasVal {
				o.incExc = append(o.incExc, "--include=bans:"+val)
			} else {
				o.incExc = append(o.incExc, "--include=bans")
			}
		case "show-node-attributes":
			o.incExc = append(o.incExc, "--include=attributes")
		case "hide-headers":
			o.incExc = append(o.incExc, "--exclude=summary")
		case "brief":
			o.show |= ShowBrief
		case "group-by-node":
			o.show |= ShowByNode
		case "include":
			o.incExc = append(o.incExc, "--include="+val)
		case "exclude":
			o.incExc = append(o.incExc, "--exclude="+val)
		case "node":
			o.onlyNode, o.haveNode = val, true
		case "resource":
			o.onlyRsc, o.haveRsc = val, true
		case "output-as":
			o.format = val
		case "as-xml":
			o.format = "xml"
		case "as-html":
			o.format, o.htmlFile = "html", val
		case "simple-status", "disable-ncurses":
			if long == "disable-ncurses" {
				o.format = "text"
			}
		case "html-title":
			o.htmlTitle = val
		case "html-stylesheet":
			o.htmlCSS = val
		case "interval":
			o.interval = val
		case "version":
			o.version = true
		case "help", "help-all", "help-output", "help-display", "help-additional", "help-deprecated":
			if o.help == "" {
				o.help = long
			}
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--") && len(a) > 2:
			name, val, hasVal := strings.Cut(a[2:], "=")
			found := false
			for _, e := range optTable {
				if e.long != name {
					continue
				}
				found = true
				if e.arg == 1 && !hasVal {
					if i+1 >= len(args) {
						return nil, fmt.Errorf("Missing argument for --%s", name)
					}
					i++
					val, hasVal = args[i], true
				}
				if err := apply(name, val, hasVal); err != nil {
					return nil, err
				}
			}
			if !found {
				return nil, fmt.Errorf("Unknown option %s", a)
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				c := a[j]
				found := false
				for _, e := range optTable {
					if e.short != c || c == 0 {
						continue
					}
					found = true
					val, hasVal := "", false
					if e.arg >= 1 && j+1 < len(a) {
						val, hasVal = strings.TrimPrefix(a[j+1:], "="), true
						j = len(a)
					} else if e.arg == 1 {
						if i+1 >= len(args) {
							return nil, fmt.Errorf("Missing argument for -%c", c)
						}
						i++
						val, hasVal = args[i], true
					}
					if err := apply(e.long, val, hasVal); err != nil {
						return nil, err
					}
				}
				if !found {
					return nil, fmt.Errorf("Unknown option -%c", c)
				}
			}
		}
	}
	return o, nil
}

var sectionNames = map[string]uint32{
	"attributes": SecAttributes, "bans": SecBans, "counts": SecCounts, "dc": SecDC,
	"failcounts": SecFailcounts, "failures": SecFailures, "fencing": SecFencingAll,
	"fencing-failed": SecFenceFailed, "fencing-pending": SecFencePending,
	"fencing-succeeded": SecFenceWorked, "maint-mode": SecMaintMode, "nodes": SecNodes,
	"operations": SecOperations, "options": SecOptions, "resources": SecResources,
	"stack": SecStack, "summary": SecSummary, "tickets": SecTickets, "times": SecTimes,
}

func allIncludes(format string) uint32 {
	// all_includes: only the console-style text formats leave the
	// options out; html (and cgi) show them like xml.
	if format == "xml" || format == "html" {
		return SecAll
	}
	return SecAll &^ SecOptions
}

func defaultIncludes(format string) uint32 {
	if format == "xml" {
		return SecAll
	}
	return SecSummary | SecNodes | SecResources | SecFailures
}

// sections applies include/exclude flags (apply_include / apply_exclude).
func sections(format string, incExc []string, negPrefix *string) (uint32, error) {
	show := defaultIncludes(format)
	for _, s := range incExc {
		include := strings.HasPrefix(s, "--include=")
		list := s[strings.IndexByte(s, '=')+1:]
		for _, part := range strings.Split(list, ",") {
			bit := sectionNames[strings.ToLower(part)]
			switch {
			case include && part == "all":
				show = allIncludes(format)
			case include && strings.HasPrefix(part, "bans"):
				show |= SecBans
				*negPrefix = ""
				if len(part) > 4 && part[4] == ':' {
					*negPrefix = part[5:]
				}
			case include && (part == "default" || part == "defaults"):
				show |= defaultIncludes(format)
			case include && part == "none":
				show = 0
			case !include && part == "all":
				show = 0
			case !include && part == "none":
				show = allIncludes(format)
			case bit != 0 && include:
				show |= bit
			case bit != 0:
				show &^= bit
			default:
				if include {
					return 0, fmt.Errorf("--include options: all, attributes, bans[:PREFIX], counts, dc, default, failcounts, failures, fencing, fencing-failed, fencing-pending, fencing-succeeded, maint-mode, nodes, none, operations, options, resources, stack, summary, tickets, times")
				}
				return 0, fmt.Errorf("--exclude options: all, attributes, bans, counts, dc, failcounts, failures, fencing, fencing-failed, fencing-pending, fencing-succeeded, maint-mode, nodes, none, operations, options, resources, stack, summary, tickets, times")
			}
		}
	}
	return show, nil
}

func loadCIB(env Env) (*etree.Document, error) {
	get := env.Getenv
	if get == nil {
		get = func(string) string { return "" }
	}
	path := get("CIB_file")
	var b []byte
	var err error
	switch path {
	case "":
		if env.QueryLive != nil {
			if root, err := env.QueryLive(); err == nil && root != nil {
				doc := etree.NewDocument()
				doc.SetRoot(root)
				return doc, nil
			}
		}
		return nil, fmt.Errorf("Error: cluster is not available on this node")
	case "-":
		b, err = io.ReadAll(env.Stdin)
	default:
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("Error: cluster is not available on this node")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil || doc.Root() == nil || doc.Root().Tag != "cib" {
		return nil, fmt.Errorf("Error: cluster is not available on this node")
	}
	return doc, nil
}

// nodeFilter is pe__build_node_name_list.
func nodeFilter(cib *etree.Element, v *pengine.ClusterView, s string, given bool) []string {
	if !given || s == "*" {
		return []string{"*"}
	}
	for _, n := range v.Nodes {
		if strings.EqualFold(n.Name, s) {
			return []string{s}
		}
	}
	var out []string
	for _, tag := range cib.FindElements("configuration/tags/tag") {
		if attr(tag, "id") != s {
			continue
		}
		for _, ref := range tag.SelectElements("obj_ref") {
			if n := nodeByID(v, attr(ref, "id")); n != nil {
				out = append(out, n.Name)
			}
		}
	}
	return out
}

// rscFilter is pe__build_rsc_list.
func rscFilter(cib *etree.Element, v *pengine.ClusterView, s string, given bool) []string {
	if !given || s == "*" {
		return []string{"*"}
	}
	if x := findAny(v, s); x != nil {
		if strings.Contains(s, ":") {
			return []string{x.ID}
		}
		return []string{printableID(x)}
	}
	var out []string
	for _, tag := range cib.FindElements("configuration/tags/tag") {
		if attr(tag, "id") != s {
			continue
		}
		for _, ref := range tag.SelectElements("obj_ref") {
			out = append(out, attr(ref, "id"))
		}
	}
	return out
}

// findAny is pe_find_resource_with_flags(pe_find_renamed|pe_find_any).
func findAny(v *pengine.ClusterView, id string) *pengine.RscView {
	var found *pengine.RscView
	v.Walk(func(r *pengine.RscView) {
		if found == nil && r.ID == id {
			found = r
		}
	})
	if found == nil {
		v.Walk(func(r *pengine.RscView) {
			if found == nil && r.Parent != nil && r.XMLID == id {
				found = r
			}
		})
	}
	return found
}

// Main runs crm_mon and returns its exit status.
func Main(env Env) int {
	o, err := parseArgs(env.Args[1:])
	if err != nil {
		fmt.Fprintf(env.Stderr, "crm_mon: %v\n", err)
		return pcmkout.ExitUsage
	}
	if o.help != "" {
		// GOption prints the page and exits 0 before anything else runs
		// (crmsh reads `crm_mon --help` to learn which options exist).
		b, _ := helpPages.ReadFile("help/" + o.help + ".txt")
		env.Stdout.Write(b)
		return 0
	}
	live := o.format == "console" && !o.oneShot && env.Getenv != nil && env.Getenv("CIB_file") == ""
	switch o.format {
	case "console", "text", "plain":
		o.format = "text"
	case "xml", "html":
	default:
		fmt.Fprintf(env.Stderr, "crm_mon: Error creating output format %s: Unknown output format\n", o.format)
		return pcmkout.ExitUsage
	}
	if o.version {
		io.WriteString(env.Stdout, "Pacemaker 2.1.5\nWritten by Andrew Beekhof and the Pacemaker project contributors\n")
		return 0
	}
	var negPrefix string
	secs, err := sections(o.format, o.incExc, &negPrefix)
	if err != nil {
		return finishErr(env, o, pcmkout.ExitUsage, err.Error())
	}
	if o.format == "xml" {
		o.show |= ShowInactive | ShowTiming
	}
	doc, err := loadCIB(env)
	if err != nil {
		return finishErr(env, o, pcmkout.ExitUnavailable, err.Error())
	}
	res, err := pengine.Schedule(doc.Copy(), env.Now, pengine.Options{Now: env.Now, StatusOnly: true})
	if err != nil {
		return finishErr(env, o, pcmkout.ExitSoftware, err.Error())
	}
	// command-line tools log to stderr at warning and above, when they
	// log to stderr at all
	var pcmkStderr string
	if env.Getenv != nil {
		pcmkStderr = env.Getenv("PCMK_stderr")
	}
	for _, l := range res.Log {
		if !pcmkout.StderrLogging(o.verbose, pcmkStderr) {
			break
		}
		if l.Level == "error" || l.Level == "warning" || l.Level == "crit" {
			fmt.Fprintln(env.Stderr, l.String())
		}
	}
	v := res.View()
	s := Build(doc.Root(), v)
	opts := Options{Sections: secs, Show: o.show, NegPrefix: negPrefix,
		OnlyNode: nodeFilter(doc.Root(), v, o.onlyNode, o.haveNode),
		OnlyRsc:  rscFilter(doc.Root(), v, o.onlyRsc, o.haveRsc)}
	if live && env.Console != nil {
		return runLive(env, o, secs, opts)
	}
	out := env.Stdout
	if o.htmlFile != "" && o.htmlFile != "-" {
		f, err := os.Create(o.htmlFile)
		if err != nil {
			return finishErr(env, o, pcmkout.ExitCantCreate, err.Error())
		}
		defer f.Close()
		out = f
	}
	Render(out, o.format, s, opts, env.Now, pcmkout.QuoteCmdline(env.Args), HTMLOptions{Title: o.htmlTitle, Stylesheet: o.htmlCSS})
	return 0
}

func finishErr(env Env, o *cliOpts, code int, msg string) int {
	if o.format == "xml" {
		pcmkout.Result(env.Stdout, pcmkout.QuoteCmdline(env.Args), nil, code, []string{msg})
		return code
	}
	fmt.Fprintf(env.Stderr, "crm_mon: %s\n", msg)
	return code
}

// HTMLOptions are the html format's own settings.
type HTMLOptions struct {
	Title, Stylesheet string
}

// Render writes a status in one format: the registry of renderers.
func Render(w io.Writer, format string, s *Status, o Options, now time.Time, request string, h HTMLOptions) {
	switch format {
	case "xml":
		r := &xmlRenderer{s: s, o: o, now: now}
		pcmkout.Result(w, request, r.render(), 0, nil)
	case "html":
		renderHTML(w, s, o, now, h)
	default:
		r := &textRenderer{t: &pcmkout.Text{W: w, Fancy: true}, s: s, o: o, now: now}
		r.render()
	}
}
