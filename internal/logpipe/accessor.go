package logpipe

import (
	"fmt"
	"strconv"
	"strings"
)

// Accessor is a parsed Fluent Bit record accessor: $log, $kubernetes['pod_name'],
// $kubernetes["labels"]['app']. A plain key (log) is an accessor of one
// part.
type Accessor []string

// ParseAccessor reads "$a['b']['c']" (or "a") into its keys.
func ParseAccessor(s string) (Accessor, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "$") {
		if s == "" {
			return nil, fmt.Errorf("empty record accessor")
		}
		return Accessor{s}, nil
	}
	s = s[1:]
	head := s
	if i := strings.IndexByte(s, '['); i >= 0 {
		head, s = s[:i], s[i:]
	} else {
		s = ""
	}
	if head == "" {
		return nil, fmt.Errorf("record accessor %q: a key must follow $", "$"+head+s)
	}
	acc := Accessor{head}
	for s != "" {
		if len(s) < 4 || s[0] != '[' || (s[1] != '\'' && s[1] != '"') {
			return nil, fmt.Errorf("record accessor: write $key['sub'], not %q", s)
		}
		q := s[1]
		end := strings.IndexByte(s[2:], q)
		if end < 0 || len(s) < end+4 || s[end+3] != ']' {
			return nil, fmt.Errorf("record accessor: unclosed [%c in %q", q, s)
		}
		acc = append(acc, s[2:end+2])
		s = s[end+4:]
	}
	return acc, nil
}

// Get returns the value the accessor points at in fields.
func (a Accessor) Get(fields map[string]any) (any, bool) {
	var cur any = fields
	for _, k := range a {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// Set stores v where the accessor points, creating maps on the way.
func (a Accessor) Set(fields map[string]any, v any) {
	m := fields
	for _, k := range a[:len(a)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[a[len(a)-1]] = v
}

// Delete removes what the accessor points at.
func (a Accessor) Delete(fields map[string]any) {
	m := fields
	for _, k := range a[:len(a)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, a[len(a)-1])
}

// String returns the accessor as written in a config.
func (a Accessor) String() string {
	var b strings.Builder
	b.WriteString("$" + a[0])
	for _, k := range a[1:] {
		b.WriteString("['" + k + "']")
	}
	return b.String()
}

// Text returns the value at the accessor as text: strings as they are,
// other values as JSON would write them; ok is false when nothing is
// there.
func (a Accessor) Text(fields map[string]any) (string, bool) {
	v, ok := a.Get(fields)
	if !ok {
		return "", false
	}
	return ValueText(v), true
}

// ValueText writes a field value as text.
func ValueText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}
