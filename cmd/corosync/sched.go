package main

import (
	"math"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"ringmaster/conf"
	"ringmaster/internal/corolog"
)

// setScheduling is corosync's start-up priority (exec/main.c, after the
// configuration is read): with system.sched_rr yes (the default) the daemon
// runs SCHED_RR at the highest priority, so that the token keeps moving on
// a loaded host; when that is refused it falls back to the best nice value.
// With sched_rr no, system.priority (max, min or a nice value) applies.
//
// corosync sets its main thread, whose later threads inherit the policy; a
// Go process runs on several threads from the start, so every thread of the
// process is set (threads created later inherit it from their creator). The
// fallback nice value is set for this process only, where corosync sets
// its process group.
func setScheduling(m *conf.Map, l *corolog.Logger) {
	sched := true
	if v, ok := m.String("system.sched_rr"); ok && v != "yes" {
		sched = false
	}
	prio := 0
	if v, ok := m.String("system.priority"); ok {
		switch v {
		case "max":
			prio = math.MinInt32
		case "min":
			prio = math.MaxInt32
		default:
			if n, err := strconv.Atoi(v); err == nil {
				prio = n
			}
		}
	}
	if sched {
		// sched_get_priority_max(SCHED_RR) is 99 on Linux.
		const rrMax = 99
		if err := setRR(rrMax); err != nil {
			l.Func("corosync_set_rr_scheduler").Warningf("Could not set SCHED_RR at priority %d: %v (%d)", rrMax, err, errnoOf(err))
			prio = math.MinInt32
		} else {
			prio = 0
		}
	}
	if prio != 0 {
		// setpriority clamps to the kernel's range, as with corosync's INT_MIN.
		p := max(min(prio, 19), -20)
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, p); err != nil {
			l.Func("main").Warningf("Could not set priority %d: %v (%d)", prio, err, errnoOf(err))
		}
	}
}

// setRR puts every thread of the process on SCHED_RR at priority p.
func setRR(p int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	param := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: uint32(p)}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetAttr(tid, &param, 0); err != nil {
			return err
		}
	}
	return nil
}

func errnoOf(err error) int {
	if e, ok := err.(unix.Errno); ok {
		return int(e)
	}
	return 0
}
