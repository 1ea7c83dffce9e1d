// Package simulate is the logic of crm_simulate: load a CIB, run the
// scheduler, print the status, the transition summary and the actions, and
// write the graph, in the format of Pacemaker 2.1.5's tool.
package simulate

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/spf13/pflag"

	"ringmaster/pengine"
)

// Run executes crm_simulate with args (without the program name).
func Run(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("crm_simulate", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	xmlFile := fs.StringP("xml-file", "x", "", "Retrieve XML from the named file")
	live := fs.BoolP("live-check", "L", false, "Connect to the CIB (not supported)")
	simulate := fs.BoolP("simulate", "S", false, "Simulate transition's execution")
	graphFile := fs.StringP("save-graph", "G", "", "Save the transition graph (XML format) to the named file")
	dotFile := fs.StringP("save-dotfile", "D", "", "Save the transition graph (DOT format) to the named file")
	showScores := fs.BoolP("show-scores", "s", false, "Show allocation scores")
	quiet := fs.BoolP("quiet", "Q", false, "Display only essential output")
	date := fs.StringP("set-datetime", "t", "", "Set date/time (ISO 8601 format)")
	_ = fs.BoolP("run", "R", false, "Process the supplied input and show what actions the cluster will take")
	_ = fs.StringP("profile", "p", "", "Process all the XML files in the named directory")
	_ = fs.BoolP("show-utilization", "U", false, "Show utilization information")
	_ = fs.BoolP("verbose", "V", false, "Increase debug output")
	if err := fs.Parse(args); err != nil {
		return 64
	}
	if *live || *xmlFile == "" {
		fmt.Fprintln(stderr, "crm_simulate: only -x FILE input is supported")
		return 64
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(*xmlFile); err != nil {
		fmt.Fprintf(stderr, "crm_simulate: cannot read %s: %v\n", *xmlFile, err)
		return 66
	}
	opts := pengine.Options{ShowScores: *showScores}
	if *date != "" {
		t, ok := pengine.ParseDateTime(*date)
		if !ok {
			fmt.Fprintf(stderr, "crm_simulate: invalid date %q\n", *date)
			return 64
		}
		opts.Now = t
	}
	res, err := pengine.Schedule(doc, time.Now(), opts)
	if err != nil {
		fmt.Fprintf(stderr, "crm_simulate: %v\n", err)
		return 65
	}
	var b strings.Builder
	if *date != "" {
		fmt.Fprintf(&b, "Setting effective cluster time: %s\n", res.Now.Format("2006-01-02 15:04:05Z"))
	}
	if !*quiet {
		b.WriteString("Current cluster status:\n")
		b.WriteString(res.StatusText(false))
		b.WriteString("\n")
	}
	if *showScores {
		sc := append([]string(nil), res.Scores...)
		sort.Strings(sc)
		for _, s := range sc {
			b.WriteString(s + "\n")
		}
	}
	if !*quiet || *simulate {
		b.WriteString("Transition Summary:\n")
		for _, l := range res.Summary {
			b.WriteString(l + "\n")
		}
	}
	if *simulate {
		b.WriteString("\nExecuting Cluster Transition:\n")
		for _, l := range res.ExecutionLines() {
			b.WriteString(l + "\n")
		}
		if !*quiet {
			b.WriteString("\nRevised Cluster Status:\n")
			b.WriteString(res.StatusText(true))
		}
	}
	io.WriteString(stdout, b.String())
	if *graphFile != "" {
		if err := res.Graph.WriteToFile(*graphFile); err != nil {
			fmt.Fprintf(stderr, "crm_simulate: %v\n", err)
			return 73
		}
	}
	if *dotFile != "" {
		if err := os.WriteFile(*dotFile, []byte(res.Dot()), 0o644); err != nil {
			fmt.Fprintf(stderr, "crm_simulate: %v\n", err)
			return 73
		}
	}
	return 0
}
