package pengine

import (
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// lrmOp is one <lrm_rsc_op> history entry.
type lrmOp struct {
	XML                          *etree.Element
	ID, Task                     string
	Interval                     int
	RC, Status                   int
	CallID                       int
	TargetRC                     int
	LastChange                   int64
	Digest                       string
	MigrateSource, MigrateTarget string
}

const (
	execPending       = -1
	execDone          = 0
	execCancelled     = 1
	execTimeout       = 2
	execNotSupported  = 3
	execError         = 4
	execErrorHard     = 5
	execErrorFatal    = 6
	execNotInstalled  = 7
	execNotConnected  = 8
	execInvalid       = 9
	execNoFenceDevice = 10
	execNoSecrets     = 11
)

func atoiDef(s string, def int) int {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return v
}

func parseLrmOp(e *etree.Element) *lrmOp {
	op := &lrmOp{XML: e, ID: attr(e, "id"), Task: attr(e, "operation"),
		Interval: atoiDef(attr(e, "interval"), 0), RC: atoiDef(attr(e, "rc-code"), 0),
		Status: atoiDef(attr(e, "op-status"), 0), CallID: atoiDef(attr(e, "call-id"), 0),
		Digest: attr(e, "op-digest"), TargetRC: -1,
		MigrateSource: attr(e, "migrate_source"), MigrateTarget: attr(e, "migrate_target")}
	if v, err := strconv.ParseInt(attr(e, "last-rc-change"), 10, 64); err == nil {
		op.LastChange = v
	} else if v, err := strconv.ParseInt(attr(e, "last-run"), 10, 64); err == nil {
		op.LastChange = v
	}
	// transition-key is "action:transition:target-rc:uuid"
	if k := attr(e, "transition-key"); k != "" {
		parts := strings.Split(k, ":")
		if len(parts) >= 4 {
			op.TargetRC = atoiDef(parts[2], -1)
		}
	}
	return op
}

func (o *lrmOp) isProbe() bool { return o.Task == "monitor" && o.Interval == 0 }

// unpackStatus reads the <status> section.
func (c *cluster) unpackStatus() {
	// Startup fencing: configured cluster nodes not seen in status are unclean.
	for _, n := range c.nodes {
		n.Unseen = true
		if c.stonithEnabled && isTrue(c.optOr("startup-fencing", "true")) && n.Type == "member" {
			n.Unclean = true
		}
	}
	if c.status == nil {
		return
	}
	states := c.status.SelectElements("node_state")
	for _, st := range states {
		n := c.findNode(attr(st, "id"), attr(st, "uname"))
		if n != nil && n.Type == "remote" {
			n.RemoteWasFenced = atoiDef(attr(st, "node_fenced"), 0) != 0
			continue
		}
		if n == nil {
			continue
		}
		if ta := st.SelectElement("transient_attributes"); ta != nil {
			c.unpackNVSets(ta, "instance_attributes", n, n.Attrs, true)
		}
		if isTrue(n.Attrs["standby"]) {
			n.Standby = true
		}
		if isTrue(n.Attrs["maintenance"]) {
			n.Maintenance = true
		}
		n.Unclean = false
		n.Unseen = false
		c.determineOnline(st, n)
		if !c.haveQuorum && n.Online && c.noQuorumPolicy == "suicide" {
			c.fenceNode(n, "cluster does not have quorum")
		}
	}
	unpacked := map[*Node]bool{}
	for _, st := range states {
		n := c.findNode(attr(st, "id"), attr(st, "uname"))
		if n == nil || unpacked[n] || n.Type == "remote" {
			continue
		}
		if !c.stonithEnabled && !n.Online {
			continue
		}
		unpacked[n] = true
		c.unpackNodeLrm(n, st)
	}
	// Remote nodes whose connection is known to be up (repeat: a
	// connection may itself run on a remote node).
	for pass := 0; pass < 3; pass++ {
		for _, st := range states {
			n := c.findNode(attr(st, "id"), attr(st, "uname"))
			if n == nil || unpacked[n] || n.Type != "remote" {
				continue
			}
			if n.RemoteRsc == nil || n.RemoteRsc.Role != RoleStarted {
				continue
			}
			if ct := n.RemoteRsc.Container; ct != nil && ct.Role != RoleStarted {
				continue
			}
			unpacked[n] = true
			c.determineRemoteOnline(n)
			c.unpackRemoteAttrs(n, st)
			c.unpackNodeLrm(n, st)
		}
	}
	if c.stonithEnabled {
		for _, st := range states {
			n := c.findNode(attr(st, "id"), attr(st, "uname"))
			if n == nil || unpacked[n] {
				continue
			}
			unpacked[n] = true
			if n.Type == "remote" {
				c.determineRemoteOnline(n)
				c.unpackRemoteAttrs(n, st)
			}
			c.unpackNodeLrm(n, st)
		}
	}
	for _, n := range c.nodes {
		if n.Type != "remote" {
			continue
		}
		if n.Shutdown && n.RemoteRsc != nil {
			n.RemoteRsc.NextRole = RoleStopped
		}
		if !unpacked[n] {
			c.determineRemoteOnline(n)
		}
	}
}

// unpackRemoteAttrs is unpack_handle_remote_attrs.
func (c *cluster) unpackRemoteAttrs(n *Node, st *etree.Element) {
	if ta := st.SelectElement("transient_attributes"); ta != nil {
		c.unpackNVSets(ta, "instance_attributes", n, n.Attrs, true)
	}
	if isTrue(n.Attrs["standby"]) {
		n.Standby = true
	}
	if isTrue(n.Attrs["maintenance"]) || (n.RemoteRsc != nil && !n.RemoteRsc.Managed) {
		n.Maintenance = true
	}
	if s := n.Attrs["shutdown"]; s != "" && s != "0" {
		n.Shutdown = true
	}
	if d, ok := n.Attrs["resource-discovery-enabled"]; ok && !isTrue(d) {
		n.NoDiscovery = true
	}
}

func (c *cluster) optOr(name, def string) string {
	if v, ok := c.config[name]; ok {
		return v
	}
	return def
}

func (c *cluster) findNode(id, uname string) *Node {
	if n := c.nodeByID[id]; n != nil {
		return n
	}
	return c.nodeByName[uname]
}

// determineOnline follows determine_online_status(_fencing|_no_fencing).
func (c *cluster) determineOnline(st *etree.Element, n *Node) {
	shutdown := n.Attrs["shutdown"]
	if shutdown != "" && shutdown != "0" {
		n.Shutdown = true
	}
	exp := attr(st, "expected")
	if exp == "member" {
		n.ExpectedUp = true
	}
	join := attr(st, "join")
	peer := attr(st, "crmd")
	inCCM := attr(st, "in_ccm")
	crmdOnline := strings.EqualFold(peer, "online")
	if !c.stonithEnabled {
		switch {
		case !isTrue(inCCM):
		case crmdOnline:
			if join == "member" {
				n.Online = true
			}
		case !n.ExpectedUp:
		default:
			c.fenceNode(n, "peer is unexpectedly down")
		}
	} else {
		term := n.Attrs["terminate"]
		doTerminate := isTrue(term) || (term != "" && term[0] != '0' && term[0] >= '0' && term[0] <= '9')
		online := isTrue(inCCM)
		if exp == "" {
			exp = "down"
		}
		switch {
		case n.Shutdown:
			online = crmdOnline
		case !hasAttr(st, "in_ccm"):
			c.fenceNode(n, "peer has not been seen by the cluster")
		case join == "banned":
			c.fenceNode(n, "peer failed Pacemaker membership criteria")
		case !doTerminate && exp == "down":
			if isTrue(inCCM) || crmdOnline {
				n.Standby = true
				n.Pending = true
			}
		case doTerminate && join == "down" && !isTrue(inCCM) && !crmdOnline:
			online = false
		case !isTrue(inCCM):
			c.fenceNode(n, "peer is no longer part of the cluster")
		case !crmdOnline:
			c.fenceNode(n, "peer process is no longer available")
		case doTerminate:
			c.fenceNode(n, "termination was requested")
		case join == "member":
		case join == "pending" || join == "down":
			n.Standby = true
			n.Pending = true
		default:
			c.fenceNode(n, "peer was in an unknown state")
		}
		n.Online = online
	}
	if n.Type == "ping" {
		n.Online = false
	}
	if n.Online && n.Unclean {
		// an unclean node is never considered able to run resources
	}
	if !n.Online {
		n.Shutdown = n.Shutdown && false
	}
}

// fenceNode marks a node unclean and schedules its fencing (pe_fence_node).
func (c *cluster) fenceNode(n *Node, reason string) {
	if n.isGuest() {
		ct := n.RemoteRsc.Container
		if !ct.Failed && ct.Managed {
			n.RemoteRequiresReset = true
			ct.Failed = true
			ct.StopFlag = true
		}
		return
	}
	if n.isRemote() {
		if n.RemoteRsc != nil && !n.RemoteRsc.Managed {
			return
		}
		n.RemoteRequiresReset = true
		n.Unclean = true
		c.fenceOp(n, "", true, reason)
		return
	}
	if n.Unclean {
		return
	}
	n.Unclean = true
	n.FenceReason = reason
	c.fenceOp(n, "", true, reason)
}

// unpackNodeLrm reads one node's resource history.
func (c *cluster) unpackNodeLrm(n *Node, st *etree.Element) {
	lrm := st.SelectElement("lrm")
	if lrm == nil {
		return
	}
	rs := lrm.SelectElement("lrm_resources")
	if rs == nil {
		return
	}
	for _, lr := range rs.SelectElements("lrm_resource") {
		c.unpackLrmResource(n, lr)
	}
}

// findRscForHistory maps an lrm_resource id to a resource (unpack_find_resource).
func (c *cluster) findRscForHistory(n *Node, id string) *Resource {
	if r := c.bundleHistoryRsc(n, id); r != nil {
		return r
	}
	if r := c.rscByID[id]; r != nil && r.Kind == KindPrimitive {
		if cp := r.cloneParent(); cp == nil || cp.Unique {
			return r
		}
		// anonymous clone instance recorded with its number: treat like base
	}
	base := id
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		base = id[:i]
	}
	// Find the clone whose primitive has this configuration id.
	var clone *Resource
	for _, top := range c.resources {
		if top.Kind != KindClone {
			continue
		}
		for _, inst := range top.Children {
			for _, p := range inst.primitives() {
				if p.XMLID == base {
					clone = top
				}
			}
		}
	}
	if clone == nil {
		if r := c.rscByID[base]; r != nil && r.Kind == KindPrimitive && r.cloneParent() == nil {
			return r
		}
		return nil
	}
	if clone.Unique {
		if r := c.rscByID[id]; r != nil {
			return r
		}
		return nil
	}
	pick := func(inst *Resource) *Resource {
		for _, p := range inst.primitives() {
			if p.XMLID == base {
				return p
			}
		}
		return nil
	}
	// find_anonymous_clone: an instance active on this node takes the
	// entry; otherwise the first instance active nowhere.
	var found, inactive *Resource
	skipInactive := false
	for _, inst := range clone.Children {
		if found != nil {
			break
		}
		var locs []*Node
		for _, p := range inst.primitives() {
			for _, rn := range p.RunningOn {
				dup := false
				for _, l := range locs {
					if l == rn {
						dup = true
					}
				}
				if !dup {
					locs = append(locs, rn)
				}
			}
		}
		if len(locs) > 0 {
			if locs[0] == n {
				if p := pick(inst); p != nil {
					if len(p.RunningOn) > 0 {
						skipInactive = true
					} else {
						found = p
					}
				}
			}
		} else if !skipInactive && inactive == nil && !inst.Block {
			inactive = pick(inst)
			if inactive != nil && inactive.pendingNode != nil && inactive.pendingNode != n {
				inactive = nil
			}
		}
	}
	if found == nil && !skipInactive && inactive != nil {
		found = inactive
	}
	if found != nil && !found.RequiresFencing && (!n.Online || n.Unclean) {
		found = nil
	}
	if found != nil {
		return found
	}
	// Orphan instance.
	inst, err := c.unpackResource(clone.Children[0].XML, clone, ":"+strconv.Itoa(len(clone.Children)))
	if err != nil || inst == nil {
		return nil
	}
	inst.walk(func(x *Resource) {
		x.Orphan = true
		// common_unpack gives the new instance the symmetric default too
		if c.symmetric {
			for _, nn := range c.nodes {
				if _, ok := x.Allowed[nn]; !ok {
					x.Allowed[nn] = 0
				}
			}
		}
	})
	clone.Children = append(clone.Children, inst)
	return pick(inst)
}

func (c *cluster) unpackLrmResource(n *Node, lr *etree.Element) {
	id := attr(lr, "id")
	if id == "" {
		return
	}
	var ops []*lrmOp
	for _, e := range lr.SelectElements("lrm_rsc_op") {
		ops = append(ops, parseLrmOp(e))
	}
	if len(ops) == 0 {
		return
	}
	r := c.findRscForHistory(n, id)
	if r == nil {
		r = c.orphanResource(lr, id)
		if r == nil {
			return
		}
	}
	if id != r.ID && id != r.CloneName {
		r.CloneName = id
	}
	if isTrue(c.opt("shutdown-lock")) {
		if t := atoiDef(attr(lr, "shutdown-lock"), 0); t != 0 {
			limit := parseInterval(c.opt("shutdown-lock-limit")) / 1000
			if limit <= 0 || c.now.Unix() <= int64(t+limit) {
				r.lockNode = n
			} else {
				// an expired lock's history is erased from the CIB
				// (unpack_shutdown_lock, pe__clear_resource_history)
				c.newAction(r, opKeyFor(r.ID, "lrm_delete", 0), "lrm_delete", n, false)
			}
		}
	}
	ops = sortOpsByCallID(ops)
	r.history[n] = append(r.history[n], ops...)

	saved := r.Role
	r.Role = RoleUnknown
	fail := failIgnore
	var lastFailure *lrmOp
	for _, op := range ops {
		c.unpackRscOp(r, n, op, &lastFailure, &fail)
	}
	start, stop := calculateActiveOps(ops)
	c.processRecurring(n, r, start, stop, ops)
	c.processRscState(r, n, fail)
	if r.hasTargetRole {
		if r.NextRole == RoleUnknown || r.TargetRole < r.NextRole {
			r.NextRole = r.TargetRole
		}
	}
	if saved > r.Role {
		r.Role = saved
	}
}

// sortOpsByCallID orders a resource's history on one node oldest first,
// given in document order. compareOps is not a total order (pending
// entries all compare equal to each other), so the result depends on the
// algorithm: like Pacemaker we reverse the document order (the list is
// built by prepending) and merge-sort it as g_list_sort does.
func sortOpsByCallID(ops []*lrmOp) []*lrmOp {
	rev := make([]*lrmOp, len(ops))
	for i, o := range ops {
		rev[len(ops)-1-i] = o
	}
	return glibMergeSort(rev)
}

// glibMergeSort is g_list_sort: split after the first half (rounded down),
// sort both halves, merge taking from the left half on ties.
func glibMergeSort(ops []*lrmOp) []*lrmOp {
	if len(ops) < 2 {
		return ops
	}
	mid := len(ops) / 2
	left := glibMergeSort(append([]*lrmOp(nil), ops[:mid]...))
	right := glibMergeSort(append([]*lrmOp(nil), ops[mid:]...))
	out := make([]*lrmOp, 0, len(ops))
	for len(left) > 0 && len(right) > 0 {
		if compareOps(left[0], right[0]) <= 0 {
			out = append(out, left[0])
			left = left[1:]
		} else {
			out = append(out, right[0])
			right = right[1:]
		}
	}
	out = append(out, left...)
	return append(out, right...)
}

// compareOps orders two history entries of one resource on one node by age
// (pe__is_newer_op with same_node_default): by call-id, then by
// last-rc-change; a pending entry (call-id -1) is placed against a
// completed one by the transition numbers in their transition-magic, so a
// stop from a later transition supersedes a start still pending from an
// earlier one.
func compareOps(a, b *lrmOp) int {
	aNode, bNode := attr(a.XML, "on_node"), attr(b.XML, "on_node")
	sameNode := aNode == "" || bNode == "" || strings.EqualFold(aNode, bNode)
	if sameNode && a.ID == b.ID {
		return 0
	}
	ac, bc := a.CallID, b.CallID
	switch {
	case ac == -1 && bc == -1:
		return 0
	case sameNode && ac >= 0 && ac < bc:
		return -1
	case sameNode && bc >= 0 && ac > bc:
		return 1
	case ac >= 0 && bc >= 0 && (!sameNode || ac == bc):
		la, lb := rcChange(a), rcChange(b)
		if la >= 0 && la < lb {
			return -1
		}
		if lb >= 0 && la > lb {
			return 1
		}
		return 0
	}
	aUUID, aID, okA := magicTransition(attr(a.XML, "transition-magic"))
	bUUID, bID, okB := magicTransition(attr(b.XML, "transition-magic"))
	if !okA || !okB {
		return 0
	}
	switch {
	case !strings.EqualFold(aUUID, bUUID) || aID == bID:
		if bc == -1 {
			return -1
		} else if ac == -1 {
			return 1
		}
	case (aID >= 0 && aID < bID) || bID == -1:
		return -1
	case (bID >= 0 && aID > bID) || aID == -1:
		return 1
	}
	return 0
}

// rcChange is an entry's last-rc-change, or -1.
func rcChange(o *lrmOp) int64 {
	v, err := strconv.ParseInt(attr(o.XML, "last-rc-change"), 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// magicTransition decodes the transition UUID and number from a
// transition-magic "status:rc;action:transition:target-rc:uuid"
// (decode_transition_magic).
func magicTransition(magic string) (uuid string, transition int, ok bool) {
	i := strings.IndexByte(magic, ';')
	if i < 0 {
		return "", 0, false
	}
	res := strings.SplitN(magic[:i], ":", 2)
	if len(res) != 2 {
		return "", 0, false
	}
	for _, f := range res {
		if _, err := strconv.Atoi(f); err != nil {
			return "", 0, false
		}
	}
	parts := strings.SplitN(magic[i+1:], ":", 4)
	if len(parts) < 4 {
		return "", 0, false
	}
	t, err := strconv.Atoi(parts[1])
	if err != nil {
		return "", 0, false
	}
	return parts[3], t, true
}

func (c *cluster) orphanResource(lr *etree.Element, id string) *Resource {
	e := etree.NewElement("primitive")
	e.CreateAttr("id", id)
	for _, k := range []string{"class", "provider", "type"} {
		if v := attr(lr, k); v != "" {
			e.CreateAttr(k, v)
		}
	}
	// The history may name a configured resource that is no longer a
	// primitive (a clone or group took its id): it is still an orphan
	// (unpack_find_resource), and lookups by id keep finding the configured
	// one, as pe_find_resource returns the first match.
	configured := c.rscByID[id]
	delete(c.rscByID, id)
	r, err := c.unpackResource(e, nil, "")
	if configured != nil {
		c.rscByID[id] = configured
	}
	if err != nil || r == nil {
		return nil
	}
	r.Orphan = true
	if !c.stopOrphans {
		r.Managed = false
	}
	c.resources = append(c.resources, r)
	r.Allowed = map[*Node]int{}
	for _, n := range c.nodes {
		r.Allowed[n] = -Infinity // orphans may run nowhere
	}
	return r
}

func (r *Resource) setActive() {
	if r.Promotable || (r.Parent != nil && r.top().Promotable) {
		r.Role = RoleUnpromoted
	} else {
		r.Role = RoleStarted
	}
}

// failRank orders failure responses by severity (cmp_on_fail).
func cmpOnFail(a, b onFail) int {
	rank := func(x onFail) int {
		switch x {
		case failIgnore:
			return 0
		case failDemote:
			return 1
		case failRecover:
			return 2
		case failResetRemote:
			return 3
		case failRestartContainer:
			return 4
		case failMigrate:
			return 5
		case failBlock:
			return 6
		case failStop:
			return 7
		case failStandby:
			return 8
		case failFence:
			return 9
		}
		return 0
	}
	return rank(a) - rank(b)
}

func (c *cluster) unpackRscOp(r *Resource, n *Node, op *lrmOp, lastFailure **lrmOp, fail *onFail) {
	task := op.Task
	if task == "notify" || task == "meta-data" {
		return
	}
	rc, status, target := op.RC, op.Status, op.TargetRC
	parent := r
	if !r.Unique {
		parent = r.uberParent()
	}
	expired := false
	if status != execNotInstalled && c.checkOpExpiry(r, n, rc, op) {
		expired = true
	}
	oldRC := rc
	maskable := op.isProbe() && rc != 0 && rc != 7 && rc != 8 && false
	_ = maskable
	c.remapOp(op, r, n, fail, target, &rc, &status)
	if expired && rc != target {
		if op.Interval == 0 {
			return
		} else if n.Online && !n.Unclean {
			op.XML.CreateAttr("op-restart-digest", "calculated-failure-timeout")
			return
		}
	}
	_ = oldRC
	switch status {
	case execCancelled:
		return
	case execPending:
		if task == "start" {
			r.StartPending = true
			r.setActive()
		} else if task == "promote" {
			r.Role = RolePromoted
		}
		if r.PendingTask == "" && (op.Interval != 0 || task != "monitor") {
			r.PendingTask = task
			r.pendingNode = n
		}
		return
	case execDone:
		c.updateRscState(r, n, op, task, rc, *lastFailure, fail)
		return
	case execNotInstalled:
		fs := c.opOnFail(r, task, op.Interval)
		if fs == failIgnore {
			*fail = failMigrate
		}
		c.ban(parent, n, "hard-error")
		c.unpackOpFailure(r, n, rc, op, lastFailure, fail)
		return
	case execNoFenceDevice, execNoSecrets:
		status = execErrorHard
	}
	fs := c.opOnFail(r, task, op.Interval)
	if fs == failIgnore {
		c.updateRscState(r, n, op, task, target, *lastFailure, fail)
		r.FailureIgnored = true
		return
	}
	c.unpackOpFailure(r, n, rc, op, lastFailure, fail)
	if status == execErrorHard {
		level := "error"
		if rc == 5 {
			level = "notice"
		}
		reason := attr(op.XML, "exit-reason")
		sep := ""
		if reason != "" {
			sep = ": "
		}
		c.logAt("unpack_rsc_op", "unpack.c", 4165, level,
			"Preventing %s from restarting on %s because of hard failure (%s%s%s)| rc=%d id=%s",
			parent.ID, n.Uname, OCFExitText(rc), sep, reason, rc, attr(op.XML, "id"))
		c.ban(parent, n, "hard-error")
	} else if status == execErrorFatal {
		for _, nn := range c.nodes {
			c.ban(parent, nn, "fatal-error")
		}
	}
}

// ban sets a -INFINITY preference (resource_location with -INFINITY).
func (c *cluster) ban(r *Resource, n *Node, why string) {
	r.walk(func(x *Resource) {
		x.Allowed[n] = -Infinity
	})
}

func (c *cluster) remapOp(op *lrmOp, r *Resource, n *Node, fail *onFail, target int, rc, status *int) {
	if op.Task == "monitor" {
		// degraded codes count as their healthy equivalents (pcmk__effective_rc)
		if *rc == 190 {
			*rc = 0
		} else if *rc == 191 {
			*rc = 8
		}
	}
	if *status != execDone && *status != execError {
		return
	}
	*status = execDone
	isProbe := op.isProbe()
	if target < 0 {
		*status = execError
	} else if target != *rc {
		*status = execError
	}
	switch *rc {
	case 0:
		if isProbe && target == 7 {
			*status = execDone
		}
	case 7:
		if isProbe || target == *rc || !r.Managed {
			*status = execDone
			r.Role = RoleStopped
			*fail = failIgnore
			r.NextRole = RoleUnknown
		}
	case 8:
		if isProbe && *rc != target {
			*status = execDone
		}
		r.Role = RolePromoted
	case 9:
		r.Role = RolePromoted
		*status = execError
	case 6:
		*status = execErrorFatal
	case 3:
		if op.Interval == 0 {
			c.checkRecoverable(r, n, op.Task)
			*status = execErrorHard
		} else {
			*status = execNotSupported
		}
	case 5, 2, 4:
		c.checkRecoverable(r, n, op.Task)
		*status = execErrorHard
	default:
		if *status == execDone {
			*status = execError
		}
	}
}

func (c *cluster) checkRecoverable(r *Resource, n *Node, task string) {
	if task != "stop" {
		return
	}
	if c.canFence(n) {
		return
	}
	r.Managed = false
	r.Block = true
}

// canFence is pe_can_fence.
func (c *cluster) canFence(n *Node) bool {
	if n.isGuest() {
		for _, h := range n.RemoteRsc.Container.RunningOn {
			if !h.Online && !c.canFence(h) {
				return false
			}
		}
		return true
	}
	if !c.stonithEnabled || !c.haveStonithResource {
		return false
	}
	if c.haveQuorum || c.noQuorumPolicy == "ignore" {
		return true
	}
	return n != nil && n.Online
}

func (c *cluster) updateRscState(r *Resource, n *Node, op *lrmOp, task string, rc int, lastFailure *lrmOp, fail *onFail) {
	clear := false
	switch {
	case rc == 5:
		r.Role = RoleStopped
	case rc == 7:
		clear = true
	case task == "monitor":
		if lastFailure != nil && opKey(lastFailure) == opKey(op) {
			clear = true
		}
		if r.Role < RoleStarted {
			r.setActive()
		}
	case task == "start":
		r.Role = RoleStarted
		clear = true
	case task == "stop":
		r.Role = RoleStopped
		clear = true
	case task == "promote":
		r.Role = RolePromoted
		clear = true
	case task == "demote":
		if *fail == failDemote {
			clear = true
		}
		r.Role = RoleUnpromoted
	case task == "migrate_from":
		r.Role = RoleStarted
		clear = true
	case task == "migrate_to":
		c.migrateToSuccessFull(r, n, op)
	default:
		if r.Role < RoleStarted {
			r.setActive()
		}
	}
	if clear {
		switch *fail {
		case failStop, failFence, failMigrate, failStandby:
		case failResetRemote:
			// without a reconnect interval the connection may start again
			// once the node is fenced; with one, only when the failure
			// has expired
			if r.ReconnectMs == 0 {
				*fail = failIgnore
				r.NextRole = RoleUnknown
			}
		default:
			*fail = failIgnore
			r.NextRole = RoleUnknown
		}
	}
}

func opKey(o *lrmOp) string {
	return o.Task + "_" + strconv.Itoa(o.Interval)
}

// migrateToSuccess handles a completed migrate_to on the source: the
// resource is stopped here only if a later stop or a migrate_from on the
// target says so; otherwise the migration is partial.
func (c *cluster) migrateToSuccess(r *Resource, n *Node, op *lrmOp) {
	target := c.nodeByName[op.MigrateTarget]
	if target == nil {
		r.Role = RoleStarted
		return
	}
	// Look at the target's history for migrate_from.
	r.Role = RoleStarted
	if r.PartialMigSource == nil {
		r.PartialMigSource = n
		r.PartialMigTarget = target
	}
}

func (c *cluster) unpackOpFailure(r *Resource, n *Node, rc int, op *lrmOp, lastFailure **lrmOp, fail *onFail) {
	*lastFailure = op
	task := op.Task
	isProbe := op.isProbe()
	c.recordFailedOp(r, n, op)
	a := c.opOnFail(r, task, op.Interval)
	failRole := c.opFailRole(r, task, op.Interval)
	if cmpOnFail(*fail, a) < 0 {
		*fail = a
	}
	switch task {
	case "stop":
		c.ban(r, n, "__stop_fail__")
	case "migrate_to":
		c.migrateToFailure(r, n, op)
	case "migrate_from":
		c.migrateFromFailure(r, n, op)
	case "promote":
		r.Role = RolePromoted
	case "demote":
		if a == failBlock {
			r.Role = RolePromoted
			r.NextRole = RoleStopped
		} else if rc == 7 {
			r.Role = RoleStopped
		} else {
			r.Role = RoleUnpromoted
		}
	}
	if isProbe && rc == 5 {
		r.Role = RoleStopped
	} else if r.Role < RoleStarted {
		r.setActive()
	}
	if failRole != RoleStarted && r.NextRole < failRole {
		r.NextRole = failRole
	}
	if failRole == RoleStopped {
		fr := r
		if r.Parent != nil {
			if t := r.top(); t.Kind == KindClone && !t.Unique {
				fr = t
			}
		}
		for _, nn := range c.nodes {
			fr.walk(func(x *Resource) { x.Allowed[nn] = -Infinity })
		}
	}
}

func (c *cluster) recordFailedOp(r *Resource, n *Node, op *lrmOp) {}

// opOnFail computes the failure response configured for an op
// (unpack_operation's on-fail handling).
func (c *cluster) opOnFail(r *Resource, task string, interval int) onFail {
	od := r.findOp(task, interval)
	v := ""
	if od != nil {
		v = attr(od.XML, "on-fail")
		if v == "" {
			m := map[string]string{}
			c.unpackNVSets(od.XML, "meta_attributes", nil, m, false)
			v = m["on-fail"]
		}
	}
	if v == "" {
		m := map[string]string{}
		c.unpackNVSetsCtx(c.opDefaults, "meta_attributes", ruleCtx{rsc: r, opName: task, opInterval: interval, hasOp: true}, m, false)
		v = m["on-fail"]
	}
	if task == "stop" && (v == "standby" || v == "demote" || v == "stop") {
		v = ""
	}
	if task == "demote" && v == "" {
		for _, o := range r.Ops {
			of := attr(o.XML, "on-fail")
			if of == "" || !o.Enabled || o.Name != "monitor" || (o.Role != RolePromoted) || o.Interval == 0 || of == "demote" {
				continue
			}
			v = of
			break
		}
	}
	if v == "demote" {
		if !(task == "promote" || (task == "monitor" && interval > 0 && od != nil && od.Role == RolePromoted)) {
			v = ""
		}
	}
	remoteConn := r.isRemoteConn() && r.Meta["container"] == "" && c.nodeByName[r.ID] != nil &&
		!(task == "monitor" && interval == 0) && task != "start"
	if remoteConn && !r.Managed {
		// an unmanaged connection is only ever stopped
		return failStop
	}
	switch strings.ToLower(v) {
	case "block":
		return failBlock
	case "fence":
		if !c.stonithEnabled {
			return failStop
		}
		return failFence
	case "standby":
		return failStandby
	case "ignore", "nothing":
		return failIgnore
	case "migrate":
		return failMigrate
	case "stop":
		return failStop
	case "restart":
		return failRecover
	case "demote":
		return failDemote
	}
	// Dropping an active connection to a Pacemaker Remote node fences the
	// node; only probes and starts are exempt (unpack_operation).
	if remoteConn {
		return failResetRemote
	}
	if task == "stop" {
		if c.stonithEnabled {
			return failFence
		}
		return failBlock
	}
	return failRecover
}

func (c *cluster) opFailRole(r *Resource, task string, interval int) Role {
	switch c.opOnFail(r, task, interval) {
	case failStop:
		return RoleStopped
	case failResetRemote:
		// with a reconnect interval the connection waits, stopped, for
		// its failure to expire
		if r.ReconnectMs > 0 {
			return RoleStopped
		}
	}
	if task == "promote" {
		return RoleUnpromoted
	}
	return RoleStarted
}

// processRscState applies the outcome of a resource's history on a node
// (process_rsc_state).
func (c *cluster) processRscState(r *Resource, n *Node, fail onFail) {
	if r.Role != RoleUnknown {
		for it := r; it != nil; it = it.Parent {
			it.KnownOn[n] = true
			if it.Unique && it != r {
				break
			}
			if it.Unique {
				break
			}
		}
	}
	if r.Role > RoleStopped && !n.Online && !n.Maintenance && r.Managed {
		if n.isGuest() {
			r.Failed = true
			r.StopFlag = true
			c.fenceNode(n, r.ID+" is thought to be active there")
		} else if c.stonithEnabled {
			reason := r.ID + " is thought to be active there"
			if n.isRemote() && n.RemoteRsc != nil && !n.RemoteRsc.Failed {
				n.Unseen = true
				reason = r.ID + " is active there (fencing will be revoked if remote connection can be re-established elsewhere)"
			}
			c.fenceNode(n, reason)
		}
	}
	saveFail := fail
	if n.Unclean {
		fail = failIgnore
	}
	switch fail {
	case failDemote:
		r.Failed = true
		c.demoteAction(r, n, false)
	case failFence:
		c.fenceNode(n, r.ID+" failed there")
	case failStandby:
		n.Standby = true
		n.StandbyOnFail = true
	case failBlock:
		r.Managed = false
		r.Block = true
	case failMigrate:
		c.ban(r, n, "__action_migration_auto__")
	case failStop:
		r.NextRole = RoleStopped
	case failRecover:
		if r.Role != RoleStopped && r.Role != RoleUnknown {
			r.Failed = true
			r.StopFlag = true
			c.stopAction(r, n, false)
		}
	case failResetRemote:
		r.Failed = true
		r.StopFlag = true
		if c.stonithEnabled {
			if rn := c.nodeByName[r.ID]; rn != nil && rn.isRemote() && !rn.isGuest() && !rn.RemoteWasFenced {
				c.fenceNode(rn, "remote connection is unrecoverable")
			}
		}
		if r.Role > RoleStopped {
			c.stopAction(r, n, false)
		}
		if r.ReconnectMs > 0 {
			// stay stopped until the reconnect interval clears the failure
			r.NextRole = RoleStopped
		}
	}
	// A failed connection makes an unclean remote node's fencing certain,
	// whether or not it reconnects in this transition.
	if r.Failed && r.isRemoteConn() {
		if rn := c.nodeByName[r.ID]; rn != nil && rn.Unclean {
			rn.Unseen = false
		}
	}
	if r.Role != RoleStopped && r.Role != RoleUnknown {
		c.addRunning(r, n, saveFail != failIgnore)
		switch fail {
		case failIgnore:
		case failDemote, failBlock:
			r.Failed = true
		default:
			r.Failed = true
			r.StopFlag = true
		}
	} else if strings.Contains(r.CloneName, ":") && !r.Unique {
		r.CloneName = ""
	} else {
		for _, a := range r.actionsFor(n, "stop", true) {
			a.set(aOptional)
		}
	}
	if r.Role == RoleStopped && r.PartialMigSource == n && r.PartialMigTarget != nil && len(r.RunningOn) > 0 {
		r.Role = RoleStarted
	}
}

// addRunning records that r is active on n (native_add_running).
func (c *cluster) addRunning(r *Resource, n *Node, failed bool) {
	for _, x := range r.RunningOn {
		if x == n {
			return
		}
	}
	r.RunningOn = append(r.RunningOn, n)
	if r.Kind == KindPrimitive {
		n.Running = append(n.Running, r)
		if n.Maintenance {
			r.Managed = false
		}
	}
	if !r.Managed {
		// an unmanaged resource stays where it is
		c.resourceLocation(r, n, Infinity)
		for p := r.Parent; p != nil && n.Online; p = p.Parent {
			p.RunningOn = append(p.RunningOn, n)
		}
		return
	}
	if len(r.RunningOn) > 1 && r.Kind == KindPrimitive {
		switch r.MultipleActive {
		case "stop_only":
			for _, nn := range c.nodes {
				r.Allowed[nn] = -Infinity
			}
		case "block":
			r.Managed = false
			r.Block = true
			if p := r.Parent; p != nil && p.Kind == KindGroup && p.MultipleActive == "block" {
				for _, ch := range p.Children {
					ch.Managed = false
					ch.Block = true
				}
			}
		}
	}
	if r.Parent != nil {
		c.addRunning(r.Parent, n, false)
	}
}

// failCount returns the fail count of r on n (pe_get_failcount); effective
// leaves out fail counts whose failure-timeout has passed. op is the history
// entry being unpacked, if any: it decides, with the configured ops, whether
// the failure blocks the resource (see blockFailure).
func (c *cluster) failCount(r *Resource, n *Node, effective bool, op *lrmOp) (int, int64) {
	name := r.XMLID
	if r.Unique && r.cloneParent() != nil {
		name = r.ID
	}
	total := 0
	var last int64
	for k, v := range n.Attrs {
		var rest string
		switch {
		case strings.HasPrefix(k, "fail-count-"):
			rest = k[len("fail-count-"):]
		default:
			continue
		}
		if rest != name && !strings.HasPrefix(rest, name+"#") {
			// older style per-instance names
			if !(strings.HasPrefix(rest, name+":") && !r.Unique) {
				continue
			}
		}
		total = addScore(total, parseScore(v, nil))
	}
	for k, v := range n.Attrs {
		if !strings.HasPrefix(k, "last-failure-") {
			continue
		}
		rest := k[len("last-failure-"):]
		if rest != name && !strings.HasPrefix(rest, name+"#") && !(strings.HasPrefix(rest, name+":") && !r.Unique) {
			continue
		}
		if t, err := strconv.ParseInt(v, 10, 64); err == nil && t > last {
			last = t
		}
	}
	if total > 0 && r.FailureTimeout > 0 && c.blockFailure(r, n, op) {
		// A failure that blocks the resource must stay visible: Pacemaker
		// drops the resource's failure-timeout for the rest of the run
		// ("Ignoring failure timeout ... conflicts with on-fail=block").
		c.warnf("Ignoring failure timeout %d for %s because it conflicts with on-fail=block", r.FailureTimeout, r.ID)
		r.FailureTimeout = 0
	}
	if effective && total > 0 && r.FailureTimeout > 0 && last > 0 {
		if c.now.Unix() >= last+int64(r.FailureTimeout) {
			total = 0
		}
	}
	return total, last
}

// blockFailure reports whether a failure of r on n is one that an op
// configured with a literal on-fail="block" covers (failcounts.c
// block_failure). Like Pacemaker it looks only at the <op> elements'
// on-fail attribute, not at op meta-attributes or op_defaults. With op set,
// that history entry is matched; without, every entry of the resource's
// history on n with the configured op's name and interval.
func (c *cluster) blockFailure(r *Resource, n *Node, op *lrmOp) bool {
	name := r.XMLID
	for _, def := range r.Ops {
		if def.XML == nil || attr(def.XML, "on-fail") != "block" {
			continue
		}
		if op != nil {
			if isMatchedFailure(name, def, op) {
				return true
			}
			continue
		}
		hist, _ := c.lrmOps(name, n.Uname)
		for _, h := range hist {
			if h.Task == def.Name && h.Interval == def.Interval && isMatchedFailure(name, def, h) {
				return true
			}
		}
	}
	return false
}

// isMatchedFailure reports whether history entry op is a failure of the
// configured op def (failcounts.c is_matched_failure): same name and
// interval, and either the resource's last_failure entry or the op's own
// entry with an unexpected result.
func isMatchedFailure(rscID string, def *OpDef, op *lrmOp) bool {
	if def.Interval != op.Interval || !strings.EqualFold(def.Name, op.Task) {
		return false
	}
	if strings.EqualFold(op.ID, opKeyFor(rscID, "last_failure", 0)) {
		return true
	}
	return strings.EqualFold(op.ID, opKeyFor(rscID, def.Name, def.Interval)) && op.RC != op.TargetRC
}

// checkOpExpiry reports whether a failed history entry has expired through
// failure-timeout, scheduling a fail-count clear when appropriate.
func (c *cluster) checkOpExpiry(r *Resource, n *Node, rc int, op *lrmOp) bool {
	expired := false
	isLastFailure := strings.HasSuffix(op.ID, "_last_failure_0")
	if r.FailureTimeout > 0 && op.LastChange > 0 {
		if c.now.Unix() >= op.LastChange+int64(r.FailureTimeout) && !c.keepRemoteMonitorFailure(r, op) {
			expired = true
		}
	}
	unexpired, _ := c.failCount(r, n, true, op)
	clearReason := ""
	if expired {
		if fc, _ := c.failCount(r, n, false, op); fc > 0 {
			if unexpired == 0 {
				clearReason = "it expired"
			} else {
				expired = false
			}
		} else if isLastFailure && r.ReconnectMs > 0 {
			clearReason = "reconnect interval is set"
		}
	}
	if !expired && isLastFailure && (op.Task == "start" || op.Task == "monitor") {
		// should_clear_for_param_change: a failure recorded with other
		// parameters than now is cleared (digest, not sanitized)
		task := op.Task
		if op.Interval == 0 {
			task = "start"
		}
		switch c.digestCompare(r, n, op, task, false) {
		case digestMatch, digestUnknown:
		default:
			clearReason = "resource parameters have changed"
		}
	}
	if clearReason != "" {
		clear := c.clearFailcount(r, n, clearReason)
		if c.stonithEnabled && r.ReconnectMs > 0 {
			// clear the connection's failure only once any scheduled
			// fencing of its node is done (order_after_remote_fencing)
			if rn := c.nodeByName[r.ID]; rn != nil {
				orderActions(c.fenceOp(rn, "", true, ""), clear, orderImpliesThen)
			}
		}
	}
	if expired && op.Interval == 0 && op.Task == "monitor" {
		switch rc {
		case 0, 7, 8, 190, 191:
			expired = false
		}
	}
	return expired
}

// keepRemoteMonitorFailure is should_ignore_failure_timeout: a recurring
// monitor failure of a remote connection with a reconnect interval is not
// expired until the remote node has been fenced, because the executor
// reports only changes of a monitor's result.
func (c *cluster) keepRemoteMonitorFailure(r *Resource, op *lrmOp) bool {
	if r.ReconnectMs == 0 || !c.stonithEnabled || op.Interval == 0 || op.Task != "monitor" {
		return false
	}
	rn := c.nodeByName[r.ID]
	return rn != nil && !rn.RemoteWasFenced
}

// calculateActiveOps finds the indexes of the last start and stop in a
// sorted history (calculate_active_ops).
func calculateActiveOps(ops []*lrmOp) (start, stop int) {
	start, stop = -1, -1
	impliedMonitor, impliedClone := -1, -1
	for i, op := range ops {
		switch {
		case op.Task == "stop" && op.Status == 0:
			stop = i
		case op.Task == "start" || op.Task == "migrate_from":
			start = i
		case impliedMonitor <= stop && op.Task == "monitor":
			if op.RC == 0 || op.RC == 8 {
				impliedMonitor = i
			}
		case op.Task == "promote" || op.Task == "demote":
			impliedClone = i
		}
	}
	if start == -1 {
		if impliedClone != -1 {
			start = impliedClone
		} else if impliedMonitor != -1 {
			start = impliedMonitor
		}
	}
	return
}

// processRecurring records active recurring monitors as optional actions,
// so that scheduling them again is a no-op (process_recurring).
func (c *cluster) processRecurring(n *Node, r *Resource, start, stop int, ops []*lrmOp) {
	for i, op := range ops {
		if !n.Online {
			return
		}
		if start < stop && i <= stop {
			continue
		}
		if i < start {
			continue
		}
		if op.Interval == 0 || op.Status == execPending {
			continue
		}
		c.newAction(r, opKeyFor(r.ID, op.Task, op.Interval), op.Task, n, true)
	}
}
