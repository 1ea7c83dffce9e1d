package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"ringmaster/cib"
	"ringmaster/tools/cibadmin"
)

// loadMain is `cibbench load`: it runs inside the node (so the libqb shared
// memory under /dev/shm is the daemon's), opens --clients connections to
// cib_rw, and has each make synchronous cib_modify calls one after the other
// until --duration is up. It prints one line:
//
//	ops N secs S p50us A p99us B errors E [first error]
func loadMain(args []string) int {
	fs := pflag.NewFlagSet("cibbench load", pflag.ContinueOnError)
	clients := fs.Int("clients", 1, "concurrent CIB clients")
	dur := fs.Duration("duration", 10*time.Second, "how long to send updates")
	kind := fs.String("kind", "status", "status: modify a node_state (num_updates); config: modify a primitive (epoch, disk write)")
	targets := fs.String("targets", "", "comma-separated ids to modify (node_state ids or primitive ids)")
	if err := fs.Parse(args); err != nil {
		return 64
	}
	ids := strings.Split(*targets, ",")
	if *targets == "" || *clients < 1 {
		fmt.Fprintln(os.Stderr, "cibbench load: --targets and --clients >= 1 needed")
		return 64
	}
	conns := make([]*cibadmin.LiveConn, *clients)
	for i := range conns {
		c, rc := cibadmin.DialLive("cib_rw", fmt.Sprintf("cibbench-%d", i), 60*time.Second)
		if rc != cib.OK {
			fmt.Fprintf(os.Stderr, "cibbench load: connect client %d: %v\n", i, rc)
			return 1
		}
		defer c.Close()
		conns[i] = c
	}
	var (
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr string
		wg       sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(*dur)
	for ci, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := 0; time.Now().Before(end); i++ {
				id := ids[(ci*7919+i)%len(ids)]
				req := request(*kind, id, fmt.Sprintf("c%d-%d", ci, i))
				t0 := time.Now()
				res := c.Perform(req)
				mine = append(mine, time.Since(t0))
				if res.Rc != cib.OK {
					mu.Lock()
					if errs == 0 {
						firstErr = fmt.Sprintf("%s %s: %v", req.Op, id, res.Rc)
					}
					errs++
					mu.Unlock()
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	slices.Sort(lat)
	fmt.Printf("ops %d secs %.3f p50us %d p99us %d errors %d %s\n", len(lat), secs,
		pct(lat, 50).Microseconds(), pct(lat, 99).Microseconds(), errs, firstErr)
	return 0
}

// request is one cibadmin --modify: for status, what the controller and
// attrd do all day (a node_state attribute; num_updates goes up, nothing is
// written to disk); for config, an administrator's change (a primitive's
// description; epoch goes up and cib.xml is rewritten).
func request(kind, id, val string) cib.Request {
	if kind == "config" {
		el, _ := cib.ParseXMLString(fmt.Sprintf(`<primitive id="%s" description="%s"/>`, cib.Escape(id), val))
		return cib.Request{Op: "cib_modify", Section: "resources", Data: el}
	}
	el, _ := cib.ParseXMLString(fmt.Sprintf(`<node_state id="%s" crm-debug-origin="%s"/>`, cib.Escape(id), val))
	return cib.Request{Op: "cib_modify", Section: "status", Data: el}
}

// pct is the p-th percentile of sorted durations (nearest rank).
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return d[i-1]
}
