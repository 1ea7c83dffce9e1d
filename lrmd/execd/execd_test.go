package execd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ringmaster/internal/pcmkipc"
	"ringmaster/internal/testcluster"
	"ringmaster/internal/testenv"
	"ringmaster/ipc"
	"ringmaster/lrmd"
	"ringmaster/lrmd/agents"
)

// TestMain doubles as a client helper run inside network-namespace nodes:
// EXECD_HELPER=service,rsc,class,provider,type,action,timeoutms and
// EXECD_PARAMS=k=v;k=v run one operation and print its result.
func TestMain(m *testing.M) {
	if n := os.Getenv("EXECD_BENCH"); n != "" {
		count, _ := strconv.Atoi(n)
		os.Exit(benchHelper(max(count, 1)))
	}
	if state := os.Getenv("EXECD_SCRIPT"); state != "" {
		out, err := script(state, os.Getenv("EXECD_SITE"))
		fmt.Print(out)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec := os.Getenv("EXECD_HELPER"); spec != "" {
		os.Exit(helper(spec, os.Getenv("EXECD_PARAMS")))
	}
	os.Exit(m.Run())
}

func helper(spec, params string) int {
	f := strings.Split(spec, ",")
	if len(f) != 7 {
		fmt.Println("bad spec")
		return 2
	}
	p := map[string]string{}
	for _, kv := range strings.Split(params, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			p[k] = v
		}
	}
	var c *Client
	var err error
	for i := 0; i < 100; i++ { // the daemon may still be starting
		if c, err = Dial(f[0], "helper"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	defer c.Close()
	if err := c.RegisterRsc(f[1], f[2], f[3], f[4]); err != nil {
		fmt.Println(err)
		return 1
	}
	timeout, _ := strconv.ParseInt(f[6], 10, 64)
	call, err := c.Exec(f[1], f[5], 0, timeout, 0, p, 0)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	n, err := c.WaitExec(f[1], call, time.Duration(timeout)*time.Millisecond+30*time.Second)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Printf("rc=%d status=%d reason=%q\n", n.RC, n.Status, n.ExitReason)
	return 0
}

var serverSeq atomic.Int32

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) logf(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, f+"\n", a...)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer runs an executor in this process on a unique IPC name.
func startServer(t *testing.T, cfg agents.Config) (string, *Server, *logBuf) {
	t.Helper()
	testenv.RequireRoot(t)
	name := fmt.Sprintf("lrmd-test-%d-%d", os.Getpid(), serverSeq.Add(1))
	lb := &logBuf{}
	s, err := New(Options{Name: name, Agents: agents.New(cfg), Logf: lb.logf, IPC: ipc.ServerOptions{ShmDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("executor log:\n%s", lb.String())
		}
	})
	return name, s, lb
}

func dial(t *testing.T, name string) *Client {
	t.Helper()
	c, err := Dial(name, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *Client, rsc, action string, intervalMS, timeoutMS int64, p map[string]string) *lrmd.Notify {
	t.Helper()
	call, err := c.Exec(rsc, action, intervalMS, timeoutMS, 0, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.WaitExec(rsc, call, time.Duration(timeoutMS)*time.Millisecond+30*time.Second)
	if err != nil {
		t.Fatalf("%s %s: %v", rsc, action, err)
	}
	return n
}

func siteRoot(t *testing.T) string {
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "testprov")
	os.MkdirAll(dir, 0o755)
	src, err := os.ReadFile("../agents/testdata/site")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "site"), src, 0o755)
	return root
}

// TestDummy: Debian's ocf:heartbeat:Dummy start/monitor/stop/monitor
// through our IPC gives 0/0/0/7.
func TestDummy(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/Dummy"); err != nil {
		testenv.Unavailable(t, "resource-agents is not installed")
	}
	name, _, lb := startServer(t, agents.Config{})
	c := dial(t, name)
	if err := c.RegisterRsc("dummy1", "ocf", "heartbeat", "Dummy"); err != nil {
		t.Fatal(err)
	}
	r, err := c.Call(lrmd.OpRscInfo, &lrmd.RscData{ID: "dummy1"}, 0)
	if err != nil || r.RC != 0 || r.Root.SelectAttrValue("lrmd_type", "") != "Dummy" {
		t.Fatalf("info: %v %+v", err, r)
	}
	state := filepath.Join(t.TempDir(), "dummy.state")
	p := map[string]string{"state": state, "CRM_meta_timeout": "20000", "crm_feature_set": "3.16.1"}
	var got []string
	for _, a := range []string{"start", "monitor", "stop", "monitor"} {
		n := run(t, c, "dummy1", a, 0, 20000, p)
		if n.Status != lrmd.ExecDone {
			t.Fatalf("%s: %+v", a, n)
		}
		got = append(got, strconv.Itoa(n.RC))
	}
	if strings.Join(got, "/") != "0/0/0/7" {
		t.Fatalf("rcs %v", got)
	}
	if !strings.Contains(lb.String(), "executing - rsc:dummy1 action:start call_id:") {
		t.Errorf("log lacks the execute line:\n%s", lb)
	}
	// Unknown resource and unknown op.
	if _, err := c.Exec("nope", "start", 0, 1000, 0, nil, 0); err == nil || !strings.Contains(err.Error(), "rc -19") {
		t.Fatalf("exec on unknown rsc: %v", err)
	}
	if r, _ := c.Call("lrmd_bogus", nil, 0); r.RC != -lrmd.EOPNOTSUPP {
		t.Fatalf("bogus op rc %d", r.RC)
	}
}

// TestSiteAgent is scenario S4: a site agent under its own OCF root with
// parameters as OCF_RESKEY_*, and its exit reason carried back.
func TestSiteAgent(t *testing.T) {
	name, _, _ := startServer(t, agents.Config{OCFRoot: siteRoot(t)})
	c := dial(t, name)
	if err := c.RegisterRsc("site1", "ocf", "testprov", "site"); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	if n := run(t, c, "site1", "start", 0, 20000, map[string]string{"state": state, "greeting": "hi there"}); n.RC != 0 {
		t.Fatalf("%+v", n)
	}
	if b, _ := os.ReadFile(state); string(b) != "hi there\n" {
		t.Fatalf("state %q", b)
	}
	n := run(t, c, "site1", "start", 0, 20000, map[string]string{"state": state, "fail": "no disk"})
	if n.RC != 6 || n.Status != lrmd.ExecDone || n.ExitReason != "cannot start: no disk" || !strings.Contains(n.Output, "first reason") {
		t.Fatalf("%+v", n)
	}
}

// TestTimeout: an agent that sleeps past its timeout is killed (with its
// process group) and reported as timed out.
func TestTimeout(t *testing.T) {
	name, _, _ := startServer(t, agents.Config{OCFRoot: siteRoot(t)})
	c := dial(t, name)
	c.RegisterRsc("slow", "ocf", "testprov", "site")
	pidFile := filepath.Join(t.TempDir(), "env")
	n := run(t, c, "slow", "start", 0, 500, map[string]string{"sleep": "30", "state": "/nonexistent/x", "envdump": pidFile})
	if n.Status != lrmd.ExecTimeout || n.RC != 1 || n.ExitReason != "Resource agent did not complete within 500ms" {
		t.Fatalf("%+v", n)
	}
	// The next op of the resource runs after the killed one.
	if n := run(t, c, "slow", "monitor", 0, 5000, map[string]string{"state": "/nonexistent/x"}); n.RC != 7 {
		t.Fatalf("%+v", n)
	}
	// No sleep of that agent survives the group kill.
	out, _ := exec.Command("pgrep", "-f", "sleep 30").Output()
	for _, pid := range strings.Fields(string(out)) {
		env, _ := os.ReadFile("/proc/" + pid + "/environ")
		if bytes.Contains(env, []byte("OCF_RESOURCE_INSTANCE=slow")) {
			t.Fatalf("agent child %s survived the timeout", pid)
		}
	}
}

// TestRecurringCancel: a recurring monitor runs at its interval, appears in
// lrmd_get_recurring, and stops after cancel.
func TestRecurringCancel(t *testing.T) {
	name, _, _ := startServer(t, agents.Config{OCFRoot: siteRoot(t)})
	c := dial(t, name)
	c.RegisterRsc("rec", "ocf", "testprov", "site")
	state := filepath.Join(t.TempDir(), "state")
	count := filepath.Join(t.TempDir(), "count")
	p := map[string]string{"state": state, "count": count}
	run(t, c, "rec", "start", 0, 20000, p)
	call, err := c.Exec("rec", "monitor", 200, 20000, 0, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		n, err := c.WaitExec("rec", call, 30*time.Second)
		if err != nil || n.RC != 0 || n.IntervalMS != 200 {
			t.Fatalf("monitor %d: %v %+v", i, err, n)
		}
	}
	r, err := c.Call(lrmd.OpGetRecurring, &lrmd.RscData{ID: "rec"}, 0)
	if err != nil || r.RC != 0 || len(r.Root.FindElements("//lrmd_rsc_op[@lrmd_rsc_interval='200']")) != 1 {
		t.Fatalf("get_recurring: %v %+v", err, r)
	}
	if rc, err := c.Cancel("rec", "monitor", 200); err != nil || rc != 0 {
		t.Fatalf("cancel: %v %d", err, rc)
	}
	for {
		n, err := c.WaitExec("rec", call, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if n.Status == lrmd.ExecCancelled {
			break
		}
	}
	before, _ := os.ReadFile(count)
	time.Sleep(time.Second) // five intervals
	after, _ := os.ReadFile(count)
	if !bytes.Equal(before, after) {
		t.Fatalf("monitor kept running after cancel:\n%s\nthen\n%s", before, after)
	}
	if rc, _ := c.Cancel("rec", "monitor", 200); rc != -lrmd.EOPNOTSUPP {
		t.Fatalf("second cancel rc %d", rc)
	}
	if n := run(t, c, "rec", "stop", 0, 20000, p); n.RC != 0 {
		t.Fatalf("%+v", n)
	}
}

// TestLSB runs an init script as lsb:lsbtest.
func TestLSB(t *testing.T) {
	dir := t.TempDir()
	src, _ := os.ReadFile("../agents/testdata/lsbtest")
	os.WriteFile(filepath.Join(dir, "lsbtest"), src, 0o755)
	state := filepath.Join(t.TempDir(), "st")
	name, _, _ := startServer(t, agents.Config{LSBDir: dir, BaseEnv: append(os.Environ(), "LSBTEST_STATE="+state)})
	c := dial(t, name)
	c.RegisterRsc("l1", "lsb", "", "lsbtest")
	var got []string
	for _, a := range []string{"monitor", "start", "monitor", "stop", "monitor"} {
		got = append(got, strconv.Itoa(run(t, c, "l1", a, 0, 10000, nil).RC))
	}
	if strings.Join(got, "/") != "7/0/0/0/7" {
		t.Fatalf("rcs %v", got)
	}
	c.RegisterRsc("l2", "service", "", "lsbtest")
	if n := run(t, c, "l2", "monitor", 0, 10000, nil); n.RC != 7 {
		t.Fatalf("service monitor %+v", n)
	}
}

// TestHostile sends malformed and abusive requests; the daemon answers or
// drops them and keeps serving.
func TestHostile(t *testing.T) {
	name, s, _ := startServer(t, agents.Config{OCFRoot: siteRoot(t)})
	raw, err := ipc.Dial(name, ipc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	send := func(id int32, flags uint32, xml string) {
		m, _ := pcmkipc.Encode(id, flags, []byte(xml), raw.MaxMsgSize())
		if flags&pcmkipc.FlagClientResponse != 0 {
			raw.Request(m, 5*time.Second)
		} else {
			raw.Send(m)
		}
	}
	id := int32(0)
	next := func() int32 { id++; return id }
	for _, x := range []string{
		"", "<", "garbage", "<cib/>", `<lrmd_command/>`,
		`<lrmd_command lrmd_op="lrmd_rsc_exec"/>`,
		`<lrmd_command lrmd_op="lrmd_rsc_exec"><lrmd_calldata><lrmd_rsc/></lrmd_calldata></lrmd_command>`,
		`<lrmd_command lrmd_op="lrmd_rsc_register"><lrmd_calldata><lrmd_rsc lrmd_rsc_id="h" lrmd_class="ocf" lrmd_provider="../../../bin" lrmd_type="sh"/></lrmd_calldata></lrmd_command>`,
		`<lrmd_command lrmd_op="lrmd_rsc_exec"><lrmd_calldata><lrmd_rsc lrmd_rsc_id="h" lrmd_rsc_action="start" lrmd_timeout="-5" lrmd_rsc_interval="-1"/></lrmd_calldata></lrmd_command>`,
		`<lrmd_command lrmd_op="lrmd_rsc_cancel"><lrmd_calldata><lrmd_rsc lrmd_rsc_id="h"/></lrmd_calldata></lrmd_command>`,
		`<lrmd_command lrmd_op="lrmd_rsc_unregister"/>`,
		`<lrmd_command lrmd_op="lrmd_get_recurring"/>`,
		`<lrmd_command lrmd_op="lrmd_check"/>`,
		`<lrmd_command lrmd_op="ipc_fwd"/>`,
		`<lrmd_command lrmd_op="register" lrmd_protocol_version="0.1"/>`,
		`<lrmd_command lrmd_op="lrmd_rsc_info"><lrmd_calldata><lrmd_rsc lrmd_rsc_id="` + strings.Repeat("x", 100000) + `"/></lrmd_calldata></lrmd_command>`,
		strings.Repeat("<a>", 50000),
	} {
		send(next(), pcmkipc.FlagClientResponse, x)
		send(next(), 0, x) // without the response flag: dropped
	}
	// Raw bytes that are not even a Pacemaker message.
	for _, b := range [][]byte{{1, 2, 3}, make([]byte, 40), bytes.Repeat([]byte{0xff}, 100)} {
		m := ipc.NewRequest(next(), len(b))
		copy(m[ipc.RequestHeaderSize:], b)
		raw.Send(m)
	}
	// Still serving, and the path-escaping provider was not run.
	c := dial(t, name)
	if err := c.RegisterRsc("ok", "ocf", "testprov", "site"); err != nil {
		t.Fatal(err)
	}
	if n := run(t, c, "ok", "monitor", 0, 5000, map[string]string{"state": "/nonexistent"}); n.RC != 7 {
		t.Fatalf("%+v", n)
	}
	if n := run(t, c, "h", "monitor", 0, 5000, nil); n.Status != lrmd.ExecNotInstalled {
		t.Fatalf("escaping provider: %+v", n)
	}
	s.mu.Lock()
	bad := s.BadRequests
	s.mu.Unlock()
	if bad == 0 {
		t.Fatal("no bad request counted")
	}
}

// TestIPaddr2 runs our pacemaker-execd inside a network-namespace node and
// has it start, monitor and stop Debian's ocf:heartbeat:IPaddr2 for a
// 192.0.2.x address, checked with `ip addr` inside the node.
func TestIPaddr2(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespace test")
	}
	testenv.RequireRoot(t)
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/IPaddr2"); err != nil {
		testenv.Unavailable(t, "resource-agents is not installed")
	}
	bin := testenv.GoBinary(t, "pacemaker-execd")
	cl := testcluster.New(t, testcluster.Options{Nodes: 1})
	n := cl.Node(1)
	if _, err := n.Start("execd", bin, "-V"); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	op := func(action string) string {
		cmd := n.Command(ctx, self, "-test.run=^$")
		cmd.Env = append(os.Environ(), "EXECD_HELPER=lrmd,vip,ocf,heartbeat,IPaddr2,"+action+",20000",
			"EXECD_PARAMS=ip=192.0.2.50;cidr_netmask=24;nic=eth0;CRM_meta_timeout=20000")
		out, _ := cmd.CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	addrs := func() string {
		out, _, err := n.Exec(ctx, "ip", "-o", "-4", "addr", "show", "dev", "eth0")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := op("monitor"); !strings.HasPrefix(got, "rc=7 ") {
		t.Fatalf("probe: %s", got)
	}
	if got := op("start"); !strings.HasPrefix(got, "rc=0 ") {
		t.Fatalf("start: %s", got)
	}
	if a := addrs(); !strings.Contains(a, "192.0.2.50/24") {
		t.Fatalf("VIP not added:\n%s", a)
	}
	if got := op("monitor"); !strings.HasPrefix(got, "rc=0 ") {
		t.Fatalf("monitor: %s", got)
	}
	if got := op("stop"); !strings.HasPrefix(got, "rc=0 ") {
		t.Fatalf("stop: %s", got)
	}
	if a := addrs(); strings.Contains(a, "192.0.2.50") {
		t.Fatalf("VIP not removed:\n%s", a)
	}
	if got := op("monitor"); !strings.HasPrefix(got, "rc=7 ") {
		t.Fatalf("monitor after stop: %s", got)
	}
}

// TestEnvMatchesCrmResource installs an environment-dumping agent, runs it
// with Pacemaker's own `crm_resource --force-start` on a CIB file, runs it
// through our executor with the parameters crm_resource passed, and compares
// the two environments key by key.
func TestEnvMatchesCrmResource(t *testing.T) {
	crmResource := testenv.RequireBinary(t, "crm_resource")
	testenv.RequireRoot(t)
	testenv.RequireBinary(t, "unshare")
	prov := fmt.Sprintf("rmtest%d", os.Getpid())
	extra := overlayRoot(t, prov)

	dir := t.TempDir()
	theirs := filepath.Join(dir, "theirs.env")
	state := filepath.Join(dir, "state")
	cib := fmt.Sprintf(`<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
<configuration><crm_config/><nodes/><resources>
<primitive id="envr" class="ocf" provider="%s" type="site"><instance_attributes id="envr-ia">
<nvpair id="envr-state" name="state" value="%s"/><nvpair id="envr-dump" name="envdump" value="%s"/>
<nvpair id="envr-g" name="greeting" value="a b"/></instance_attributes></primitive>
</resources><constraints/></configuration><status/></cib>`, prov, state, theirs)
	cibFile := filepath.Join(dir, "cib.xml")
	os.WriteFile(cibFile, []byte(cib), 0o644)
	// crm_resource finds agents only under its compiled-in path: show it
	// the test provider through an overlay in a private mount namespace, so
	// nothing outside this test ever sees it.
	cmd := exec.Command("unshare", "-m", "sh", "-c", overlayMount(extra)+` && exec "$0" --force-start -r envr`, crmResource)
	cmd.Env = append(os.Environ(), "CIB_file="+cibFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("crm_resource --force-start: %v\n%s", err, out)
	}
	theirEnv := readEnv(t, theirs)

	// The same agent through our executor, with the parameters crm_resource
	// gave the agent (OCF_RESKEY_* minus the prefix), from the same base
	// environment plus CIB_file.
	ours := filepath.Join(dir, "ours.env")
	params := map[string]string{}
	for k, v := range theirEnv {
		if name, ok := strings.CutPrefix(k, "OCF_RESKEY_"); ok {
			params[name] = v
		}
	}
	params["envdump"] = ours
	name, _, _ := startServer(t, agents.Config{BaseEnv: append(os.Environ(), "CIB_file="+cibFile),
		OCFRAPath: []string{extra, filepath.Join(agents.DefaultOCFRoot, "resource.d")}})
	c := dial(t, name)
	c.RegisterRsc("envr", "ocf", prov, "site")
	if n := run(t, c, "envr", "start", 0, 20000, params); n.RC != 0 {
		t.Fatalf("%+v", n)
	}
	ourEnv := readEnv(t, ours)
	// Keys the shell itself sets differ per process.
	volatile := map[string]bool{"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true}
	// Set by crm_resource in its own process before it forks the agent, not
	// by the services library: crm_log_init (PCMK_service, PCMK_/HA_
	// logfacility "none" for a tool, HA_debug), pcmk__output_new
	// (OCF_OUTPUT_FORMAT) and cli_resource_execute_from_params
	// (OCF_TRACE_FILE). pacemaker-execd sets its own PCMK_service and
	// logfacility ("daemon") the same way, in cmd/pacemaker-execd.
	crmResourceOnly := map[string]bool{"PCMK_service": true, "PCMK_logfacility": true, "HA_logfacility": true,
		"HA_debug": true, "OCF_OUTPUT_FORMAT": true, "OCF_TRACE_FILE": true}
	var keys []string
	for k := range theirEnv {
		keys = append(keys, k)
	}
	for k := range ourEnv {
		if _, ok := theirEnv[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		tv, tok := theirEnv[k]
		ov, ook := ourEnv[k]
		if volatile[k] || (k == "OCF_RESKEY_envdump" && tok && ook) {
			continue
		}
		if crmResourceOnly[k] && tok && !ook {
			t.Logf("documented difference: %s=%q only under crm_resource", k, tv)
			continue
		}
		if tv != ov || tok != ook {
			diffs = append(diffs, fmt.Sprintf("%s: crm_resource %q (%v), ours %q (%v)", k, tv, tok, ov, ook))
		}
	}
	ocfKeys := 0
	for _, k := range keys {
		if strings.HasPrefix(k, "OCF_") {
			ocfKeys++
			t.Logf("  %s=%s", k, theirEnv[k])
		}
	}
	t.Logf("compared %d keys (%d OCF_*) of crm_resource's agent environment with ours", len(keys), ocfKeys)
	if len(diffs) > 0 {
		t.Fatalf("environment differences:\n%s", strings.Join(diffs, "\n"))
	}
}

// overlayRoot makes a directory holding <prov>/site, to be laid over
// /usr/lib/ocf/resource.d.
func overlayRoot(t *testing.T, prov string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lrmd-ocf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	if err := os.MkdirAll(filepath.Join(dir, prov), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../agents/testdata/site")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, prov, "site"), src, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// overlayMount is the shell command that lays extra over the system's OCF
// agent directory (read-only overlay) in the current mount namespace.
func overlayMount(extra string) string {
	return fmt.Sprintf("mount -t overlay rmocf -o lowerdir=%s:/usr/lib/ocf/resource.d /usr/lib/ocf/resource.d", extra)
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

// TestAlert runs an alert agent as lrmd_alert_exec does: parameters as
// plain environment variables plus CRM_alert_node_sequence, as hacluster.
func TestAlert(t *testing.T) {
	name, _, _ := startServer(t, agents.Config{})
	dir, err := os.MkdirTemp("", "lrmd-alert")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	dump := filepath.Join(dir, "env")
	script := filepath.Join(dir, "alert.sh")
	os.WriteFile(script, []byte("#!/bin/sh\n{ env; echo uid=$(id -u); } > "+dump+".tmp && mv "+dump+".tmp "+dump+"\n"), 0o755)
	c := dial(t, name)
	x := fmt.Sprintf(`<lrmd_command t="lrmd" lrmd_op="lrmd_alert_exec" lrmd_callid="0" lrmd_callopt="0"><lrmd_calldata><lrmd_alert lrmd_alert_id="a1" lrmd_alert_path="%s" lrmd_timeout="30000"><attributes CRM_alert_kind="resource" CRM_alert_rsc="vip" CRM_alert_recipient="ops"/></lrmd_alert></lrmd_calldata></lrmd_command>`, script)
	r, err := c.CallXML(lrmd.OpAlertExec, []byte(x))
	if err != nil || r.RC != 0 {
		t.Fatalf("%v %+v", err, r)
	}
	var env map[string]string
	for i := 0; i < 300; i++ {
		if _, err := os.Stat(dump); err == nil {
			env = readEnv(t, dump)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if env == nil {
		t.Fatal("alert agent did not run")
	}
	if env["CRM_alert_kind"] != "resource" || env["CRM_alert_rsc"] != "vip" || env["CRM_alert_node_sequence"] != "1" {
		t.Fatalf("alert env %v", env)
	}
	if _, ok := env["OCF_ROOT"]; ok {
		t.Error("alert agents get no OCF variables")
	}
	if u, err := user.Lookup("hacluster"); err == nil && env["uid"] != u.Uid {
		t.Errorf("alert ran as uid %s, want hacluster (%s)", env["uid"], u.Uid)
	}
	if r, _ := c.CallXML(lrmd.OpAlertExec, []byte(`<lrmd_command lrmd_op="lrmd_alert_exec"/>`)); r.RC != -lrmd.EINVAL {
		t.Fatalf("alert without data: rc %d", r.RC)
	}
}
