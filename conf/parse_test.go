package conf

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"missing colon", "totem {\n version 2\n}\n", 2, "Line is not opening or closing section or key value"},
		{"unexpected close", "totem {\n}\n}\n", 3, "Unexpected closing brace"},
		{"missing close at EOF", "totem {\n a: b\n\n", 3, "Missing closing brace"},
		{"one-line section", "totem { version: 2 }\n", 1, "Extra characters after opening bracket '{'"},
		{"no section name", " {\n}\n", 1, "Missing section name before opening bracket '{'"},
		{"text before close", "a {\nb }\n", 2, "Extra characters before or after closing bracket '}'"},
		{"long line", "# " + strings.Repeat("x", 509) + "\n", 1, "Line too long"},
		{"NUL makes fgets look short", "a: b\x00c\nd: e\n", 1, "Line too long"},
		{"typed value", "totem {\n token: fast\n}\n", 2, `Value of key "totem.token" is expected to be integer in range (0..4294967295), but "fast" was given`},
		{"trailing comment is data", "totem {\n token: 3000 # ms\n}\n", 2, `Value of key "totem.token" is expected to be integer in range (0..4294967295), but "3000 # ms" was given`},
		{"u8 range", "quorum {\n two_node: 2000\n}\n", 2, `Value of key "quorum.two_node" is expected to be integer in range (0..255), but "2000" was given`},
		{"u16 in interface", "totem {\n interface {\n  mcastport: -1\n }\n}\n", 3, `Value of key "totem.interface.mcastport" is expected to be integer in range (0..65535), but "-1" was given`},
		{"nodeid named by position", "nodelist {\n node {\n }\n node {\n  nodeid: x\n }\n}\n", 5, `Value of key "nodelist.node.1.nodeid" is expected to be integer in range (0..4294967295), but "x" was given`},
		{"i32", "totem {\n knet_compression_level: 2147483648\n}\n", 2, `Value of key "totem.knet_compression_level" is expected to be integer in range (-2147483648..2147483647), but "2147483648" was given`},
		{"bad key name", "totem {\n my key: 1\n}\n", 2, `Can't store key "totem.my key" into icmap, returned error is CS_ERR_NAME_TOO_LONG`},
		{"short key name", "a: 1\n", 1, `Can't store key "a" into icmap, returned error is CS_ERR_NAME_TOO_LONG`},
		{"subsys missing", "logging {\n logger_subsys {\n  debug: on\n }\n}\n", 4, "No subsys key in logger_subsys directive"},
		{"member key", "totem {\n interface {\n  member {\n   x: y\n  }\n }\n}\n", 4, "Only memberaddr is allowed in member section"},
		{"cipher", "totem {\n crypto_cipher: rot13\n}\n", 2, "Invalid cipher type. Should be none, aes256, aes192 or aes128"},
		{"compression none", "totem {\n knet_compression_model: none\n}\n", 2, "Invalid compression model. Should be zlib, lz4, lz4hc, lzo2, lzma, bzip2 or zstd"},
		{"uidgid item", "uidgid {\n user: x\n}\n", 2, "uidgid: Only uid and gid are allowed items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadBytes("/etc/corosync/corosync.conf", []byte(tt.in), testEnv(), Options{})
			var e *Error
			if !errors.As(err, &e) || e.Stage != StageParse {
				t.Fatalf("got %v, want a parse error", err)
			}
			if e.Line != tt.line || e.Msg != tt.msg {
				t.Fatalf("got line %d %q, want line %d %q", e.Line, e.Msg, tt.line, tt.msg)
			}
			if e.ExitCode() != 8 || !strings.HasPrefix(e.Error(), "parser error: /etc/corosync/corosync.conf:") {
				t.Fatalf("exit %d, text %q", e.ExitCode(), e.Error())
			}
		})
	}
}

func testEnv() *Env {
	e := HostsEnv("node01", []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1")},
		[]byte("192.0.2.1 node01\n192.0.2.2 node02\n192.0.2.3 node03\n"))
	e.ReadDir = func(string) ([]string, error) { return nil, nil }
	e.OpenLogfile = nil
	e.Chdir = nil
	return e
}

func TestParseValues(t *testing.T) {
	in := "# c\n  totem{\n\tcluster_name :  \"quoted name\"  \n\ttoken:5\r\n\tfrob { level: 3\n\t}\n}\n" +
		"logging {\n logger_subsys {\n  subsys: QUORUM\n  debug: on\n  debug: off\n }\n}\n"
	c, _, err := LoadBytes("x.conf", []byte(in), testEnv(), Options{})
	if err == nil || !strings.Contains(err.Error(), "Extra characters") {
		t.Fatalf("frob line: %v", err)
	}
	in = strings.Replace(in, "frob { level: 3\n", "frob {\n level: 3\n", 1)
	c, _, err = LoadBytes("x.conf", []byte(in), testEnv(), Options{})
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageTotemValidate {
		t.Fatalf("want a totem error, got %v", err)
	}
	_ = c
	m := NewMap()
	if _, err := parse("x", []byte(in), &flattener{m: m, env: testEnv()}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"totem.cluster_name (str) = \"quoted name\"":         "",
		"totem.token (u32) = 5":                              "",
		"totem.frob.level (str) = 3":                         "",
		"logging.logger_subsys.QUORUM.debug (str) = on":      "", // first wins: the list is built head-first
		"logging.logger_subsys.QUORUM.subsys (str) = QUORUM": "",
	}
	got := map[string]bool{}
	for _, kv := range m.All() {
		got[kv.String()] = true
	}
	for k := range want {
		if !got[k] {
			t.Errorf("missing %s; have %v", k, got)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	names, _ := filepath.Glob(testenv.Shared(t, "conformance", "corosync", "configs", "*.conf"))
	for _, n := range names {
		data, _ := os.ReadFile(n)
		f, err := Parse(n, data)
		if err != nil {
			continue // the bad-* syntax cases
		}
		if out := f.Format(); !bytes.Equal(out, data) {
			t.Errorf("%s: Format changed the file", filepath.Base(n))
		}
	}
}

func TestEdits(t *testing.T) {
	in := "# cluster\ntotem {\r\n\tversion: 2\r\n\t# the token\r\n\ttoken: 3000\r\n}\r\n\nnodelist {\n}\n"
	f, err := Parse("x", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	tot := f.Section("totem")
	tot.Set("token", "5000")
	tot.Set("cluster_name", "c1")
	nl := f.Section("nodelist")
	n := nl.AddSection("node")
	n.Set("ring0_addr", "192.0.2.1")
	n.Set("nodeid", "1")
	want := "# cluster\ntotem {\r\n\tversion: 2\r\n\t# the token\r\n\ttoken: 5000\r\n\tcluster_name: c1\r\n}\r\n\nnodelist {\n\tnode {\n\t\tring0_addr: 192.0.2.1\n\t\tnodeid: 1\n\t}\n}\n"
	if got := string(f.Format()); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if !tot.Delete("version") || tot.Delete("version") {
		t.Fatal("Delete")
	}
	f2, err := Parse("x", f.Format())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f2.Section("totem").Get("token"); v != "5000" {
		t.Fatalf("token %q", v)
	}
	if len(f2.Section("nodelist").Sections("node")) != 1 {
		t.Fatal("node section lost")
	}
}

func TestTimerDerivation(t *testing.T) {
	tests := []struct {
		name                                 string
		d                                    TimerDefaults
		set                                  map[string]uint32
		members                              int
		token, retrans, hold, consensus, max uint32
	}{
		{"3.x 2 nodes", Defaults3, nil, 2, 3000, 714, 561, 3600, 0},
		{"3.x 3 nodes", Defaults3, nil, 3, 3650, 869, 685, 4380, 0},
		{"3.x 5 nodes", Defaults3, nil, 5, 4950, 1178, 932, 5940, 0},
		{"noname doubling: 2 nodes counted 4", Defaults3, nil, 4, 4300, 1023, 808, 5160, 0},
		{"token 2000 coef 800 4 nodes", Defaults3, map[string]uint32{"token": 2000, "token_coefficient": 800}, 4, 3600, 857, 675, 4320, 0},
		{"coefficient 0", Defaults3, map[string]uint32{"token_coefficient": 0}, 5, 3000, 714, 561, 3600, 0},
		{"2.x 3 nodes", Defaults2, nil, 3, 1650, 392, 303, 1980, 0},
		{"explicit", Defaults3, map[string]uint32{"token": 2000, "token_retransmits_before_loss_const": 4, "consensus": 2500, "hold": 100}, 2, 2000, 476, 100, 2500, 0},
		{"token 0 means default", Defaults3, map[string]uint32{"token": 0}, 1, 3000, 714, 561, 3600, 0},
	}
	for _, tt := range tests {
		tm := DeriveTimers(tt.d, TimerInput{Set: tt.set, Members: tt.members})
		if tm.Token != tt.token || tm.TokenRetransmit != tt.retrans || tm.Hold != tt.hold || tm.Consensus != tt.consensus {
			t.Errorf("%s: token %d retransmit %d hold %d consensus %d, want %d %d %d %d", tt.name,
				tm.Token, tm.TokenRetransmit, tm.Hold, tm.Consensus, tt.token, tt.retrans, tt.hold, tt.consensus)
		}
		if tm.Join != 50 || tm.Merge != 200 || tm.Downcheck != 1000 || tm.MaxMessages != 17 || tm.WindowSize != 50 {
			t.Errorf("%s: constant defaults wrong: %+v", tt.name, tm)
		}
	}
}

func TestNodeIDAndMcast(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	if id, _ := GenerateNodeID(a, false); id != 3221225985 {
		t.Errorf("nodeid %d", id)
	}
	if id, _ := GenerateNodeID(a, true); id != 1073742337 {
		t.Errorf("nodeid high bit %d", id)
	}
	if _, ok := GenerateNodeID(netip.MustParseAddr("2001:db8::1"), false); ok {
		t.Error("IPv6 nodeid generated")
	}
	if got := ClusterMcastAddr("wctest", 0, false).String(); got != "239.192.27.185" {
		t.Errorf("mcast %s", got)
	}
}

func TestLocalNodeAndWarnings(t *testing.T) {
	in := "totem {\n version: 2\n transport: udpu\n interface {\n  bindnetaddr: 192.0.2.0\n }\n}\n" +
		"nodelist {\n node {\n  ring0_addr: node02\n }\n node {\n  ring0_addr: node01\n }\n}\n"
	c, warns, err := LoadBytes("x", []byte(in), testEnv(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.LocalNodePos != 1 || c.Totem.NodeID != 3221225985 {
		t.Fatalf("local pos %d nodeid %d", c.LocalNodePos, c.Totem.NodeID)
	}
	if v, _ := c.Map.String("totem.interface.0.bindnetaddr"); v != "node01" {
		t.Errorf("bindnetaddr rewritten to %q", v)
	}
	if len(warns) != 2 || !strings.HasPrefix(warns[0].Msg, "interface section bindnetaddr") {
		t.Errorf("warnings %v", warns)
	}
	if len(c.Totem.Links[0].Members) != 4 { // each name-less node twice (corosync quirk)
		t.Errorf("members %v", c.Totem.Links[0].Members)
	}
}

func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile(testenv.Shared(b, "conformance", "corosync", "configs", "s1-two-node-udpu.conf"))
	if err != nil {
		b.Fatal(err)
	}
	env := testEnv()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c, _, err := LoadBytes(DefaultPath, data, env, Options{})
		if err != nil {
			b.Fatal(err)
		}
		_ = c.Keys()
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(testenv.Shared(b, "conformance", "corosync", "configs", "knet-two-links.conf"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := Parse(DefaultPath, data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParse checks that no input makes the reader or the loader panic, and
// that every file the parser accepts formats back to its own bytes.
func FuzzParse(f *testing.F) {
	names, _ := filepath.Glob(testenv.Shared(f, "conformance", "corosync", "configs", "*.conf"))
	for _, n := range names {
		if data, err := os.ReadFile(n); err == nil {
			f.Add(data)
		}
	}
	for _, s := range diffCases {
		f.Add([]byte(s))
	}
	env := testEnv()
	env.LookupHost = func(string) []netip.Addr { return nil }
	env.ReadFile = func(string) ([]byte, error) { return nil, os.ErrNotExist }
	f.Fuzz(func(t *testing.T, data []byte) {
		if file, err := Parse("f", data); err == nil {
			if !bytes.Equal(file.Format(), data) {
				t.Fatalf("round trip changed %q", data)
			}
		}
		c, w, err := LoadBytes("f", data, env, Options{})
		out := TestResult(c, w, err)
		if (err == nil) != (out.ExitCode == 0) {
			t.Fatalf("exit %d for err %v", out.ExitCode, err)
		}
		if c != nil {
			_ = c.Keys()
		}
	})
}

func TestLoadServiceDir(t *testing.T) {
	env := testEnv()
	files := map[string]string{"/sd/pcmk": "service {\n\tname: pacemaker\n\tver: 0\n}\n"}
	env.ReadDir = func(string) ([]string, error) { return []string{"pcmk"}, nil }
	env.ReadFile = func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	m, read, err := LoadServiceDir(env, "/sd")
	if err != nil || len(read) != 1 {
		t.Fatal(err, read)
	}
	if v, _ := m.String("service.name"); v != "pacemaker" {
		t.Fatalf("service.name %q", v)
	}
}

func TestErrorDetail(t *testing.T) {
	tests := []struct{ in, detail string }{
		{"totem {\n version: 2\n token: 10\n}\nnodelist {\n node {\n  ring0_addr: 192.0.2.1\n  nodeid: 1\n }\n}\n",
			"x.conf:3: totem.token: The token timeout parameter (10 ms) may not be less than (30 ms)."},
		{"totem {\n version: 2\n transport: tcp\n}\n", "x.conf:3: totem.transport: Invalid transport type. Should be udpu, udp or knet"},
		{"totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 192.0.2.1\n  nodeid: 1\n }\n node {\n  ring0_addr: 192.0.2.2\n  nodeid: 1\n }\n}\n",
			"x.conf:11: nodelist.node.1.nodeid: Nodeid 1 appears twice in corosync.conf"},
		{"totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 192.0.2.1\n }\n}\n",
			"x.conf:6: nodelist.node.0.ring0_addr: Knet requires an explicit nodeid for the local node"},
	}
	for _, tt := range tests {
		_, _, err := LoadBytes("x.conf", []byte(tt.in), testEnv(), Options{})
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if e.Detail() != tt.detail {
			t.Errorf("got %q want %q", e.Detail(), tt.detail)
		}
	}
}

func TestDefaults(t *testing.T) {
	d := DefaultTimers()
	if d.Token != 3000 || d.Consensus != 3600 || d.TokenRetransmit != 714 || d.Hold != 561 || d.BlockUnlistedIPs != 1 {
		t.Errorf("DefaultTimers %+v", d)
	}
	l := DefaultLogging()
	if !l.ToStderr || !l.ToSyslog || l.ToLogfile || l.Timestamp != "hires" || l.Debug != "off" || l.SyslogFacility != "daemon" {
		t.Errorf("DefaultLogging %+v", l)
	}
}

func TestFileCheck(t *testing.T) {
	in := "totem {\n\tversion: 2\n\ttransport: udpu\n}\nnodelist {\n\tnode {\n\t\tring0_addr: 192.0.2.1\n\t\tnodeid: 1\n\t}\n}\n"
	f, err := Parse("x.conf", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Check(testEnv(), Options{}); err != nil {
		t.Fatal(err)
	}
	f.Section("totem").Set("token", "soon")
	_, _, err = f.Check(testEnv(), Options{})
	if err == nil || err.Error() != `parser error: x.conf:4: Value of key "totem.token" is expected to be integer in range (0..4294967295), but "soon" was given` {
		t.Fatalf("got %v", err)
	}
}
