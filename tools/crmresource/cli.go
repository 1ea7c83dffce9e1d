// Package crmresource is Pacemaker 2.1.5's crm_resource for the offline
// case (CIB_file, or the CIB on standard input with CIB_file=-): it
// builds a typed result per command and renders it as text or XML with the
// same words, layout and exit codes as the real tool.
package crmresource

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/spf13/pflag"

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
}

type command int

const (
	cmdNone command = iota
	cmdColocations
	cmdLocate
	cmdListActiveOps
	cmdListAllOps
	cmdMove
	cmdBan
	cmdClear
	cmdRestart
	cmdDigests
	cmdList
	cmdWhy
	cmdCleanup
)

type options struct {
	rscID, node, outputAs string
	recursive, force      bool
	quiet                 bool
	cmd                   command
	remainder             []string
}

// Main runs crm_resource and returns its exit status.
func Main(env Env) int {
	var o options
	var cons, stack, locate, listOps, listAllOps, move, ban, clear, restart, digests, list, why, cleanup bool
	var verbose int
	fs := pflag.NewFlagSet("crm_resource", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVarP(&o.rscID, "resource", "r", "", "")
	fs.StringVarP(&o.node, "node", "N", "", "")
	fs.StringVar(&o.outputAs, "output-as", "text", "")
	fs.BoolVarP(&cons, "constraints", "a", false, "")
	fs.BoolVarP(&stack, "stack", "A", false, "")
	fs.BoolVarP(&locate, "locate", "W", false, "")
	fs.BoolVarP(&listOps, "list-operations", "O", false, "")
	fs.BoolVarP(&listAllOps, "list-all-operations", "o", false, "")
	fs.BoolVarP(&move, "move", "M", false, "")
	fs.BoolVarP(&ban, "ban", "B", false, "")
	fs.BoolVarP(&clear, "clear", "U", false, "")
	fs.BoolVar(&restart, "restart", false, "")
	fs.BoolVar(&digests, "digests", false, "")
	fs.BoolVarP(&list, "list", "L", false, "")
	fs.BoolVarP(&why, "why", "Y", false, "")
	fs.BoolVarP(&cleanup, "cleanup", "C", false, "")
	fs.BoolVarP(&o.force, "force", "f", false, "")
	fs.BoolVarP(&o.quiet, "quiet", "Q", false, "")
	fs.CountVarP(&verbose, "verbose", "V", "")
	if err := fs.Parse(env.Args[1:]); err != nil {
		fmt.Fprintf(env.Stderr, "crm_resource: %v\n", err)
		return pcmkout.ExitUsage
	}
	o.remainder = fs.Args()
	// The last mode option given wins, as with crm_resource's callbacks;
	// pflag does not keep order, so a fixed precedence stands in for it.
	switch {
	case cons || stack:
		o.cmd, o.recursive = cmdColocations, stack
	case locate:
		o.cmd = cmdLocate
	case listOps:
		o.cmd = cmdListActiveOps
	case listAllOps:
		o.cmd = cmdListAllOps
	case move:
		o.cmd = cmdMove
	case ban:
		o.cmd = cmdBan
	case clear:
		o.cmd = cmdClear
	case restart:
		o.cmd = cmdRestart
	case digests:
		o.cmd = cmdDigests
	case list:
		o.cmd = cmdList
	case why:
		o.cmd = cmdWhy
	case cleanup:
		o.cmd = cmdCleanup
	}

	var w writer
	switch o.outputAs {
	case "text", "":
		w = &textWriter{t: &pcmkout.Text{W: env.Stdout, Fancy: o.cmd == cmdColocations || o.cmd == cmdList}, stderr: env.Stderr}
	case "xml":
		w = &xmlWriter{out: env.Stdout, request: pcmkout.QuoteCmdline(env.Args)}
	default:
		fmt.Fprintf(env.Stderr, "crm_resource: Error creating output format %s: Unknown output format\n", o.outputAs)
		return pcmkout.ExitError
	}
	code, err := run(env, &o, w)
	if code != pcmkout.ExitOK && code != pcmkout.ExitUsage {
		if err != "" {
			err += "\nError performing operation: " + pcmkout.ExitText(code)
		} else {
			err = "Error performing operation: " + pcmkout.ExitText(code)
		}
	}
	w.finish(code, err)
	return code
}

// writer is one output format.
type writer interface {
	constraints(rep *ConstraintReport)
	locate(nodes []locatedNode, name string)
	operations(v *pengine.ClusterView, ops []opEntry)
	finish(code int, err string)
}

type textWriter struct {
	t      *pcmkout.Text
	stderr io.Writer
	quiet  bool
}

func (w *textWriter) constraints(rep *ConstraintReport) { rep.renderText(w.t) }

func (w *textWriter) locate(nodes []locatedNode, name string) {
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

func (w *textWriter) operations(v *pengine.ClusterView, ops []opEntry) {
	if len(ops) == 0 {
		return
	}
	w.t.BeginList("Resource Operations")
	for _, e := range ops {
		w.t.Item("%s", nodeAndOp(v, e))
	}
	w.t.EndList()
}

func (w *textWriter) finish(code int, err string) {
	if err != "" {
		fmt.Fprintf(w.stderr, "crm_resource: %s\n", err)
	}
}

type xmlWriter struct {
	out     io.Writer
	request string
	body    []*pcmkout.Node
}

func (w *xmlWriter) constraints(rep *ConstraintReport) { w.body = append(w.body, rep.renderXML()) }

func (w *xmlWriter) locate(nodes []locatedNode, name string) {
	n := pcmkout.NewNode("nodes", "resource", name)
	for _, ln := range nodes {
		c := n.AddNew("node")
		c.Text = ln.name
		if ln.promoted {
			c.Set("state", "promoted")
		}
	}
	w.body = append(w.body, n)
}

func (w *xmlWriter) operations(v *pengine.ClusterView, ops []opEntry) {
	if len(ops) == 0 {
		return
	}
	n := pcmkout.NewNode("operations")
	for _, e := range ops {
		n.Add(nodeAndOpXML(v, e))
	}
	w.body = append(w.body, n)
}

func (w *xmlWriter) finish(code int, err string) {
	var errs []string
	if err != "" {
		errs = []string{err}
	}
	pcmkout.Result(w.out, w.request, w.body, code, errs)
}

// loadCIB reads the CIB named by CIB_file ("-" is standard input).
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
		return nil, fmt.Errorf("no CIB_file given and no cluster connection")
	case "-":
		b, err = io.ReadAll(env.Stdin)
	default:
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, err
	}
	if doc.Root() == nil || doc.Root().Tag != "cib" {
		return nil, fmt.Errorf("not a CIB")
	}
	return doc, nil
}

func run(env Env, o *options, w writer) (int, string) {
	if tw, ok := w.(*textWriter); ok {
		tw.quiet = o.quiet
	}
	if o.cmd == cmdNone {
		return pcmkout.ExitUsage, ""
	}
	doc, err := loadCIB(env)
	if err != nil {
		return pcmkout.ExitNoInput, "Could not connect to the CIB: " + err.Error()
	}
	cf := loadConfig(doc.Root())
	var view *pengine.ClusterView
	needView := o.cmd == cmdLocate || o.cmd == cmdListActiveOps || o.cmd == cmdListAllOps
	if needView {
		res, err := pengine.Schedule(doc.Copy(), env.Now, pengine.Options{})
		if err != nil {
			return pcmkout.ExitSoftware, err.Error()
		}
		view = res.View()
	}
	if o.rscID != "" {
		r := cf.find(o.rscID)
		if r == nil {
			return pcmkout.ExitNoSuch, fmt.Sprintf("Resource '%s' not found", o.rscID)
		}
		if strings.Contains(o.rscID, ":") && r.parent != nil && r.parent.variant == variantClone &&
			(o.cmd == cmdBan || o.cmd == cmdClear || o.cmd == cmdMove || o.cmd == cmdRestart) {
			return pcmkout.ExitInvalidParm, fmt.Sprintf("Cannot operate on clone resource instance '%s'", o.rscID)
		}
	}
	if o.node != "" {
		found := false
		for _, n := range cf.nodes {
			if strings.EqualFold(n, o.node) {
				found = true
			}
		}
		if !found {
			return pcmkout.ExitNoSuch, fmt.Sprintf("Node '%s' not found", o.node)
		}
	}
	switch o.cmd {
	case cmdColocations:
		if o.rscID == "" {
			return pcmkout.ExitUsage, "Must supply a resource id with -r"
		}
		w.constraints(cf.constraintReport(cf.find(o.rscID), o.recursive, o.force))
		return pcmkout.ExitOK, ""
	case cmdListActiveOps, cmdListAllOps:
		w.operations(view, findOperations(doc.Root(), view, o.rscID, o.node, o.cmd == cmdListActiveOps))
		return pcmkout.ExitOK, ""
	case cmdLocate:
		if o.rscID == "" {
			return pcmkout.ExitUsage, "Must supply a resource id with -r"
		}
		nodes := locateResource(view, o.rscID)
		w.locate(nodes, o.rscID)
		if len(nodes) == 0 {
			return pcmkout.ExitOK, ""
		}
		return pcmkout.ExitOK, ""
	}
	return pcmkout.ExitUnimpl, ""
}
