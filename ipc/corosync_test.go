package ipc

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

// startCorosync runs Debian's corosync -f, one node on 127.0.0.1, in the
// network namespace ns and in a private mount namespace whose /run, /dev/shm,
// /var/lib/corosync, /var/log/corosync and /etc/corosync are fresh tmpfs, so the
// host is untouched. It returns corosync's pid (ip netns exec and unshare exec
// in place, so the pid we start is corosync's).
func startCorosync(t testing.TB, ns string, system string) int {
	t.Helper()
	corosync := testenv.RequireBinary(t, "corosync")
	unshare := testenv.RequireBinary(t, "unshare")
	dir := t.TempDir()
	conf := fmt.Sprintf(`totem {
	version: 2
	cluster_name: rmipctest
	transport: udpu
	crypto_cipher: none
	crypto_hash: none
}
nodelist {
	node {
		ring0_addr: 127.0.0.1
		nodeid: 1
	}
}
quorum {
	provider: corosync_votequorum
}
logging {
	to_stderr: yes
	to_syslog: no
	to_logfile: no
}
%s
`, system)
	confPath := filepath.Join(dir, "corosync.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `set -e
mount -t tmpfs -o mode=0755 rmipc-run /run
mkdir -p /run/lock
mount -t tmpfs -o mode=1777 rmipc-shm /dev/shm
mount -t tmpfs -o mode=0755 rmipc-lib /var/lib/corosync
mount -t tmpfs -o mode=0755 rmipc-log /var/log/corosync
mount -t tmpfs -o mode=0755 rmipc-etc /etc/corosync
cp "$1" /etc/corosync/corosync.conf
exec "$2" -f
`
	cmd := exec.Command("ip", "netns", "exec", ns, unshare, "-m", "--propagation", "private",
		"sh", "-c", script, "sh", confPath, corosync)
	logf, err := os.Create(filepath.Join(dir, "corosync.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "corosync.log"))
			t.Logf("corosync log:\n%s", b)
		}
	})
	return cmd.Process.Pid
}

// dialIn connects to name inside ns, retrying while the daemon starts.
func dialIn(t testing.TB, ns, name string, opts ClientOptions) *Client {
	t.Helper()
	var c *Client
	var err error
	for range 100 {
		inNetns(t, ns, func() { c, err = Dial(name, opts) })
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("dial %s in %s: %v", name, ns, err)
	return nil
}

// TestOurClientAgainstRealCorosync reads totem.cluster_name from Debian's
// corosync 3.1.7 with our client, over SOCKET (system.qb_ipc_type: socket)
// and over the default SHM, reaching corosync's private /dev/shm through
// /proc/<pid>/root.
func TestOurClientAgainstRealCorosync(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real corosync in a namespace")
	}
	for _, tc := range []struct {
		tr     Transport
		system string
	}{
		{Socket, "system {\n\tqb_ipc_type: socket\n}"},
		{SHM, ""},
	} {
		t.Run(tc.tr.String(), func(t *testing.T) {
			ns := netns(t)
			pid := startCorosync(t, ns, tc.system)
			shm := fmt.Sprintf("/proc/%d/root/dev/shm", pid)
			c := dialIn(t, ns, "cmap", ClientOptions{ShmDir: shm})
			if c.Transport() != tc.tr {
				t.Fatalf("corosync chose %v, want %v", c.Transport(), tc.tr)
			}
			if cr := c.ServerCreds(); cr.PID != int32(pid) || cr.UID != 0 {
				t.Errorf("server credentials %v, want pid %d uid 0", cr, pid)
			}
			// corosync-cmapctl starts with SET_CURRENT_MAP(icmap); do the same.
			m := NewRequest(cmapReqSetCurrentMap, 8)
			r, err := c.Request(m, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := ParseResponseHeader(r); h.ID != cmapResSetCurrentMap || h.Error != csOK || len(r) != 24 {
				t.Fatalf("SET_CURRENT_MAP reply %+v (%d bytes)", h, len(r))
			}
			for range 200 {
				v, err := cmapGet(c, "totem.cluster_name")
				if err != nil {
					t.Fatal(err)
				}
				if v != "rmipctest" {
					t.Fatalf("totem.cluster_name = %q", v)
				}
			}
			t.Logf("read totem.cluster_name = rmipctest from real corosync over %v", tc.tr)

			// Events: track the prefix "rmtest." and set a key in it; corosync
			// sends a notify event (id 9) on the event channel.
			tr := NewRequest(cmapReqTrackAdd, 296-RequestHeaderSize)
			binary.LittleEndian.PutUint16(tr[16:], uint16(len("rmtest.")))
			copy(tr[24:], "rmtest.")
			binary.LittleEndian.PutUint32(tr[280:], cmapTrackAdd|cmapTrackModify|cmapTrackPrefix)
			binary.LittleEndian.PutUint64(tr[288:], 0x1234)
			if r, err = c.Request(tr, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if h, _ := ParseResponseHeader(r); h.ID != cmapResTrackAdd || h.Error != csOK || len(r) != 32 {
				t.Fatalf("TRACK_ADD reply %+v (%d bytes)", h, len(r))
			}
			for i := range 50 {
				set := NewRequest(cmapReqSet, 296-RequestHeaderSize+4)
				binary.LittleEndian.PutUint16(set[16:], uint16(len("rmtest.a")))
				copy(set[24:], "rmtest.a")
				binary.LittleEndian.PutUint64(set[280:], 4)
				set[288] = cmapTypeU32
				binary.LittleEndian.PutUint32(set[296:], uint32(1000+i))
				if r, err = c.Request(set, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				if h, _ := ParseResponseHeader(r); h.ID != cmapResSet || h.Error != csOK {
					t.Fatalf("SET reply %+v", h)
				}
				ev, err := c.RecvEvent(10 * time.Second)
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				h, _ := ParseResponseHeader(ev)
				if h.ID != cmapResNotify || len(ev) < 336+4 ||
					binary.LittleEndian.Uint64(ev[24:]) != 0x1234 ||
					binary.LittleEndian.Uint32(ev[336:]) != uint32(1000+i) {
					t.Fatalf("event %d: %+v %x", i, h, ev)
				}
			}
			c.Close()
		})
	}
}
