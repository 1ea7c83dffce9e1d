package cib

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"

	"github.com/beevik/etree"
)

// DigestOnDisk computes the digest Pacemaker stores in cib.xml.sig
// (lib/common/digest.c calculate_on_disk_digest: the v1 digest, unsorted):
// md5 of " " + the unformatted serialization + "\n", in lower-case hex.
func DigestOnDisk(root *etree.Element) string {
	s := " " + Serialize(root, false) + "\n"
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// DigestVersioned is calculate_xml_versioned_digest(xml, FALSE, TRUE,
// version) as used for patchset and replace digests: feature sets older than
// 3.0.5 use the v1 form, newer ones md5 of the unformatted serialization
// with the volatile attributes (cib-last-written, update-*) left out.
func DigestVersioned(root *etree.Element, featureSet string) string {
	if featureSet == "" || CompareVersion("3.0.5", featureSet) > 0 {
		return DigestOnDisk(root)
	}
	var b bytes.Buffer
	writeNode(&b, root, false, 0, true)
	sum := md5.Sum(b.Bytes())
	return hex.EncodeToString(sum[:])
}

// CompareVersion compares dotted version strings numerically, like
// compare_version: -1, 0 or 1.
func CompareVersion(a, b string) int {
	pa, pb := splitVersion(a), splitVersion(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := 0, 0
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x < y {
			return -1
		}
		if x > y {
			return 1
		}
	}
	return 0
}

func splitVersion(s string) []int {
	var out []int
	cur, have := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			cur = cur*10 + int(c-'0')
			have = true
			continue
		}
		if c == '.' {
			out = append(out, cur)
			cur, have = 0, false
			continue
		}
		break
	}
	if have || len(out) > 0 {
		out = append(out, cur)
	}
	return out
}
