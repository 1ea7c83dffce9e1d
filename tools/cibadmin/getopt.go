package cibadmin

import (
	"fmt"
	"strings"
)

// A small getopt_long work-alike: Pacemaker's tools parse with glibc
// getopt_long (permuting, bundled short options, "-ovalue", "--scope=value",
// optional arguments only in the attached form), and its error messages are
// part of the observable output.

type argKind int

const (
	noArg argKind = iota
	requiredArg
	optionalArg
)

type optSpec struct {
	long  string
	short rune
	kind  argKind
}

type parsedOpt struct {
	short rune
	arg   string
	has   bool
}

// getopt parses args (without argv[0]) and returns options in order and the
// non-option arguments. Errors are printed the way glibc does, with prog as
// the program name, and reported as ok=false.
func getopt(prog string, args []string, specs []optSpec, errf func(string)) (opts []parsedOpt, rest []string, ok bool) {
	ok = true
	byShort := map[rune]optSpec{}
	for _, s := range specs {
		if s.short != 0 {
			byShort[s.short] = s
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			return
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			var match *optSpec
			var cands []optSpec
			for k := range specs {
				if specs[k].long == name {
					match = &specs[k]
					cands = nil
					break
				}
				if strings.HasPrefix(specs[k].long, name) {
					cands = append(cands, specs[k])
				}
			}
			if match == nil && len(cands) == 1 {
				match = &cands[0]
			}
			if match == nil {
				if len(cands) > 1 {
					errf(fmt.Sprintf("%s: option '--%s' is ambiguous\n", prog, name))
				} else {
					errf(fmt.Sprintf("%s: unrecognized option '--%s'\n", prog, name))
				}
				ok = false
				continue
			}
			switch match.kind {
			case noArg:
				if hasVal {
					errf(fmt.Sprintf("%s: option '--%s' doesn't allow an argument\n", prog, match.long))
					ok = false
					continue
				}
				opts = append(opts, parsedOpt{short: match.short})
			case requiredArg:
				if !hasVal {
					if i+1 >= len(args) {
						errf(fmt.Sprintf("%s: option '--%s' requires an argument\n", prog, match.long))
						ok = false
						continue
					}
					i++
					val = args[i]
				}
				opts = append(opts, parsedOpt{short: match.short, arg: val, has: true})
			case optionalArg:
				opts = append(opts, parsedOpt{short: match.short, arg: val, has: hasVal})
			}
		case strings.HasPrefix(a, "-") && a != "-":
			rs := []rune(a[1:])
			for j := 0; j < len(rs); j++ {
				c := rs[j]
				s, found := byShort[c]
				if !found {
					errf(fmt.Sprintf("%s: invalid option -- '%c'\n", prog, c))
					ok = false
					continue
				}
				switch s.kind {
				case noArg:
					opts = append(opts, parsedOpt{short: c})
				case optionalArg:
					if j+1 < len(rs) {
						opts = append(opts, parsedOpt{short: c, arg: string(rs[j+1:]), has: true})
					} else {
						opts = append(opts, parsedOpt{short: c})
					}
					j = len(rs)
				case requiredArg:
					if j+1 < len(rs) {
						opts = append(opts, parsedOpt{short: c, arg: string(rs[j+1:]), has: true})
					} else if i+1 < len(args) {
						i++
						opts = append(opts, parsedOpt{short: c, arg: args[i], has: true})
					} else {
						errf(fmt.Sprintf("%s: option requires an argument -- '%c'\n", prog, c))
						ok = false
					}
					j = len(rs)
				}
			}
		default:
			rest = append(rest, a)
		}
	}
	return
}
