// Package cib is Pacemaker's Cluster Information Base as a library: the
// CIB document, the operations of the CIB protocol and how each moves the
// version, v2 patchsets, on-disk persistence with Pacemaker's digest,
// validation, ACLs, and the offline file mode the tools use. It matches
// Pacemaker 2.1.5 (lib/cib, lib/common/{xml,patchset,digest,acl,schemas}.c,
// daemons/based) and has no daemon inside: cmd/pacemaker-based drives
// Manager over IPC.
//
// # Document and versions
//
// A CIB is an etree element <cib admin_epoch epoch num_updates …>. Parsing
// drops text nodes and keeps comments (XML_PARSE_NOBLANKS + strip_text);
// Serialize reproduces pcmk__xml2text byte for byte, including
// crm_xml_escape's quirks, because digests are computed over that text.
//
// Engine.Perform(current, Request) → Result is a pure function apart from
// the injected clock and validator (cib_utils.c cib_perform_op): the
// operation runs on a copy; the difference between the two versions is
// computed as a v2 patchset; if anything under /cib/configuration changed
// (an attribute write, a deletion or a move — but not an element copied in
// whole or created without attributes, which Pacemaker's change tracking does
// not see as dirtying its ancestors) epoch increases and num_updates resets,
// otherwise num_updates increases. A configuration change also stamps
// cib-last-written and update-origin/-client/-user unless cib_no_mtime is
// set (file mode always sets it). admin_epoch/epoch may never go backwards
// (pcmk_err_old_data). Errors are Pacemaker's legacy rc values (type Rc)
// with pcmk_strerror's text and pcmk_rc2exitc's exit codes.
//
//	query  (section | xpath, no_children, xpath_address)      no version change
//	create (add_cib_object: EEXIST if present; <failed> answer) epoch if attributes written
//	modify (update_xml_child; ++/+= expansion; can_create copies) epoch or num_updates
//	delete (replace_xml_child, all attributes must match; xpath, multiple) epoch
//	replace (section element in place; whole <cib> if not older) epoch
//	erase  (empty configuration, admin_epoch+1)               admin_epoch, epoch
//	bump   (epoch+1)                                          epoch, num_updates+1
//	upgrade (SchemaValidator.Upgrade; admin_epoch+1, epoch=1)
//	apply_diff (ApplyPatchset with version check and digest)
//
// # Patchsets
//
// CreatePatchset/ApplyPatchset implement format 2 (patchset.c): delete
// changes first, then modify (change-list + change-result), create and move
// with positions; children are matched by name and id; comments by content
// and position. Round trips are property-tested and patches are exchanged
// both ways with Pacemaker's crm_diff in tests.
//
// # Persistence
//
// Store keeps Pacemaker's layout (cib.xml without status, cib.xml.sig with
// DigestOnDisk, hard-linked cib-N.raw backups numbered by cib.last) and
// refuses a cib.xml whose digest does not match its signature (DigestError),
// falling back to the newest good backup on Load. Writes are temp file +
// fsync + rename + directory fsync; the cib.xml/cib.xml.sig pair is made
// crash-consistent by staging the new signature as cib.xml.sig.pending,
// which Recover completes or discards (a SIGKILL loop tests it). Real
// Pacemaker and we read each other's files (tested in a mount namespace).
//
// # Validation
//
// CheckStructure is native: <cib>, the mandatory sections, and unique ids in
// the configuration (references such as <role id> excluded). Full validation
// runs Pacemaker's own RELAX NG schemas (/usr/share/pacemaker/*.rng) through
// xmllint (schema_exec.go): RELAX NG is large, the schemas change with every
// release, and xmllint is the libxml2 validator Pacemaker itself links, so
// its verdict is Pacemaker's. Upgrades walk the schema list and apply
// Pacemaker's upgrade-*.xsl stylesheets with xsltproc at major-version
// boundaries. Verdicts are cached by document digest.
//
// # ACLs
//
// acl.go follows acl.c: enable-acl in crm_config turns them on for every
// user but root and hacluster; acl_target/acl_user with role references and
// acl_permission (read/write/deny by xpath, reference, object-type,
// attribute). Queries return a filtered copy; writes are checked on the
// changes an operation made (EACCES).
//
// # Manager
//
// Manager is the CIB manager's request machine (based_callbacks.c): register,
// cib_notify subscriptions, every operation, replies as a response (sync
// calls) or an event, cib_diff_notify/cib_refresh_notify events, and the
// CIB to persist. It runs stand-alone (the node is its own primary); CPG
// replication is not implemented.
package cib
