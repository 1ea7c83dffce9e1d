package pengine

import (
	"sort"
	"time"

	"github.com/beevik/etree"
)

// This file is a read-only window on the unpacked cluster for the status
// tools (crm_mon, crm_resource --locate/--list-operations, ...). It maps the
// private model one to one and computes nothing of its own, so the tools see
// exactly the state the scheduler acted on.

// ClusterView is the cluster state as unpacked from one CIB.
type ClusterView struct {
	Now            time.Time
	DC             *NodeView
	HaveQuorum     bool
	StonithEnabled bool
	Maintenance    bool // maintenance-mode
	Symmetric      bool
	StopAll        bool
	NoQuorumPolicy string
	Options        map[string]string // crm_config values as set
	Nodes          []*NodeView       // configuration order
	Resources      []*RscView        // top-level resources, scheduler order
	Warnings       []string

	byNode map[*Node]*NodeView
}

// NodeView is one node.
type NodeView struct {
	ID, Name, Type                                   string
	Online, Unclean, Standby, StandbyOnFail, Pending bool
	Maintenance, Shutdown, ExpectedUp, Unseen, IsDC  bool
	FenceReason                                      string
	// Attrs holds the node's attributes (permanent and transient) and the
	// scheduler's built-ins (names starting with '#').
	Attrs       map[string]string
	Utilization map[string]int
	// Running lists the primitives active here.
	Running []*RscView
	// Guest is set for guest nodes (a remote node whose connection has a
	// container); GuestHost is then the container's current node, if any.
	Guest          bool
	GuestHost      *NodeView
	GuestContainer string // id of the container resource
}

// RscView is a resource: primitive, group or clone (clone instances are
// the clone's Children, with Parent set).
type RscView struct {
	ID, XMLID, Kind       string // Kind: "primitive", "group", "clone"
	Class, Provider, Type string
	XML                   *etree.Element
	Parent                *RscView
	Children              []*RscView

	Role, NextRole, TargetRole string // Role names as Pacemaker 2.1 prints them
	HasTargetRole              bool
	RunningOn                  []*NodeView
	PendingTask                string
	PendingNode                *NodeView

	Managed, Orphan, Failed, Blocked, FailureIgnored bool
	Unique, Promotable, Notify, Maintenance          bool
	Priority                                         int
	InstanceNum                                      int
	CloneMax, CloneNodeMax                           int
	PromotedMax, PromotedNodeMax                     int
	Meta, Params                                     map[string]string
	// History is the resource's lrm history per node name, newest call
	// first as the scheduler sorted it.
	History map[string][]*OpView
	// Bundle describes a bundle (Kind "bundle"); its Children are the
	// implicit resources, replica by replica, then the clone.
	Bundle *BundleView
	// Allowed holds the nodes in the resource's allowed list, with their
	// scores (rsc->allowed_nodes).
	Allowed map[*NodeView]int
}

// OpView is one <lrm_rsc_op> history entry.
type OpView struct {
	XML                   *etree.Element
	ID, Task              string
	Interval              int // ms
	RC, Status, CallID    int
	TargetRC              int
	LastChange            int64
	MigrateSource, Target string
}

// View returns the unpacked cluster state behind this result.
func (res *Result) View() *ClusterView {
	c := res.c
	v := &ClusterView{Now: c.now, HaveQuorum: c.haveQuorum, StonithEnabled: c.stonithEnabled,
		Maintenance: c.maintenanceMode, Symmetric: c.symmetric, StopAll: c.stopAll,
		NoQuorumPolicy: c.noQuorumPolicy, Options: map[string]string{}, Warnings: c.warnings,
		byNode: map[*Node]*NodeView{}}
	for k, val := range c.config {
		v.Options[k] = val
	}
	for _, n := range c.nodes {
		nv := &NodeView{ID: n.ID, Name: n.Uname, Type: n.Type, Online: n.Online, Unclean: n.Unclean,
			Standby: n.Standby, StandbyOnFail: n.StandbyOnFail, Pending: n.Pending,
			Maintenance: n.Maintenance, Shutdown: n.Shutdown, ExpectedUp: n.ExpectedUp,
			Unseen: n.Unseen, IsDC: n.IsDC, FenceReason: n.FenceReason,
			Attrs: n.Attrs, Utilization: n.Utilization}
		v.Nodes = append(v.Nodes, nv)
		v.byNode[n] = nv
		if n == c.dc {
			v.DC = nv
		}
	}
	// The order of data_set->resources right after unpacking: configured
	// resources by priority (stable), then orphans found in the status
	// section; a scheduling run may re-sort c.resources for placement.
	top := append([]*Resource(nil), c.resources...)
	sort.SliceStable(top, func(i, j int) bool {
		a, b := top[i], top[j]
		if a.Orphan != b.Orphan {
			return !a.Orphan
		}
		if !a.Orphan && a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		return a.Index < b.Index
	})
	for _, r := range top {
		v.Resources = append(v.Resources, v.mapRsc(r, nil))
	}
	v.mapGuests(c)
	return v
}

func (v *ClusterView) mapRsc(r *Resource, parent *RscView) *RscView {
	kind := "primitive"
	switch r.Kind {
	case KindGroup:
		kind = "group"
	case KindClone:
		kind = "clone"
	case KindBundle:
		kind = "bundle"
	}
	rv := &RscView{ID: r.ID, XMLID: r.XMLID, Kind: kind, Class: r.Class, Provider: r.Provider,
		Type: r.Type, XML: r.XML, Parent: parent, Role: r.Role.String(), NextRole: r.NextRole.String(),
		TargetRole: r.TargetRole.String(), HasTargetRole: r.hasTargetRole, PendingTask: r.PendingTask,
		PendingNode: v.byNode[r.pendingNode],
		Managed:     r.Managed, Orphan: r.Orphan, Failed: r.Failed, Blocked: r.Block,
		FailureIgnored: r.FailureIgnored, Unique: r.Unique, Promotable: r.Promotable, Notify: r.Notify,
		Maintenance: r.maintenance(), Priority: r.Priority, InstanceNum: r.InstanceNum,
		CloneMax: r.CloneMax, CloneNodeMax: r.CloneNodeMax, PromotedMax: r.PromotedMax,
		PromotedNodeMax: r.PromotedNodeMax, Meta: r.Meta, Params: r.Params,
		History: map[string][]*OpView{}}
	for _, n := range r.RunningOn {
		if nv := v.byNode[n]; nv != nil {
			rv.RunningOn = append(rv.RunningOn, nv)
			if r.Kind == KindPrimitive {
				nv.Running = append(nv.Running, rv)
			}
		}
	}
	rv.Allowed = map[*NodeView]int{}
	for n, sc := range r.Allowed {
		if nv := v.byNode[n]; nv != nil {
			rv.Allowed[nv] = sc
		}
	}
	for n, ops := range r.history {
		for _, o := range ops {
			rv.History[n.Uname] = append(rv.History[n.Uname], &OpView{XML: o.XML, ID: o.ID, Task: o.Task,
				Interval: o.Interval, RC: o.RC, Status: o.Status, CallID: o.CallID, TargetRC: o.TargetRC,
				LastChange: o.LastChange, MigrateSource: o.MigrateSource, Target: o.MigrateTarget})
		}
	}
	for _, ch := range r.Children {
		rv.Children = append(rv.Children, v.mapRsc(ch, rv))
	}
	if r.Kind == KindBundle {
		v.mapBundle(r, rv)
	}
	return rv
}

// Node finds a node by name.
func (v *ClusterView) Node(name string) *NodeView {
	for _, n := range v.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Walk visits every resource, parents before children.
func (v *ClusterView) Walk(f func(*RscView)) {
	var walk func(r *RscView)
	walk = func(r *RscView) {
		f(r)
		for _, c := range r.Children {
			walk(c)
		}
	}
	for _, r := range v.Resources {
		walk(r)
	}
}

// HistoryNodes lists the node names with history for r, in node order.
func (v *ClusterView) HistoryNodes(r *RscView) []string {
	var out []string
	for _, n := range v.Nodes {
		if _, ok := r.History[n.Name]; ok {
			out = append(out, n.Name)
		}
	}
	for name := range r.History {
		if v.Node(name) == nil {
			out = append(out, name)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return false })
	return out
}
