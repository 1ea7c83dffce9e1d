package crmresource

import (
	"time"

	"github.com/beevik/etree"

	"ringmaster/cib"
	"ringmaster/pengine"
	"ringmaster/tools/pcmkout"
)

// wait is --wait (wait_till_stable): every two seconds, schedule the
// current CIB; done when no action is pending, a timeout (ETIME) when the
// deadline passes first. The sleep is injectable for tests.
func (s *session) wait() (int, string) {
	timeoutS := 60 * 60
	if s.o.timeoutMS > 0 {
		timeoutS = (s.o.timeoutMS + 999) / 1000
	}
	clock := s.env.Now
	if clock.IsZero() {
		clock = time.Now()
	}
	start := time.Now()
	expire := clock.Add(time.Duration(timeoutS) * time.Second)
	now := func() time.Time { return clock.Add(time.Since(start)) }
	warned := s.w.quiet
	var pending []pengine.PendingAction
	for {
		if !now().Before(expire) {
			s.w.info("Pending actions:")
			for _, a := range pending {
				if a.Node != "" {
					s.w.info("\tAction %d: %s\ton %s", a.ID, a.Key, a.Node)
				} else {
					s.w.info("\tAction %d: %s", a.ID, a.Key)
				}
			}
			return 124, ""
		}
		time.Sleep(2 * time.Second)
		root, rc := s.query()
		if rc != cib.OK {
			return rc.ExitCode(), ""
		}
		doc := etree.NewDocument()
		doc.SetRoot(root.Copy())
		res, err := pengine.Schedule(doc, now(), pengine.Options{})
		if err != nil {
			return pcmkout.ExitSoftware, err.Error()
		}
		if !warned {
			if res.View().Options["dc-version"] != "2.1.5-2.1.5" {
				s.w.info("warning: wait option may not work properly in mixed-version cluster")
			}
			warned = true
		}
		pending = res.PendingActions()
		if len(pending) == 0 {
			return pcmkout.ExitOK, ""
		}
	}
}
