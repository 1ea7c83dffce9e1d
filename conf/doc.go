// Package conf reads corosync.conf exactly as corosync 3.1.7 does and
// produces what the daemon holds after reading it: the typed configuration,
// the cmap key tree, the start-up warnings and, for a refused file,
// corosync's own error text and exit code.
//
// # Reading
//
//	c, warnings, err := conf.Load("/etc/corosync/corosync.conf", conf.SystemEnv())
//
// Load runs the stages of corosync's start-up in order, each with the rules
// and words of the C code it mirrors:
//
//  1. parse (exec/coroparse.c): line syntax, typed keys with range checks,
//     allowed values, the interface/logger_subsys/logging_daemon/member
//     sections, nodelist numbering, then uidgid.d beside the file.
//     Errors: "parser error: FILE:LINE: reason", exit 8.
//  2. logging (exec/logconfig.c): value checks only (opening the log file is
//     the daemon's job). Errors: "parse error in config: reason.", exit 7.
//  3. totem read (exec/totemconfig.c:totem_config_read): transport, crypto
//     and authkey, local node discovery, bindnetaddr rewrite, generated
//     nodeids, links, runtime timers. Errors logged, exit 8 at main.c:1417.
//  4. totem validate (totem_config_validate): exit 8 at main.c:1445.
//
// The error is an *Error (Stage, File, Line, Key, Msg, ExitCode(), Where()).
// Warnings are the ones corosync logs ("interface section bindnetaddr is used
// together with nodelist. Nodelist one is going to be used.", "Please
// migrate config file to nodelist.", ...) plus Ringmaster's own advice
// (Warning.Ours, e.g. a group-readable authkey), which `corosync -t` omits.
//
// Everything outside the file comes from an Env: uname nodename, interface
// addresses, getaddrinfo/getnameinfo, users and groups, file reads. Tests
// use HostsEnv (a fixed host and an /etc/hosts text).
//
// # corosync -t
//
// Test / TestResult give the exact lines `corosync -t` prints (raw parser
// lines, or log records formatted by the file's timestamp and
// function_name settings, debug records when logging.debug is on) and the
// exit code. cmd/corosync prints TestOutput.Format(time.Now()).
//
// # The cmap key tree
//
// Config.Map holds the configuration keys with corosync's types (unknown
// keys as str), the keys corosync writes back (totem.interface.N.bindnetaddr,
// nodelist.node.N.nodeid, nodelist.local_node_pos, udp mcastaddr/mcastport)
// and runtime.config.totem.*. Config.ServiceKeys adds what the service
// engines write at load (internal_configuration.*, runtime.services.*.service_id,
// runtime.blackbox.*, runtime.force_gather, resources.*). Config.Keys returns
// both, sorted as corosync-cmapctl prints. Config.CounterKeys seeds the
// runtime.services.<svc>.<n>.rx/tx counters at zero. The live keys —
// runtime.members.*, runtime.votequorum.*, counters, the stats map — belong
// to the daemon.
//
// # Editing
//
// Parse returns a syntax tree that keeps every line; File.Format gives the
// input bytes back unchanged, and Node.Set/Delete/AddSection edit it in
// place keeping comments, order, indentation and line endings.
//
// # Quirks reproduced (see conformance/corosync/README.md)
//
// Trailing "# x" is part of the value; quotes are kept; a '{' anywhere makes
// a section line; interface.ringnumber lands as totem.interface.ringnumber;
// the first of two duplicate keys in a logger_subsys section wins; nodes
// with nothing but ring0_addr are counted twice on udp/udpu (token grows
// accordingly); "none" is not an accepted knet_compression_model value.
// Where corosync aborts on an assertion (an unparsable totem.config_version
// or resources poll_period), we refuse the file with a range message.
package conf
