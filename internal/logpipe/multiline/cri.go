package multiline

import (
	"maps"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/parser"
)

// criParser is Fluent Bit's built-in "cri" multiline parser: the content
// field holds a raw CRI log line,
//
//	2026-12-04T05:04:10.487056675Z stdout P first part of a long li
//	2026-12-04T05:04:10.487061234Z stdout F ne
//
// which it parses into time, stream, _p and log; P parts are joined
// (with nothing between them) until the F part, per stream.
type criParser struct {
	line logpipe.Parser
}

func newCRIParser() *criParser {
	// Fluent Bit's _ml_cri parser: Time_Keep On, Time_Strict Off,
	// Skip_Empty_Values Off.
	p, err := parser.New(logpipe.Params{
		{Key: "Name", Value: "_ml_cri"},
		{Key: "Format", Value: "regex"},
		{Key: "Regex", Value: `^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$`},
		{Key: "Time_Key", Value: "time"},
		{Key: "Time_Format", Value: "%Y-%m-%dT%H:%M:%S.%L%z"},
		{Key: "Time_Keep", Value: "On"},
		{Key: "Time_Strict", Value: "Off"},
		{Key: "Skip_Empty_Values", Value: "Off"},
	})
	if err != nil {
		panic("multiline: the built-in CRI parser does not build: " + err.Error())
	}
	return &criParser{line: p}
}

// criContent is the field the parsed CRI line's text is in, and the one
// the joined text goes to.
const criContent = "log"

// feed parses line; one that is not a CRI line is not processed. The
// joined record is the first part's: its time (from the CRI line) and
// fields time, stream, _p and log. Fluent Bit keeps only those four;
// fargo keeps the record's other fields too (a kubernetes filter's
// metadata), dropping only the raw line's field when it is not log.
func (c *criParser) feed(s *parserState, rec logpipe.Record, line string, j *Joiner) ([]logpipe.Record, bool) {
	parsed, t, ok := c.line.Parse(line)
	if !ok {
		return nil, false
	}
	part, _ := parsed[criContent].(string)
	stream, _ := parsed["stream"].(string)
	fields := make(map[string]any, len(rec.Fields)+len(parsed))
	maps.Copy(fields, rec.Fields)
	delete(fields, j.key)
	maps.Copy(fields, parsed)
	rec.Fields = fields
	if !t.IsZero() {
		rec.Time = t
	}
	g := s.group(stream)
	out := g.appendPart(rec, part, criContent, j.limit)
	if parsed["_p"] == "F" {
		out = append(out, g.flush(criContent)...)
	}
	return out, true
}

func (c *criParser) outKey(*Joiner) string { return criContent }
