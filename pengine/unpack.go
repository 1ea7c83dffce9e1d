package pengine

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ringmaster/pengine/rules"
)

// cluster is the working set of one scheduling run (pe_working_set_t).
type cluster struct {
	now    time.Time
	opts   Options
	cib    *etree.Element
	cfg    *etree.Element
	status *etree.Element

	config map[string]string

	stonithEnabled, symmetric, haveQuorum bool
	stopOrphans, stopOrphanActions        bool
	startFailureFatal, maintenanceMode    bool
	stopAll, concurrentFencing, probesOn  bool
	noQuorumPolicy                        string
	placementStrategy                     string
	stonithAction                         string
	haveStonithResource                   bool
	nodeHealth                            map[string]int

	nodes      []*Node
	nodeByID   map[string]*Node
	nodeByName map[string]*Node
	dc         *Node

	resources []*Resource // top level, sorted by priority
	rscByID   map[string]*Resource
	templates map[string]*etree.Element
	tags      map[string][]string

	rscDefaults, opDefaults *etree.Element

	colocations     []*Colocation
	orderings       []*Ordering
	actions         []*Action
	singletons      map[string][]*Action
	haveRemote      bool
	healthStrategy  string
	enableUnfencing bool
	lrmIdx          map[string]map[string][]*lrmOp
	actionID        int
	orderID         int

	scores   []string
	warnings []string
	logs     []LogLine
}

func (c *cluster) warnf(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// cluster option defaults (pe_cluster_option table in lib/pengine/common.c)
var optionDefaults = map[string]string{
	"no-quorum-policy":       "stop",
	"symmetric-cluster":      "true",
	"maintenance-mode":       "false",
	"start-failure-is-fatal": "true",
	"enable-startup-probes":  "true",
	"stonith-enabled":        "true",
	"stonith-action":         "reboot",
	"stonith-timeout":        "60s",
	"concurrent-fencing":     "false",
	"cluster-delay":          "60s",
	"batch-limit":            "0",
	"migration-limit":        "-1",
	"stop-all-resources":     "false",
	"stop-orphan-resources":  "true",
	"stop-orphan-actions":    "true",
	"placement-strategy":     "default",
	"node-health-strategy":   "none",
	"node-health-red":        "-INFINITY",
	"node-health-yellow":     "0",
	"node-health-green":      "0",
	"node-health-base":       "0",
	"shutdown-lock":          "false",
	"shutdown-lock-limit":    "0",
	"priority-fencing-delay": "0",
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

func (c *cluster) opt(name string) string {
	if v, ok := c.config[name]; ok {
		return v
	}
	return optionDefaults[name]
}

func childrenNamed(e *etree.Element, tag string) []*etree.Element {
	if e == nil {
		return nil
	}
	return e.SelectElements(tag)
}

func attr(e *etree.Element, name string) string {
	if e == nil {
		return ""
	}
	return e.SelectAttrValue(name, "")
}

func hasAttr(e *etree.Element, name string) bool {
	return e != nil && e.SelectAttr(name) != nil
}

// unpackConfig reads crm_config, rsc_defaults and op_defaults.
func (c *cluster) unpackConfig() error {
	c.config = map[string]string{}
	crm := c.cfg.SelectElement("crm_config")
	if crm != nil {
		if _, err := rules.UnpackNVPairsFull(crm, "cluster_property_set", c.rulesContext(ruleCtx{}), c.config,
			rules.NVPairOptions{AlwaysFirst: "cib-bootstrap-options"}); err != nil {
			c.warnf("crm_config: %v", err)
		}
	}
	c.stonithEnabled = isTrue(c.opt("stonith-enabled"))
	c.symmetric = isTrue(c.opt("symmetric-cluster"))
	c.noQuorumPolicy = c.opt("no-quorum-policy")
	c.haveQuorum = isTrue(attr(c.cib, "have-quorum"))
	if c.noQuorumPolicy == "suicide" {
		// unpack_config: suicide only with fencing, and only once the
		// cluster has had quorum (or no-quorum-panic is set)
		if !c.stonithEnabled || !(c.haveQuorum || atoiDef(attr(c.cib, "no-quorum-panic"), 0) != 0) {
			c.noQuorumPolicy = "stop"
		}
	}
	c.stopOrphans = isTrue(c.opt("stop-orphan-resources"))
	c.stopOrphanActions = isTrue(c.opt("stop-orphan-actions"))
	c.startFailureFatal = isTrue(c.opt("start-failure-is-fatal"))
	c.maintenanceMode = isTrue(c.opt("maintenance-mode"))
	c.stopAll = isTrue(c.opt("stop-all-resources"))
	c.concurrentFencing = isTrue(c.opt("concurrent-fencing"))
	c.probesOn = isTrue(c.opt("enable-startup-probes"))
	c.placementStrategy = strings.ToLower(c.opt("placement-strategy"))
	c.stonithAction = c.opt("stonith-action")
	if c.stonithAction == "poweroff" {
		c.stonithAction = "off"
	}
	// pe__unpack_node_health_scores: the strategy fixes what the colour
	// words mean.
	c.healthStrategy = strings.ToLower(c.opt("node-health-strategy"))
	switch c.healthStrategy {
	case "none", "":
		c.nodeHealth = map[string]int{"red": 0, "yellow": 0, "green": 0}
	case "migrate-on-red":
		c.nodeHealth = map[string]int{"red": -Infinity, "yellow": 0, "green": 0}
	case "only-green":
		c.nodeHealth = map[string]int{"red": -Infinity, "yellow": -Infinity, "green": 0}
	default:
		c.nodeHealth = map[string]int{
			"red":    parseScore(c.opt("node-health-red"), nil),
			"yellow": parseScore(c.opt("node-health-yellow"), nil),
			"green":  parseScore(c.opt("node-health-green"), nil),
		}
	}
	c.rscDefaults = c.cfg.SelectElement("rsc_defaults")
	// XPATH_ENABLE_UNFENCING: any meta-attribute provides/requires=unfencing
	for _, root := range []*etree.Element{c.cfg.SelectElement("resources"), c.rscDefaults} {
		if root == nil {
			continue
		}
		for _, nv := range root.FindElements(".//meta_attributes/nvpair") {
			if (attr(nv, "name") == "provides" || attr(nv, "name") == "requires") && attr(nv, "value") == "unfencing" {
				c.enableUnfencing = true
			}
		}
	}
	c.opDefaults = c.cfg.SelectElement("op_defaults")
	c.haveQuorum = isTrue(attr(c.cib, "have-quorum"))
	return nil
}

// unpackNVSets applies every <tag> block under parent (sorted by score,
// rules evaluated) to into, as pe__unpack_dataset_nvpairs does: with
// overwrite=false the first (highest scoring) set to name a key wins.
func (c *cluster) unpackNVSets(parent *etree.Element, tag string, node *Node, into map[string]string, overwrite bool) {
	c.unpackNVSetsCtx(parent, tag, ruleCtx{node: node}, into, overwrite)
}

func (c *cluster) unpackNVSetsCtx(parent *etree.Element, tag string, rc ruleCtx, into map[string]string, overwrite bool) {
	if parent == nil {
		return
	}
	if err := rules.UnpackNVPairs(parent, tag, c.rulesContext(rc), into, overwrite); err != nil {
		c.warnf("%s: %v", attr(parent, "id"), err)
	}
}

// resolveRef follows id-ref to the referenced element.
func (c *cluster) resolveRef(e *etree.Element) *etree.Element {
	ref := attr(e, "id-ref")
	if ref == "" {
		return e
	}
	if t := c.cib.FindElement(fmt.Sprintf("//*[@id='%s']", ref)); t != nil {
		return t
	}
	return e
}

// unpackNodes reads <nodes>.
func (c *cluster) unpackNodes() error {
	c.nodeByID = map[string]*Node{}
	c.nodeByName = map[string]*Node{}
	nodes := c.cfg.SelectElement("nodes")
	for _, ne := range childrenNamed(nodes, "node") {
		id, uname := attr(ne, "id"), attr(ne, "uname")
		if id == "" {
			return fmt.Errorf("<node> without id (uname %q)", uname)
		}
		if uname == "" {
			uname = id
		}
		n := c.newNode(id, uname, attr(ne, "type"))
		// Node attributes: permanent instance_attributes, plus utilization.
		c.unpackNVSets(ne, "instance_attributes", nil, n.Attrs, false)
		util := map[string]string{}
		c.unpackNVSets(ne, "utilization", n, util, true)
		for k, v := range util {
			n.Utilization[k] = parseScore(v, nil)
		}
		if isTrue(n.Attrs["standby"]) {
			n.Standby = true
		}
		if isTrue(n.Attrs["maintenance"]) {
			n.Maintenance = true
		}
	}
	return nil
}

func (c *cluster) newNode(id, uname, typ string) *Node {
	if typ == "" || typ == "normal" {
		typ = "member"
	}
	n := &Node{ID: id, Uname: uname, Type: typ, Index: len(c.nodes),
		Attrs: map[string]string{}, Utilization: map[string]int{}}
	n.Attrs["#uname"] = uname
	n.Attrs["#id"] = id
	if typ == "remote" {
		n.Attrs["#kind"] = "remote"
	} else {
		n.Attrs["#kind"] = "cluster"
	}
	c.nodes = append(c.nodes, n)
	c.nodeByID[id] = n
	c.nodeByName[uname] = n
	return n
}

// parseMsec converts a duration as crm_get_msec does: a number with an
// optional unit (ms, s, m/min, h; default seconds). Negative means invalid.
func parseMsec(s string) int {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return -1
	}
	if strings.HasPrefix(s, "p") {
		if d, ok := parseISODuration(s); ok {
			return d
		}
		return -1
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 {
		return -1
	}
	num, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return -1
	}
	unit := strings.TrimSpace(s[i:])
	mult := 1000.0
	switch unit {
	case "", "s", "sec":
		mult = 1000
	case "ms", "msec":
		mult = 1
	case "us", "usec":
		mult = 0.001
	case "m", "min":
		mult = 60000
	case "h", "hr":
		mult = 3600000
	default:
		return -1
	}
	return int(num * mult)
}

// parseISODuration handles ISO 8601 durations like PT10S, P1D, PT1M30S.
func parseISODuration(s string) (int, bool) {
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "P") {
		return 0, false
	}
	s = s[1:]
	inTime := false
	total := 0.0
	num := ""
	for _, ch := range s {
		switch {
		case ch == 'T':
			inTime = true
		case ch >= '0' && ch <= '9' || ch == '.':
			num += string(ch)
		default:
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, false
			}
			num = ""
			switch ch {
			case 'Y':
				total += v * 365 * 86400
			case 'M':
				if inTime {
					total += v * 60
				} else {
					total += v * 30 * 86400
				}
			case 'W':
				total += v * 7 * 86400
			case 'D':
				total += v * 86400
			case 'H':
				total += v * 3600
			case 'S':
				total += v
			default:
				return 0, false
			}
		}
	}
	return int(total * 1000), true
}

// parseInterval is crm_parse_interval_spec: ISO 8601 or crm_get_msec.
func parseInterval(s string) int {
	if s == "" {
		return 0
	}
	v := parseMsec(s)
	if v < 0 {
		return 0
	}
	return v
}
