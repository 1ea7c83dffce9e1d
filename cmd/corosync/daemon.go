package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"ringmaster/cmap"
	"ringmaster/conf"
	"ringmaster/internal/corolog"
)

const (
	defaultConfigPath = "/etc/corosync/corosync.conf"
	lockFile          = "/var/run/corosync.pid"
	// childEnv marks the re-executed daemon process (Go cannot fork, so the
	// background mode starts itself again with -f and a new session).
	childEnv = "RINGMASTER_COROSYNC_DAEMON"

	features    = " dbus monitoring watchdog augeas systemd xmlconf vqsim nozzle snmp pie relro bindnow"
	versionText = "Corosync Cluster Engine, version '3.1.7'\n" +
		"Copyright (c) 2006-2021 Red Hat, Inc.\n" +
		"\nBuilt-in features:" + features + "\n" +
		"Available crypto models: nss openssl\n" +
		"Available compression models: zlib lz4 lz4hc lzo2 lzma bzip2 zstd\n"
)

// Exit codes (exec/util.h enum e_corosync_done).
const (
	exitOK             = 0
	exitLogConfigRead  = 7
	exitMainConfigRead = 8
	exitInitServices   = 13
	exitFatal          = 15
	exitAcquireLock    = 17
	exitAlreadyRunning = 18
)

// Options is what the command line decides.
type Options struct {
	ConfigPath string
	Foreground bool
	TestOnly   bool
	Stderr     io.Writer
	// Env replaces the host's view (hostname, addresses, resolver) for tests.
	Env *conf.Env
	// LockFile replaces /var/run/corosync.pid.
	LockFile string
	// Ready, if set, is called once every service is being served.
	Ready func(*Daemon)
	// Scheduling applies system.sched_rr / system.priority to the process
	// (the command does; tests running Run in process do not).
	Scheduling bool
}

// Daemon is one running corosync: the configuration, the maps and the service
// engines. The ring, CPG, quorum and cfg engines plug in through the registry in
// engines.go and reach everything they need from here.
type Daemon struct {
	Config *conf.Config
	Cmap   *cmap.Service
	Sink   *corolog.Sink
	Log    *corolog.Logger // MAIN
	// Lock serialises all service handlers and map updates (corosync is single
	// threaded; our engines share this lock instead).
	Lock sync.Locker

	engines []*Engine
}

// Run is corosync's main(): read the configuration, set up logging, load the
// service engines, serve until SIGTERM/SIGINT, then unload and exit.
func Run(o Options) int {
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.LockFile == "" {
		o.LockFile = lockFile
	}
	env := o.Env
	if env == nil {
		env = conf.SystemEnv()
	}
	now := time.Now
	if o.TestOnly {
		data, err := os.ReadFile(o.ConfigPath)
		if err != nil {
			// coroparse's wording for an unreadable file.
			out := conf.TestResult(nil, nil, &conf.Error{Stage: conf.StageParse, Err: err,
				Msg: fmt.Sprintf("Can't read file %s: %s", o.ConfigPath, strerror(err))})
			io.WriteString(o.Stderr, out.Format(now()))
			return out.ExitCode
		}
		out := conf.Test(o.ConfigPath, data, env, conf.Options{})
		io.WriteString(o.Stderr, out.Format(now()))
		return out.ExitCode
	}

	cfg, warns, err := conf.Load(o.ConfigPath, env)
	var ce *conf.Error
	if err != nil && errors.As(err, &ce) && (ce.Stage == conf.StageParse || ce.Stage == conf.StageLogging) {
		// Parser and logging-section errors come before logsys: bare on stderr.
		fmt.Fprintln(o.Stderr, ce.Error())
		return ce.ExitCode()
	}
	logCfg := corolog.DefaultConfig()
	if cfg != nil {
		logCfg = loggingConfig(cfg.Map)
	}
	var logfile *os.File
	if logCfg.Logfile != "" && anyToLogfile(logCfg) {
		if f, ferr := os.OpenFile(logCfg.Logfile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); ferr == nil {
			logfile = f
			defer f.Close()
		}
	}
	sinkOpts := corolog.SinkOptions{Stderr: o.Stderr, Syslog: syslogWriter(logCfg.SyslogFacility)}
	if logfile != nil {
		sinkOpts.File = logfile
	}
	if os.Getenv(childEnv) != "" {
		// The background daemon has no terminal: logsys's stderr target is
		// useless there (corosync closes it when it detaches).
		logCfg.Global.ToStderr = false
		for k, t := range logCfg.Subsys {
			t.ToStderr = false
			logCfg.Subsys[k] = t
		}
	}
	sink := corolog.NewSink(logCfg, sinkOpts)
	mainLog := sink.Logger("MAIN")

	mainLog.Func("main").Noticef("Corosync Cluster Engine %s starting up", "3.1.7")
	mainLog.Func("main").Infof("Corosync built-in features:%s", features)
	for _, w := range warns {
		if !w.Ours {
			mainLog.Func("main").Warningf("%s", w.Msg)
		}
	}
	if err != nil {
		msg := err.Error()
		where := ""
		code := exitMainConfigRead
		if ce != nil {
			msg, where, code = ce.Msg, ce.Where(), ce.ExitCode()
		}
		mainLog.Func("main").Errorf("%s", msg)
		return exitError(mainLog, code, where)
	}

	if !o.Foreground && os.Getenv(childEnv) == "" {
		return detach(o, mainLog)
	}

	unlock, code := acquireLock(o.LockFile, mainLog)
	if code != exitOK {
		return exitError(mainLog, code, "")
	}
	defer unlock()

	if o.Scheduling {
		setScheduling(cfg.Map, mainLog)
	}
	d := &Daemon{Config: cfg, Sink: sink, Log: mainLog, Lock: new(sync.Mutex)}
	d.Cmap = cmap.NewService(nil, nil, cmap.ServiceOptions{Lock: d.Lock, Log: sink.Logger("CMAP")})
	d.populate()
	d.watchLogging(logCfg, logfile)

	// SIGINT, SIGQUIT and SIGTERM shut down cleanly (sig_exit_handler); SIGUSR2
	// asks for a state dump (sig_diag_handler), which must not kill the daemon.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	defer stop()
	diag := make(chan os.Signal, 1)
	signal.Notify(diag, syscall.SIGUSR2)
	defer signal.Stop(diag)
	go func() {
		for {
			select {
			case <-diag:
				d.stateDump()
			case <-ctx.Done():
				return
			}
		}
	}()
	// totem comes up before the service engines (corosync's main: totempg
	// initialisation, then corosync_service_link_and_init).
	ring, err := d.openRing()
	if err != nil {
		mainLog.Errorf("%v", err)
		return exitError(mainLog, exitInitServices, "")
	}
	if err := d.loadEngines(ctx); err != nil {
		mainLog.Errorf("%v", err)
		ring.wait()
		d.unloadEngines()
		return exitError(mainLog, exitInitServices, "")
	}
	if err := d.startRing(ctx, ring); err != nil {
		mainLog.Errorf("%v", err)
		ring.wait()
		d.unloadEngines()
		return exitError(mainLog, exitInitServices, "")
	}
	if o.Ready != nil {
		o.Ready(d)
	}
	<-ctx.Done()
	mainLog.Func("sig_exit_handler").Noticef("Node was shut down by a signal")
	// The ring leaves (its leave message) before the engines go away.
	ring.wait()
	d.unloadEngines()
	return exitError(mainLog, exitOK, "")
}

// stateDump is corosync_state_dump: every engine with a dump hook logs its state.
func (d *Daemon) stateDump() {
	d.Lock.Lock()
	engines := append([]*Engine(nil), d.engines...)
	d.Lock.Unlock()
	for _, e := range engines {
		if e.Dump != nil {
			e.Dump(d)
		}
	}
}

// exitError logs corosync's exit line (_corosync_exit_error) and returns code.
func exitError(l *corolog.Logger, code int, where string) int {
	l = l.Func("_corosync_exit_error")
	if code == exitOK {
		l.Noticef("Corosync Cluster Engine exiting normally")
		return code
	}
	if where == "" {
		where = "main.c"
	}
	l.Errorf("Corosync Cluster Engine exiting with status %d at %s.", code, where)
	return code
}

// populate fills the maps with the start-up key tree: the configuration keys and
// what the services write when they load (package conf), the per-message counters
// at zero, and the stats map's fixed entries. runtime.members.* and
// runtime.votequorum.* belong to the ring and quorum engines.
func (d *Daemon) populate() {
	d.Cmap.Update(func(ic, st *cmap.Store) {
		for _, kv := range d.Config.Keys() {
			_ = ic.Set(kv.Key, kv.Value)
		}
		for _, kv := range d.Config.CounterKeys() {
			_ = ic.Set(kv.Key, kv.Value)
		}
	})
}

// watchLogging re-reads the logging configuration whenever a logging.* key
// changes (logconfig.c:main_logging_notify), e.g. corosync-cmapctl -s logging.debug
// str on. A configuration with bad values is ignored, as corosync ignores it.
func (d *Daemon) watchLogging(cur corolog.Config, file *os.File) {
	child := os.Getenv(childEnv) != ""
	logfile := cur.Logfile
	_, _ = d.Cmap.Watch("logging.", cmap.TrackAdd|cmap.TrackDelete|cmap.TrackModify|cmap.TrackPrefix,
		func(ic *cmap.Store, _ cmap.Event) {
			keys := map[string]string{}
			for _, k := range ic.Keys("logging.") {
				if v, err := ic.Get(k); err == nil && v.Type == conf.TypeString {
					keys[k] = string(v.Data)
				}
			}
			c, err := corolog.ConfigFromKeys(keys)
			if err != nil {
				d.Log.Debugf("Ignoring logging configuration change: %v", err)
				return
			}
			if child {
				c.Global.ToStderr = false
				for k, t := range c.Subsys {
					t.ToStderr = false
					c.Subsys[k] = t
				}
			}
			if c.Logfile != logfile && c.Logfile != "" {
				if f, err := os.OpenFile(c.Logfile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
					d.Sink.SetFile(f)
					if file != nil {
						file.Close()
					}
					file, logfile = f, c.Logfile
				}
			}
			d.Sink.SetConfig(c)
		})
}

// loggingConfig reads the logging.* string keys the way logconfig.c does.
func loggingConfig(m *conf.Map) corolog.Config {
	keys := map[string]string{}
	for _, k := range m.Keys("logging.") {
		if s, ok := m.String(k); ok {
			keys[k] = s
		}
	}
	c, err := corolog.ConfigFromKeys(keys)
	if err != nil {
		// conf has already refused bad values (exit 7); fall back to defaults.
		return corolog.DefaultConfig()
	}
	return c
}

func anyToLogfile(c corolog.Config) bool {
	if c.Global.ToLogfile {
		return true
	}
	for _, t := range c.Subsys {
		if t.ToLogfile {
			return true
		}
	}
	return false
}

// syslogWriter returns the syslog destination, or nil when there is no syslog
// daemon to talk to (containers, tests).
func syslogWriter(facility string) func(corolog.Priority, string) {
	fac := map[string]syslog.Priority{"daemon": syslog.LOG_DAEMON, "user": syslog.LOG_USER, "local0": syslog.LOG_LOCAL0,
		"local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3, "local4": syslog.LOG_LOCAL4,
		"local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7, "auth": syslog.LOG_AUTH,
		"authpriv": syslog.LOG_AUTHPRIV, "cron": syslog.LOG_CRON, "kern": syslog.LOG_KERN, "lpr": syslog.LOG_LPR,
		"mail": syslog.LOG_MAIL, "news": syslog.LOG_NEWS, "syslog": syslog.LOG_SYSLOG, "uucp": syslog.LOG_UUCP,
		"ftp": syslog.LOG_FTP}[facility]
	w, err := syslog.New(fac|syslog.LOG_INFO, "corosync")
	if err != nil {
		return nil
	}
	var mu sync.Mutex
	return func(p corolog.Priority, line string) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case p <= corolog.Crit:
			_ = w.Crit(line)
		case p == corolog.Error:
			_ = w.Err(line)
		case p == corolog.Warning:
			_ = w.Warning(line)
		case p == corolog.Notice:
			_ = w.Notice(line)
		case p == corolog.Info:
			_ = w.Info(line)
		default:
			_ = w.Debug(line)
		}
	}
}

// acquireLock takes corosync's pid lock file (exec/main.c:corosync_flock).
func acquireLock(path string, l *corolog.Logger) (func(), int) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		l.Errorf("Corosync Executive couldn't create lock file.")
		return nil, exitAcquireLock
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o640)
	if err != nil {
		l.Errorf("Corosync Executive couldn't create lock file.")
		return nil, exitAcquireLock
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			l.Errorf("Another Corosync instance is already running.")
			return nil, exitAlreadyRunning
		}
		l.Errorf("Corosync Executive couldn't acquire lock. Error was %s", strerror(err))
		return nil, exitAcquireLock
	}
	_ = f.Truncate(0)
	_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return func() {
		os.Remove(path)
		f.Close()
	}, exitOK
}

// detach starts the daemon again in the background (corosync_tty_detach: a new
// session, standard streams on /dev/null) and returns 0 once it is started.
func detach(o Options, l *corolog.Logger) int {
	exe, err := os.Executable()
	if err != nil {
		l.Errorf("Could not fork: %v", err)
		return exitError(l, 4, "")
	}
	args := []string{"-f", "-c", o.ConfigPath}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		l.Errorf("Could not fork: %v", err)
		return exitError(l, 4, "")
	}
	_ = cmd.Process.Release()
	return exitOK
}

func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return string(s[0]-'a'+'A') + s[1:]
		}
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return strerror(pe.Err)
	}
	return err.Error()
}

// sortedEngines returns the engines in load order.
func sortedEngines(es []*Engine) []*Engine {
	out := append([]*Engine(nil), es...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].LoadOrder < out[j].LoadOrder })
	return out
}
