// Package crmnode is Pacemaker 2.1.5's crm_node (tools/crm_node.c): node
// names, ids, membership and quorum as the controller knows them, and
// removal of a departed node from the daemons' caches and the CIB.
//
// Every command but "-n" inside a resource agent (which answers from
// OCF_RESKEY_CRM_meta_on_node) asks the controller; the controller is an
// injected Controller, and when none can be reached crm_node prints
// "error: Could not connect to controller: Connection refused" and exits
// 102 (CRM_EX_DISCONNECT), as the real tool does on a node whose
// controller is down.
package crmnode

import (
	"embed"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/tools/crmattribute/gopt"
)

//go:embed help
var helpFS embed.FS

func helpText(name string) string {
	b, _ := helpFS.ReadFile("help/crm_node." + name + ".txt")
	return string(b)
}

// NodeInfo is the controller's node-info reply (pcmk_controld_api_reply_t).
type NodeInfo struct {
	ID         uint32
	Uname      string // "" when the node is unknown
	HaveQuorum bool
}

// Member is one entry of the controller's node list.
type Member struct {
	ID    uint64
	Uname string
	State string // "member", "lost", ...
}

// Controller is a signed-on connection to pacemaker-controld.
type Controller interface {
	NodeInfo(id uint32) (NodeInfo, error)
	ListNodes() ([]Member, error)
	PurgeNode(name string, id int64) error
	Close() error
}

// Env is what crm_node takes from its process.
type Env struct {
	Args   []string // without the program name
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	// DialController connects to the controller; nil or an error means it
	// cannot be reached (the error's text is printed).
	DialController func() (Controller, error)
	// RemoveFromCache asks a daemon ("stonith-ng", "attrd", "pacemakerd")
	// to forget a node; nil means none can be reached.
	RemoveFromCache func(daemon, name string, id int64) error
	// CIB performs a CIB request for the node removal (cib_remove_node).
	CIB func(req cib.Request) cib.Rc
}

// Exit codes crm_node uses.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 64
	exitProtocol   = 76
	exitDisconnect = 102
	exitNoHost     = 104
	exitQuorum     = 106
)

var entries = []gopt.Entry{
	{Long: "help", Short: 'h'}, {Long: "help-all"}, {Long: "help-commands"}, {Long: "help-additional"},
	{Long: "version", Short: '$'}, {Long: "verbose", Short: 'V'}, {Long: "quiet", Short: 'Q'},
	{Long: "cluster-id", Short: 'i'}, {Long: "list", Short: 'l'}, {Long: "name", Short: 'n'},
	{Long: "partition", Short: 'p'}, {Long: "quorum", Short: 'q'},
	{Long: "name-for-id", Short: 'N', Kind: gopt.Required}, {Long: "remove", Short: 'R', Kind: gopt.Required},
	{Long: "force", Short: 'f'}, {Long: "corosync", Short: 'C'},
}

// errConnRefused is what connecting to a controller that is not running
// reports.
var errConnRefused = syscall.ECONNREFUSED

// Main runs crm_node and returns its exit code.
func Main(env Env) int {
	var (
		command              byte
		nodeID               int
		target               string
		dangerous, force, vs bool
	)
	opts, _, perr := gopt.Parse(env.Args, entries, "NR")
	for _, o := range opts {
		switch o.Name {
		case "help", "help-all", "help-commands", "help-additional":
			fmt.Fprint(env.Stdout, helpText(o.Name))
			return exitOK
		case "version":
			vs = true
		case "cluster-id":
			command = 'i'
		case "list":
			command = 'l'
		case "name":
			command = 'n'
		case "partition":
			command = 'p'
		case "quorum":
			command = 'q'
		case "name-for-id":
			command = 'N'
			nodeID = scanMinInt(o.Value, 0)
		case "remove":
			command, dangerous, target = 'R', true, o.Value
		case "force":
			force = true
		}
	}
	if perr != nil {
		fmt.Fprintf(env.Stderr, "crm_node: %s\n", perr)
		return exitUsage
	}
	if vs {
		fmt.Fprint(env.Stdout, "Pacemaker 2.1.5\nWritten by Andrew Beekhof and the Pacemaker project contributors\n")
		return exitOK
	}
	if command == 0 {
		fmt.Fprint(env.Stderr, helpText("usage"))
		return exitUsage
	}
	if dangerous && !force {
		fmt.Fprint(env.Stderr, "The supplied command is considered dangerous.  To prevent accidental destruction of the cluster, the --force flag is required in order to proceed.\n")
		return exitUsage
	}
	switch command {
	case 'n':
		// A resource agent is told its node's name in the environment.
		if name, ok := lookup(env, "OCF_RESKEY_CRM_meta_on_node"); ok {
			fmt.Fprintf(env.Stdout, "%s\n", name)
			return exitOK
		}
		return askController(env, command, 0)
	case 'R':
		return removeNode(env, target)
	case 'i', 'q', 'N':
		return askController(env, command, uint32(nodeID))
	default: // 'l', 'p'
		return askController(env, command, 0)
	}
}

func lookup(env Env, k string) (string, bool) {
	if env.Getenv == nil {
		return os.LookupEnv(k)
	}
	v := env.Getenv(k)
	return v, v != ""
}

// scanMinInt is pcmk__scan_min_int: a leading integer no smaller than
// min, or min when there is none.
func scanMinInt(s string, min int) int {
	s = strings.TrimLeft(s, " \t\n")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil || n < int64(min) {
		return min
	}
	if n > 1<<31-1 {
		return 1<<31 - 1
	}
	return int(n)
}

func dial(env Env) (Controller, error) {
	if env.DialController == nil {
		return nil, errConnRefused
	}
	return env.DialController()
}

// errText is pcmk_rc_str for an error: glibc's text for an errno.
func errText(err error) string {
	if e, ok := err.(syscall.Errno); ok {
		return cib.Rc(-int(e)).String()
	}
	return err.Error()
}

func errExit(err error) int {
	if e, ok := err.(syscall.Errno); ok {
		return cib.Rc(-int(e)).ExitCode()
	}
	return exitError
}

// askController is run_controller_mainloop with controller_event_cb.
func askController(env Env, command byte, nodeID uint32) int {
	c, err := dial(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "error: Could not connect to controller: %s\n", errText(err))
		return errExit(err)
	}
	defer c.Close()
	if command == 'l' || command == 'p' {
		nodes, err := c.ListNodes()
		if err != nil {
			fmt.Fprintf(env.Stderr, "error: Could not ping controller: %s\n", errText(err))
			return errExit(err)
		}
		sort.SliceStable(nodes, func(i, j int) bool { return numericStrcasecmp(nodes[i].Uname, nodes[j].Uname) < 0 })
		for _, n := range nodes {
			if command == 'l' {
				fmt.Fprintf(env.Stdout, "%d %s %s\n", n.ID, n.Uname, n.State)
			} else if n.State == "member" {
				fmt.Fprintf(env.Stdout, "%s ", n.Uname)
			}
		}
		if command == 'p' {
			fmt.Fprint(env.Stdout, "\n")
		}
		return exitOK
	}
	info, err := c.NodeInfo(nodeID)
	if err != nil {
		fmt.Fprintf(env.Stderr, "error: Could not ping controller: %s\n", errText(err))
		return errExit(err)
	}
	switch command {
	case 'i':
		if info.ID == 0 {
			fmt.Fprint(env.Stderr, "error: Controller reply did not contain node ID\n")
			return exitProtocol
		}
		fmt.Fprintf(env.Stdout, "%d\n", int32(info.ID))
	case 'n', 'N':
		if info.Uname == "" {
			fmt.Fprint(env.Stderr, "Node is not known to cluster\n")
			return exitNoHost
		}
		fmt.Fprintf(env.Stdout, "%s\n", info.Uname)
	case 'q':
		q := 0
		if info.HaveQuorum {
			q = 1
		}
		fmt.Fprintf(env.Stdout, "%d\n", q)
		if !info.HaveQuorum {
			return exitQuorum
		}
	}
	return exitOK
}

// numericStrcasecmp is pcmk__numeric_strcasecmp: case-insensitive, with
// runs of digits compared as numbers.
func numericStrcasecmp(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			i, j := digits(a), digits(b)
			na, _ := strconv.ParseUint(a[:i], 10, 64)
			nb, _ := strconv.ParseUint(b[:j], 10, 64)
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			a, b = a[i:], b[j:]
			continue
		}
		ca, cb := lower(a[0]), lower(b[0])
		if ca != cb {
			return int(ca) - int(cb)
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// removeNode is remove_node: the controller forgets the node, then the
// fencer, the attribute manager and pacemakerd, each followed by the
// removal of the node's <node> and <node_state> from the CIB.
func removeNode(env Env, target string) int {
	var name string
	id, err := strconv.ParseInt(target, 10, 64)
	if err != nil || id <= 0 {
		id, name = 0, target
	}
	c, err := dial(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "error: Could not connect to controller: %s\n", errText(err))
		return errExit(err)
	}
	if err := c.PurgeNode(name, id); err != nil {
		fmt.Fprintf(env.Stderr, "error: Could not clear node from controller's cache: %s\n", errText(err))
	}
	c.Close()
	for _, d := range []string{"stonith-ng", "attrd", "pacemakerd"} {
		if env.RemoveFromCache == nil || env.RemoveFromCache(d, name, id) != nil {
			return exitError
		}
		if rc := cibRemoveNode(env, id, name); rc != cib.OK {
			return exitError
		}
	}
	return exitOK
}

// cibRemoveNode is cib_remove_node: delete <node> from nodes and
// <node_state> from status, matched by uname and (if known) id.
func cibRemoveNode(env Env, id int64, name string) cib.Rc {
	if name == "" && id == 0 {
		return -cib.Rc(syscall.ENOTUNIQ)
	}
	node, state := etree.NewElement("node"), etree.NewElement("node_state")
	if name != "" {
		cib.SetAttr(node, "uname", name)
		cib.SetAttr(state, "uname", name)
	}
	if id > 0 {
		cib.SetAttr(node, "id", strconv.FormatInt(id, 10))
		cib.SetAttr(state, "id", strconv.FormatInt(id, 10))
	}
	if env.CIB == nil {
		return cib.ENOTCONN
	}
	shown := name
	if shown == "" {
		shown = "(null)"
	}
	rc := env.CIB(cib.Request{Op: cib.OpDelete, Section: "nodes", Data: node, Options: cib.OptSyncCall})
	if rc != cib.OK {
		fmt.Fprintf(env.Stdout, "Could not remove %s[%d] from nodes: %s", shown, id, rc)
	}
	rc = env.CIB(cib.Request{Op: cib.OpDelete, Section: "status", Data: state, Options: cib.OptSyncCall})
	if rc != cib.OK {
		fmt.Fprintf(env.Stdout, "Could not remove %s[%d] from status: %s", shown, id, rc)
	}
	return rc
}
