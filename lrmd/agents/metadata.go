package agents

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/beevik/etree"

	"ringmaster/lrmd"
)

// MetadataTimeoutMS is how long a meta-data action may take
// (CRMD_METADATA_CALL_TIMEOUT in lrmd_client.c).
const MetadataTimeoutMS = 30000

// Metadata returns an agent's metadata XML the way lrmd_api_get_metadata
// does it, on the client side: OCF agents run "meta-data" (with
// OCF_RESOURCE_INSTANCE set to the agent name), LSB scripts get metadata
// built from their "### BEGIN INIT INFO" header, fence agents are asked with
// "action=metadata" on standard input as the fencer's RHCS-style call does.
func (d *Dir) Metadata(class, provider, agent string) ([]byte, error) {
	switch strings.ToLower(class) {
	case lrmd.ClassOCF:
		out := d.Run(Action{RscID: agent, Class: lrmd.ClassOCF, Provider: provider, Type: agent,
			Action: "meta-data", TimeoutMS: MetadataTimeoutMS, Params: map[string]string{}})
		return metadataResult(class, provider, agent, out)
	case lrmd.ClassLSB, lrmd.ClassService:
		p, err := d.Path(lrmd.ClassLSB, "", agent)
		if err != nil {
			return nil, fmt.Errorf("metadata of lsb:%s: %s: %w", agent, p, err)
		}
		return LSBMetadata(agent, p)
	case lrmd.ClassStonith:
		out := d.Run(Action{RscID: agent, Class: lrmd.ClassStonith, Type: agent, Action: "metadata",
			TimeoutMS: MetadataTimeoutMS, Stdin: "action=metadata\n", Args: []string{}})
		raw, err := metadataResult(class, provider, agent, out)
		if err != nil {
			return nil, err
		}
		md, err := rhcsMetadata(raw)
		if err != nil {
			return nil, fmt.Errorf("metadata of stonith:%s: %w", agent, err)
		}
		return md, nil
	case lrmd.ClassSystemd:
		return nil, fmt.Errorf("metadata of systemd:%s: systemd is not supported here", agent)
	}
	return nil, fmt.Errorf("metadata: unknown standard %q", class)
}

func metadataResult(class, provider, agent string, out lrmd.Outcome) ([]byte, error) {
	name := class + ":" + agent
	if provider != "" {
		name = class + ":" + provider + ":" + agent
	}
	if out.Status != lrmd.ExecDone || out.ExitStatus != 0 {
		reason := out.Reason
		if reason == "" {
			reason = fmt.Sprintf("exit status %d", out.ExitStatus)
		}
		return nil, fmt.Errorf("metadata of %s: %s (%s)", name, reason, out.Status)
	}
	if strings.TrimSpace(out.Stdout) == "" {
		return nil, fmt.Errorf("metadata of %s: agent printed nothing", name)
	}
	return []byte(out.Stdout), nil
}

// LSBMetadata builds the metadata Pacemaker makes up for an init script
// (services__get_lsb_metadata): the header's values are kept verbatim,
// leading space and trailing newline included, XML-escaped.
func LSBMetadata(agent, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metadata of lsb:%s: %w", agent, err)
	}
	defer f.Close()
	fields := map[string]string{}
	keys := []string{"Provides", "Required-Start", "Required-Stop", "Should-Start", "Should-Stop",
		"Default-Start", "Default-Stop", "Short-Description"}
	var longDesc *string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	inHeader := false
	var pending *string
	next := func() (string, bool) {
		if pending != nil {
			l := *pending
			pending = nil
			return l, true
		}
		if !sc.Scan() {
			return "", false
		}
		return sc.Text() + "\n", true
	}
	for {
		line, ok := next()
		if !ok {
			break
		}
		if strings.HasPrefix(line, "### BEGIN INIT INFO") {
			inHeader = true
			continue
		}
		if !inHeader {
			continue
		}
		matched := false
		for _, k := range keys {
			p := "# " + k + ":"
			if _, have := fields[k]; !have && strings.HasPrefix(line, p) {
				fields[k] = xmlEscape(line[len(p):])
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		if longDesc == nil && strings.HasPrefix(line, "# Description:") {
			var b strings.Builder
			b.WriteString(line[len("# Description:"):])
			consumed := true
			for {
				l, ok := next()
				if !ok {
					break
				}
				if strings.HasPrefix(l, "#  ") || strings.HasPrefix(l, "#\t") {
					b.WriteString(l[1:])
					continue
				}
				// Upstream checks this line only for the end of the
				// header; a key on it is lost.
				line = l
				consumed = false
				break
			}
			s := xmlEscape(b.String())
			longDesc = &s
			if consumed {
				continue
			}
		}
		if strings.HasPrefix(line, "### END INIT INFO") || !strings.HasPrefix(line, "#") {
			break
		}
	}
	ld := agent
	if longDesc != nil {
		ld = *longDesc
	}
	sd := agent
	if v, ok := fields["Short-Description"]; ok {
		sd = v
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version='1.0'?>\n<!DOCTYPE resource-agent SYSTEM 'ra-api-1.dtd'>\n"+
		"<resource-agent name='%s' version='0.1'>\n  <version>1.0</version>\n  <longdesc lang='en'>\n%s  </longdesc>\n"+
		"  <shortdesc lang='en'>%s</shortdesc>\n  <parameters>\n  </parameters>\n  <actions>\n"+
		"    <action name='meta-data'    timeout='5' />\n    <action name='start'        timeout='15' />\n"+
		"    <action name='stop'         timeout='15' />\n    <action name='status'       timeout='15' />\n"+
		"    <action name='restart'      timeout='15' />\n    <action name='force-reload' timeout='15' />\n"+
		"    <action name='monitor'      timeout='15' interval='15' />\n  </actions>\n  <special tag='LSB'>\n"+
		"    <Provides>%s</Provides>\n    <Required-Start>%s</Required-Start>\n    <Required-Stop>%s</Required-Stop>\n"+
		"    <Should-Start>%s</Should-Start>\n    <Should-Stop>%s</Should-Stop>\n    <Default-Start>%s</Default-Start>\n"+
		"    <Default-Stop>%s</Default-Stop>\n  </special>\n</resource-agent>\n",
		agent, ld, sd, fields["Provides"], fields["Required-Start"], fields["Required-Stop"],
		fields["Should-Start"], fields["Should-Stop"], fields["Default-Start"], fields["Default-Stop"])
	return b.Bytes(), nil
}

// xmlEscape is what xmlEncodeEntitiesReentrant does to ASCII text.
func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")
	return r.Replace(s)
}

// rhcsMetadata is stonith__rhcs_get_metadata's treatment of a fence agent's
// metadata: start and stop actions (which Pacemaker implements) are added
// when the agent has no stop, the action/plug/port parameters are made
// optional (the fencer fills them in), and the result is printed the way
// Pacemaker's XML writer prints it.
func rhcsMetadata(raw []byte) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return nil, fmt.Errorf("metadata is invalid: %v", err)
	}
	root := doc.Root()
	if len(root.FindElements("//action[@name='stop']")) == 0 {
		if actions := root.FindElement("//actions"); actions != nil {
			for _, n := range []string{"stop", "start"} {
				a := actions.CreateElement("action")
				a.CreateAttr("name", n)
				a.CreateAttr("timeout", "20s") // CRM_DEFAULT_OP_TIMEOUT_S
			}
		}
	}
	for _, p := range []string{"action", "plug", "port"} {
		for _, e := range root.FindElements(fmt.Sprintf("//parameter[@name='%s']", p)) {
			e.CreateAttr("required", "0")
		}
	}
	var b bytes.Buffer
	writePcmkXML(&b, root, 0)
	return b.Bytes(), nil
}

// writePcmkXML prints e like Pacemaker 2.1's pretty XML writer
// (lib/common/xml.c pcmk__xml2text): two spaces per level, "/>" for empty
// elements, text-only elements on one line, attribute values through
// crm_xml_escape.
func writePcmkXML(b *bytes.Buffer, e *etree.Element, depth int) {
	indent := strings.Repeat("  ", depth)
	b.WriteString(indent + "<" + e.FullTag())
	for _, a := range e.Attr {
		fmt.Fprintf(b, " %s=\"%s\"", a.FullKey(), crmXMLEscape(a.Value))
	}
	var kids []*etree.Element
	text := ""
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.Element:
			kids = append(kids, c)
		case *etree.CharData:
			if strings.TrimSpace(c.Data) != "" {
				text += c.Data
			}
		}
	}
	switch {
	case len(kids) == 0 && text == "":
		b.WriteString("/>\n")
	case len(kids) == 0:
		b.WriteString(">" + xmlEscape(text) + "</" + e.FullTag() + ">\n")
	default:
		b.WriteString(">\n")
		for _, k := range kids {
			writePcmkXML(b, k, depth+1)
		}
		b.WriteString(indent + "</" + e.FullTag() + ">\n")
	}
}

// crmXMLEscape is crm_xml_escape for attribute values.
func crmXMLEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;", "&", "&amp;",
		"\t", "    ", "\n", `\n`, "\r", `\r`).Replace(s)
}
