// Package getopt is GNU getopt(3) for short options, as corosync's tools
// (corosync-cmapctl, -quorumtool, -cfgtool, -cpgtool) parse their command
// lines. Their behaviour shows in their interface and pflag differs on each
// point: options may follow operands (argv is permuted), "--" ends the
// options, an argument such as "-5" is an option rather than a value, and the
// first bad option stops parsing with glibc's message.
package getopt

import "fmt"

// Opt is one parsed option: its letter and, for a letter followed by ':' in
// the spec, its argument.
type Opt struct {
	C   byte
	Arg string
}

// Parse returns the options in order and the operands. On a bad option it
// returns the message glibc prints (without the program name) and stops
// there, as the corosync tools return on the first '?'.
func Parse(args []string, spec string) (opts []Opt, operands []string, errMsg string) {
	hasArg := map[byte]bool{}
	known := map[byte]bool{}
	for i := 0; i < len(spec); i++ {
		known[spec[i]] = true
		if i+1 < len(spec) && spec[i+1] == ':' {
			hasArg[spec[i]] = true
			i++
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return opts, append(operands, args[i+1:]...), ""
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		if a[1] == '-' {
			return opts, operands, fmt.Sprintf("unrecognized option '%s'", a)
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			if !known[c] || c == ':' {
				return opts, operands, fmt.Sprintf("invalid option -- '%c'", c)
			}
			if !hasArg[c] {
				opts = append(opts, Opt{C: c})
				continue
			}
			if j+1 < len(a) {
				opts = append(opts, Opt{C: c, Arg: a[j+1:]})
			} else if i+1 < len(args) {
				i++
				opts = append(opts, Opt{C: c, Arg: args[i]})
			} else {
				return opts, operands, fmt.Sprintf("option requires an argument -- '%c'", c)
			}
			break
		}
	}
	return opts, operands, ""
}
