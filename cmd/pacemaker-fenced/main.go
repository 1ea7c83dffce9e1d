// Command pacemaker-fenced is the fencer: it serves the "stonith-ng" IPC
// service (registration, notifications, fencing history, device queries,
// fencing requests) from package fencing's machine, and joins the
// stonith-ng CPG group when corosync runs. Fence agents are not run yet:
// a fencing request fails with "No such device".
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ringmaster/cib"
	"ringmaster/fencing"
	"ringmaster/internal/pcmkipc"
	"ringmaster/ipc"
)

func main() {
	fs := pflag.NewFlagSet("pacemaker-fenced", pflag.ContinueOnError)
	standAlone := fs.BoolP("stand-alone", "s", false, "run without the cluster layer (no CPG)")
	nodeName := fs.String("node-name", "", "this node's name (default: the host name)")
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
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("daemon", "pacemaker-fenced")
	if *nodeName == "" {
		*nodeName, _ = os.Hostname()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, *nodeName, *standAlone, log); err != nil {
		fmt.Fprintf(os.Stderr, "pacemaker-fenced: %v\n", err)
		os.Exit(1)
	}
}

type daemon struct {
	mu      sync.Mutex
	f       *fencing.Fencer
	conns   map[string]*ipc.Conn
	ids     map[*ipc.Conn]string
	eventID atomic.Int32
	log     *slog.Logger
	cpg     *pcmkipc.Group
	node    string
}

func run(ctx context.Context, node string, standAlone bool, log *slog.Logger) error {
	d := &daemon{f: fencing.New(node), conns: map[string]*ipc.Conn{}, ids: map[*ipc.Conn]string{}, log: log, node: node}
	srv, err := ipc.NewServer("stonith-ng", d, ipc.ServerOptions{Lock: &d.mu, MinMsgSize: 128 * 1024})
	if err != nil {
		return err
	}
	if !standAlone {
		if err := d.joinCPG(ctx); err != nil {
			log.Warn("not joining the stonith-ng CPG group", "err", err)
		}
	}
	log.Info("fencer ready", "node", node, "cluster", d.cpg != nil)
	go srv.Serve(ctx)
	<-ctx.Done()
	srv.Close()
	if d.cpg != nil {
		d.cpg.Close()
	}
	log.Info("fencer stopped")
	return nil
}

// joinCPG joins stonith-ng (name with its NUL, as Pacemaker does) and
// pokes the group as a starting fencer does.
func (d *daemon) joinCPG(ctx context.Context) error {
	g, err := pcmkipc.JoinGroup(ctx, "stonith-ng\x00", pcmkipc.CPGTypeStonithNG, d.node, func(ev pcmkipc.GroupEvent) {
		if ev.Msg == nil {
			return
		}
		x, err := cib.ParseXML(ev.Msg.Msg.XML)
		if err != nil {
			return
		}
		d.mu.Lock()
		d.apply(d.f.Deliver(ev.Msg.Msg.Sender.Uname, x))
		d.mu.Unlock()
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.cpg = g
	d.send(fencing.PeerMessage{XML: fencing.Poke()})
	d.mu.Unlock()
	return nil
}

// send multicasts one message; called with d.mu held.
func (d *daemon) send(pm fencing.PeerMessage) {
	if d.cpg == nil {
		return
	}
	if err := d.cpg.Send(pm.To, []byte(cib.Serialize(pm.XML, false))); err != nil {
		d.log.Warn("CPG send failed", "err", err)
	}
}

func (d *daemon) apply(eff fencing.Effects) {
	for _, m := range eff.Send {
		conn := d.conns[m.ClientID]
		if conn == nil {
			continue
		}
		id := m.ReqID
		if m.Event {
			id = d.eventID.Add(1)
		}
		out, err := pcmkipc.Encode(id, m.Flags, []byte(cib.Serialize(m.XML, false)), conn.MaxMsgSize())
		if err != nil {
			d.log.Warn("reply too large for client", "conn", conn.String(), "err", err)
			continue
		}
		if m.Event {
			_ = conn.SendEvent(out)
		} else {
			_ = conn.Respond(out)
		}
	}
	for _, pm := range eff.CPG {
		d.send(pm)
	}
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func privileged(c ipc.Creds) bool {
	if c.UID == 0 {
		return true
	}
	u, err := user.Lookup("hacluster")
	return err == nil && u.Uid == strconv.FormatUint(uint64(c.UID), 10)
}

func (d *daemon) Accept(c *ipc.Conn) error {
	id := newID()
	d.conns[id] = c
	d.ids[c] = id
	d.f.Connect(id, int(c.Creds().PID), privileged(c.Creds()))
	return nil
}

func (d *daemon) Closed(c *ipc.Conn) {
	id := d.ids[c]
	delete(d.ids, c)
	delete(d.conns, id)
	d.f.Disconnect(id)
}

func (d *daemon) Request(c *ipc.Conn, msg []byte) {
	hdr, payload, err := pcmkipc.Decode(msg)
	if err != nil {
		d.log.Debug("dropping malformed request", "conn", c.String(), "err", err)
		return
	}
	req, err := cib.ParseXML(payload)
	if err != nil {
		if hdr.Flags&pcmkipc.FlagClientResponse != 0 {
			if out, err := pcmkipc.Encode(hdr.ID, hdr.Flags|pcmkipc.FlagServerFree,
				[]byte(`<nack function="st_ipc_dispatch" line="0" status="76"/>`), c.MaxMsgSize()); err == nil {
				_ = c.Respond(out)
			}
		}
		return
	}
	now := time.Now()
	d.apply(d.f.Request(d.ids[c], hdr.ID, hdr.Flags, req, now.Unix(), int64(now.Nanosecond()), newID()))
}
