package crmattribute

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"ringmaster/cib"
)

// The wrappers build a crm_attribute command line as a string and let the
// shell split it on blanks ($options unquoted); we do the same with
// strings.Fields, so an empty node name or a value with a blank behaves
// exactly as in Pacemaker's scripts.

// callAttribute runs crm_attribute in-process with the words of line.
func callAttribute(env Env, line string, stdout, stderr io.Writer) int {
	sub := env
	sub.Prog = "crm_attribute" // found on PATH by the scripts
	sub.Args = strings.Fields(line)
	sub.Stdout, sub.Stderr = stdout, stderr
	return Attribute(sub)
}

// crmNodeName is `crm_node -n`: the controller's name for this node. When
// the controller is not running crm_node prints its error and exits 102.
func crmNodeName(env Env, stderr io.Writer) string {
	if env.NodeName != nil {
		if name, rc := env.NodeName(); rc == cib.OK {
			return name
		}
	}
	fmt.Fprint(stderr, "error: Could not connect to controller: Connection refused\n")
	return ""
}

const standbyUsage = `Usage: crm_standby <command> [options]

Common options:
 --help                 Display this text, then exit
 --version              Display version information, then exit
 -V, --verbose          Specify multiple times to increase debug output
 -q, --quiet            Print only the standby status (if querying)

Commands:
 -G, --query            Query the current value of standby mode (on/off)
 -v, --update=VALUE     Update the value of standby mode (on/off)
 -D, --delete           Let standby mode use default value

Additional Options:
 -N, --node=NODE        Operate on the named node instead of the current one
 -l, --lifetime=VALUE   Until when should the setting take effect
                        (valid values: reboot, forever)
 -i, --id=VALUE         (Advanced) XML ID used to identify standby attribute`

const standbyHelp = "crm_standby - Query, enable, or disable standby mode for a node\n\n" +
	"Nodes in standby mode may not host cluster resources.\n\n" + standbyUsage + "\n"

// exitUsage is the scripts' exit_usage: an optional "error:" line on
// stderr, then a blank line and the usage on stdout.
func exitUsage(env Env, usage string, code int, msg string) int {
	if msg != "" {
		fmt.Fprintf(env.Stderr, "error: %s\n", msg)
	}
	fmt.Fprintf(env.Stdout, "\n%s\n", usage)
	return code
}

// Standby is crm_standby (tools/crm_standby.in).
func Standby(env Env) int {
	opts, _, ok := getoptLong("crm_standby", env.Args, "VqGv:DN:l:i:U:Q",
		[]string{"help", "version", "verbose", "quiet", "query", "update:", "delete", "node:", "lifetime:", "id:",
			"uname:", "get-value", "delete-attr", "attr-value:", "attr-id:"},
		func(s string) { io.WriteString(env.Stderr, s) })
	if !ok {
		return exitUsage(env, standbyUsage, 1, "")
	}
	op, options, target := byte(0), "", ""
	lifetime := false
	for _, o := range opts {
		switch o.name {
		case "--help":
			fmt.Fprintf(env.Stdout, "%s\n", standbyHelp)
			return 0
		case "--version":
			callAttribute(env, "--version", env.Stdout, env.Stderr)
			return 0
		case "-q", "--quiet", "-V", "--verbose", "-Q":
			options += " " + o.name
		case "-N", "--node", "-U", "--uname":
			target = o.arg
		case "-G", "--query", "--get-value":
			options += " --query"
			op = 'g'
		case "-v", "--update", "--attr-value":
			options += " --update " + o.arg
			op = 'u'
		case "-D", "--delete", "--delete-attr":
			options += " --delete"
			op = 'd'
		case "-l", "--lifetime":
			options += " --lifetime " + o.arg
			lifetime = true
		case "-i", "--id", "--attr-id":
			options += " --id " + o.arg
		}
	}
	if target == "" {
		target = strings.TrimRight(captureNodeName(env), "\n")
	}
	options = "-N " + target + " -n standby " + options
	if op == 0 {
		options += " -G"
		op = 'g'
	}
	if !lifetime {
		switch op {
		case 'g':
			// The permanent setting wins if there is one; else the
			// transient one, reported as "off" when absent.
			if callAttribute(env, options+" -l forever", io.Discard, io.Discard) == 0 {
				options += " -l forever"
			} else {
				options += " -l reboot -d off"
			}
		case 'u':
			options += " -l forever"
		case 'd':
			callAttribute(env, options+" -l forever", env.Stdout, env.Stderr)
			callAttribute(env, options+" -l reboot", env.Stdout, env.Stderr)
			return 0
		}
	}
	return callAttribute(env, options, env.Stdout, env.Stderr)
}

// captureNodeName is $(crm_node -n): its stdout, its stderr passed on.
func captureNodeName(env Env) string { return crmNodeName(env, env.Stderr) }

const masterUsage = `Usage: crm_master <command> [<options>]

This command is deprecated. Use crm_attribute with the --promotion option
instead.`

// Master is crm_master (tools/crm_master).
func Master(env Env) int {
	opts, _, ok := getoptLong("crm_master", env.Args, "VqGv:DN:l:i:r:U:Q",
		[]string{"help", "version", "verbose", "quiet", "query", "update:", "delete", "node:", "lifetime:", "id:",
			"resource:", "uname:", "get-value", "delete-attr", "attr-value:", "attr-id:"},
		func(s string) { io.WriteString(env.Stderr, s) })
	if !ok {
		return exitUsage(env, masterUsage, 1, "")
	}
	options := "--lifetime forever"
	rsc := env.getenv("OCF_RESOURCE_INSTANCE")
	for _, o := range opts {
		switch o.name {
		case "--help":
			fmt.Fprintf(env.Stdout, "crm_master - Query, update, or delete a resource's promotion score\n\n%s\n", masterUsage)
			return 0
		case "--version":
			callAttribute(env, "--version", env.Stdout, env.Stderr)
			return 0
		case "--verbose", "-V", "--quiet", "-q", "--query", "-G", "--delete", "-D", "--get-value", "--delete-attr", "-Q":
			options += " " + o.name
		case "--update", "-v", "--node", "-N", "--lifetime", "-l", "--id", "-i", "--uname", "-U", "--attr-value", "--attr-id":
			options += " " + o.name + " " + o.arg
		case "-r", "--resource":
			rsc = o.arg
		}
	}
	if rsc == "" {
		return exitUsage(env, masterUsage, 1, "No resource specified")
	}
	return callAttribute(env, "-n master-"+rsc+" "+options, env.Stdout, env.Stderr)
}

const failcountUsage = `Usage: crm_failcount <command> [<options>]
Common options:
 --help                 Display this text, then exit
 --version              Display version information, then exit
 -V, --verbose          Specify multiple times to increase debug output
 -q, --quiet            Print only the value (if querying)

Commands:
 -G, --query            Query the current value of the resource's fail count
 -D, --delete           Delete resource's recorded failures

Additional Options:
 -r, --resource=value   Name of the resource to use (required)
 -n, --operation=value  Name of operation to use (instead of all operations)
 -I, --interval=value   If operation is specified, its interval
 -N, --node=value       Use failcount on named node (instead of local node)`

// Failcount is crm_failcount (tools/crm_failcount).
func Failcount(env Env) int {
	target := crmNodeName(env, io.Discard)
	opts, _, ok := getoptLong("crm_failcount", env.Args, "qDGQVN:U:v:i:l:r:n:I:",
		[]string{"help", "version", "verbose", "quiet", "query", "delete", "resource:", "node:", "operation:", "interval:",
			"delete-attr", "get-value", "resource-id:", "uname:", "lifetime:", "attr-value:", "attr-id:"},
		func(s string) { io.WriteString(env.Stderr, s) })
	if !ok {
		return exitUsage(env, failcountUsage, 64, "")
	}
	quiet, verbose, command, rsc, operation, interval := "", "", "", "", "", "0"
	for _, o := range opts {
		switch o.name {
		case "--help":
			fmt.Fprintf(env.Stdout, "crm_failcount - Query or delete resource fail counts\n\n%s\n", failcountUsage)
			return 0
		case "--version":
			return callAttribute(env, "--version", env.Stdout, env.Stderr)
		case "-q", "-Q", "--quiet":
			quiet = "--quiet"
		case "-V", "--verbose":
			verbose += " " + o.name
		case "-G", "--query", "--get-value":
			command = "--query"
		case "-D", "--delete", "--delete-attr":
			command = "--delete"
		case "-r", "--resource", "--resource-id":
			rsc = o.arg
		case "-n", "--operation":
			operation = o.arg
		case "-I", "--interval":
			interval = o.arg
		case "-N", "--node", "-U", "--uname":
			target = o.arg
		case "-v", "--attr-value":
			if o.arg == "0" {
				command = "--delete"
			} else {
				fmt.Fprintf(env.Stderr, "warning: ignoring deprecated option '%s' with nonzero value\n", o.name)
			}
		case "-i", "--attr-id", "-l", "--lifetime":
			fmt.Fprintf(env.Stderr, "warning: ignoring deprecated option '%s'\n", o.name)
		}
	}
	switch {
	case command == "":
		return exitUsage(env, failcountUsage, 64, "must specify a command")
	case rsc == "":
		return exitUsage(env, failcountUsage, 64, "resource name required")
	case target == "":
		return exitUsage(env, failcountUsage, 64, "node name required")
	}
	// interval=$(parse_interval $interval): unquoted, so blanks split it
	// and only the first word counts.
	iv := ""
	if f := strings.Fields(interval); len(f) > 0 {
		iv = f[0]
	}
	ms := parseInterval(env, iv)
	if command == "--delete" {
		// crm_resource --cleanup on a CIB file only reports a dry run.
		if quiet == "" {
			fmt.Fprintf(env.Stdout, "Dry run: skipping clean-up of %s on %s due to CIB_file\n", rsc, target)
		}
		return 0
	}
	attrRsc := "fail-count-" + rsc
	display := attrRsc
	var count string
	querySingle := func(name string) string {
		var out bytes.Buffer
		callAttribute(env, verbose+" --quiet --query -t status -d 0 -N "+target+" -n "+name, &out, env.Stderr)
		return strings.TrimRight(out.String(), "\n")
	}
	if operation != "" {
		display = fmt.Sprintf("%s#%s_%s", attrRsc, operation, ms)
		count = querySingle(display)
	} else {
		var rc int
		count, rc = queryAttrSum(env, target, attrRsc+"#")
		if rc != 0 {
			return rc
		}
	}
	if count == "0" {
		count = querySingle(attrRsc)
		if count != "0" {
			display = attrRsc
		}
	}
	if quiet != "" {
		fmt.Fprintf(env.Stdout, "%s\n", strings.Join(strings.Fields(count), " "))
	} else {
		fmt.Fprintf(env.Stdout, "scope=status  name=%s value=%s\n", display, count)
	}
	return 0
}

var failValueRE = regexp.MustCompile(`^.*<nvpair.*value="([0-9][0-9]*|INFINITY)".*>.*$`)

// queryAttrSum is query_attr_sum: cibadmin's XPath query for the node's
// transient attributes starting with prefix, the values picked out of its
// output line by line, summed with INFINITY saturation.
func queryAttrSum(env Env, target, prefix string) (string, int) {
	xpath := "/cib/status/node_state[@uname='" + target + "']/transient_attributes/instance_attributes" +
		"/nvpair[starts-with(@name,'" + prefix + "')]"
	conn, rc := env.signon("cibadmin")
	var text string
	if rc == cib.OK {
		res := conn.Perform(cib.Request{Op: cib.OpQuery, Section: xpath,
			Options: cib.OptXPath | cib.OptSyncCall | cib.OptScopeLocal})
		conn.Close()
		rc = res.Rc
		if rc == cib.OK && res.Output != nil {
			text = cib.Serialize(res.Output, true)
		}
	}
	if code := rc.ExitCode(); code != 0 && code != 105 {
		fmt.Fprint(env.Stderr, "error: could not query CIB for fail counts\n")
		return "", code
	}
	sum := 0
	for _, line := range strings.Split(text, "\n") {
		m := failValueRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if m[1] == "INFINITY" {
			return "INFINITY", 0
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return "INFINITY", 0
		}
		sum += n
	}
	if sum >= 1000000 {
		return "INFINITY", 0
	}
	return strconv.Itoa(sum), 0
}

var (
	intervalUnits = []struct {
		re  *regexp.Regexp
		mul func(int64) int64
	}{
		{regexp.MustCompile(`^[[:blank:]]*([0-9]+)[[:blank:]]*()[[:blank:]]*$`), func(n int64) int64 { return n * 1000 }},
		{regexp.MustCompile(`^[[:blank:]]*([0-9]+)[[:blank:]]*(s|sec)[[:blank:]]*$`), func(n int64) int64 { return n * 1000 }},
		{regexp.MustCompile(`^[[:blank:]]*([0-9]+)[[:blank:]]*(ms|msec)[[:blank:]]*$`), func(n int64) int64 { return n }},
		{regexp.MustCompile(`^[[:blank:]]*([0-9]+)[[:blank:]]*(m|min)[[:blank:]]*$`), func(n int64) int64 { return n * 60000 }},
		{regexp.MustCompile(`^[[:blank:]]*([0-9]+)[[:blank:]]*(h|hr)[[:blank:]]*$`), func(n int64) int64 { return n * 3600000 }},
		{regexp.MustCompile(`^[[:blank:]]*([0-9]+)[[:blank:]]*(us|usec)[[:blank:]]*$`), func(n int64) int64 { return n / 1000 }},
		{regexp.MustCompile(`^P([0-9]+)W$`), func(n int64) int64 { return n * 604800000 }},
	}
	iso8601RE = regexp.MustCompile(`^P(([0-9]+)Y)?(([0-9]+)M)?(([0-9]+)D)?T?(([0-9]+)H)?(([0-9]+)M)?(([0-9]+)S)?$`)
)

// parseInterval is the script's parse_interval, in milliseconds.
func parseInterval(env Env, s string) string {
	for _, u := range intervalUnits {
		if m := u.re.FindStringSubmatch(s); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			return strconv.FormatInt(u.mul(n), 10)
		}
	}
	if m := iso8601RE.FindStringSubmatch(s); m != nil {
		v := func(i int) int64 { n, _ := strconv.ParseInt(m[i], 10, 64); return n }
		return strconv.FormatInt(v(2)*31536000000+v(4)*2592000000+v(6)*86400000+v(8)*3600000+v(10)*60000+v(12)*1000, 10)
	}
	fmt.Fprint(env.Stderr, "warning: Unrecognized interval, using 0\n")
	return "0"
}
