package crmresource

import (
	"strings"

	"ringmaster/pengine"
)

type locatedNode struct {
	name     string
	promoted bool
}

// locateResource is cli_resource_search: a clone lists where each instance
// runs; the common id of an anonymous clone's instances stands for the
// whole clone; anything else lists its own active nodes. The C code
// prepends to its list, so nodes come out in reverse discovery order.
func locateResource(v *pengine.ClusterView, name string) []locatedNode {
	r, anon := findView(v, name)
	if r == nil {
		return nil
	}
	var out []locatedNode
	prepend := func(n locatedNode) { out = append([]locatedNode{n}, out...) }
	top := r
	for top.Parent != nil {
		top = top.Parent
	}
	switch {
	case r.Kind == "clone":
		cloneNodes(r, prepend)
	case r.Parent != nil && r.Parent.Kind == "clone" && !r.Unique && anon:
		cloneNodes(top, prepend)
	default:
		for _, n := range r.RunningOn {
			prepend(locatedNode{n.Name, r.Role == "Promoted"})
		}
	}
	return out
}

func cloneNodes(clone *pengine.RscView, add func(locatedNode)) {
	for _, inst := range clone.Children {
		for _, n := range inst.RunningOn {
			add(locatedNode{n.Name, clone.Promotable && instRole(inst) == "Promoted"})
		}
	}
}

// instRole is the instance's role (a group instance has its members' best).
func instRole(r *pengine.RscView) string {
	if r.Kind == "primitive" {
		return r.Role
	}
	best := "Stopped"
	for _, c := range r.Children {
		if roleRank(instRole(c)) > roleRank(best) {
			best = instRole(c)
		}
	}
	return best
}

// findView is pe_find_resource_with_flags for crm_resource's lookups;
// anon reports that name is the common id of anonymous clone instances.
func findView(v *pengine.ClusterView, name string) (found *pengine.RscView, anon bool) {
	v.Walk(func(r *pengine.RscView) {
		if found == nil && strings.EqualFold(r.ID, name) {
			found = r
		}
	})
	if found != nil {
		return found, false
	}
	v.Walk(func(r *pengine.RscView) {
		if found == nil && r.XMLID == name && r.Parent != nil {
			found = r
		}
	})
	return found, found != nil
}
