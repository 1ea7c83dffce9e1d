package cib

import (
	"fmt"
	"syscall"
)

// Rc is a legacy Pacemaker return code as carried in cib_rc and returned by
// the CIB API: 0 for success, -errno for system errors, -pcmk_err_* (201…)
// for Pacemaker's own conditions (include/crm/common/results.h).
type Rc int

// Pacemaker's legacy error numbers (results.h, pcmk_err_*), negated as they
// travel on the wire.
const (
	OK                  Rc = 0
	ErrGeneric          Rc = -201
	ErrNoQuorum         Rc = -202
	ErrSchemaValidation Rc = -203
	ErrTransformFailed  Rc = -204
	ErrOldData          Rc = -205
	ErrDiffFailed       Rc = -206
	ErrDiffResync       Rc = -207
	ErrCIBModified      Rc = -208
	ErrCIBBackup        Rc = -209
	ErrCIBSave          Rc = -210
	ErrSchemaUnchanged  Rc = -211
	ErrCIBCorrupt       Rc = -212
	ErrMultiple         Rc = -213
	ErrNodeUnknown      Rc = -214
	ErrAlready          Rc = -215
	ErrBadNvpair        Rc = -216
	ErrUnknownFormat    Rc = -217
	ENXIO               Rc = -Rc(syscall.ENXIO)
	EINVAL              Rc = -Rc(syscall.EINVAL)
	EEXIST              Rc = -Rc(syscall.EEXIST)
	EACCES              Rc = -Rc(syscall.EACCES)
	ENOMSG              Rc = -Rc(syscall.ENOMSG)
	EPROTONOSUPPORT     Rc = -Rc(syscall.EPROTONOSUPPORT)
	ENOTCONN            Rc = -Rc(syscall.ENOTCONN)
	EOPNOTSUPP          Rc = -Rc(syscall.EOPNOTSUPP)
	ETIME               Rc = -Rc(syscall.ETIME)
	ENOENT              Rc = -Rc(syscall.ENOENT)
)

var pcmkErrs = map[Rc]struct{ name, desc string }{
	ErrGeneric:          {"pcmk_rc_error", "Error"},
	ErrUnknownFormat:    {"pcmk_rc_unknown_format", "Unknown output format"},
	ErrBadNvpair:        {"pcmk_rc_bad_nvpair", "Bad name/value pair given"},
	ErrAlready:          {"pcmk_rc_already", "Already in requested state"},
	ErrNodeUnknown:      {"pcmk_rc_node_unknown", "Node not found"},
	ErrMultiple:         {"pcmk_rc_multiple", "Resource active on multiple nodes"},
	ErrCIBCorrupt:       {"pcmk_rc_cib_corrupt", "Could not parse on-disk configuration"},
	ErrCIBSave:          {"pcmk_rc_cib_save", "Could not save new configuration to disk"},
	ErrCIBBackup:        {"pcmk_rc_cib_backup", "Could not archive previous configuration"},
	ErrCIBModified:      {"pcmk_rc_cib_modified", "On-disk configuration was manually modified"},
	ErrDiffResync:       {"pcmk_rc_diff_resync", "Application of update diff failed, requesting full refresh"},
	ErrDiffFailed:       {"pcmk_rc_diff_failed", "Application of update diff failed"},
	ErrOldData:          {"pcmk_rc_old_data", "Update was older than existing configuration"},
	ErrTransformFailed:  {"pcmk_rc_transform_failed", "Schema transform failed"},
	ErrSchemaUnchanged:  {"pcmk_rc_schema_unchanged", "Schema is already the latest available"},
	ErrSchemaValidation: {"pcmk_rc_schema_validation", "Update does not conform to the configured schema"},
	ErrNoQuorum:         {"pcmk_rc_no_quorum", "Operation requires quorum"},
}

// String is pcmk_strerror: the text cibadmin prints after "Call failed: ".
func (rc Rc) String() string {
	if rc == OK {
		return "OK"
	}
	if e, ok := pcmkErrs[rc]; ok {
		return e.desc
	}
	if rc < 0 {
		// glibc's strerror text, which differs from Go's only in case.
		m := syscall.Errno(-rc).Error()
		if m != "" && m[0] >= 'a' && m[0] <= 'z' {
			m = string(m[0]-32) + m[1:]
		}
		return m
	}
	return fmt.Sprintf("Unknown error %d", int(rc))
}

// Name is pcmk_rc_name / pcmk_errorname.
func (rc Rc) Name() string {
	if rc == OK {
		return "pcmk_ok"
	}
	if e, ok := pcmkErrs[rc]; ok {
		return e.name
	}
	if n, ok := errnoNames[syscall.Errno(-rc)]; ok {
		return n
	}
	return "Unknown"
}

var errnoNames = map[syscall.Errno]string{
	syscall.ENXIO: "ENXIO", syscall.EINVAL: "EINVAL", syscall.EEXIST: "EEXIST",
	syscall.EACCES: "EACCES", syscall.ENOMSG: "ENOMSG", syscall.ENOTCONN: "ENOTCONN",
	syscall.EPROTONOSUPPORT: "EPROTONOSUPPORT", syscall.ETIME: "ETIME", syscall.ENOENT: "ENOENT",
}

// Error makes an Rc usable as a Go error (non-zero codes only).
func (rc Rc) Error() string { return rc.String() }

// Exit codes of crm_exit_t (results.h) that the CIB tools use.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitInvalid     = 2
	ExitUnimplement = 3
	ExitInsuffPriv  = 4
	ExitUsage       = 64
	ExitNoInput     = 66
	ExitSoftware    = 70
	ExitOSErr       = 71
	ExitIOErr       = 74
	ExitProtocol    = 76
	ExitConfig      = 78
	ExitDisconnect  = 102
	ExitOld         = 103
	ExitDigest      = 104
	ExitNoSuch      = 105
	ExitQuorum      = 106
	ExitUnsafe      = 107
	ExitExists      = 108
	ExitMultiple    = 109
	ExitTimeout     = 124
)

// ExitCode maps a legacy rc to the process exit code exactly as
// pcmk_rc2exitc(pcmk_legacy2rc(rc)) does.
func (rc Rc) ExitCode() int {
	switch rc {
	case OK:
		return ExitOK
	case ErrNoQuorum:
		return ExitQuorum
	case ErrOldData:
		return ExitOld
	case ErrSchemaValidation, ErrTransformFailed:
		return ExitConfig
	case ErrBadNvpair:
		return ExitInvalid
	case ErrAlready:
		return ExitExists
	case ErrMultiple:
		return ExitMultiple
	case ErrNodeUnknown, ErrUnknownFormat:
		return ExitNoSuch
	case ErrSchemaUnchanged:
		return ExitOK
	}
	if rc > 0 || rc <= -200 {
		return ExitError
	}
	switch syscall.Errno(-rc) {
	case syscall.EACCES:
		return ExitInsuffPriv
	case syscall.EBADF, syscall.EINVAL, syscall.EFAULT, syscall.ENOSYS, syscall.EOVERFLOW:
		return ExitSoftware
	case syscall.EBADMSG, syscall.EMSGSIZE, syscall.ENOMSG, syscall.ENOPROTOOPT, syscall.EPROTO,
		syscall.EPROTONOSUPPORT, syscall.EPROTOTYPE:
		return ExitProtocol
	case syscall.ECOMM, syscall.ENOMEM:
		return ExitOSErr
	case syscall.ECONNABORTED, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ENOTCONN:
		return ExitDisconnect
	case syscall.EEXIST:
		return ExitExists
	case syscall.EIO:
		return ExitIOErr
	case syscall.EOPNOTSUPP:
		return ExitUnimplement
	case syscall.ENOTUNIQ:
		return ExitMultiple
	case syscall.ENODEV, syscall.ENOENT, syscall.ENXIO:
		return ExitNoSuch
	case syscall.ETIME, syscall.ETIMEDOUT:
		return ExitTimeout
	case syscall.EAGAIN, syscall.EBUSY:
		return 113
	}
	return ExitError
}
