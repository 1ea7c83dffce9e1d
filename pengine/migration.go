package pengine

// Live migration (pcmk_sched_migration.c).

const orderApplyFirstNonMigratable = 1 << 26

func (c *cluster) canMigrate(r *Resource, current *Node) bool {
	return r.AllowMigrate && r.Managed && !r.Failed && !r.StartPending &&
		current != nil && !current.Unclean && r.AllocatedTo != nil && !r.AllocatedTo.Unclean
}

// createMigrationActions schedules migrate_to/migrate_from in place of a
// stop/start pair (pcmk__create_migration_actions).
func (c *cluster) createMigrationActions(r *Resource, current *Node) {
	start := c.startAction(r, r.AllocatedTo, true)
	stop := c.stopAction(r, current, true)
	var to *Action
	if r.PartialMigTarget == nil {
		to = c.newAction(r, opKeyFor(r.ID, "migrate_to", 0), "migrate_to", current, true)
	}
	from := c.newAction(r, opKeyFor(r.ID, "migrate_from", 0), "migrate_from", r.AllocatedTo, true)
	if to != nil || r.PartialMigTarget != nil {
		start.set(aMigrateRunnable | aPseudo)
		stop.set(aMigrateRunnable)
		if r.PartialMigTarget == nil {
			from.set(aMigrateRunnable)
			to.set(aMigrateRunnable)
			to.Needs = start.Needs
			c.orderRsc(r, "monitor", r, "migrate_to", orderOptional)
			c.orderRsc(r, "migrate_to", r, "migrate_from", orderOptional|orderImpliesFirstMigratable)
		} else {
			from.set(aMigrateRunnable)
			from.Needs = start.Needs
			c.orderRsc(r, "monitor", r, "migrate_from", orderOptional)
		}
		c.orderRsc(r, "migrate_from", r, "stop", orderOptional|orderImpliesFirstMigratable)
		c.orderRsc(r, "migrate_from", r, "start", orderOptional|orderImpliesFirstMigratable|orderPseudoLeft)
	}
	for _, a := range []*Action{to, from} {
		if a == nil {
			continue
		}
		a.Meta["migrate_source"] = current.Uname
		a.Meta["migrate_target"] = r.AllocatedTo.Uname
	}
	if to != nil && !r.isRemoteConn() {
		to.Meta["record-pending"] = "true"
	}
}

func (r *Resource) isRemoteConn() bool {
	return r.Class == "ocf" && r.Provider == "pacemaker" && r.Type == "remote"
}

// orderMigrationEquivalents mirrors orderings onto migration actions
// (pcmk__order_migration_equivalents).
func (c *cluster) orderMigrationEquivalents(o *Ordering) {
	f, t := o.FirstRsc, o.ThenRsc
	if f == nil || t == nil || f == t || isParent(f, t) || isParent(t, f) {
		return
	}
	fm, tm := f.AllowMigrate, t.AllowMigrate
	if !fm && !tm {
		return
	}
	taskOf := func(a *Action, key string) string {
		if a != nil {
			return a.Task
		}
		_, task, _, _ := parseOpKey(key)
		return task
	}
	ft, tt := taskOf(o.FirstAct, o.FirstTask), taskOf(o.ThenAct, o.ThenTask)
	switch {
	case ft == "start" && tt == "start":
		flags := orderOptional
		if fm && tm {
			c.orderRsc(f, "migrate_from", t, "migrate_to", flags)
		}
		if tm {
			if fm {
				flags |= orderApplyFirstNonMigratable
			}
			c.orderRsc(f, "start", t, "migrate_to", flags)
		}
	case tm && ft == "stop" && tt == "stop":
		flags := orderOptional
		if fm {
			flags |= orderApplyFirstNonMigratable
		}
		c.orderRsc(f, "stop", t, "migrate_to", flags)
		if t.PartialMigTarget != nil {
			c.orderRsc(f, "stop", t, "migrate_from", flags)
		}
	case ft == "promote" && tt == "start":
		if tm {
			c.orderRsc(f, "promote", t, "migrate_to", orderOptional)
		}
	case ft == "demote" && tt == "stop":
		if tm {
			c.orderRsc(f, "demote", t, "migrate_to", orderOptional)
			if t.PartialMigTarget != nil {
				c.orderRsc(f, "demote", t, "migrate_from", orderOptional)
			}
		}
	}
}
