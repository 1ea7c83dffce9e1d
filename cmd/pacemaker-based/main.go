// Command pacemaker-based is the CIB manager: it keeps the cluster
// configuration and status (package cib), persists it in
// /var/lib/pacemaker/cib, and serves it to Pacemaker's tools and daemons over
// the cib_ro, cib_rw and cib_shm IPC services. Stand-alone (the default
// here) it serves one node; with --stand-alone=false it replicates over
// corosync CPG (cluster.go).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

func main() {
	var cfg config
	fs := pflag.NewFlagSet("pacemaker-based", pflag.ContinueOnError)
	fs.StringVarP(&cfg.cibDir, "cib-root", "r", "/var/lib/pacemaker/cib", "directory of cib.xml")
	fs.BoolVarP(&cfg.standAlone, "stand-alone", "s", true, "run without the cluster layer (no CPG replication)")
	fs.BoolVarP(&cfg.diskWrites, "disk-writes", "w", true, "write configuration changes to disk")
	fs.StringVar(&cfg.nodeName, "node-name", "", "this node's name (default: the host name)")
	fs.Uint32Var(&cfg.ipcBuffer, "ipc-buffer", 1<<20, "minimum IPC buffer negotiated with clients, in bytes")
	verbose := fs.CountP("verbose", "V", "increase debug output")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(64)
	}
	level := slog.LevelInfo
	if *verbose > 0 {
		level = slog.LevelDebug
	}
	cfg.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if cfg.nodeName == "" {
		cfg.nodeName, _ = os.Hostname()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "pacemaker-based: %v\n", err)
		os.Exit(1)
	}
}
