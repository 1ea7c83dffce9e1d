package crmresource

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"ringmaster/tools/pcmkout"
)

// AgentRoots are the directories agents are looked up in, as Pacemaker
// 2.1.5 on Debian was built with them.
type AgentRoots struct {
	OCF       string // OCF_RA_PATH (colon-separated), agents under PROVIDER/
	OCFRoot   string // OCF_ROOT_DIR, exported to OCF agents
	LSB       string // LSB_ROOT_DIR
	FenceBin  string // PCMK__FENCE_BINDIR: fence_* agents
	LHAPlugin string // cluster-glue's STONITH_MODULES: stonith2/*.so, external/
	Systemd   string // present when systemd runs (then "systemd" is a standard)
}

// DefaultAgentRoots are Debian's paths.
var DefaultAgentRoots = AgentRoots{
	OCF:       "/usr/lib/ocf/resource.d",
	OCFRoot:   "/usr/lib/ocf",
	LSB:       "/etc/init.d",
	FenceBin:  "/usr/sbin",
	LHAPlugin: "/usr/lib/stonith/plugins",
	Systemd:   "/run/systemd/system",
}

func (s *session) roots() AgentRoots {
	if s.env.AgentRoots != nil {
		return *s.env.AgentRoots
	}
	return DefaultAgentRoots
}

// dirList is services_os_get_single_directory_list over each directory
// of a colon-separated path: names in alphasort (byte) order, no dot
// files, only regular (executable) files or only directories.
func dirList(root string, files, executable bool) []string {
	var out []string
	for _, dir := range strings.Split(root, ":") {
		if dir == "" {
			continue
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			if strings.HasPrefix(n, ".") {
				continue
			}
			st, err := os.Stat(filepath.Join(dir, n))
			if err != nil {
				continue
			}
			switch {
			case st.IsDir():
				if files {
					continue
				}
			case st.Mode().IsRegular():
				if !files {
					continue
				}
				if executable && st.Mode().Perm()&0o111 == 0 {
					continue
				}
			}
			out = append(out, n)
		}
	}
	return out
}

func (s *session) ocfProviders() []string { return dirList(s.roots().OCF, false, true) }

func (s *session) ocfAgents(provider string) []string {
	if provider != "" {
		var dirs []string
		for _, d := range strings.Split(s.roots().OCF, ":") {
			dirs = append(dirs, filepath.Join(d, provider))
		}
		return dirList(strings.Join(dirs, ":"), true, true)
	}
	var out []string
	for _, p := range s.ocfProviders() {
		out = append(out, s.ocfAgents(p)...)
	}
	return out
}

func (s *session) haveSystemd() bool {
	st, err := os.Stat(s.roots().Systemd)
	return err == nil && st.IsDir()
}

// stonithAgents lists cluster-glue's plugins (stonith_types: the modules,
// "external" and "rhcs" expanded into their scripts) and then the fence_*
// agents, as stonith_api_device_list does.
func (s *session) stonithAgents() []string {
	r := s.roots()
	var out []string
	mods, _ := filepath.Glob(filepath.Join(r.LHAPlugin, "stonith2", "*.so"))
	var names []string
	for _, m := range mods {
		names = append(names, strings.TrimSuffix(filepath.Base(m), ".so"))
	}
	sort.Strings(names)
	for _, n := range names {
		switch n {
		case "external":
			for _, x := range dirList(filepath.Join(r.LHAPlugin, "external"), true, true) {
				out = append(out, "external/"+x)
			}
		case "rhcs":
			for _, x := range dirList(filepath.Join(r.LHAPlugin, "rhcs"), true, true) {
				if strings.HasPrefix(x, "fence_") {
					out = append(out, "rhcs/"+strings.TrimPrefix(x, "fence_"))
				}
			}
		default:
			out = append(out, n)
		}
	}
	for _, x := range dirList(r.FenceBin, true, true) {
		if strings.HasPrefix(x, "fence_") {
			out = append(out, x)
		}
	}
	return out
}

func (s *session) standards() []string {
	out := []string{"ocf", "lsb", "service"}
	if s.haveSystemd() {
		out = append(out, "systemd")
	}
	return append(out, "stonith")
}

// agentsFor is resources_list_agents plus the executor's stonith listing.
func (s *session) agentsFor(standard, provider string) []string {
	switch strings.ToLower(standard) {
	case "ocf":
		return s.ocfAgents(provider)
	case "lsb":
		return dirList(s.roots().LSB, true, true)
	case "service":
		return dirList(s.roots().LSB, true, true)
	case "stonith":
		return s.stonithAgents()
	}
	return nil
}

// listProviders is list_providers: standards, OCF providers, or the
// providers of one OCF agent.
func (s *session) listProviders() (int, string) {
	w := s.w
	spec := s.o.agentSpec
	var list []string
	var what string
	switch s.o.cmd {
	case cmdListAlternatives:
		what = "OCF providers"
		for _, p := range s.ocfProviders() {
			for _, a := range s.ocfAgents(p) {
				if a == spec {
					list = append(list, p)
					break
				}
			}
		}
		if len(list) > 0 {
			if w.xml {
				n := pcmkout.NewNode("providers", "for", spec)
				for _, p := range list {
					n.AddNew("provider").Text = p
				}
				w.add(n)
			} else {
				s.textList("Providers", list)
			}
		}
	case cmdListStandards:
		what = "standards"
		list = s.standards()
		if w.xml {
			n := pcmkout.NewNode("list", "name", "standards", "count", fmt.Sprint(len(list)))
			for _, p := range list {
				n.AddNew("item").Text = p
			}
			w.add(n)
		} else {
			s.textList("Standards", list)
		}
	case cmdListProviders:
		what = "OCF providers"
		for _, p := range s.ocfProviders() {
			if spec == "" {
				list = append(list, p)
				continue
			}
			for _, a := range s.ocfAgents(p) {
				if a == spec {
					list = append(list, p)
					break
				}
			}
		}
		if len(list) > 0 {
			if w.xml {
				n := pcmkout.NewNode("providers", "standard", "ocf")
				if spec != "" {
					n.Set("agent", spec)
				}
				for _, p := range list {
					n.AddNew("provider").Text = p
				}
				w.add(n)
			} else {
				s.textList("Providers", list)
			}
		}
	}
	if len(list) == 0 {
		if spec != "" {
			return pcmkout.ExitNoSuch, fmt.Sprintf("No %s found for %s", what, spec)
		}
		return pcmkout.ExitNoSuch, fmt.Sprintf("No %s found", what)
	}
	return pcmkout.ExitOK, ""
}

func (s *session) textList(title string, items []string) {
	s.w.t.BeginList(title)
	for _, it := range items {
		s.w.t.Item("%s", it)
	}
	s.w.t.EndList()
}

// listAgents is list_agents.
func (s *session) listAgents() (int, string) {
	std, prov := s.o.agentSpec, ""
	hasProv := false
	if i := strings.IndexByte(std, ':'); i >= 0 {
		std, prov, hasProv = std[:i], std[i+1:], true
	}
	list := s.agentsFor(std, prov)
	if len(list) == 0 {
		if !hasProv {
			return pcmkout.ExitError, fmt.Sprintf("No agents found for standard '%s'", std)
		}
		return pcmkout.ExitError, fmt.Sprintf("No agents found for standard '%s' and provider '%s'", std, prov)
	}
	if s.w.xml {
		n := pcmkout.NewNode("agents", "standard", std)
		if prov != "" {
			n.Set("provider", prov)
		}
		for _, a := range list {
			n.AddNew("agent").Text = a
		}
		s.w.add(n)
		return pcmkout.ExitOK, ""
	}
	title := std
	if prov != "" {
		title = prov
	}
	s.textList(title+" agents", list)
	return pcmkout.ExitOK, ""
}

// parseAgentSpec is crm_parse_agent_spec: standard[:provider]:type, the
// provider required exactly for ocf.
func parseAgentSpec(spec string) (std, prov, typ string, ok bool) {
	i := strings.IndexByte(spec, ':')
	if i <= 0 {
		return "", "", "", false
	}
	std, rest := spec[:i], spec[i+1:]
	if strings.EqualFold(std, "ocf") {
		j := strings.IndexByte(rest, ':')
		if j <= 0 {
			return "", "", "", false
		}
		prov, typ = rest[:j], rest[j+1:]
	} else {
		typ = rest
	}
	if typ == "" {
		return "", "", "", false
	}
	return std, prov, typ, true
}

// showMetadata is show_metadata: the agent's meta-data as it prints it.
func (s *session) showMetadata() (int, string) {
	spec := s.o.agentSpec
	std, prov, typ, ok := parseAgentSpec(spec)
	if !ok {
		return pcmkout.ExitNoSuch, fmt.Sprintf("'%s' is not a valid agent specification", spec)
	}
	md, err := s.agentMetadata(std, prov, typ)
	if err != nil || md == "" {
		return pcmkout.ExitNoSuch, fmt.Sprintf("Metadata query for %s failed: No such device or address", spec)
	}
	if s.w.xml {
		n := pcmkout.NewNode("metadata")
		n.Text = cdataMark
		s.w.add(n)
		s.w.cdata = md
		return pcmkout.ExitOK, ""
	}
	fmt.Fprint(s.w.stdout, md)
	if !strings.HasSuffix(md, "\n") {
		fmt.Fprintln(s.w.stdout)
	}
	return pcmkout.ExitOK, ""
}

// cdataMark stands for the CDATA section of --show-metadata's XML, which
// the element writer cannot produce itself.
const cdataMark = "\x00cdata\x00"

// agentMetadata runs the agent's meta-data action (OCF, fence agents) or
// builds the description Pacemaker builds for LSB scripts.
func (s *session) agentMetadata(std, prov, typ string) (string, error) {
	r := s.roots()
	switch strings.ToLower(std) {
	case "ocf":
		for _, d := range strings.Split(r.OCF, ":") {
			p := filepath.Join(d, prov, typ)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				env := append(os.Environ(), "OCF_ROOT="+r.OCFRoot, "OCF_RA_VERSION_MAJOR=1",
					"OCF_RA_VERSION_MINOR=1", "OCF_RESOURCE_TYPE="+typ, "OCF_RESOURCE_PROVIDER="+prov,
					"OCF_RESOURCE_INSTANCE="+typ, "OCF_RESKEY_crm_feature_set=3.16.2")
				return runAgent(p, env, "meta-data")
			}
		}
	case "stonith":
		if strings.HasPrefix(typ, "fence_") {
			return runAgent(filepath.Join(r.FenceBin, typ), os.Environ(), "-o", "metadata")
		}
	case "lsb", "service":
		p := filepath.Join(r.LSB, typ)
		if b, err := os.ReadFile(p); err == nil {
			return lsbMetadata(typ, string(b)), nil
		}
	}
	return "", fmt.Errorf("no such agent")
}

func runAgent(path string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	var so bytes.Buffer
	cmd.Stdout = &so
	err := cmd.Run()
	if err != nil && so.Len() == 0 {
		return "", err
	}
	return so.String(), nil
}

// lsbMetadata is services__get_lsb_metadata: the LSB header fields of an
// init script in Pacemaker's fixed template.
func lsbMetadata(typ, script string) string {
	fields := map[string]string{}
	var long strings.Builder
	inHeader, inDesc := false, false
	for _, line := range strings.SplitAfter(script, "\n") {
		if strings.HasPrefix(line, "### BEGIN INIT INFO") {
			inHeader = true
			continue
		}
		if !inHeader {
			continue
		}
		if strings.HasPrefix(line, "### END INIT INFO") {
			break
		}
		if inDesc {
			if strings.HasPrefix(line, "#  ") || strings.HasPrefix(line, "#\t") {
				long.WriteString(line[1:])
				continue
			}
			inDesc = false
		}
		for _, k := range []string{"Provides", "Required-Start", "Required-Stop", "Should-Start", "Should-Stop", "Default-Start", "Default-Stop", "Short-Description", "Description"} {
			prefix := "# " + k + ":"
			if strings.HasPrefix(line, prefix) {
				v := line[len(prefix):]
				if k == "Description" {
					long.WriteString(v)
					inDesc = true
				} else if _, ok := fields[k]; !ok {
					fields[k] = v
				}
			}
		}
	}
	esc := func(s string) string {
		r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;", "'", "&apos;")
		return r.Replace(s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version='1.0'?>\n<!DOCTYPE resource-agent SYSTEM 'ra-api-1.dtd'>\n<resource-agent name='%s' version='0.1'>\n  <version>1.0</version>\n", typ)
	fmt.Fprintf(&b, "  <longdesc lang='en'>\n%s  </longdesc>\n", esc(long.String()))
	fmt.Fprintf(&b, "  <shortdesc lang='en'>%s</shortdesc>\n", esc(fields["Short-Description"]))
	b.WriteString("  <parameters>\n  </parameters>\n  <actions>\n" +
		"    <action name='meta-data'    timeout='5' />\n" +
		"    <action name='start'        timeout='15' />\n" +
		"    <action name='stop'         timeout='15' />\n" +
		"    <action name='status'       timeout='15' />\n" +
		"    <action name='restart'      timeout='15' />\n" +
		"    <action name='force-reload' timeout='15' />\n" +
		"    <action name='monitor'      timeout='15' interval='15' />\n" +
		"  </actions>\n  <special tag='LSB'>\n")
	for _, k := range []string{"Provides", "Required-Start", "Required-Stop", "Should-Start", "Should-Stop", "Default-Start", "Default-Stop"} {
		fmt.Fprintf(&b, "    <%s>%s</%s>\n", k, esc(fields[k]), k)
	}
	b.WriteString("  </special>\n</resource-agent>\n")
	return b.String()
}
