package conf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultPath is corosync's default configuration file.
const DefaultPath = "/etc/corosync/corosync.conf"

// Exit codes of corosync (exec/main.h enum e_corosync_done).
const (
	ExitOK             = 0
	ExitLogConfigRead  = 7
	ExitMainConfigRead = 8
	ExitDirNotPresent  = 16
)

// DefaultStateDir is where corosync keeps ring ids (system.state_dir).
const DefaultStateDir = "/var/lib/corosync"

// Stage says where in corosync's start-up an error is found; it decides
// the exit code and how the error is printed.
type Stage uint8

const (
	// StageParse: coroparse (syntax, key types, allowed values, uidgid.d);
	// printed bare on stderr, exit 8.
	StageParse Stage = iota
	// StageLogging: logconfig.c; printed bare on stderr, exit 7.
	StageLogging
	// StageStateDir: chdir into the state directory; logged, exit 16 at
	// main.c:1411.
	StageStateDir
	// StageTotemRead: totem_config_read; logged, exit 8 at main.c:1417.
	StageTotemRead
	// StageTotemValidate: totem_config_validate; logged, exit 8 at main.c:1445.
	StageTotemValidate
)

// Error is a configuration corosync refuses. Error() is the text corosync
// prints (its first line for logged errors, without the timestamp).
type Error struct {
	Stage Stage
	// File and Line locate parse errors; Key names the key when known.
	File string
	Line int
	Key  string
	Msg  string
	// Err is the underlying error (a *ParseError, an *AuthkeyError).
	Err error

	logging *Logging  // for formatting logged errors
	debug   []LogLine // debug messages logged before the error
}

func (e *Error) Error() string {
	if e.Stage == StageParse && e.Line > 0 {
		return fmt.Sprintf("parser error: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Detail is the error for our own logs, with the place corosync does not
// print: "FILE:LINE: KEY: message" (parts omitted when unknown).
func (e *Error) Detail() string {
	if e.Stage == StageParse {
		return e.Error()
	}
	s := ""
	if e.File != "" && e.Line > 0 {
		s = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	}
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + strings.TrimPrefix(e.Msg, "parse error in config: ")
}

// ExitCode is corosync's exit status for this error.
func (e *Error) ExitCode() int {
	switch e.Stage {
	case StageLogging:
		return ExitLogConfigRead
	case StageStateDir:
		return ExitDirNotPresent
	}
	return ExitMainConfigRead
}

// Where is the source location corosync names in its exit message.
func (e *Error) Where() string {
	switch e.Stage {
	case StageStateDir:
		return "main.c:1411"
	case StageTotemRead:
		return "main.c:1417"
	case StageTotemValidate:
		return "main.c:1445"
	}
	return ""
}

// Warning is a start-up warning. Unless Ours is set it is one corosync
// itself logs, with the same text; Ours marks advice only Ringmaster gives
// (not printed by `corosync -t`, to keep that output identical).
type Warning struct {
	Msg  string
	Ours bool
}

func (w Warning) String() string { return w.Msg }

// NodeEntry is one nodelist.node entry after start-up (nodeid possibly
// generated from ring0_addr).
type NodeEntry struct {
	Pos         int
	NodeID      uint32
	Name        string
	RingAddrs   []string // index = link number; "" where absent
	QuorumVotes uint32   // 0 = not set (votequorum uses 1)
}

// Quorum is the quorum section as votequorum reads it (0 / false = unset).
type Quorum struct {
	Provider              string
	ExpectedVotes         uint32
	Votes                 uint32
	TwoNode               bool
	WaitForAll            bool
	WaitForAllSet         bool // wait_for_all given explicitly (two_node implies it otherwise)
	LastManStanding       bool
	LastManStandingWindow uint32
	AutoTieBreaker        bool
	AutoTieBreakerNode    string
	AllowDownscale        bool
	ExpectedVotesTracking bool
}

// Config is a loaded corosync.conf with everything corosync derives at
// start-up.
type Config struct {
	// Path is the file name used in messages.
	Path string
	// File is the syntax tree (for round-trip edits).
	File *File
	// Map is the cmap key space corosync holds once its configuration is
	// read: the file's keys, the keys written back (bindnetaddr, generated
	// nodeids, local_node_pos, udp mcast) and runtime.config.totem.*.
	// It does not hold the service keys; see Keys and ServiceKeys.
	Map   *Map
	Totem Totem
	Nodes []NodeEntry
	// LocalNodePos is this host's index in the nodelist, -1 when not found.
	LocalNodePos int
	Quorum       Quorum
	Logging      Logging
	// StateDir is system.state_dir or /var/lib/corosync.
	StateDir string
	Warnings []Warning
	// Debug holds the debug messages corosync logs while reading the totem
	// configuration (printed by `corosync -t` when logging.debug is on).
	Debug []LogLine

	lines      map[string]int
	timerInput TimerInput
}

// KeyLine returns the line of the file that set a configuration key
// (0 when the key did not come from the file).
func (c *Config) KeyLine(key string) int { return c.lines[key] }

// Options tune Load.
type Options struct {
	// AuthkeyPath replaces /etc/corosync/authkey as the default key file.
	AuthkeyPath string
	// UIDGIDDir replaces "<dir of the config>/uidgid.d".
	UIDGIDDir string
}

// Load reads and checks a corosync.conf as corosync 3.1.7 does at start-up.
// The returned error is an *Error. A nil env is SystemEnv().
func Load(path string, env *Env) (*Config, []Warning, error) {
	read := os.ReadFile
	if env != nil && env.ReadFile != nil {
		read = env.ReadFile
	}
	data, err := readConfigFile(read, path)
	if err != nil {
		return nil, nil, err
	}
	return LoadBytes(path, data, env, Options{})
}

// readConfigFile reads the file as coroparse does: a failing fopen is
// "Can't read file PATH: REASON"; a directory opens fine and reads as empty.
func readConfigFile(read func(string) ([]byte, error), path string) ([]byte, error) {
	data, err := read(path)
	if err != nil {
		if errors.Is(err, syscall.EISDIR) {
			return nil, nil
		}
		return nil, &Error{Stage: StageParse, Err: err, Msg: fmt.Sprintf("Can't read file %s: %s", path, strerror(err))}
	}
	return data, nil
}

// TestPath is Test for a file on disk (read through env), including
// corosync's handling of an unreadable path.
func TestPath(path string, env *Env, opt Options) TestOutput {
	read := os.ReadFile
	if env != nil && env.ReadFile != nil {
		read = env.ReadFile
	}
	data, err := readConfigFile(read, path)
	if err != nil {
		return TestResult(nil, nil, err)
	}
	return Test(path, data, env, opt)
}

// LoadBytes is Load for a file already in memory; path is the name used in
// messages and to find uidgid.d.
func LoadBytes(path string, data []byte, env *Env, opt Options) (*Config, []Warning, error) {
	if env == nil {
		env = SystemEnv()
	}
	m := NewMap()
	fl := &flattener{m: m, env: env}
	file, err := parse(path, data, fl)
	if err != nil {
		var pe *ParseError
		errors.As(err, &pe)
		return nil, nil, &Error{Stage: StageParse, File: pe.File, Line: pe.Line, Key: pe.Key, Msg: pe.Msg, Err: pe}
	}
	if err := readUIDGIDDir(path, env, opt, m); err != nil {
		return nil, nil, err
	}
	c := &Config{Path: path, File: file, Map: m, LocalNodePos: -1}
	if msg := c.Logging.read(m, env); msg != "" {
		return nil, nil, &Error{Stage: StageLogging, Msg: "parse error in config: " + msg + "."}
	}
	c.StateDir = DefaultStateDir
	if s, ok := m.String("system.state_dir"); ok {
		c.StateDir = s
	}
	if env.Chdir != nil {
		if err := env.Chdir(c.StateDir); err != nil {
			return nil, nil, &Error{Stage: StageStateDir, Err: err, logging: &c.Logging, Key: "system.state_dir",
				File: path, Line: fl.lines["system.state_dir"],
				Msg: fmt.Sprintf("Cannot chdir to state directory %s. %s", c.StateDir, strerror(err))}
		}
	}
	authkey := opt.AuthkeyPath
	if authkey == "" {
		authkey = DefaultAuthkeyPath
	}
	r := &totemReader{m: m, env: env, t: &c.Totem, authkey: authkey}
	if e := r.read(); e != nil {
		return nil, nil, &Error{Stage: StageTotemRead, Msg: strings.TrimRight(e.msg, "\n"), logging: &c.Logging, debug: r.debug,
			File: path, Key: e.key, Line: fl.lines[e.key]}
	}
	c.Warnings = r.warningList()
	c.Debug = r.debug
	if e := r.validate(); e != nil {
		return nil, c.Warnings, &Error{Stage: StageTotemValidate, Msg: e.msg, logging: &c.Logging, debug: r.debug,
			File: path, Key: e.key, Line: fl.lines[e.key]}
	}
	c.lines = fl.lines
	c.timerInput = r.timerInput
	if p, ok := m.Uint32("nodelist.local_node_pos"); ok {
		c.LocalNodePos = int(p)
	}
	c.Nodes = nodesFromMap(m)
	c.Quorum = quorumFromMap(m)
	if c.Totem.Key != nil {
		kp := authkey
		if s, ok := m.String("totem.keyfile"); ok {
			kp = s
		}
		if w, ok := AuthkeyModeWarning(env, kp); ok {
			c.Warnings = append(c.Warnings, w)
		}
	}
	return c, c.Warnings, nil
}

func (r *totemReader) warningList() []Warning {
	var w []Warning
	if r.warnings&warnMembersIgnored != 0 {
		w = append(w, Warning{Msg: "member section is used together with nodelist. Members ignored."})
	}
	if r.warnings&warnMembersDeprecated != 0 {
		w = append(w, Warning{Msg: "member section is deprecated."})
	}
	if r.warnings&warnTotemNodeidSet != 0 {
		w = append(w, Warning{Msg: "nodeid in totem section is deprecated and ignored. Nodelist (or autogenerated) nodeid is going to be used."})
	}
	if r.warnings&warnBindnetaddrNodelistSet != 0 {
		w = append(w, Warning{Msg: "interface section bindnetaddr is used together with nodelist. Nodelist one is going to be used."})
	}
	if r.warnings != 0 {
		w = append(w, Warning{Msg: "Please migrate config file to nodelist."})
	}
	return w
}

// readUIDGIDDir parses every regular file of uidgid.d (beside the config)
// with the uidgid-only rules of coroparse.c:read_uidgid_files_into_icmap.
func readUIDGIDDir(path string, env *Env, opt Options, m *Map) error {
	dir := opt.UIDGIDDir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(path), "uidgid.d")
	}
	if env.ReadDir == nil || env.ReadFile == nil {
		return nil
	}
	names, err := env.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, n := range names {
		fn := dir + "/" + n
		data, err := env.ReadFile(fn)
		if err != nil {
			continue
		}
		fl := &flattener{m: m, env: env, uidgidOnly: true}
		if _, err := parse(fn, data, fl); err != nil {
			var pe *ParseError
			errors.As(err, &pe)
			return &Error{Stage: StageParse, File: pe.File, Line: pe.Line, Key: pe.Key, Msg: pe.Msg, Err: pe}
		}
	}
	return nil
}

func nodesFromMap(m *Map) []NodeEntry {
	var out []NodeEntry
	last := -1
	for _, k := range m.Keys("nodelist.node.") {
		pos, _, ok := nodeKey(k)
		if !ok || pos == last {
			continue
		}
		last = pos
		p := fmt.Sprintf("nodelist.node.%d.", pos)
		n := NodeEntry{Pos: pos}
		n.NodeID, _ = m.Uint32(p + "nodeid")
		n.Name, _ = m.String(p + "name")
		n.QuorumVotes, _ = m.Uint32(p + "quorum_votes")
		for _, k2 := range m.Keys(p) {
			_, rest, _ := nodeKey(k2)
			if link, ok := ringAddrKey(rest); ok && link < MaxLinks {
				for len(n.RingAddrs) <= link {
					n.RingAddrs = append(n.RingAddrs, "")
				}
				n.RingAddrs[link], _ = m.String(k2)
			}
		}
		out = append(out, n)
	}
	// Keys sort "10" before "2": order by position as the nodelist is written.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Pos < out[j-1].Pos; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func quorumFromMap(m *Map) Quorum {
	var q Quorum
	q.Provider, _ = m.String("quorum.provider")
	q.ExpectedVotes, _ = m.Uint32("quorum.expected_votes")
	q.Votes, _ = m.Uint32("quorum.votes")
	b := func(k string) (bool, bool) {
		v, ok := m.Uint8(k)
		return v != 0, ok
	}
	q.TwoNode, _ = b("quorum.two_node")
	q.WaitForAll, q.WaitForAllSet = b("quorum.wait_for_all")
	q.LastManStanding, _ = b("quorum.last_man_standing")
	q.LastManStandingWindow, _ = m.Uint32("quorum.last_man_standing_window")
	q.AutoTieBreaker, _ = b("quorum.auto_tie_breaker")
	q.AutoTieBreakerNode, _ = m.String("quorum.auto_tie_breaker_node")
	q.AllowDownscale, _ = b("quorum.allow_downscale")
	q.ExpectedVotesTracking, _ = b("quorum.expected_votes_tracking")
	return q
}

// LocalNode returns this host's nodelist entry.
func (c *Config) LocalNode() (NodeEntry, bool) {
	for _, n := range c.Nodes {
		if n.Pos == c.LocalNodePos {
			return n, true
		}
	}
	return NodeEntry{}, false
}

// DefaultServiceDir is where corosync 1.x read extra service sections
// (Pacemaker's old "service { name: pacemaker ver: 0 }" plugin stanza).
const DefaultServiceDir = "/etc/corosync/service.d"

// LoadServiceDir parses every regular file of a 1.x-style service.d
// directory with the corosync.conf rules and returns the keys they give
// (e.g. service.name = pacemaker) and the files read. corosync 2.x and 3.x
// no longer read this directory, so Load ignores it; the daemon uses this
// to warn that such files have no effect (Pacemaker 2 must be started by
// its own unit, not as a corosync plugin).
func LoadServiceDir(env *Env, dir string) (*Map, []string, error) {
	if env == nil {
		env = SystemEnv()
	}
	m := NewMap()
	if env.ReadDir == nil || env.ReadFile == nil {
		return m, nil, nil
	}
	names, err := env.ReadDir(dir)
	if err != nil {
		return m, nil, fmt.Errorf("service.d %s: %w", dir, err)
	}
	var files []string
	for _, n := range sortedCopy(names) {
		fn := dir + "/" + n
		data, err := env.ReadFile(fn)
		if err != nil {
			continue
		}
		files = append(files, fn)
		if _, err := parse(fn, data, &flattener{m: m, env: env}); err != nil {
			return m, files, err
		}
	}
	return m, files, nil
}
