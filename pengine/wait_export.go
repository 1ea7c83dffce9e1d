package pengine

import "strings"

// PendingAction is an action the cluster still has to carry out, as
// crm_resource --wait lists it.
type PendingAction struct {
	ID   int
	Key  string
	Node string // "" when the action has no node
}

// PendingActions are the actions action_is_pending counts (required,
// runnable, not pseudo, not notifications), newest first as upstream's
// prepended action list holds them, numbered from 1 as upstream numbers
// them: while there are any, the cluster has not settled.
func (res *Result) PendingActions() []PendingAction {
	if res == nil || res.c == nil {
		return nil
	}
	var out []PendingAction
	for _, a := range res.c.actions {
		if a.Flags&(aOptional|aPseudo) != 0 || a.Flags&aRunnable == 0 || strings.EqualFold(a.Task, "notify") {
			continue
		}
		p := PendingAction{ID: a.ID + 1, Key: a.Key}
		if a.Node != nil {
			p.Node = a.Node.Uname
		}
		out = append([]PendingAction{p}, out...)
	}
	return out
}
