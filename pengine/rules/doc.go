// Package rules evaluates Pacemaker rules and everything they are made of,
// with the semantics of Pacemaker 2.1.5:
//
//   - ISO 8601 date/times, durations and periods with upstream's parsing
//     and arithmetic (lib/common/iso8601.c): Time, Duration, Period,
//     ParseDateTime, ParseDuration, ParsePeriod, Time.Format;
//   - rules (lib/pengine/rules.c): Evaluate, EvaluateWithNext,
//     EvaluateRules, EvaluateDate, over a Context holding the node's
//     attributes, the resource, the operation, the role and "now";
//   - nvpair blocks (pe_unpack_nvpairs): UnpackNVPairs, SortedBlocks;
//   - scores (lib/common/scores.c): ParseScore, AddScores, ScoreString,
//     and a location rule's score, RuleScore;
//   - operation intervals (crm_parse_interval_spec): ParseInterval.
//
// The package is pure: it reads no clock and no environment. Where
// Pacemaker consults the process clock or time zone (a time of day without
// a date, a time without a zone, a period given only as a duration), the
// caller's "now" and its Location stand in for them.
//
// Pacemaker's answers are reproduced including their oddities, because a
// drop-in scheduler must decide what upstream decides; each oddity is named
// where it is implemented (for example: nvpair blocks of equal score apply
// in reverse document order, P1D counts as 0 seconds in an interval, a
// date_spec field such as "1,3,5" is ignored, a time zone offset must be
// preceded by a space). Where upstream has undefined behaviour (C integer
// overflow, an endless loop in compare_version) the result here is
// documented at that spot.
//
// # Using it as Pacemaker's scheduler does
//
// Pacemaker builds a pe_rule_eval_data_t for each purpose; the matching
// Context (Now is the effective time in every case) is:
//
//	cluster options        UnpackNVPairsFull(crm_config, "cluster_property_set", ctx{}, m,
//	                         NVPairOptions{AlwaysFirst: "cib-bootstrap-options"})
//	node attributes        ctx{} (no node: rules on node attributes fail), then AddSiteName
//	resource parameters    UnpackNVPairs(rsc, "instance_attributes", ctx{NodeAttrs: node}, m, false),
//	                         then the parent's, then rsc_defaults' (complex.c get_rsc_attributes)
//	resource meta          UnpackNVPairs(rsc, "meta_attributes", ctx{NodeAttrs: node or nil,
//	                         Rsc: agent}, m, false), then rsc_defaults (get_meta_attributes)
//	operation meta         op_defaults with ctx{Rsc: agent, Op: {task, interval}}, overwrite false;
//	                         then the op's own meta_attributes with overwrite true
//	utilization            UnpackNVPairs(x, "utilization", ctx{NodeAttrs: node}, m, false)
//	location rules         per node: Evaluate(rule, ctx{NodeAttrs: node, Params: rsc params on
//	                         that node, Meta: rsc meta, Regex: rsc-pattern match}) and, if true,
//	                         RuleScore(rule, node attribute lookup, Regex, health)
//
// The next-change times returned by EvaluateWithNext and UnpackNVPairsFull
// are what upstream feeds to the cluster-recheck time.
package rules
