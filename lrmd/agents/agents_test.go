package agents

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ringmaster/internal/testenv"
	"ringmaster/lrmd"
)

// siteRoot makes a temporary OCF root with the site agent installed as
// ocf:testprov:site and lib/ pointing at the system's shell functions.
func siteRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "testprov")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "site"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site"), src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Join(DefaultOCFRoot, "lib"), filepath.Join(root, "lib"))
	return root
}

func TestEnvOCF(t *testing.T) {
	d := New(Config{OCFRoot: "/x/ocf", BaseEnv: []string{"PATH=/bin", "OCF_RESKEY_stale=1", "OCF_ROOT=/old"}})
	env := d.Env(Action{RscID: "vip", Class: "ocf", Provider: "heartbeat", Type: "IPaddr2", Action: "start",
		Params: map[string]string{"ip": "192.0.2.50", "CRM_meta_timeout": "20000", "OCF_CHECK_LEVEL": "10"}})
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	want := map[string]string{
		"PATH": "/bin", "OCF_RESKEY_stale": "1", "OCF_ROOT": "/x/ocf",
		"OCF_RESKEY_ip": "192.0.2.50", "OCF_RESKEY_CRM_meta_timeout": "20000", "OCF_CHECK_LEVEL": "10",
		"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1", "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:",
		"OCF_RESOURCE_INSTANCE": "vip", "OCF_RESOURCE_TYPE": "IPaddr2", "OCF_RESOURCE_PROVIDER": "heartbeat",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("env has %d keys, want %d: %v", len(got), len(want), env)
	}
	// LSB scripts get the daemon's environment only.
	lsb := d.Env(Action{RscID: "x", Class: "lsb", Type: "foo", Params: map[string]string{"a": "b"}})
	if len(lsb) != 3 {
		t.Errorf("lsb env = %v", lsb)
	}
}

func TestSiteAgent(t *testing.T) {
	root := siteRoot(t)
	d := New(Config{OCFRoot: root})
	if p := d.Providers(); len(p) != 1 || p[0] != "testprov" {
		t.Fatalf("providers = %v", p)
	}
	if a, _ := d.Agents("ocf", "testprov"); len(a) != 1 || a[0] != "site" {
		t.Fatalf("agents = %v", a)
	}
	state := filepath.Join(t.TempDir(), "state")
	run := func(action string, params map[string]string) lrmd.Outcome {
		return d.Run(Action{RscID: "s1", Class: "ocf", Provider: "testprov", Type: "site", Action: action,
			TimeoutMS: 20000, Params: params})
	}
	p := map[string]string{"state": state, "greeting": "bonjour"}
	for _, step := range []struct {
		action string
		rc     int
	}{{"monitor", 7}, {"start", 0}, {"monitor", 0}, {"stop", 0}, {"monitor", 7}, {"bogus", 3}} {
		out := run(step.action, p)
		if out.Status != lrmd.ExecDone || out.ExitStatus != step.rc {
			t.Fatalf("%s: %+v, want rc %d", step.action, out, step.rc)
		}
		if step.action == "start" {
			if b, _ := os.ReadFile(state); string(b) != "bonjour\n" {
				t.Fatalf("state file %q", b)
			}
		}
	}
	out := run("start", map[string]string{"state": state, "fail": "disk on fire"})
	if out.ExitStatus != 6 || out.Reason != "cannot start: disk on fire" {
		t.Fatalf("failing start: %+v", out)
	}
	md, err := d.Metadata("ocf", "testprov", "site")
	if err != nil || !strings.Contains(string(md), `<resource-agent name="site"`) {
		t.Fatalf("metadata: %v %s", err, md)
	}
}

func TestTimeoutKillsGroup(t *testing.T) {
	root := siteRoot(t)
	d := New(Config{OCFRoot: root})
	// The agent's sleep is a child in its process group: killing the group
	// must not leave it holding the output pipes.
	out := d.Run(Action{RscID: "s1", Class: "ocf", Provider: "testprov", Type: "site", Action: "monitor",
		TimeoutMS: 300, Params: map[string]string{"sleep": "30", "state": "/nonexistent"}})
	if out.Status != lrmd.ExecTimeout || out.ExitStatus != 1 || out.Reason != "Resource agent did not complete within 300ms" {
		t.Fatalf("timeout: %+v", out)
	}
}

func TestNotInstalled(t *testing.T) {
	d := New(Config{OCFRoot: t.TempDir(), LSBDir: t.TempDir()})
	out := d.Run(Action{RscID: "x", Class: "ocf", Provider: "nope", Type: "missing", Action: "start"})
	if out.Status != lrmd.ExecNotInstalled || out.ExitStatus != lrmd.OCFNotInstalled || out.Reason != "missing: No such file or directory" {
		t.Fatalf("%+v", out)
	}
	out = d.Run(Action{RscID: "x", Class: "lsb", Type: "missing", Action: "monitor"})
	if out.Status != lrmd.ExecNotInstalled || lrmd.MapExit("lsb", "monitor", out.ExitStatus) != lrmd.OCFNotInstalled {
		t.Fatalf("%+v", out)
	}
}

func TestLSB(t *testing.T) {
	dir := t.TempDir()
	src, _ := os.ReadFile(filepath.Join("testdata", "lsbtest"))
	os.WriteFile(filepath.Join(dir, "lsbtest"), src, 0o755)
	state := filepath.Join(t.TempDir(), "st")
	d := New(Config{LSBDir: dir, BaseEnv: []string{"PATH=/usr/bin:/bin", "LSBTEST_STATE=" + state}})
	for _, step := range []struct {
		action string
		ocf    int
	}{{"monitor", 7}, {"start", 0}, {"monitor", 0}, {"stop", 0}, {"status", 7}} {
		out := d.Run(Action{RscID: "l", Class: "lsb", Type: "lsbtest", Action: step.action, TimeoutMS: 10000})
		if got := lrmd.MapExit("lsb", step.action, out.ExitStatus); out.Status != lrmd.ExecDone || got != step.ocf {
			t.Fatalf("%s: %+v → %d, want %d", step.action, out, got, step.ocf)
		}
	}
	md, err := d.Metadata("lsb", "", "lsbtest")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<resource-agent name='lsbtest' version='0.1'>",
		"<shortdesc lang='en'> LSB test service\n</shortdesc>",
		"       A test init script that keeps a state\n                    file named by LSBTEST_STATE.\n  </longdesc>",
		"<Provides>          lsbtest\n</Provides>", "<Default-Stop>      0 1 6\n</Default-Stop>"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("metadata lacks %q:\n%s", want, md)
		}
	}
}

// TestDebianAgents runs Debian's resource-agents Dummy through the runner and
// reads the metadata of installed agents of each standard.
func TestDebianAgents(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/Dummy"); err != nil {
		testenv.Unavailable(t, "resource-agents is not installed")
	}
	d := New(Config{})
	state := filepath.Join(t.TempDir(), "dummy.state")
	for _, step := range []struct {
		action string
		rc     int
	}{{"monitor", 7}, {"start", 0}, {"monitor", 0}, {"stop", 0}, {"monitor", 7}} {
		out := d.Run(Action{RscID: "d1", Class: "ocf", Provider: "heartbeat", Type: "Dummy", Action: step.action,
			TimeoutMS: 20000, Params: map[string]string{"state": state}})
		if out.Status != lrmd.ExecDone || out.ExitStatus != step.rc {
			t.Fatalf("Dummy %s: %+v", step.action, out)
		}
	}
	md, err := d.Metadata("ocf", "heartbeat", "IPaddr2")
	if err != nil || !strings.Contains(string(md), `name="IPaddr2"`) {
		t.Fatalf("IPaddr2 metadata: %v", err)
	}
	// Byte-for-byte against Pacemaker's own crm_resource --show-metadata.
	if crmResource, err := exec.LookPath("crm_resource"); err == nil {
		for _, spec := range []string{"lsb:pacemaker", "lsb:corosync", "ocf:heartbeat:Dummy", "ocf:pacemaker:Stateful", "stonith:fence_watchdog", "stonith:fence_legacy"} {
			parts := strings.Split(spec, ":")
			prov := ""
			if len(parts) == 3 {
				prov = parts[1]
			}
			want, err := exec.Command(crmResource, "--show-metadata", spec).Output()
			if err != nil {
				t.Logf("crm_resource --show-metadata %s: %v (skipped)", spec, err)
				continue
			}
			got, err := d.Metadata(parts[0], prov, parts[len(parts)-1])
			if err != nil {
				t.Errorf("%s: %v", spec, err)
				continue
			}
			if strings.TrimRight(string(got), "\n") != strings.TrimRight(string(want), "\n") {
				t.Errorf("%s metadata differs from crm_resource's:\n--- ours\n%s\n--- crm_resource\n%s", spec, got, want)
			}
		}
	} else if testenv.InCI() {
		t.Fatal("crm_resource is not installed")
	}
	if st := d.Standards(); st[0] != "ocf" || st[len(st)-1] != "stonith" {
		t.Errorf("standards = %v", st)
	}
	if a, _ := d.Agents("stonith", ""); len(a) > 0 {
		for _, name := range a {
			md, err := d.Metadata("stonith", "", name)
			if err != nil {
				t.Logf("stonith:%s metadata: %v", name, err)
				continue
			}
			if !strings.Contains(string(md), "<resource-agent") {
				t.Errorf("stonith:%s metadata: %s", name, md)
			}
		}
	}
}

// TestListsMatchCrmResource compares discovery with Pacemaker's own
// crm_resource --list-standards/--list-ocf-providers/--list-agents.
func TestListsMatchCrmResource(t *testing.T) {
	crmResource, err := exec.LookPath("crm_resource")
	if err != nil {
		testenv.Unavailable(t, "crm_resource is not installed")
	}
	d := New(Config{})
	lines := func(args ...string) []string {
		out, err := exec.Command(crmResource, args...).Output()
		if err != nil {
			t.Fatalf("crm_resource %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	check := func(what string, got, want []string) {
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\nours %v\ncrm_resource %v", what, got, want)
		}
	}
	check("standards", d.Standards(), lines("--list-standards"))
	check("providers", d.Providers(), lines("--list-ocf-providers"))
	for _, spec := range []string{"ocf", "ocf:heartbeat", "ocf:pacemaker", "lsb", "service", "stonith"} {
		class, prov, _ := strings.Cut(spec, ":")
		got, err := d.Agents(class, prov)
		if err != nil {
			t.Fatal(err)
		}
		check("agents "+spec, got, lines("--list-agents", spec))
	}
}
