package corolog

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"ringmaster/internal/testenv"
)

var t0 = time.Date(2026, 11, 22, 11, 34, 30, 241_000_000, time.Local)

func TestFormats(t *testing.T) {
	r := Record{Time: t0, Priority: Notice, Subsys: "MAIN", Function: "main", File: "main.go", Line: 42, Msg: "Corosync Cluster Engine 3.1.7 starting up"}
	cases := []struct {
		cfg        func(*Config)
		file       bool
		want       string
		wantSyslog string
	}{
		{nil, false, "Nov 22 11:34:30.241 notice  [MAIN  ] Corosync Cluster Engine 3.1.7 starting up", ""},
		{func(c *Config) { c.Timestamp = TimestampOn }, false, "Nov 22 11:34:30 notice  [MAIN  ] Corosync Cluster Engine 3.1.7 starting up", ""},
		{func(c *Config) { c.Timestamp = TimestampOn }, true, "Nov 22 11:34:30 [77] node01 corosync notice  [MAIN  ] Corosync Cluster Engine 3.1.7 starting up", ""},
		{func(c *Config) { c.Timestamp = TimestampOff }, true, "[77] node01 corosyncnotice  [MAIN  ] Corosync Cluster Engine 3.1.7 starting up", ""},
		{func(c *Config) { c.Timestamp = TimestampOff }, false, "notice  [MAIN  ] Corosync Cluster Engine 3.1.7 starting up", ""},
		{func(c *Config) { c.FunctionName = true }, false, "Nov 22 11:34:30.241 notice  [MAIN  ] main Corosync Cluster Engine 3.1.7 starting up", ""},
		{func(c *Config) { c.FileLine = true }, false, "Nov 22 11:34:30.241 notice  [MAIN  ] main.go:42 Corosync Cluster Engine 3.1.7 starting up", ""},
		{func(c *Config) { c.FileLine, c.FunctionName = true, true }, false, "Nov 22 11:34:30.241 notice  [MAIN  ] main.go:main:42 Corosync Cluster Engine 3.1.7 starting up", ""},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		if c.cfg != nil {
			c.cfg(&cfg)
		}
		s := NewSink(cfg, SinkOptions{PID: 77, Hostname: "node01"})
		if got := s.Format(r, c.file); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

// TestStartupLogLines re-creates every line of real corosync start-up logs from
// its parts: the same time, priority, tag and text give the same bytes.
func TestStartupLogLines(t *testing.T) {
	for name, cfg := range map[string]Config{
		"s1-two-node-udpu.startup-n1.log":     {Timestamp: TimestampOn},
		"logging-subsys-debug.startup-n1.log": {Timestamp: TimestampHires, FunctionName: true},
		"minimal-udpu.startup-n1.log":         {Timestamp: TimestampHires},
	} {
		f, err := os.Open(testenv.Shared(t, "conformance", "corosync", "expected", name))
		if err != nil {
			t.Fatal(err)
		}
		s := NewSink(cfg, SinkOptions{})
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			tsLen := len("Nov 22 11:34:30")
			if cfg.Timestamp == TimestampHires {
				tsLen += 4
			}
			layout := "Jan 02 15:04:05.000"[:tsLen]
			ts, err := time.ParseInLocation(layout, line[:tsLen], time.Local)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, line, err)
			}
			rest := line[tsLen+1:]
			pri, ok := ParsePriority(strings.TrimSpace(rest[:7]))
			if !ok {
				t.Fatalf("%s: priority in %q", name, line)
			}
			tag := strings.TrimSpace(rest[9:15])
			msg := rest[17:]
			var fn string
			if cfg.FunctionName {
				fn, msg, _ = strings.Cut(msg, " ")
			}
			got := s.Format(Record{Time: ts, Priority: pri, Subsys: tag, Function: fn, Msg: msg}, false)
			if got != line {
				t.Errorf("%s:\n got %q\nwant %q", name, got, line)
			}
			n++
		}
		f.Close()
		if n < 20 {
			t.Errorf("%s: only %d lines", name, n)
		}
	}
}

func TestConfigFromKeysAndFiltering(t *testing.T) {
	keys := map[string]string{
		"logging.to_stderr": "yes", "logging.to_logfile": "yes", "logging.logfile": "/x.log",
		"logging.logfile_priority": "notice", "logging.timestamp": "on", "logging.function_name": "off",
		"logging.logger_subsys.QUORUM.subsys": "QUORUM", "logging.logger_subsys.QUORUM.debug": "on",
		"logging.logger_subsys.TOTEM.subsys": "TOTEM", "logging.logger_subsys.TOTEM.to_logfile": "no",
		"logging.logger_subsys.VOTEQ.subsys": "VOTEQ", "logging.logger_subsys.VOTEQ.debug": "trace",
	}
	cfg, err := ConfigFromKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Timestamp != TimestampOn || cfg.Logfile != "/x.log" || !cfg.Global.ToLogfile || cfg.Global.LogfilePriority != Notice {
		t.Errorf("global %+v", cfg)
	}
	var stderr, file bytes.Buffer
	s := NewSink(cfg, SinkOptions{Stderr: &stderr, File: &file, Now: func() time.Time { return t0 }, PID: 1, Hostname: "h"})
	main, quorum, totem, voteq := s.Logger("MAIN"), s.Logger("QUORUM"), s.Logger("TOTEM"), s.Logger("VOTEQ")
	main.Infof("hidden")
	main.Noticef("shown %d", 1)
	quorum.Debugf("quorum debug")
	quorum.Tracef("hidden trace")
	voteq.Tracef("voteq trace")
	totem.Noticef("totem only on stderr")
	wantStderr := "Nov 22 11:34:30 notice  [MAIN  ] shown 1\n" +
		"Nov 22 11:34:30 debug   [QUORUM] quorum debug\n" +
		"Nov 22 11:34:30 trace   [VOTEQ ] voteq trace\n" +
		"Nov 22 11:34:30 notice  [TOTEM ] totem only on stderr\n"
	if stderr.String() != wantStderr {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if !strings.HasPrefix(file.String(), "Nov 22 11:34:30 [1] h corosync notice  [MAIN  ] shown 1\n") || strings.Contains(file.String(), "TOTEM") {
		t.Errorf("file:\n%s", file.String())
	}
	for k, v := range map[string]string{"logging.timestamp": "maybe", "logging.debug": "loud", "logging.to_stderr": "perhaps",
		"logging.logfile_priority": "chatty", "logging.fileline": "x"} {
		if _, err := ConfigFromKeys(map[string]string{k: v}); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
	var nilLogger *Logger
	nilLogger.Noticef("no panic")
	_ = nilLogger.Sub("X")
}

func BenchmarkLogLine(b *testing.B) {
	var w bytes.Buffer
	s := NewSink(DefaultConfig(), SinkOptions{Stderr: &w, PID: 1, Hostname: "h"})
	l := s.Logger("TOTEM")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Noticef("A new membership (%d.%x) was formed. Members joined: %d", 1, i, 1)
		w.Reset()
	}
}

func FuzzConfigFromKeys(f *testing.F) {
	f.Add("logging.timestamp", "on", "logging.logger_subsys.X.subsys", "X", "logging.logger_subsys.X.debug", "trace")
	f.Add("logging.debug", "on", "logging.logfile_priority", "err", "logging.to_stderr", "no")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		cfg, err := ConfigFromKeys(map[string]string{k1: v1, k2: v2, k3: v3})
		if err != nil {
			return
		}
		var b bytes.Buffer
		s := NewSink(cfg, SinkOptions{Stderr: &b, PID: 1, Hostname: "h"})
		s.Logger("X").Tracef("%s", v1)
		s.Logger("MAIN").Errorf("%s", v2)
	})
}
