package filter

import (
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// parserFilter parses one field of each record with the first of its
// parsers that matches, and makes the result the record.
type parserFilter struct {
	key                      string           // Key_Name as written, a plain key
	acc                      logpipe.Accessor // set when Key_Name is a record accessor ($a['b'])
	parsers                  []logpipe.Parser
	preserveKey, reserveData bool
}

func newParser(p logpipe.Params, deps Deps) (*parserFilter, error) {
	key, err := required(p, "parser", "Key_Name", "Key_Name log")
	if err != nil {
		return nil, err
	}
	f := &parserFilter{key: key}
	if strings.HasPrefix(key, "$") {
		if f.acc, err = logpipe.ParseAccessor(key); err != nil {
			return nil, errorf("parser", "Key_Name %q: %v", key, err)
		}
	}
	names := p.All("Parser")
	if len(names) == 0 {
		return nil, errorf("parser", `Parser is required: add a line such as "Parser crio" naming a [PARSER] in parsers.conf`)
	}
	for _, name := range names {
		name = strings.TrimSpace(name)
		parser, ok := deps.parser(name)
		if !ok {
			// Fluent Bit only warns when some of several parsers are
			// missing; a missing parser is always a mistake, so refuse.
			return nil, errorf("parser", "Parser %q is not defined: add a [PARSER] section with Name %s to parsers.conf", name, name)
		}
		f.parsers = append(f.parsers, parser)
	}
	if f.preserveKey, err = boolParam(p, "parser", "Preserve_Key", false); err != nil {
		return nil, err
	}
	if f.reserveData, err = boolParam(p, "parser", "Reserve_Data", false); err != nil {
		return nil, err
	}
	// Unescape_Key is deprecated in Fluent Bit and does nothing there.
	return f, nil
}

func (f *parserFilter) Filter(rec logpipe.Record) []logpipe.Record {
	text, ok := f.source(rec.Fields)
	if !ok {
		return []logpipe.Record{rec}
	}
	for _, p := range f.parsers {
		parsed, t, ok := p.Parse(text)
		if !ok {
			continue
		}
		if !t.IsZero() {
			rec.Time = t
		}
		rec.Fields = f.merge(rec.Fields, parsed)
		return []logpipe.Record{rec}
	}
	// No parser matched: the record goes on as it came.
	return []logpipe.Record{rec}
}

// source returns the text to parse: a string value (Fluent Bit also
// takes binary; a Go record has none).
func (f *parserFilter) source(fields map[string]any) (string, bool) {
	var v any
	var ok bool
	if f.acc != nil {
		v, ok = f.acc.Get(fields)
	} else {
		v, ok = fields[f.key]
	}
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// merge builds the new fields the way filter_parser.c does: the parsed
// fields, then with Reserve_Data the other original fields (without the
// key unless Preserve_Key), or without Reserve_Data only the key when
// Preserve_Key.
//
// Fluent Bit appends originals after the parsed fields, so where a name
// is in both the record carries it twice and JSON readers take the later,
// original one; a Go map keeps one, and it keeps the original too.
//
// With a record accessor Key_Name, Fluent Bit never removes the source
// (it may be nested) and Preserve_Key alone keeps nothing; the same here.
func (f *parserFilter) merge(orig, parsed map[string]any) map[string]any {
	out := make(map[string]any, len(parsed)+len(orig))
	for k, v := range parsed {
		out[k] = v
	}
	switch {
	case f.reserveData:
		for k, v := range orig {
			if k == f.key && f.acc == nil && !f.preserveKey {
				continue
			}
			out[k] = v
		}
	case f.preserveKey && f.acc == nil:
		out[f.key] = orig[f.key]
	}
	return out
}
