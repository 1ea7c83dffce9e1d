package pengine

import (
	"time"

	"github.com/beevik/etree"
)

// Role is a resource role, ordered as Pacemaker's enum rsc_role_e.
type Role int

const (
	RoleUnknown Role = iota
	RoleStopped
	RoleStarted
	RoleUnpromoted
	RolePromoted
)

func (r Role) String() string {
	switch r {
	case RoleStopped:
		return "Stopped"
	case RoleStarted:
		return "Started"
	case RoleUnpromoted:
		return "Unpromoted"
	case RolePromoted:
		return "Promoted"
	}
	return "Unknown"
}

func parseRole(s string) (Role, bool) {
	switch s {
	case "Stopped", "stopped":
		return RoleStopped, true
	case "Started", "started":
		return RoleStarted, true
	case "Unpromoted", "Slave", "unpromoted", "slave":
		return RoleUnpromoted, true
	case "Promoted", "Master", "promoted", "master":
		return RolePromoted, true
	}
	return RoleUnknown, false
}

// Node is a cluster node as the scheduler sees it.
type Node struct {
	ID, Uname, Type string
	Index           int // position in the configuration, for stable order

	Online, Unclean, Standby, StandbyOnFail, Pending bool
	Maintenance, Shutdown, ExpectedUp, Unseen, IsDC  bool
	RemoteRsc                                        *Resource
	Attrs                                            map[string]string
	Utilization                                      map[string]int
	FenceReason                                      string
	NumResources                                     int
	Running                                          []*Resource
	remaining                                        map[string]int
	RemoteRequiresReset, RemoteWasFenced             bool
	guest                                            bool
	NoDiscovery                                      bool
	bundleNode                                       bool // guest node of a bundle replica
}

// RscKind is the variant of a resource.
type RscKind int

const (
	KindPrimitive RscKind = iota
	KindGroup
	KindClone
	KindBundle
)

// failure response, ordered as enum action_fail_response.
type onFail int

const (
	failIgnore onFail = iota
	failDemote
	failRecover
	failMigrate
	failBlock
	failStop
	failStandby
	failFence
	failRestartContainer
	failResetRemote
)

// OpDef is one configured <op>.
type OpDef struct {
	XML      *etree.Element
	ID, Name string
	Interval int // ms
	Role     Role
	Enabled  bool
	Meta     map[string]string
}

// Resource is a primitive, group or clone (clone instances are primitives or
// groups whose Parent is a clone).
type Resource struct {
	ID       string
	XMLID    string // id of the configuration element (anonymous clone instances share it)
	Kind     RscKind
	XML      *etree.Element
	Parent   *Resource
	Children []*Resource
	Index    int

	Class, Provider, Type string
	Params, Meta          map[string]string
	Ops                   []*OpDef
	Utilization           map[string]int

	Priority           int
	Stickiness         int
	MigrationThreshold int
	FailureTimeout     int // seconds
	ReconnectMs        int // remote connection's reconnect_interval
	Managed            bool
	InMaintenance      bool // pe_rsc_maintenance
	Orphan             bool
	Failed, StopFlag   bool // pe_rsc_failed, pe_rsc_stop
	Block              bool
	StartPending       bool
	FailureIgnored     bool
	Unique, Notify     bool
	Promotable         bool
	Interleave         bool
	Ordered            bool
	Colocated          bool // group: members colocated
	RequiresFencing    bool
	RequiresQuorum     bool
	NeedsUnfencing     bool
	IsFenceDevice      bool
	Restarting         bool
	StopUnexpected     bool // multiply active, multiple-active=stop_unexpected
	MultipleActive     string
	ExclusiveDiscover  bool
	CloneMax           int
	CloneNodeMax       int
	PromotedMax        int
	PromotedNodeMax    int
	CloneName          string // name in the status section ("rsc:0" or "rsc")
	InstanceNum        int

	Role, NextRole   Role
	TargetRole       Role
	hasTargetRole    bool
	RunningOn        []*Node
	KnownOn          map[*Node]bool
	Allowed          map[*Node]int // node → score; missing = not allowed
	Discover         map[*Node]string
	AllocatedTo      *Node
	Provisional      bool
	Allocating       bool
	PendingTask      string
	PartialMigSource *Node
	PartialMigTarget *Node

	ThisWith []*Colocation // colocations where this is the dependent
	WithThis []*Colocation // colocations where this is the primary

	Actions []*Action
	byKey   map[string][]*Action

	// lrm history per node, for recurring-op and digest checks
	history       map[*Node][]*lrmOp
	failCounts    map[*Node]map[string]int
	ticketDemote  bool
	expanded      bool
	pendingNode   *Node
	count         map[*Node]int
	sortIndex     int
	savedNextRole Role
	promotedLocs  []*location
	notif         map[string]*notifyData
	AllowMigrate  bool
	Reload        bool
	allocScore    int
	remoteNode    *Node
	Container     *Resource
	dangling      []*Node
	lockNode      *Node
	fillers       []*Resource
	bundle        *bundleData // KindBundle only
}

// Colocation is an rsc_colocation (or implicit one).
type Colocation struct {
	ID                 string
	Dependent, Primary *Resource
	Score              int
	DependentRole      Role
	PrimaryRole        Role
	NodeAttr           string
	Influence          bool
}

// order flags (enum pe_ordering)
const (
	orderNone                   = 0
	orderOptional               = 1 << 0
	orderAppliesToFirst         = 1 << 1 // unused
	orderImpliesFirst           = 1 << 4
	orderImpliesThen            = 1 << 5
	orderPromotedImpliesFirst   = 1 << 6
	orderImpliesFirstMigratable = 1 << 7
	orderRunnableLeft           = 1 << 8
	orderPseudoLeft             = 1 << 9
	orderImpliesThenOnNode      = 1 << 10
	orderProbe                  = 1 << 11
	orderRestart                = 1 << 12
	orderStonithStop            = 1 << 13
	orderSerializeOnly          = 1 << 14
	orderSameNode               = 1 << 15
	orderImpliesFirstPrinted    = 1 << 16
	orderImpliesThenPrinted     = 1 << 17
	orderAsymmetrical           = 1 << 20
	orderLoad                   = 1 << 21
	orderOneOrMore              = 1 << 22
	orderAntiColocation         = 1 << 23
	orderPreserve               = 1 << 24
	orderThenCancelsFirst       = 1 << 25
)

// Action flags (enum pe_action_flags)
const (
	aPseudo           = 1 << 0
	aRunnable         = 1 << 1
	aOptional         = 1 << 2
	aPrintAlways      = 1 << 3
	aHaveNodeAttrs    = 1 << 5
	aImpliedByStonith = 1 << 6
	aMigrateRunnable  = 1 << 7
	aDumped           = 1 << 8
	aProcessed        = 1 << 9
	aClearFailcount   = 1 << 10
	aDedup            = 1 << 11
	aDC               = 1 << 12
	aRequiresAny      = 1 << 13
	aReschedule       = 1 << 14
	aTracking         = 1 << 15
)

type actKey struct {
	key  string
	node *Node
}

// Action is one scheduled (or considered) action.
type Action struct {
	ID         int
	Rsc        *Resource
	Task       string
	Key        string // uuid, e.g. rsc_start_0
	Node       *Node
	Interval   int
	Flags      int
	Meta       map[string]string
	Extra      map[string]string
	Reason     string
	Priority   int
	Needs      int // 0 nothing, 1 quorum, 2 fencing
	OnFail     onFail
	FailRole   Role
	CancelTask string
	OpDef      *OpDef

	RunnableBefore, RequiredRunnableBefore int

	// Before and After are kept oldest first; upstream prepends to
	// actions_before/actions_after, so flag propagation walks them from the
	// end to visit orderings in Pacemaker's order.
	Before []*orderEdge // actions that must run first (inputs)
	After  []*orderEdge
}

type orderEdge struct {
	Action *Action
	Type   int
	dumped bool
}

func (a *Action) has(f int) bool { return a.Flags&f != 0 }
func (a *Action) set(f int)      { a.Flags |= f }
func (a *Action) clear(f int)    { a.Flags &^= f }

// Ordering is a resource-level ordering whose actions may not exist yet
// (pe__ordering_t); it is resolved to action edges after actions exist.
type Ordering struct {
	ID                  int
	FirstRsc, ThenRsc   *Resource
	FirstAct, ThenAct   *Action
	FirstTask, ThenTask string // action keys (uuid)
	Type                int
}

// Options tune a scheduling run.
type Options struct {
	// Now overrides the effective time (crm_simulate -t); zero means the
	// CIB's execution-date, or the caller's now.
	Now time.Time
	// ShowScores collects allocation scores into Result.Scores.
	ShowScores bool
	// StatusOnly stops after unpacking the configuration and status, as
	// the status tools do (cluster_status): Result.View is valid, no
	// transition is computed.
	StatusOnly bool
}
