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
	logfile := fs.StringP("logfile", "l", "", "also append log lines to this file")
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
	if *logfile != "" {
		f, err := os.OpenFile(*logfile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o660)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pacemaker-execd: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
		out = io.MultiWriter(os.Stderr, f)
	}
	logf := newLogger(out, *verbose > 0)
	// Agents inherit the daemon's environment; crm_log_init gives a
	// Pacemaker daemon these before anything is forked.
	os.Setenv("PCMK_service", "pacemaker-execd")
	for _, k := range []string{"PCMK_logfacility", "HA_logfacility"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, "daemon")
		}
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
