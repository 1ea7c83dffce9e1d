package cib

import (
	"os"
	"os/exec"
	"path/filepath"
	"ringmaster/internal/testenv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// TestVersionCounting is a table of which operations move epoch and which
// num_updates (cib_perform_op + xml_create_patchset), as observed with
// Pacemaker's cibadmin on CIB_file copies.
func TestVersionCounting(t *testing.T) {
	eng := &Engine{Now: fixedNow}
	cases := []struct {
		name    string
		req     Request
		data    string
		rc      Rc
		version string // admin_epoch.epoch.num_updates after
	}{
		{"query", Request{Op: OpQuery}, "", OK, "0.5.4"},
		{"create resource", Request{Op: OpCreate, Section: "resources"}, `<primitive id="d2" class="ocf" provider="pacemaker" type="Dummy"/>`, OK, "0.6.0"},
		{"create existing", Request{Op: OpCreate, Section: "resources"}, `<primitive id="d1"/>`, EEXIST, "0.5.4"},
		{"modify attribute", Request{Op: OpModify}, `<primitive id="d1" description="x"/>`, OK, "0.6.0"},
		{"modify same value", Request{Op: OpModify}, `<primitive id="d1" class="ocf"/>`, OK, "0.5.4"},
		{"modify missing", Request{Op: OpModify}, `<primitive id="zz" description="x"/>`, ENXIO, "0.5.4"},
		{"modify can-create copies quietly", Request{Op: OpModify, Section: "resources", Options: OptCanCreate}, `<primitive id="d9" class="ocf" provider="pacemaker" type="Dummy"/>`, OK, "0.5.5"},
		{"status update", Request{Op: OpModify, Section: "status"}, `<node_state id="1" in_ccm="true"/>`, OK, "0.5.5"},
		{"delete resource", Request{Op: OpDelete}, `<primitive id="d1"/>`, OK, "0.6.0"},
		{"delete absent is fine", Request{Op: OpDelete}, `<primitive id="zz"/>`, OK, "0.5.4"},
		{"bump", Request{Op: OpBump}, "", OK, "0.6.5"},
		{"admin_epoch++", Request{Op: OpModify}, `<cib admin_epoch="admin_epoch++"/>`, OK, "1.5.5"},
		{"epoch backwards", Request{Op: OpModify}, `<cib epoch="1"/>`, ErrOldData, "0.5.4"},
		{"erase", Request{Op: OpErase}, "", OK, "1.6.0"},
		{"replace older", Request{Op: OpReplace}, `<cib admin_epoch="0" epoch="4" num_updates="9"><configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>`, ErrOldData, "0.5.4"},
		{"replace newer", Request{Op: OpReplace}, `<cib admin_epoch="0" epoch="7" num_updates="0"><configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>`, OK, "0.8.0"},
		{"xpath delete all", Request{Op: OpDelete, Section: "//primitive", Options: OptXPath | OptMultiple}, "", OK, "0.6.0"},
		{"xpath query none", Request{Op: OpQuery, Section: "//nothing", Options: OptXPath}, "", ENXIO, "0.5.4"},
		{"bad xpath", Request{Op: OpQuery, Section: "//[", Options: OptXPath}, "", ENXIO, "0.5.4"},
		{"duplicate id refused", Request{Op: OpCreate, Section: "constraints"}, `<rsc_location id="d1" rsc="d1" node="n" score="1"/>`, ErrSchemaValidation, "0.5.4"},
		{"unknown op", Request{Op: "cib_frobnicate"}, "", EPROTONOSUPPORT, "0.5.4"},
	}
	base := `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="5" num_updates="4" admin_epoch="0">
  <configuration><crm_config/><nodes/><resources><primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints/></configuration>
  <status><node_state id="1" uname="n1"/></status></cib>`
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := ParseXMLString(base)
			if err != nil {
				t.Fatal(err)
			}
			req := tc.req
			if tc.data != "" {
				if req.Data, err = ParseXMLString(tc.data); err != nil {
					t.Fatal(err)
				}
			}
			res := eng.Perform(cur, req)
			if res.Rc != tc.rc {
				t.Fatalf("rc %v (%d), want %v", res.Rc, res.Rc, tc.rc)
			}
			after := cur
			if res.CIB != nil {
				after = res.CIB
			}
			v := AttrOr(after, "admin_epoch", "") + "." + AttrOr(after, "epoch", "") + "." + AttrOr(after, "num_updates", "")
			if v != tc.version {
				t.Errorf("version %s, want %s", v, tc.version)
			}
			if Serialize(cur, false) != Serialize(mustReparse(t, base), false) {
				t.Error("Perform modified its input")
			}
			if res.CIB != nil && res.Changes.Config {
				if AttrOr(res.CIB, "cib-last-written", "") != LastWritten(fixedNow()) {
					t.Error("configuration change without cib-last-written")
				}
			}
		})
	}
}

func mustReparse(t testing.TB, s string) *etree.Element {
	r, err := ParseXMLString(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestACLTable checks read filtering and write refusal per permission kind.
func TestACLTable(t *testing.T) {
	base := `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
<configuration>
 <crm_config><cluster_property_set id="o"><nvpair id="o-acl" name="enable-acl" value="true"/></cluster_property_set></crm_config>
 <nodes><node id="1" uname="n1"/></nodes>
 <resources>
  <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy" description="old"><instance_attributes id="d1-ia"><nvpair id="d1-pw" name="passwd" value="s"/></instance_attributes></primitive>
  <primitive id="d2" class="ocf" provider="pacemaker" type="Dummy"/>
 </resources>
 <constraints/>
 <acls>
  <acl_target id="reader"><role id="r-read"/></acl_target>
  <acl_target id="rscw"><role id="r-read"/><role id="r-rscw"/></acl_target>
  <acl_target id="nopw"><role id="r-read"/><role id="r-nopw"/></acl_target>
  <acl_target id="d1only"><acl_permission id="p1" kind="read" reference="d1"/></acl_target>
  <acl_target id="attrw"><acl_permission id="p2" kind="read" xpath="/cib"/><acl_permission id="p3" kind="write" object-type="primitive" attribute="description"/></acl_target>
  <acl_user id="legacy"><read id="lr" xpath="/cib/configuration/nodes"/></acl_user>
  <acl_role id="r-read"><acl_permission id="rr" kind="read" xpath="/cib"/></acl_role>
  <acl_role id="r-rscw"><acl_permission id="rw" kind="write" object-type="primitive"/><acl_permission id="rd" kind="deny" reference="d2"/></acl_role>
  <acl_role id="r-nopw"><acl_permission id="np" kind="deny" xpath="//nvpair[@name='passwd']"/></acl_role>
 </acls>
</configuration><status/></cib>`
	cur, err := ParseXMLString(base)
	if err != nil {
		t.Fatal(err)
	}
	eng := &Engine{Now: fixedNow}
	reads := []struct {
		user        string
		rc          Rc
		has, hasNot []string
	}{
		{"root", OK, []string{`value="s"`, `<acls>`}, nil},
		{"hacluster", OK, []string{`value="s"`}, nil},
		{"reader", OK, []string{`value="s"`, `id="d2"`}, nil},
		{"nopw", OK, []string{`id="d1"`, `id="d2"`}, []string{`d1-pw`}},
		{"d1only", OK, []string{`<primitive id="d1" class="ocf"`, `<cib>`}, []string{`id="d2"`, `<nodes`}},
		{"legacy", OK, []string{`<node id="1" uname="n1"/>`}, []string{`primitive`}},
		{"stranger", EACCES, nil, nil},
	}
	for _, r := range reads {
		res := eng.Perform(cur, Request{Op: OpQuery, User: r.user})
		if res.Rc != r.rc {
			t.Errorf("query as %s: rc %v, want %v", r.user, res.Rc, r.rc)
			continue
		}
		if res.Output == nil {
			continue
		}
		out := Serialize(res.Output, false)
		for _, h := range r.has {
			if !strings.Contains(out, h) {
				t.Errorf("query as %s lacks %s:\n%s", r.user, h, out)
			}
		}
		for _, h := range r.hasNot {
			if strings.Contains(out, h) {
				t.Errorf("query as %s shows %s:\n%s", r.user, h, out)
			}
		}
	}
	writes := []struct {
		user string
		op   string
		data string
		rc   Rc
	}{
		{"reader", OpModify, `<primitive id="d1" description="x"/>`, EACCES},
		{"rscw", OpModify, `<primitive id="d1" description="x"/>`, OK},
		{"rscw", OpModify, `<primitive id="d2" description="x"/>`, EACCES},
		{"rscw", OpDelete, `<primitive id="d2"/>`, EACCES},
		{"rscw", OpModify, `<node id="1" description="x"/>`, EACCES},
		{"attrw", OpModify, `<primitive id="d1" description="x"/>`, OK},
		{"attrw", OpModify, `<primitive id="d2" description="x"/>`, EACCES}, // d2 has no description yet
		{"root", OpModify, `<node id="1" description="x"/>`, OK},
	}
	for _, w := range writes {
		data, _ := ParseXMLString(w.data)
		res := eng.Perform(cur, Request{Op: w.op, Data: data, User: w.user})
		if res.Rc != w.rc {
			t.Errorf("%s %s as %s: rc %v, want %v", w.op, w.data, w.user, res.Rc, w.rc)
		}
	}
}

// BenchmarkModify measures the CIB update rate of the engine on a CIB of
// 200 resources (structural validation only; xmllint excluded).
func BenchmarkModify(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes/><resources>`)
	for i := 0; i < 200; i++ {
		sb.WriteString(`<primitive id="r` + itoa(i) + `" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="r` + itoa(i) + `-m"><nvpair id="r` + itoa(i) + `-t" name="target-role" value="Started"/></meta_attributes></primitive>`)
	}
	sb.WriteString(`</resources><constraints/></configuration><status/></cib>`)
	cur, _ := ParseXMLString(sb.String())
	eng := &Engine{Now: time.Now}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data, _ := ParseXMLString(`<nvpair id="r150-t" value="v` + itoa(i) + `"/>`)
		res := eng.Perform(cur, Request{Op: OpModify, Data: data})
		if res.Rc != OK {
			b.Fatal(res.Rc)
		}
		cur = res.CIB
	}
}

func BenchmarkDigestOnDisk(b *testing.B) {
	cur, _ := ParseXMLString(seedCIB)
	for i := 0; i < b.N; i++ {
		DigestOnDisk(cur)
	}
}

func FuzzPerform(f *testing.F) {
	f.Add("cib_modify", "", uint32(0), `<primitive id="d1" description="x"/>`)
	f.Add("cib_create", "resources", uint32(0), `<primitive id="d3"/>`)
	f.Add("cib_delete", "//op", uint32(OptXPath|OptMultiple), ``)
	f.Add("cib_replace", "//group", uint32(OptXPath), `<group id="g2"/>`)
	f.Add("cib_apply_diff", "", uint32(0), `<diff format="2"><version><source admin_epoch="0" epoch="5" num_updates="4"/><target admin_epoch="0" epoch="5" num_updates="5"/></version></diff>`)
	eng := &Engine{}
	f.Fuzz(func(t *testing.T, op, section string, opts uint32, data string) {
		cur, _ := ParseXMLString(seedCIB)
		req := Request{Op: op, Section: section, Options: CallOpt(opts), User: "someone"}
		if d, err := ParseXMLString(data); err == nil {
			req.Data = d
		}
		res := eng.Perform(cur, req)
		if res.Rc == OK && res.CIB != nil {
			if res.Patchset != nil {
				again := cur.Copy()
				if rc := ApplyPatchset(again, res.Patchset, true); rc != OK {
					t.Fatalf("patchset of a successful %s does not apply: %v", op, rc)
				}
			}
		}
	})
}

// BenchmarkModifyLarge is bench/cibbench's update on the 32-node x
// 2000-resource CIB gen-cib.py generates: a node_state attribute
// (status) or a primitive's description (config).
func BenchmarkModifyLarge(b *testing.B) {
	gen := testenv.Shared(b, "bench", "gen-cib.py")
	file := filepath.Join(b.TempDir(), "cib.xml")
	if out, err := exec.Command("python3", gen, "--nodes", "32", "--resources", "2000", "--status", "cold", "-o", file).CombinedOutput(); err != nil {
		b.Skipf("gen-cib.py: %v: %s", err, out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"status", "config"} {
		b.Run(kind, func(b *testing.B) {
			cur, err := ParseXMLString(string(data))
			if err != nil {
				b.Fatal(err)
			}
			nodeID := AttrOr(FirstChild(FirstChild(cur, "status"), "node_state"), "id", "")
			primID := AttrOr(FirstChild(FirstChild(FirstChild(cur, "configuration"), "resources"), "primitive"), "id", "")
			eng := &Engine{Now: time.Now}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var req Request
				if kind == "status" {
					el, _ := ParseXMLString(`<node_state id="` + Escape(nodeID) + `" crm-debug-origin="v` + itoa(i) + `"/>`)
					req = Request{Op: OpModify, Section: "status", Data: el}
				} else {
					el, _ := ParseXMLString(`<primitive id="` + Escape(primID) + `" description="v` + itoa(i) + `"/>`)
					req = Request{Op: OpModify, Section: "resources", Data: el}
				}
				res := eng.Perform(cur, req)
				if res.Rc != OK {
					b.Fatal(res.Rc)
				}
				cur = res.CIB
			}
		})
	}
}
