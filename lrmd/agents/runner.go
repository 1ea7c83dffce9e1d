package agents

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"ringmaster/lrmd"
)

// Action is one agent invocation.
type Action struct {
	RscID      string
	Class      string
	Provider   string
	Type       string
	Action     string // as requested: "monitor" becomes "status" for LSB
	IntervalMS int64
	TimeoutMS  int64
	Params     map[string]string
	// LeaveGroup kills only the agent's own process (on-fail=block).
	LeaveGroup bool
	// Stdin, when set, is written to the agent's standard input.
	Stdin string
	// Args replaces the single action argument (fence agents' "-o metadata").
	Args []string

	alertPath string // alert agents: the executable, run with alertEnv
	alertEnv  []string
	cred      *syscall.Credential
}

// FromRun converts the scheduler's request into an Action.
func FromRun(r lrmd.Run) Action {
	return Action{
		RscID: r.Rsc.ID, Class: r.Rsc.Class, Provider: r.Rsc.Provider, Type: r.Rsc.Type,
		Action: r.Action, IntervalMS: r.IntervalMS, TimeoutMS: r.TimeoutMS,
		Params: r.Params, LeaveGroup: r.LeaveGroup,
	}
}

// maxOutput bounds what is kept of each of stdout and stderr.
const maxOutput = 4 << 20

// outputGrace is how long output is still read after the agent exits, for
// agents that leave a daemon holding the pipes (Pacemaker does one last
// non-blocking read and moves on).
const outputGrace = 200 * time.Millisecond

// Env returns the environment an agent gets for a (add_action_env_vars):
// the base environment, then for OCF the parameters as OCF_RESKEY_<name>
// (OCF_CHECK_LEVEL as is), then OCF_RA_VERSION_MAJOR/MINOR, OCF_ROOT,
// OCF_EXIT_REASON_PREFIX, OCF_RESOURCE_INSTANCE, OCF_RESOURCE_TYPE,
// OCF_RESOURCE_PROVIDER. LSB and fence agents get the base environment.
func (d *Dir) Env(a Action) []string {
	set := map[string]string{}
	var order []string
	put := func(k, v string) {
		if _, ok := set[k]; !ok {
			order = append(order, k)
		}
		set[k] = v
	}
	for _, kv := range d.c.BaseEnv {
		k, v, _ := strings.Cut(kv, "=")
		put(k, v)
	}
	if strings.EqualFold(a.Class, lrmd.ClassOCF) {
		keys := make([]string, 0, len(a.Params))
		for k := range a.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.ContainsAny(k, "=\x00") {
				continue
			}
			name := "OCF_RESKEY_" + k
			if k == "OCF_CHECK_LEVEL" {
				name = k
			}
			put(name, strings.ReplaceAll(a.Params[k], "\x00", ""))
		}
		put("OCF_RA_VERSION_MAJOR", OCFMajor)
		put("OCF_RA_VERSION_MINOR", OCFMinor)
		put("OCF_ROOT", d.c.OCFRoot)
		put("OCF_EXIT_REASON_PREFIX", lrmd.ReasonPrefix)
		if a.RscID != "" {
			put("OCF_RESOURCE_INSTANCE", a.RscID)
		}
		if a.Type != "" {
			put("OCF_RESOURCE_TYPE", a.Type)
		}
		if a.Provider != "" {
			put("OCF_RESOURCE_PROVIDER", a.Provider)
		}
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+set[k])
	}
	return env
}

// agentAction is the action name passed to the agent: LSB-style standards
// have a "status" action where OCF has "monitor" (normalize_action_name).
func agentAction(class, action string) string {
	switch strings.ToLower(class) {
	case lrmd.ClassLSB, lrmd.ClassService, lrmd.ClassSystemd:
		if strings.EqualFold(action, "monitor") {
			return "status"
		}
	}
	return action
}

// Proc is a started agent.
type Proc struct {
	a     Action
	cmd   *exec.Cmd
	pid   int
	done  chan struct{}
	out   lrmd.Outcome
	once  sync.Once
	start time.Time
}

// PID returns the agent's process id (0 if it never started).
func (p *Proc) PID() int { return p.pid }

// Done is closed when the agent has ended and Wait will not block.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait returns the outcome once the agent has ended.
func (p *Proc) Wait() lrmd.Outcome { <-p.done; return p.out }

// Kill sends SIGKILL to the agent's process group (or only the agent with
// LeaveGroup), as mainloop's child_kill_helper does on a timeout or cancel.
func (p *Proc) Kill() error {
	if p.pid <= 0 {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	target := -p.pid
	if p.a.LeaveGroup {
		target = p.pid
	}
	if err := syscall.Kill(target, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %d: %w", target, err)
	}
	return nil
}

func finished(a Action, out lrmd.Outcome) *Proc {
	p := &Proc{a: a, done: make(chan struct{}), out: out}
	close(p.done)
	return p
}

// Start launches the agent and returns at once. A failure to start (agent
// missing, not executable) is reported through the Proc's outcome like
// services__handle_exec_error, never as an error.
func (d *Dir) Start(a Action) *Proc {
	class := strings.ToLower(a.Class)
	if a.alertPath != "" {
		return d.startProcess(a, class, a.alertPath, a.Args, a.alertEnv)
	}
	switch class {
	case lrmd.ClassStonith:
		if a.Args == nil {
			// Fence devices are started, stopped and monitored through the
			// fencer (execute_stonith_action); without one there is nothing
			// to talk to.
			return finished(a, lrmd.Outcome{ExitStatus: lrmd.OCFUnknownError, Status: lrmd.ExecNotConnected,
				Reason: "Executor's connection to fencer failed"})
		}
	case lrmd.ClassSystemd:
		if !d.SystemdRunning() {
			return finished(a, lrmd.Outcome{ExitStatus: lrmd.OCFNotInstalled, Status: lrmd.ExecNotInstalled,
				Reason: "systemd is not running on this host"})
		}
		return finished(a, lrmd.Outcome{ExitStatus: lrmd.OCFUnimplemented, Status: lrmd.ExecNotSupported,
			Reason: "systemd resources are not supported by this executor"})
	}
	path, err := d.Path(class, a.Provider, a.Type)
	if err != nil {
		// services__handle_exec_error names the executable when the
		// standard resolved one (LSB) and the agent otherwise (an OCF agent
		// that was not found has no executable path).
		name := path
		if class == lrmd.ClassOCF || name == "" {
			name = a.Type
		}
		return finished(a, lrmd.Outcome{ExitStatus: lrmd.NotInstalled(class, agentAction(class, a.Action)),
			Status: lrmd.ExecNotInstalled, Reason: name + ": No such file or directory"})
	}
	args := a.Args
	if args == nil {
		args = []string{agentAction(class, a.Action)}
	}
	return d.startProcess(a, class, path, args, d.Env(a))
}

func (d *Dir) startProcess(a Action, class, path string, args, env []string) *Proc {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: a.cred}
	cmd.WaitDelay = outputGrace
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if a.Stdin != "" {
		cmd.Stdin = strings.NewReader(a.Stdin)
	}
	if err := cmd.Start(); err != nil {
		return finished(a, execError(class, a.Action, path, err))
	}
	p := &Proc{a: a, cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}), start: time.Now()}
	go func() {
		werr := cmd.Wait()
		out := lrmd.Outcome{PID: p.pid, Stdout: stdout.String(), Stderr: stderr.String()}
		var ee *exec.ExitError
		switch {
		case werr == nil || (errors.As(werr, &ee) && ee.Exited()):
			out.Status = lrmd.ExecDone
			out.ExitStatus = cmd.ProcessState.ExitCode()
			out.Reason = lrmd.ExitReason(class, out.Stderr)
		case errors.As(werr, &ee):
			ws, _ := ee.Sys().(syscall.WaitStatus)
			out.Signal = int(ws.Signal())
			out.Status = lrmd.ExecError
			out.ExitStatus = lrmd.GenericError(class, agentAction(class, a.Action))
			if class == lrmd.ClassOCF || class == lrmd.ClassStonith {
				out.ExitStatus = lrmd.OCFUnknownError
			}
			out.Reason = fmt.Sprintf("%s interrupted by %s signal", kind(class), signalName(ws.Signal()))
		default:
			// Only the output grace ran out (ErrWaitDelay): the agent itself
			// exited normally.
			out.Status = lrmd.ExecDone
			out.ExitStatus = cmd.ProcessState.ExitCode()
			out.Reason = lrmd.ExitReason(class, out.Stderr)
		}
		p.out = out
		close(p.done)
	}()
	return p
}

// Run starts the agent and waits for it, killing it after a.TimeoutMS (if
// set); a killed agent is reported as timed out.
func (d *Dir) Run(a Action) lrmd.Outcome {
	p := d.Start(a)
	if a.TimeoutMS <= 0 {
		return p.Wait()
	}
	t := time.NewTimer(time.Duration(a.TimeoutMS) * time.Millisecond)
	defer t.Stop()
	select {
	case <-p.Done():
		return p.Wait()
	case <-t.C:
		p.Kill()
		out := p.Wait()
		if out.Signal != 0 {
			out.Status = lrmd.ExecTimeout
			out.ExitStatus = lrmd.GenericError(a.Class, a.Action)
			out.Reason = fmt.Sprintf("%s did not complete within %s", kind(strings.ToLower(a.Class)), lrmd.ReadableInterval(a.TimeoutMS))
		}
		return out
	}
}

func execError(class, action, path string, err error) lrmd.Outcome {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch errno {
	case syscall.ENOENT, syscall.EISDIR, syscall.ENOTDIR, syscall.EINVAL, syscall.ENOEXEC:
		return lrmd.Outcome{ExitStatus: lrmd.NotInstalled(class, agentAction(class, action)), Status: lrmd.ExecNotInstalled,
			Reason: fmt.Sprintf("%s: %s", path, errnoText(errno))}
	case syscall.EACCES, syscall.EPERM:
		return lrmd.Outcome{ExitStatus: lrmd.OCFInsufficientPriv, Status: lrmd.ExecError,
			Reason: fmt.Sprintf("%s: %s", path, errnoText(errno))}
	}
	return lrmd.Outcome{ExitStatus: lrmd.GenericError(class, agentAction(class, action)), Status: lrmd.ExecError, Reason: err.Error()}
}

// errnoText is strerror's wording (Go's texts are lower-case).
func errnoText(e syscall.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func kind(class string) string {
	if class == lrmd.ClassStonith {
		return "Fence agent"
	}
	return "Resource agent"
}

// signalName is strsignal's text for the signals agents usually die of.
func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "Killed"
	case syscall.SIGTERM:
		return "Terminated"
	case syscall.SIGSEGV:
		return "Segmentation fault"
	case syscall.SIGABRT:
		return "Aborted"
	case syscall.SIGINT:
		return "Interrupt"
	case syscall.SIGHUP:
		return "Hangup"
	case syscall.SIGPIPE:
		return "Broken pipe"
	}
	return s.String()
}

// limitedBuffer keeps the first maxOutput bytes written to it.
type limitedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := maxOutput - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
