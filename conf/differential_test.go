package conf

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

// diffCases are small configurations run through Debian's `corosync -t -c`
// and through Test with SystemEnv on the same host: both sides see the same
// hostname, interfaces and resolver, so the whole output must agree.
var diffCases = map[string]string{
	"empty":               "",
	"only-comment":        "# nothing\n",
	"no-version":          "totem {\n}\n",
	"no-interfaces":       "totem {\n version: 2\n}\n",
	"bad-transport":       "totem {\n version: 2\n transport: tcp\n}\n",
	"ip-version":          "totem {\n version: 2\n ip_version: ipv5\n}\n",
	"cipher":              "totem {\n version: 2\n crypto_cipher: des\n}\n",
	"hash":                "totem {\n version: 2\n crypto_hash: crc\n}\n",
	"cipher-no-hash":      "totem {\n version: 2\n crypto_cipher: aes256\n crypto_hash: none\n}\n",
	"model":               "totem {\n version: 2\n crypto_model: foo\n}\n",
	"compress":            "totem {\n version: 2\n knet_compression_model: none\n}\n",
	"token-neg":           "totem {\n token: -1\n}\n",
	"token-big":           "totem {\n token: 4294967296\n}\n",
	"token-plus":          "totem {\n token: +5\n}\n",
	"token-space":         "totem {\n token:    5  \n version: 3\n}\n",
	"token-hex":           "totem {\n token: 0x10\n}\n",
	"token-empty":         "totem {\n token:\n}\n",
	"level-i32":           "totem {\n knet_compression_level: -2147483649\n}\n",
	"two-node-u8":         "quorum {\n two_node: 256\n}\n",
	"expected-votes":      "quorum {\n expected_votes: x\n}\n",
	"qdevice":             "quorum {\n device {\n  votes: -1\n }\n}\n",
	"master-wins":         "quorum {\n device {\n  master_wins: 300\n }\n}\n",
	"nodeid-str":          "nodelist {\n node {\n  nodeid: one\n }\n}\n",
	"qvotes":              "nodelist {\n node {\n  ring0_addr: 1.2.3.4\n }\n node {\n  quorum_votes: 1.5\n }\n}\n",
	"mcastport":           "totem {\n interface {\n  mcastport: 70000\n }\n}\n",
	"ttl":                 "totem {\n interface {\n  ttl: 256\n }\n}\n",
	"linknumber":          "totem {\n interface {\n  linknumber: x\n }\n}\n",
	"link-prio":           "totem {\n interface {\n  knet_link_priority: -1\n }\n}\n",
	"ping":                "totem {\n interface {\n  knet_ping_interval: z\n }\n}\n",
	"member-bad":          "totem {\n interface {\n  member {\n   addr: 1.2.3.4\n  }\n }\n}\n",
	"subsys-missing":      "logging {\n logger_subsys {\n  debug: on\n }\n}\n",
	"daemon-missing":      "logging {\n logging_daemon {\n  debug: on\n }\n}\n",
	"uidgid-bad":          "uidgid {\n user: root\n}\n",
	"uidgid-unknown":      "uidgid {\n uid: no-such-user-here\n}\n",
	"uidgid-gid":          "uidgid {\n gid: no-such-group-here\n}\n",
	"qb-ipc":              "system {\n qb_ipc_type: pipe\n}\n",
	"sched":               "system {\n sched_rr: maybe\n}\n",
	"cgroup":              "system {\n move_to_root_cgroup: sometimes\n}\n",
	"fallback":            "system {\n allow_knet_handle_fallback: x\n}\n",
	"watchdog":            "resources {\n watchdog_timeout: x\n}\n",
	"pload":               "pload {\n count: x\n}\n",
	"brace-extra":         "totem {\n}\n}\n",
	"brace-missing":       "totem {\n version: 2\n",
	"brace-after":         "totem {\n} x\n",
	"brace-before":        "totem {\nx }\n",
	"section-noname":      "{\n}\n",
	"section-extra":       "totem { version: 2\n}\n",
	"colon-missing":       "totem {\n version 2\n}\n",
	"key-space":           "totem {\n my key: 2\n}\n",
	"key-short":           "a: b\n",
	"key-empty":           ": b\n",
	"key-colons":          "totem:: {\n ab:: c\n}\n",
	"value-brace":         "totem {\n key: {x}\n}\n",
	"crlf":                "totem {\r\n version: 2\r\n}\r\n",
	"cr-only":             "totem {\r version: 2\r}\r",
	"no-final-newline":    "totem {\n version: 2\n}",
	"tabs":                "\ttotem\t{\t\n\t\tversion\t:\t2\t\n\t}\t\n",
	"long-line":           "totem {\n cluster_name: " + strings.Repeat("x", 600) + "\n}\n",
	"line-510":            "# " + strings.Repeat("x", 508) + "\n",
	"line-511":            "# " + strings.Repeat("x", 509) + "\n",
	"nul-byte":            "totem {\n vers\x00ion: 2\n}\n",
	"long-path":           strings.Repeat("a {\n", 130) + strings.Repeat("}\n", 130),
	"long-key":            "totem {\n " + strings.Repeat("k", 250) + ": 1\n}\n",
	"udpu-loopback":       "totem {\n version: 2\n transport: udpu\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n}\n",
	"udpu-debug":          "totem {\n version: 2\n transport: udpu\n}\nlogging {\n debug: on\n function_name: on\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n }\n node {\n  ring0_addr: 198.51.100.2\n }\n}\n",
	"udpu-noname-3":       "totem {\n version: 2\n transport: udpu\n}\nlogging {\n debug: on\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n }\n node {\n  ring0_addr: 198.51.100.2\n  name: b\n }\n node {\n  ring0_addr: 198.51.100.3\n }\n}\n",
	"udp-derived-mcast":   "totem {\n version: 2\n transport: udp\n cluster_name: wctest\n}\nlogging {\n debug: trace\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 3\n }\n}\n",
	"udp-no-cluster-name": "totem {\n version: 2\n transport: udp\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 3\n }\n}\n",
	"udp-bad-mcast":       "totem {\n version: 2\n transport: udp\n interface {\n  mcastaddr: 10.0.0.1\n }\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 3\n }\n}\n",
	"udp-broadcast":       "totem {\n version: 2\n transport: udp\n interface {\n  broadcast: yes\n }\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 3\n }\n}\n",
	"udpu-ttl":            "totem {\n version: 2\n transport: udpu\n interface {\n  ttl: 3\n }\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 3\n }\n}\n",
	"udpu-prio":           "totem {\n version: 2\n transport: udpu\n interface {\n  knet_link_priority: 3\n }\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 3\n }\n}\n",
	"udpu-crypto-key":     "totem {\n version: 2\n transport: udpu\n crypto_cipher: aes128\n crypto_hash: md5\n keyfile: /bin/sh\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 3\n }\n}\n",
	"udpu-two-rings":      "totem {\n version: 2\n transport: udpu\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  ring1_addr: 127.0.0.2\n  nodeid: 3\n }\n}\n",
	"knet-no-nodeid":      "totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n }\n}\n",
	"knet-other-no-id":    "totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n node {\n  ring0_addr: 198.51.100.2\n }\n}\n",
	"knet-big-nodeid":     "totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 70000\n }\n}\n",
	"knet-links-noname":   "totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  ring1_addr: 127.0.0.2\n  nodeid: 1\n }\n}\n",
	"knet-links-uneven":   "totem {\n version: 2\n}\nnodelist {\n node {\n  name: a\n  ring0_addr: 127.0.0.1\n  ring1_addr: 127.0.0.2\n  nodeid: 1\n }\n node {\n  name: b\n  ring0_addr: 198.51.100.2\n  nodeid: 2\n }\n}\n",
	"knet-mixed-family":   "totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n node {\n  ring0_addr: 2001:db8::2\n  nodeid: 2\n }\n}\n",
	"knet-ok-timers":      "totem {\n version: 2\n token: 1000\n token_coefficient: 0\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n node {\n  ring0_addr: 198.51.100.2\n  nodeid: 2\n }\n node {\n  ring0_addr: 198.51.100.3\n  nodeid: 3\n }\n}\n",
	"dup-autogen":         "totem {\n version: 2\n transport: udpu\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 2130706433\n }\n node {\n  ring0_addr: 127.0.0.1\n  name: x\n }\n}\n",
	"dup-explicit":        "totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 4\n }\n node {\n  ring0_addr: 198.51.100.2\n  nodeid: 4\n }\n}\n",
	"token-tiny":          "totem {\n version: 2\n token: 10\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n}\n",
	"warning-bad":         "totem {\n version: 2\n token_warning: 101\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n}\n",
	"retransmit-tiny":     "totem {\n version: 2\n token: 100\n token_retransmits_before_loss_const: 10\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n}\n",
	"consensus-lt-join":   "totem {\n version: 2\n consensus: 40\n join: 60\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n}\n",
	"hold-tiny":           "totem {\n version: 2\n hold: 5\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n}\n",
	"merge-tiny":          "totem {\n version: 2\n merge: 5\n downcheck: 5\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n}\n",
	"ipv6-udpu-noid":      "totem {\n version: 2\n transport: udpu\n}\nnodelist {\n node {\n  ring0_addr: ::1\n }\n}\n",
	"localhost-v6-4":      "totem {\n version: 2\n transport: udpu\n}\nlogging {\n debug: on\n}\nnodelist {\n node {\n  ring0_addr: localhost\n  nodeid: 1\n }\n}\n",
	"localhost-v4-6":      "totem {\n version: 2\n transport: udpu\n ip_version: ipv4-6\n}\nlogging {\n debug: on\n}\nnodelist {\n node {\n  ring0_addr: localhost\n  nodeid: 1\n }\n}\n",
	"localhost-v6":        "totem {\n version: 2\n ip_version: ipv6\n}\nlogging {\n debug: on\n}\nnodelist {\n node {\n  ring0_addr: localhost\n  nodeid: 1\n }\n}\n",
	"v6-literal-knet":     "totem {\n version: 2\n}\nlogging {\n debug: on\n}\nnodelist {\n node {\n  ring0_addr: ::1\n  nodeid: 1\n }\n node {\n  ring0_addr: 2001:db8::5\n  nodeid: 2\n }\n}\n",
	"v4-on-v6-version":    "totem {\n version: 2\n ip_version: ipv6\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n}\n",
	"udp-v6-mcast":        "totem {\n version: 2\n transport: udp\n ip_version: ipv6\n cluster_name: six\n}\nlogging {\n debug: on\n}\nnodelist {\n node {\n  ring0_addr: ::1\n  nodeid: 1\n }\n}\n",
	"inet-aton-forms":     "totem {\n version: 2\n transport: udpu\n}\nlogging {\n debug: on\n}\nnodelist {\n node {\n  ring0_addr: 127.1\n  nodeid: 1\n }\n node {\n  ring0_addr: 0x7f.0.0.2\n  nodeid: 2\n }\n node {\n  ring0_addr: 0177.0.0.3\n  nodeid: 3\n }\n}\n",
	"hostname-alias":      "totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 198.51.100.1\n  name: runsc\n  nodeid: 1\n }\n}\n",
	"members-ignored":     "totem {\n version: 2\n transport: udpu\n nodeid: 4\n interface {\n  bindnetaddr: 127.0.0.1\n  member {\n   memberaddr: 127.0.0.1\n  }\n }\n}\nnodelist {\n node {\n  ring0_addr: 127.0.0.1\n  nodeid: 1\n }\n}\n",
	"members-only-udpu":   "totem {\n version: 2\n transport: udpu\n interface {\n  bindnetaddr: 127.0.0.1\n  member {\n   memberaddr: 127.0.0.1\n  }\n  member {\n   memberaddr: 198.51.100.1\n  }\n }\n}\nlogging {\n debug: on\n}\n",
	"name-match-host":     "totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 198.51.100.9\n  name: localhost\n  nodeid: 1\n }\n}\n",
	"logging-debug-bad":   "logging {\n debug: maybe\n}\n",
	"logging-ts-bad":      "logging {\n timestamp: always\n}\n",
	"logging-fileline":    "logging {\n fileline: x\n}\n",
	"logging-fn":          "logging {\n function_name: x\n}\n",
	"logging-blackbox":    "logging {\n blackbox: x\n}\n",
	"logging-stderr":      "logging {\n to_stderr: x\n}\n",
	"logging-facility":    "logging {\n syslog_facility: nowhere\n}\n",
	"logging-priority":    "logging {\n syslog_priority: loud\n}\n",
	"logging-lfpriority":  "logging {\n logfile_priority: loud\n}\n",
	"logging-subsys-bad":  "logging {\n logger_subsys {\n  subsys: QUORUM\n  debug: x\n }\n}\n",
	"logging-no-stderr":   "logging {\n to_stderr: no\n}\ntotem {\n version: 2\n}\n",
	"logfile-bad-dir":     "logging {\n logfile: /nonexistent/dir/x.log\n}\n",
	"logfile-subsys":      "logging {\n logger_subsys {\n  subsys: QUORUM\n  logfile: /nonexistent/q.log\n }\n}\n",
	"state-dir-missing":   "system {\n state_dir: /nonexistent/state\n}\ntotem {\n version: 2\n}\n",
	"state-dir-file":      "system {\n state_dir: /etc/hostname\n}\ntotem {\n version: 2\n}\n",
	"logging-ts-off":      "logging {\n timestamp: off\n}\ntotem {\n version: 2\n}\n",
	"config-version-neg":  "totem {\n version: 2\n config_version: -1\n}\n",
	"udpu-no-nodelist":    "totem {\n version: 2\n transport: udpu\n}\n",
	"udp-no-nodelist":     "totem {\n version: 2\n transport: udp\n}\n",
	"udpu-other-node":     "totem {\n version: 2\n transport: udpu\n}\nnodelist {\n node {\n  ring0_addr: 198.51.100.7\n  nodeid: 1\n }\n}\n",
	"link-mode":           "totem {\n version: 2\n link_mode: fast\n}\n",
	"knet-transport":      "totem {\n version: 2\n interface {\n  knet_transport: tcp\n }\n}\n",
	"ring-too-big":        "totem {\n version: 2\n interface {\n  linknumber: 9\n  bindnetaddr: 1.2.3.4\n }\n}\n",
	"bindnet-bad":         "totem {\n version: 2\n interface {\n  bindnetaddr: no.such.host.invalid\n }\n}\n",
	"members-deprecated":  "totem {\n version: 2\n transport: udpu\n interface {\n  bindnetaddr: 127.0.0.1\n  member {\n   memberaddr: 127.0.0.1\n  }\n }\n}\n",
	"totem-nodeid":        "totem {\n version: 2\n nodeid: 5\n}\n",
	"keyfile-missing":     "totem {\n version: 2\n crypto_cipher: aes256\n crypto_hash: sha1\n keyfile: /nonexistent/authkey\n}\n",
	"keyfile-short":       "totem {\n version: 2\n crypto_cipher: aes256\n crypto_hash: sha1\n keyfile: /etc/hostname\n}\n",
	"keyfile-dir":         "totem {\n version: 2\n crypto_cipher: aes256\n crypto_hash: sha1\n keyfile: /etc\n}\n",
	"secauth":             "totem {\n version: 2\n secauth: on\n keyfile: /nonexistent/key\n}\n",
	"unknown-everything":  "foo {\n bar {\n  baz: 1\n }\n}\ntotem {\n version: 2\n frob: x\n}\n",
	"top-level-key":       "totem.version: 2\n",
	"duplicate-sections":  "totem {\n version: 1\n}\ntotem {\n version: 2\n}\n",
	"max-network-delay":   "totem {\n version: 2\n max_network_delay: 1\n}\n",
	"interface-2x":        "totem {\n version: 2\n interface {\n  ringnumber: 0\n  bindnetaddr: 127.0.0.0\n  mcastaddr: 239.255.1.1\n  mcastport: 5405\n }\n}\n",
	"logger-reverse-dups": "logging {\n logger_subsys {\n  subsys: A\n  debug: on\n  debug: trace\n }\n}\ntotem {\n version: 2\n}\n",
}

func TestDifferentialCorosyncT(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real corosync -t")
	}
	real := testenv.RequireBinary(t, "corosync")
	dir := t.TempDir()
	now := time.Now()
	env := SystemEnv()
	pass := 0
	var names []string
	for name, text := range diffCases {
		path := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	outs, codes := runCorosyncT(t, real, dir, names)
	for i, name := range names {
		text := diffCases[name]
		path := filepath.Join(dir, name+".conf")
		code := codes[i]
		want := maskTS(outs[i])
		if code == 134 || strings.Contains(want, "Assertion") {
			// corosync aborts (see u64Error); we refuse the file instead.
			pass++
			continue
		}
		res := Test(path, []byte(text), env, Options{})
		got := maskTS(res.Format(now))
		if got != want || res.ExitCode != code {
			t.Errorf("%s: ours (exit %d):\n%s\ncorosync (exit %d):\n%s", name, res.ExitCode, got, code, want)
			continue
		}
		pass++
	}
	t.Logf("differential corosync -t: %d/%d identical", pass, len(diffCases))
}

var _ = fmt.Sprintf

// mutationPool holds lines the mutator inserts: keys with odd values, stray
// braces and colons, comments, CRs, tabs.
var mutationPool = []string{
	"}", "{", "x {", "a:", ":", "#", "  # c", "\t", "key value", "totem {", "nodelist {", "node {",
	"token: 0", "token: 50", "token: -3", "token: 99999999999", "consensus: 10", "join: 20",
	"version: 1", "version: 2", "transport: udp", "transport: knet", "transport: udpu", "transport: x",
	"nodeid: 0", "nodeid: 2", "nodeid: 65537", "ring0_addr: 192.0.2.2", "ring0_addr: 127.0.0.1",
	"ring0_addr: ::1", "ring1_addr: 192.0.2.102", "name: vm", "name: node02", "mcastport: 0",
	"mcastaddr: 239.1.1.1", "mcastaddr: 10.1.1.1", "bindnetaddr: 192.0.2.0", "broadcast: yes",
	"ttl: 2", "linknumber: 1", "linknumber: 9", "knet_link_priority: 5", "crypto_cipher: aes256",
	"crypto_hash: sha1", "secauth: on", "clear_node_high_bit: yes", "two_node: 1", "provider: x",
	"debug: on", "timestamp: on", "timestamp: off", "function_name: on", "to_stderr: no",
	"subsys: QUORUM", "logger_subsys {", "interface {", "member {", "memberaddr: 192.0.2.9",
	"link_mode: active", "link_mode: x", "ip_version: ipv6", "ip_version: ipv4", "token_warning: 120",
	"netmtu: 0", "keyfile: /nonexistent", "uid: 0", "gid: 0", "uidgid {", "quorum {", "expected_votes: 3",
	"cluster_name: wctest", "max_network_delay: 10", "window_size: 0", "hold: 1",
}

type lcg struct{ s uint64 }

func (r *lcg) intn(n int) int {
	r.s = r.s*6364136223846793005 + 1442695040888963407
	return int((r.s >> 33) % uint64(n))
}

func mutate(r *lcg, seed string) string {
	lines := strings.Split(seed, "\n")
	for k := 1 + r.intn(3); k > 0; k-- {
		i := r.intn(len(lines) + 1)
		switch r.intn(6) {
		case 0:
			if i < len(lines) {
				lines = append(lines[:i], lines[i+1:]...)
			}
		case 1, 2:
			l := mutationPool[r.intn(len(mutationPool))]
			lines = append(lines[:i], append([]string{l}, lines[i:]...)...)
		case 3:
			if i < len(lines) {
				lines = append(lines[:i], append([]string{lines[i]}, lines[i:]...)...)
			}
		case 4:
			if i < len(lines) {
				if c, _, ok := strings.Cut(lines[i], ":"); ok {
					_, v, _ := strings.Cut(mutationPool[r.intn(len(mutationPool))], ":")
					lines[i] = c + ":" + v
				}
			}
		case 5:
			if i < len(lines) && len(lines[i]) > 0 {
				j := r.intn(len(lines[i]))
				ch := []string{"{", "}", ":", "#", " ", "\t", "\r", "\x00"}[r.intn(8)]
				lines[i] = lines[i][:j] + ch + lines[i][j:]
			}
		}
	}
	return strings.Join(lines, "\n")
}

// TestDifferentialMutations runs mutated conformance configs through both
// corosync -t and ours. RINGMASTER_DIFF_N sets the number (default 40).
func TestDifferentialMutations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real corosync -t")
	}
	real := testenv.RequireBinary(t, "corosync")
	n := 40
	if s := os.Getenv("RINGMASTER_DIFF_N"); s != "" {
		fmt.Sscan(s, &n)
	}
	names, _ := filepath.Glob(testenv.Shared(t, "conformance", "corosync", "configs", "*.conf"))
	var seeds []string
	for _, p := range names {
		b, _ := os.ReadFile(p)
		seeds = append(seeds, string(b))
	}
	dir := t.TempDir()
	env := SystemEnv()
	env.OpenLogfile = func(p string) error { // the seeds log to /var/log/corosync
		if p == "" {
			return syscall.ENOENT
		}
		return nil
	}
	r := &lcg{s: 1}
	same := 0
	texts := make([]string, n)
	names = make([]string, n)
	for i := 0; i < n; i++ {
		text := mutate(r, seeds[r.intn(len(seeds))])
		text = strings.ReplaceAll(text, "logfile: /var/log/corosync/corosync.log", "logfile: /dev/null")
		texts[i], names[i] = text, fmt.Sprintf("m%d", i)
		os.WriteFile(filepath.Join(dir, names[i]+".conf"), []byte(text), 0o644)
	}
	outs, codes := runCorosyncT(t, real, dir, names)
	for i := 0; i < n; i++ {
		text := texts[i]
		path := filepath.Join(dir, names[i]+".conf")
		code := codes[i]
		want := maskTS(outs[i])
		res := Test(path, []byte(text), env, Options{})
		if code == 134 || code < 0 || code >= 128 {
			// corosync died (assertion or segfault); we must refuse the file.
			if res.ExitCode == 0 {
				t.Errorf("mutant %d: corosync crashed (exit %d), we accepted it:\n%s", i, code, text)
				continue
			}
			same++
			continue
		}
		got := maskTS(res.Format(time.Now()))
		if got != want || res.ExitCode != code {
			t.Errorf("mutant %d:\n%s\nours (exit %d):\n%s\ncorosync (exit %d):\n%s", i, text, res.ExitCode, got, code, want)
			continue
		}
		same++
	}
	t.Logf("differential mutations: %d/%d identical", same, n)
}

// runCorosyncT runs `corosync -t -c DIR/NAME.conf` for every name, four at a
// time, and returns the combined outputs and exit codes (-1 for a signal).
func runCorosyncT(t *testing.T, real, dir string, names []string) ([]string, []int) {
	outs := make([]string, len(names))
	codes := make([]int, len(names))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, path string) {
			defer func() { <-sem; wg.Done() }()
			cmd := exec.Command(real, "-t", "-c", path)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); ok {
				codes[i] = ee.ExitCode()
			} else if err != nil {
				codes[i] = -2
				out.WriteString(err.Error())
			}
			outs[i] = out.String()
		}(i, filepath.Join(dir, name+".conf"))
	}
	wg.Wait()
	return outs, codes
}

// TestDifferentialUIDGIDDir checks uidgid.d beside the file: its entries are
// parsed with the uidgid-only rules, errors name the entry file.
func TestDifferentialUIDGIDDir(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real corosync -t")
	}
	real := testenv.RequireBinary(t, "corosync")
	cases := map[string]string{
		"good":       "uidgid {\n uid: root\n gid: 0\n}\n",
		"bad-item":   "uidgid {\n user: root\n}\n",
		"bad-sect":   "other {\n uid: 0\n}\n",
		"bad-syntax": "uidgid {\n uid 0\n}\n",
		"no-user":    "uidgid {\n uid: no-such-user-xyz\n}\n",
	}
	env := SystemEnv()
	for name, entry := range cases {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "uidgid.d"), 0o755)
		os.WriteFile(filepath.Join(dir, "uidgid.d", "entry"), []byte(entry), 0o644)
		conf := "totem {\n version: 2\n}\n"
		path := filepath.Join(dir, "corosync.conf")
		os.WriteFile(path, []byte(conf), 0o644)
		outs, codes := runCorosyncT(t, real, dir, []string{"corosync"})
		res := Test(path, []byte(conf), env, Options{})
		got := maskTS(res.Format(time.Now()))
		if got != maskTS(outs[0]) || res.ExitCode != codes[0] {
			t.Errorf("%s: ours (exit %d):\n%s\ncorosync (exit %d):\n%s", name, res.ExitCode, got, codes[0], maskTS(outs[0]))
		}
	}
}

// TestDifferentialPaths checks how the file itself is opened.
func TestDifferentialPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real corosync -t")
	}
	real := testenv.RequireBinary(t, "corosync")
	env := SystemEnv()
	for _, p := range []string{"/nonexistent/corosync.conf", "/etc", "/dev/null"} {
		cmd := exec.Command(real, "-t", "-c", p)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		res := TestPath(p, env, Options{})
		if got := maskTS(res.Format(time.Now())); got != maskTS(out.String()) || res.ExitCode != code {
			t.Errorf("%s: ours (exit %d):\n%s\ncorosync (exit %d):\n%s", p, res.ExitCode, got, code, out.String())
		}
	}
}
