// Package cfgtool is corosync-cfgtool (tools/corosync-cfgtool.c at corosync
// v3.1.7): link and node status, node addresses, reload, log reopening, node
// kill and shutdown, over the cfg and cmap services. Output, messages and exit
// codes are the C tool's.
package cfgtool

import (
	"fmt"
	"io"
	"ringmaster/internal/getopt"
	"sort"
	"strconv"
	"strings"
	"time"

	"ringmaster/cfg"
	"ringmaster/cmap"
	"ringmaster/ipc"
)

const (
	exitOK      = 0
	exitFailure = 1
	optSpec     = "i:snbrRLk:a:hH"
	maxLinks    = 8
)

// Env is what the tool talks to.
type Env struct {
	Stdout, Stderr io.Writer
	IPC            ipc.ClientOptions
	// Sleep waits between CS_ERR_TRY_AGAIN retries of a shutdown (default time.Sleep).
	Sleep func(time.Duration)
}

// Usage is usage_do's text.
const Usage = "corosync-cfgtool [[-i <interface ip>] [-b] -s] [-R] [-L] [-k nodeid] [-a nodeid] [-h] [-H]\n\n" +
	"A tool for displaying and configuring active parameters within corosync.\n" +
	"options:\n" +
	"\t-i\tFinds only information about the specified interface IP address or link id when used with -s..\n" +
	"\t-s\tDisplays the status of the current links on this node.\n" +
	"\t-n\tDisplays the status of the connected nodes and their links.\n" +
	"\t-b\tDisplays the brief status of the current links on this node when used with -s.\n" +
	"\t-R\tTell all instances of corosync in this cluster to reload corosync.conf.\n" +
	"\t-L\tTell corosync to reopen all logging files.\n" +
	"\t-k\tKill a node identified by node id.\n" +
	"\t-a\tDisplay the IP address(es) of a node\n" +
	"\t-h\tPrint basic usage.\n" +
	"\t-H\tShutdown corosync cleanly on this node.\n" +
	"\t\t--force will shut down corosync regardless of daemon vetos\n"

var longOpts = map[string]struct {
	short  byte
	hasArg bool
}{
	"if": {'i', true}, "status": {'s', false}, "nodes": {'n', false}, "brief": {'b', false},
	"reload": {'R', false}, "reopen": {'L', false}, "kill": {'k', true}, "address": {'a', true},
	"shutdown": {'H', false}, "force": {0, false},
}

func csErr(err error) cmap.Error { return cmap.Code(err) }

// Run is main() with args without the program name; prog names the program in
// getopt's messages.
func Run(prog string, args []string, env Env) int {
	if env.Sleep == nil {
		env.Sleep = time.Sleep
	}
	// getopt_long: long options become their short letters (or --force).
	var short []string
	force := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			short = append(short, args[i:]...)
			break
		}
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			short = append(short, a)
			continue
		}
		name, val, hasVal := strings.Cut(name, "=")
		lo, known := longOpts[name]
		if !known {
			fmt.Fprintf(env.Stderr, "%s: unrecognized option '%s'\n", prog, a)
			return exitFailure
		}
		switch {
		case lo.short == 0:
			force = true
		case lo.hasArg && hasVal:
			short = append(short, "-"+string(lo.short)+val)
		case lo.hasArg && i+1 < len(args):
			i++
			short = append(short, "-"+string(lo.short)+args[i])
		case lo.hasArg:
			fmt.Fprintf(env.Stderr, "%s: option '--%s' requires an argument\n", prog, name)
			return exitFailure
		default:
			short = append(short, "-"+string(lo.short))
		}
	}
	opts, _, bad := getopt.Parse(short, optSpec)
	var action byte
	var nodeID uint32
	brief := false
	for _, o := range opts {
		switch o.C {
		case 's', 'n', 'R', 'L', 'H':
			action = o.C
		case 'b':
			brief = true
		case 'k', 'a':
			n, err := strconv.ParseInt(strings.TrimLeft(o.Arg, " \t"), 10, 64)
			if err != nil || n < 1 || n > 1<<32-1 {
				fmt.Fprint(env.Stderr, "The nodeid was not valid, try a positive number\n")
				return exitFailure
			}
			nodeID, action = uint32(n), o.C
		}
	}
	if bad != "" {
		fmt.Fprintf(env.Stderr, "%s: %s\n", prog, bad)
		return exitFailure
	}
	switch action {
	case 's', 'n':
		return nodeStatus(env, action == 'n', brief)
	case 'R':
		fmt.Fprint(env.Stdout, "Reloading corosync.conf...\n")
		c, err := cfg.Dial(env.IPC)
		if err != nil {
			fmt.Fprintf(env.Stderr, "Could not initialize corosync configuration API error %s\n", csErr(err))
			return exitFailure
		}
		defer c.Close()
		if err := c.Reload(); err != nil {
			fmt.Fprintf(env.Stderr, "Could not reload configuration. Error %s\n", csErr(err))
			return int(csErr(err))
		}
		fmt.Fprint(env.Stdout, "Done\n")
	case 'L':
		c, err := cfg.Dial(env.IPC)
		if err != nil {
			fmt.Fprintf(env.Stderr, "Could not initialize corosync configuration API error %s\n", csErr(err))
			return exitFailure
		}
		defer c.Close()
		if err := c.ReopenLogFiles(); err != nil {
			fmt.Fprintf(env.Stderr, "Could not reopen corosync logging files. Error %s\n", csErr(err))
			return int(csErr(err))
		}
	case 'k':
		fmt.Fprintf(env.Stdout, "Killing node %d\n", nodeID)
		c, err := cfg.Dial(env.IPC)
		if err != nil {
			fmt.Fprintf(env.Stderr, "Could not initialize corosync configuration API error %d\n", csErr(err))
			return exitFailure
		}
		defer c.Close()
		if err := c.KillNode(nodeID, "Killed by corosync-cfgtool"); err != nil {
			fmt.Fprintf(env.Stderr, "Could not kill node (error = %s)\n", csErr(err))
			return exitFailure
		}
	case 'H':
		c, err := cfg.Dial(env.IPC)
		if err != nil {
			fmt.Fprintf(env.Stderr, "Could not initialize corosync configuration API error %d\n", csErr(err))
			return exitFailure
		}
		defer c.Close()
		fmt.Fprint(env.Stdout, "Shutting down corosync\n")
		flag := uint32(cfg.ShutdownRequest)
		if force {
			flag = cfg.ShutdownRegardless
		}
		// cs_repeat(..., 30, ...): retry CS_ERR_TRY_AGAIN once a second.
		for i := 0; i < 30; i++ {
			err = c.TryShutdown(flag)
			if csErr(err) != cmap.ErrTryAgain {
				break
			}
			env.Sleep(time.Second)
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "Could not shutdown (error = %d)\n", csErr(err))
		}
	case 'a':
		c, err := cfg.Dial(env.IPC)
		if err != nil {
			fmt.Fprintf(env.Stderr, "Could not initialize corosync configuration API error %d\n", csErr(err))
			return exitFailure
		}
		defer c.Close()
		addrs, err := c.NodeAddrs(nodeID)
		if err != nil {
			fmt.Fprintf(env.Stderr, "Could not get node address for nodeid %d\n", nodeID)
			return exitFailure
		}
		var s []string
		for _, a := range addrs {
			s = append(s, a.String())
		}
		fmt.Fprintf(env.Stdout, "%s\n", strings.Join(s, " "))
	default:
		fmt.Fprint(env.Stdout, Usage)
	}
	return exitOK
}

// nodeStatus is nodestatusget_do.
func nodeStatus(env Env, nodes, brief bool) int {
	c, err := cfg.Dial(env.IPC)
	if err != nil {
		fmt.Fprintf(env.Stderr, "Could not initialize corosync configuration API error %d\n", csErr(err))
		return exitFailure
	}
	defer c.Close()
	cm, err := cmap.Dial(cmap.ClientOptions{IPC: env.IPC})
	if err != nil {
		fmt.Fprintf(env.Stderr, "Could not initialize corosync cmap API error %d\n", csErr(err))
		return exitFailure
	}
	transport, knet := "knet", true
	if v, err := cm.Get("totem.transport"); err == nil {
		transport = strings.TrimRight(string(v.Data), "\x00")
		knet = transport != "udpu" && transport != "udp"
	}
	local, err := c.LocalGet()
	if err != nil {
		fmt.Fprintf(env.Stderr, "Could not get the local node id, the error is: %d\n", csErr(err))
		cm.Close()
		return exitFailure
	}
	keys, err := cm.Keys("nodelist.node.")
	if err != nil {
		fmt.Fprintf(env.Stderr, "Could not get nodelist from cmap. error %d\n", csErr(err))
		cm.Close()
		return exitFailure
	}
	var ids []uint32
	for _, k := range keys {
		rest := strings.TrimPrefix(k.Key, "nodelist.node.")
		pos, field, ok := strings.Cut(rest, ".")
		if !ok || field != "nodeid" || pos == "" || strings.Trim(pos, "0123456789") != "" {
			continue
		}
		if v, err := cm.Get(k.Key); err == nil && v.Type == 6 { // u32
			n, _ := v.AsUint()
			ids = append(ids, uint32(n))
		}
	}
	if len(ids) == 0 {
		fmt.Fprint(env.Stderr, "No nodes found in nodelist\n")
		cm.Close()
		return exitFailure
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	localIdx, otherIdx := 0, 0
	for i, id := range ids {
		if id == local {
			localIdx = i
		} else {
			otherIdx = i
		}
	}
	var linkTransport [maxLinks]string
	if knet {
		for i := range linkTransport {
			linkTransport[i] = "udp"
		}
	}
	if ks, err := cm.Keys("totem.interface."); err == nil {
		for _, k := range ks {
			rest := strings.TrimPrefix(k.Key, "totem.interface.")
			num, field, ok := strings.Cut(rest, ".")
			n, perr := strconv.ParseUint(num, 10, 32)
			if !ok || field != "knet_transport" || perr != nil || n >= maxLinks {
				continue
			}
			if v, err := cm.Get(k.Key); err == nil {
				linkTransport[n] = strings.TrimRight(string(v.Data), "\x00")
			}
		}
	}
	cm.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "Local node ID %d, transport %s\n", local, transport)
	if nodes {
		for _, id := range ids {
			ns, err := c.NodeStatus(id)
			if err != nil || !ns.Reachable || ns.NodeID == local {
				continue
			}
			fmt.Fprintf(&b, "nodeid: %d reachable", ns.NodeID)
			if ns.Remote {
				b.WriteString(" remote")
			}
			if ns.External {
				b.WriteString(" external")
			}
			if knet {
				fmt.Fprintf(&b, "   onwire (min/max/cur): %d, %d, %d", ns.OnwireMin, ns.OnwireMax, ns.OnwireVersion)
			}
			b.WriteString("\n")
			for j, l := range ns.Links {
				if !l.Enabled {
					continue
				}
				sep := ""
				if knet {
					sep = "->"
				}
				fmt.Fprintf(&b, "   LINK: %d %s (%s%s%s) enabled", j, linkTransport[j], l.Src, sep, l.Dst)
				if l.Connected {
					b.WriteString(" connected")
				}
				if l.DynConnected {
					b.WriteString(" dynconnected")
				}
				fmt.Fprintf(&b, " mtu: %d\n", l.MTU)
			}
			b.WriteString("\n")
		}
		io.WriteString(env.Stdout, b.String())
		return exitOK
	}
	infos := make([]cfg.NodeStatus, len(ids))
	for i, id := range ids {
		ns, err := c.NodeStatus(id)
		if err != nil {
			io.WriteString(env.Stdout, b.String())
			b.Reset()
			fmt.Fprintf(env.Stderr, "Could not get the node status for nodeid %d, the error is: %d\n", id, csErr(err))
			continue
		}
		infos[i] = ns
	}
	for l := 0; l < maxLinks; l++ {
		if !infos[otherIdx].Links[l].Enabled {
			continue
		}
		fmt.Fprintf(&b, "LINK ID %d %s\n", l, linkTransport[l])
		fmt.Fprintf(&b, "\taddr\t= %s\n", infos[otherIdx].Links[l].Src)
		if brief {
			b.WriteString("\tstatus\t= ")
			for j := range ids {
				st := byte('0')
				if infos[j].Links[l].Enabled {
					st++
				}
				if infos[j].Links[l].Connected {
					st += 2
				}
				if j == localIdx {
					st = 'n'
				}
				b.WriteByte(st)
			}
			b.WriteString("\n")
			continue
		}
		b.WriteString("\tstatus:\n")
		for j := range ids {
			fmt.Fprintf(&b, "\t\tnodeid: %10d:\t", infos[j].NodeID)
			switch {
			case j == localIdx:
				b.WriteString("localhost")
			case infos[j].Links[l].Connected:
				b.WriteString("connected")
			default:
				b.WriteString("disconnected")
			}
			b.WriteString("\n")
		}
	}
	io.WriteString(env.Stdout, b.String())
	return exitOK
}
