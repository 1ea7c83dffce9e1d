// Package agents finds and runs resource agents the way Pacemaker 2.1.5's
// services library does (lib/services/services_linux.c, services_ocf.c,
// services_lsb.c): OCF agents under /usr/lib/ocf/resource.d/<provider>/<type>,
// LSB init scripts in /etc/init.d, "service" resolved to LSB (or systemd),
// and fence agents in /usr/sbin for their metadata.
//
// It is the executor's driver side (lrmd is the pure scheduler) and the
// discovery/metadata backend that crm_resource's --list-standards,
// --list-ocf-providers, --list-agents and --show-metadata reuse.
//
// Agents run in their own process group with Pacemaker's environment:
// the daemon's own environment, then OCF_RESKEY_<name> for every parameter
// (OCF_CHECK_LEVEL unprefixed), OCF_RA_VERSION_MAJOR/MINOR, OCF_ROOT,
// OCF_EXIT_REASON_PREFIX, OCF_RESOURCE_INSTANCE, OCF_RESOURCE_TYPE and
// OCF_RESOURCE_PROVIDER; LSB scripts get the daemon's environment alone. On a
// timeout the whole process group gets SIGKILL at once (mainloop.c
// child_kill_helper: Pacemaker sends no SIGTERM first).
package agents

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"ringmaster/lrmd"
)

// Defaults of a Debian build of Pacemaker 2.1.5.
const (
	DefaultOCFRoot  = "/usr/lib/ocf"
	DefaultLSBDir   = "/etc/init.d"
	DefaultFenceDir = "/usr/sbin"
	// OCF version Pacemaker 2.1.5 advertises (PCMK_OCF_MAJOR/MINOR_VERSION).
	OCFMajor = "1"
	OCFMinor = "1"
)

// Config says where agents live.
type Config struct {
	// OCFRoot is exported as OCF_ROOT (default /usr/lib/ocf).
	OCFRoot string
	// OCFRAPath lists the directories holding <provider>/<type>
	// (OCF_RA_PATH; default OCFRoot/resource.d).
	OCFRAPath []string
	// LSBDir holds init scripts (default /etc/init.d).
	LSBDir string
	// FenceDir holds fence_* agents (default /usr/sbin).
	FenceDir string
	// LHADir holds cluster-glue's Linux-HA stonith plugins (default
	// /usr/lib/stonith/plugins), listed but not run here.
	LHADir string
	// SystemdDir is checked to decide whether systemd runs (default
	// /run/systemd/system, as sd_booted does).
	SystemdDir string
	// BaseEnv is the environment an agent inherits (default: os.Environ(),
	// as a forked child of the daemon inherits the daemon's).
	BaseEnv []string
}

func (c Config) withDefaults() Config {
	if c.OCFRoot == "" {
		c.OCFRoot = DefaultOCFRoot
	}
	if len(c.OCFRAPath) == 0 {
		c.OCFRAPath = []string{filepath.Join(c.OCFRoot, "resource.d")}
	}
	if c.LSBDir == "" {
		c.LSBDir = DefaultLSBDir
	}
	if c.FenceDir == "" {
		c.FenceDir = DefaultFenceDir
	}
	if c.LHADir == "" {
		c.LHADir = "/usr/lib/stonith/plugins"
	}
	if c.SystemdDir == "" {
		c.SystemdDir = "/run/systemd/system"
	}
	if c.BaseEnv == nil {
		c.BaseEnv = os.Environ()
	}
	return c
}

// Dir is an agent directory set.
type Dir struct{ c Config }

// New returns agent discovery and execution over cfg.
func New(cfg Config) *Dir { return &Dir{c: cfg.withDefaults()} }

// Config returns the effective configuration.
func (d *Dir) Config() Config { return d.c }

// SystemdRunning reports whether systemd is the init system here.
func (d *Dir) SystemdRunning() bool {
	st, err := os.Stat(d.c.SystemdDir)
	return err == nil && st.IsDir()
}

// Standards is resources_list_standards: ocf, lsb, service, then systemd
// when systemd runs, then stonith.
func (d *Dir) Standards() []string {
	s := []string{lrmd.ClassOCF, lrmd.ClassLSB, lrmd.ClassService}
	if d.SystemdRunning() {
		s = append(s, lrmd.ClassSystemd)
	}
	return append(s, lrmd.ClassStonith)
}

// Providers lists OCF providers (directories under each OCF_RA_PATH entry),
// sorted and without duplicates.
func (d *Dir) Providers() []string {
	seen := map[string]bool{}
	for _, root := range d.c.OCFRAPath {
		ents, _ := os.ReadDir(root)
		for _, e := range ents {
			if isDir(filepath.Join(root, e.Name())) && !strings.HasPrefix(e.Name(), ".") {
				seen[e.Name()] = true
			}
		}
	}
	return sortedKeys(seen)
}

// Agents lists the agents of a standard like resources_list_agents, in
// crm_resource --list-agents order: for OCF each provider's agents sorted,
// providers one after the other (an agent two providers ship appears
// twice); "service" lists LSB scripts (and systemd units when systemd runs;
// none without it); stonith lists cluster-glue's Linux-HA plugins, then
// the fence_* agents, each group sorted.
func (d *Dir) Agents(class, provider string) ([]string, error) {
	seen := map[string]bool{}
	switch strings.ToLower(class) {
	case lrmd.ClassOCF:
		provs := []string{provider}
		if provider == "" {
			provs = d.Providers()
		}
		var out []string
		for _, p := range provs {
			one := map[string]bool{}
			for _, root := range d.c.OCFRAPath {
				execs(filepath.Join(root, p), one)
			}
			out = append(out, sortedKeys(one)...)
		}
		return out, nil
	case lrmd.ClassLSB, lrmd.ClassService:
		execs(d.c.LSBDir, seen)
	case lrmd.ClassStonith:
		lha := map[string]bool{}
		ents, _ := os.ReadDir(filepath.Join(d.c.LHADir, "stonith2"))
		for _, e := range ents {
			// "external" and "rhcs" are cluster-glue's meta-plugins that run
			// the scripts of the same names; libstonith does not list them.
			if n, ok := strings.CutSuffix(e.Name(), ".so"); ok && e.Type().IsRegular() && n != "external" && n != "rhcs" {
				lha[n] = true
			}
		}
		ents, _ = os.ReadDir(filepath.Join(d.c.LHADir, "external"))
		for _, e := range ents {
			if isExec(filepath.Join(d.c.LHADir, "external", e.Name())) {
				lha["external/"+e.Name()] = true
			}
		}
		ents, _ = os.ReadDir(d.c.FenceDir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "fence_") && isExec(filepath.Join(d.c.FenceDir, e.Name())) {
				seen[e.Name()] = true
			}
		}
		return append(sortedKeys(lha), sortedKeys(seen)...), nil
	case lrmd.ClassSystemd:
		if !d.SystemdRunning() {
			return nil, nil
		}
	default:
		return nil, fmt.Errorf("agents: unknown standard %q", class)
	}
	return sortedKeys(seen), nil
}

// ErrNotInstalled is returned when an agent cannot be found.
var ErrNotInstalled = errors.New("agent not installed")

// Path resolves an agent to its executable. For "service", an LSB script of
// that name wins, as resources_find_service_class prefers lsb.
func (d *Dir) Path(class, provider, agent string) (string, error) {
	if agent == "" || strings.Contains(agent, "/") && class != lrmd.ClassLSB {
		return "", fmt.Errorf("%w: bad agent name %q", ErrNotInstalled, agent)
	}
	switch strings.ToLower(class) {
	case lrmd.ClassOCF:
		if provider == "" || strings.Contains(provider, "/") {
			return "", fmt.Errorf("%w: bad provider %q", ErrNotInstalled, provider)
		}
		for _, root := range d.c.OCFRAPath {
			p := filepath.Join(root, provider, agent)
			if isExec(p) {
				return p, nil
			}
		}
		return filepath.Join(d.c.OCFRAPath[0], provider, agent), fs.ErrNotExist
	case lrmd.ClassLSB, lrmd.ClassService:
		p := agent
		if !filepath.IsAbs(agent) {
			p = filepath.Join(d.c.LSBDir, agent)
		}
		if isExec(p) {
			return p, nil
		}
		return p, fs.ErrNotExist
	case lrmd.ClassStonith:
		p := filepath.Join(d.c.FenceDir, agent)
		if isExec(p) {
			return p, nil
		}
		return p, fs.ErrNotExist
	}
	return "", fmt.Errorf("%w: standard %q", ErrNotInstalled, class)
}

func execs(dir string, into map[string]bool) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if isExec(filepath.Join(dir, e.Name())) {
			into[e.Name()] = true
		}
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
