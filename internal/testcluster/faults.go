package testcluster

import (
	"fmt"
	"os/exec"
	"strings"
)

// Faults are nftables rules in a table of our own ("rmfault") inside each node's
// network namespace. The kernel here has no netem, so loss, cuts and partitions are
// made by dropping packets; delay and reordering belong to the simulator.

const faultTable = "rmfault"

// nft runs an nft script inside the node's network namespace.
func (n *Node) nft(script string) error {
	cmd := exec.Command("ip", "netns", "exec", n.ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft on node %d: %v: %s\n%s", n.id, err, strings.TrimSpace(string(out)), script)
	}
	return nil
}

// ensureFaultTable (re)creates the node's fault table with empty input and
// output chains.
func (n *Node) ensureFaultTable() error {
	return n.nft(fmt.Sprintf(`table inet %[1]s
delete table inet %[1]s
table inet %[1]s {
	chain in { type filter hook input priority 0; policy accept; }
	chain out { type filter hook output priority 0; policy accept; }
}
`, faultTable))
}

// DropPercent makes the node drop pct percent of the UDP packets it sends, chosen at
// random (pct 0 removes the rule). Other fault rules of the node are cleared.
func (n *Node) DropPercent(pct int) error {
	if err := n.ensureFaultTable(); err != nil {
		return err
	}
	if pct <= 0 {
		return nil
	}
	return n.nft(fmt.Sprintf("add rule inet %s out meta l4proto udp numgen random mod 100 < %d drop\n", faultTable, pct))
}

// Isolate cuts the node off from the given peers in both directions (all of their
// addresses on the cluster network), keeping other fault rules.
func (n *Node) isolateFrom(peers []*Node) error {
	if len(peers) == 0 {
		return nil
	}
	var addrs []string
	for _, p := range peers {
		addrs = append(addrs, p.Addr().String())
	}
	set := "{ " + strings.Join(addrs, ", ") + " }"
	return n.nft(fmt.Sprintf("add rule inet %[1]s in ip saddr %[2]s drop\nadd rule inet %[1]s out ip daddr %[2]s drop\n", faultTable, set))
}

// Partition splits the cluster into the given groups of node ids: nodes in
// different groups can no longer exchange packets. Nodes named in no group form one
// more group. Earlier fault rules are replaced.
func (c *Cluster) Partition(groups ...[]int) error {
	groupOf := map[int]int{}
	for g, ids := range groups {
		for _, id := range ids {
			groupOf[id] = g + 1
		}
	}
	for _, n := range c.nodes {
		if err := n.ensureFaultTable(); err != nil {
			return err
		}
		var others []*Node
		for _, p := range c.nodes {
			if groupOf[p.id] != groupOf[n.id] {
				others = append(others, p)
			}
		}
		if err := n.isolateFrom(others); err != nil {
			return err
		}
	}
	return nil
}

// Heal removes every fault rule from every node.
func (c *Cluster) Heal() error {
	for _, n := range c.nodes {
		if err := n.ensureFaultTable(); err != nil {
			return err
		}
	}
	return nil
}
