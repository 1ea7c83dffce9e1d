package cib

import "bytes"

type bytesBuffer struct{ bytes.Buffer }
