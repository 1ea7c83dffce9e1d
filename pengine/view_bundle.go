package pengine

// BundleView is a bundle's own data (pe__bundle_variant_data_t as the
// status tools print it).
type BundleView struct {
	Agent       string // docker, podman or rkt
	Image       string
	Replicas    int // configured replicas
	PerHost     int
	PromotedMax int
	Unique      bool // replicas-per-host > 1
	Failed      bool
	Replica     []*ReplicaView
}

// ReplicaView is one replica: its implicit resources (IP, Child, Remote
// may be nil) and the guest node it provides.
type ReplicaView struct {
	Offset                       int
	IPAddr                       string
	IP, Child, Container, Remote *RscView
	Node                         *NodeView
}

func (v *ClusterView) mapBundle(r *Resource, rv *RscView) {
	b := r.bundle
	bv := &BundleView{Agent: b.agent, Image: b.image, Replicas: b.nreplicas, PerHost: b.nreplicasPerHost,
		PromotedMax: b.promotedMax, Unique: r.Unique, Failed: r.Failed}
	byID := map[*Resource]*RscView{}
	var index func(x *RscView, y *Resource)
	index = func(x *RscView, y *Resource) {
		byID[y] = x
		for i, ch := range y.Children {
			if i < len(x.Children) {
				index(x.Children[i], ch)
			}
		}
	}
	index(rv, r)
	for _, rep := range b.replicas {
		bv.Replica = append(bv.Replica, &ReplicaView{Offset: rep.offset, IPAddr: rep.ipaddr,
			IP: byID[rep.ip], Child: byID[rep.child], Container: byID[rep.container],
			Remote: byID[rep.remote], Node: v.byNode[rep.node]})
	}
	rv.Bundle = bv
}

// mapGuests marks guest nodes and the node their container runs on
// (pe__is_guest_node, pe__current_node(container)).
func (v *ClusterView) mapGuests(c *cluster) {
	for _, n := range c.nodes {
		if !n.isGuest() {
			continue
		}
		nv := v.byNode[n]
		nv.Guest = true
		nv.GuestContainer = n.RemoteRsc.Container.ID
		if ct := n.RemoteRsc.Container; len(ct.RunningOn) > 0 {
			nv.GuestHost = v.byNode[ct.RunningOn[0]]
		}
	}
}
