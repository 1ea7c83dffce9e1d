package pengine

import (
	"sort"
	"strings"
)

// notifyData holds one clone notification round (notify_data_t,
// lib/pengine/pe_notif.c).
type notifyData struct {
	action                       string
	pre, preDone, post, postDone *Action
	start, stop, promote, demote []notifyEntry
	active, inactive             []notifyEntry
	promoted, unpromoted         []notifyEntry
	keys                         map[string]string
}

type notifyEntry struct {
	rsc  *Resource
	node *Node
}

func notifyKey(rscID, typ, op string) string {
	return rscID + "_" + typ + "_notify_" + op + "_0"
}

func (c *cluster) newNotifyPseudo(r *Resource, action *Action, task, typ string) *Action {
	a := c.newAction(r, notifyKey(r.ID, typ, action.Task), task, nil, action.has(aOptional))
	a.set(aPseudo)
	a.Meta["notify_key_type"] = typ
	a.Meta["notify_key_operation"] = action.Task
	return a
}

// cloneNotifPseudoOps creates the pre/post pseudo-actions of a
// notification round (pe__clone_notif_pseudo_ops).
func (c *cluster) cloneNotifPseudoOps(r *Resource, task string, action, complete *Action) *notifyData {
	if !r.Notify {
		return nil
	}
	n := &notifyData{action: task, keys: map[string]string{}}
	if action != nil {
		n.pre = c.newNotifyPseudo(r, action, "notify", "pre")
		n.pre.set(aRunnable)
		n.pre.Meta["notify_type"] = "pre"
		n.pre.Meta["notify_operation"] = task
		n.preDone = c.newNotifyPseudo(r, action, "notified", "confirmed-pre")
		n.preDone.set(aRunnable)
		n.preDone.Meta["notify_type"] = "pre"
		n.preDone.Meta["notify_operation"] = task
		orderActions(n.pre, n.preDone, orderOptional)
		orderActions(n.preDone, action, orderOptional)
	}
	if complete != nil {
		n.post = c.newNotifyPseudo(r, complete, "notify", "post")
		n.post.Priority = Infinity
		n.postDone = c.newNotifyPseudo(r, complete, "notified", "confirmed-post")
		n.postDone.Priority = Infinity
		for _, a := range []*Action{n.post, n.postDone} {
			if complete.has(aRunnable) {
				a.set(aRunnable)
			} else {
				a.clear(aRunnable)
			}
			a.Meta["notify_type"] = "post"
			a.Meta["notify_operation"] = task
		}
		orderActions(complete, n.post, orderImpliesThen)
		orderActions(n.post, n.postDone, orderImpliesThen)
	}
	if action != nil && complete != nil {
		orderActions(n.preDone, n.post, orderOptional)
	}
	return n
}

func (c *cluster) collectNotifyData(r *Resource, activity bool, n *notifyData) {
	if len(r.Children) > 0 {
		for _, ch := range r.Children {
			c.collectNotifyData(ch, activity, n)
		}
		return
	}
	var node *Node
	if len(r.RunningOn) > 0 {
		node = r.RunningOn[0]
	}
	e := notifyEntry{r, node}
	switch r.Role {
	case RoleStopped:
		n.inactive = append(n.inactive, e)
	case RoleStarted:
		n.active = append(n.active, e)
	case RoleUnpromoted:
		n.unpromoted = append(n.unpromoted, e)
		n.active = append(n.active, e)
	case RolePromoted:
		n.promoted = append(n.promoted, e)
		n.active = append(n.active, e)
	}
	if !activity {
		return
	}
	for _, op := range r.Actions {
		if op.has(aOptional) || op.Node == nil {
			continue
		}
		if !(op.Task == "stop" && op.Node.Unclean) && !op.has(aRunnable) {
			continue
		}
		e := notifyEntry{r, op.Node}
		switch op.Task {
		case "start":
			n.start = append(n.start, e)
		case "stop":
			n.stop = append(n.stop, e)
		case "promote":
			n.promote = append(n.promote, e)
		case "demote":
			n.demote = append(n.demote, e)
		}
	}
}

func entryStrings(list []notifyEntry) (string, string) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].rsc.ID != list[j].rsc.ID {
			return list[i].rsc.ID < list[j].rsc.ID
		}
		return uname(list[i].node) < uname(list[j].node)
	})
	var rs, ns []string
	for _, e := range list {
		rs = append(rs, e.rsc.ID)
		if e.node != nil {
			ns = append(ns, e.node.Uname)
		}
	}
	return strings.Join(rs, " ") + " ", strings.Join(ns, " ") + " "
}

func (c *cluster) addNotifKeys(r *Resource, n *notifyData) {
	required := false
	set := func(name string, list []notifyEntry) {
		rs, ns := entryStrings(list)
		n.keys["notify_"+name+"_resource"] = rs
		n.keys["notify_"+name+"_uname"] = ns
	}
	if len(n.stop) > 0 && n.action == "stop" {
		required = true
	}
	set("stop", n.stop)
	if len(n.start) > 0 && n.action == "start" {
		required = true
	}
	set("start", n.start)
	if len(n.demote) > 0 && n.action == "demote" {
		required = true
	}
	set("demote", n.demote)
	if len(n.promote) > 0 && n.action == "promote" {
		required = true
	}
	set("promote", n.promote)
	set("active", n.active)
	set("unpromoted", n.unpromoted)
	set("slave", n.unpromoted)
	set("promoted", n.promoted)
	set("master", n.promoted)
	rs, _ := entryStrings(n.inactive)
	n.keys["notify_inactive_resource"] = rs
	var avail, all []string
	for nd := range r.Allowed {
		avail = append(avail, nd.Uname)
	}
	sort.Strings(avail)
	for _, nd := range c.nodes {
		all = append(all, nd.Uname)
	}
	sort.Strings(all)
	n.keys["notify_available_uname"] = strings.Join(avail, " ") + " "
	n.keys["notify_all_uname"] = strings.Join(all, " ") + " "
	if required && n.pre != nil {
		n.pre.clear(aOptional)
		n.preDone.clear(aOptional)
	}
	if required && n.post != nil {
		n.post.clear(aOptional)
		n.postDone.clear(aOptional)
	}
}

func (c *cluster) newNotifyAction(r *Resource, node *Node, op, done *Action, n *notifyData) *Action {
	if op == nil || done == nil || !node.Online || !op.has(aRunnable) {
		return nil
	}
	typ, task := op.Meta["notify_type"], op.Meta["notify_operation"]
	a := c.newAction(r, notifyKey(r.ID, typ, task), op.Task, node, op.has(aOptional))
	for k, v := range op.Meta {
		if _, ok := a.Meta[k]; !ok {
			a.Meta[k] = v
		}
	}
	for k, v := range n.keys {
		a.Meta[k] = v
	}
	orderActions(op, a, orderOptional)
	orderActions(a, done, orderOptional)
	return a
}

func (c *cluster) newPostNotifyAction(r *Resource, node *Node, n *notifyData) {
	if a := c.newNotifyAction(r, node, n.post, n.postDone, n); a != nil {
		a.Priority = Infinity
	}
	if n.postDone == nil {
		return
	}
	for _, mon := range r.Actions {
		if mon.Interval == 0 || mon.Task == "cancel" {
			continue
		}
		orderActions(n.postDone, mon, orderOptional)
	}
}

func (c *cluster) createNotifyActions(r *Resource, n *notifyData) {
	if len(r.Children) > 0 {
		for _, ch := range r.Children {
			c.createNotifyActions(ch, n)
		}
		return
	}
	for _, op := range r.Actions {
		if op.has(aOptional) || op.Node == nil {
			continue
		}
		switch op.Task {
		case "start", "stop", "promote", "demote":
			for k, v := range n.keys {
				if _, ok := op.Meta[k]; !ok {
					op.Meta[k] = v
				}
			}
		}
	}
	switch n.action {
	case "start":
		if len(n.start) == 0 {
			return
		}
	case "promote":
		if len(n.promote) == 0 {
			return
		}
	case "demote":
		if len(n.demote) == 0 {
			return
		}
	}
	if r.Role != RoleStopped && (n.action == "stop" || n.action == "demote") {
		stop := r.firstAction("stop", nil)
		for _, cur := range r.RunningOn {
			if stop != nil && stop.has(aPseudo) && cur.Unclean {
				continue
			}
			c.newNotifyAction(r, cur, n.pre, n.preDone, n)
			if n.action == "demote" || stop == nil || stop.has(aOptional) {
				c.newPostNotifyAction(r, cur, n)
			}
		}
	}
	if r.NextRole != RoleStopped && (n.action == "start" || n.action == "promote") {
		start := r.firstAction("start", nil)
		if r.AllocatedTo == nil {
			return
		}
		if n.action != "start" || start == nil || start.has(aOptional) {
			c.newNotifyAction(r, r.AllocatedTo, n.pre, n.preDone, n)
		}
		c.newPostNotifyAction(r, r.AllocatedTo, n)
	}
}

func (c *cluster) createNotifications(r *Resource, n *notifyData) {
	if n == nil {
		return
	}
	c.collectNotifyData(r, true, n)
	c.addNotifKeys(r, n)
	c.createNotifyActions(r, n)
}

// orderNotifsAfterFencing notifies the clone after fencing implied a stop
// (pe__order_notifs_after_fencing).
func (c *cluster) orderNotifsAfterFencing(stop *Action, r *Resource, f *Action) {
	n := c.cloneNotifPseudoOps(r, "stop", nil, f)
	if n == nil {
		return
	}
	c.collectNotifyData(r, false, n)
	n.keys["notify_stop_resource"] = r.ID
	n.keys["notify_stop_uname"] = stop.Node.Uname
	c.createNotifyActions(r.top(), n)
}
