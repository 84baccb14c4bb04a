package shim

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The shim writes its two JSON documents by hand: encoding/json's
// reflection would touch a few hundred KiB more of the binary's pages in
// every shim process. Readers use encoding/json.

// appendJSON encodes r as encoding/json would.
func (r StartReport) appendJSON(b []byte) []byte {
	b = append(b, '{')
	sep := false
	field := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = appendJSONString(b, name)
		b = append(b, ':')
	}
	if r.Pid != 0 {
		field("pid")
		b = strconv.AppendInt(b, int64(r.Pid), 10)
	}
	if !r.StartedAt.IsZero() {
		field("startedAt")
		b = appendJSONTime(b, r.StartedAt)
	}
	if r.Error != "" {
		field("error")
		b = appendJSONString(b, r.Error)
	}
	return append(b, '}')
}

// appendJSON encodes st as encoding/json would.
func (st ExitStatus) appendJSON(b []byte) []byte {
	b = append(b, `{"exitCode":`...)
	b = strconv.AppendInt(b, int64(st.ExitCode), 10)
	if st.Signal != "" {
		b = append(b, `,"signal":`...)
		b = appendJSONString(b, st.Signal)
	}
	b = append(b, `,"startedAt":`...)
	b = appendJSONTime(b, st.StartedAt)
	b = append(b, `,"finishedAt":`...)
	b = appendJSONTime(b, st.FinishedAt)
	return append(b, '}')
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
