package crmresource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ringmaster/pengine"
	"ringmaster/pengine/rules"
	"ringmaster/tools/pcmkout"
)

// --validate and --force-{start,stop,check,promote,demote}: crm_resource
// runs the agent itself, bypassing the cluster
// (cli_resource_execute_from_params in tools/crm_resource_runtime.c).

// Execution status (enum pcmk_exec_status) words, pcmk_exec_status_str.
const (
	execDone         = 0
	execError        = 4
	execTimeout      = 2
	execNotInstalled = 7
)

var execStatusText = map[int]string{0: "complete", 2: "Timed Out", 4: "Error", 7: "Not installed"}

func agentAction(op string) string {
	switch op {
	case "validate":
		return "validate-all"
	case "force-check":
		return "monitor"
	case "force-start", "force-stop", "force-demote", "force-promote":
		return op[6:]
	}
	return op
}

// executeAgent is the cmd_execute_agent branch of main.
func (s *session) executeAgent(r *cfgRsc) (int, string) {
	o := s.o
	if o.cmdlineConfig {
		params := map[string]string{}
		for _, p := range o.cmdlineParams {
			params[p.Name] = p.Value
		}
		return s.execFromParams("", o.vClass, o.vProvider, o.vAgent, params), ""
	}
	switch o.opName {
	case "force-start", "force-demote", "force-promote":
		if r.variant == variantClone && len(locateResource(s.view, o.rscID)) > 0 && !o.force {
			s.w.err("It is not safe to %s %s here: the cluster claims it is already active", o.opName, r.id)
			s.w.err("Try setting target-role=Stopped first or specifying the force option")
			return 107, ""
		}
	}
	name := o.rscID
	if r.variant == variantClone && len(r.children) > 0 {
		r = r.children[0]
	}
	switch {
	case r.variant == variantGroup:
		s.w.err("Sorry, the %s option doesn't support group resources", o.opName)
		return pcmkout.ExitUnimpl, ""
	case r.variant == variantContainer || (r.parent != nil && r.parent.variant == variantContainer):
		s.w.err("Sorry, the %s option doesn't support bundled resources", o.opName)
		return pcmkout.ExitUnimpl, ""
	}
	if r.parent == nil || r.parent.variant != variantClone {
		name = r.id
	}
	x := r.xml
	params := map[string]string{}
	ctx := &rules.Context{Now: s.env.Now}
	_ = rules.UnpackNVPairs(x, "instance_attributes", ctx, params, false)
	for p := r.parent; p != nil; p = p.parent {
		_ = rules.UnpackNVPairs(p.xml, "instance_attributes", ctx, params, false)
	}
	meta := map[string]string{}
	_ = rules.UnpackNVPairs(x, "meta_attributes", ctx, meta, false)
	for p := r.parent; p != nil; p = p.parent {
		_ = rules.UnpackNVPairs(p.xml, "meta_attributes", ctx, meta, false)
	}
	for k, v := range meta {
		params["CRM_meta_"+k] = v
	}
	if o.timeoutMS <= 0 {
		o.timeoutMS = configuredTimeout(x, agentAction(o.opName))
	}
	return s.execFromParams(name, x.SelectAttrValue("class", ""), x.SelectAttrValue("provider", ""),
		x.SelectAttrValue("type", ""), params), ""
}

// configuredTimeout is pe_get_configured_timeout: the op's timeout, else
// the default 20s.
func configuredTimeout(x *etree.Element, action string) int {
	if ops := x.SelectElement("operations"); ops != nil {
		for _, op := range ops.SelectElements("op") {
			if op.SelectAttrValue("name", "") == action {
				if t := parseMsec(op.SelectAttrValue("timeout", "")); t > 0 {
					return t
				}
			}
		}
	}
	return 20000
}

// execFromParams is cli_resource_execute_from_params; it returns the
// agent's (OCF-mapped) exit code, which crm_resource exits with.
func (s *session) execFromParams(name, class, prov, typ string, params map[string]string) int {
	o := s.o
	action := agentAction(o.opName)
	timeout := o.timeoutMS
	if timeout <= 0 {
		timeout = 20000
	}
	params["CRM_meta_timeout"] = strconv.Itoa(timeout)
	params["crm_feature_set"] = "3.16.2"
	for _, p := range o.overrideParams {
		params[p.Name] = p.Value
	}
	effClass := strings.ToLower(class)
	r := s.roots()
	if effClass == "service" {
		if _, err := os.Stat(filepath.Join(r.LSB, typ)); err == nil {
			effClass = "lsb"
		}
	}
	rc, status, reason := 0, execDone, ""
	var stdout, stderr string
	switch effClass {
	case "ocf", "lsb":
		var path string
		var args []string
		env := os.Environ()
		if effClass == "ocf" {
			path = filepath.Join(strings.Split(r.OCF, ":")[0], prov, typ)
			args = []string{action}
			for k, v := range params {
				env = append(env, "OCF_RESKEY_"+k+"="+v)
			}
			env = append(env, "OCF_ROOT="+r.OCFRoot, "OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=1",
				"OCF_EXIT_REASON_PREFIX=ocf-exit-reason:",
				"OCF_RESOURCE_INSTANCE="+orDefault(name, "test"), "OCF_RESOURCE_TYPE="+typ)
			if prov != "" {
				env = append(env, "OCF_RESOURCE_PROVIDER="+prov)
			}
		} else {
			path = filepath.Join(r.LSB, typ)
			a := action
			if a == "monitor" {
				a = "status"
			}
			args = []string{a}
		}
		if o.checkLevel >= 0 {
			env = append(env, "OCF_CHECK_LEVEL="+strconv.Itoa(o.checkLevel))
		}
		if o.verbose > 0 {
			env = append(env, "HA_debug=1")
		} else {
			env = append(env, "HA_debug=0")
		}
		if o.verbose > 1 {
			env = append(env, "OCF_TRACE_RA=1")
		}
		if os.Getenv("OCF_TRACE_FILE") == "" {
			env = append(env, "OCF_TRACE_FILE=/dev/stderr")
		}
		if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
			rc, status, reason = 5, execNotInstalled, path+": No such file or directory"
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout)*time.Millisecond)
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Env = env
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		timedOut := ctx.Err() != nil
		cancel()
		stdout, stderr = so.String(), se.String()
		var ee *exec.ExitError
		switch {
		case timedOut:
			rc, status, reason = 1, execTimeout, "Resource agent did not exit within specified timeout"
		case errors.As(err, &ee):
			rc = ee.ExitCode()
		case err != nil:
			rc, status, reason = 5, execNotInstalled, err.Error()
		}
		if effClass == "ocf" && reason == "" {
			reason = exitReason(stderr)
		}
		if effClass == "lsb" && action == "monitor" && status == execDone {
			// services_result2ocf for LSB status.
			switch rc {
			case 0:
			case 1, 2, 3:
				rc = 7
			default:
				rc = 1
			}
		}
	default:
		rc, status = 3, execError
		reason = fmt.Sprintf("Manual execution of the %s standard is unsupported", orDefault(class, "unspecified"))
	}
	s.agentResult(name, class, prov, typ, action, rc, status, reason, stdout, stderr)
	return rc
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// agentResult is the resource-agent-action message.
func (s *session) agentResult(name, class, prov, typ, action string, rc, status int, reason, stdout, stderr string) {
	o, w := s.o, s.w
	if w.xml {
		n := pcmkout.NewNode("resource-agent-action", "action", o.opName, "class", class, "type", typ)
		if name != "" {
			n.Set("rsc", name)
		}
		if prov != "" {
			n.Set("provider", prov)
		}
		ov := n.AddNew("overrides")
		for _, p := range o.overrideParams {
			e := ov.AddNew("override", "name", p.Name, "value", p.Value)
			if name != "" {
				e.Set("rsc", name)
			}
		}
		st := n.AddNew("agent-status", "code", strconv.Itoa(rc), "message", pengine.OCFExitText(rc),
			"execution_code", strconv.Itoa(status), "execution_message", execStatusText[status])
		if reason != "" {
			st.Set("reason", reason)
		}
		if stdout != "" || stderr != "" {
			c := n.AddNew("command", "code", strconv.Itoa(rc))
			if stdout != "" {
				c.AddNew("output", "source", "stdout").Text = stdout
			}
			if stderr != "" {
				c.AddNew("output", "source", "stderr").Text = stderr
			}
		}
		w.add(n)
		return
	}
	for _, p := range o.overrideParams {
		if name == "" {
			w.t.Item("Overriding the cluster configuration with '%s' = '%s'", p.Name, p.Value)
		} else {
			w.t.Item("Overriding the cluster configuration for '%s' with '%s' = '%s'", name, p.Name, p.Value)
		}
	}
	what := o.opName
	if name != "" {
		what += " for " + name
	}
	agent := class
	if prov != "" {
		agent += ":" + prov
	}
	agent += ":" + typ
	extra := ""
	if reason != "" {
		extra = ": " + reason
	}
	if status == execDone {
		w.info("Operation %s (%s) returned %d (%s%s)", what, agent, rc, pengine.OCFExitText(rc), extra)
	} else {
		w.err("Operation %s (%s) could not be executed (%s%s)", what, agent, execStatusText[status], extra)
	}
	if o.verbose == 0 && action == "validate-all" {
		return
	}
	if stdout != "" {
		fmt.Fprintf(w.stdout, "%s\n", stdout)
	}
	if stderr != "" {
		fmt.Fprintf(w.stdout, "%s\n", stderr)
	}
}

// exitReason is parse_exit_reason_from_stderr: the text after the last
// "ocf-exit-reason:" up to the end of its line (at most 128 bytes).
func exitReason(stderr string) string {
	const prefix = "ocf-exit-reason:"
	i := strings.LastIndex(stderr, prefix)
	if i < 0 {
		return ""
	}
	r := stderr[i+len(prefix):]
	if j := strings.IndexByte(r, '\n'); j >= 0 {
		r = r[:j]
	}
	if len(r) > 128 {
		r = r[:128]
	}
	return r
}
