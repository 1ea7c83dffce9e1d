// Package crmattribute is Pacemaker 2.1.5's crm_attribute (tools/crm_attribute.c
// with lib/cib/cib_attrs.c) and the wrappers built on it — crm_standby,
// crm_failcount and crm_master, shell scripts in Pacemaker and Go functions
// here with the same options, words and exit codes.
//
// Each command turns its options into CIB requests (an XPath query, a
// modify or a delete with a section, exactly the requests cib_attrs.c
// sends), runs them on a Conn — the file named by CIB_file/CIB_shadow or
// the CIB manager — and reports what it found as typed events (an
// attribute, an informational line, an error) that a writer renders as
// text or as the <pacemaker-result> XML.
package crmattribute

import (
	"io"
	"os"
	"syscall"
	"time"

	"ringmaster/cib"
)

// Conn is a signed-on CIB connection (a file or the CIB manager).
type Conn interface {
	Perform(req cib.Request) cib.Result
	Close() error
}

// Env is what the tools take from their process.
type Env struct {
	// Prog is argv[0] as invoked (shown in XML results); "" means the
	// tool's own name.
	Prog string
	// Args is argv without the program name.
	Args   []string
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Hostname is uname(2)'s node name (pcmk_hostname), used as the node
	// when a CIB file is given without -N.
	Hostname func() string
	// Engine runs operations on a CIB file.
	Engine *cib.Engine
	// Connect signs on to the CIB manager (no CIB_file/CIB_shadow); nil
	// means it is not running.
	Connect func(name string, timeout time.Duration) (Conn, cib.Rc)
	// NodeName asks the controller for the local node's name; nil means
	// the controller cannot be reached (the Rc says how).
	NodeName func() (string, cib.Rc)
	// AttrdUpdate sends a transient attribute change to the attribute
	// manager (command 'u' or 'D'); nil means it cannot be reached.
	AttrdUpdate func(command byte, node, name, value, set string, pattern bool) cib.Rc
}

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

func (e *Env) hostname() string {
	if e.Hostname != nil {
		return e.Hostname()
	}
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return ""
	}
	b := make([]byte, 0, len(u.Nodename))
	for _, c := range u.Nodename {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

type fileConn struct{ f *cib.FileCIB }

func (c fileConn) Perform(req cib.Request) cib.Result { return c.f.Perform(req) }
func (c fileConn) Close() error                       { return c.f.Close() }

// signon is cib_new + signon: CIB_file, then CIB_shadow, then the manager.
func (e *Env) signon(name string) (Conn, cib.Rc) {
	path := e.getenv("CIB_file")
	if path == "" {
		if shadow := e.getenv("CIB_shadow"); shadow != "" {
			path = cib.ShadowPath(shadow)
		}
	}
	if path != "" {
		f, rc := cib.OpenFile(path, e.Engine)
		if rc != cib.OK {
			return nil, rc
		}
		return fileConn{f}, cib.OK
	}
	if e.Connect == nil {
		return nil, cib.ENOTCONN
	}
	return e.Connect(name, 30*time.Second)
}
