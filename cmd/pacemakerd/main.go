// Command pacemakerd is Pacemaker's launcher: it starts the subdaemons
// that are installed beside it (package pacemakerd's table, in order),
// respawns them with back-off, stops them in reverse order on SIGTERM or
// an IPC "quit", and answers the "pacemakerd" IPC service's ping with its
// state (crm_mon asks it first).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ringmaster/cib"
	"ringmaster/internal/pcmkipc"
	"ringmaster/ipc"
	"ringmaster/pacemakerd"
)

func main() {
	fs := pflag.NewFlagSet("pacemakerd", pflag.ContinueOnError)
	fs.BoolP("foreground", "f", true, "run in the foreground (always)")
	verbose := fs.CountP("verbose", "V", "increase debug output")
	dirs := fs.StringSlice("daemon-dir", nil, "where the subdaemons are (default: pacemakerd's own directory)")
	logFile := fs.String("logfile", "/var/log/pacemaker/pacemaker.log", "log file (\"\" or \"none\": stderr only)")
	nodeName := fs.String("node-name", "", "this node's name (default: from corosync's nodelist, else the host name)")
	standAlone := fs.BoolP("stand-alone", "s", false, "start the subdaemons without the cluster layer")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(64)
	}
	if len(*dirs) == 0 {
		if exe, err := os.Executable(); err == nil {
			*dirs = []string{filepath.Dir(exe)}
		}
	}
	id := pacemakerd.LocalIdentity(2 * time.Second)
	if *nodeName != "" {
		id.NodeName = *nodeName
	}
	var out io.Writer = os.Stderr
	if *logFile != "" && *logFile != "none" {
		_ = os.MkdirAll(filepath.Dir(*logFile), 0o755)
		if f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o660); err == nil {
			defer f.Close()
			out = io.MultiWriter(os.Stderr, f)
		} else {
			fmt.Fprintf(os.Stderr, "pacemakerd: cannot open %s: %v\n", *logFile, err)
		}
	}
	log := pacemakerd.NewLog(out, "pacemakerd", id.NodeName, os.Getpid(), nil)
	log.SetDebug(*verbose > 0)
	log.Notice("main", "Starting Pacemaker 2.1.5 | build=ringmaster features: corosync-native")
	if id.FromCmap {
		log.Info("main", "Cluster name %q, node name %q (from corosync)", id.ClusterName, id.NodeName)
	} else {
		log.Info("main", "corosync not reachable: node name %q from uname", id.NodeName)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	sup := pacemakerd.NewSupervisor(pacemakerd.Options{
		Dirs: *dirs,
		Args: func(name, path string) []string {
			// Our flags go to our daemons only (the first directory);
			// Pacemaker's own take none.
			if filepath.Dir(path) != filepath.Clean((*dirs)[0]) {
				return nil
			}
			switch name {
			case "pacemaker-based", "pacemaker-fenced":
				return []string{"--node-name", id.NodeName, "--stand-alone=" + strconv.FormatBool(*standAlone || !id.FromCmap)}
			}
			return nil
		},
		Probe: func(endpoint string) bool {
			c, err := ipc.Dial(endpoint, ipc.ClientOptions{Timeout: time.Second})
			if err != nil {
				return false
			}
			c.Close()
			return true
		},
		Log:    log,
		Stdout: os.Stderr,
	})
	srv, err := ipc.NewServer("pacemakerd", &handler{sup: sup, log: log}, ipc.ServerOptions{})
	if err != nil {
		log.Err("main", "Could not serve the pacemakerd IPC: %v", err)
		os.Exit(69)
	}
	go srv.Serve(ctx)
	sup.Run(ctx)
	srv.Close()
	log.Notice("crm_exit", "Exiting pacemakerd")
}

type handler struct {
	sup     *pacemakerd.Supervisor
	log     *pacemakerd.Log
	eventID atomic.Int32
}

// privileged is pcmk__client_privileged: root or the hacluster user.
func privileged(c ipc.Creds) bool {
	if c.UID == 0 {
		return true
	}
	if u, err := user.Lookup("hacluster"); err == nil && u.Uid == strconv.FormatUint(uint64(c.UID), 10) {
		return true
	}
	return false
}

func (h *handler) Accept(c *ipc.Conn) error { return nil }
func (h *handler) Closed(c *ipc.Conn)       {}

func (h *handler) Request(c *ipc.Conn, msg []byte) {
	hdr, payload, err := pcmkipc.Decode(msg)
	if err != nil {
		h.log.Debug("pcmk_ipc_dispatch", "Dropping malformed request from %s: %v", c, err)
		return
	}
	req, err := cib.ParseXML(payload)
	if err != nil {
		if pacemakerd.WantsResponse(hdr.Flags) {
			if out, err := pcmkipc.Encode(hdr.ID, hdr.Flags|pcmkipc.FlagServerFree,
				[]byte(`<nack function="pcmk_ipc_dispatch" line="0" status="76"/>`), c.MaxMsgSize()); err == nil {
				_ = c.Respond(out)
			}
		}
		return
	}
	state, progress := h.sup.State()
	a := pacemakerd.Handle(req, hdr.Flags, state, progress, privileged(c.Creds()))
	if pacemakerd.WantsResponse(hdr.Flags) && a.Ack != nil {
		if out, err := pcmkipc.Encode(hdr.ID, a.AckFlags, []byte(cib.Serialize(a.Ack, false)), c.MaxMsgSize()); err == nil {
			_ = c.Respond(out)
		}
	}
	if a.Reply != nil {
		if out, err := pcmkipc.Encode(h.eventID.Add(1), pacemakerd.ReplyFlags, []byte(cib.Serialize(a.Reply, false)), c.MaxMsgSize()); err == nil {
			_ = c.SendEvent(out)
		}
	}
	if a.Shutdown {
		h.log.Notice("handle_shutdown_request", "Shutting down in response to IPC request %s from %s",
			cib.AttrOr(req, "reference", ""), cib.AttrOr(req, "origin", ""))
		h.sup.Shutdown()
	}
}
