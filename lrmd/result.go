package lrmd

import (
	"fmt"
	"strings"
)

// OCF exit codes (include/crm/services.h enum ocf_exitcode @2.1.5).
const (
	OCFOk               = 0
	OCFUnknownError     = 1
	OCFInvalidParam     = 2
	OCFUnimplemented    = 3
	OCFInsufficientPriv = 4
	OCFNotInstalled     = 5
	OCFNotConfigured    = 6
	OCFNotRunning       = 7
	OCFRunningPromoted  = 8
	OCFFailedPromoted   = 9
	OCFDegraded         = 190
	OCFDegradedPromoted = 191
	// OCFUnknown is the services library's "no result yet" (PCMK_OCF_UNKNOWN).
	OCFUnknown = 193
)

// LSB status-action exit codes (PCMK_LSB_STATUS_*).
const (
	LSBStatusOK               = 0
	LSBStatusVarPID           = 1
	LSBStatusVarLock          = 2
	LSBStatusNotRunning       = 3
	LSBStatusUnknown          = 4
	LSBStatusNotInstalled     = 150
	LSBStatusInsufficientPriv = 151
)

// ExecStatus is Pacemaker's execution status (enum pcmk_exec_status,
// include/crm/common/results.h @2.1.5): whether the agent ran and finished,
// independent of what it returned.
type ExecStatus int

const (
	ExecPending       ExecStatus = -1
	ExecDone          ExecStatus = 0
	ExecCancelled     ExecStatus = 1
	ExecTimeout       ExecStatus = 2
	ExecNotSupported  ExecStatus = 3
	ExecError         ExecStatus = 4
	ExecErrorHard     ExecStatus = 5
	ExecErrorFatal    ExecStatus = 6
	ExecNotInstalled  ExecStatus = 7
	ExecNotConnected  ExecStatus = 8
	ExecInvalid       ExecStatus = 9
	ExecNoFenceDevice ExecStatus = 10
	ExecNoSecrets     ExecStatus = 11
)

// String is pcmk_exec_status_str.
func (s ExecStatus) String() string {
	switch s {
	case ExecPending:
		return "pending"
	case ExecDone:
		return "complete"
	case ExecCancelled:
		return "Cancelled"
	case ExecTimeout:
		return "Timed Out"
	case ExecNotSupported:
		return "NOT SUPPORTED"
	case ExecError:
		return "Error"
	case ExecErrorHard:
		return "Hard error"
	case ExecErrorFatal:
		return "Fatal error"
	case ExecNotInstalled:
		return "Not installed"
	case ExecNotConnected:
		return "Internal communication failure"
	case ExecInvalid:
		return "Cannot execute now"
	case ExecNoFenceDevice:
		return "No fence device"
	case ExecNoSecrets:
		return "CIB secrets unavailable"
	}
	return "UNKNOWN!"
}

// Resource classes (standards) the executor knows.
const (
	ClassOCF     = "ocf"
	ClassLSB     = "lsb"
	ClassService = "service"
	ClassSystemd = "systemd"
	ClassStonith = "stonith"
)

// MapExit converts an agent's raw exit status into an OCF code the way
// services_result2ocf does: OCF codes pass through when in range (0..9,
// 190, 191) and become 1 otherwise; LSB non-status actions share codes 0..7;
// LSB status codes have their own table; systemd's result is already OCF.
// Unknown standards are treated as OCF (with a warning upstream).
func MapExit(class, action string, status int) int {
	switch strings.ToLower(class) {
	case ClassLSB, ClassService:
		// "service" resolves to an LSB script here (no systemd), and the
		// services library maps by the resolved standard.
		a := strings.ToLower(action)
		if a != "status" && a != "monitor" {
			if status < 0 || status > OCFNotRunning {
				return OCFUnknownError
			}
			return status
		}
		switch status {
		case LSBStatusOK:
			return OCFOk
		case LSBStatusNotInstalled:
			return OCFNotInstalled
		case LSBStatusInsufficientPriv:
			return OCFInsufficientPriv
		case LSBStatusVarPID, LSBStatusVarLock, LSBStatusNotRunning:
			return OCFNotRunning
		}
		return OCFUnknownError
	case ClassSystemd:
		// services__systemd2ocf: systemd results are produced as OCF codes
		// already, so only range-check them.
		if status < 0 || status > OCFFailedPromoted {
			return OCFUnknownError
		}
		return status
	default:
		switch status {
		case OCFDegraded, OCFDegradedPromoted:
			return status
		}
		if status < 0 || status > OCFFailedPromoted {
			return OCFUnknownError
		}
		return status
	}
}

// GenericError is services__generic_error: the "unknown error" of the
// action's standard (LSB status actions have their own).
func GenericError(class, action string) int {
	if strings.EqualFold(class, ClassLSB) && strings.EqualFold(action, "status") {
		return LSBStatusUnknown
	}
	return OCFUnknownError
}

// NotInstalled is services__not_installed_error.
func NotInstalled(class, action string) int {
	if strings.EqualFold(class, ClassLSB) && strings.EqualFold(action, "status") {
		return LSBStatusNotInstalled
	}
	return OCFNotInstalled
}

// ReasonPrefix marks an exit reason in an OCF agent's stderr
// (PCMK_OCF_REASON_PREFIX).
const ReasonPrefix = "ocf-exit-reason:"

// maxReasonLen is EXIT_REASON_MAX_LEN in services_linux.c.
const maxReasonLen = 128

// ExitReason extracts the exit reason from an OCF agent's stderr as
// parse_exit_reason_from_stderr does: the text after the last
// "ocf-exit-reason:" up to the end of that line, at most 128 bytes. Only OCF
// agents have exit reasons.
func ExitReason(class, stderr string) string {
	if class != ClassOCF {
		return ""
	}
	i := strings.LastIndex(stderr, ReasonPrefix)
	if i < 0 {
		return ""
	}
	r := stderr[i+len(ReasonPrefix):]
	if j := strings.IndexByte(r, '\n'); j >= 0 {
		r = r[:j]
	}
	if len(r) > maxReasonLen {
		r = r[:maxReasonLen]
	}
	return r
}

// ReadableInterval is pcmk__readable_interval (lib/common/iso8601.c):
// each unit is used only when the value is strictly greater than one of it,
// so 60000 ms prints "60s" and 1000 ms prints "1000ms"; seconds carry three
// decimals when there is a remainder ("1.500s").
func ReadableInterval(ms int64) string {
	const (
		sec  = 1000
		min  = 60 * sec
		hour = 60 * min
		day  = 24 * hour
	)
	var b strings.Builder
	if ms > day {
		fmt.Fprintf(&b, "%dd", ms/day)
		ms %= day
	}
	if ms > hour {
		fmt.Fprintf(&b, "%dh", ms/hour)
		ms %= hour
	}
	if ms > min {
		fmt.Fprintf(&b, "%dm", ms/min)
		ms %= min
	}
	switch {
	case ms > sec:
		fmt.Fprintf(&b, "%d", ms/sec)
		if r := ms % sec; r > 0 {
			fmt.Fprintf(&b, ".%03d", r)
		}
		b.WriteString("s")
	case ms > 0:
		fmt.Fprintf(&b, "%dms", ms)
	case b.Len() == 0:
		b.WriteString("0s")
	}
	return b.String()
}
