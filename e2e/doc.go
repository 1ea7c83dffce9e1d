// Package e2e holds end-to-end checks that drive the real Debian front-ends —
// pcs 0.11 and crmsh 4.4 — against our daemons and our command-line tools, and
// compare every step with the same front-end running on Pacemaker 2.1.5's own
// tools in CIB_file mode (the only way the real Pacemaker CIB code runs without
// a whole cluster). It has tests only; run them as root (`go test ./e2e`).
//
// Each test builds four worlds and runs one command sequence in each, in
// parallel:
//
//	real-live   a namespace node with our corosync, pacemakerd, pacemaker-based
//	            and pacemaker-fenced; the front-end and Debian's Pacemaker tools
//	            (cibadmin, crm_resource, crm_mon, ...) talk to our CIB manager
//	ours-live   the same stack on a second node, with our tools bind-mounted over
//	            /usr/sbin/<tool> inside that node's private mount namespace (pcs
//	            runs Pacemaker's tools by absolute path, crmsh by PATH; a bind
//	            mount catches both)
//	ours-file   the front-end in that second node on a CIB file (pcs -f FILE,
//	            crmsh with CIB_file=FILE), so with our tools in file mode
//	oracle      the front-end on the host with Debian's tools on a CIB file
//	            (pcs -f FILE, crmsh with CIB_file=FILE)
//
// After every step the exit code and the <configuration> section of each world
// must agree with the oracle's; steps whose difference is understood say why
// in their table entry.
package e2e
