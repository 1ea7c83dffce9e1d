package quorumtool_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
)

// Our corosync-quorumtool, corosync-cfgtool and corosync-cpgtool against a
// cluster of Debian corosync 3.1.7 daemons print what Debian's tools print,
// byte for byte (Date masked), with the same exit codes. The cluster is udpu
// with three nodes, one of them stopped half way, so both the quorate and the
// two-of-three views are compared.

var dateRE = regexp.MustCompile(`(?m)^Date:             .*$`)

func TestOurToolsAgainstRealCorosync(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespace test")
	}
	testenv.RequireRoot(t)
	real := map[string]string{}
	for _, tool := range []string{"corosync", "corosync-quorumtool", "corosync-cfgtool", "corosync-cpgtool", "corosync-cmapctl"} {
		real[tool] = testenv.RequireBinary(t, tool)
	}
	ours := map[string]string{}
	for _, tool := range []string{"corosync-quorumtool", "corosync-cfgtool", "corosync-cpgtool"} {
		ours[tool] = testenv.GoBinary(t, tool)
	}
	conf, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "configs", "udpu-3node.conf"))
	if err != nil {
		t.Fatal(err)
	}
	c := testcluster.New(t, testcluster.Options{Nodes: 3})
	var procs []*testcluster.Proc
	for _, n := range c.Nodes() {
		if err := n.WriteFile("/etc/corosync/corosync.conf", conf, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := n.Start("corosync", real["corosync"], "-f")
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	defer func() {
		for _, p := range procs {
			_ = p.Stop(15 * time.Second)
		}
	}()
	n1 := c.Node(1)
	run := func(argv ...string) (string, string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, errOut, rc, err := n1.ExecSplit(ctx, argv...)
		if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		return dateRE.ReplaceAllString(out, "Date: X"), errOut, rc
	}
	waitMembers := func(want int) {
		testcluster.Eventually(t, 30*time.Second, 200*time.Millisecond, func() (bool, string) {
			out, _, _ := run(real["corosync-cmapctl"], "-b", "runtime.members")
			return strings.Count(out, "status (str) = joined") == want, out
		})
	}
	cases := [][]string{
		{"corosync-quorumtool", "-s"}, {"corosync-quorumtool", "-l"}, {"corosync-quorumtool", "-s", "-p"},
		{"corosync-quorumtool", "-l", "-p"}, {"corosync-quorumtool", "-s", "-a"}, {"corosync-quorumtool", "-s", "-H"},
		{"corosync-quorumtool", "-s", "-i"}, {"corosync-quorumtool", "-l", "-o", "n"}, {"corosync-quorumtool", "-l", "-o", "i"},
		{"corosync-quorumtool", "-l", "-a", "-i"}, {"corosync-quorumtool", "-p"}, {"corosync-quorumtool", "-V"},
		{"corosync-quorumtool", "-h"}, {"corosync-quorumtool", "-e", "0"}, {"corosync-quorumtool", "-e", "2"},
		{"corosync-quorumtool", "-v", "x"}, {"corosync-quorumtool", "-n", "9", "-v", "1"}, {"corosync-quorumtool", "-o", "z"},
		{"corosync-quorumtool", "-q"}, {"corosync-quorumtool", "-f"},
		{"corosync-cfgtool", "-s"}, {"corosync-cfgtool", "-n"}, {"corosync-cfgtool", "-s", "-b"}, {"corosync-cfgtool", "-a", "1"},
		{"corosync-cfgtool", "-a", "3"}, {"corosync-cfgtool", "-a", "9"}, {"corosync-cfgtool", "-h"}, {"corosync-cfgtool"},
		{"corosync-cfgtool", "-L"}, {"corosync-cfgtool", "-k", "0"}, {"corosync-cfgtool", "-z"},
		{"corosync-cpgtool"}, {"corosync-cpgtool", "-e"}, {"corosync-cpgtool", "-n"}, {"corosync-cpgtool", "-d", ":"},
	}
	same, total := 0, 0
	compare := func(phase string) {
		for _, tc := range cases {
			total++
			argvReal := append([]string{real[tc[0]]}, tc[1:]...)
			argvOurs := append([]string{ours[tc[0]]}, tc[1:]...)
			wantOut, wantErr, wantRC := run(argvReal...)
			gotOut, gotErr, gotRC := run(argvOurs...)
			// Programs name themselves by argv[0] in usage and getopt messages.
			gotOut = strings.ReplaceAll(gotOut, ours[tc[0]], real[tc[0]])
			gotErr = strings.ReplaceAll(gotErr, ours[tc[0]], real[tc[0]])
			if gotOut != wantOut || gotErr != wantErr || gotRC != wantRC {
				t.Errorf("%s %v: exit %d (want %d)\n--- stdout\n%s--- want\n%s--- stderr\n%s--- want\n%s",
					phase, tc, gotRC, wantRC, gotOut, wantOut, gotErr, wantErr)
				continue
			}
			same++
		}
	}
	waitMembers(3)
	compare("3 nodes")
	// Node 3 goes away: two of three remain, still quorate.
	if err := procs[2].Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitMembers(2)
	compare("2 of 3 nodes")
	// No corosync on node 1: the tools' not-running messages and exit codes.
	if err := procs[0].Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		argv []string
	}{
		{"quorumtool-s", []string{ours["corosync-quorumtool"], "-s"}},
		{"quorumtool-l", []string{ours["corosync-quorumtool"], "-l"}},
		{"cfgtool-s", []string{ours["corosync-cfgtool"], "-s"}},
		{"cfgtool-n", []string{ours["corosync-cfgtool"], "-n"}},
		{"cpgtool", []string{ours["corosync-cpgtool"]}},
	} {
		total++
		out, errOut, rc := run(tc.argv...)
		b, err := os.ReadFile(testenv.Shared(t, "conformance", "corosync", "expected", "not-running."+tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if out+errOut != string(b) || rc != 1 {
			t.Errorf("not running, %s: exit %d\n%s%s--- want\n%s", tc.file, rc, out, errOut, b)
			continue
		}
		same++
	}
	t.Logf("%s", fmt.Sprintf("our tools against real corosync: %d of %d outputs and exit codes identical to the real tools'", same, total))
}
