package getopt

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const spec = "VHaslpmfe:v:hin:o:"
	opts, operands, bad := Parse([]string{"-sl", "x", "-e5", "-n", "3", "--", "-p"}, spec)
	if bad != "" || len(opts) != 4 || opts[2].Arg != "5" || opts[3].Arg != "3" || len(operands) != 2 || operands[1] != "-p" {
		t.Errorf("%v %v %q", opts, operands, bad)
	}
	// An argument that looks like an option is taken as the value.
	if opts, _, bad := Parse([]string{"-e", "-5"}, spec); bad != "" || len(opts) != 1 || opts[0].Arg != "-5" {
		t.Errorf("%v %q", opts, bad)
	}
	for args, want := range map[string]string{
		"--long": "unrecognized option '--long'",
		"-x":     "invalid option -- 'x'",
		"-s -e":  "option requires an argument -- 'e'",
		"-:":     "invalid option -- ':'",
	} {
		if _, _, bad := Parse(strings.Fields(args), spec); bad != want {
			t.Errorf("%s: %q, want %q", args, bad, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("-s -e 3 -o n", "VHaslpmfe:v:hin:o:")
	f.Add("-x --y -- z", "x")
	f.Add("-m: -p", "m:hqgsdDtTbp:C:")
	f.Fuzz(func(t *testing.T, args, spec string) {
		fields := strings.Fields(args)
		opts, operands, _ := Parse(fields, spec)
		if len(opts)+len(operands) > len(fields)*len(args)+1 {
			t.Fatal("more results than input")
		}
	})
}
