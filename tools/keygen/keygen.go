// Package keygen is corosync-keygen: it writes a corosync authkey from a
// random source with the options, messages, exit codes, sizes and file mode
// of corosync 3.1.7 tools/corosync-keygen.c.
//
// Behaviour kept on purpose because we are a drop-in:
//   - the default key is 256 bytes (2048 bits); -s accepts 128..4096;
//   - an existing key file is overwritten without asking (O_TRUNC), then
//     set to mode 0400;
//   - -l is accepted and ignored; the usage text advertises "-m <randomfile>"
//     although the option is -r;
//   - option errors are glibc getopt_long's messages on stderr followed by
//     "Error parsing command line options." on stdout, exit 1.
//
// One deliberate difference: when the random source reaches end of file the
// C program loops forever asking for key presses; we report it and exit 1.
package keygen

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Defaults of corosync-keygen.
const (
	DefaultKeyFile   = "/etc/corosync/authkey"
	DefaultKeyLen    = 256
	DefaultRandomDev = "/dev/urandom"
	MinKeyLen        = 128
	MaxKeyLen        = 4096
)

// Usage is the text printed by -h (followed by an empty line).
const Usage = "Usage: corosync-keygen [-k <keyfile>] [-s size] [-m <randomfile>] [-l] [-h]\n" +
	"     -k / --key-file=<filename> -  Write to the specified keyfile\n" +
	"            instead of the default " + DefaultKeyFile + ".\n" +
	"     -r / --random-file -  Random number source file. Default is \n" +
	"            /dev/urandom. As an example /dev/random may be requested\n" +
	"            (that may require user input for entropy).\n" +
	"     -l / --less-secure - Not used, option is kept only\n" +
	"            for compatibility.\n" +
	"     -s / --size -  Length of key.\n" +
	"     -h / --help -  Print basic usage.\n"

// FS is the file access keygen needs; OSFS is the real one.
type FS interface {
	Open(name string) (io.ReadCloser, error)
	// Create opens name for writing (O_CREAT|O_WRONLY|O_TRUNC, 0600).
	Create(name string) (File, error)
}

// File is a key file being written.
type File interface {
	io.Writer
	Chmod(mode os.FileMode) error
	Close() error
}

// OSFS uses the operating system.
type OSFS struct{}

func (OSFS) Open(name string) (io.ReadCloser, error) { return os.Open(name) }
func (OSFS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
}

// Options are the parsed command line.
type Options struct {
	KeyFile   string
	RandomDev string
	Size      int
	Help      bool
}

// exitError carries an exit status and the message already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

var longOpts = []struct {
	name   string
	hasArg bool
	short  byte
}{
	{"key-file", true, 'k'},
	{"less-secure", false, 'l'},
	{"random-file", true, 'r'},
	{"size", true, 's'},
	{"help", false, 'h'},
}

// Run executes corosync-keygen with args (args[0] is the program name as
// invoked) and returns the exit status. stdout is written in program order;
// the caller decides about buffering (C stdio buffers it when not a tty).
func Run(args []string, stdout, stderr io.Writer, fsys FS) int {
	prog := "corosync-keygen"
	if len(args) > 0 {
		prog = args[0]
	}
	short := filepath.Base(prog)
	opt := Options{Size: DefaultKeyLen, RandomDev: DefaultRandomDev}
	errx := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s\n", short, fmt.Sprintf(format, a...))
		return code
	}
	errn := func(code int, err error, format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s: %s\n", short, fmt.Sprintf(format, a...), strerror(err))
		return code
	}
	handle := func(c byte, arg string) (int, bool) {
		switch c {
		case 'k':
			opt.KeyFile = arg
		case 'l':
		case 'r':
			opt.RandomDev = arg
		case 's':
			n, ok := cStrtoll(arg)
			if !ok || n < MinKeyLen || n > MaxKeyLen {
				return errx(1, "Unsupported key size (supported <%d,%d>)\n", MinKeyLen, MaxKeyLen), true
			}
			opt.Size = int(n)
		case 'h':
			fmt.Fprintf(stdout, "%s\n", Usage)
			return 0, true
		default:
			fmt.Fprintf(stdout, "Error parsing command line options.\n")
			return 1, true
		}
		return 0, false
	}
	if code, done := getopt(prog, args, stderr, handle); done {
		return code
	}

	fmt.Fprintf(stdout, "Corosync Cluster Engine Authentication key generator.\n")
	if opt.KeyFile == "" {
		opt.KeyFile = DefaultKeyFile
	}
	fmt.Fprintf(stdout, "Gathering %d bits for key from %s.\n", opt.Size*8, opt.RandomDev)
	rf, err := fsys.Open(opt.RandomDev)
	if err != nil {
		return errn(1, err, "Failed to open random source")
	}
	if opt.RandomDev == "/dev/random" {
		fmt.Fprintf(stdout, "Press keys on your keyboard to generate entropy.\n")
	}
	key := make([]byte, opt.Size)
	got := 0
	for got < len(key) {
		n, err := rf.Read(key[got:])
		got += n
		if err != nil && !errors.Is(err, io.EOF) {
			rf.Close()
			return errn(1, err, "Could not read /dev/random")
		}
		if got != len(key) {
			fmt.Fprintf(stdout, "Press keys on your keyboard to generate entropy (%d bits still needed).\n", (len(key)-got)*8)
			if n == 0 {
				rf.Close()
				return errx(1, "Could not read /dev/random: random source %s ended", opt.RandomDev)
			}
		}
	}
	rf.Close()

	f, err := fsys.Create(opt.KeyFile)
	if err != nil {
		return errn(2, err, "Could not create %s", opt.KeyFile)
	}
	if err := f.Chmod(0o400); err != nil {
		f.Close()
		return errn(3, err, "Failed to set key file permissions to 0400")
	}
	fmt.Fprintf(stdout, "Writing corosync key to %s.\n", opt.KeyFile)
	if n, err := f.Write(key); err != nil || n != len(key) {
		f.Close()
		if err == nil {
			err = io.ErrShortWrite
		}
		return errn(4, err, "Could not write %s", opt.KeyFile)
	}
	if err := f.Close(); err != nil {
		return errn(5, err, "Could not close %s", opt.KeyFile)
	}
	return 0
}

// getopt walks args as glibc getopt_long(argc, argv, "k:r:s:lh", ...) does
// (permuting non-options, "--" ending options, unique long-name prefixes),
// calling handle per option; '?' stands for an error, already reported.
func getopt(prog string, args []string, stderr io.Writer, handle func(c byte, arg string) (int, bool)) (int, bool) {
	const shortArg = "krs"
	const shortNoArg = "lh"
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue // non-option: permuted to the end and ignored
		}
		if strings.HasPrefix(a, "--") {
			body := a[2:]
			name, val, hasVal := strings.Cut(body, "=")
			idx := -1
			var matches []int
			for j, lo := range longOpts {
				if lo.name == name {
					idx = j
					matches = nil
					break
				}
				if strings.HasPrefix(lo.name, name) {
					matches = append(matches, j)
				}
			}
			if idx < 0 && len(matches) == 1 {
				idx = matches[0]
			}
			if idx < 0 && len(matches) > 1 {
				var names []string
				for _, j := range matches {
					names = append(names, "'--"+longOpts[j].name+"'")
				}
				fmt.Fprintf(stderr, "%s: option '--%s' is ambiguous; possibilities: %s\n", prog, name, strings.Join(names, " "))
				return handle('?', "")
			}
			if idx < 0 {
				fmt.Fprintf(stderr, "%s: unrecognized option '--%s'\n", prog, body)
				return handle('?', "")
			}
			lo := longOpts[idx]
			if !lo.hasArg && hasVal {
				fmt.Fprintf(stderr, "%s: option '--%s' doesn't allow an argument\n", prog, lo.name)
				return handle('?', "")
			}
			if lo.hasArg && !hasVal {
				if i+1 >= len(args) {
					fmt.Fprintf(stderr, "%s: option '--%s' requires an argument\n", prog, lo.name)
					return handle('?', "")
				}
				i++
				val = args[i]
			}
			if code, done := handle(lo.short, val); done {
				return code, true
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch {
			case strings.IndexByte(shortArg, c) >= 0:
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						fmt.Fprintf(stderr, "%s: option requires an argument -- '%c'\n", prog, c)
						return handle('?', "")
					}
					i++
					val = args[i]
				}
				if code, done := handle(c, val); done {
					return code, true
				}
				j = len(a)
			case strings.IndexByte(shortNoArg, c) >= 0:
				if code, done := handle(c, ""); done {
					return code, true
				}
			default:
				fmt.Fprintf(stderr, "%s: invalid option -- '%c'\n", prog, c)
				return handle('?', "")
			}
		}
	}
	return 0, false
}

// cStrtoll is strtoll(s, &end, 10) with the "*end == 0" and ERANGE checks.
func cStrtoll(s string) (int64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	if t == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(t, 10, 64)
	return n, err == nil
}

func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return capitalize(errno.Error())
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return capitalize(pe.Err.Error())
	}
	return err.Error()
}

func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
