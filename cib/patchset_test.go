package cib

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"ringmaster/internal/testenv"
)

const seedCIB = `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="5" num_updates="4" admin_epoch="0">
  <configuration>
    <crm_config><cluster_property_set id="cbo"><nvpair id="cbo-1" name="a" value="1"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources>
      <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"><operations><op id="d1-m" name="monitor" interval="10s"/></operations></primitive>
      <!-- c1 -->
      <group id="g1"><primitive id="g1-a" class="ocf" provider="heartbeat" type="IPaddr2"/></group>
    </resources>
    <constraints/>
  </configuration>
  <status><node_state id="1" uname="node1"/></status>
</cib>`

// mutate applies n random edits: attribute sets and removals, new
// children (always with fresh ids), deletions, sibling moves, comments.
func mutate(rng *rand.Rand, root *etree.Element, n int, next *int) {
	for i := 0; i < n; i++ {
		all := elements(root)
		e := all[rng.Intn(len(all))]
		switch rng.Intn(7) {
		case 0, 1:
			SetAttr(e, []string{"score", "value", "description", "kind", "x-y"}[rng.Intn(5)], fmt.Sprintf("v%d<&\"%d", rng.Intn(100), i))
		case 2:
			if len(e.Attr) > 0 {
				a := e.Attr[rng.Intn(len(e.Attr))]
				if n := attrName(a); n != "id" && !(e == root && (n == "epoch" || n == "num_updates" || n == "admin_epoch")) {
					RemoveAttr(e, attrName(a))
				}
			}
		case 3:
			*next++
			c := etree.NewElement([]string{"primitive", "nvpair", "meta_attributes", "op"}[rng.Intn(4)])
			SetAttr(c, "id", fmt.Sprintf("n%d", *next))
			if rng.Intn(2) == 0 {
				SetAttr(c, "name", "x")
			}
			insertAtPosition(e, c, rng.Intn(len(e.ChildElements())+1))
		case 4:
			if e != root && e.Parent() != nil && e.Parent() != root {
				e.Parent().RemoveChild(e)
			}
		case 5:
			if p := e.Parent(); p != nil && len(p.ChildElements()) > 1 {
				p.RemoveChild(e)
				insertAtPosition(p, e, rng.Intn(len(p.ChildElements())+1))
			}
		case 6:
			if e != root {
				insertAtPosition(e, etree.NewComment(fmt.Sprintf(" note %d ", i)), 0)
			}
		}
	}
}

func TestPatchsetRoundTrip(t *testing.T) {
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	rng := rand.New(rand.NewSource(42))
	next := 0
	for r := 0; r < rounds; r++ {
		old, err := ParseXMLString(seedCIB)
		if err != nil {
			t.Fatal(err)
		}
		mutate(rng, old, rng.Intn(5), &next)
		nw := old.Copy()
		mutate(rng, nw, 1+rng.Intn(6), &next)
		// Make the patch carry a version change, as the CIB manager's do.
		SetAttr(nw, "num_updates", itoa(AttrInt(old, "num_updates", 0)+1))
		patch, ch := CreatePatchset(old, nw)
		if patch == nil || !ch.Any {
			t.Fatalf("round %d: no patch for a changed document", r)
		}
		got := old.Copy()
		if rc := ApplyPatchset(got, patch, true); rc != OK {
			t.Fatalf("round %d: apply: %v\npatch: %s", r, rc, Serialize(patch, true))
		}
		if a, b := Serialize(got, true), Serialize(nw, true); a != b {
			t.Fatalf("round %d: round trip differs\nold:\n%s\nwant:\n%s\ngot:\n%s\npatch:\n%s", r, Serialize(old, true), b, a, Serialize(patch, true))
		}
		// Applying twice is refused as old data.
		if rc := ApplyPatchset(got, patch, true); rc != ErrOldData {
			t.Fatalf("round %d: re-apply gave %v, want ErrOldData\n%s\n%s", r, rc, Serialize(got, false), Serialize(patch, true))
		}
	}
}

func TestPatchsetVersionChecks(t *testing.T) {
	old, _ := ParseXMLString(seedCIB)
	nw := old.Copy()
	SetAttr(nw, "epoch", "6")
	patch, ch := CreatePatchset(old, nw)
	if ch.Config {
		t.Error("a change of /cib attributes is not a configuration change")
	}
	behind := old.Copy()
	SetAttr(behind, "epoch", "4")
	if rc := ApplyPatchset(behind, patch, true); rc != ErrDiffResync {
		t.Errorf("behind: %v, want ErrDiffResync", rc)
	}
	ahead := old.Copy()
	SetAttr(ahead, "epoch", "9")
	if rc := ApplyPatchset(ahead, patch, true); rc != ErrOldData {
		t.Errorf("ahead: %v, want ErrOldData", rc)
	}
	SetAttr(patch, "digest", "0123")
	if rc := ApplyPatchset(old.Copy(), patch, true); rc != ErrDiffFailed {
		t.Errorf("bad digest: %v, want ErrDiffFailed", rc)
	}
	SetAttr(patch, "digest", DigestVersioned(nw, FeatureSet))
	if rc := ApplyPatchset(old.Copy(), patch, true); rc != OK {
		t.Errorf("good digest: %v", rc)
	}
}

// TestPatchsetInteropCrmDiff exchanges patches with Pacemaker's crm_diff:
// ours applied by crm_diff --patch, and crm_diff's applied by us.
func TestPatchsetInteropCrmDiff(t *testing.T) {
	crmDiff := testenv.RequireBinary(t, "crm_diff")
	rng := rand.New(rand.NewSource(7))
	dir := t.TempDir()
	next := 0
	rounds := 20
	if testing.Short() {
		rounds = 4
	}
	for r := 0; r < rounds; r++ {
		old, _ := ParseXMLString(seedCIB)
		nw := old.Copy()
		mutate(rng, nw, 1+rng.Intn(5), &next)
		op, np, pp := filepath.Join(dir, "old.xml"), filepath.Join(dir, "new.xml"), filepath.Join(dir, "patch.xml")
		os.WriteFile(op, []byte(Serialize(old, true)), 0o644)
		os.WriteFile(np, []byte(Serialize(nw, true)), 0o644)

		patch, _ := CreatePatchset(old, nw)
		os.WriteFile(pp, []byte(Serialize(patch, true)), 0o644)
		out, err := exec.Command(crmDiff, "-o", op, "-p", pp).Output()
		if err != nil {
			t.Fatalf("round %d: crm_diff rejected our patch: %v\n%s", r, err, Serialize(patch, true))
		}
		if string(out) != Serialize(nw, true) {
			t.Fatalf("round %d: crm_diff applied our patch as\n%s\nwant\n%s\npatch\n%s", r, out, Serialize(nw, true), Serialize(patch, true))
		}

		theirs, _ := exec.Command(crmDiff, "-o", op, "-n", np).Output() // exit 1 = differences
		tp, err := ParseXML(theirs)
		if err != nil {
			t.Fatalf("round %d: parse crm_diff output: %v\n%s", r, err, theirs)
		}
		got := old.Copy()
		if rc := ApplyPatchset(got, tp, false); rc != OK {
			t.Fatalf("round %d: applying crm_diff's patch: %v\n%s", r, rc, theirs)
		}
		if Serialize(got, true) != Serialize(nw, true) {
			t.Fatalf("round %d: crm_diff's patch applied by us gives\n%s\nwant\n%s\npatch\n%s", r, Serialize(got, true), Serialize(nw, true), theirs)
		}
		if strings.Count(string(theirs), "<change ") != len(FirstChild(patch, "version").Parent().ChildElements())-1 {
			t.Logf("round %d: crm_diff used %d changes, we used %d", r, strings.Count(string(theirs), "<change "), len(patch.ChildElements())-1)
		}
	}
}

func FuzzApplyPatchset(f *testing.F) {
	old, _ := ParseXMLString(seedCIB)
	nw := old.Copy()
	rng := rand.New(rand.NewSource(1))
	next := 0
	mutate(rng, nw, 6, &next)
	SetAttr(nw, "num_updates", "5")
	p, _ := CreatePatchset(old, nw)
	f.Add(Serialize(p, false))
	f.Add(`<diff format="2"><version><source admin_epoch="0" epoch="5" num_updates="4"/><target admin_epoch="0" epoch="5" num_updates="5"/></version><change operation="move" path="/cib/configuration" position="9"/><change operation="create" path="/cib" position="-3"><x/></change><change operation="delete" path="/cib/comment" position="0"/></diff>`)
	f.Fuzz(func(t *testing.T, s string) {
		patch, err := ParseXMLString(s)
		if err != nil {
			return
		}
		doc, _ := ParseXMLString(seedCIB)
		ApplyPatchset(doc, patch, true)
		ApplyPatchset(doc, patch, false)
	})
}

func FuzzParseSerialize(f *testing.F) {
	f.Add(seedCIB)
	f.Add(digestCases["escapes"])
	f.Fuzz(func(t *testing.T, s string) {
		root, err := ParseXMLString(s)
		if err != nil {
			return
		}
		text := Serialize(root, true)
		again, err := ParseXMLString(text)
		if err != nil {
			// Pacemaker's escaping is lossy for control characters and
			// leaves UTF-8 tails unescaped; only require no panic here.
			return
		}
		_ = DigestOnDisk(again)
		_, _ = CreatePatchset(root, again)
	})
}

// TestRefreshRootChangeMatchesFullDiff checks the shortcut Perform takes
// after moving the version counters against diffing the two trees again,
// on random edits of a generated CIB.
func TestRefreshRootChangeMatchesFullDiff(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`<cib epoch="3" num_updates="7" admin_epoch="0" validate-with="pacemaker-3.9"><configuration><crm_config/><nodes/><resources>`)
	for i := 0; i < 30; i++ {
		sb.WriteString(`<primitive id="r` + itoa(i) + `" class="ocf" type="Dummy"><meta_attributes id="m` + itoa(i) + `"><nvpair id="n` + itoa(i) + `" name="target-role" value="Started"/></meta_attributes></primitive>`)
	}
	sb.WriteString(`</resources><constraints/></configuration><status><node_state id="1" uname="a"/></status></cib>`)
	base, err := ParseXMLString(sb.String())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 300; round++ {
		source := base.Copy()
		target := source.Copy()
		all := elements(target)
		for n := rng.Intn(4); n >= 0; n-- {
			e := all[rng.Intn(len(all))]
			switch rng.Intn(4) {
			case 0:
				SetAttr(e, "x"+itoa(rng.Intn(3)), itoa(rng.Intn(5)))
			case 1:
				if e != target && e.Parent() != nil {
					e.Parent().RemoveChild(e)
				}
			case 2:
				e.CreateElement("added").CreateAttr("id", "a"+itoa(round))
			case 3:
				if len(e.Attr) > 0 {
					e.RemoveAttr(e.Attr[0].Key)
				}
			}
		}
		patch, ch := createPatchset(source, target, nil)
		if !ch.Any {
			continue
		}
		SetAttr(target, "num_updates", itoa(AttrInt(target, "num_updates", 0)+1+rng.Intn(2)))
		if rng.Intn(2) == 0 {
			SetAttr(target, "epoch", itoa(AttrInt(target, "epoch", 0)+1))
		}
		refreshRootChange(patch, source, target)
		want, _ := CreatePatchset(source, target)
		got, exp := xmlText(patch), xmlText(want)
		if got != exp {
			t.Fatalf("round %d:\n got %s\nwant %s", round, got, exp)
		}
	}
}

func xmlText(e *etree.Element) string {
	d := etree.NewDocument()
	d.SetRoot(e.Copy())
	s, _ := d.WriteToString()
	return s
}

// elements lists root and all its descendants, depth first.
func elements(root *etree.Element) []*etree.Element {
	all := []*etree.Element{root}
	for _, c := range root.ChildElements() {
		all = append(all, elements(c)...)
	}
	return all
}
