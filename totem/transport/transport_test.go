package transport

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ringmaster/conf"
	"ringmaster/internal/testenv"
	"ringmaster/totem/wire"
)

func TestSelectBindAddr(t *testing.T) {
	p := netip.MustParsePrefix
	addrs := []IfAddr{{Prefix: p("127.0.0.1/8")}, {Prefix: p("10.0.0.5/16")}, {Prefix: p("192.0.2.7/24")}, {Prefix: p("192.0.2.1/24")}}
	for _, tc := range []struct{ bindnet, want string }{
		{"192.0.2.0", "192.0.2.7"}, // first network match
		{"192.0.2.1", "192.0.2.1"}, // exact match wins over an earlier network match
		{"10.0.255.255", "10.0.0.5"},
		{"127.0.0.1", "127.0.0.1"},
	} {
		got, err := SelectBindAddr(netip.MustParseAddr(tc.bindnet), addrs)
		if err != nil || got.Prefix.Addr().String() != tc.want {
			t.Errorf("%s: got %v %v, want %s", tc.bindnet, got.Prefix, err, tc.want)
		}
	}
	if _, err := SelectBindAddr(netip.MustParseAddr("198.51.100.1"), addrs); err == nil {
		t.Error("no match accepted")
	}
}

// testNet is two network namespaces joined by a veth pair: node a has
// 192.0.2.1 (and 192.0.2.9, an address no nodelist lists), node b 192.0.2.2.
type testNet struct{ a, b string }

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func newTestNet(t *testing.T) testNet {
	if testing.Short() {
		t.Skip("network namespaces: skipped with -short")
	}
	testenv.RequireRoot(t)
	testenv.RequireBinary(t, "ip")
	pid := os.Getpid()
	n := testNet{a: fmt.Sprintf("rmtw%d-a", pid), b: fmt.Sprintf("rmtw%d-b", pid)}
	va, vb := fmt.Sprintf("rtw%da", pid), fmt.Sprintf("rtw%db", pid)
	for _, ns := range []string{n.a, n.b} {
		run(t, "ip", "netns", "add", ns)
		ns := ns
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	run(t, "ip", "link", "add", va, "netns", n.a, "type", "veth", "peer", "name", vb, "netns", n.b)
	for _, c := range [][]string{
		{"-n", n.a, "addr", "add", "192.0.2.1/24", "dev", va},
		{"-n", n.a, "addr", "add", "192.0.2.9/24", "dev", va},
		{"-n", n.b, "addr", "add", "192.0.2.2/24", "dev", vb},
		{"-n", n.a, "link", "set", "dev", va, "up"},
		{"-n", n.b, "link", "set", "dev", vb, "up"},
		{"-n", n.a, "link", "set", "dev", "lo", "up"},
		{"-n", n.b, "link", "set", "dev", "lo", "up"},
	} {
		run(t, append([]string{"ip"}, c...)...)
	}
	return n
}

// inNS runs f on an OS thread switched into the namespace; sockets made
// there stay in it. The thread is never unlocked, so Go discards it.
func inNS(t *testing.T, ns string, f func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		f()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatalf("netns %s: %v", ns, err)
	}
}

func open(t *testing.T, ns string, cfg Config) *Transport {
	t.Helper()
	var tr *Transport
	var err error
	inNS(t, ns, func() { tr, err = Open(cfg) })
	if err != nil {
		t.Fatalf("open in %s: %v", ns, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// recvWithin waits (boundedly) for the next packet matching ok.
func recvWithin(t *testing.T, tr *Transport, what string, ok func(Packet) bool) Packet {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-tr.Recv():
			if ok(p) {
				return p
			}
		case <-deadline:
			t.Fatalf("%s: nothing received", what)
		}
	}
}

func waitCounter(t *testing.T, what string, get func() uint64, want uint64) {
	t.Helper()
	for i := 0; i < 200 && get() < want; i++ {
		time.Sleep(25 * time.Millisecond)
	}
	if got := get(); got != want {
		t.Errorf("%s: %d, want %d", what, got, want)
	}
}

var (
	ip1, ip2 = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	members  = []Member{{1, ip1}, {2, ip2}}
)

func join(from wire.NodeID) *wire.Join {
	return &wire.Join{Header: wire.Header{NodeID: from}, From: wire.NodeAddr(from), RingSeq: 1,
		Proc: []wire.Addr{wire.NodeAddr(from)}}
}

func isType(typ wire.MsgType) func(Packet) bool {
	return func(p Packet) bool { return p.Msg != nil && p.Msg.Type() == typ }
}

func TestUDPU(t *testing.T) {
	n := newTestNet(t)
	a := open(t, n.a, Config{Mode: UDPU, LocalAddr: ip1, Members: members, BlockUnlisted: true, Framing: wire.V3})
	b := open(t, n.b, Config{Mode: UDPU, LocalAddr: ip2, Members: members, BlockUnlisted: true, Framing: wire.V3})

	if err := a.SendMsg(All, join(1), true); err != nil {
		t.Fatal(err)
	}
	p := recvWithin(t, b, "join at b", isType(wire.TypeJoin))
	if p.From.Addr() != ip1 || p.From.Port() == DefaultPort || p.Msg.Hdr().NodeID != 1 {
		t.Errorf("join from %v nodeid %d", p.From, p.Msg.Hdr().NodeID)
	}
	// udpu sends the node its own copy over the network.
	recvWithin(t, a, "own join at a", isType(wire.TypeJoin))

	tok := &wire.OrfToken{Header: wire.Header{NodeID: 1}, RingID: wire.RingID{Rep: 1, Seq: 9}, Aru: ^uint32(0), AruAddr: 1}
	if err := a.SendMsg(2, tok, false); err != nil {
		t.Fatal(err)
	}
	p = recvWithin(t, b, "token at b", isType(wire.TypeOrfToken))
	if p.From != netip.AddrPortFrom(ip1, DefaultPort) {
		t.Errorf("token from %v, want 192.0.2.1:5405 (tokens leave from the receive socket)", p.From)
	}
	if err := a.SendMsg(7, tok, false); err == nil {
		t.Error("send to an unknown node succeeded")
	}

	// A datagram from an address outside the nodelist, and garbage from a
	// listed one, are dropped and counted.
	inNS(t, n.a, func() {
		for _, src := range []string{"192.0.2.9:0", "192.0.2.1:0"} {
			c, err := net.ListenPacket("udp4", src)
			if err != nil {
				t.Error(err)
				return
			}
			c.WriteTo(wire.Encode(join(1), wire.V3)[:20], &net.UDPAddr{IP: net.IP{192, 0, 2, 2}, Port: DefaultPort})
			c.Close()
		}
	})
	waitCounter(t, "dropped unlisted", b.Stats.DroppedUnlisted.Load, 1)
	waitCounter(t, "dropped undecodable", b.Stats.DroppedDecode.Load, 1)
}

// 2.x udpu: regular multicasts skip inactive members, flush ones do not.
func TestUDPUInactive(t *testing.T) {
	n := newTestNet(t)
	cfg := Config{Mode: UDPU, LocalAddr: ip1, Members: members, InactiveUntilJoined: true, Merge: time.Hour}
	a := open(t, n.a, cfg)
	b := open(t, n.b, Config{Mode: UDPU, LocalAddr: ip2, Members: members})
	a.Send(All, []byte("regular"), false) // b is not active yet: skipped
	a.Send(All, []byte("flush"), true)
	p := recvWithin(t, b, "flush at b", func(Packet) bool { return true })
	if string(p.Data) != "flush" {
		t.Errorf("b got %q first; regular multicast reached an inactive member", p.Data)
	}
	a.SetActive(2, true)
	a.Send(All, []byte("regular2"), false)
	p = recvWithin(t, b, "regular at b", func(Packet) bool { return true })
	if string(p.Data) != "regular2" {
		t.Errorf("b got %q", p.Data)
	}
}

func TestUDP(t *testing.T) {
	n := newTestNet(t)
	group := netip.AddrFrom4([4]byte{239, 192, byte(os.Getpid() >> 8), byte(os.Getpid())})
	cfg := func(local netip.Addr) Config {
		return Config{Mode: UDP, LocalAddr: local, McastAddr: group, TTL: 1, Members: members, Framing: wire.V3}
	}
	a := open(t, n.a, cfg(ip1))
	b := open(t, n.b, cfg(ip2))
	md := &wire.MergeDetect{Header: wire.Header{NodeID: 1}, From: wire.NodeAddr(1), RingID: wire.RingID{Rep: 1, Seq: 5}}
	if err := a.SendMsg(All, md, true); err != nil {
		t.Fatal(err)
	}
	p := recvWithin(t, b, "merge detect at b", isType(wire.TypeMergeDetect))
	if p.From != netip.AddrPortFrom(ip1, DefaultPort-1) {
		t.Errorf("multicast from %v, want 192.0.2.1:5404", p.From)
	}
	p = recvWithin(t, a, "own merge detect at a", isType(wire.TypeMergeDetect))
	if a.Stats.SelfDelivered.Load() != 1 {
		t.Errorf("self copy not from the local loop")
	}
	tok := &wire.OrfToken{Header: wire.Header{NodeID: 2}, RingID: wire.RingID{Rep: 1, Seq: 5}}
	if err := b.SendMsg(1, tok, false); err != nil {
		t.Fatal(err)
	}
	p = recvWithin(t, a, "token at a", isType(wire.TypeOrfToken))
	if p.From != netip.AddrPortFrom(ip2, DefaultPort-1) {
		t.Errorf("token from %v, want 192.0.2.2:5404", p.From)
	}
}

// 2.x framing with the default aes256/sha1 wrapper; a node with another
// key drops (and counts) everything.
func TestUDPU2Crypto(t *testing.T) {
	n := newTestNet(t)
	key := make([]byte, wire.AuthKeyLen)
	for i := range key {
		key[i] = byte(i)
	}
	other := append([]byte(nil), key...)
	other[0] ^= 1
	ca, _ := wire.NewCrypto(wire.CipherAES256, wire.HashSHA1, key)
	cb, _ := wire.NewCrypto(wire.CipherAES256, wire.HashSHA1, key)
	cc, _ := wire.NewCrypto(wire.CipherAES256, wire.HashSHA1, other)
	a := open(t, n.a, Config{Mode: UDPU, LocalAddr: ip1, Members: members, Framing: wire.V2, Crypto: ca})
	b := open(t, n.b, Config{Mode: UDPU, LocalAddr: ip2, Members: members, Framing: wire.V2, Crypto: cb})
	j := &wire.Join{Header: wire.Header{NodeID: 1}, From: wire.Addr2(wire.IPv4Addr(1, 192, 0, 2, 1)), RingSeq: 1}
	j.Proc = []wire.Addr{j.From}
	if err := a.SendMsg(All, j, true); err != nil {
		t.Fatal(err)
	}
	p := recvWithin(t, b, "2.x join at b", isType(wire.TypeJoin))
	if got := p.Msg.(*wire.Join); !got.From.Equal2(j.From) || len(p.Data) != ca.SealedLen(wire.EncodedLen(j, wire.V2)) {
		t.Errorf("join %+v (%d bytes)", got, len(p.Data))
	}
	b.Close()
	b2 := open(t, n.b, Config{Mode: UDPU, LocalAddr: ip2, Members: members, Framing: wire.V2, Crypto: cc})
	a.SendMsg(All, j, true)
	waitCounter(t, "dropped by crypto", b2.Stats.DroppedCrypto.Load, 1)
	if cc.Stats.Digest.Load() != 1 {
		t.Errorf("digest failures %d", cc.Stats.Digest.Load())
	}
}

// TestRealCorosync puts our transport next to Debian's corosync 3.1.7
// (node 2, in its own namespace with private /run and /dev/shm), over udpu
// and over udp multicast (group derived from the cluster name on both
// sides): we must receive and decode its joins, and corosync must accept
// ours, which shows as node 1 appearing in the proc list of its next joins.
func TestRealCorosync(t *testing.T) {
	for _, mode := range []Mode{UDPU, UDP} {
		t.Run(mode.String(), func(t *testing.T) { testRealCorosync(t, mode) })
	}
}

func testRealCorosync(t *testing.T, mode Mode) {
	n := newTestNet(t)
	corosync := testenv.RequireBinary(t, "corosync")
	testenv.RequireBinary(t, "unshare")
	dir := t.TempDir()
	confPath := filepath.Join(dir, "corosync.conf")
	os.WriteFile(confPath, []byte(`totem {
	version: 2
	cluster_name: rmtw
	transport: `+mode.String()+`
	crypto_cipher: none
	crypto_hash: none
}
nodelist {
	node {
		ring0_addr: 192.0.2.1
		nodeid: 1
	}
	node {
		ring0_addr: 192.0.2.2
		nodeid: 2
	}
}
quorum {
	provider: corosync_votequorum
}
system {
	state_dir: `+dir+`
}
logging {
	to_stderr: yes
	to_syslog: no
	to_logfile: no
}
`), 0o644)
	a := open(t, n.a, Config{Mode: mode, LocalAddr: ip1, Members: members, BlockUnlisted: true, Framing: wire.V3,
		McastAddr: conf.ClusterMcastAddr("rmtw", 0, false)})

	cmd := exec.Command("ip", "netns", "exec", n.b, "unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", `mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /dev/shm && exec "$0" -f -c "$1"`, corosync, confPath)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(unix.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("corosync log:\n%s", log.String())
		}
	})

	p := recvWithin(t, a, "join from corosync", func(p Packet) bool {
		return p.Msg != nil && p.Msg.Type() == wire.TypeJoin && p.Msg.Hdr().NodeID == 2
	})
	t.Logf("corosync join: proc=%v ring_seq=%d", p.Msg.(*wire.Join).Proc, p.Msg.(*wire.Join).RingSeq)
	// Like a gathering SRP, repeat our join (every 100 ms here): corosync
	// ignores joins from outside the new ring while it is in COMMIT or
	// RECOVERY forming its singleton ring.
	seen := false
	for i := 0; i < 100 && !seen; i++ {
		if err := a.SendMsg(All, join(1), true); err != nil {
			t.Fatal(err)
		}
		timeout := time.After(100 * time.Millisecond)
	wait:
		for {
			select {
			case p := <-a.Recv():
				if j, ok := p.Msg.(*wire.Join); ok && j.NodeID == 2 {
					for _, x := range j.Proc {
						if x.Node == 1 {
							t.Logf("corosync now gathers with proc=%v ring_seq=%d", j.Proc, j.RingSeq)
							seen = true
						}
					}
				}
			case <-timeout:
				break wait
			}
		}
	}
	if !seen {
		t.Fatal("corosync never listed node 1 in its joins")
	}
	if a.Stats.DroppedDecode.Load() != 0 {
		t.Errorf("%d datagrams from corosync failed to decode", a.Stats.DroppedDecode.Load())
	}
}
