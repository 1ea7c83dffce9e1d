package cib

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
)

// realDigest asks the installed cibadmin for its digest of a file.
func realDigest(t *testing.T, path string, versioned bool) string {
	t.Helper()
	bin := testenv.RequireBinary(t, "cibadmin")
	flag := "--md5-sum"
	if versioned {
		flag = "--md5-sum-versioned"
	}
	out, err := exec.Command(bin, flag, "-x", path).Output()
	if err != nil {
		t.Fatalf("cibadmin %s: %v", flag, err)
	}
	return strings.TrimSpace(string(out))
}

var digestCases = map[string]string{
	"empty": `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>`,
	"escapes": "<cib crm_feature_set=\"3.16.1\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\" cib-last-written=\"x\" update-origin=\"n1\">\n" +
		"  <!-- a comment -->\n  <configuration><crm_config><cluster_property_set id=\"a\">" +
		"<nvpair id=\"n\" name=\"x\" value=\"a&lt;b&amp;c&quot;d'e\tf\ng \x7f \xc3\xa9 h &lt;\"/></cluster_property_set></crm_config>" +
		"<nodes/><resources/><constraints/></configuration><status/></cib>",
	"lonehigh": "<cib epoch=\"1\" crm_feature_set=\"3.16.1\"><configuration><nodes><node id=\"1\" uname=\"\xc3\xa9x\"/></nodes></configuration></cib>",
	"oldfs":    `<cib epoch="1" crm_feature_set="3.0.1" cib-last-written="y"><configuration/></cib>`,
}

func TestDigestMatchesPacemaker(t *testing.T) {
	dir := t.TempDir()
	for name, xml := range digestCases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".xml")
			if err := os.WriteFile(p, []byte(xml), 0o644); err != nil {
				t.Fatal(err)
			}
			root, err := ParseXMLString(xml)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got, want := DigestOnDisk(root), realDigest(t, p, false); got != want {
				t.Errorf("on-disk digest %s, Pacemaker %s\nours: %q", got, want, Serialize(root, false))
			}
			fs := AttrOr(root, "crm_feature_set", "")
			if got, want := DigestVersioned(root, fs), realDigest(t, p, true); got != want {
				t.Errorf("versioned digest %s, Pacemaker %s", got, want)
			}
		})
	}
}
