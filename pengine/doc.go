// Package pengine is the policy engine (Pacemaker's scheduler): a pure
// function from a CIB — configuration plus recorded status — and an
// effective "now" to a transition graph, the Transition Summary lines and
// the placement scores. It never reads the clock or the disk; rules, nvpair
// blocks and dates are evaluated by ringmaster/pengine/rules.
//
//	res, err := pengine.Schedule(doc, now, pengine.Options{})
//	res.Graph     // <transition_graph> as Pacemaker 2.1.5 writes it
//	res.Summary   // "  * Move  rsc  ( node1 -> node2 )" lines
//	res.Scores    // allocation/promotion scores (Options.ShowScores)
//
// The pipeline follows Pacemaker 2.1.5's pcmk__schedule_actions, one file
// per stage or concept:
//
//	unpack.go        cluster options, nodes; resources.go: primitives,
//	                 groups, clones (instances), templates, meta/params
//	status.go        node_state → online/unclean/standby; lrm history →
//	                 role, failures, on-fail, fail-counts, failure-timeout
//	                 (migration_unpack.go: partial/dangling migrations)
//	remote.go        Pacemaker Remote nodes; guest.go: guest nodes;
//	                 bundle.go: bundles (replicas, their implicit container,
//	                 ip and connection resources, guest nodes)
//	constraints.go   rsc_location (rules, rsc-pattern, roles, discovery),
//	                 rsc_colocation, rsc_order (+ sets, clone-min), rsc_ticket
//	config_changes.go parameter digests → reload/restart, orphan clean-up
//	assign.go        location/stickiness/threshold criteria, placement with
//	                 colocations (clone.go: instance distribution and
//	                 promotion; utilization.go: placement strategies, health)
//	create.go        start/stop/promote/demote from the role matrices,
//	                 recurring ops, probes, implicit orderings;
//	                 migration.go: migrate_to/migrate_from; notif.go: clone
//	                 notifications; fencing.go: fencing and shutdowns
//	propagate.go     orderings resolved to action edges, then flags
//	                 (optional/runnable/...) propagated along them
//	                 (pcmk__update_action_for_orderings, interleave)
//	graph.go         required runnable actions become synapses;
//	                 summary.go: the Transition Summary (rsc_action_default)
//
// Actions are indexed per resource by key (find_existing_action's
// semantics, including the placement of not-yet-placed actions), so the
// work grows with the number of actions and orderings, not their square.
//
// The conformance test runs Pacemaker's own scheduler regression cases
// (shared/conformance/scheduler) in-process and keeps the pass counts at or
// above testdata/conformance-floor.txt.
package pengine
