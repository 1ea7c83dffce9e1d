package cmapctl

import "fmt"

// getopt is GNU getopt(3) for short options, which corosync-cmapctl uses and whose
// behaviour shows in its interface: options may follow operands (argv is
// permuted), "--" ends the options, a missing argument or an unknown letter is
// reported as glibc does, and an argument such as "-5" is an option, not a value.
// pflag differs on each of these points, hence this small parser.
type opt struct {
	c   byte
	arg string
}

// getopt returns the options in order and the operands. On a bad option it
// returns the message glibc prints (without the program name) and stops there,
// like corosync-cmapctl, which returns on the first '?'.
func getopt(args []string, spec string) (opts []opt, operands []string, errMsg string) {
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
			operands = append(operands, args[i+1:]...)
			return opts, operands, ""
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
				opts = append(opts, opt{c: c})
				continue
			}
			if j+1 < len(a) {
				opts = append(opts, opt{c: c, arg: a[j+1:]})
			} else if i+1 < len(args) {
				i++
				opts = append(opts, opt{c: c, arg: args[i]})
			} else {
				return opts, operands, fmt.Sprintf("option requires an argument -- '%c'", c)
			}
			break
		}
	}
	return opts, operands, ""
}
