package rules

import (
	"sort"
	"time"

	"github.com/beevik/etree"
)

// NVPairOptions tune UnpackNVPairsFull.
type NVPairOptions struct {
	// Overwrite lets later blocks replace values already set; without
	// it the first value set for a name wins.
	Overwrite bool
	// AlwaysFirst is the id of a block to apply before all others
	// (Pacemaker uses "cib-bootstrap-options" for cluster options).
	AlwaysFirst string
}

// UnpackNVPairs applies the nvpair blocks (instance_attributes,
// meta_attributes, utilization, cluster_property_set ...) that are children
// of parent into "into", as pe_unpack_nvpairs does. blockTag selects the
// block element name ("" takes every child). Blocks are applied in order of
// decreasing score; blocks of equal score in reverse document order
// (upstream builds its list by prepending, then sorts stably). A block
// whose rule is not in effect is skipped. An nvpair whose value is
// "#default" removes the name set so far. Blocks and nvpairs may be id-refs.
//
// err reports the first configuration problem met by rule evaluation; the
// map is filled regardless.
func UnpackNVPairs(parent *etree.Element, blockTag string, ctx *Context, into map[string]string, overwrite bool) error {
	_, err := UnpackNVPairsFull(parent, blockTag, ctx, into, NVPairOptions{Overwrite: overwrite})
	return err
}

// UnpackNVPairsFull is UnpackNVPairs with all options; it also returns
// when the rules that gated the blocks will next change their answer (the
// zero time if never), for cluster-recheck scheduling.
func UnpackNVPairsFull(parent *etree.Element, blockTag string, ctx *Context, into map[string]string, opt NVPairOptions) (time.Time, error) {
	if parent == nil {
		return time.Time{}, nil
	}
	e := newEval(ctx)
	for _, b := range SortedBlocks(parent, blockTag, opt.AlwaysFirst) {
		if !e.rules(b) {
			continue
		}
		populate(b, into, opt.Overwrite)
	}
	return e.nextTime(), e.err
}

// SortedBlocks returns the nvpair blocks of parent in the order Pacemaker
// applies them (make_pairs): id-refs resolved (unresolvable ones dropped),
// the block with id alwaysFirst first, then by decreasing score, equal
// scores in reverse document order.
func SortedBlocks(parent *etree.Element, blockTag, alwaysFirst string) []*etree.Element {
	type block struct {
		x     *etree.Element
		score int
		first bool
	}
	var list []block
	children := parent.ChildElements()
	for i := len(children) - 1; i >= 0; i-- {
		c := children[i]
		if blockTag != "" && c.Tag != blockTag {
			continue
		}
		x := resolveIDRef(c)
		if x == nil {
			continue
		}
		b := block{x: x, score: ParseScore(attrOr(x, "score", ""))}
		if alwaysFirst != "" {
			if id := x.SelectAttr("id"); id != nil && equalFold(id.Value, alwaysFirst) {
				b.first = true
			}
		}
		list = append(list, b)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].first != list[j].first {
			return list[i].first
		}
		return list[i].score > list[j].score
	})
	out := make([]*etree.Element, len(list))
	for i, b := range list {
		out[i] = b.x
	}
	return out
}

// populate is populate_hash: the block's nvpairs (or those of a legacy
// <attributes> child) into the map.
func populate(block *etree.Element, into map[string]string, overwrite bool) {
	list := block
	if kids := block.ChildElements(); len(kids) > 0 && equalFold(kids[0].Tag, "attributes") {
		list = kids[0]
	}
	for _, nv := range list.ChildElements() {
		if nv.Tag != "nvpair" {
			continue
		}
		name, value := attrPtr(nv, "name"), attrPtr(nv, "value")
		if name == nil || value == nil {
			if ref := resolveIDRef(nv); ref != nil && ref != nv {
				if name == nil {
					name = attrPtr(ref, "name")
				}
				if value == nil {
					value = attrPtr(ref, "value")
				}
			}
		}
		if name == nil || value == nil {
			continue
		}
		_, exists := into[*name]
		switch {
		case equalFold(*value, "#default"):
			delete(into, *name)
		case !exists || overwrite:
			into[*name] = *value
		}
	}
}
