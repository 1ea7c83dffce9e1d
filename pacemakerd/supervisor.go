package pacemakerd

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Child is one subdaemon of the table (pcmk_children in
// pcmkd_subdaemons.c): started in table order, stopped in reverse.
type Child struct {
	Name     string // binary name, also the log name
	Endpoint string // the IPC service whose answering means it is up
	// NeedsCluster: Pacemaker waits for the cluster layer before
	// respawning these (we respawn regardless; kept for the table's sake).
	NeedsCluster bool
}

// Children is Pacemaker 2.1.5's table.
var Children = []Child{
	{"pacemaker-based", "cib_ro", true},
	{"pacemaker-fenced", "stonith-ng", true},
	{"pacemaker-execd", "lrmd", false},
	{"pacemaker-attrd", "attrd", true},
	{"pacemaker-schedulerd", "pengine", false},
	{"pacemaker-controld", "crmd", true},
}

// MaxRespawn is MAX_RESPAWN: after that many exits a child is left down.
const MaxRespawn = 100

// Options configure a Supervisor.
type Options struct {
	Children []Child
	// Dirs are searched in order for each child's binary; a child found
	// in none is logged and skipped.
	Dirs []string
	// Args returns extra arguments for a child found at path (nil: none).
	Args func(name, path string) []string
	// Env is appended to the environment of every child.
	Env []string
	// Probe reports whether an IPC endpoint answers (child_liveness).
	Probe func(endpoint string) bool
	// Backoff is the delay before the n-th respawn (n from 1).
	Backoff func(n int) time.Duration
	// StopTimeout is how long a child gets after SIGTERM before SIGKILL
	// (SHUTDOWN_ESCALATION_PERIOD).
	StopTimeout time.Duration
	// StartTimeout bounds the wait for the endpoints before the launcher
	// reports "running" anyway (a child that never answers is logged).
	StartTimeout time.Duration
	Log          *Log
	Stdout       *os.File
}

// DefaultBackoff doubles from 100 ms up to 10 s.
func DefaultBackoff(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < n && d < 10*time.Second; i++ {
		d *= 2
	}
	if d > 10*time.Second {
		d = 10 * time.Second
	}
	return d
}

type proc struct {
	child   Child
	path    string
	cmd     *exec.Cmd
	pid     int
	respawn int
	enabled bool // respawn when it exits
	up      bool // endpoint answered
}

type exitEvent struct {
	p   *proc
	pid int
	err error
}

// Supervisor starts, watches and stops the subdaemons.
type Supervisor struct {
	o        Options
	mu       sync.Mutex
	state    string
	progress int64
	quit     chan struct{}
	quitOnce sync.Once
}

// NewSupervisor prepares a supervisor; Run starts it.
func NewSupervisor(o Options) *Supervisor {
	if o.Children == nil {
		o.Children = Children
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 30 * time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Probe == nil {
		o.Probe = func(string) bool { return true }
	}
	return &Supervisor{o: o, state: StateInit, quit: make(chan struct{})}
}

// State is the launcher state and the time of the last subdaemon check,
// as the ping reports them.
func (s *Supervisor) State() (string, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.progress
}

func (s *Supervisor) setState(st string) {
	s.mu.Lock()
	s.state = st
	s.progress = time.Now().Unix()
	s.mu.Unlock()
}

// Shutdown asks Run to stop every child and return (pcmk_shutdown).
func (s *Supervisor) Shutdown() { s.quitOnce.Do(func() { close(s.quit) }) }

func (s *Supervisor) find(name string) string {
	for _, d := range s.o.Dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func (s *Supervisor) start(p *proc, exits chan<- exitEvent) {
	log := s.o.Log
	var args []string
	if s.o.Args != nil {
		args = s.o.Args(p.child.Name, p.path)
	}
	cmd := exec.Command(p.path, args...)
	cmd.Env = append(os.Environ(), s.o.Env...)
	if s.o.Stdout != nil {
		cmd.Stdout, cmd.Stderr = s.o.Stdout, s.o.Stdout
	}
	if err := cmd.Start(); err != nil {
		log.Err("start_child", "Could not fork %s: %v", p.child.Name, err)
		p.pid = 0
		go func() { exits <- exitEvent{p: p, err: err} }()
		return
	}
	p.cmd, p.pid, p.up = cmd, cmd.Process.Pid, false
	log.Info("start_child", "Forked child %d for process %s", p.pid, p.child.Name)
	pid := p.pid
	go func() { exits <- exitEvent{p: p, pid: pid, err: cmd.Wait()} }()
}

// Run starts the children and supervises them until ctx ends or Shutdown
// is called, then stops them in reverse order and returns.
func (s *Supervisor) Run(ctx context.Context) {
	log := s.o.Log
	s.setState(StateStartingDaemons)
	exits := make(chan exitEvent, 16)
	var procs []*proc
	for _, c := range s.o.Children {
		path := s.find(c.Name)
		if path == "" {
			log.Warn("start_child", "Not starting %s: no such program in %v", c.Name, s.o.Dirs)
			continue
		}
		p := &proc{child: c, path: path, enabled: true}
		procs = append(procs, p)
		s.start(p, exits)
	}
	running := len(procs) == 0
	if running {
		s.setState(StateRunning)
	}
	startDeadline := time.Now().Add(s.o.StartTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	respawnAt := map[*proc]time.Time{}

loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-s.quit:
			break loop
		case ev := <-exits:
			s.exited(ev, respawnAt)
		case now := <-tick.C:
			for p, at := range respawnAt {
				if now.After(at) {
					delete(respawnAt, p)
					log.Notice("pcmk_process_exit", "Respawning %s subdaemon after unexpected exit", p.child.Name)
					s.start(p, exits)
				}
			}
			if running {
				continue
			}
			all := true
			for _, p := range procs {
				if p.pid != 0 && !p.up {
					p.up = s.o.Probe(p.child.Endpoint)
				}
				if p.enabled && !p.up {
					all = false
				}
			}
			s.mu.Lock()
			s.progress = now.Unix()
			s.mu.Unlock()
			if all || now.After(startDeadline) {
				if !all {
					for _, p := range procs {
						if !p.up {
							log.Err("check_next_subdaemon", "%s[%d] is unresponsive to ipc", p.child.Name, p.pid)
						}
					}
				}
				running = true
				s.setState(StateRunning)
				log.Notice("pcmkd_startup", "Pacemaker daemon successfully started and accepting connections")
			}
		}
	}
	s.stopAll(procs, exits)
}

func (s *Supervisor) exited(ev exitEvent, respawnAt map[*proc]time.Time) {
	p, log := ev.p, s.o.Log
	if ev.pid != 0 && ev.pid != p.pid {
		return // an old incarnation
	}
	name, pid := p.child.Name, p.pid
	p.pid, p.up = 0, false
	var ee *exec.ExitError
	code := 0
	if errors.As(ev.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sev := log.Err
			if ws.Signal() == syscall.SIGKILL {
				sev = log.Warn
			}
			sev("pcmk_child_exit", "%s[%d] terminated with signal %d (%s)", name, pid, int(ws.Signal()), ws.Signal())
			code = -1
		} else {
			code = ee.ExitCode()
		}
	}
	switch {
	case code == 0 && ev.pid != 0:
		log.Info("pcmk_child_exit", "%s[%d] exited with status 0 (OK)", name, pid)
	case code == 100: // CRM_EX_FATAL
		log.Warn("pcmk_child_exit", "Shutting cluster down because %s[%d] had fatal failure", name, pid)
		p.enabled = false
		s.Shutdown()
	case code > 0:
		log.Err("pcmk_child_exit", "%s[%d] exited with status %d (%s)", name, pid, code, exitStr(code))
	}
	p.respawn++
	if p.respawn > MaxRespawn {
		log.Err("pcmk_process_exit", "Child respawn count exceeded by %s", name)
		p.enabled = false
	}
	if p.enabled {
		respawnAt[p] = time.Now().Add(s.o.Backoff(p.respawn))
	}
}

// stopAll is pcmk_shutdown_worker: children in reverse table order, each
// sent SIGTERM and waited for, SIGKILL after StopTimeout.
func (s *Supervisor) stopAll(procs []*proc, exits chan exitEvent) {
	log := s.o.Log
	s.setState(StateShuttingDown)
	log.Notice("pcmk_shutdown_worker", "Shutting down Pacemaker")
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		p.enabled = false
		if p.pid == 0 {
			continue
		}
		log.Notice("stop_child", "Stopping %s | sent signal %d to process %d", p.child.Name, int(syscall.SIGTERM), p.pid)
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		deadline := time.NewTimer(s.o.StopTimeout)
		for p.pid != 0 {
			select {
			case ev := <-exits:
				s.exited(ev, map[*proc]time.Time{})
			case <-deadline.C:
				log.Err("escalate_shutdown", "Child %s not terminating in a timely manner, forcing", p.child.Name)
				_ = p.cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		deadline.Stop()
		log.Debug("pcmk_shutdown_worker", "%s confirmed stopped", p.child.Name)
	}
	s.setState(StateShutdownComplete)
	log.Notice("pcmk_shutdown_worker", "Shutdown complete")
}

// exitStrs is crm_exit_str's table (lib/common/results.c @2.1.5).
var exitStrs = map[int]string{
	0: "OK", 1: "Error occurred", 2: "Invalid parameter", 3: "Unimplemented",
	4: "Insufficient privileges", 5: "Not installed", 6: "Not configured", 7: "Not running",
	8: "Promoted", 9: "Failed in promoted role",
	64: "Incorrect usage", 65: "Invalid data given", 66: "Input file not available",
	67: "User does not exist", 68: "Host does not exist", 69: "Necessary service unavailable",
	70: "Internal software bug", 71: "Operating system error occurred", 72: "System file not available",
	73: "Cannot create output file", 74: "I/O error occurred", 75: "Temporary failure, try again",
	76: "Protocol violated", 77: "Insufficient privileges", 78: "Invalid configuration",
	100: "Fatal error occurred, will not respawn", 101: "System panic required", 102: "Not connected",
	103: "Update was older than existing configuration", 104: "Digest mismatch", 105: "No such object",
	106: "Quorum required", 107: "Operation not safe", 108: "Requested item already exists",
	109: "Multiple items match request", 110: "Requested item has expired",
	111: "Requested item is not yet in effect", 112: "Could not determine status",
	113: "Not applicable under current conditions", 124: "Timeout occurred",
	190: "Service is active but might fail soon", 191: "Service is promoted but might fail soon",
	193: "No exit status available", 255: "Error occurred",
}

// exitStr is crm_exit_str.
func exitStr(code int) string {
	if s, ok := exitStrs[code]; ok {
		return s
	}
	if code > 128 && code < 255 {
		return "Interrupted by signal"
	}
	return "Unknown exit status"
}
