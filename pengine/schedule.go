package pengine

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/beevik/etree"

	"ringmaster/pengine/rules"
)

// Result is the outcome of one scheduler run.
type Result struct {
	// Graph is the transition graph document (<transition_graph>).
	Graph *etree.Document
	// Summary holds the "Transition Summary:" lines, formatted as
	// crm_simulate prints them.
	Summary []string
	// Scores holds allocation and promotion score lines (Options.ShowScores).
	Scores []string
	// Synapses lists the graph's actions in synapse order.
	Synapses []*Synapse
	// Warnings are configuration problems that were worked around.
	Warnings []string
	// Now is the effective time used.
	Now time.Time
	// Log holds what Pacemaker logs while unpacking this CIB.
	Log []LogLine

	c *cluster
}

// ErrNoCIB is returned when the document has no <cib> root.
var ErrNoCIB = errors.New("pengine: document has no <cib> root element")

// Schedule computes the transition for a CIB. now is the effective time
// unless opts.Now is set or the CIB carries an execution-date (which wins,
// as in crm_simulate). It never panics on malformed input: problems are
// returned as errors naming the element or attribute.
func Schedule(doc *etree.Document, now time.Time, opts Options) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res = nil
			err = fmt.Errorf("pengine: internal error on this input: %v", p)
		}
	}()
	if doc == nil || doc.Root() == nil || doc.Root().Tag != "cib" {
		return nil, ErrNoCIB
	}
	cib := doc.Root()
	c := &cluster{opts: opts, cib: cib}
	c.cfg = cib.SelectElement("configuration")
	if c.cfg == nil {
		return nil, fmt.Errorf("pengine: <cib> has no <configuration>")
	}
	c.status = cib.SelectElement("status")
	switch {
	case !opts.Now.IsZero():
		c.now = opts.Now
	case attr(cib, "execution-date") != "":
		v, perr := strconv.ParseInt(attr(cib, "execution-date"), 10, 64)
		if perr != nil {
			return nil, fmt.Errorf("pengine: <cib execution-date=%q>: %w", attr(cib, "execution-date"), perr)
		}
		c.now = time.Unix(v, 0).UTC()
	default:
		c.now = now
	}
	if err := c.unpackConfig(); err != nil {
		return nil, err
	}
	if err := c.unpackNodes(); err != nil {
		return nil, fmt.Errorf("pengine: <nodes>: %w", err)
	}
	if dc := attr(cib, "dc-uuid"); dc != "" {
		if n := c.nodeByID[dc]; n != nil {
			n.IsDC = true
			c.dc = n
		}
	}
	for _, n := range c.nodes {
		for k, v := range rules.NodeBuiltins(n.Uname, n.ID, n.Attrs["#kind"], n.IsDC, c.config["cluster-name"]) {
			n.Attrs[k] = v
		}
	}
	c.unpackRemoteNodes()
	c.expandGuestNodes()
	if err := c.unpackResources(); err != nil {
		return nil, fmt.Errorf("pengine: <resources>: %w", err)
	}
	c.linkRemoteNodes()
	c.linkContainers()
	// symmetric_default: every resource may run on every node at score 0.
	// A guest node's connection may always opt in; where it can really go
	// is up to its container (remote_connection_default).
	for _, r := range c.allResources() {
		if !c.symmetric && !(r.Kind == KindPrimitive && r.isRemoteConn() && r.Meta["container"] != "") {
			continue
		}
		for _, n := range c.nodes {
			if _, ok := r.Allowed[n]; !ok {
				r.Allowed[n] = 0
			}
		}
	}
	c.fixBundleAllowed()
	c.unpackStatus()
	for _, r := range c.resources {
		if r.Orphan && r.Kind == KindPrimitive {
			for _, n := range c.nodes {
				r.Allowed[n] = -Infinity
			}
		}
	}
	if opts.StatusOnly {
		return &Result{Warnings: c.warnings, Log: c.logs, Now: c.now, c: c}, nil
	}
	var locs []*location
	c.applyNodeHealth(&locs)
	c.unpackConstraints(&locs)
	c.applyNodeCriteria(locs)
	for _, r := range c.resources {
		c.internalConstraints(r)
	}
	c.handleRscConfigChanges()
	if c.utilizationOn() {
		c.sortResources()
	}
	if c.haveRemote {
		for _, r := range c.resources {
			if r.remoteNode != nil {
				c.assign(r, r.PartialMigTarget)
			}
		}
	}
	for _, r := range c.resources {
		if r.remoteNode == nil {
			c.assign(r, nil)
		}
	}
	c.scheduleProbes()
	if c.stopOrphans {
		c.clearOrphanFailcounts()
	}
	for _, r := range c.resources {
		c.createActions(r)
	}
	c.orderRemoteConnectionActions()
	c.scheduleFencingAndShutdowns()
	c.applyOrderings()
	g := c.buildGraph()
	res = &Result{Graph: c.graphXML(g), Summary: c.transitionSummary(), Scores: c.scores,
		Synapses: g.Synapses, Warnings: c.warnings, Log: c.logs, Now: c.now, c: c}
	return res, nil
}

// ParseDateTime parses an ISO 8601 date/time as crm_simulate -t accepts it.
func ParseDateTime(s string) (time.Time, bool) { return parseDateTime(s) }

// Dot renders the graph's actions and orderings in Graphviz format.
func (res *Result) Dot() string {
	var b []byte
	b = append(b, "digraph \"g\" {\n"...)
	for _, s := range res.Synapses {
		name := s.Action.Key
		if s.Action.Node != nil {
			name += " " + s.Action.Node.Uname
		}
		b = append(b, fmt.Sprintf("\"%s\" [ style=bold color=\"green\" fontcolor=\"black\"]\n", name)...)
		for _, in := range s.Inputs {
			iname := in.Key
			if in.Node != nil {
				iname += " " + in.Node.Uname
			}
			b = append(b, fmt.Sprintf("\"%s\" -> \"%s\" [ style = bold]\n", iname, name)...)
		}
	}
	b = append(b, "}\n"...)
	return string(b)
}
