package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/internal/pcmkipc"
	"ringmaster/ipc"
)

type config struct {
	cibDir     string
	standAlone bool
	diskWrites bool
	nodeName   string
	ipcBuffer  uint32
	log        *slog.Logger
}

// daemon wires the pure cib.Manager to IPC and disk. Every handler call
// runs under one lock shared by the three servers, so the manager sees one
// request at a time.
type daemon struct {
	cfg     config
	mgr     *cib.Manager
	store   *cib.Store
	mu      sync.Mutex
	conns   map[string]*ipc.Conn
	ids     map[*ipc.Conn]string
	eventID atomic.Int32
	group   *pcmkipc.Group // the cib CPG group, when not stand-alone
}

// loadCIB follows based_io.c readCibXmlFile: the primary copy or the newest
// good backup, else an empty configuration (a later write over an unusable
// file is refused by the store, so nothing on disk is lost); the status
// section is always rebuilt; missing version fields default to 0 and
// dc-uuid is dropped. A CIB that does not validate is kept but every
// request is answered with the validation error (cib_status).
func loadCIB(store *cib.Store, eng *cib.Engine, log *slog.Logger) (*etree.Element, cib.Rc) {
	root, from, err := store.Load()
	switch {
	case errors.Is(err, cib.ErrNoCIB):
		log.Info("no CIB on disk, starting with an empty one", "dir", store.Dir)
		return cib.EmptyCIB(0), cib.OK
	case err != nil:
		log.Warn("primary configuration and backups unusable, continuing with an empty configuration", "err", err)
		return cib.EmptyCIB(0), cib.OK
	}
	log.Info("read cluster configuration", "file", from,
		"version", cib.AttrOr(root, "admin_epoch", "0")+"."+cib.AttrOr(root, "epoch", "0")+"."+cib.AttrOr(root, "num_updates", "0"))
	if st := cib.FirstChild(root, "status"); st != nil {
		root.RemoveChild(st)
	}
	root.CreateElement("status")
	for _, f := range []string{"admin_epoch", "epoch", "num_updates"} {
		if _, ok := cib.Attr(root, f); !ok {
			cib.SetAttr(root, f, "0")
		}
	}
	cib.RemoveAttr(root, "dc-uuid")
	if err := cib.CheckStructure(root); err != nil {
		log.Error("CIB does not validate", "err", err)
		return root, cib.ErrSchemaValidation
	}
	if eng.Validate != nil {
		if err := eng.Validate(root); err != nil {
			log.Error("CIB does not validate", "err", err)
			return root, cib.ErrSchemaValidation
		}
	}
	return root, cib.OK
}

func run(ctx context.Context, cfg config) error {
	eng := &cib.Engine{}
	if v := cib.DefaultSchemaValidator(); v != nil {
		eng.Validate = v.Validate
		eng.Upgrader = v
	} else {
		cfg.log.Warn("xmllint or Pacemaker's schemas not found: structural validation only")
	}
	store := &cib.Store{Dir: cfg.cibDir}
	if u, err := user.Lookup("hacluster"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		store.Chown = &[2]int{uid, gid}
	}
	initial, status := loadCIB(store, eng, cfg.log)
	mgr := cib.NewManager(eng, cfg.nodeName, initial)
	mgr.Status = status
	d := &daemon{
		cfg:   cfg,
		mgr:   mgr,
		store: store,
		conns: map[string]*ipc.Conn{},
		ids:   map[*ipc.Conn]string{},
	}
	if !cfg.standAlone {
		if err := d.startCluster(ctx); err != nil {
			return err
		}
	}
	lock := &d.mu
	var servers []*ipc.Server
	for _, s := range []struct {
		name       string
		privileged bool
	}{{"cib_ro", false}, {"cib_rw", true}, {"cib_shm", true}} {
		srv, err := ipc.NewServer(s.name, &handler{d: d, privileged: s.privileged}, ipc.ServerOptions{
			Lock:       lock,
			MinMsgSize: cfg.ipcBuffer,
			Logf:       func(f string, a ...any) { cfg.log.Debug(fmt.Sprintf(f, a...), "service", s.name) },
		})
		if err != nil {
			for _, o := range servers {
				o.Close()
			}
			return err
		}
		servers = append(servers, srv)
	}
	cfg.log.Info("CIB manager ready", "node", cfg.nodeName, "services", "cib_ro cib_rw cib_shm")
	errc := make(chan error, len(servers))
	for _, srv := range servers {
		go func(srv *ipc.Server) { errc <- srv.Serve(ctx) }(srv)
	}
	<-ctx.Done()
	for _, srv := range servers {
		srv.Close()
	}
	for range servers {
		<-errc
	}
	cfg.log.Info("CIB manager stopped")
	return nil
}

type handler struct {
	d          *daemon
	privileged bool
}

func newClientID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (h *handler) Accept(c *ipc.Conn) error {
	name := strconv.FormatUint(uint64(c.Creds().UID), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	id := newClientID()
	h.d.conns[id] = c
	h.d.ids[c] = id
	h.d.mgr.Connect(id, name, h.privileged)
	return nil
}

func (h *handler) Closed(c *ipc.Conn) {
	id := h.d.ids[c]
	delete(h.d.ids, c)
	delete(h.d.conns, id)
	h.d.mgr.Disconnect(id)
}

func (h *handler) Request(c *ipc.Conn, msg []byte) {
	d := h.d
	hdr, payload, err := pcmkipc.Decode(msg)
	if err != nil {
		d.cfg.log.Debug("dropping malformed request", "conn", c.String(), "err", err)
		return
	}
	req, err := cib.ParseXML(payload)
	if err != nil {
		d.cfg.log.Debug("dropping unparseable request", "conn", c.String(), "err", err)
		if hdr.Flags&pcmkipc.FlagClientResponse != 0 {
			h.respondNack(c, hdr.ID)
		}
		return
	}
	eff := d.mgr.Request(d.ids[c], hdr.ID, hdr.Flags, req)
	if eff.Persist != nil && d.cfg.diskWrites {
		if _, err := d.store.Write(eff.Persist); err != nil {
			d.cfg.log.Error("could not save the CIB", "err", err)
		}
	}
	d.sendClients(eff.Send)
	d.sendPeers(eff.CPG)
}

// sendClients sends the manager's replies and events; called with d.mu held.
func (d *daemon) sendClients(msgs []cib.Message) {
	for _, m := range msgs {
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
			d.cfg.log.Warn("reply too large for client", "conn", conn.String(), "err", err)
			continue
		}
		if m.Event {
			err = conn.SendEvent(out)
		} else {
			err = conn.Respond(out)
		}
		if err != nil {
			d.cfg.log.Debug("send failed", "conn", conn.String(), "err", err)
		}
	}
}

// respondNack answers a request we could not parse (pcmk__ipc_send_ack
// with CRM_EX_PROTOCOL).
func (h *handler) respondNack(c *ipc.Conn, id int32) {
	out, err := pcmkipc.Encode(id, pcmkipc.FlagServerFree,
		[]byte(`<nack function="cib_common_callback" line="0" status="76"/>`), c.MaxMsgSize())
	if err == nil {
		c.Respond(out)
	}
}
