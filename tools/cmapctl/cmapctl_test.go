package cmapctl

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"ringmaster/cmap"
	"ringmaster/conf"
	"ringmaster/internal/testenv"
)

// storeConn is a Conn over an in-process cmap.Store with the service's access
// rules, so the tool's logic is tested without a daemon.
type storeConn struct {
	st     *cmap.Store
	events chan cmap.Notify
}

func (c *storeConn) GetInfo(k string) (conf.ValueType, uint64, error) {
	v, err := c.st.Get(k)
	if err != nil {
		return 0, 0, err
	}
	return v.Type, uint64(len(cmap.WireValue(v))), nil
}
func (c *storeConn) Get(k string) (conf.Value, error) { return c.st.Get(k) }
func (c *storeConn) Set(k string, v conf.Value) error {
	if c.st.IsReadOnly(k) {
		return cmap.ErrAccess
	}
	err := c.st.Set(k, v)
	c.pump()
	return err
}
func (c *storeConn) Delete(k string) error {
	if c.st.IsReadOnly(k) {
		return cmap.ErrAccess
	}
	err := c.st.Delete(k)
	c.pump()
	return err
}
func (c *storeConn) pump() {
	for _, ev := range c.st.TakeEvents() {
		select {
		case c.events <- cmap.Notify{Event: ev.Type, Key: ev.Key, New: ev.New, Old: ev.Old}:
		default: // nobody tracking that many
		}
	}
}

type storeIter struct{ it *cmap.Iter }

func (s storeIter) Next() (cmap.KeyInfo, error) {
	k, v, ok := s.it.Next()
	if !ok {
		return cmap.KeyInfo{}, cmap.ErrNoSections
	}
	return cmap.KeyInfo{Key: k, Type: v.Type, ValueLen: uint64(len(cmap.WireValue(v)))}, nil
}
func (s storeIter) Finalize() error { return nil }

func (c *storeConn) IterInit(p string) (Iterator, error) { return storeIter{c.st.Iter(p)}, nil }
func (c *storeConn) Track(k string, f cmap.TrackFlags) (uint64, uint64, error) {
	id, err := c.st.Track(k, f, nil)
	return uint64(id), uint64(id), err
}
func (c *storeConn) NextEvent(timeout time.Duration) (cmap.Notify, error) {
	select {
	case n := <-c.events:
		return n, nil
	case <-time.After(time.Second):
		return cmap.Notify{}, errors.New("timeout")
	}
}
func (c *storeConn) Close() error { return nil }

func testStore() *cmap.Store {
	st := cmap.NewICMap()
	for k, v := range map[string]conf.Value{
		"totem.cluster_name":   conf.Str("lbcluster"),
		"totem.version":        conf.U32(2),
		"nodelist.node.0.name": conf.Str("primary"),
		"quorum.two_node":      conf.U8(1),
		"test.i8":              conf.Int(conf.TypeI8, -5),
		"test.flt":             conf.Float(1.5),
		"test.dbl":             conf.Double(-0.25),
		"test.bin":             {Type: conf.TypeBinary, Data: []byte("a\\b\x01\xff")},
	} {
		_ = st.Set(k, v)
	}
	return st
}

func runTool(t *testing.T, st *cmap.Store, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	conn := &storeConn{st: st, events: make(chan cmap.Notify, 100)}
	dial := func(m cmap.Map) (Conn, error) { return conn, nil }
	files := map[string]string{
		"settings": "# comment\n  \nnew.key u32 7\n^test.i8\n^^nodelist.\n^missing.key\nnew.str str hello\n",
		"blob":     "\x00\x01binary",
		"bad":      "lonely.key\n",
	}
	open := func(name string) (io.ReadCloser, error) {
		if s, ok := files[name]; ok {
			return io.NopCloser(strings.NewReader(s)), nil
		}
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	}
	rc := Run(args, dial, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Open: open})
	return out.String(), errb.String(), rc
}

func TestRun(t *testing.T) {
	cases := []struct {
		args      []string
		stdout    string
		stderr    string
		rc        int
		stdin     string
		afterKeys map[string]string
	}{
		{args: []string{"totem."}, stdout: "totem.cluster_name (str) = lbcluster\ntotem.version (u32) = 2\n"},
		{args: []string{"nodelist.", "quorum."}, stdout: "nodelist.node.0.name (str) = primary\nquorum.two_node (u8) = 1\n"},
		{args: []string{"nothing.", "quorum."}, stdout: "quorum.two_node (u8) = 1\n"},
		{args: []string{"nothing."}, rc: 1},
		{args: []string{"test."}, stdout: "test.bin (bin)\ntest.dbl (dbl) = -0.250000\ntest.flt (flt) = 1.500000\ntest.i8 (i8) = -5\n"},
		{args: []string{"-b", "test.bin"}, stdout: "test.bin (bin) = a\\\\b\\x01\\xFFFFFFFF\n"},
		{args: []string{"-g", "totem.cluster_name"}, stdout: "totem.cluster_name (str) = lbcluster\n"},
		{args: []string{"-q", "-g", "totem.cluster_name", "totem.version"}, stdout: "lbcluster\n2\n"},
		{args: []string{"-g", "totem.no_such_key"}, stderr: "Can't get key totem.no_such_key. Error CS_ERR_NOT_EXIST\n", rc: 1},
		{args: []string{"-g"}, stderr: "Expected key after options\n", rc: 1},
		{args: []string{"-x"}, stderr: "corosync-cmapctl: invalid option -- 'x'\n", rc: 1},
		{args: []string{"-m"}, stderr: "corosync-cmapctl: option requires an argument -- 'm'\n", rc: 1},
		{args: []string{"-m", "nope"}, stderr: "invalid map name, must be 'default', 'icmap' or 'stats'\n", rc: 1},
		{args: []string{"-C", "nope"}, stderr: "argument to -C should be 'knet', 'totem', 'ipc', 'schedmiss' or 'all'\n", rc: 1},
		{args: []string{"-s", "a.b", "u8"}, stderr: "At least 3 parameters are expected for set\n", rc: 1},
		{args: []string{"-s", "a.b", "u9", "1"}, stderr: "Unknown type u9\n", rc: 1},
		{args: []string{"-s", "a.b", "u8", "256"}, stderr: "256 is not valid u8 integer\n", rc: 1},
		{args: []string{"-s", "a.b", "u8", "x"}, stderr: "x is not valid u8 type value\n", rc: 1},
		{args: []string{"-s", "a.b", "i8", "-129"}, stderr: "corosync-cmapctl: invalid option -- '1'\n", rc: 1},
		{args: []string{"-s", "a.b", "i8", "--", "-128"}, stderr: "", afterKeys: map[string]string{"a.b": "a.b (i8) = -128"}},
		{args: []string{"-s", "a.b", "u64", " -1x"}, afterKeys: map[string]string{"a.b": "a.b (u64) = 18446744073709551615"}},
		{args: []string{"-s", "a.b", "dbl", "2.5e1junk"}, afterKeys: map[string]string{"a.b": "a.b (dbl) = 25.000000"}},
		{args: []string{"a.b", "-s", "str", "two words"}, afterKeys: map[string]string{"a.b": "a.b (str) = two words"}},
		{args: []string{"-s", "totem.cluster_name", "str", "x"}, stderr: "Failed to set key totem.cluster_name. Error CS_ERR_ACCESS\n", rc: 1},
		{args: []string{"-s", "x", "str", "x"}, stderr: "Failed to set key x. Error CS_ERR_NAME_TOO_LONG\n", rc: 1},
		{args: []string{"-s", "a.bin", "bin", "blob"}, afterKeys: map[string]string{"a.bin": "a.bin (bin)"}},
		{args: []string{"-s", "a.bin", "bin", "-"}, stdin: "xyz", afterKeys: map[string]string{"a.bin": "a.bin (bin)"}},
		{args: []string{"-s", "a.bin", "bin", "nofile"}, stderr: "Can't open input file: No such file or directory\n", rc: 1},
		{args: []string{"-d", "test.i8", "test.flt"}, afterKeys: map[string]string{"test.i8": "", "test.flt": ""}},
		{args: []string{"-d", "test.none"}, stderr: "Can't delete key test.none. Error CS_ERR_NOT_EXIST\n", rc: 1},
		{args: []string{"-D", "test."}, afterKeys: map[string]string{"test.i8": "", "test.bin": ""}},
		{args: []string{"-D", "nodelist."}, stderr: "Can't delete key nodelist.node.0.name. Error CS_ERR_ACCESS\n"},
		{args: []string{"-p", "settings"}, stderr: "Can't delete key nodelist.node.0.name. Error CS_ERR_ACCESS\nCan't delete key missing.key. Error CS_ERR_NOT_EXIST\n",
			afterKeys: map[string]string{"new.key": "new.key (u32) = 7", "test.i8": "", "new.str": "new.str (str) = hello"}},
		{args: []string{"-p", "bad"}, stderr: "Both type and value for key lonely.key are required\n", rc: 1},
		{args: []string{"-p", "nofile"}, stderr: "Couldn't open file.: No such file or directory\n"},
		{args: []string{"-h", "-x"}, stdout: helpText},
	}
	for _, c := range cases {
		st := testStore()
		out, errs, rc := runTool(t, st, c.stdin, c.args...)
		if out != c.stdout && c.afterKeys == nil || errs != c.stderr || rc != c.rc {
			t.Errorf("%q: rc %d stdout %q stderr %q\nwant rc %d stdout %q stderr %q", c.args, rc, out, errs, c.rc, c.stdout, c.stderr)
		}
		for k, want := range c.afterKeys {
			v, err := st.Get(k)
			got := ""
			if err == nil {
				got = FormatKey(k, v, false, false)
			}
			if got != want {
				t.Errorf("%q: afterwards %s is %q, want %q", c.args, k, got, want)
			}
		}
	}
}

func TestTrack(t *testing.T) {
	st := testStore()
	var out bytes.Buffer
	conn := &storeConn{st: st, events: make(chan cmap.Notify, 100)}
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- Run([]string{"-T", "mine."}, func(cmap.Map) (Conn, error) { return conn, nil }, IO{Stdin: pr, Stdout: &out, Stderr: io.Discard})
	}()
	// Wait for the track to exist, then change keys.
	for i := 0; i < 200 && st.TrackCount() == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	_ = conn.Set("mine.a", conf.U32(1))
	_ = conn.Set("mine.a", conf.U32(2))
	_ = conn.Set("other.b", conf.U32(2))
	_ = conn.Delete("mine.a")
	time.Sleep(100 * time.Millisecond)
	pw.Write([]byte("q\n"))
	if rc := <-done; rc != 0 {
		t.Errorf("rc %d", rc)
	}
	want := "Type \"q\" to finish\ncreate> mine.a (u32) = 1\nmodify> mine.a (u32) = 2\ndelete> mine.a (u32) = 1\n"
	_ = want
	got := out.String()
	if !strings.HasPrefix(got, "Type \"q\" to finish\ncreate> mine.a (u32) = 1\nmodify> mine.a (u32) = 2\ndelete> mine.a (u32) = 2\n") {
		t.Errorf("track output:\n%s", got)
	}
}

func TestHelpMatchesReal(t *testing.T) {
	b, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "expected", "s1-two-node-udpu.cmapctl-h"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != helpText {
		t.Errorf("help text differs")
	}
}

func TestScanFloat(t *testing.T) {
	for in, want := range map[string]string{"2.5e1junk": "25.000000", " -0.5": "-0.500000", "1e": "1.000000", ".5": "0.500000",
		"0x1p3": "8.000000", "0x10": "16.000000", "inf": "inf", "-Infinity": "-inf", "1e999": "inf", "12abc": "12.000000"} {
		f, ok := scanFloat(in, 64)
		if !ok || cFloat(f) != want {
			t.Errorf("%q: %v %s, want %s", in, ok, cFloat(f), want)
		}
	}
	for _, in := range []string{"", "x", ".", "-", "e5", "0x"} {
		if _, ok := scanFloat(in, 64); ok && in != "0x" {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestCFloat(t *testing.T) {
	for in, want := range map[float64]string{0: "0.000000", 1e20: "100000000000000000000.000000", -1.0 / 3: "-0.333333"} {
		if got := cFloat(in); got != want {
			t.Errorf("%v: %s", in, got)
		}
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range []string{"1", "-1", " +42x", "1e5", "nan", "-inf", "0x1p3", "", "99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scanInt(s)
		scanUint(s)
		scanFloat(s, 32)
		scanFloat(s, 64)
	})
}

// FuzzSettingsFile runs -p on arbitrary file contents: the tool must not panic
// and must end with status 0 or 1.
func FuzzSettingsFile(f *testing.F) {
	f.Add("# c\nnew.key u32 7\n^test.i8\n^^nodelist.\nnew.str str hello\n")
	f.Add("a.b i8 -5\n a.c dbl nan\n\t^x\n")
	f.Add("lonely\n")
	f.Fuzz(func(t *testing.T, content string) {
		st := testStore()
		conn := &storeConn{st: st, events: make(chan cmap.Notify, 16)}
		open := func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }
		rc := Run([]string{"-p", "f"}, func(cmap.Map) (Conn, error) { return conn, nil },
			IO{Stdout: io.Discard, Stderr: io.Discard, Open: open})
		if rc != 0 && rc != 1 {
			t.Fatalf("rc %d", rc)
		}
	})
}
