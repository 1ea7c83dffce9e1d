package pengine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"ringmaster/pengine/rules"
)

// Bundles (lib/pengine/bundle.c pe__unpack_bundle, Pacemaker 2.1.5).
//
// A <bundle> expands into implicit resources, one set per replica:
//
//	NAME-docker-N / NAME-podman-N / NAME-rkt-N  the container (ocf:heartbeat:<agent>)
//	NAME-ip-ADDR                                 an IPaddr2, when ip-range-start is set
//	NAME-N                                       the Pacemaker Remote connection
//	                                             (container=NAME-<agent>-N), when the
//	                                             bundle wraps a primitive
//	PRIM:N                                       instance N of the clone NAME-clone
//	                                             (NAME-master when promoted-max > 0)
//
// and one guest node NAME-N per replica, on which instance N alone may
// run. The bundle's children are, as upstream appends them, the container,
// ip and connection of each replica in turn, then the clone.

// bundleData is pe__bundle_variant_data_t.
type bundleData struct {
	agent                       string // docker, podman or rkt
	image                       string
	nreplicas, nreplicasPerHost int
	promotedMax                 int
	runCommand, options         string
	network                     string // container network (the agent's "network" attribute)
	ipRangeStart, hostNetmask   string
	hostInterface               string
	controlPort                 string
	addHost                     bool
	mounts                      []bundleMount
	ports                       []bundlePort
	child                       *Resource // the implicit clone, nil for a naked container
	replicas                    []*bundleReplica
	hostOptions                 string
}

type bundleMount struct {
	source, target, options string
	subdir                  bool
}

type bundlePort struct{ source, target string }

// bundleReplica is pe__bundle_replica_t.
type bundleReplica struct {
	offset    int
	ipaddr    string
	ip        *Resource
	child     *Resource // the clone instance (a primitive)
	container *Resource
	remote    *Resource
	node      *Node // the guest node NAME-N
}

// defaultRemotePort is DEFAULT_REMOTE_PORT.
const defaultRemotePort = 3121

// maxBundleReplicas bounds the replicas one bundle may expand to.
const maxBundleReplicas = 1024

// nextIP is next_ip: IPv4 only, stepping the last octet (1..254) and
// carrying into the third.
func nextIP(last string) string {
	var o [4]uint
	parts := strings.Split(last, ".")
	if len(parts) != 4 {
		return ""
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return ""
		}
		o[i] = uint(v)
	}
	switch {
	case o[2] > 253:
		return ""
	case o[3] > 253:
		o[2]++
		o[3] = 1
	default:
		o[3]++
	}
	return fmt.Sprintf("%d.%d.%d.%d", o[0], o[1], o[2], o[3])
}

// minInt is pcmk__scan_min_int: unparsable or below min gives min.
func minInt(s string, min int) int {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < min {
		return min
	}
	return v
}

// sanitizeID is crm_xml_sanitize_id: characters not valid in an XML id
// become '.'.
func sanitizeID(id string) string {
	b := []byte(id)
	for i, ch := range b {
		if ch == ':' || ch == '#' {
			b[i] = '.'
		}
	}
	return string(b)
}

func nvpair(parent *etree.Element, setID, name, value string) {
	nv := parent.CreateElement("nvpair")
	nv.CreateAttr("id", setID+"-"+name)
	nv.CreateAttr("name", name)
	nv.CreateAttr("value", value)
}

func opXML(ops *etree.Element, prefix, task, interval, timeout string) {
	op := ops.CreateElement("op")
	op.CreateAttr("id", prefix+"-"+task+"-"+interval)
	op.CreateAttr("name", task)
	op.CreateAttr("interval", interval)
	if timeout != "" {
		op.CreateAttr("timeout", timeout)
	}
}

func implicitPrimitive(id, provider, kind string) *etree.Element {
	p := etree.NewElement("primitive")
	p.CreateAttr("id", id)
	p.CreateAttr("class", "ocf")
	p.CreateAttr("provider", provider)
	p.CreateAttr("type", kind)
	return p
}

// unpackBundle builds a bundle resource and its implicit resources and
// guest nodes.
func (c *cluster) unpackBundle(e *etree.Element) (*Resource, error) {
	id := attr(e, "id")
	if id == "" {
		return nil, fmt.Errorf("<bundle> without id")
	}
	if _, dup := c.rscByID[id]; dup {
		c.warnf("duplicate resource id %s", id)
		return nil, nil
	}
	b := &bundleData{}
	var agentXML *etree.Element
	for _, a := range []string{"docker", "rkt", "podman"} {
		if x := e.SelectElement(a); x != nil {
			b.agent, agentXML = a, x
			break
		}
	}
	if agentXML == nil {
		c.warnf("bundle %s: no container agent (docker, rkt or podman)", id)
		return nil, nil
	}
	// A bundle is unpacked like a primitive for its meta-attributes
	// (common_unpack), then specialised.
	shell := etree.NewElement("bundle")
	for _, a := range e.Attr {
		shell.CreateAttr(a.Key, a.Value)
	}
	for _, ms := range e.SelectElements("meta_attributes") {
		shell.AddChild(ms.Copy())
	}
	for _, ms := range e.SelectElements("utilization") {
		shell.AddChild(ms.Copy())
	}
	r, err := c.unpackResource(shell, nil, "")
	if err != nil || r == nil {
		return r, err
	}
	r.XML = e
	r.Kind = KindBundle
	r.bundle = b
	r.Unique = true

	v := attr(agentXML, "promoted-max")
	if !hasAttr(agentXML, "promoted-max") {
		v = attr(agentXML, "masters")
	}
	b.promotedMax = minInt(v, 0)
	if !hasAttr(agentXML, "replicas") && b.promotedMax > 0 {
		b.nreplicas = b.promotedMax
	} else {
		b.nreplicas = minInt(attr(agentXML, "replicas"), 1)
	}
	if b.nreplicas > maxBundleReplicas {
		// every replica is a node and four resources; bound what a typo
		// (or hostile input) can make us allocate
		c.warnf("bundle %s: %d replicas, using %d", id, b.nreplicas, maxBundleReplicas)
		b.nreplicas = maxBundleReplicas
	}
	b.nreplicasPerHost = minInt(attr(agentXML, "replicas-per-host"), 1)
	if b.nreplicasPerHost == 1 {
		r.Unique = false
	}
	b.runCommand = attr(agentXML, "run-command")
	b.options = attr(agentXML, "options")
	hasOptions := hasAttr(agentXML, "options")
	b.image = attr(agentXML, "image")
	b.network = attr(agentXML, "network")
	hasRunCommand := hasAttr(agentXML, "run-command")

	if nw := e.SelectElement("network"); nw != nil {
		b.ipRangeStart = attr(nw, "ip-range-start")
		b.hostNetmask = attr(nw, "host-netmask")
		b.hostInterface = attr(nw, "host-interface")
		b.controlPort = attr(nw, "control-port")
		b.addHost = true
		if hasAttr(nw, "add-host") {
			switch strings.ToLower(attr(nw, "add-host")) {
			case "false", "no", "off", "n", "0":
				b.addHost = false
			}
		}
		for _, pm := range nw.ChildElements() {
			p := bundlePort{source: attr(pm, "port")}
			if p.source == "" {
				p.source = attr(pm, "range")
			} else {
				p.target = attr(pm, "internal-port")
			}
			if p.source == "" {
				c.warnf("bundle %s: invalid port directive %s", id, attr(pm, "id"))
				continue
			}
			if p.target == "" {
				p.target = p.source
			}
			b.ports = append(b.ports, p)
		}
	}
	needLogMount := true
	if st := e.SelectElement("storage"); st != nil {
		for _, sm := range st.ChildElements() {
			m := bundleMount{source: attr(sm, "source-dir"), target: attr(sm, "target-dir"),
				options: attr(sm, "options")}
			if !hasAttr(sm, "source-dir") {
				m.source = attr(sm, "source-dir-root")
				m.subdir = true
			}
			if m.source == "" || m.target == "" {
				c.warnf("bundle %s: invalid mount directive %s", id, attr(sm, "id"))
				continue
			}
			b.mounts = append(b.mounts, m)
			if m.target == "/var/log" {
				needLogMount = false
			}
		}
	}
	validNetwork := b.ipRangeStart != "" || b.controlPort != ""
	if b.ipRangeStart == "" && b.controlPort != "" && b.nreplicasPerHost > 1 {
		// valid_network: a control port without an IP range allows one
		// replica per host only
		b.nreplicasPerHost = 1
	}

	prim := e.SelectElement("primitive")
	if prim != nil && !validNetwork {
		c.warnf("Cannot control %s inside %s without either ip-range-start or control-port", attr(prim, "id"), id)
		return nil, nil
	}
	allocate := func(rep *bundleReplica, buf *strings.Builder) {
		if b.ipRangeStart == "" {
			return
		}
		if len(b.replicas) > 0 && b.replicas[len(b.replicas)-1].ipaddr != "" {
			rep.ipaddr = nextIP(b.replicas[len(b.replicas)-1].ipaddr)
		} else {
			rep.ipaddr = b.ipRangeStart
		}
		switch b.agent {
		case "docker", "podman":
			if b.addHost {
				fmt.Fprintf(buf, " --add-host=%s-%d:%s", id, rep.offset, rep.ipaddr)
			} else {
				fmt.Fprintf(buf, " --hosts-entry=%s=%s-%d", rep.ipaddr, id, rep.offset)
			}
		case "rkt":
			fmt.Fprintf(buf, " --hosts-entry=%s=%s-%d", rep.ipaddr, id, rep.offset)
		}
	}
	var buf strings.Builder
	if prim != nil {
		cloneTag := "clone"
		if b.promotedMax > 0 {
			cloneTag = "master"
		}
		cx := etree.NewElement("clone")
		cx.CreateAttr("id", id+"-"+cloneTag)
		ms := cx.CreateElement("meta_attributes")
		setID := id + "-clone-meta"
		ms.CreateAttr("id", setID)
		nvpair(ms, setID, "ordered", "true")
		nvpair(ms, setID, "clone-max", strconv.Itoa(b.nreplicas))
		nvpair(ms, setID, "clone-node-max", strconv.Itoa(b.nreplicasPerHost))
		nvpair(ms, setID, "globally-unique", strconv.FormatBool(b.nreplicasPerHost > 1))
		if b.promotedMax > 0 {
			nvpair(ms, setID, "promotable", "true")
			nvpair(ms, setID, "promoted-max", strconv.Itoa(b.promotedMax))
		}
		cx.AddChild(prim.Copy())
		cl, err := c.unpackResource(cx, r, "")
		if err != nil || cl == nil {
			return nil, err
		}
		b.child = cl
		b.mounts = append(b.mounts, bundleMount{source: "/etc/pacemaker/authkey", target: "/etc/pacemaker/authkey"})
		if needLogMount {
			b.mounts = append(b.mounts, bundleMount{source: "/var/log/pacemaker/bundles", target: "/var/log", subdir: true})
		}
		port := b.controlPort
		if port == "" {
			port = strconv.Itoa(defaultRemotePort)
		}
		b.ports = append(b.ports, bundlePort{source: port, target: port})
		for i, inst := range cl.Children {
			rep := &bundleReplica{child: inst, offset: i}
			inst.ExclusiveDiscover = true
			if inst.Notify {
				cl.Notify = true
			}
			allocate(rep, &buf)
			b.replicas = append(b.replicas, rep)
		}
		if t := cl.Children; len(t) > 0 {
			if at, ok := t[len(t)-1].Meta["container-attribute-target"]; ok {
				r.Meta["container-attribute-target"] = at
				cl.Meta["container-attribute-target"] = at
			}
		}
	} else {
		for i := 0; i < b.nreplicas; i++ {
			rep := &bundleReplica{offset: i}
			allocate(rep, &buf)
			b.replicas = append(b.replicas, rep)
		}
	}
	b.hostOptions = buf.String()
	for _, rep := range b.replicas {
		if err := c.bundleReplicaResources(r, b, rep, validNetwork, hasOptions, hasRunCommand); err != nil {
			return nil, err
		}
		if rep.child != nil {
			rep.container.Utilization, rep.child.Utilization = rep.child.Utilization, rep.container.Utilization
		}
	}
	if b.child != nil {
		r.Children = append(r.Children, b.child)
	}
	return r, nil
}

// bundleReplicaResources is create_replica_resources: container, ip and
// remote connection of one replica, appended to the bundle's children.
func (c *cluster) bundleReplicaResources(r *Resource, b *bundleData, rep *bundleReplica, validNetwork, hasOptions, hasRunCommand bool) error {
	prefix := r.ID
	// container
	cid := sanitizeID(fmt.Sprintf("%s-%s-%d", prefix, b.agent, rep.offset))
	cx := implicitPrimitive(cid, "heartbeat", b.agent)
	setID := fmt.Sprintf("%s-attributes-%d", prefix, rep.offset)
	is := cx.CreateElement("instance_attributes")
	is.CreateAttr("id", setID)
	nvpair(is, setID, "image", b.image)
	nvpair(is, setID, "allow_pull", "true")
	nvpair(is, setID, "force_kill", "false")
	nvpair(is, setID, "reuse", "false")
	hostOpt, envOpt := "-h ", "-e "
	if b.agent == "rkt" {
		hostOpt, envOpt = "--hostname=", "--environment="
	}
	var opts strings.Builder
	if b.agent == "docker" {
		opts.WriteString(" --restart=no")
	}
	if b.ipRangeStart != "" {
		fmt.Fprintf(&opts, " %s%s-%d", hostOpt, prefix, rep.offset)
	}
	opts.WriteString(" " + envOpt + "PCMK_stderr=1")
	if b.network != "" {
		opts.WriteString(" --net=" + b.network)
	}
	if b.controlPort != "" {
		opts.WriteString(" " + envOpt + "PCMK_remote_port=" + b.controlPort)
	} else {
		fmt.Fprintf(&opts, " %sPCMK_remote_port=%d", envOpt, defaultRemotePort)
	}
	var dirs []string
	for vol, m := range b.mounts {
		src := m.source
		if m.subdir {
			src = fmt.Sprintf("%s/%s-%d", m.source, prefix, rep.offset)
			dirs = append(dirs, src)
		}
		switch b.agent {
		case "docker", "podman":
			opts.WriteString(" -v " + src + ":" + m.target)
			if m.options != "" {
				opts.WriteString(":" + m.options)
			}
		case "rkt":
			sep := ""
			if m.options != "" {
				sep = ","
			}
			fmt.Fprintf(&opts, " --volume vol%d,kind=host,source=%s%s%s --mount volume=vol%d,target=%s",
				vol, src, sep, m.options, vol, m.target)
		}
	}
	for _, p := range b.ports {
		switch b.agent {
		case "docker", "podman":
			if rep.ipaddr != "" {
				opts.WriteString(" -p " + rep.ipaddr + ":" + p.source + ":" + p.target)
			} else if b.network != "host" {
				opts.WriteString(" -p " + p.source + ":" + p.target)
			}
		case "rkt":
			if rep.ipaddr != "" {
				opts.WriteString(" --port=" + p.target + ":" + rep.ipaddr + ":" + p.source)
			} else {
				opts.WriteString(" --port=" + p.target + ":" + p.source)
			}
		}
	}
	if hasOptions {
		opts.WriteString(" " + b.options)
	}
	if b.child != nil {
		// container_host_options is always set when there is a child
		opts.WriteString(" " + b.hostOptions)
	} else {
		opts.WriteString(" " + b.hostOptions)
	}
	nvpair(is, setID, "run_opts", opts.String())
	nvpair(is, setID, "mount_points", strings.Join(dirs, ","))
	if rep.child != nil {
		cmd := "/usr/sbin/pacemaker-remoted"
		if hasRunCommand {
			cmd = b.runCommand
		}
		nvpair(is, setID, "run_cmd", cmd)
	} else if hasRunCommand {
		nvpair(is, setID, "run_cmd", b.runCommand)
	}
	nvpair(is, setID, "monitor_cmd", "/bin/true")
	opXML(cx.CreateElement("operations"), cid, "monitor", "60s", "")
	ct, err := c.unpackResource(cx, r, "")
	if err != nil || ct == nil {
		return fmt.Errorf("bundle %s: container %s: %v", r.ID, cid, err)
	}
	rep.container = ct
	r.Children = append(r.Children, ct)

	// ip
	if b.ipRangeStart != "" {
		iid := sanitizeID(fmt.Sprintf("%s-ip-%s", prefix, rep.ipaddr))
		ix := implicitPrimitive(iid, "heartbeat", "IPaddr2")
		is := ix.CreateElement("instance_attributes")
		is.CreateAttr("id", setID)
		nvpair(is, setID, "ip", rep.ipaddr)
		if b.hostInterface != "" {
			nvpair(is, setID, "nic", b.hostInterface)
		}
		if b.hostNetmask != "" {
			nvpair(is, setID, "cidr_netmask", b.hostNetmask)
		} else {
			nvpair(is, setID, "cidr_netmask", "32")
		}
		opXML(ix.CreateElement("operations"), iid, "monitor", "60s", "")
		ip, err := c.unpackResource(ix, r, "")
		if err != nil || ip == nil {
			return fmt.Errorf("bundle %s: ip %s: %v", r.ID, iid, err)
		}
		rep.ip = ip
		r.Children = append(r.Children, ip)
	}

	// remote connection and guest node
	if rep.child != nil && validNetwork {
		rid := fmt.Sprintf("%s-%d", prefix, rep.offset)
		if _, taken := c.rscByID[rid]; taken {
			rid = fmt.Sprintf("pcmk-internal-%s-remote-%d", rep.child.ID, rep.offset)
		}
		server := rep.ipaddr
		if server == "" {
			server = "#uname"
		}
		port := b.controlPort
		if port == "" {
			port = strconv.Itoa(defaultRemotePort)
		}
		rx := implicitPrimitive(rid, "pacemaker", "remote")
		ms := rx.CreateElement("meta_attributes")
		ms.CreateAttr("id", rid+"-meta_attributes")
		nvpair(ms, rid+"-meta_attributes", "internal_rsc", "true")
		nvpair(ms, rid+"-meta_attributes", "container", ct.ID)
		ia := rx.CreateElement("instance_attributes")
		ia.CreateAttr("id", rid+"-instance_attributes")
		nvpair(ia, rid+"-instance_attributes", "addr", server)
		nvpair(ia, rid+"-instance_attributes", "port", port)
		opXML(rx.CreateElement("operations"), rid, "monitor", "30s", "30s")

		n := c.nodeByName[rid]
		if n == nil {
			n = c.newNode(rid, rid, "remote")
			for k, v := range rules.NodeBuiltins(rid, rid, "container", false, c.config["cluster-name"]) {
				n.Attrs[k] = v
			}
		}
		n.Attrs["#kind"] = "container"
		n.guest = true
		n.bundleNode = true
		rep.node = n
		rm, err := c.unpackResource(rx, r, "")
		if err != nil || rm == nil {
			return fmt.Errorf("bundle %s: connection %s: %v", r.ID, rid, err)
		}
		rm.Container = ct
		rep.remote = rm
		rm.remoteNode = n
		n.RemoteRsc = rm
		r.Children = append(r.Children, rm)
		c.haveRemote = true
	}
	if rep.child != nil && rep.ipaddr != "" {
		rep.child.Meta["external-ip"] = rep.ipaddr
	}
	return nil
}

// fixBundleAllowed applies create_remote_resource's placement rules once
// the symmetric defaults exist: nothing but its own replica instance may
// run on a bundle's guest node, and that instance nowhere else; the
// connections run on cluster nodes only.
func (c *cluster) fixBundleAllowed() {
	var bundles []*Resource
	for _, r := range c.resources {
		if r.Kind == KindBundle {
			bundles = append(bundles, r)
		}
	}
	if len(bundles) == 0 {
		return
	}
	// Bundle nodes are created with discovery "never", so the symmetric
	// default skips them (resource_node_score): they are in no allowed
	// list but the ones set below.
	for _, x := range c.allResources() {
		for n := range x.Allowed {
			if n.bundleNode {
				delete(x.Allowed, n)
			}
		}
	}
	for _, r := range bundles {
		for _, rep := range r.bundle.replicas {
			if rep.node == nil {
				continue
			}
			rep.child.Allowed = map[*Node]int{rep.node: 500}
			rep.child.Discover = map[*Node]string{rep.node: "exclusive"}
			if rep.child.Parent != nil {
				rep.child.Parent.Allowed[rep.node] = -Infinity
			}
			if rep.remote != nil {
				for n := range rep.remote.Allowed {
					if n.isRemote() {
						rep.remote.Allowed[n] = -Infinity
					}
				}
			}
		}
	}
}

// uberParent is uber_parent: the topmost ancestor below any bundle.
func (r *Resource) uberParent() *Resource {
	for r.Parent != nil && r.Parent.Kind != KindBundle {
		r = r.Parent
	}
	return r
}

// bundleOf returns the bundle r belongs to, if any.
func (r *Resource) bundleOf() *Resource {
	for p := r.Parent; p != nil; p = p.Parent {
		if p.Kind == KindBundle {
			return p
		}
	}
	return nil
}

// bundleHistoryRsc maps history of a bundle's inner primitive recorded on
// one of its guest nodes to that replica's instance (unpack_find_resource
// with pe__find_bundle_replica).
func (c *cluster) bundleHistoryRsc(n *Node, id string) *Resource {
	if n == nil || !n.bundleNode {
		return nil
	}
	base := id
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		base = id[:i]
	}
	for _, r := range c.resources {
		if r.Kind != KindBundle || r.bundle.child == nil {
			continue
		}
		for _, rep := range r.bundle.replicas {
			if rep.node == n && rep.child != nil && rep.child.XMLID == base {
				return rep.child
			}
		}
	}
	return nil
}

// probeBundle is pcmk__bundle_create_probe: a bundle is never probed
// itself; each replica's IP and container are, the child instance only on
// its own guest node, and the remote connection only once the container
// has started (pe_order_probe), since the connection's state is unknowable
// before. With one replica per host, other replicas' containers wait for
// this container's probe on the same node.
func (c *cluster) probeBundle(r *Resource, n *Node) bool {
	b := r.bundle
	any := false
	for _, rep := range b.replicas {
		if rep.ip != nil && c.probe(rep.ip, n) {
			any = true
		}
		if rep.child != nil && rep.node == n && c.probe(rep.child, n) {
			any = true
		}
		if rep.container != nil && c.probe(rep.container, n) {
			any = true
			if b.nreplicasPerHost == 1 {
				for _, other := range b.replicas {
					if other != rep && other.container != nil {
						c.newOrdering(rep.container, opKeyFor(rep.container.ID, "monitor", 0), nil,
							other.container, opKeyFor(other.container.ID, "start", 0), nil,
							orderOptional|orderSameNode)
					}
				}
			}
		}
		if rep.container != nil && rep.remote != nil && c.probe(rep.remote, n) {
			if p := rep.remote.firstAction("monitor", n); p != nil && p.Key == opKeyFor(rep.remote.ID, "monitor", 0) {
				any = true
				c.newOrdering(rep.container, opKeyFor(rep.container.ID, "start", 0), nil,
					rep.remote, "", p, orderProbe)
			}
		}
	}
	return any
}

// bundleRemoteHost is pe__add_bundle_remote_name: a bundle's remote
// connection whose addr is "#uname" is reached through the host of its
// container, so its digests carry that host's name as addr — where the
// container is assigned, else where it runs now. Nil when r is no such
// connection or the host is unknown.
func bundleRemoteHost(r *Resource) *Node {
	b := r.bundleOf()
	if b == nil || !strings.EqualFold(r.Params["addr"], "#uname") {
		return nil
	}
	for _, rep := range b.bundle.replicas {
		if rep.remote != r || rep.container == nil {
			continue
		}
		if rep.container.AllocatedTo != nil {
			return rep.container.AllocatedTo
		}
		return rep.container.currentNode()
	}
	return nil
}
