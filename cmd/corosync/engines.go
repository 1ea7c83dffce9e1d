package main

import (
	"context"
	"fmt"
	"sort"

	"ringmaster/ipc"
)

// Engine is one corosync service engine (exec/service.c: struct
// corosync_service_engine): an id, a name that is also its IPC name, the text
// corosync logs when it loads, and its hooks. The ring, CPG, quorum, votequorum
// and cfg engines are added to engineList as they are written; each reaches the
// maps, the log and the shared lock through the *Daemon.
type Engine struct {
	ID   uint16
	Name string // short name: the IPC name and runtime.services.<Name>
	Desc string // "corosync configuration map access"
	// LoadOrder and UnloadOrder are corosync's: it loads by engine priority
	// (cmap, cfg, cpg, pload, mon, wd, votequorum, quorum) and unloads in
	// another order (votequorum, cmap, cfg, cpg, quorum, pload, mon, wd).
	LoadOrder   int
	UnloadOrder int
	// Init runs before the IPC server starts (exec_init_fn). It may fail.
	Init func(d *Daemon) error
	// Handler returns the IPC handler; nil means the engine has no IPC
	// ("NOT Initializing IPC on pload [4]").
	Handler func(d *Daemon) ipc.Handler
	// Exit runs after the IPC server is withdrawn (exec_exit_fn).
	Exit func(d *Daemon)
	// Dump logs the engine's state on SIGUSR2 (exec_dump_fn); may be nil.
	Dump func(d *Daemon)
	// Skip, if set and true, leaves the engine out (votequorum without a
	// quorum provider is never loaded).
	Skip func(d *Daemon) bool

	server *ipc.Server
	done   chan struct{}
}

// engineList returns the engines this corosync serves. Without a ring only cmap
// is served; the other engines' keys (internal_configuration.service.N,
// runtime.services.*) are still written by package conf so the key tree matches.
func engineList() []*Engine {
	es := []*Engine{
		{
			ID: 0, Name: "cmap", Desc: "corosync configuration map access", LoadOrder: 0, UnloadOrder: 1,
			Handler: func(d *Daemon) ipc.Handler { return d.Cmap },
		},
	}
	// cfg, cpg, quorum and votequorum: services_ipc.go.
	return append(es, ipcServiceEngines()...)
}

// ipcTransport is cs_get_ipc_type: system.qb_ipc_type native|shm|socket.
func (d *Daemon) ipcTransport() ipc.Transport {
	log := d.Log.Func("cs_get_ipc_type")
	s, ok := d.Config.Map.String("system.qb_ipc_type")
	if !ok {
		log.Debugf("No configured system.qb_ipc_type. Using native ipc")
		return ipc.SHM
	}
	switch s {
	case "native", "shm":
		log.Debugf("Using %s ipc", s)
		return ipc.SHM
	case "socket":
		log.Debugf("Using %s ipc", s)
		return ipc.Socket
	}
	log.Debugf("Unknown ipc type %s", s)
	return ipc.SHM
}

// loadEngines initialises every engine and starts its IPC server, logging what
// corosync logs (corosync_service_link_and_init, cs_ipcs_service_init).
func (d *Daemon) loadEngines(ctx context.Context) error {
	serv := d.Sink.Logger("SERV").Func("corosync_service_link_and_init")
	qb := d.Sink.Logger("QB").Func("qb_ipcs_us_publish")
	ipcLog := d.Log.Func("cs_ipcs_service_init")
	for _, e := range sortedEngines(engineList()) {
		if e.Skip != nil && e.Skip(d) {
			continue
		}
		if e.Init != nil {
			if err := e.Init(d); err != nil {
				return fmt.Errorf("Service engine '%s' failed to load for reason '%v'", e.Desc, err)
			}
		}
		d.engines = append(d.engines, e)
		serv.Noticef("Service engine loaded: %s [%d]", e.Desc, e.ID)
		if e.Handler == nil {
			ipcLog.Debugf("NOT Initializing IPC on %s [%d]", e.Name, e.ID)
			continue
		}
		ipcLog.Debugf("Initializing IPC on %s [%d]", e.Name, e.ID)
		t := d.ipcTransport()
		srv, err := ipc.NewServer(e.Name, e.Handler(d), ipc.ServerOptions{
			Transport: ipc.Fixed(t),
			Lock:      d.Lock,
			Logf:      d.Sink.Logger("QB").Printf,
		})
		if err != nil {
			return fmt.Errorf("Can't initialize IPC: %v", err)
		}
		qb.Infof("server name: %s", e.Name)
		e.server = srv
		e.done = make(chan struct{})
		go func(e *Engine) {
			defer close(e.done)
			if err := e.server.Serve(ctx); err != nil {
				d.Log.Errorf("IPC server %s stopped: %v", e.Name, err)
			}
		}(e)
	}
	return nil
}

// unloadEngines withdraws the IPC servers and runs the exit hooks, in corosync's
// unload order (corosync_service_unlink_all).
func (d *Daemon) unloadEngines() {
	serv := d.Sink.Logger("SERV").Func("corosync_service_unlink_and_exit")
	qb := d.Sink.Logger("QB").Func("qb_ipcs_us_withdraw")
	d.Sink.Logger("SERV").Func("corosync_service_unlink_all").Noticef("Unloading all Corosync service engines.")
	es := append([]*Engine(nil), d.engines...)
	sort.SliceStable(es, func(i, j int) bool { return es[i].UnloadOrder < es[j].UnloadOrder })
	for _, e := range es {
		if e.server != nil {
			qb.Infof("withdrawing server sockets")
			_ = e.server.Close()
			<-e.done
		}
		if e.Exit != nil {
			e.Exit(d)
		}
		serv.Noticef("Service engine unloaded: %s", e.Desc)
	}
	d.engines = nil
}
