package crmmon

import (
	"io"
	"time"
)

func renderHTML(w io.Writer, s *Status, o Options, now time.Time, h HTMLOptions) {}
