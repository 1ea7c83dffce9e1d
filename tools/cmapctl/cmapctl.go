// Package cmapctl is corosync-cmapctl (corosync 3.1.7 tools/corosync-cmapctl.c):
// the same options, output, error messages and exit codes, over any cmap server
// reached through a Conn (cmap.Client in the real command, a fake in tests).
package cmapctl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"ringmaster/internal/getopt"
	"strings"
	"syscall"
	"time"

	"ringmaster/cmap"
	"ringmaster/conf"
)

// Conn is what the tool needs from a cmap connection (see FromClient).
type Conn interface {
	GetInfo(key string) (conf.ValueType, uint64, error)
	Get(key string) (conf.Value, error)
	Set(key string, v conf.Value) error
	Delete(key string) error
	IterInit(prefix string) (Iterator, error)
	Track(key string, flags cmap.TrackFlags) (handle, inst uint64, err error)
	NextEvent(timeout time.Duration) (cmap.Notify, error)
	Close() error
}

// Iterator is a server-side key iteration.
type Iterator interface {
	Next() (cmap.KeyInfo, error)
	Finalize() error
}

// FromClient adapts a cmap.Client.
func FromClient(c *cmap.Client) Conn { return clientConn{c} }

type clientConn struct{ *cmap.Client }

func (c clientConn) IterInit(prefix string) (Iterator, error) {
	it, err := c.Client.IterInit(prefix)
	if err != nil {
		return nil, err
	}
	return it, nil
}

// Dialer opens a connection using the given map.
type Dialer func(m cmap.Map) (Conn, error)

// IO bundles the tool's standard streams and file access.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Open opens files named on the command line (default os.Open).
	Open func(name string) (io.ReadCloser, error)
	// Prog is argv[0], which getopt puts in front of its messages
	// (default "corosync-cmapctl").
	Prog string
}

type action int

const (
	actionGet action = iota
	actionSet
	actionDelete
	actionDeletePrefix
	actionPrintPrefix
	actionTrack
	actionLoad
	actionClearStats
)

const helpText = `
usage:  corosync-cmapctl [-b] [-DdghsqTCt] [-p filename] [-m map] [params...]

    -b show binary values

    -m select map to use
          The  default  map is 'icmap' which contains configuration information and some runtime variables used by corosync. 
          A 'stats' map is also available which displays network statistics - in great detail when knet is used as the transport.
Set key:
    corosync-cmapctl -s key_name type value

    where type is one of ([i|u][8|16|32|64] | flt | dbl | str | bin)
    for bin, value is file name (or - for stdin)

    map can be either 'icmap' (the default) which contains corosync
    configuration information, or 'stats' which contains statistics
    about the networking and IPC traffic in some detail.

Clear stats:
    corosync-cmapctl -C [knet|ipc|totem|schedmiss|all]
    The 'stats' map is implied

Load settings from a file:
    corosync-cmapctl -p filename

    the format of the file is:
    [^[^]]<key_name>[ <type> <value>]
    Keys prefixed with single caret ('^') are deleted (see -d).
    Keys (actually prefixes) prefixed with double caret ('^^') are deleted by prefix (see -D).
    <type> and <value> are optional (not checked) in above cases.
    Other keys are set (see -s) so both <type> and <value> are required.

Delete key:
    corosync-cmapctl -d key_name...

Delete multiple keys with prefix:
    corosync-cmapctl -D key_prefix...

Get key:
    corosync-cmapctl [-b] -g key_name...

Quiet mode:
    corosync-cmapctl [-b] -q -g key_name...

Display all keys:
    corosync-cmapctl [-b]

Display keys with prefix key_name:
    corosync-cmapctl [-b] key_name...

Track changes on keys with key_name:
    corosync-cmapctl [-b] -t key_name

Track changes on keys with key prefix:
    corosync-cmapctl [-b] -T key_prefix

`

// exitError ends the run with a status (the C tool calls exit() from deep inside).
type exitError int

type tool struct {
	io         IO
	conn       Conn
	quiet      bool
	showBinary bool
}

// Run executes corosync-cmapctl with args (without the program name) and returns
// its exit status.
func Run(args []string, dial Dialer, stdio IO) (code int) {
	if stdio.Open == nil {
		stdio.Open = func(name string) (io.ReadCloser, error) { return os.Open(name) }
	}
	if stdio.Prog == "" {
		stdio.Prog = "corosync-cmapctl"
	}
	if stdio.Stdin == nil {
		stdio.Stdin = strings.NewReader("")
	}
	t := &tool{io: stdio}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exitError)
			if !ok {
				panic(r)
			}
			code = int(e)
		}
	}()

	act := actionPrintPrefix
	trackPrefix := true
	m := cmap.MapICMap
	var clearOpt, settingsFile string
	opts, params, errMsg := getopt.Parse(args, "m:hqgsdDtTbp:C:")
	for _, o := range opts {
		switch o.C {
		case 'h':
			io.WriteString(stdio.Stdout, helpText)
			return 0
		case 'b':
			t.showBinary = true
		case 'q':
			t.quiet = true
		case 'g':
			act = actionGet
		case 's':
			act = actionSet
		case 'd':
			act = actionDelete
		case 'D':
			act = actionDeletePrefix
		case 'p':
			settingsFile, act = o.Arg, actionLoad
		case 'C':
			switch o.Arg {
			case "knet", "totem", "ipc", "schedmiss", "all":
				act, clearOpt, m = actionClearStats, o.Arg, cmap.MapStats
			default:
				fmt.Fprintln(stdio.Stderr, "argument to -C should be 'knet', 'totem', 'ipc', 'schedmiss' or 'all'")
				return 1
			}
		case 't':
			act, trackPrefix = actionTrack, false
		case 'T':
			act = actionTrack
		case 'm':
			switch o.Arg {
			case "icmap", "default":
				m = cmap.MapICMap
			case "stats":
				m = cmap.MapStats
			default:
				fmt.Fprintln(stdio.Stderr, "invalid map name, must be 'default', 'icmap' or 'stats'")
				return 1
			}
		}
	}
	if errMsg != "" {
		fmt.Fprintf(stdio.Stderr, "%s: %s\n", stdio.Prog, errMsg)
		return 1
	}
	if len(params) == 0 && act != actionLoad && act != actionClearStats && act != actionPrintPrefix {
		fmt.Fprintln(stdio.Stderr, "Expected key after options")
		return 1
	}

	conn, err := dial(m)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "Failed to initialize the cmap API. Error %s\n", cmap.Code(err))
		return 1
	}
	t.conn = conn
	defer conn.Close()

	switch act {
	case actionPrintPrefix:
		noResult := 0
		if len(params) == 0 {
			noResult = t.printIter("")
		} else {
			for _, p := range params {
				noResult += t.printIter(p)
			}
		}
		if noResult > 0 && noResult >= len(params) {
			return 1
		}
	case actionGet:
		for _, k := range params {
			typ, n, err := conn.GetInfo(k)
			if err != nil {
				fmt.Fprintf(stdio.Stderr, "Can't get key %s. Error %s\n", k, cmap.Code(err))
				return 1
			}
			t.printKey(k, typ, n)
		}
	case actionDelete:
		for _, k := range params {
			if err := conn.Delete(k); err != nil {
				fmt.Fprintf(stdio.Stderr, "Can't delete key %s. Error %s\n", k, cmap.Code(err))
				return 1
			}
		}
	case actionDeletePrefix:
		for _, p := range params {
			t.deleteWithPrefix(p)
		}
	case actionLoad:
		t.load(settingsFile)
	case actionTrack:
		for _, k := range params {
			flags := cmap.TrackAdd | cmap.TrackDelete | cmap.TrackModify
			if trackPrefix {
				flags |= cmap.TrackPrefix
			}
			if _, _, err := conn.Track(k, flags); err != nil {
				fmt.Fprintf(stdio.Stderr, "Failed to add tracking function. Error %s\n", cmap.Code(err))
				return 1
			}
		}
		t.trackChanges()
	case actionSet:
		if len(params) < 3 {
			fmt.Fprintln(stdio.Stderr, "At least 3 parameters are expected for set")
			return 1
		}
		t.setKey(params[0], params[1], params[2])
	case actionClearStats:
		_ = conn.Set("stats.clear."+clearOpt, conf.U32(1))
	}
	return 0
}

// printIter lists the keys under prefix; it returns 1 when there were none.
func (t *tool) printIter(prefix string) int {
	it, err := t.conn.IterInit(prefix)
	if err != nil {
		fmt.Fprintf(t.io.Stderr, "Failed to initialize iteration. Error %s\n", cmap.Code(err))
		panic(exitError(1))
	}
	noResult := 1
	for {
		k, err := it.Next()
		if err != nil {
			break
		}
		noResult = 0
		t.printKey(k.Key, k.Type, k.ValueLen)
	}
	_ = it.Finalize()
	return noResult
}

// printKey fetches and prints one key (print_key with value == NULL).
func (t *tool) printKey(key string, typ conf.ValueType, valueLen uint64) {
	v := conf.Value{Type: typ}
	needValue := typ.Valid() && (typ != conf.TypeBinary || t.showBinary)
	if needValue {
		got, err := t.getRetrying(key)
		if err == nil && got.Type != typ && typ != conf.TypeBinary {
			// cmap_get_<type> refuses a key whose type changed meanwhile.
			err = cmap.ErrInvalidParam
		}
		if err != nil {
			fmt.Fprintf(t.io.Stderr, "Can't get value of %s. Error %s\n", key, cmap.Code(err))
			return
		}
		v.Data = got.Data
		if typ == conf.TypeBinary && v.Data == nil {
			v.Data = []byte{}
		}
	}
	fmt.Fprintln(t.io.Stdout, FormatKey(key, v, t.quiet, t.showBinary))
}

// getRetrying is the tool's CS_ERR_TRY_AGAIN loop (up to 10 retries, 1 s apart).
func (t *tool) getRetrying(key string) (conf.Value, error) {
	for try := 0; ; try++ {
		v, err := t.conn.Get(key)
		if cmap.Code(err) != cmap.ErrTryAgain || try >= 10 {
			return v, err
		}
		time.Sleep(time.Second)
	}
}

func (t *tool) deleteWithPrefix(prefix string) {
	it, err := t.conn.IterInit(prefix)
	if err != nil {
		fmt.Fprintf(t.io.Stderr, "Failed to initialize iteration. Error %s\n", cmap.Code(err))
		panic(exitError(1))
	}
	for {
		k, err := it.Next()
		if err != nil {
			break
		}
		if err := t.conn.Delete(k.Key); err != nil {
			fmt.Fprintf(t.io.Stderr, "Can't delete key %s. Error %s\n", k.Key, cmap.Code(err))
		}
	}
	_ = it.Finalize()
}

// setKey is set_key: parse the value as the type says, check its range, set it.
// Every failure exits with status 1.
func (t *tool) setKey(key, typeName, value string) {
	typ, ok := typeByName(typeName)
	if !ok {
		fmt.Fprintf(t.io.Stderr, "Unknown type %s\n", typeName)
		panic(exitError(1))
	}
	invalid := func(what string) {
		fmt.Fprintf(t.io.Stderr, "%s is not valid %s\n", value, what)
		panic(exitError(1))
	}
	var v conf.Value
	switch typ {
	case conf.TypeI8, conf.TypeI16, conf.TypeI32, conf.TypeI64:
		i, ok := scanInt(value)
		if !ok {
			invalid(typeName + " type value")
		}
		bits := typ.FixedSize() * 8
		if bits < 64 && (i > 1<<(bits-1)-1 || i < -(1<<(bits-1))) {
			invalid(typeName + " integer")
		}
		v = conf.Int(typ, i)
	case conf.TypeU8, conf.TypeU16, conf.TypeU32, conf.TypeU64:
		u, ok := scanUint(value)
		if !ok {
			invalid(typeName + " type value")
		}
		bits := typ.FixedSize() * 8
		if bits < 64 && u > 1<<bits-1 {
			invalid(typeName + " integer")
		}
		v = conf.Uint(typ, u)
	case conf.TypeFloat:
		f, ok := scanFloat(value, 32)
		if !ok {
			invalid(typeName + " type value")
		}
		v = conf.Float(float32(f))
	case conf.TypeDouble:
		f, ok := scanFloat(value, 64)
		if !ok {
			invalid(typeName + " type value")
		}
		v = conf.Double(f)
	case conf.TypeString:
		v = conf.Str(value)
	case conf.TypeBinary:
		data, err := t.readBinary(value)
		if err != nil {
			fmt.Fprintf(t.io.Stderr, "Can't open input file: %s\n", strerror(err))
			panic(exitError(1))
		}
		v = conf.Value{Type: conf.TypeBinary, Data: data}
	}
	if err := t.conn.Set(key, v); err != nil {
		fmt.Fprintf(t.io.Stderr, "Failed to set key %s. Error %s\n", key, cmap.Code(err))
		panic(exitError(1))
	}
}

func (t *tool) readBinary(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(t.io.Stdin)
	}
	f, err := t.io.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func typeByName(name string) (conf.ValueType, bool) {
	for t := conf.TypeI8; t <= conf.TypeBinary; t++ {
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

// load is read_in_config_file: "[^[^]]key [type value]" lines.
func (t *tool) load(name string) {
	f, err := t.io.Open(name)
	if err != nil {
		fmt.Fprintf(t.io.Stderr, "Couldn't open file.: %s\n", strerror(err))
		return
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for {
		line, err := readChunk(r)
		if line == "" && err != nil {
			return
		}
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == '\n' {
			continue
		}
		fields := strings.FieldsFunc(trimmed, func(r rune) bool { return r == ' ' || r == '\n' })
		if len(fields) == 0 {
			continue
		}
		key := fields[0]
		switch {
		case strings.HasPrefix(key, "^^"):
			t.deleteWithPrefix(key[2:])
		case strings.HasPrefix(key, "^"):
			if err := t.conn.Delete(key[1:]); err != nil {
				fmt.Fprintf(t.io.Stderr, "Can't delete key %s. Error %s\n", key[1:], cmap.Code(err))
			}
		default:
			if len(fields) < 3 {
				fmt.Fprintf(t.io.Stderr, "Both type and value for key %s are required\n", key)
				panic(exitError(1))
			}
			t.setKey(key, fields[1], fields[2])
		}
	}
}

// readChunk reads what one fgets(buf, 1024) call returns.
func readChunk(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for b.Len() < 1023 {
		c, err := r.ReadByte()
		if err != nil {
			return b.String(), err
		}
		b.WriteByte(c)
		if c == '\n' {
			break
		}
	}
	return b.String(), nil
}

// trackChanges prints notifications until "q" or end of input on stdin, or until
// the connection fails (track_changes).
func (t *tool) trackChanges() {
	fmt.Fprintln(t.io.Stdout, `Type "q" to finish`)
	quit := make(chan struct{})
	go func() {
		defer close(quit)
		r := bufio.NewReader(t.io.Stdin)
		for {
			// fgets(inbuf, 3): at most two characters per read.
			line, err := readN(r, 2)
			if err != nil && line == "" {
				return
			}
			if strings.HasPrefix(line, "q") {
				return
			}
		}
	}()
	events := make(chan cmap.Notify)
	failed := make(chan error, 1)
	go func() {
		for {
			n, err := t.conn.NextEvent(-1)
			if err != nil {
				failed <- err
				return
			}
			select {
			case events <- n:
			case <-quit:
				return
			}
		}
	}()
	for {
		select {
		case <-quit:
			return
		case err := <-failed:
			fmt.Fprintf(t.io.Stderr, "Dispatch error %s\n", cmap.Code(err))
			return
		case n := <-events:
			t.printEvent(n)
		}
	}
}

func readN(r *bufio.Reader, n int) (string, error) {
	var b strings.Builder
	for b.Len() < n {
		c, err := r.ReadByte()
		if err != nil {
			return b.String(), err
		}
		b.WriteByte(c)
		if c == '\n' {
			break
		}
	}
	return b.String(), nil
}

// printEvent is cmap_notify_fn.
func (t *tool) printEvent(n cmap.Notify) {
	var prefix string
	v := n.New
	switch n.Event {
	case cmap.TrackAdd:
		prefix = "create> "
	case cmap.TrackDelete:
		prefix, v = "delete> ", n.Old
	case cmap.TrackModify:
		prefix = "modify> "
	default:
		io.WriteString(t.io.Stdout, "unknown change> ")
		return
	}
	if v.Type == conf.TypeBinary && v.Data == nil {
		v.Data = []byte{}
	}
	fmt.Fprintln(t.io.Stdout, prefix+FormatKey(n.Key, v, t.quiet, t.showBinary))
}

// strerror is glibc's text for the errno inside err.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" && s[0] >= 'a' && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	}
	return err.Error()
}
