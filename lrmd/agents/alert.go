package agents

import (
	"os/user"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"ringmaster/lrmd"
)

// Alert is one alert agent run (services_alert_create): the executable is
// called without arguments, its parameters become environment variables
// under their own names (set_alert_env, no OCF variables), and it runs as
// the cluster user.
type Alert struct {
	ID        string
	Path      string
	TimeoutMS int64
	Params    map[string]string
	// User to run as (default "hacluster", CRM_DAEMON_USER); when it does
	// not exist the alert runs as the daemon's user.
	User string
}

// RunAlert runs an alert agent to completion (or its timeout).
func (d *Dir) RunAlert(a Alert) lrmd.Outcome {
	env := append([]string(nil), d.c.BaseEnv...)
	keys := make([]string, 0, len(a.Params))
	for k := range a.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			continue
		}
		env = append(env, k+"="+strings.ReplaceAll(a.Params[k], "\x00", ""))
	}
	name := a.User
	if name == "" {
		name = "hacluster"
	}
	var cred *syscall.Credential
	if u, err := user.Lookup(name); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	return d.Run(Action{RscID: a.ID, Class: "alert", Type: a.Path, Action: "", TimeoutMS: a.TimeoutMS,
		Args: []string{}, alertPath: a.Path, alertEnv: env, cred: cred})
}
