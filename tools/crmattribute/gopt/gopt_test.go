package gopt

import (
	"strings"
	"testing"
)

var entries = []Entry{
	{Long: "help", Short: 'h'}, {Long: "name", Short: 'n', Kind: Required},
	{Long: "promotion", Short: 'p', Kind: Optional}, {Long: "query", Short: 'G'}, {Long: "quiet", Short: 'q'},
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args string
		want string
		err  string
	}{
		{"-qGnfoo", "quiet query name=foo", ""},
		{"-n -G x", "name=-G", ""},
		{"--name=a --promotion rsc", "name=a promotion=rsc", ""},
		{"-p -G", "promotion query", ""},
		{"-pX", "promotion=X", ""},
		{"--query=ignored", "query", ""},
		{"-n", "", "Missing argument for -n"},
		{"--nam=x", "", "Unknown option --nam=x"},
		{"-G --help=x", "query", "Unknown option --help=x"},
		{"-G --help --bogus", "query help", ""},
		{"-- -G", "", ""},
		{"-5", "", "Unknown option -5"},
	} {
		opts, _, err := Parse(strings.Fields(tc.args), entries, "np")
		var got []string
		for _, o := range opts {
			if o.Has {
				got = append(got, o.Name+"="+o.Value)
			} else {
				got = append(got, o.Name)
			}
		}
		gerr := ""
		if err != nil {
			gerr = err.Error()
		}
		if strings.Join(got, " ") != tc.want || gerr != tc.err {
			t.Errorf("%q: got %q, %q; want %q, %q", tc.args, got, gerr, tc.want, tc.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"-qGnfoo", "-n -G x", "--name=a --promotion rsc", "-p", "--", "-1 -"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		Parse(strings.Split(s, " "), entries, "np")
	})
}
