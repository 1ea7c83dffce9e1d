// Command pacemaker-execd is the executor: it serves the "lrmd" IPC name and
// runs OCF, LSB and (where present) systemd resource agents for the
// controller and for crm_resource --force-*, one operation per resource at a
// time, with recurring monitors and timeouts (packages lrmd, lrmd/agents,
// lrmd/execd).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ringmaster/lrmd/agents"
	"ringmaster/lrmd/execd"
)

func main() {
	fs := pflag.NewFlagSet("pacemaker-execd", pflag.ContinueOnError)
	verbose := fs.CountP("verbose", "V", "increase debug output")
	logfile := fs.StringP("logfile", "l", envOr("PCMK_logfile", "/var/log/pacemaker/pacemaker.log"), `detail log (besides stderr); "none" for none`)
	name := fs.String("ipc-name", "lrmd", "IPC service name to serve")
	ocfRoot := fs.String("ocf-root", envOr("OCF_ROOT", agents.DefaultOCFRoot), "OCF root (exported to agents as OCF_ROOT)")
	raPath := fs.String("ocf-ra-path", os.Getenv("OCF_RA_PATH"), "colon-separated agent directories (default OCF_ROOT/resource.d)")
	lsbDir := fs.String("lsb-dir", agents.DefaultLSBDir, "directory of LSB init scripts")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(64)
	}
	var out io.Writer = os.Stderr
	var logErr error
	if *logfile != "" && !strings.EqualFold(*logfile, "none") {
		f, err := os.OpenFile(*logfile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o660)
		if err == nil {
			defer f.Close()
			out = io.MultiWriter(os.Stderr, f)
			// setenv_logfile: some agents log only when this is set.
			if os.Getenv("PCMK_logfile") == "" {
				os.Setenv("PCMK_logfile", *logfile)
				os.Setenv("HA_logfile", *logfile)
			}
		} else {
			logErr = err
		}
	}
	logf := newLogger(out, *verbose > 0)
	if logErr != nil {
		logf("warning: Logging to '%s' is disabled: %v", *logfile, logErr)
	}
	exportAgentEnv()
	// Temporary directory for resource agents (CRM_RSCTMP_DIR).
	if err := os.MkdirAll("/run/resource-agents", 0o755); err != nil {
		logf("warning: Could not create resource agent temporary directory /run/resource-agents: %v", err)
	}

	cfg := agents.Config{OCFRoot: *ocfRoot, LSBDir: *lsbDir}
	if *raPath != "" {
		cfg.OCFRAPath = filepath.SplitList(*raPath)
	}
	ag := agents.New(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logf("notice: Starting Pacemaker local executor")
	srv, err := execd.New(execd.Options{Name: *name, Agents: ag, Logf: logf})
	if err != nil {
		logf("error: Failed to create IPC server: shutting down and inhibiting respawn")
		fmt.Fprintf(os.Stderr, "pacemaker-execd: %v\n", err)
		os.Exit(100) // CRM_EX_FATAL: pacemakerd must not respawn us
	}
	logf("notice: Pacemaker local executor successfully started and accepting connections")
	logf("notice: OCF resource agent search path is %s", strings.Join(ag.Config().OCFRAPath, ":"))
	if err := srv.Serve(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "pacemaker-execd: %v\n", err)
		os.Exit(1)
	}
	logf("info: Terminating with 0 clients")
}

// exportAgentEnv sets what agents inherit from a Pacemaker executor
// (crm_log_init and pacemaker-execd.c main @2.1.5): PCMK_service, the log
// facility under both prefixes, HA_LOGFACILITY/HA_LOGFILE/HA_DEBUGLOG for
// ocf_log, and no NOTIFY_SOCKET.
func exportAgentEnv() {
	os.Setenv("PCMK_service", "pacemaker-execd")
	facility := envOr("PCMK_logfacility", os.Getenv("HA_logfacility"))
	if facility == "" {
		facility = "daemon"
		os.Setenv("PCMK_logfacility", facility)
		os.Setenv("HA_logfacility", facility)
	}
	if !strings.EqualFold(facility, "none") && facility != "/dev/null" {
		os.Setenv("HA_LOGFACILITY", facility)
	}
	if lf := envOr("PCMK_logfile", os.Getenv("HA_logfile")); lf != "" && !strings.EqualFold(lf, "none") {
		os.Setenv("HA_LOGFILE", lf)
		switch strings.ToLower(envOr("PCMK_debug", os.Getenv("HA_debug"))) {
		case "1", "yes", "true", "on", "pacemaker-execd":
			os.Setenv("HA_DEBUGLOG", lf)
		}
	}
	os.Unsetenv("NOTIFY_SOCKET")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// newLogger writes lines in the layout of Pacemaker's detail log:
// "Nov 23 19:30:00.123 node1 pacemaker-execd     [1234] (execd) notice: ...".
// Messages start with their level ("notice: "); debug ones are dropped
// unless debug is set.
func newLogger(w io.Writer, debug bool) func(string, ...any) {
	host, _ := os.Hostname()
	pid := os.Getpid()
	var mu sync.Mutex
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if !debug && (strings.HasPrefix(msg, "debug:") || strings.HasPrefix(msg, "trace:")) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s %s pacemaker-execd     [%d] (execd) \t%s\n",
			time.Now().Format("Jan 02 15:04:05.000"), host, pid, msg)
	}
}
