package parser

import (
	"fmt"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// New builds the parser a [PARSER] section describes: Name, Format
// (regex, json, logfmt or ltsv, in any case) and the format's keys.
// Fluent Bit ignores keys it does not know, and so does New; keys fargo
// knows but cannot honour (Decode_Field and its kin) are refused.
func New(p logpipe.Params) (logpipe.Parser, error) {
	name, _ := p.Get("Name")
	if strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("[PARSER] has no Name: add Name <parser name>")
	}
	lp, err := build(p)
	if err != nil {
		return nil, fmt.Errorf("parser %q: %w", name, err)
	}
	return lp, nil
}

// NewSet builds every [PARSER] section, keyed by Name (as written: Fluent
// Bit finds parsers by exact name). Two sections with one name are
// refused: Fluent Bit keeps the first and skips the second with an error
// in its log, which is easy to miss.
func NewSet(sections []logpipe.Params) (map[string]logpipe.Parser, error) {
	set := make(map[string]logpipe.Parser, len(sections))
	for _, p := range sections {
		lp, err := New(p)
		if err != nil {
			return nil, err
		}
		name, _ := p.Get("Name")
		if _, dup := set[name]; dup {
			return nil, fmt.Errorf("parser %q is defined twice: rename or remove one [PARSER] section", name)
		}
		set[name] = lp
	}
	return set, nil
}

func build(p logpipe.Params) (logpipe.Parser, error) {
	for _, key := range []string{"Decode_Field", "Decode_Field_As"} {
		if _, ok := p.Get(key); ok {
			return nil, fmt.Errorf("%s is not supported by fargo yet: remove it, and decode the field with a [FILTER] parser whose Key_Name is that field", key)
		}
	}
	format, ok := p.Get("Format")
	if !ok || strings.TrimSpace(format) == "" {
		return nil, fmt.Errorf("Format is missing: write Format regex, json, logfmt or ltsv")
	}
	tk, err := newTimeKey(p)
	if err != nil {
		return nil, err
	}
	ts := types{}
	if v, ok := p.Get("Types"); ok {
		if ts, err = parseTypes(v); err != nil {
			return nil, err
		}
	}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "regex":
		return newRegexParser(p, tk, ts)
	case "json":
		return &jsonParser{time: tk}, nil
	case "logfmt":
		noBare, err := p.Bool("Logfmt_No_Bare_Keys", false)
		if err != nil {
			return nil, err
		}
		return &logfmtParser{time: tk, types: ts, noBareKeys: noBare}, nil
	case "ltsv":
		return &ltsvParser{time: tk, types: ts}, nil
	}
	return nil, fmt.Errorf("Format %q is not one fargo knows: write regex, json, logfmt or ltsv", format)
}
