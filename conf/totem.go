package conf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// This file is corosync 3.1.7 exec/totemconfig.c:totem_config_read and
// totem_config_validate, rewritten over our Map: it finds the local node,
// writes back what corosync writes back into cmap (bindnetaddr from the
// nodelist, generated nodeids, udp mcastaddr/mcastport, local_node_pos,
// runtime.config.totem.*), and refuses what corosync refuses with its words.

// Transport is totem.transport.
type Transport uint8

const (
	TransportKnet Transport = iota // the 3.x default
	TransportUDPU
	TransportUDP
)

func (t Transport) String() string {
	switch t {
	case TransportUDPU:
		return "udpu"
	case TransportUDP:
		return "udp"
	}
	return "knet"
}

type ipVersion uint8

const (
	ipv6_4 ipVersion = iota // TOTEM_IP_VERSION_6_4, default for udpu/knet
	ipv4
	ipv6
	ipv4_6
)

func (v ipVersion) String() string {
	return [...]string{"ipv6-4", "ipv4", "ipv6", "ipv4-6"}[v]
}

// MaxLinks is INTERFACE_MAX.
const MaxLinks = 8

// knetMaxHost is KNET_MAX_HOST (libknet 1.x).
const knetMaxHost = 65536

// Default port and knet link defaults (totemconfig.c).
const (
	DefaultPort            = 5405
	knetPingPrecision      = 2048
	knetPongCount          = 2
	knetPMTUDInterval      = 30
	minimumTimeout         = 30 // (1000/HZ)*3 with HZ=100
	minimumTimeoutHold     = 14 // (int)(MINIMUM_TIMEOUT*0.8 - 1000/HZ)
	knetMaxPacketSize      = 65536
	udpNetMTU              = 1500
	totemLinkModeBytes     = 64
	totemPrivateKeyLenMin  = 128
	totemPrivateKeyLenMax  = 4096
	defaultAuthkeyLocation = "/etc/corosync/authkey"
)

// Member is one address of a node on one link.
type Member struct {
	NodeID uint32
	Addr   netip.Addr
}

// Link is one totem interface (a knet link, or the only udp/udpu ring).
type Link struct {
	Number     int
	Configured bool
	Bindnet    netip.Addr
	Mcast      netip.Addr
	Port       uint16
	TTL        int
	// knet link parameters; KnetPingInterval/Timeout are final (derived from
	// the token when not configured).
	KnetLinkPriority  int
	KnetPingInterval  uint32
	KnetPingTimeout   uint32
	KnetPingPrecision uint32
	KnetPongCount     uint32
	KnetTransport     string
	// Members are the nodelist addresses on this link, in the order corosync
	// adds them (see Totem.MemberCount for the doubled-entry quirk).
	Members []Member
	// LocalAddr is this node's address on the link.
	LocalAddr netip.Addr
}

// Totem is the typed totem configuration (struct totem_config).
type Totem struct {
	Version          uint32
	Transport        Transport
	ClusterName      string
	NodeID           uint32
	ClearNodeHighBit bool
	IPVersion        string
	LinkMode         string
	NetMTU           uint32
	Threads          uint32
	Broadcast        bool
	CryptoCipher     string
	CryptoHash       string
	CryptoModel      string
	// Key is the private key when crypto is on.
	Key   []byte
	Links [MaxLinks]Link
	Timers
}

// Timers are the runtime totem timers and counters as corosync computes
// them (runtime.config.totem.*).
type Timers struct {
	Token                       uint32
	TokenRetransmitsBeforeLoss  uint32
	TokenWarning                uint32
	TokenRetransmit             uint32
	Hold                        uint32
	Join                        uint32
	SendJoin                    uint32
	Consensus                   uint32
	Merge                       uint32
	Downcheck                   uint32
	FailRecvConst               uint32
	SeqnoUnchangedConst         uint32
	HeartbeatFailuresAllowed    uint32
	MaxNetworkDelay             uint32
	WindowSize                  uint32
	MaxMessages                 uint32
	MissCountConst              uint32
	KnetPMTUDInterval           uint32
	KnetMTU                     uint32
	KnetCompressionThreshold    uint32
	KnetCompressionLevel        int32
	KnetCompressionModel        string
	BlockUnlistedIPs            uint32
	CancelTokenHoldOnRetransmit uint32
}

// TimerDefaults are the compile-time defaults of a corosync version.
type TimerDefaults struct {
	Token, TokenCoefficient, TokenRetransmitsBeforeLoss, TokenWarning uint32
	Join, Merge, Downcheck, FailRecvConst, SeqnoUnchangedConst        uint32
	MaxNetworkDelay, WindowSize, MaxMessages, MissCountConst          uint32
}

// Defaults3 are corosync 3.x's (totemconfig.c; corosync.conf(5)).
var Defaults3 = TimerDefaults{Token: 3000, TokenCoefficient: 650, TokenRetransmitsBeforeLoss: 4,
	TokenWarning: 75, Join: 50, Merge: 200, Downcheck: 1000, FailRecvConst: 2500,
	SeqnoUnchangedConst: 30, MaxNetworkDelay: 50, WindowSize: 50, MaxMessages: 17, MissCountConst: 5}

// Defaults2 are corosync 2.x's: the same but a 1000 ms token.
var Defaults2 = func() TimerDefaults { d := Defaults3; d.Token = 1000; return d }()

// TimerInput is what the timer derivation reads: the configured values
// (0 = not set, as corosync treats a 0 for most of them) and the number of
// link-0 members.
type TimerInput struct {
	Set     map[string]uint32 // totem.<name> → configured value
	Members int
}

// DeriveTimers computes the runtime timers as totem_volatile_config_read
// does: token grows by (members-2)*token_coefficient above two members;
// token_retransmit = token/(retransmits+0.2); hold = retransmit*0.8-10;
// consensus = 1.2*token; everything else is its default unless set.
func DeriveTimers(d TimerDefaults, in TimerInput) Timers {
	get := func(name string, def uint32, allowZero bool) uint32 {
		if v, ok := in.Set[name]; ok && (allowZero || v != 0) {
			return v
		}
		return def
	}
	var t Timers
	t.TokenRetransmitsBeforeLoss = get("token_retransmits_before_loss_const", d.TokenRetransmitsBeforeLoss, false)
	t.Token = get("token", d.Token, false)
	t.TokenWarning = get("token_warning", d.TokenWarning, true)
	if in.Members > 2 {
		coef := d.TokenCoefficient
		if v, ok := in.Set["token_coefficient"]; ok {
			coef = v
		}
		t.Token += uint32(in.Members-2) * coef
	}
	t.MaxNetworkDelay = get("max_network_delay", d.MaxNetworkDelay, false)
	t.WindowSize = get("window_size", d.WindowSize, false)
	t.MaxMessages = get("max_messages", d.MaxMessages, false)
	t.MissCountConst = get("miss_count_const", d.MissCountConst, false)
	t.KnetPMTUDInterval = get("knet_pmtud_interval", knetPMTUDInterval, false)
	t.KnetMTU = get("knet_mtu", 0, false)
	t.TokenRetransmit = get("token_retransmit", uint32(int32(float64(t.Token)/(float64(t.TokenRetransmitsBeforeLoss)+0.2))), false)
	t.Hold = get("hold", uint32(int32(float64(t.TokenRetransmit)*0.8-10)), false)
	t.Join = get("join", d.Join, false)
	t.Consensus = get("consensus", uint32(int32(float32(1.2*float64(t.Token)))), false)
	t.Merge = get("merge", d.Merge, false)
	t.Downcheck = get("downcheck", d.Downcheck, false)
	t.FailRecvConst = get("fail_recv_const", d.FailRecvConst, false)
	t.SeqnoUnchangedConst = get("seqno_unchanged_const", d.SeqnoUnchangedConst, false)
	t.SendJoin = get("send_join", 0, true)
	t.HeartbeatFailuresAllowed = get("heartbeat_failures_allowed", 0, true)
	t.KnetCompressionThreshold = get("knet_compression_threshold", 0, true)
	return t
}

// volatileU32 lists the u32 timers in the order totem_volatile_config_read
// stores them into runtime.config.
var timerNames = []string{"token_retransmits_before_loss_const", "token", "token_warning",
	"max_network_delay", "window_size", "max_messages", "miss_count_const", "knet_pmtud_interval",
	"knet_mtu", "token_retransmit", "hold", "join", "consensus", "merge", "downcheck",
	"fail_recv_const", "seqno_unchanged_const", "send_join", "heartbeat_failures_allowed",
	"knet_compression_threshold"}

func (t *Timers) u32(name string) uint32 {
	switch name {
	case "token_retransmits_before_loss_const":
		return t.TokenRetransmitsBeforeLoss
	case "token":
		return t.Token
	case "token_warning":
		return t.TokenWarning
	case "max_network_delay":
		return t.MaxNetworkDelay
	case "window_size":
		return t.WindowSize
	case "max_messages":
		return t.MaxMessages
	case "miss_count_const":
		return t.MissCountConst
	case "knet_pmtud_interval":
		return t.KnetPMTUDInterval
	case "knet_mtu":
		return t.KnetMTU
	case "token_retransmit":
		return t.TokenRetransmit
	case "hold":
		return t.Hold
	case "join":
		return t.Join
	case "consensus":
		return t.Consensus
	case "merge":
		return t.Merge
	case "downcheck":
		return t.Downcheck
	case "fail_recv_const":
		return t.FailRecvConst
	case "seqno_unchanged_const":
		return t.SeqnoUnchangedConst
	case "send_join":
		return t.SendJoin
	case "heartbeat_failures_allowed":
		return t.HeartbeatFailuresAllowed
	case "knet_compression_threshold":
		return t.KnetCompressionThreshold
	}
	return 0
}

// stageError is an error of totem_config_read (exit at main.c:1417) or of
// totem_config_validate (main.c:1445).
type stageError struct {
	msg      string
	validate bool
	key      string // the key at fault, when one is
}

// totemReader carries the state of one totem_config_read run.
type totemReader struct {
	m           *Map
	env         *Env
	t           *Totem
	warnings    uint
	authkey     string // default key path
	debug       []LogLine
	memberCount [MaxLinks]int
	timerInput  TimerInput
}

const (
	warnMembersIgnored = 1 << iota
	warnMembersDeprecated
	warnTotemNodeidSet
	warnBindnetaddrNodelistSet
)

func (r *totemReader) logDebug(fn, format string, args ...any) {
	r.debug = append(r.debug, LogLine{Level: LevelDebug, Subsys: "TOTEM", Func: fn, Msg: fmt.Sprintf(format, args...)})
}

// parseAddr is totemip_parse with its debug log line.
func (r *totemReader) parseAddr(s string, v ipVersion) (netip.Addr, bool) {
	a, ok := r.env.resolve(s, v)
	fam := 0
	switch v {
	case ipv4:
		fam = 4
	case ipv6:
		fam = 6
	}
	if !ok {
		if fam == 0 {
			r.logDebug("totemip_parse", "totemip_parse: IP address of %s not resolvable", s)
		} else {
			r.logDebug("totemip_parse", "totemip_parse: IPv%d address of %s not resolvable", fam, s)
		}
		return a, false
	}
	fam = 4
	if a.Is6() {
		fam = 6
	}
	r.logDebug("totemip_parse", "totemip_parse: IPv%d address of %s resolved as %s", fam, s, a)
	return a, true
}

func (r *totemReader) ipVersion() ipVersion {
	v := ipv6_4
	if r.t.Transport == TransportUDP {
		v = ipv4
	}
	if s, ok := r.m.String("totem.ip_version"); ok {
		switch s {
		case "ipv4":
			v = ipv4
		case "ipv6":
			v = ipv6
		case "ipv6-4":
			v = ipv6_4
		case "ipv4-6":
			v = ipv4_6
		}
	}
	return v
}

// nodeKey splits "nodelist.node.N.rest" like sscanf("nodelist.node.%u.%s").
func nodeKey(k string) (pos int, rest string, ok bool) {
	s, found := strings.CutPrefix(k, "nodelist.node.")
	if !found {
		return 0, "", false
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(s) || s[i] != '.' || i+1 >= len(s) {
		return 0, "", false
	}
	n, err := strconv.ParseUint(s[:i], 10, 32)
	if err != nil {
		return 0, "", false
	}
	return int(n), s[i+1:], true
}

// nodelistByName is totemconfig.c:nodelist_byname.
func (r *totemReader) nodelistByName(find string, stripDomain bool) int {
	for _, k := range r.m.Keys("nodelist.node.") {
		pos, rest, ok := nodeKey(k)
		if !ok || (rest != "name" && rest != "ring0_addr") {
			continue
		}
		name, ok := r.m.String(k)
		if !ok {
			continue
		}
		if stripDomain {
			if i := strings.IndexByte(name, '.'); i >= 0 {
				name = name[:i]
			}
		}
		if find == name {
			return pos
		}
	}
	return -1
}

// findLocalNode is totemconfig.c:find_local_node: uname nodename (then with
// domain parts removed), then the names and numeric forms of the local
// interface addresses, then the resolved addresses of every node name.
func (r *totemReader) findLocalNode(useCache bool) int {
	if useCache {
		if p, ok := r.m.Uint32("nodelist.local_node_pos"); ok {
			return int(p)
		}
	}
	found := func(pos int) int {
		r.m.Set("nodelist.local_node_pos", U32(uint32(pos)))
		return pos
	}
	node := r.env.Hostname
	if p := r.nodelistByName(node, false); p > -1 {
		return found(p)
	}
	name2 := node
	for {
		i := strings.LastIndexByte(name2, '.')
		if i < 0 {
			break
		}
		name2 = name2[:i]
		if p := r.nodelistByName(name2, false); p > -1 {
			return found(p)
		}
	}
	if p := r.nodelistByName(name2, true); p > -1 {
		return found(p)
	}
	for _, a := range r.env.Addrs {
		name := a.String()
		if r.env.LookupAddr != nil {
			if n, ok := r.env.LookupAddr(a); ok {
				name = n
			}
		}
		if p := r.nodelistByName(name, false); p > -1 {
			return found(p)
		}
		if i := strings.IndexByte(name, '.'); i >= 0 {
			if p := r.nodelistByName(name[:i], false); p > -1 {
				return found(p)
			}
		}
		// getnameinfo(sa, sizeof(struct sockaddr), NI_NUMERICHOST) only
		// succeeds for IPv4: the length is too short for sockaddr_in6.
		if !a.Is4() {
			continue
		}
		if p := r.nodelistByName(a.String(), false); p > -1 {
			return found(p)
		}
	}
	// corosync 3.1.7 quirk: the position scanned from the last nodelist key
	// is returned even when nothing matched (without setting
	// nodelist.local_node_pos), so callers go on with that node and only
	// totem_config_validate notices ("No valid name found for local host").
	last := -1
	for _, k := range r.m.Keys("nodelist.node.") {
		pos, rest, ok := nodeKey(k)
		if !ok {
			continue
		}
		last = pos
		if rest != "name" && rest != "ring0_addr" {
			continue
		}
		name, ok := r.m.String(k)
		if !ok || r.env.LookupHost == nil {
			continue
		}
		var addrs []netip.Addr
		if a, ok := inetAton(name); ok {
			addrs = []netip.Addr{a}
		} else if a, err := netip.ParseAddr(name); err == nil && strings.Contains(name, ":") {
			addrs = []netip.Addr{a}
		} else {
			addrs = r.env.LookupHost(name)
		}
		for _, ra := range addrs {
			for _, la := range r.env.Addrs {
				if ra.Unmap() == la.Unmap().WithZone("") || ra.Unmap() == la.Unmap() {
					return found(pos)
				}
			}
		}
	}
	return last
}

// generateNodeID is generate_nodeid: the IPv4 address as a big-endian
// number, high bit cleared on request; false for anything not IPv4.
func (r *totemReader) generateNodeID(addr string) (uint32, bool) {
	a, ok := r.parseAddr(addr, ipv4)
	if !ok || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	id := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if r.t.ClearNodeHighBit {
		id &= 0x7FFFFFFF
	}
	return id, true
}

// GenerateNodeID derives a nodeid from an IPv4 address as corosync does for
// udp/udpu nodes without nodeid (192.0.2.1 → 3221225985; with
// clear_node_high_bit → 1073742337).
func GenerateNodeID(a netip.Addr, clearHighBit bool) (uint32, bool) {
	a = a.Unmap()
	if !a.Is4() {
		return 0, false
	}
	b := a.As4()
	id := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if clearHighBit {
		id &= 0x7FFFFFFF
	}
	return id, true
}

func (r *totemReader) read() *stageError {
	t := r.t
	m := r.m
	t.Transport = TransportKnet
	if s, ok := m.String("totem.transport"); ok {
		switch s {
		case "udpu":
			t.Transport = TransportUDPU
		case "udp":
			t.Transport = TransportUDP
		case "knet":
		default:
			return &stageError{msg: "Invalid transport type. Should be udpu, udp or knet", key: "totem.transport"}
		}
	}
	t.LinkMode = "passive"
	t.Version, _ = m.Uint32("totem.version")
	if e := r.crypto(); e != nil {
		return e
	}
	if s, ok := m.String("totem.link_mode"); ok {
		if len(s) >= totemLinkModeBytes {
			return &stageError{msg: "totem.link_mode is too long", key: "totem.link_mode"}
		}
		t.LinkMode = s
	}
	if _, ok := m.Uint32("totem.nodeid"); ok {
		r.warnings |= warnTotemNodeidSet
	}
	if s, ok := m.String("totem.clear_node_high_bit"); ok && s == "yes" {
		t.ClearNodeHighBit = true
	}
	t.Threads, _ = m.Uint32("totem.threads")
	t.NetMTU, _ = m.Uint32("totem.netmtu")
	ipv := r.ipVersion()
	t.IPVersion = ipv.String()
	t.ClusterName, _ = m.String("totem.cluster_name")

	if _, ok := m.String("totem.interface.0.bindnetaddr"); !ok {
		r.convertNodelistToInterface()
	} else if _, ok := m.String("nodelist.node.0.ring0_addr"); ok {
		r.warnings |= warnBindnetaddrNodelistSet
		r.convertNodelistToInterface()
	}
	t.Broadcast = false
	if e := r.interfaceParams(ipv); e != nil {
		return e
	}
	if t.Broadcast {
		t.Links[0].Mcast = netip.MustParseAddr("255.255.255.255")
	}
	if t.Transport == TransportUDP {
		for i := range t.Links {
			if !t.Links[i].Configured {
				continue
			}
			k := fmt.Sprintf("totem.interface.%d.mcastaddr", i)
			if _, ok := m.String(k); !ok {
				m.Set(k, Str(printAddr(t.Links[i].Mcast)))
			}
			k = fmt.Sprintf("totem.interface.%d.mcastport", i)
			if _, ok := m.Uint16(k); !ok {
				m.Set(k, U16(t.Links[i].Port))
			}
		}
	}
	_, hasName := m.String("nodelist.node.0.name")
	_, hasRing0 := m.String("nodelist.node.0.ring0_addr")
	if hasName || hasRing0 {
		pos := r.findLocalNode(true)
		if pos != -1 {
			t.NodeID, _ = m.Uint32(fmt.Sprintf("nodelist.node.%d.nodeid", pos))
			if t.Transport == TransportKnet && t.NodeID == 0 {
				return &stageError{msg: "Knet requires an explicit nodeid for the local node", key: fmt.Sprintf("nodelist.node.%d.ring0_addr", pos)}
			}
			if t.Transport != TransportKnet && t.NodeID == 0 {
				s, _ := m.String(fmt.Sprintf("nodelist.node.%d.ring0_addr", pos))
				id, ok := r.generateNodeID(s)
				if !ok {
					return &stageError{msg: "An IPV6 network requires that a node ID be specified"}
				}
				t.NodeID = id
			}
		}
		if e := r.nodelistMembers(ipv); e != nil {
			return e
		}
	}
	r.volatileRead()
	r.knetPingTimers()
	return nil
}

// printAddr is totemip_print.
func printAddr(a netip.Addr) string {
	if !a.IsValid() {
		return "0.0.0.0"
	}
	return a.String()
}

func (r *totemReader) crypto() *stageError {
	t := r.t
	m := r.m
	cipher, hash, model := "none", "none", "nss"
	if s, ok := m.String("totem.crypto_model"); ok {
		model = s
	}
	if s, ok := m.String("totem.secauth"); ok && s == "on" {
		cipher, hash = "aes256", "sha256"
	}
	if s, ok := m.String("totem.crypto_cipher"); ok && oneOf(s, "none", "aes256", "aes192", "aes128") {
		cipher = s
	}
	if s, ok := m.String("totem.crypto_hash"); ok && oneOf(s, "none", "md5", "sha1", "sha256", "sha384", "sha512") {
		hash = s
	}
	if cipher != "none" && hash == "none" {
		return &stageError{msg: "crypto_cipher requires crypto_hash with value other than none", key: "totem.crypto_cipher"}
	}
	if model == "none" {
		return &stageError{msg: "invalid crypto_model"}
	}
	t.CryptoCipher, t.CryptoHash, t.CryptoModel = cipher, hash, model
	if cipher == "none" && hash == "none" {
		return nil
	}
	// totem_config_keyread: totem.keyfile, else totem.key, else the default.
	if path, ok := m.String("totem.keyfile"); ok {
		key, err := ReadAuthkey(r.env, path)
		if err != nil {
			return &stageError{msg: err.Error()}
		}
		t.Key = key
		return nil
	}
	if v, ok := m.Get("totem.key"); ok {
		n := len(v.Data)
		if v.Type == TypeString {
			n++ // icmap stores and reports strings with their NUL
		}
		if n > totemPrivateKeyLenMax {
			return &stageError{msg: "key is too long"}
		}
		if n < totemPrivateKeyLenMin {
			return &stageError{msg: "key is too short"}
		}
		t.Key = append([]byte(nil), v.Data...)
		if v.Type == TypeString {
			t.Key = append(t.Key, 0)
		}
		return nil
	}
	key, err := ReadAuthkey(r.env, r.authkey)
	if err != nil {
		return &stageError{msg: err.Error()}
	}
	t.Key = key
	return nil
}

// convertNodelistToInterface is config_convert_nodelist_to_interface: the
// local node's ringN_addr become totem.interface.N.bindnetaddr.
func (r *totemReader) convertNodelistToInterface() {
	pos := r.findLocalNode(true)
	if pos < 0 {
		return
	}
	for _, k := range r.m.Keys(fmt.Sprintf("nodelist.node.%d.", pos)) {
		_, rest, _ := nodeKey(k)
		link, ok := ringAddrKey(rest)
		if !ok {
			continue
		}
		if s, ok := r.m.String(k); ok {
			r.m.Set(fmt.Sprintf("totem.interface.%d.bindnetaddr", link), Str(s))
		}
	}
}

// ringAddrKey matches "ring%u%s" with the suffix "_addr".
func ringAddrKey(rest string) (int, bool) {
	s, ok := strings.CutPrefix(rest, "ring")
	if !ok {
		return 0, false
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || s[i:] != "_addr" {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:i], 10, 32)
	if err != nil {
		return 1 << 30, true
	}
	return int(n), true
}

// atoi is C atoi: leading blanks, sign, digits, stop at anything else.
func atoi(s string) int {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		if n > 1<<31 {
			n = 1 << 31
		}
		i++
	}
	if neg {
		n = -n
	}
	return n
}

func clusterMcast(cluster string, link int, v ipVersion) (netip.Addr, bool) {
	var id int32
	for i := 0; i < len(cluster); i++ {
		id = id<<1 + int32(int8(cluster[i]))
	}
	cid := uint16(id&0xFFFF) + uint16(link)
	var s string
	switch v {
	case ipv4, ipv4_6:
		s = fmt.Sprintf("239.192.%d.%d", cid>>8, cid%0xFF)
	default:
		s = fmt.Sprintf("ff15::%x", cid)
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// ClusterMcastAddr is the multicast group corosync derives for a udp ring
// from the cluster name when mcastaddr is not set (note the "% 0xFF").
func ClusterMcastAddr(clusterName string, link int, ipv6 bool) netip.Addr {
	v := ipv4
	if ipv6 {
		v = ipv6_4
	}
	a, _ := clusterMcast(clusterName, link, v)
	return a
}

func (r *totemReader) interfaceParams(ipv ipVersion) *stageError {
	t := r.t
	m := r.m
	_, hasCluster := m.String("totem.cluster_name")
	for _, k := range m.Keys("totem.interface.") {
		rest := strings.TrimPrefix(k, "totem.interface.")
		dot := strings.IndexByte(rest, '.')
		if dot <= 0 || dot == len(rest)-1 {
			continue
		}
		linkKey, sub := rest[:dot], rest[dot+1:]
		if sub != "bindnetaddr" && t.Transport == TransportUDP {
			continue
		}
		link := atoi(linkKey)
		if link < 0 || link >= MaxLinks {
			return &stageError{msg: fmt.Sprintf("parse error in config: interface ring number %d is bigger than allowed maximum %d", uint32(link), MaxLinks-1)}
		}
		l := &t.Links[link]
		l.Number = link
		key := func(s string) string { return fmt.Sprintf("totem.interface.%d.%s", link, s) }
		if s, ok := m.String(key("bindnetaddr")); ok {
			a, ok := r.parseAddr(s, ipv)
			if !ok {
				return &stageError{msg: fmt.Sprintf("failed to parse bindnet address '%s'", s), key: key("bindnetaddr")}
			}
			l.Bindnet = a
		}
		if s, ok := m.String(key("mcastaddr")); ok {
			a, ok := r.parseAddr(s, ipv)
			if !ok {
				return &stageError{msg: fmt.Sprintf("failed to parse mcast address '%s'", s), key: key("mcastaddr")}
			}
			l.Mcast = a
		} else if t.Transport == TransportUDP {
			v := ipv4
			if t.Links[0].Bindnet.Is6() {
				v = ipv6
			}
			if hasCluster {
				// get_cluster_mcast_addr goes through totemip_parse (and its
				// debug line) with the generated text.
				a, _ := clusterMcast(t.ClusterName, link, v)
				l.Mcast, _ = r.parseAddr(a.String(), v)
			}
		}
		if s, ok := m.String(key("broadcast")); ok && s == "yes" {
			t.Broadcast = true
		}
		if p, ok := m.Uint16(key("mcastport")); ok {
			l.Port = p
		} else if t.Broadcast {
			l.Port = uint16(DefaultPort + 2*link)
		} else {
			l.Port = uint16(DefaultPort + link)
		}
		l.TTL = 1
		if v, ok := m.Uint8(key("ttl")); ok {
			l.TTL = int(v)
		}
		l.KnetTransport = "udp"
		if s, ok := m.String(key("knet_transport")); ok {
			switch s {
			case "sctp", "udp":
				l.KnetTransport = s
			default:
				return &stageError{msg: "Unrecognised knet_transport. expected 'udp' or 'sctp'", key: key("knet_transport")}
			}
		}
		l.Configured = true
		l.KnetLinkPriority = 1
		if v, ok := m.Uint8(key("knet_link_priority")); ok {
			l.KnetLinkPriority = int(v)
		}
		l.KnetPingInterval, _ = m.Uint32(key("knet_ping_interval"))
		l.KnetPingTimeout, _ = m.Uint32(key("knet_ping_timeout"))
		l.KnetPingPrecision = knetPingPrecision
		if v, ok := m.Uint32(key("knet_ping_precision")); ok {
			l.KnetPingPrecision = v
		}
		l.KnetPongCount = knetPongCount
		if v, ok := m.Uint32(key("knet_pong_count")); ok {
			l.KnetPongCount = v
		}
		l.Members = nil
		count := 0
		for _, mk := range m.Keys(key("member.")) {
			if count == 0 {
				if _, ok := m.String("nodelist.node.0.ring0_addr"); ok {
					r.warnings |= warnMembersIgnored
					break
				}
				r.warnings |= warnMembersDeprecated
			}
			if s, ok := m.String(mk); ok {
				count++
				a, ok := r.parseAddr(s, ipv)
				if !ok {
					return &stageError{msg: fmt.Sprintf("failed to parse node address '%s'", s)}
				}
				l.Members = append(l.Members, Member{Addr: a})
			}
		}
		r.memberCount[link] = len(l.Members)
	}
	return nil
}

// nodelistMembers is put_nodelist_members_to_config: every ringN_addr of
// every node becomes a member of link N, nodeids are generated for udp/udpu
// and written back to nodelist.node.P.nodeid.
//
// corosync 3.1.7 quirk reproduced here: writing the generated nodeid into
// the map while iterating a node's keys makes the libqb trie iterator visit
// that node's ring0_addr a second time when it was the node's only key, so
// such nodes are added twice (seen in nodeid-from-addr-noname: "adding new
// UDPU member" twice, token_coefficient counting 4 members for 2 nodes).
func (r *totemReader) nodelistMembers(ipv ipVersion) *stageError {
	t := r.t
	m := r.m
	for i := range t.Links {
		t.Links[i].Members = nil
		r.memberCount[i] = 0
	}
	last := -1
	for _, k := range m.Keys("nodelist.node.") {
		pos, _, ok := nodeKey(k)
		if !ok || pos == last {
			continue
		}
		last = pos
		prefix := fmt.Sprintf("nodelist.node.%d.", pos)
		nodeKeys := m.Keys(prefix)
		visit := nodeKeys
		for i := 0; i < len(visit); i++ {
			k2 := visit[i]
			nodeid, _ := m.Uint32(prefix + "nodeid")
			_, rest, _ := nodeKey(k2)
			link, ok := ringAddrKey(rest)
			if !ok {
				continue
			}
			if link >= MaxLinks {
				return &stageError{msg: fmt.Sprintf("parse error in config: interface ring number %d is bigger than allowed maximum %d", link, MaxLinks-1)}
			}
			addr, ok := m.String(k2)
			if !ok {
				continue
			}
			if nodeid == 0 && t.Transport != TransportKnet {
				if s, ok := m.String(prefix + "ring0_addr"); ok {
					id, ok := r.generateNodeID(s)
					if !ok {
						return &stageError{msg: fmt.Sprintf("An IPV6 network requires that a node ID be specified for address '%s'.", addr)}
					}
					nodeid = id
					r.logDebug("put_nodelist_members_to_config", "Generated nodeid = %d for %s", id, s)
					m.Set(prefix+"nodeid", U32(id))
					if len(nodeKeys) == 1 && i == 0 {
						visit = append(visit, k2)
					}
				}
			}
			if nodeid == 0 && t.Transport == TransportKnet {
				return &stageError{msg: fmt.Sprintf("Knet requires an explicit nodeid to be specified for address '%s'.", addr), key: k2}
			}
			if t.Transport == TransportKnet && nodeid >= knetMaxHost {
				return &stageError{msg: fmt.Sprintf("Knet requires nodeid to be less than %d for address '%s'.", knetMaxHost, addr), key: prefix + "nodeid"}
			}
			a, ok := r.parseAddr(addr, ipv)
			if !ok {
				return &stageError{msg: fmt.Sprintf("failed to parse node address '%s'", addr), key: k2}
			}
			l := &t.Links[link]
			l.Number = link
			l.Members = append(l.Members, Member{NodeID: nodeid, Addr: a})
			r.memberCount[link]++
			l.Configured = true
		}
	}
	r.configureLinkParams(ipv)
	return nil
}

// configureLinkParams is configure_link_params: the local address per link
// and knet defaults for links that had no interface section.
func (r *totemReader) configureLinkParams(ipv ipVersion) {
	t := r.t
	pos := r.findLocalNode(false)
	for i := range t.Links {
		l := &t.Links[i]
		if !l.Configured {
			continue
		}
		r.logDebug("configure_link_params", "Configuring link %d params", i)
		s, ok := r.m.String(fmt.Sprintf("nodelist.node.%d.ring%d_addr", uint32(pos), i))
		if !ok {
			continue
		}
		a, ok := r.parseAddr(s, ipv)
		if !ok {
			continue
		}
		l.LocalAddr = a
		if l.KnetLinkPriority == 0 {
			l.KnetLinkPriority = 1
		}
		if l.KnetPingPrecision == 0 {
			l.KnetPingPrecision = knetPingPrecision
		}
		if l.KnetPongCount == 0 {
			l.KnetPongCount = knetPongCount
		}
		if l.KnetTransport == "" {
			l.KnetTransport = "udp"
		}
		if l.Port == 0 {
			l.Port = uint16(DefaultPort + i)
		}
	}
}

// volatileRead is totem_volatile_config_read at start-up.
func (r *totemReader) volatileRead() {
	m := r.m
	set := map[string]uint32{}
	for _, n := range append(timerNames, "token_coefficient") {
		if v, ok := m.Uint32("totem." + n); ok {
			set[n] = v
		}
	}
	r.timerInput = TimerInput{Set: set, Members: r.memberCount[0]}
	tm := DeriveTimers(Defaults3, r.timerInput)
	tm.KnetCompressionLevel = 0
	if v, ok := m.Get("totem.knet_compression_level"); ok && v.Type == TypeI32 {
		u, _ := v.AsUint()
		tm.KnetCompressionLevel = int32(u)
	}
	tm.KnetCompressionModel = "none"
	if s, ok := m.String("totem.knet_compression_model"); ok {
		tm.KnetCompressionModel = s
	}
	tm.BlockUnlistedIPs = boolKey(m, "totem.block_unlisted_ips", 1)
	tm.CancelTokenHoldOnRetransmit = boolKey(m, "totem.cancel_token_hold_on_retransmit", 0)
	r.t.Timers = tm
	for _, n := range timerNames {
		m.Set("runtime.config.totem."+n, U32(tm.u32(n)))
	}
	m.Set("runtime.config.totem.knet_compression_level", I32(tm.KnetCompressionLevel))
	m.Set("runtime.config.totem.knet_compression_model", Str(tm.KnetCompressionModel))
	m.Set("runtime.config.totem.block_unlisted_ips", U32(tm.BlockUnlistedIPs))
	m.Set("runtime.config.totem.cancel_token_hold_on_retransmit", U32(tm.CancelTokenHoldOnRetransmit))
}

func boolKey(m *Map, key string, def uint32) uint32 {
	if s, ok := m.String(key); ok {
		switch s {
		case "yes":
			return 1
		case "no":
			return 0
		}
	}
	return def
}

// knetPingTimers is calc_knet_ping_timers: unset ping timeout is
// token/pong_count and unset interval token/(2*pong_count), for every
// configured link whatever the transport.
func (r *totemReader) knetPingTimers() {
	t := r.t
	for i := range t.Links {
		l := &t.Links[i]
		if !l.Configured {
			continue
		}
		if l.KnetPongCount == 0 {
			l.KnetPongCount = knetPongCount
		}
		if l.KnetPingTimeout == 0 {
			l.KnetPingTimeout = t.Token / l.KnetPongCount
		}
		r.m.Set(fmt.Sprintf("runtime.config.totem.interface.%d.knet_ping_timeout", i), U32(l.KnetPingTimeout))
		if l.KnetPingInterval == 0 {
			l.KnetPingInterval = t.Token / (l.KnetPongCount * 2)
		}
		r.m.Set(fmt.Sprintf("runtime.config.totem.interface.%d.knet_ping_interval", i), U32(l.KnetPingInterval))
	}
}

// validate is totem_config_validate.
func (r *totemReader) validate() *stageError {
	t := r.t
	m := r.m
	perr := func(s string) *stageError { return &stageError{msg: "parse error in config: " + s, validate: true} }
	configured := 0
	for i := range t.Links {
		if t.Links[i].Configured {
			configured++
		}
	}
	if configured == 0 {
		return perr("No interfaces defined")
	}
	if _, ok := m.Uint32("nodelist.local_node_pos"); !ok {
		return perr("No valid name found for local host")
	}
	for i := range t.Links {
		l := &t.Links[i]
		if !l.Configured {
			continue
		}
		if t.Transport == TransportUDP && !l.Mcast.IsValid() {
			return perr(fmt.Sprintf("No multicast address specified for interface %d", i))
		}
		if l.Port == 0 {
			return perr(fmt.Sprintf("No multicast port specified for interface %d", i))
		}
		if l.TTL > 255 {
			return perr(fmt.Sprintf("Invalid TTL (should be 0..255) for interface %d", i))
		}
		if t.Transport != TransportUDP && l.TTL != 1 {
			return perr(fmt.Sprintf("Can only set ttl on multicast transport types for interface %d", i))
		}
		if l.KnetLinkPriority > 255 {
			return perr(fmt.Sprintf("Invalid link priority (should be 0..255) for interface %d", i))
		}
		if t.Transport != TransportKnet && l.KnetLinkPriority != 1 {
			return perr(fmt.Sprintf("Can only set link priority on knet transport type for interface %d", i))
		}
		if l.Mcast.Is6() && t.NodeID == 0 {
			return perr(fmt.Sprintf("An IPV6 network requires that a node ID be specified for interface %d", i))
		}
		if !t.Broadcast && t.Transport == TransportUDP {
			if l.Mcast.Is6() != l.Bindnet.Is6() || !l.Bindnet.IsValid() {
				return perr(fmt.Sprintf("Multicast address family does not match bind address family for interface %d", i))
			}
			if l.Mcast.Is4() && l.Mcast.As4()[0]>>4 != 0xE {
				return perr(fmt.Sprintf("mcastaddr is not a correct multicast address for interface %d", i))
			}
		}
	}
	if t.Version != 2 {
		e := perr("This totem parser can only parse version 2 configurations.")
		e.key = "totem.version"
		return e
	}
	if e := r.volatileValidate(); e != nil {
		return e
	}
	if e := r.duplicateNodeIDs(); e != nil {
		return e
	}
	if !oneOf(t.LinkMode, "active", "rr", "passive") {
		return perr(fmt.Sprintf("The Knet link mode \"%s\" specified is invalid.  It must be active, passive or rr.", t.LinkMode))
	}
	max := MaxLinks
	if t.Transport != TransportKnet {
		max = 1
	}
	if max < configured {
		return perr(fmt.Sprintf("%d is too many configured interfaces for non-Knet transport.", configured))
	}
	if t.Transport != TransportKnet && (t.CryptoCipher != "none" || t.CryptoHash != "none") {
		return perr("crypto_cipher & crypto_hash are only valid for the Knet transport.")
	}
	if t.NetMTU == 0 {
		if t.Transport == TransportKnet {
			t.NetMTU = knetMaxPacketSize
		} else {
			t.NetMTU = udpNetMTU
		}
	}
	return nil
}

// volatileValidate is totem_volatile_config_validate.
func (r *totemReader) volatileValidate() *stageError {
	t := r.t
	var key string
	perr := func(format string, args ...any) *stageError {
		return &stageError{msg: "parse error in config: " + fmt.Sprintf(format, args...), validate: true, key: key}
	}
	tm := &t.Timers
	if tm.MaxNetworkDelay < minimumTimeout {
		key = "totem.max_network_delay"
		return perr("The max_network_delay parameter (%d ms) may not be less than (%d ms).", int32(tm.MaxNetworkDelay), minimumTimeout)
	}
	if tm.Token < minimumTimeout {
		key = "totem.token"
		return perr("The token timeout parameter (%d ms) may not be less than (%d ms).", int32(tm.Token), minimumTimeout)
	}
	if int32(tm.TokenWarning) > 100 || int32(tm.TokenWarning) < 0 {
		key = "totem.token_warning"
		return perr("The token warning parameter (%d%%) must be between 0 (disabled) and 100.", int32(tm.TokenWarning))
	}
	if tm.TokenRetransmit < minimumTimeout {
		key = "totem.token_retransmit"
		if _, ok := r.m.Uint32("totem.token_retransmit"); ok {
			return perr("The token retransmit timeout parameter (%d ms) may not be less than (%d ms).", int32(tm.TokenRetransmit), minimumTimeout)
		}
		return perr("Not appropriate token or token_retransmits_before_loss_const value set")
	}
	if tm.Hold < minimumTimeoutHold {
		key = "totem.hold"
		return perr("The token hold timeout parameter (%d ms) may not be less than (%d ms).", int32(tm.Hold), minimumTimeoutHold)
	}
	if tm.Join < minimumTimeout {
		key = "totem.join"
		return perr("The join timeout parameter (%d ms) may not be less than (%d ms).", int32(tm.Join), minimumTimeout)
	}
	if tm.Consensus < minimumTimeout {
		key = "totem.consensus"
		return perr("The consensus timeout parameter (%d ms) may not be less than (%d ms).", int32(tm.Consensus), minimumTimeout)
	}
	if tm.Consensus < tm.Join {
		return perr("The consensus timeout parameter (%d ms) may not be less than join timeout (%d ms).", int32(tm.Consensus), int32(tm.Join))
	}
	if tm.Merge < minimumTimeout {
		key = "totem.merge"
		return perr("The merge timeout parameter (%d ms) may not be less than (%d ms).", int32(tm.Merge), minimumTimeout)
	}
	if tm.Downcheck < minimumTimeout {
		key = "totem.downcheck"
		return perr("The downcheck timeout parameter (%d ms) may not be less than (%d ms).", int32(tm.Downcheck), minimumTimeout)
	}
	configured, members := 0, -1
	for i := range t.Links {
		if t.Links[i].Configured {
			if configured == 0 {
				members = r.memberCount[i]
			}
			configured++
		}
	}
	if configured > 1 {
		for i := 0; i < members; i++ {
			if _, ok := r.m.String(fmt.Sprintf("nodelist.node.%d.name", i)); !ok {
				return perr("for a multi-link configuration, all nodes must have a 'name' attribute")
			}
		}
		for i := range t.Links {
			if t.Links[i].Configured && r.memberCount[i] != members {
				return perr("Not all nodes have the same number of links")
			}
		}
	}
	for i := range t.Links {
		l := &t.Links[i]
		if !l.Configured {
			continue
		}
		for j := 1; j < len(l.Members); j++ {
			if l.Members[j].Addr.Is6() != l.Members[0].Addr.Is6() {
				return perr("Nodes for link %d have different IP families (compared %s with %s)", i,
					printAddr(l.Members[j].Addr), printAddr(l.Members[0].Addr))
			}
		}
	}
	return nil
}

// duplicateNodeIDs is check_for_duplicate_nodeids, including its way of
// walking the sorted key space (a node is compared only with the nodes whose
// "nodeid" keys come before its own position).
func (r *totemReader) duplicateNodeIDs() *stageError {
	m := r.m
	keys := m.Keys("nodelist.node.")
	last := -1
	for _, k := range keys {
		pos, _, ok := nodeKey(k)
		if !ok || pos == last {
			continue
		}
		last = pos
		auto := false
		var ring0 string
		nodeid, ok := m.Uint32(fmt.Sprintf("nodelist.node.%d.nodeid", pos))
		if !ok {
			s, ok := m.String(fmt.Sprintf("nodelist.node.%d.ring0_addr", pos))
			if !ok {
				continue
			}
			id, ok := GenerateNodeID(r.env.mustResolve4(s), r.t.ClearNodeHighBit)
			if !ok {
				continue
			}
			nodeid, ring0, auto = id, s, true
		}
		pos1 := 0
		for _, k1 := range keys {
			if pos1 >= pos {
				break
			}
			p1, rest, ok := nodeKey(k1)
			if !ok {
				continue
			}
			pos1 = p1
			if p1 >= pos || rest != "nodeid" {
				continue
			}
			id1, ok := m.Uint32(k1)
			if !ok {
				continue
			}
			if id1 == nodeid {
				if auto {
					return &stageError{msg: fmt.Sprintf("Nodeid %d(autogenerated from %s) appears twice in corosync.conf", nodeid, ring0), validate: true,
						key: fmt.Sprintf("nodelist.node.%d.ring0_addr", pos)}
				}
				return &stageError{msg: fmt.Sprintf("Nodeid %d appears twice in corosync.conf", nodeid), validate: true,
					key: fmt.Sprintf("nodelist.node.%d.nodeid", pos)}
			}
		}
	}
	return nil
}

func (e *Env) mustResolve4(s string) netip.Addr {
	a, _ := e.resolve(s, ipv4)
	return a
}

// DefaultTimers are corosync 3.1.7's runtime timers for a one- or two-node
// cluster with no timing configured: token 3000, token_retransmit 714,
// hold 561, consensus 3600, join 50, merge 200, ... (corosync.conf(5)).
func DefaultTimers() Timers {
	t := DeriveTimers(Defaults3, TimerInput{Members: 2})
	t.KnetCompressionModel = "none"
	t.BlockUnlistedIPs = 1
	return t
}

// Timers2 returns the timers corosync 2.x would run with for the same file
// and membership: the 3.x derivation with 2.x's 1000 ms default token (and
// no token_warning), for a node talking to 2.x peers.
func (c *Config) Timers2() Timers {
	t := DeriveTimers(Defaults2, c.timerInput)
	t.TokenWarning = 0
	t.KnetCompressionModel = c.Totem.KnetCompressionModel
	t.BlockUnlistedIPs = c.Totem.BlockUnlistedIPs
	t.CancelTokenHoldOnRetransmit = c.Totem.CancelTokenHoldOnRetransmit
	return t
}
