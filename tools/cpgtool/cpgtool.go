// Package cpgtool is corosync-cpgtool (tools/corosync-cpgtool.c at corosync
// v3.1.7): the CPG groups and their members, through the cpg service's
// iteration and cfg's node addresses. Output and exit codes are the C tool's.
package cpgtool

import (
	"fmt"
	"io"
	"path"
	"ringmaster/internal/getopt"
	"strings"

	"ringmaster/cfg"
	"ringmaster/cmap"
	"ringmaster/cpg"
	"ringmaster/ipc"
)

// Env is what the tool talks to.
type Env struct {
	Stdout, Stderr io.Writer
	IPC            ipc.ClientOptions
}

// Usage is usage_do's text for the program's base name.
func Usage(prog string) string {
	return prog + " [-d delimiter] [-e] [-n] [-h]\n\n" +
		"A tool for displaying cpg groups and members.\n" +
		"options:\n" +
		"\t-d\tDelimiter between fields.\n" +
		"\t-e\tDon't escape unprintable characters in group name.\n" +
		"\t-n\tDisplay only all existing group names.\n" +
		"\t-h\tDisplay this help.\n"
}

// groupText is fprint_group: printable ASCII as is, a backslash doubled, other
// bytes as \xNN of the signed char (so bytes from 0x80 print as FFFFFF80...).
func groupText(g string, escape bool) string {
	var b strings.Builder
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case !escape || (c >= ' ' && c < 0x7f && c != '\\'):
			b.WriteByte(c)
		case c == '\\':
			b.WriteString("\\\\")
		default:
			fmt.Fprintf(&b, "\\x%02X", uint32(int32(int8(c))))
		}
	}
	return b.String()
}

// Run is main(); prog is argv[0].
func Run(prog string, args []string, env Env) int {
	opts, _, bad := getopt.Parse(args, "hd:ne")
	var delim byte
	escape, namesOnly := true, false
	for _, o := range opts {
		switch o.C {
		case 'd':
			if o.Arg != "" {
				delim = o.Arg[0]
			}
		case 'n':
			namesOnly = true
		case 'e':
			escape = false
		case 'h':
			fmt.Fprint(env.Stdout, Usage(path.Base(prog)))
			return 0
		}
	}
	if bad != "" {
		fmt.Fprintf(env.Stderr, "%s: %s\n", prog, bad)
		return 1
	}
	c, err := cpg.Dial(env.IPC)
	if err != nil {
		fmt.Fprintf(env.Stderr, "Could not initialize corosync cpg API error %d\n", cmap.Code(err))
		return 1
	}
	defer c.Finalize()
	cf, err := cfg.Dial(env.IPC)
	if err != nil {
		fmt.Fprintf(env.Stderr, "Could not initialize corosync configuration API error %d\n", cmap.Code(err))
		return 1
	}
	defer cf.Close()
	var b strings.Builder
	if namesOnly {
		ms, err := c.Iterate(cpg.IterNameOnly, "")
		if err != nil && len(ms) == 0 {
			fmt.Fprintf(env.Stderr, "Cannot initialize cpg iterator error %d\n", cmap.Code(err))
			return 1
		}
		for _, m := range ms {
			b.WriteString(groupText(m.Group, escape))
			if delim != 0 {
				b.WriteByte(delim)
			} else {
				b.WriteByte('\n')
			}
		}
		if delim != 0 {
			b.WriteByte('\n')
		}
		io.WriteString(env.Stdout, b.String())
		return 0
	}
	ms, err := c.Iterate(cpg.IterAll, "")
	if err != nil && len(ms) == 0 {
		fmt.Fprintf(env.Stderr, "Cannot initialize cpg iterator error %d\n", cmap.Code(err))
		return 1
	}
	if delim != 0 {
		fmt.Fprintf(&b, "GRP_NAME%cPID%cNODEID\n", delim, delim)
	} else {
		fmt.Fprintf(&b, "Group Name\t%10s\t%10s\n", "PID", "Node ID")
	}
	old := ""
	for _, m := range ms {
		if delim != 0 {
			fmt.Fprintf(&b, "%s%c%d%c%d\n", groupText(m.Group, escape), delim, m.Pid, delim, m.Node)
			continue
		}
		// The C tool starts from a zeroed name, so an empty group name gets
		// no header line.
		if m.Group != old {
			b.WriteString(groupText(m.Group, escape) + "\n")
			old = m.Group
		}
		var addrs []string
		if as, err := cf.NodeAddrs(m.Node); err == nil {
			for _, a := range as {
				addrs = append(addrs, a.String())
			}
		}
		fmt.Fprintf(&b, "\t\t%10d\t%10d (%s)\n", m.Pid, m.Node, strings.Join(addrs, " "))
	}
	io.WriteString(env.Stdout, b.String())
	return 0
}
