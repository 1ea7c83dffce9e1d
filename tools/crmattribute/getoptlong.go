package crmattribute

import (
	"fmt"
	"sort"
	"strings"
)

// The wrappers (crm_standby, crm_failcount, crm_master) are shell scripts
// in Pacemaker that parse with util-linux getopt(1), i.e. glibc
// getopt_long: permuting, bundled short options, unique abbreviations of
// long names, every error reported (as "prog: ...") before the script
// sees the failure.

type longOpt struct {
	name   string
	hasArg bool
}

type shOpt struct {
	name string // "-x" or "--long", as getopt(1) prints it
	arg  string
}

// getoptLong parses args against a getopt(1) short spec ("VqGv:") and
// long options ("update:" style). It returns the options, operands and
// whether all were valid; errors are written through errf.
func getoptLong(prog string, args []string, short string, long []string, errf func(string)) (opts []shOpt, operands []string, ok bool) {
	ok = true
	shortArg := map[byte]bool{}
	known := map[byte]bool{}
	for i := 0; i < len(short); i++ {
		known[short[i]] = true
		if i+1 < len(short) && short[i+1] == ':' {
			shortArg[short[i]] = true
			i++
		}
	}
	var longs []longOpt
	for _, l := range long {
		n, arg := strings.CutSuffix(l, ":")
		longs = append(longs, longOpt{n, arg})
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			operands = append(operands, args[i+1:]...)
			return
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			var exact *longOpt
			var cands []longOpt
			for k := range longs {
				if longs[k].name == name {
					exact = &longs[k]
					break
				}
				if strings.HasPrefix(longs[k].name, name) {
					cands = append(cands, longs[k])
				}
			}
			if exact == nil && len(cands) > 1 {
				// glibc accepts an ambiguous prefix whose candidates are
				// all the same option; here every name is distinct.
				names := make([]string, len(cands))
				for k, c := range cands {
					names[k] = "'--" + c.name + "'"
				}
				sort.Strings(names)
				errf(fmt.Sprintf("%s: option '--%s' is ambiguous; possibilities: %s\n", prog, name, strings.Join(names, " ")))
				ok = false
				continue
			}
			if exact == nil && len(cands) == 1 {
				exact = &cands[0]
			}
			if exact == nil {
				errf(fmt.Sprintf("%s: unrecognized option '--%s'\n", prog, name))
				ok = false
				continue
			}
			if !exact.hasArg {
				if hasVal {
					errf(fmt.Sprintf("%s: option '--%s' doesn't allow an argument\n", prog, exact.name))
					ok = false
					continue
				}
				opts = append(opts, shOpt{name: "--" + exact.name})
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					errf(fmt.Sprintf("%s: option '--%s' requires an argument\n", prog, exact.name))
					ok = false
					continue
				}
				i++
				val = args[i]
			}
			opts = append(opts, shOpt{name: "--" + exact.name, arg: val})
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				c := a[j]
				if !known[c] || c == ':' {
					errf(fmt.Sprintf("%s: invalid option -- '%c'\n", prog, c))
					ok = false
					continue
				}
				if !shortArg[c] {
					opts = append(opts, shOpt{name: "-" + string(c)})
					continue
				}
				if j+1 < len(a) {
					opts = append(opts, shOpt{name: "-" + string(c), arg: a[j+1:]})
				} else if i+1 < len(args) {
					i++
					opts = append(opts, shOpt{name: "-" + string(c), arg: args[i]})
				} else {
					errf(fmt.Sprintf("%s: option requires an argument -- '%c'\n", prog, c))
					ok = false
				}
				break
			}
		default:
			operands = append(operands, a)
		}
	}
	return
}
