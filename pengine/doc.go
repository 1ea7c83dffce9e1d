// Package pengine is the policy engine (Pacemaker's scheduler): a pure
// function from a CIB — configuration plus recorded status — and an
// effective "now" to a transition graph, the Transition Summary lines and
// the placement scores. It never reads the clock or the disk.
//
// The pipeline follows Pacemaker 2.1.5's pcmk__schedule_actions:
//
//	unpack      cluster options, nodes, resources, status (lrm history →
//	            role/location, failures, fail-counts), constraints
//	criteria    location scores, stickiness, migration-threshold bans
//	assign      resources to nodes in priority order, following colocations
//	actions     start/stop/promote/demote, probes, recurring monitors,
//	            fencing, shutdowns; implicit and configured orderings
//	propagate   ordering flags make actions required or unrunnable
//	            (pcmk__update_action_for_orderings)
//	graph       required runnable actions become synapses whose inputs are
//	            the orderings that survive (pcmk__create_graph)
//
// Actions are indexed by (resource, key, node) so that building the graph is
// linear in the number of actions and orderings, not quadratic.
package pengine
