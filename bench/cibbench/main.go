// Command cibbench measures the CIB manager, ours against Pacemaker 2.1.5's,
// on a CIB of --nodes x --resources made by shared/bench/gen-cib.py (32 x 2000
// by default, with gen-cib's cold status unless --status warm: the warm
// operation history makes it 43 MB), each in a network namespace node of its
// own, one after the other, and prints the ratios:
//
//   - update throughput: N concurrent clients (our cib IPC client, the
//     LiveConn cibadmin uses) each making synchronous cib_modify calls for
//     --duration, two kinds: a node_state attribute in the status section
//     (what the controller and attrd send; num_updates only) and a
//     primitive's description (an administrator's change; epoch, disk write);
//     ops/s and per-call latency p50/p99;
//   - crm_mon -1 latency on that CIB: Debian's crm_mon against each daemon,
//     and both crm_mons on a CIB_file copy (ours has no live mode yet);
//   - the RSS of each pacemaker-based after loading the CIB and its peak
//     during the updates.
//
// The stacks: ours is our corosync + our pacemakerd starting our
// pacemaker-based and pacemaker-fenced. The real one is Debian's corosync
// 3.1.7 + Debian's pacemaker-based and pacemaker-fenced (cluster mode: the
// real CIB manager only accepts writes with a cluster layer), launched by our
// pacemakerd from /usr/lib/pacemaker so that crm_mon finds a launcher to
// ask. Debian's pacemakerd would also start its controller, which would run
// the scheduler over 2000 resources after every update on the same two CPUs:
// that measures the scheduler, not the CIB manager, so it is left out unless
// --real-pacemakerd is given.
//
// Run as root (make bench runs it through bench/cib-vs-real.sh).
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ringmaster/cib"
	"ringmaster/internal/testcluster"
)

// benchT satisfies testcluster.T outside a test.
type benchT struct{ cleanups []func() }

func (d *benchT) Helper()                         {}
func (d *benchT) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (d *benchT) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cibbench: "+format+"\n", args...)
	d.cleanup()
	os.Exit(1)
}
func (d *benchT) Cleanup(f func()) { d.cleanups = append(d.cleanups, f) }
func (d *benchT) Failed() bool     { return false }
func (d *benchT) cleanup() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
	d.cleanups = nil
}

type options struct {
	nodes, resources int
	clients          []int
	kinds            []string
	duration         time.Duration
	monRuns          int
	realPacemakerd   bool
	bin              string
	genCIB           string
	ipcBuffer        int
	status           string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "load" {
		os.Exit(loadMain(os.Args[2:]))
	}
	var o options
	fs := pflag.NewFlagSet("cibbench", pflag.ContinueOnError)
	fs.IntVar(&o.nodes, "nodes", 32, "nodes in the generated CIB")
	fs.IntVar(&o.resources, "resources", 2000, "primitives in the generated CIB")
	fs.IntSliceVar(&o.clients, "clients", []int{1, 8}, "concurrent client counts to measure")
	fs.StringSliceVar(&o.kinds, "kinds", []string{"status", "config"}, "update kinds (status, config)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each throughput run")
	fs.IntVar(&o.monRuns, "mon-runs", 5, "crm_mon -1 runs per measurement")
	fs.BoolVar(&o.realPacemakerd, "real-pacemakerd", false, "launch the real stack with Debian's pacemakerd (and so its controller and scheduler)")
	fs.StringVar(&o.bin, "bin", "bin", "directory of our binaries")
	fs.StringVar(&o.status, "status", "cold", "gen-cib.py --status: cold (node_states, no resource history: 1 MB) or warm (full operation history: 43 MB, where one crm_mon -1 takes minutes of CPU)")
	fs.IntVar(&o.ipcBuffer, "ipc-buffer", 8<<20, "PCMK_ipc_buffer for every daemon and tool, in bytes")
	fs.StringVar(&o.genCIB, "gen-cib", "", "path of gen-cib.py (default: ../shared/bench/gen-cib.py beside the checkout)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(64)
	}
	t := &benchT{}
	defer t.cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		t.Fatalf("interrupted")
	}()
	if err := run(t, o); err != nil {
		t.Fatalf("%v", err)
	}
}

// stackResult is everything measured on one stack.
type stackResult struct {
	load       map[string]loadResult // by kind/clients
	monLive    []time.Duration       // Debian's crm_mon -1 against the daemon
	monFile    []time.Duration       // this side's crm_mon -1 on a CIB_file copy
	rssIdle    int                   // KiB, after the CIB was loaded
	rssPeak    int                   // KiB, during the updates
	loadTime   time.Duration         // from pacemakerd's start to the CIB manager answering
	statusTime time.Duration         // creating every node_state (cibadmin --create -o status)
}

type loadResult struct {
	ops             int
	secs            float64
	p50, p99        time.Duration
	errors          int
	firstErr, extra string
}

func (l loadResult) rate() float64 {
	if l.secs == 0 {
		return 0
	}
	return float64(l.ops) / l.secs
}

func run(t *benchT, o options) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (network namespaces)")
	}
	// The whole CIB travels in one IPC message (replace, query): 43 MB is
	// 2.6 MB bzip2-compressed, over Pacemaker's default 128 KiB buffer, so
	// every daemon and tool of both stacks gets the setting a site with such
	// a CIB uses (Pacemaker's daemons and tools read it from the
	// environment; the libqb server takes the larger of both sides' sizes).
	os.Setenv("PCMK_ipc_buffer", strconv.Itoa(o.ipcBuffer))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if o.genCIB == "" {
		wd, _ := os.Getwd()
		o.genCIB = filepath.Join(filepath.Dir(wd), "shared", "bench", "gen-cib.py")
	}
	for _, b := range []string{"corosync", "pacemakerd", "pacemaker-based", "pacemaker-fenced", "crm_mon"} {
		if _, err := os.Stat(filepath.Join(o.bin, b)); err != nil {
			return fmt.Errorf("our %s: %v (make build first)", b, err)
		}
	}
	work, err := os.MkdirTemp("", "cibbench")
	if err != nil {
		return err
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	cibFile := filepath.Join(work, "cib.xml")
	gen := exec.Command("python3", o.genCIB, "--nodes", strconv.Itoa(o.nodes), "--resources", strconv.Itoa(o.resources), "--status", o.status, "-o", cibFile)
	if out, err := gen.CombinedOutput(); err != nil {
		return fmt.Errorf("gen-cib.py: %v\n%s", err, out)
	}
	data, err := os.ReadFile(cibFile)
	if err != nil {
		return err
	}
	// A fresh CIB manager starts at 0.0.0; the replace must not go back.
	data = []byte(strings.Replace(string(data), `admin_epoch="0"`, `admin_epoch="1"`, 1))
	if err := os.WriteFile(cibFile, data, 0o644); err != nil {
		return err
	}
	targets := map[string]string{
		"status": strings.Join(ids(string(data), `<node_state id="([^"]+)"`, 0), ","),
		"config": strings.Join(ids(string(data), `<primitive id="(prim[0-9]+)"`, 200), ","),
	}
	fmt.Printf("CIB: %d nodes x %d resources, %.1f MB (gen-cib.py, %s status)\n", o.nodes, o.resources, float64(len(data))/1e6, o.status)

	statusFiles, err := splitStatus(data, work)
	if err != nil {
		return err
	}
	res := map[string]*stackResult{}
	for _, side := range []string{"ours", "real"} {
		r, err := measure(t, o, side, self, cibFile, statusFiles, targets, work)
		if err != nil {
			return fmt.Errorf("%s: %w", side, err)
		}
		res[side] = r
	}
	report(o, res["ours"], res["real"])
	return nil
}

// splitStatus writes each node_state of the generated CIB to a file of its
// own and returns their paths.
func splitStatus(data []byte, dir string) ([]string, error) {
	root, err := cib.ParseXML(data)
	if err != nil {
		return nil, fmt.Errorf("generated CIB: %w", err)
	}
	var out []string
	for i, ns := range cib.FirstChild(root, "status").ChildElements() {
		p := filepath.Join(dir, fmt.Sprintf("node_state-%d.xml", i))
		if err := os.WriteFile(p, []byte(cib.Serialize(ns, false)), 0o644); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func ids(s, re string, max int) []string {
	var out []string
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
		if max > 0 && len(out) == max {
			break
		}
	}
	return out
}

func conf() string {
	return `totem {
	version: 2
	cluster_name: cibbench
	transport: udpu
}
quorum {
	provider: corosync_votequorum
}
logging {
	to_stderr: yes
	to_syslog: no
}
nodelist {
	node {
		ring0_addr: 192.0.2.1
		name: node01
		nodeid: 1
	}
}
`
}

// measure starts one stack in a fresh one-node cluster, loads the CIB and
// runs every measurement; Cleanup of the cluster stops it.
func measure(t *benchT, o options, side, self, cibFile string, statusFiles []string, targets map[string]string, work string) (*stackResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	c := testcluster.New(t, testcluster.Options{Nodes: 1})
	defer c.Close()
	n := c.Node(1)
	if err := n.WriteFile("/etc/corosync/corosync.conf", []byte(conf()), 0o644); err != nil {
		return nil, err
	}
	// Pacemaker's daemons run as hacluster and need their directories.
	if out, rc, err := n.Exec(ctx, "sh", "-c", "mkdir -p /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores /var/log/pacemaker /run/crm && chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker /run/crm"); rc != 0 || err != nil {
		return nil, fmt.Errorf("dirs: %v %s", err, out)
	}
	// The CIB goes in on disk, read at start-up by either manager: a
	// cibadmin --replace of it would travel over CPG in cluster mode, which
	// our pacemaker-based cannot send yet above libcpg's 1 MiB IPC message
	// (corosync 3's libcpg splits such messages; see the report).
	cibData, err := os.ReadFile(cibFile)
	if err != nil {
		return nil, err
	}
	if err := n.WriteFile("/var/lib/pacemaker/cib/cib.xml", cibData, 0o600); err != nil {
		return nil, err
	}
	if out, rc, err := n.Exec(ctx, "chown", "hacluster:haclient", "/var/lib/pacemaker/cib/cib.xml"); rc != 0 || err != nil {
		return nil, fmt.Errorf("chown: %v %s", err, out)
	}
	corosync := abs(filepath.Join(o.bin, "corosync"))
	if side == "real" {
		corosync = "/usr/sbin/corosync"
	}
	coro, err := n.Start("corosync", corosync, "-f")
	if err != nil {
		return nil, err
	}
	if err := wait(ctx, 30*time.Second, func() error {
		if coro.Exited() {
			return fmt.Errorf("corosync exited:\n%s", coro.Output())
		}
		out, rc, _ := n.Exec(ctx, "corosync-cmapctl", "-g", "runtime.votequorum.this_node_id")
		if rc != 0 {
			return fmt.Errorf("corosync not ready: %s", out)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var argv []string
	daemons := filepath.Join(work, side+"-daemons")
	os.MkdirAll(daemons, 0o755)
	switch {
	case side == "ours":
		for _, d := range []string{"pacemaker-based", "pacemaker-fenced"} {
			os.Symlink(abs(filepath.Join(o.bin, d)), filepath.Join(daemons, d))
		}
		argv = []string{abs(filepath.Join(o.bin, "pacemakerd")), "-f", "--daemon-dir", daemons}
	case o.realPacemakerd:
		argv = []string{"/usr/sbin/pacemakerd", "-f"}
	default:
		// Our pacemakerd gives its own flags only to daemons in the first
		// directory; an empty one first leaves Pacemaker's with none.
		empty := filepath.Join(work, "empty")
		os.MkdirAll(empty, 0o755)
		for _, d := range []string{"pacemaker-based", "pacemaker-fenced"} {
			os.Symlink("/usr/lib/pacemaker/"+d, filepath.Join(daemons, d))
		}
		argv = []string{abs(filepath.Join(o.bin, "pacemakerd")), "-f", "--daemon-dir", empty, "--daemon-dir", daemons}
	}
	t0 := time.Now()
	pcmkd, err := n.Start("pacemakerd", argv...)
	if err != nil {
		return nil, err
	}
	if err := wait(ctx, 10*time.Minute, func() error {
		if pcmkd.Exited() {
			return fmt.Errorf("pacemakerd exited:\n%s", pcmkd.Output())
		}
		out, rc, _ := n.Exec(ctx, "/usr/sbin/cibadmin", "-Q", "-o", "nodes")
		if rc != 0 {
			return fmt.Errorf("CIB manager not answering: %s", out)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	based := childPid(pcmkd.Pid(), "pacemaker-based")
	if based == 0 {
		return nil, fmt.Errorf("no pacemaker-based under pacemakerd %d", pcmkd.Pid())
	}
	r := &stackResult{load: map[string]loadResult{}, loadTime: time.Since(t0)}
	if out, _, _ := n.Exec(ctx, "/usr/sbin/cibadmin", "-Q", "-o", "nodes"); !strings.Contains(out, fmt.Sprintf(`uname="node%d"`, o.nodes)) {
		return nil, fmt.Errorf("the CIB on disk was not loaded: %s", tail(out))
	}
	// Both managers discard the status section of the CIB they read from
	// disk (readCibXmlFile with discard_status), so the status goes in
	// one node_state at a time, as the controllers would write it.
	t1 := time.Now()
	for _, f := range statusFiles {
		if out, rc, err := n.Exec(ctx, "/usr/sbin/cibadmin", "--timeout", "600", "--create", "-o", "status", "--xml-file", f); rc != 0 || err != nil {
			return nil, fmt.Errorf("cibadmin --create -o status --xml-file %s: rc %d %v %s", f, rc, err, tail(out))
		}
	}
	r.statusTime = time.Since(t1)
	r.rssIdle = rssKiB(based)
	fmt.Fprintf(os.Stderr, "%s: CIB manager answering %v after start, pacemaker-based RSS %d MiB\n", side, r.loadTime.Round(time.Millisecond), r.rssIdle/1024)

	// crm_mon first, on the CIB as loaded.
	for i := 0; i < o.monRuns; i++ {
		t0 := time.Now()
		out, rc, err := n.Exec(ctx, "/usr/sbin/crm_mon", "-1")
		if rc != 0 || err != nil {
			return nil, fmt.Errorf("crm_mon -1: rc %d %v %s", rc, err, tail(out))
		}
		r.monLive = append(r.monLive, time.Since(t0))
	}
	snap := filepath.Join(work, side+"-snapshot.xml")
	if err := queryTo(ctx, n, snap); err != nil {
		return nil, err
	}
	mon := "/usr/sbin/crm_mon"
	if side == "ours" {
		mon = abs(filepath.Join(o.bin, "crm_mon"))
	}
	for i := 0; i < o.monRuns; i++ {
		cmd := exec.CommandContext(ctx, mon, "-1")
		cmd.Env = append(os.Environ(), "CIB_file="+snap)
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s -1 on CIB_file: %v %s", mon, err, tail(string(out)))
		}
		r.monFile = append(r.monFile, time.Since(t0))
	}

	for _, kind := range o.kinds {
		for _, clients := range o.clients {
			stop := make(chan struct{})
			var peak int
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(200 * time.Millisecond)
				defer tick.Stop()
				for {
					peak = max(peak, rssKiB(based))
					select {
					case <-stop:
						return
					case <-tick.C:
					}
				}
			}()
			out, rc, err := n.Exec(ctx, self, "load", "--clients", strconv.Itoa(clients), "--duration", o.duration.String(), "--kind", kind, "--targets", targets[kind])
			close(stop)
			wg.Wait()
			r.rssPeak = max(r.rssPeak, peak)
			if rc != 0 || err != nil {
				return nil, fmt.Errorf("load %s x%d: rc %d %v %s", kind, clients, rc, err, out)
			}
			lr, err := parseLoad(out)
			if err != nil {
				return nil, err
			}
			r.load[fmt.Sprintf("%s/%d", kind, clients)] = lr
			fmt.Fprintf(os.Stderr, "%s: %s x%d: %.2f ops/s (p50 %v p99 %v, %d errors %s)\n", side, kind, clients, lr.rate(), lr.p50, lr.p99, lr.errors, lr.firstErr)
			if coro.Exited() || pcmkd.Exited() {
				return nil, fmt.Errorf("a daemon exited during the load:\n%s", tail(pcmkd.Output()))
			}
		}
	}
	return r, nil
}

var loadRE = regexp.MustCompile(`ops (\d+) secs ([\d.]+) p50us (\d+) p99us (\d+) errors (\d+) ?(.*)`)

func parseLoad(out string) (loadResult, error) {
	m := loadRE.FindStringSubmatch(out)
	if m == nil {
		return loadResult{}, fmt.Errorf("load printed %q", out)
	}
	var l loadResult
	l.ops, _ = strconv.Atoi(m[1])
	l.secs, _ = strconv.ParseFloat(m[2], 64)
	p50, _ := strconv.Atoi(m[3])
	p99, _ := strconv.Atoi(m[4])
	l.p50, l.p99 = time.Duration(p50)*time.Microsecond, time.Duration(p99)*time.Microsecond
	l.errors, _ = strconv.Atoi(m[5])
	l.firstErr = strings.TrimSpace(m[6])
	return l, nil
}

// queryTo saves the daemon's CIB (Debian's cibadmin -Q) to path.
func queryTo(ctx context.Context, n *testcluster.Node, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := n.Command(ctx, "/usr/sbin/cibadmin", "-Q")
	var errOut strings.Builder
	cmd.Stdout, cmd.Stderr = f, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cibadmin -Q: %v %s", err, errOut.String())
	}
	return nil
}

func wait(ctx context.Context, d time.Duration, cond func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// childPid finds the child of parent whose command name is name.
func childPid(parent int, name string) int {
	for i := 0; i < 100; i++ {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			s := string(b)
			open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
			if open < 0 || close < open {
				continue
			}
			f := strings.Fields(s[close+1:])
			if len(f) > 1 && s[open+1:close] == name && f[1] == strconv.Itoa(parent) {
				return pid
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0
}

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			if f := strings.Fields(l); len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

func pctDur(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return pct(s, p)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func rate(r float64) string {
	if r < 10 {
		return fmt.Sprintf("%.2f/s", r)
	}
	return fmt.Sprintf("%.0f/s", r)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func report(o options, ours, real *stackResult) {
	fmt.Printf("\n%-34s %16s %16s %8s\n", "CIB updates (cib_modify, sync)", "ours", "Pacemaker 2.1.5", "ratio")
	for _, kind := range o.kinds {
		for _, c := range o.clients {
			k := fmt.Sprintf("%s/%d", kind, c)
			a, b := ours.load[k], real.load[k]
			fmt.Printf("%-34s %14s %16s %8s\n", fmt.Sprintf("%s, %d client(s)", kind, c), rate(a.rate()), rate(b.rate()), ratio(a.rate(), b.rate()))
			fmt.Printf("%-34s %16s %16s\n", "  latency p50", ms(a.p50), ms(b.p50))
			fmt.Printf("%-34s %16s %16s\n", "  latency p99", ms(a.p99), ms(b.p99))
			if a.errors+b.errors > 0 {
				fmt.Printf("%-34s %16d %16d  (%s | %s)\n", "  failed calls", a.errors, b.errors, a.firstErr, b.firstErr)
			}
		}
	}
	fmt.Printf("\n%-34s %16s %16s %8s\n", "crm_mon -1", "ours", "Pacemaker 2.1.5", "ratio")
	row := func(name string, a, b []time.Duration, p int) {
		x, y := pctDur(a, p), pctDur(b, p)
		fmt.Printf("%-34s %16s %16s %8s\n", name, ms(x), ms(y), ratio(float64(y), float64(x)))
	}
	row("Debian's crm_mon, live, p50", ours.monLive, real.monLive, 50)
	row("Debian's crm_mon, live, p99", ours.monLive, real.monLive, 99)
	row("each side's crm_mon, CIB_file p50", ours.monFile, real.monFile, 50)
	row("each side's crm_mon, CIB_file p99", ours.monFile, real.monFile, 99)
	fmt.Printf("\n%-34s %16s %16s %8s\n", "pacemaker-based", "ours", "Pacemaker 2.1.5", "ratio")
	fmt.Printf("%-34s %16s %16s %8s\n", "status in (one --create per node)", ms(ours.statusTime), ms(real.statusTime), ratio(float64(real.statusTime), float64(ours.statusTime)))
	fmt.Printf("%-34s %16s %16s %8s\n", "start-up with the CIB on disk", ms(ours.loadTime), ms(real.loadTime), ratio(float64(real.loadTime), float64(ours.loadTime)))
	fmt.Printf("%-34s %12d MiB %12d MiB %8s\n", "RSS after loading", ours.rssIdle/1024, real.rssIdle/1024, ratio(float64(ours.rssIdle), float64(real.rssIdle)))
	fmt.Printf("%-34s %12d MiB %12d MiB %8s\n", "RSS peak during updates", ours.rssPeak/1024, real.rssPeak/1024, ratio(float64(ours.rssPeak), float64(real.rssPeak)))
	fmt.Println("(ratios: throughput ours/real, latency real/ours: above 1 means ours is faster; RSS ours/real)")
}
