package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// profileEnv names a directory; when set, the daemon writes a CPU profile
// (cpu.<pid>.pprof) for its whole run and, when pload ends it, a heap and
// an allocation profile beside it plus the ring counters on stderr. It is a
// measuring aid for bench/ringbench, not a corosync option.
const profileEnv = "RINGMASTER_PROFILE_DIR"

// startProfile starts CPU profiling if profileEnv asks for it and returns
// the function that writes the remaining profiles and stops it.
func startProfile() func() {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}
	}
	pid := os.Getpid()
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu.%d.pprof", pid)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "profile: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		for _, name := range []string{"heap", "allocs"} {
			if h, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s.%d.pprof", name, pid))); err == nil {
				runtime.GC()
				_ = pprof.Lookup(name).WriteTo(h, 0)
				h.Close()
			}
		}
	}
}
