package conf

import (
	"fmt"
	"sort"
)

// The cmap key tree right after start-up is made of three parts:
//
//  1. Config.Map: the configuration keys (coroparse), what totem_config_read
//     writes back (totem.interface.N.bindnetaddr, nodelist.node.N.nodeid,
//     nodelist.local_node_pos, udp mcastaddr/mcastport) and
//     runtime.config.totem.* — all decided by the file and the host.
//  2. ServiceKeys: what the services write when they load, which depends on
//     the configuration only through quorum.provider (and resources.*
//     poll periods): internal_configuration.service.N.{name,ver},
//     runtime.services.<svc>.service_id, runtime.blackbox.*,
//     runtime.force_gather, resources.* (mon/wd initial state).
//  3. Live keys, owned by the daemon, not produced here:
//     runtime.members.* (membership), runtime.votequorum.* (quorum state),
//     runtime.services.<svc>.<msg>.rx/tx (message counters, one pair per
//     service message handler), the stats map (corosync-cmapctl -m stats),
//     and anything written later through the cmap IPC.
//
// Keys returns parts 1 and 2 merged and sorted as corosync-cmapctl prints.

// Service is one corosync service engine as exec/service.c loads them.
type Service struct {
	ID   uint16
	Name string // short name used under runtime.services.
	// Handlers is the number of executive message handlers: corosync
	// creates runtime.services.<Name>.<n>.rx/tx for n < Handlers.
	Handlers int
}

// Services are the engines corosync 3.1.7 loads, in service-id order.
// votequorum is loaded only with quorum.provider = corosync_votequorum.
var Services = []Service{
	{0, "cmap", 1},
	{1, "cfg", 5},
	{2, "cpg", 7},
	{3, "quorum", 0},
	{4, "pload", 2},
	{5, "votequorum", 4},
	{6, "mon", 0},
	{7, "wd", 0},
}

// LoadedServices returns the services a configuration loads.
func (c *Config) LoadedServices() []Service {
	var out []Service
	for _, s := range Services {
		if s.Name == "votequorum" && c.Quorum.Provider != "corosync_votequorum" {
			continue
		}
		out = append(out, s)
	}
	return out
}

// ServiceKeys returns the keys the services write when they load.
func (c *Config) ServiceKeys() []KV {
	var kv []KV
	add := func(k string, v Value) { kv = append(kv, KV{k, v}) }
	for _, s := range c.LoadedServices() {
		add(fmt.Sprintf("internal_configuration.service.%d.name", s.ID), Str("corosync_"+s.Name))
		add(fmt.Sprintf("internal_configuration.service.%d.ver", s.ID), U32(0))
		add(fmt.Sprintf("runtime.services.%s.service_id", s.Name), U16(s.ID))
	}
	add("runtime.blackbox.dump_flight_data", Str("no"))
	add("runtime.blackbox.dump_state", Str("no"))
	add("runtime.force_gather", Str("no"))
	// exec/mon.c: both monitors start "stopped" (no thresholds configured).
	// mon_instance_init reads poll_period as a string, but coroparse stores
	// a configured one as u64, so corosync always overwrites it with its
	// 3000 ms default — only a str value that scans as a number survives.
	for _, r := range []struct {
		name string
		cur  Value
	}{{"load_15min", Double(0)}, {"memory_used", Int(TypeI32, 0)}} {
		p := "resources.system." + r.name + "."
		add(p+"current", r.cur)
		add(p+"last_updated", U64(0))
		if v, ok := c.Map.String(p + "poll_period"); !ok || !scansUint64(v) {
			add(p+"poll_period", U64(3000))
		}
		add(p+"state", Str("stopped"))
	}
	// exec/wd.c: watchdog_timeout is 6 s unless a u32 in 2..120 is set.
	if v, ok := c.Map.Uint32("resources.watchdog_timeout"); !ok || v < 2 || v > 120 {
		add("resources.watchdog_timeout", U32(6))
	}
	return kv
}

// CounterKeys returns the runtime.services.<svc>.<n>.rx/tx counters at zero,
// for the daemon to seed its live map with.
func (c *Config) CounterKeys() []KV {
	var kv []KV
	for _, s := range c.LoadedServices() {
		for i := 0; i < s.Handlers; i++ {
			kv = append(kv, KV{fmt.Sprintf("runtime.services.%s.%d.rx", s.Name, i), U64(0)},
				KV{fmt.Sprintf("runtime.services.%s.%d.tx", s.Name, i), U64(0)})
		}
	}
	return kv
}

// Keys returns the configuration-determined cmap keys (Map and ServiceKeys),
// sorted by key name as corosync-cmapctl prints them.
func (c *Config) Keys() []KV {
	m := c.Map.Clone()
	for _, kv := range c.ServiceKeys() {
		m.Set(kv.Key, kv.Value)
	}
	return m.All()
}

// SortKV sorts entries by key name in cmap order.
func SortKV(kv []KV) {
	sort.Slice(kv, func(i, j int) bool { return kv[i].Key < kv[j].Key })
}

// scansUint64 reports whether sscanf(s, "%" PRIu64) finds a number: optional
// white space and sign, then at least one digit.
func scansUint64(s string) bool {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	return i < len(s) && s[i] >= '0' && s[i] <= '9'
}
