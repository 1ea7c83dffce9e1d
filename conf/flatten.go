package conf

import (
	"fmt"
	"math"
	"strconv"
)

// This file turns parser events into cmap keys the way corosync 3.1.7
// exec/coroparse.c:main_config_parser_cb does: a handful of known keys get a
// numeric type and a range check, a few get a value check, the interface,
// logger_subsys, logging_daemon and member sections are collected and written
// at their closing brace under computed names, nodelist nodes are numbered,
// and everything else is stored as a string under its dotted path.

// parser states (main_cp_cb_data_state).
const (
	stNormal = iota
	stTotem
	stInterface
	stLoggerSubsys
	stUIDGID
	stLoggingDaemon
	stMember
	stQuorum
	stQDevice
	stNodelist
	stNodelistNode
	stPload
	stSystem
	stResources
	stResourcesSystem
	stResourcesProcess
	stResourcesSystemMemused
	stResourcesProcessMemused
)

type kvItem struct{ key, value string }

// flattener is the state coroparse keeps in struct main_cp_cb_data.
type flattener struct {
	m   *Map
	env *Env

	linknumber        int
	bindnetaddr       *string
	mcastaddr         *string
	broadcast         *string
	mcastport         int
	ttl               int
	knetLinkPriority  int
	knetPingInterval  int64
	knetPingTimeout   int64
	knetPingPrecision int64
	knetPongCount     int64
	knetTransport     *string
	loggerSubsysItems []kvItem // prepended, as qb_list_add does
	subsys            *string
	loggingDaemonName *string
	memberItems       []kvItem // prepended
	nodeNumber        int
	uidgidOnly        bool // the uidgid.d callback (uidgid_config_parser_cb)

	// lines records the source line of every stored key, for error details.
	lines      map[string]int
	ifaceLines map[string]int // interface sub-key → line, until the section ends
}

func (f *flattener) noteLine(key string, line int) {
	if f.lines == nil {
		f.lines = map[string]int{}
	}
	f.lines[key] = line

}

// u32Keys etc. are the keys coroparse types, by parser state.
var totemU32 = setOf("totem.version", "totem.nodeid", "totem.threads", "totem.token",
	"totem.token_coefficient", "totem.token_retransmit", "totem.token_warning", "totem.hold",
	"totem.token_retransmits_before_loss_const", "totem.join", "totem.send_join",
	"totem.consensus", "totem.merge", "totem.downcheck", "totem.fail_recv_const",
	"totem.seqno_unchanged_const", "totem.rrp_token_expired_timeout",
	"totem.rrp_problem_count_timeout", "totem.rrp_problem_count_threshold",
	"totem.rrp_problem_count_mcast_threshold", "totem.rrp_autorecovery_check_timeout",
	"totem.heartbeat_failures_allowed", "totem.max_network_delay", "totem.window_size",
	"totem.max_messages", "totem.miss_count_const", "totem.knet_pmtud_interval",
	"totem.knet_mtu", "totem.knet_compression_threshold", "totem.netmtu")

var quorumU32 = setOf("quorum.expected_votes", "quorum.votes", "quorum.last_man_standing_window",
	"quorum.leaving_timeout")

var quorumU8 = setOf("quorum.two_node", "quorum.expected_votes_tracking", "quorum.allow_downscale",
	"quorum.wait_for_all", "quorum.auto_tie_breaker", "quorum.last_man_standing")

var qdeviceU32 = setOf("quorum.device.timeout", "quorum.device.sync_timeout", "quorum.device.votes")

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// typeRange is safe_atoq_range.
func typeRange(t ValueType) (lo, hi int64) {
	switch t {
	case TypeI8:
		return math.MinInt8, math.MaxInt8
	case TypeU8:
		return 0, math.MaxUint8
	case TypeI16:
		return math.MinInt16, math.MaxInt16
	case TypeU16:
		return 0, math.MaxUint16
	case TypeI32:
		return math.MinInt32, math.MaxInt32
	case TypeU32:
		return 0, math.MaxUint32
	}
	return 0, 0
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// strtoll parses like strtoll(s, &end, 10) followed by the "*end == 0"
// check: leading white space and a sign are allowed, nothing after the digits.
func strtoll(s string) (int64, bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	v, err := strconv.ParseInt(s[i:], 10, 64)
	if err != nil || s[i:] == "" {
		return 0, false
	}
	return v, true
}

// strtoull parses like strtoull(s, &end, 10) with the end check; note that
// C accepts a minus sign and negates in unsigned arithmetic ("-1" is 2^64-1).
func strtoull(s string) (uint64, bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	s = s[i:]
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// safeAtoq is coroparse's safe_atoq.
func safeAtoq(s string, t ValueType) (int64, bool) {
	v, ok := strtoll(s)
	if !ok {
		return 0, false
	}
	lo, hi := typeRange(t)
	if v < lo || v > hi {
		return 0, false
	}
	return v, true
}

func atoiError(key string, t ValueType, value string) string {
	lo, hi := typeRange(t)
	return fmt.Sprintf("Value of key \"%s\" is expected to be integer in range (%d..%d), but \"%s\" was given", key, lo, hi, value)
}

// u64Error is our wording where corosync 3.1.7 dies on an assertion
// (coroparse.c:1477, str_to_ull failure on totem.config_version or
// resources.*.poll_period): a daemon must not crash, so we refuse the file.
func u64Error(key, value string) string {
	return fmt.Sprintf("Value of key \"%s\" is expected to be integer in range (0..18446744073709551615), but \"%s\" was given", key, value)
}

func storeError(key string, err error) string {
	return fmt.Sprintf("Can't store key \"%s\" into icmap, returned error is %s", key, err)
}

func (f *flattener) setInt(key string, t ValueType, value string) string {
	v, ok := safeAtoq(value, t)
	if !ok {
		return atoiError(key, t, value)
	}
	if err := f.m.setChecked(key, Int(t, v)); err != nil {
		return storeError(key, err)
	}
	return ""
}

func (f *flattener) setStr(key, value string) string {
	if err := f.m.setChecked(key, Str(value)); err != nil {
		return storeError(key, err)
	}
	return ""
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func (f *flattener) item(path, key, value string, state int, line int) string {
	if f.uidgidOnly {
		switch path {
		case "uidgid.uid":
			return f.uidgid("uid", value)
		case "uidgid.gid":
			return f.uidgid("gid", value)
		}
		return "uidgid: Only uid and gid are allowed items"
	}
	if len(path) > KeyNameMax {
		return fmt.Sprintf("Can't store path \"%s\" into key_name", path)
	}
	switch state {
	case stNodelistNode:
		f.noteLine(fmt.Sprintf("nodelist.node.%d.%s", f.nodeNumber, key), line)
	case stInterface:
		if f.ifaceLines == nil {
			f.ifaceLines = map[string]int{}
		}
		f.ifaceLines[key] = line
		f.noteLine(path, line)
	default:
		f.noteLine(path, line)
	}
	asString := true
	switch state {
	case stPload:
		if path == "pload.count" || path == "pload.size" {
			if msg := f.setInt(path, TypeU32, value); msg != "" {
				return msg
			}
			asString = false
		}
	case stQuorum:
		if quorumU32[path] {
			if msg := f.setInt(path, TypeU32, value); msg != "" {
				return msg
			}
			asString = false
		}
		if quorumU8[path] {
			if msg := f.setInt(path, TypeU8, value); msg != "" {
				return msg
			}
			asString = false
		}
	case stQDevice:
		if qdeviceU32[path] {
			if msg := f.setInt(path, TypeU32, value); msg != "" {
				return msg
			}
			asString = false
		}
		if path == "quorum.device.master_wins" {
			if msg := f.setInt(path, TypeU8, value); msg != "" {
				return msg
			}
			asString = false
		}
	case stTotem:
		if totemU32[path] {
			if msg := f.setInt(path, TypeU32, value); msg != "" {
				return msg
			}
			asString = false
		}
		switch path {
		case "totem.knet_compression_level":
			if msg := f.setInt(path, TypeI32, value); msg != "" {
				return msg
			}
			asString = false
		case "totem.config_version":
			u, ok := strtoull(value)
			if !ok {
				return u64Error(path, value)
			}
			if err := f.m.setChecked(path, U64(u)); err != nil {
				return storeError(path, err)
			}
			asString = false
		case "totem.ip_version":
			if !oneOf(value, "ipv4", "ipv6", "ipv6-4", "ipv4-6") {
				return "Invalid ip_version type"
			}
		case "totem.crypto_model":
			if !oneOf(value, knetCryptoModels...) {
				return "Invalid crypto model. Should be " + joinModels(knetCryptoModels)
			}
		case "totem.crypto_cipher":
			if !oneOf(value, "none", "aes256", "aes192", "aes128") {
				return "Invalid cipher type. Should be none, aes256, aes192 or aes128"
			}
		case "totem.crypto_hash":
			if !oneOf(value, "none", "md5", "sha1", "sha256", "sha384", "sha512") {
				return "Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512"
			}
		case "totem.knet_compression_model":
			if !oneOf(value, knetCompressModels...) {
				return "Invalid compression model. Should be " + joinModels(knetCompressModels)
			}
		}
	case stSystem:
		switch path {
		case "system.qb_ipc_type":
			if !oneOf(value, "native", "shm", "socket") {
				return "Invalid system.qb_ipc_type"
			}
		case "system.sched_rr":
			if !oneOf(value, "yes", "no") {
				return "Invalid system.sched_rr value"
			}
		case "system.move_to_root_cgroup":
			if !oneOf(value, "yes", "no", "auto") {
				return "Invalid system.move_to_root_cgroup"
			}
		case "system.allow_knet_handle_fallback":
			if !oneOf(value, "yes", "no") {
				return "Invalid system.allow_knet_handle_fallback"
			}
		}
	case stInterface:
		asString = false
		var v int64
		var ok bool
		num := func(t ValueType) bool {
			v, ok = safeAtoq(value, t)
			return ok
		}
		switch path {
		case "totem.interface.linknumber":
			if !num(TypeU8) {
				return atoiError(path, TypeU8, value)
			}
			f.linknumber = int(v)
		case "totem.interface.bindnetaddr":
			f.bindnetaddr = &value
		case "totem.interface.mcastaddr":
			f.mcastaddr = &value
		case "totem.interface.broadcast":
			f.broadcast = &value
		case "totem.interface.mcastport":
			if !num(TypeU16) {
				return atoiError(path, TypeU16, value)
			}
			f.mcastport = int(v)
		case "totem.interface.ttl":
			if !num(TypeU8) {
				return atoiError(path, TypeU8, value)
			}
			f.ttl = int(v)
		case "totem.interface.knet_link_priority":
			if !num(TypeU8) {
				return atoiError(path, TypeU8, value)
			}
			f.knetLinkPriority = int(v)
		case "totem.interface.knet_ping_interval":
			if !num(TypeU32) {
				return atoiError(path, TypeU32, value)
			}
			f.knetPingInterval = v
		case "totem.interface.knet_ping_timeout":
			if !num(TypeU32) {
				return atoiError(path, TypeU32, value)
			}
			f.knetPingTimeout = v
		case "totem.interface.knet_ping_precision":
			if !num(TypeU32) {
				return atoiError(path, TypeU32, value)
			}
			f.knetPingPrecision = v
		case "totem.interface.knet_pong_count":
			if !num(TypeU32) {
				return atoiError(path, TypeU32, value)
			}
			f.knetPongCount = v
		case "totem.interface.knet_transport":
			f.knetTransport = &value
		default:
			asString = true
		}
	case stLoggerSubsys:
		if key == "subsys" {
			f.subsys = &value
		} else {
			f.loggerSubsysItems = append([]kvItem{{key, value}}, f.loggerSubsysItems...)
		}
		asString = false
	case stLoggingDaemon:
		switch key {
		case "subsys":
			f.subsys = &value
		case "name":
			f.loggingDaemonName = &value
		default:
			f.loggerSubsysItems = append([]kvItem{{key, value}}, f.loggerSubsysItems...)
		}
		asString = false
	case stUIDGID:
		switch key {
		case "uid", "gid":
			return f.uidgid(key, value)
		}
		return "uidgid: Only uid and gid are allowed items"
	case stMember:
		if key != "memberaddr" {
			return "Only memberaddr is allowed in member section"
		}
		f.memberItems = append([]kvItem{{key, value}}, f.memberItems...)
		asString = false
	case stNodelistNode:
		name := fmt.Sprintf("nodelist.node.%d.%s", f.nodeNumber, key)
		if key == "nodeid" || key == "quorum_votes" {
			return f.setInt(name, TypeU32, value)
		}
		return f.setStr(name, value)
	case stResources:
		if key == "watchdog_timeout" {
			if msg := f.setInt(path, TypeU32, value); msg != "" {
				return msg
			}
			asString = false
		}
	case stResourcesSystem, stResourcesSystemMemused, stResourcesProcess, stResourcesProcessMemused:
		if key == "poll_period" {
			u, ok := strtoull(value)
			if !ok {
				return u64Error(path, value)
			}
			if err := f.m.setChecked(path, U64(u)); err != nil {
				return storeError(path, err)
			}
			asString = false
		}
	}
	if asString {
		return f.setStr(path, value)
	}
	return ""
}

// uidgid stores uidgid.config.uid.<n> / gid.<n> = 1 (u8) after resolving a
// user or group name the way uid_determine/gid_determine do.
func (f *flattener) uidgid(kind, value string) string {
	id, msg := resolveID(f.env, kind, value)
	if msg != "" {
		return msg
	}
	key := fmt.Sprintf("uidgid.config.%s.%d", kind, id)
	if err := f.m.setChecked(key, U8(1)); err != nil {
		return storeError(key, err)
	}
	return ""
}

func resolveID(env *Env, kind, value string) (uint32, string) {
	if v, ok := strtoll(value); ok && v >= 0 && v <= math.MaxUint32 && value != "" {
		return uint32(v), ""
	}
	var lookup func(string) (uint32, bool)
	if env != nil {
		if kind == "uid" {
			lookup = env.LookupUser
		} else {
			lookup = env.LookupGroup
		}
	}
	if lookup != nil {
		if id, ok := lookup(value); ok {
			return id, ""
		}
	}
	if kind == "uid" {
		return 0, fmt.Sprintf("The '%s' user is not found in /etc/passwd, please read the documentation.", value)
	}
	return 0, fmt.Sprintf("The '%s' group is not found in /etc/group, please read the documentation.", value)
}

func (f *flattener) sectionStart(path string, state int, line int) (int, string) {
	if f.uidgidOnly {
		if path != "uidgid" {
			return state, "uidgid: Can't add subsection different than uidgid"
		}
		return state, ""
	}
	switch path {
	case "totem.interface":
		state = stInterface
		f.linknumber = 0
		f.mcastport = -1
		f.ttl = -1
		f.knetLinkPriority = -1
		f.knetPingInterval = -1
		f.knetPingTimeout = -1
		f.knetPingPrecision = -1
		f.knetPongCount = -1
		f.knetTransport = nil
		f.memberItems = nil
	case "totem":
		state = stTotem
	case "system":
		state = stSystem
	case "logging.logger_subsys":
		state = stLoggerSubsys
		f.loggerSubsysItems = nil
		f.subsys = nil
	case "logging.logging_daemon":
		state = stLoggingDaemon
		f.loggerSubsysItems = nil
		f.subsys = nil
		f.loggingDaemonName = nil
	case "uidgid":
		state = stUIDGID
	case "totem.interface.member":
		state = stMember
	case "quorum":
		state = stQuorum
	case "quorum.device":
		state = stQDevice
	case "nodelist":
		state = stNodelist
		f.nodeNumber = 0
	case "nodelist.node":
		state = stNodelistNode
	case "resources":
		state = stResources
	case "resources.system":
		state = stResourcesSystem
	case "resources.system.memory_used":
		state = stResourcesSystemMemused
	case "resources.process":
		state = stResourcesProcess
	case "resources.process.memory_used":
		state = stResourcesProcessMemused
	}
	return state, ""
}

func (f *flattener) sectionEnd(path string, state int, line int) string {
	if f.uidgidOnly {
		return ""
	}
	switch state {
	case stInterface:
		ln := f.linknumber
		key := func(k string) string { return fmt.Sprintf("totem.interface.%d.%s", ln, k) }
		set := func(k string, v Value) string {
			if err := f.m.setChecked(key(k), v); err != nil {
				return storeError(key(k), err)
			}
			return ""
		}
		var msgs []string
		if f.bindnetaddr != nil {
			msgs = append(msgs, set("bindnetaddr", Str(*f.bindnetaddr)))
			f.bindnetaddr = nil
		}
		if f.mcastaddr != nil {
			msgs = append(msgs, set("mcastaddr", Str(*f.mcastaddr)))
			f.mcastaddr = nil
		}
		if f.broadcast != nil {
			msgs = append(msgs, set("broadcast", Str(*f.broadcast)))
			f.broadcast = nil
		}
		if f.mcastport > -1 {
			msgs = append(msgs, set("mcastport", U16(uint16(f.mcastport))))
		}
		if f.ttl > -1 {
			msgs = append(msgs, set("ttl", U8(uint8(f.ttl))))
		}
		if f.knetLinkPriority > -1 {
			msgs = append(msgs, set("knet_link_priority", U8(uint8(f.knetLinkPriority))))
		}
		if f.knetPingInterval > -1 {
			msgs = append(msgs, set("knet_ping_interval", U32(uint32(f.knetPingInterval))))
		}
		if f.knetPingTimeout > -1 {
			msgs = append(msgs, set("knet_ping_timeout", U32(uint32(f.knetPingTimeout))))
		}
		if f.knetPingPrecision > -1 {
			msgs = append(msgs, set("knet_ping_precision", U32(uint32(f.knetPingPrecision))))
		}
		if f.knetPongCount > -1 {
			msgs = append(msgs, set("knet_pong_count", U32(uint32(f.knetPongCount))))
		}
		if f.knetTransport != nil {
			msgs = append(msgs, set("knet_transport", Str(*f.knetTransport)))
		}
		for i, it := range f.memberItems {
			msgs = append(msgs, set(fmt.Sprintf("member.%d", i), Str(it.value)))
		}
		for k, l := range f.ifaceLines {
			f.noteLine(key(k), l)
		}
		f.ifaceLines = nil
		f.memberItems = nil
		for _, m := range msgs {
			if m != "" {
				return m
			}
		}
	case stLoggerSubsys:
		if f.subsys == nil {
			return "No subsys key in logger_subsys directive"
		}
		for _, it := range f.loggerSubsysItems {
			if msg := f.setStr(fmt.Sprintf("logging.logger_subsys.%s.%s", *f.subsys, it.key), it.value); msg != "" {
				return msg
			}
		}
		f.loggerSubsysItems = nil
		// corosync frees subsys here without clearing the pointer, so a
		// section nested in a logger_subsys makes the outer one use freed
		// memory (it segfaults). Clearing it turns that into the
		// "No subsys key" error at the outer closing brace.
		sub := *f.subsys
		f.subsys = nil
		return f.setStr(fmt.Sprintf("logging.logger_subsys.%s.subsys", sub), sub)
	case stLoggingDaemon:
		if f.loggingDaemonName == nil {
			return "No name key in logging_daemon directive"
		}
		name := *f.loggingDaemonName
		subsys := f.subsys
		// As for logger_subsys: forget what corosync frees (and would reuse).
		f.loggingDaemonName, f.subsys = nil, nil
		for _, it := range f.loggerSubsysItems {
			var k string
			switch {
			case subsys == nil && name == "corosync":
				k = "logging." + it.key
			case subsys == nil:
				k = fmt.Sprintf("logging.logging_daemon.%s.%s", name, it.key)
			case name == "corosync":
				k = fmt.Sprintf("logging.logger_subsys.%s.%s", *subsys, it.key)
			default:
				k = fmt.Sprintf("logging.logging_daemon.%s.%s.%s", name, *subsys, it.key)
			}
			if msg := f.setStr(k, it.value); msg != "" {
				return msg
			}
		}
		f.loggerSubsysItems = nil
		switch {
		case subsys == nil && name != "corosync":
			return f.setStr(fmt.Sprintf("logging.logging_daemon.%s.name", name), name)
		case subsys != nil && name == "corosync":
			return f.setStr(fmt.Sprintf("logging.logger_subsys.%s.subsys", *subsys), *subsys)
		case subsys != nil:
			if msg := f.setStr(fmt.Sprintf("logging.logging_daemon.%s.%s.subsys", name, *subsys), *subsys); msg != "" {
				return msg
			}
			return f.setStr(fmt.Sprintf("logging.logging_daemon.%s.%s.name", name, *subsys), name)
		}
	case stNodelistNode:
		f.nodeNumber++
	}
	return ""
}

// knetCryptoModels and knetCompressModels are the models libknet 1.25 on
// Debian 12 lists (util_is_valid_knet_*_model asks libknet at run time).
// Checked against `corosync -v` there: "none" is not accepted in the file
// even though it is the runtime default of knet_compression_model.
var knetCryptoModels = []string{"nss", "openssl"}
var knetCompressModels = []string{"zlib", "lz4", "lz4hc", "lzo2", "lzma", "bzip2", "zstd"}

func joinModels(models []string) string {
	s := ""
	for i, m := range models {
		switch {
		case i == 0:
		case i == len(models)-1:
			s += " or "
		default:
			s += ", "
		}
		s += m
	}
	return s
}
