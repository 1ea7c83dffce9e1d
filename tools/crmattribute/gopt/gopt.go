// Package gopt parses command lines the way Pacemaker 2.1's GLib-based
// tools do: pcmk__cmdline_preproc (lib/common/cmdline.c) first explodes
// bundled short options and splits "-nVALUE" for the options listed as
// taking values, then g_option_context_parse_strv walks the result. The
// observable rules that differ from getopt_long and pflag:
//
//   - long names must match exactly (no abbreviations);
//   - an option that takes a value takes the next argument even when it
//     starts with '-' ("-n -G" names the attribute "-G");
//   - an optional value ("-p", "--promotion") is taken from "--opt=value",
//     an attached "-pVALUE", or the next argument if it does not start with
//     '-';
//   - "--flag=value" on an option without a value ignores the value;
//   - the first unknown option or missing value stops parsing with GLib's
//     message ("Unknown option -x", "Missing argument for --name");
//   - non-option arguments are kept, in order, and "--" ends the options.
package gopt

import (
	"fmt"
	"strings"
)

// Kind says whether an option takes a value.
type Kind int

// Option kinds.
const (
	NoArg Kind = iota
	Required
	Optional
)

// Entry is one GOptionEntry.
type Entry struct {
	Long  string
	Short byte // 0 for none
	Kind  Kind
}

// Opt is one parsed option, by its long name.
type Opt struct {
	Name  string
	Value string
	Has   bool // a value was given (always true for Required)
}

// Parse returns the options in command-line order and the remaining
// arguments. special lists the short options whose values preproc splits
// off (the second argument of pcmk__cmdline_preproc). err is GLib's message.
func Parse(args []string, entries []Entry, special string) (opts []Opt, rest []string, err error) {
	args = preproc(args, special)
	byLong := map[string]Entry{}
	byShort := map[byte]Entry{}
	for _, e := range entries {
		byLong[e.Long] = e
		if e.Short != 0 {
			byShort[e.Short] = e
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			return opts, rest, nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			e, ok := byLong[name]
			if ok && hasVal && IsHelp(name) {
				// GLib matches its help options on the whole argument.
				ok = false
			}
			if !ok {
				return opts, rest, fmt.Errorf("Unknown option %s", a)
			}
			switch e.Kind {
			case NoArg:
				// GLib ignores "=value" on an option that takes none.
				opts = append(opts, Opt{Name: e.Long})
				if IsHelp(e.Long) {
					return opts, rest, nil
				}
			case Required:
				if !hasVal {
					if i+1 >= len(args) {
						return opts, rest, fmt.Errorf("Missing argument for %s", a)
					}
					i++
					val = args[i]
				}
				opts = append(opts, Opt{Name: e.Long, Value: val, Has: true})
			case Optional:
				if !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
					i++
					val, hasVal = args[i], true
				}
				opts = append(opts, Opt{Name: e.Long, Value: val, Has: hasVal})
			}
		case len(a) > 1 && a[0] == '-':
			// After preproc every short option stands alone, except a
			// negative number, which GLib reports as an unknown option.
			for j := 1; j < len(a); j++ {
				e, ok := byShort[a[j]]
				if !ok {
					return opts, rest, fmt.Errorf("Unknown option -%c", a[j])
				}
				switch e.Kind {
				case NoArg:
					opts = append(opts, Opt{Name: e.Long})
					if IsHelp(e.Long) {
						return opts, rest, nil
					}
					continue
				case Required:
					if j+1 < len(a) {
						opts = append(opts, Opt{Name: e.Long, Value: a[j+1:], Has: true})
					} else if i+1 < len(args) {
						i++
						opts = append(opts, Opt{Name: e.Long, Value: args[i], Has: true})
					} else {
						return opts, rest, fmt.Errorf("Missing argument for -%c", a[j])
					}
				case Optional:
					if j+1 < len(a) {
						opts = append(opts, Opt{Name: e.Long, Value: a[j+1:], Has: true})
					} else if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
						i++
						opts = append(opts, Opt{Name: e.Long, Value: args[i], Has: true})
					} else {
						opts = append(opts, Opt{Name: e.Long})
					}
				}
				break
			}
		default:
			rest = append(rest, a)
		}
	}
	return opts, rest, nil
}

// preproc is pcmk__cmdline_preproc without argv[0].
func preproc(args []string, special string) []string {
	var out []string
	copyNext := false
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if copyNext {
			out = append(out, a)
			copyNext = false
			continue
		}
		if a == "-" || !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") {
			out = append(out, a)
			continue
		}
		rest := a[1:]
		if rest != "" && rest[0] >= '1' && rest[0] <= '9' && allDigits(rest) {
			out = append(out, a)
			continue
		}
		for j := 0; j < len(rest); j++ {
			c := rest[j]
			if strings.IndexByte(special, c) >= 0 {
				out = append(out, "-"+string(c))
				if j+1 < len(rest) {
					out = append(out, rest[j+1:])
				} else {
					copyNext = true
				}
				break
			}
			out = append(out, "-"+string(c))
		}
	}
	return out
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsHelp reports whether a long name is one of GLib's help options, which
// print and exit as soon as they are met.
func IsHelp(long string) bool { return long == "help" || strings.HasPrefix(long, "help-") }
