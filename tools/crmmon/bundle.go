package crmmon

import (
	"fmt"
	"strconv"

	"ringmaster/pengine"
	"ringmaster/tools/pcmkout"
)

// Bundles, as lib/pengine/bundle.c prints them (pe__bundle_text,
// pe__bundle_xml, pe__bundle_html).

// bundleHeader is the "Container bundle" list title.
func bundleHeader(x *pengine.RscView) string {
	b := x.Bundle
	set, uniq, unmanaged := "", "", ""
	if b.Replicas > 1 {
		set = " set"
	}
	if b.Unique {
		uniq = " (unique)"
	}
	if !x.Managed {
		unmanaged = " (unmanaged)"
	}
	return fmt.Sprintf("Container bundle%s: %s [%s]%s%s", set, x.ID, b.Image, uniq, unmanaged)
}

// bundleFiltered is pe__bundle_is_filtered.
func bundleFiltered(x *pengine.RscView, only []string) bool {
	if inList(printableID(x), only) {
		return false
	}
	for _, rep := range x.Bundle.Replica {
		switch {
		case rep.IP != nil && !isFiltered(rep.IP, only, false),
			rep.Child != nil && !isFiltered(rep.Child, only, false),
			rep.Container != nil && !isFiltered(rep.Container, only, false),
			rep.Remote != nil && !isFiltered(rep.Remote, only, false):
			return false
		}
	}
	return true
}

// replicaParts decides which of a replica's resources are shown.
func replicaParts(rep *pengine.ReplicaView, onlyRsc []string, everything bool) (ip, child, ctnr, remote bool) {
	ip = rep.IP != nil && !isFiltered(rep.IP, onlyRsc, everything)
	child = rep.Child != nil && !isFiltered(rep.Child, onlyRsc, everything)
	ctnr = rep.Container != nil && !isFiltered(rep.Container, onlyRsc, everything)
	remote = rep.Remote != nil && !isFiltered(rep.Remote, onlyRsc, everything)
	return
}

func currentNode(x *pengine.RscView) *pengine.NodeView {
	if x != nil && len(x.RunningOn) > 0 {
		return x.RunningOn[0]
	}
	return nil
}

// replicaLine is pe__bundle_replica_output_text's line: the replica named
// by its connection (or container) and IP, in the state of its inner
// resource (or container), on the container's node.
func replicaLine(rep *pengine.ReplicaView, show uint32) (string, *pengine.RscView, bool) {
	rsc := rep.Child
	if rsc == nil {
		rsc = rep.Container
	}
	name := ""
	if rep.Remote != nil {
		name = printableID(rep.Remote)
	} else {
		name = printableID(rep.Container)
	}
	if rep.IPAddr != "" {
		name += " (" + rep.IPAddr + ")"
	}
	if isTrue(rsc.Meta["internal_rsc"]) && !has(show, ShowImplicit) {
		return "", rsc, false
	}
	return primitiveString(rsc, name, currentNode(rep.Container), show, true), rsc, true
}

func (r *textRenderer) bundle(x *pengine.RscView, show uint32, onlyNode, onlyRsc []string) bool {
	if isFiltered(x, onlyRsc, true) {
		return false
	}
	everything := inList(x.ID, onlyRsc)
	l := &lister{r: r, title: bundleHeader(x)}
	multiple := len(x.Bundle.Replica) > 1
	for _, rep := range x.Bundle.Replica {
		if filteredByNode(rep.Container, onlyNode) {
			continue
		}
		pIP, pChild, pCtnr, pRemote := replicaParts(rep, onlyRsc, everything)
		anyPart := pIP || pChild || pCtnr || pRemote
		switch {
		case has(show, ShowImplicit) || (!everything && anyPart):
			sub := show | ShowImplicit
			l.header()
			// text: "Replica[N]" is an item and the members a nameless
			// list under it; html: a list titled "Replica[N]", and no
			// list at all for a single replica.
			nested := true
			switch {
			case r.html != nil && multiple:
				r.t.BeginList(fmt.Sprintf("Replica[%d]", rep.Offset))
			case r.html != nil:
				nested = false
			case multiple:
				r.t.Item("Replica[%d]", rep.Offset)
				r.t.BeginList("")
			default:
				r.t.BeginList("")
			}
			if pIP {
				r.resource(rep.IP, sub, onlyNode, onlyRsc)
			}
			if pChild {
				r.resource(rep.Child, sub, onlyNode, onlyRsc)
			}
			if pCtnr {
				r.resource(rep.Container, sub, onlyNode, onlyRsc)
			}
			if pRemote {
				r.resource(rep.Remote, sub, onlyNode, onlyRsc)
			}
			if nested {
				r.t.EndList()
			}
		case !everything && !anyPart:
			continue
		default:
			l.header()
			line, rsc, ok := replicaLine(rep, show)
			if !ok {
				continue
			}
			if r.html != nil {
				r.html.spans(nil, [2]string{htmlRscClass(rsc), line})
			} else {
				r.t.Item("%s", line)
			}
		}
	}
	return l.footer()
}

func (r *xmlRenderer) bundle(parent *pcmkout.Node, x *pengine.RscView, show uint32, onlyNode, onlyRsc []string) {
	if isFiltered(x, onlyRsc, true) {
		return
	}
	everything := inList(x.ID, onlyRsc)
	var bn *pcmkout.Node
	for _, rep := range x.Bundle.Replica {
		if filteredByNode(rep.Container, onlyNode) {
			continue
		}
		pIP, pChild, pCtnr, pRemote := replicaParts(rep, onlyRsc, everything)
		if !everything && !pIP && !pChild && !pCtnr && !pRemote {
			continue
		}
		if bn == nil {
			bn = parent.AddNew("bundle", "id", x.ID, "type", x.Bundle.Agent, "image", x.Bundle.Image,
				"unique", btoa(x.Bundle.Unique), "managed", btoa(x.Managed), "failed", btoa(x.Bundle.Failed))
		}
		rn := bn.AddNew("replica", "id", strconv.Itoa(rep.Offset))
		if pIP {
			r.resource(rn, rep.IP, show, onlyNode, onlyRsc)
		}
		if pChild {
			r.resource(rn, rep.Child, show, onlyNode, onlyRsc)
		}
		if pCtnr {
			r.resource(rn, rep.Container, show, onlyNode, onlyRsc)
		}
		if pRemote {
			r.resource(rn, rep.Remote, show, onlyNode, onlyRsc)
		}
	}
}

// nodeKind is the node's kind as the text format names it: guest nodes
// (pe__is_guest_node) apart from other remote nodes.
func nodeKind(n *pengine.NodeView) string {
	if n.Guest {
		return "guest"
	}
	return n.Type
}
