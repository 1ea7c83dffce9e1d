package pacemakerd

import (
	"fmt"
	"os"
	"strings"
	"time"

	"ringmaster/cmap"
	"ringmaster/ipc"
)

// Identity is what the launcher learns from corosync's cmap.
type Identity struct {
	ClusterName string
	NodeName    string
	FromCmap    bool
}

// LocalIdentity asks corosync's cmap for the cluster name and this node's
// name (pcmk__corosync_name: the nodelist entry at nodelist.local_node_pos,
// its name, else its ring0_addr), falling back to the host name when
// corosync does not answer or names nothing.
func LocalIdentity(timeout time.Duration) Identity {
	host, _ := os.Hostname()
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	id := Identity{NodeName: host}
	c, err := cmap.Dial(cmap.ClientOptions{IPC: ipc.ClientOptions{Timeout: timeout}, Timeout: timeout})
	if err != nil {
		return id
	}
	defer c.Close()
	id.FromCmap = true
	if v, err := c.Get("totem.cluster_name"); err == nil {
		id.ClusterName = strings.TrimRight(v.String(), "\x00")
	}
	pos, err := c.Get("nodelist.local_node_pos")
	if err != nil {
		return id
	}
	n, ok := pos.AsUint()
	if !ok {
		return id
	}
	for _, k := range []string{"name", "ring0_addr"} {
		v, err := c.Get(fmt.Sprintf("nodelist.node.%d.%s", n, k))
		if err != nil {
			continue
		}
		s := strings.TrimRight(v.String(), "\x00")
		if k == "ring0_addr" && strings.ContainsAny(s, ".:") && !strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") {
			continue // an address is not a name
		}
		if s != "" {
			id.NodeName = s
			break
		}
	}
	return id
}
