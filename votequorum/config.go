package votequorum

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"ringmaster/conf"
)

// ConfigFromKeys reads the votequorum configuration from the cmap key tree the
// way votequorum_readconfig reads icmap: quorum.* keys, the nodelist's
// quorum_votes, and nodelist.local_node_pos for this node's own entry. nodeID is
// this node's id. Keys may be typed (as corosync stores known keys) or strings
// (as it stores unknown ones); a value that does not parse is an error naming the key.
func ConfigFromKeys(nodeID uint32, keys map[string]conf.Value) (Config, error) {
	cfg := Config{NodeID: nodeID, LocalPos: -1, LMSWindow: DefaultLMSWindow}
	var err error
	u32 := func(key string, dst *uint32) {
		if v, ok := keys[key]; ok && err == nil {
			var n uint64
			if n, err = number(key, v); err == nil {
				*dst = uint32(n)
			}
		}
	}
	flag := func(key string, dst *bool) bool {
		v, ok := keys[key]
		if !ok || err != nil {
			return false
		}
		var n uint64
		if n, err = number(key, v); err == nil {
			*dst = n != 0
		}
		return true
	}
	u32("quorum.expected_votes", &cfg.ExpectedVotes)
	u32("quorum.votes", &cfg.Votes)
	flag("quorum.two_node", &cfg.TwoNode)
	var wfa bool
	if flag("quorum.wait_for_all", &wfa) {
		cfg.WaitForAll = &wfa
	}
	flag("quorum.last_man_standing", &cfg.LastManStanding)
	var window uint32
	u32("quorum.last_man_standing_window", &window)
	if window != 0 {
		cfg.LMSWindow = time.Duration(window) * time.Millisecond
	}
	flag("quorum.auto_tie_breaker", &cfg.AutoTieBreaker)
	if v, ok := keys["quorum.auto_tie_breaker_node"]; ok {
		cfg.AutoTieBreakerNode = strings.TrimSpace(v.String())
	}
	flag("quorum.allow_downscale", &cfg.AllowDownscale)
	flag("quorum.expected_votes_tracking", &cfg.ExpectedVotesTracking)
	if v, ok := keys["quorum.device.model"]; ok {
		cfg.QdeviceModel = v.String()
	}

	// The nodelist, in position order.
	positions := map[int]bool{}
	for k := range keys {
		if rest, ok := strings.CutPrefix(k, "nodelist.node."); ok {
			if i := strings.IndexByte(rest, '.'); i > 0 {
				if pos, perr := strconv.Atoi(rest[:i]); perr == nil {
					positions[pos] = true
				}
			}
		}
	}
	var order []int
	for p := range positions {
		order = append(order, p)
	}
	sort.Ints(order)
	var localPos uint32
	haveLocal := false
	if _, ok := keys["nodelist.local_node_pos"]; ok {
		u32("nodelist.local_node_pos", &localPos)
		haveLocal = true
	}
	for i, p := range order {
		var nv NodeVotes
		u32(fmt.Sprintf("nodelist.node.%d.nodeid", p), &nv.ID)
		u32(fmt.Sprintf("nodelist.node.%d.quorum_votes", p), &nv.Votes)
		cfg.Nodelist = append(cfg.Nodelist, nv)
		if haveLocal && uint32(p) == localPos {
			cfg.LocalPos = i
		}
	}
	return cfg, err
}

func number(key string, v conf.Value) (uint64, error) {
	if n, ok := v.AsUint(); ok {
		return n, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v.String()), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("votequorum: key %s: %q is not a number", key, v.String())
	}
	return n, nil
}
