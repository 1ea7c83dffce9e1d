package crmnode

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"ringmaster/cib"
)

type fakeController struct {
	info   NodeInfo
	nodes  []Member
	purged []string
}

func (f *fakeController) NodeInfo(id uint32) (NodeInfo, error) {
	if id != 0 {
		for _, n := range f.nodes {
			if uint32(n.ID) == id {
				return NodeInfo{ID: id, Uname: n.Uname, HaveQuorum: f.info.HaveQuorum}, nil
			}
		}
		return NodeInfo{ID: id}, nil
	}
	return f.info, nil
}
func (f *fakeController) ListNodes() ([]Member, error) { return f.nodes, nil }
func (f *fakeController) PurgeNode(name string, id int64) error {
	f.purged = append(f.purged, name)
	return nil
}
func (f *fakeController) Close() error { return nil }

// TestControllerReplies checks what crm_node prints for each reply of a
// controller (controller_event_cb in crm_node.c).
func TestControllerReplies(t *testing.T) {
	fc := &fakeController{
		info: NodeInfo{ID: 1, Uname: "node1", HaveQuorum: true},
		nodes: []Member{{ID: 10, Uname: "node10", State: "member"}, {ID: 2, Uname: "Node2", State: "lost"},
			{ID: 1, Uname: "node1", State: "member"}},
	}
	var cibReqs []cib.Request
	env := func(out, errb *bytes.Buffer, args ...string) Env {
		return Env{Args: args, Getenv: func(string) string { return "" }, Stdout: out, Stderr: errb,
			DialController:  func() (Controller, error) { return fc, nil },
			RemoveFromCache: func(string, string, int64) error { return nil },
			CIB:             func(r cib.Request) cib.Rc { cibReqs = append(cibReqs, r); return cib.OK }}
	}
	for _, tc := range []struct {
		args, out, err string
		code           int
	}{
		{"-n", "node1\n", "", 0},
		{"-i", "1\n", "", 0},
		{"-q", "1\n", "", 0},
		{"-N 2", "Node2\n", "", 0},
		{"-N 7", "", "Node is not known to cluster\n", 104},
		{"-l", "1 node1 member\n2 Node2 lost\n10 node10 member\n", "", 0},
		{"-p", "node1 node10 \n", "", 0},
		{"-R node9 --force", "", "", 0},
	} {
		var out, errb bytes.Buffer
		code := Main(env(&out, &errb, strings.Fields(tc.args)...))
		if code != tc.code || out.String() != tc.out || errb.String() != tc.err {
			t.Errorf("%s: %d %q %q, want %d %q %q", tc.args, code, out.String(), errb.String(), tc.code, tc.out, tc.err)
		}
	}
	if len(fc.purged) != 1 || len(cibReqs) != 6 || cib.AttrOr(cibReqs[0].Data, "uname", "") != "node9" {
		t.Errorf("removal: purged %v, %d CIB requests", fc.purged, len(cibReqs))
	}
	// No quorum: "0" and CRM_EX_QUORUM.
	fc.info.HaveQuorum = false
	var out, errb bytes.Buffer
	if code := Main(env(&out, &errb, "-q")); code != 106 || out.String() != "0\n" {
		t.Errorf("-q without quorum: %d %q", code, out.String())
	}
	// A controller that refuses the connection.
	out.Reset()
	errb.Reset()
	e := env(&out, &errb, "-l")
	e.DialController = func() (Controller, error) { return nil, syscall.ECONNREFUSED }
	if code := Main(e); code != 102 || errb.String() != "error: Could not connect to controller: Connection refused\n" {
		t.Errorf("refused: %d %q", code, errb.String())
	}
}

func TestNumericStrcasecmp(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{{"node2", "node10", true}, {"Node1", "node2", true}, {"b", "A", false}, {"x", "x1", true}} {
		if got := numericStrcasecmp(tc.a, tc.b) < 0; got != tc.less {
			t.Errorf("%q < %q = %v", tc.a, tc.b, got)
		}
	}
}

func FuzzMain(f *testing.F) {
	for _, s := range []string{"-n", "-N 5", "-R x -f", "--list", "-qi", "--bogus"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var out, errb bytes.Buffer
		Main(Env{Args: strings.Split(s, " "), Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errb})
	})
}
