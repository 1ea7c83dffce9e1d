package pengine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"ringmaster/internal/testenv"
)

func TestNextIP(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.168.122.131", "192.168.122.132"},
		{"10.0.0.253", "10.0.0.254"},
		{"10.0.0.254", "10.0.1.1"},
		{"10.0.254.254", ""},
		{"fe80::1", ""},
		{"1.2.3", ""},
	} {
		if got := nextIP(tc.in); got != tc.want {
			t.Errorf("nextIP(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func bundleCIB(agentAttrs, network, extra string) string {
	return fmt.Sprintf(`<cib have-quorum="1" dc-uuid="1"><configuration><crm_config/>
<nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
<resources>
  <primitive id="before" class="ocf" provider="pacemaker" type="Dummy"/>
  <bundle id="web">
    <docker image="img:1" %s/>
    %s
    <storage><storage-mapping id="m1" source-dir-root="/srv" target-dir="/var/www" options="rw"/></storage>
    %s
  </bundle>
  <clone id="after-clone"><primitive id="after" class="ocf" provider="pacemaker" type="Dummy"/></clone>
</resources><constraints/></configuration><status/></cib>`, agentAttrs, network, extra)
}

func unpackOnly(t testing.TB, cib string) (*ClusterView, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(cib); err != nil {
		t.Fatalf("bad test CIB: %v", err)
	}
	res, err := Schedule(doc, time.Unix(0, 0), Options{StatusOnly: true})
	if err != nil {
		return nil, err
	}
	return res.View(), nil
}

func TestUnpackBundle(t *testing.T) {
	v, err := unpackOnly(t, bundleCIB(`replicas="3"`,
		`<network ip-range-start="192.0.2.254" host-netmask="24"><port-mapping id="p" port="80"/></network>`,
		`<primitive id="httpd" class="ocf" provider="heartbeat" type="apache"/>`))
	if err != nil {
		t.Fatal(err)
	}
	var b *RscView
	for _, r := range v.Resources {
		if r.ID == "web" {
			b = r
		}
	}
	if b == nil || b.Kind != "bundle" || b.Bundle == nil {
		t.Fatalf("bundle web not unpacked: %+v", b)
	}
	var ids []string
	for _, ch := range b.Children {
		ids = append(ids, ch.ID)
	}
	// children in upstream order: per replica container, ip, connection;
	// then the clone; IPs carry into the third octet past .254
	want := "web-docker-0 web-ip-192.0.2.254 web-0 web-docker-1 web-ip-192.0.3.1 web-1 web-docker-2 web-ip-192.0.3.2 web-2 web-clone"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("children:\n got %s\nwant %s", got, want)
	}
	if b.Bundle.Unique || len(b.Bundle.Replica) != 3 {
		t.Errorf("replicas-per-host=1 bundle: unique=%v replicas=%d", b.Bundle.Unique, len(b.Bundle.Replica))
	}
	for i, rep := range b.Bundle.Replica {
		name := fmt.Sprintf("web-%d", i)
		if rep.Node == nil || rep.Node.Name != name || !rep.Node.Guest || rep.Node.GuestContainer != fmt.Sprintf("web-docker-%d", i) {
			t.Errorf("replica %d: guest node %+v", i, rep.Node)
		}
		if rep.Child == nil || rep.Child.ID != fmt.Sprintf("httpd:%d", i) {
			t.Errorf("replica %d: child %+v", i, rep.Child)
			continue
		}
		if len(rep.Child.Allowed) != 1 || rep.Child.Allowed[rep.Node] != 500 {
			t.Errorf("replica %d: child allowed %v, want only its guest node at 500", i, rep.Child.Allowed)
		}
		if rep.Child.Meta["external-ip"] != rep.IPAddr {
			t.Errorf("replica %d: external-ip %q, want %q", i, rep.Child.Meta["external-ip"], rep.IPAddr)
		}
	}
	// other resources, before and after the bundle, never see its nodes
	v.Walk(func(r *RscView) {
		if r.ID != "before" && r.ID != "after:0" {
			return
		}
		for n := range r.Allowed {
			if n.Guest {
				t.Errorf("%s allowed on bundle node %s", r.ID, n.Name)
			}
		}
	})
	ct := b.Bundle.Replica[1].Container
	opts := ct.Params["run_opts"]
	for _, w := range []string{"--restart=no", "-h web-1", "-e PCMK_remote_port=3121",
		"-v /srv/web-1:/var/www:rw", "-p 192.0.3.1:80:80", "-p 192.0.3.1:3121:3121", "--add-host=web-2:192.0.3.2"} {
		if !strings.Contains(opts, w) {
			t.Errorf("run_opts %q lacks %q", opts, w)
		}
	}
}

func TestUnpackBundleVariants(t *testing.T) {
	// no network: the inner primitive cannot be controlled, the bundle is dropped
	v, err := unpackOnly(t, bundleCIB(`replicas="2"`, ``, `<primitive id="p" class="ocf" provider="heartbeat" type="apache"/>`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range v.Resources {
		if r.ID == "web" {
			t.Errorf("bundle without network kept its primitive")
		}
	}
	// a naked container: replicas without connections or guest nodes
	v, err = unpackOnly(t, bundleCIB(`promoted-max="2" replicas-per-host="2"`, ``, ``))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range v.Resources {
		if r.ID != "web" {
			continue
		}
		if len(r.Bundle.Replica) != 2 || !r.Bundle.Unique {
			t.Errorf("promoted-max=2 defaults replicas to 2, per-host 2 is unique: %+v", r.Bundle)
		}
		for _, rep := range r.Bundle.Replica {
			if rep.Remote != nil || rep.Node != nil || rep.Child != nil {
				t.Errorf("naked container replica has %+v", rep)
			}
		}
	}
}

func FuzzUnpackBundle(f *testing.F) {
	f.Add(`replicas="3"`, `<network ip-range-start="192.0.2.1" control-port="3121"><port-mapping id="p" range="80-90"/></network>`, true)
	f.Add(`replicas="x" promoted-max="-1" replicas-per-host="4"`, `<network control-port="9999"/>`, true)
	f.Add(`masters="2"`, `<network ip-range-start="::1"/>`, false)
	f.Add(`replicas="99999999999"`, `<network ip-range-start="10.0.253.250" add-host="false"/>`, true)
	f.Fuzz(func(t *testing.T, agentAttrs, network string, withPrimitive bool) {
		extra := ""
		if withPrimitive {
			extra = `<primitive id="inner" class="ocf" provider="heartbeat" type="apache"/>`
		}
		doc := etree.NewDocument()
		if doc.ReadFromString(bundleCIB(agentAttrs, network, extra)) != nil {
			return
		}
		res, err := Schedule(doc, time.Unix(0, 0), Options{})
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("scheduler failed: %v", err)
		}
		if err == nil {
			_ = res.View()
		}
	})
}

// TestBundleProbesAndConnectionDigests checks two bundle rules on
// Pacemaker's year-2038 case, which runs three bundles on three
// controllers: the bundles themselves are never probed (their replicas'
// parts are), and the remote connections, whose addr is "#uname", are
// compared against the digests recorded with their container's host name,
// so nothing reloads them.
func TestBundleProbesAndConnectionDigests(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(testenv.Shared(t, "conformance", "scheduler", "xml", "year-2038.xml")); err != nil {
		t.Fatal(err)
	}
	res, err := Schedule(doc, time.Now(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Graph.FindElements("//rsc_op") {
		key := e.SelectAttrValue("operation_key", "")
		for _, b := range []string{"rabbitmq-bundle", "galera-bundle", "redis-bundle", "haproxy-bundle"} {
			if key == b+"_monitor_0" {
				t.Errorf("the bundle itself is probed: %s", key)
			}
			if strings.HasPrefix(key, b+"-") && e.SelectAttrValue("operation", "") == "reload-agent" {
				t.Errorf("bundle connection reloaded although its digest matches: %s", key)
			}
		}
	}
}
