package cloudwatch

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// template is a log group or stream name made from a record: literal
// text, record fields, the tag or a part of it.
type template []templatePart

type templatePart struct {
	literal  string
	field    logpipe.Accessor // a record field, when set
	tag      bool             // the whole tag
	tagIndex int              // with tag: -1, or the index of a dot-separated part
}

// parseRecordAccessorTemplate reads Fluent Bit's template syntax
// (log_group_template, log_stream_template):
// "app-$kubernetes['namespace_name'].$TAG[1]". A key ends at '.', ' ',
// ',' or '"' outside quotes, as in Fluent Bit's record accessor.
func parseRecordAccessorTemplate(s string) (template, error) {
	var t template
	for s != "" {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			t = append(t, templatePart{literal: s})
			break
		}
		if i > 0 {
			t = append(t, templatePart{literal: s[:i]})
		}
		s = s[i+1:]
		if strings.HasPrefix(s, "TAG") {
			part, rest, err := parseTag(s[3:], '[', ']')
			if err != nil {
				return nil, err
			}
			t, s = append(t, part), rest
			continue
		}
		end := accessorEnd(s)
		acc, err := logpipe.ParseAccessor("$" + s[:end])
		if err != nil {
			return nil, err
		}
		t, s = append(t, templatePart{field: acc}), s[end:]
	}
	return t, nil
}

// accessorEnd is where the record accessor at the start of s ends.
func accessorEnd(s string) int {
	quotes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quotes++
		case quotes%2 == 1:
		case c == '.' || c == ' ' || c == ',' || c == '"' || c == '$':
			return i
		}
	}
	return len(s)
}

// parseTag reads an optional "[n]" after TAG or tag.
func parseTag(s string, open, close byte) (templatePart, string, error) {
	part := templatePart{tag: true, tagIndex: -1}
	if s == "" || s[0] != open {
		return part, s, nil
	}
	end := strings.IndexByte(s, close)
	if end < 0 {
		return part, s, fmt.Errorf("tag part %q has no closing %c", s, close)
	}
	n, err := strconv.Atoi(s[1:end])
	if err != nil || n < 0 {
		return part, s, fmt.Errorf("tag part %q: write a number, as in TAG[1]", s[:end+1])
	}
	part.tagIndex = n
	return part, s[end+1:], nil
}

// parseGoPluginTemplate reads the cloudwatch Go plugin's syntax, used in
// log_group_name and log_stream_name: "/eks/$(kubernetes['namespace_name'])",
// "$(tag)", "$(tag[0])".
func parseGoPluginTemplate(s string) (template, error) {
	var t template
	for s != "" {
		i := strings.Index(s, "$(")
		if i < 0 {
			t = append(t, templatePart{literal: s})
			break
		}
		if i > 0 {
			t = append(t, templatePart{literal: s[:i]})
		}
		end := strings.IndexByte(s[i:], ')')
		if end < 0 {
			return nil, fmt.Errorf("%q: $( has no closing )", s[i:])
		}
		expr := strings.TrimSpace(s[i+2 : i+end])
		s = s[i+end+1:]
		if expr == "tag" || strings.HasPrefix(expr, "tag[") {
			part, rest, err := parseTag(expr[3:], '[', ']')
			if err != nil || rest != "" {
				return nil, fmt.Errorf("$(%s): write $(tag) or $(tag[n])", expr)
			}
			t = append(t, part)
			continue
		}
		acc, err := logpipe.ParseAccessor("$" + expr)
		if err != nil {
			return nil, err
		}
		t = append(t, templatePart{field: acc})
	}
	return t, nil
}

// render writes the name for rec; ok is false when a field or tag part
// it names is missing, and the caller falls back to the plain name.
func (t template) render(rec logpipe.Record) (name string, ok bool) {
	var b strings.Builder
	for _, p := range t {
		switch {
		case p.field != nil:
			v, found := p.field.Text(rec.Fields)
			if !found {
				return "", false
			}
			b.WriteString(v)
		case p.tag && p.tagIndex < 0:
			b.WriteString(rec.Tag)
		case p.tag:
			parts := strings.Split(rec.Tag, ".")
			if p.tagIndex >= len(parts) {
				return "", false
			}
			b.WriteString(parts[p.tagIndex])
		default:
			b.WriteString(p.literal)
		}
	}
	return b.String(), b.Len() > 0
}

// hasFields reports whether the template uses the record at all.
func (t template) hasFields() bool {
	for _, p := range t {
		if p.field != nil || p.tag {
			return true
		}
	}
	return false
}
