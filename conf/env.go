package conf

import (
	"bufio"
	"bytes"
	"context"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Env is everything outside the file that decides how corosync reads it:
// who this host is (uname nodename, interface addresses), how names resolve
// (getaddrinfo, getnameinfo, getpwnam, getgrnam) and how other files are read
// (authkey, uidgid.d). Tests inject a fixed Env; the daemon uses SystemEnv.
// Any nil function behaves as "not found".
type Env struct {
	// Hostname is uname(2)'s nodename.
	Hostname string
	// Addrs are the addresses of the local interfaces, in getifaddrs order.
	Addrs []netip.Addr
	// LookupHost resolves a name to addresses (getaddrinfo), in resolver order.
	LookupHost func(name string) []netip.Addr
	// LookupAddr returns the host name of an address (getnameinfo without
	// NI_NUMERICHOST); false when there is none.
	LookupAddr func(addr netip.Addr) (string, bool)
	// LookupUser and LookupGroup resolve uidgid names (getpwnam/getgrnam).
	LookupUser  func(name string) (uint32, bool)
	LookupGroup func(name string) (uint32, bool)
	// ReadFile reads a file (the authkey, uidgid.d entries).
	ReadFile func(path string) ([]byte, error)
	// Stat returns a file's mode (authkey permission check).
	Stat func(path string) (fs.FileMode, error)
	// Chdir checks that the state directory can be entered (corosync
	// chdirs into it before reading the totem configuration).
	Chdir func(dir string) error
	// OpenLogfile opens (creating if needed) a log file for appending and
	// closes it again, as logsys does when it reads logging.logfile.
	OpenLogfile func(path string) error
	// ReadDir lists the regular files of a directory (uidgid.d), sorted as
	// readdir returns them; a missing directory is not an error.
	ReadDir func(path string) ([]string, error)
}

// SystemEnv is the Env of the running host. It caches name lookups.
func SystemEnv() *Env {
	h, _ := os.Hostname()
	e := &Env{Hostname: h}
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				e.Addrs = append(e.Addrs, p.Addr())
			}
		}
	}
	// Answers are remembered for the life of the Env: one Load asks for the
	// same names several times, as corosync does, and a slow resolver
	// should cost the wait once.
	var mu sync.Mutex
	hostCache := map[string][]netip.Addr{}
	addrCache := map[netip.Addr]string{}
	e.LookupHost = func(name string) []netip.Addr {
		mu.Lock()
		if a, ok := hostCache[name]; ok {
			mu.Unlock()
			return a
		}
		mu.Unlock()
		addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", name)
		if err != nil {
			addrs = nil
		}
		for i := range addrs {
			addrs[i] = addrs[i].Unmap()
		}
		mu.Lock()
		hostCache[name] = addrs
		mu.Unlock()
		return addrs
	}
	e.LookupAddr = func(a netip.Addr) (string, bool) {
		mu.Lock()
		if n, ok := addrCache[a]; ok {
			mu.Unlock()
			return n, n != ""
		}
		mu.Unlock()
		name := ""
		names, err := net.DefaultResolver.LookupAddr(context.Background(), a.String())
		if err == nil && len(names) > 0 {
			name = strings.TrimSuffix(names[0], ".")
		}
		mu.Lock()
		addrCache[a] = name
		mu.Unlock()
		return name, name != ""
	}
	e.LookupUser = func(name string) (uint32, bool) {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, false
		}
		id, err := strconv.ParseUint(u.Uid, 10, 32)
		return uint32(id), err == nil
	}
	e.LookupGroup = func(name string) (uint32, bool) {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, false
		}
		id, err := strconv.ParseUint(g.Gid, 10, 32)
		return uint32(id), err == nil
	}
	e.ReadFile = os.ReadFile
	e.Stat = func(p string) (fs.FileMode, error) {
		fi, err := os.Stat(p)
		if err != nil {
			return 0, err
		}
		return fi.Mode(), nil
	}
	e.ReadDir = readRegularFiles
	e.Chdir = func(dir string) error {
		f, err := os.Open(dir)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return syscall.ENOTDIR
		}
		return nil
	}
	e.OpenLogfile = func(p string) error {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		return f.Close()
	}
	return e
}

func readRegularFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err == nil && fi.Mode().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// HostsEnv is a closed-world Env for tests and tools: the host is hostname
// with the given addresses, and names resolve only through hosts, a file in
// /etc/hosts syntax (forward: every name of a line; reverse: the first name).
// Files are read from the real file system.
func HostsEnv(hostname string, addrs []netip.Addr, hosts []byte) *Env {
	fwd := map[string][]netip.Addr{}
	rev := map[netip.Addr]string{}
	sc := bufio.NewScanner(bytes.NewReader(hosts))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		a, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		if _, ok := rev[a]; !ok {
			rev[a] = fields[1]
		}
		for _, n := range fields[1:] {
			fwd[n] = append(fwd[n], a)
		}
	}
	e := SystemEnv()
	e.Hostname = hostname
	e.Addrs = append([]netip.Addr(nil), addrs...)
	e.LookupHost = func(name string) []netip.Addr {
		if a, err := netip.ParseAddr(name); err == nil {
			return []netip.Addr{a}
		}
		return fwd[name]
	}
	e.LookupAddr = func(a netip.Addr) (string, bool) {
		n, ok := rev[a]
		return n, ok
	}
	return e
}

// resolve is totemip_parse: a numeric address, or the first address of the
// wanted family order that the name resolves to.
func (e *Env) resolve(s string, v ipVersion) (netip.Addr, bool) {
	if a, ok := inetAton(s); ok {
		return a, v != ipv6
	}
	if a, err := netip.ParseAddr(s); err == nil && strings.Contains(s, ":") {
		a = a.Unmap()
		if a.Zone() != "" {
			return a, true
		}
		switch v {
		case ipv4:
			return a, a.Is4()
		case ipv6:
			return a, a.Is6()
		}
		return a, true
	}
	if e == nil || e.LookupHost == nil {
		return netip.Addr{}, false
	}
	addrs := e.LookupHost(s)
	var v4, v6 []netip.Addr
	for _, a := range addrs {
		if a.Is4() || a.Is4In6() {
			v4 = append(v4, a.Unmap())
		} else {
			v6 = append(v6, a)
		}
	}
	var order [][]netip.Addr
	switch v {
	case ipv4:
		order = [][]netip.Addr{v4}
	case ipv6:
		order = [][]netip.Addr{v6}
	case ipv4_6:
		order = [][]netip.Addr{v4, v6}
	default: // ipv6-4
		order = [][]netip.Addr{v6, v4}
	}
	for _, l := range order {
		if len(l) > 0 {
			return l[0], true
		}
	}
	return netip.Addr{}, false
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// inetAton parses an IPv4 address the way glibc's getaddrinfo does for a
// numeric host (inet_aton): one to four parts, each decimal, octal (leading
// 0) or hex (0x), the last part filling the remaining bytes ("1" is
// 0.0.0.1, "127.1" is 127.0.0.1).
func inetAton(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		if p == "" {
			return netip.Addr{}, false
		}
		base := 10
		switch {
		case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
			base, p = 16, p[2:]
			if p == "" {
				p = "0" // "0x" alone is 0 for inet_aton
			}
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		for _, c := range p {
			if !(c >= '0' && c <= '9' || base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
				return netip.Addr{}, false
			}
		}
		n, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = n
	}
	var v uint64
	last := len(vals) - 1
	for i := 0; i < last; i++ {
		if vals[i] > 0xFF {
			return netip.Addr{}, false
		}
		v |= vals[i] << (24 - 8*uint(i))
	}
	if vals[last] > (uint64(0xFFFFFFFF) >> (8 * uint(last))) {
		return netip.Addr{}, false
	}
	v |= vals[last]
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}
