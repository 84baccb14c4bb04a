package filter

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// tagTemplate is a NEW_TAG of rewrite_tag as flb_ra_translate reads it:
// literal text with $0..$9 (regex captures), $TAG (the record's tag),
// $TAG[n] (its n-th dot-separated part) and record accessors such as
// $kubernetes['namespace_name'] or $app.
type tagTemplate []tagPart

type tagPart struct {
	literal  string
	capture  int // -1 when not a capture
	tagPart  int // -1 when not $TAG[n]
	wholeTag bool
	acc      logpipe.Accessor
}

func parseTagTemplate(s string) (tagTemplate, error) {
	var t tagTemplate
	lit := func(text string) {
		if text != "" {
			t = append(t, tagPart{literal: text, capture: -1, tagPart: -1})
		}
	}
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			lit(s)
			return t, nil
		}
		lit(s[:i])
		s = s[i+1:]
		part := tagPart{capture: -1, tagPart: -1}
		switch {
		case s[0] >= '0' && s[0] <= '9':
			part.capture = int(s[0] - '0')
			s = s[1:]
		case strings.HasPrefix(s, "TAG["):
			end := strings.IndexByte(s, ']')
			n, err := strconv.Atoi(s[4:max(end, 4)])
			if end < 0 || err != nil || n < 0 {
				return nil, errorf("rewrite_tag", "NEW_TAG: write $TAG[n] with a whole number n, not $%s", s)
			}
			part.tagPart = n
			s = s[end+1:]
		case strings.HasPrefix(s, "TAG"):
			part.wholeTag = true
			s = s[3:]
		default:
			end := accessorEnd(s)
			acc, err := logpipe.ParseAccessor("$" + s[:end])
			if err != nil {
				return nil, err
			}
			part.acc = acc
			s = s[end:]
		}
		t = append(t, part)
	}
}

// accessorEnd finds where a record accessor in a template ends: at a
// '.', ' ', ',' or '"' outside quotes, as ra_parse_buffer does.
func accessorEnd(s string) int {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '.' || c == ' ' || c == ',' || c == '"':
			return i
		}
	}
	return len(s)
}

// expand writes the tag for a record. Anything a part points at that is
// not there (a capture the regex lacks, a missing key) adds nothing.
func (t tagTemplate) expand(tag string, fields map[string]any, captures []string) string {
	var b strings.Builder
	for _, p := range t {
		switch {
		case p.literal != "":
			b.WriteString(p.literal)
		case p.capture >= 0:
			if p.capture < len(captures) {
				b.WriteString(captures[p.capture])
			}
		case p.wholeTag:
			b.WriteString(tag)
		case p.tagPart >= 0:
			if parts := strings.Split(tag, "."); p.tagPart < len(parts) {
				b.WriteString(parts[p.tagPart])
			}
		case p.acc != nil:
			if v, ok := p.acc.Get(fields); ok {
				b.WriteString(templateText(v))
			}
		}
	}
	return b.String()
}

// templateText writes a value as flb_ra_translate does: maps as JSON,
// null as "null".
func templateText(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case map[string]any, []any:
		js, _ := json.Marshal(v)
		return string(js)
	}
	return logpipe.ValueText(v)
}
