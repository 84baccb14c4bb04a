package multiline

import (
	"maps"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// group is a message being joined: its first record (whose other fields
// and time the joined record keeps) and the text so far.
type group struct {
	first *logpipe.Record
	text  strings.Builder
	state *rule // the rule the last line matched (regex parsers)
}

func (g *group) pending() bool { return g.first != nil || g.text.Len() > 0 }

// begin starts a new message with rec.
func (g *group) begin(rec logpipe.Record, line string) {
	g.first = &rec
	g.text.Reset()
	g.text.WriteString(line)
}

// appendLine adds a continuation line, after a "\n" as Fluent Bit joins
// lines (none when the text already ends in one; an empty line adds just
// the "\n"). When the text would pass the buffer limit the message so far
// is emitted and the line begins the next one: Fluent Bit instead cuts
// the line at the limit and drops the rest.
func (g *group) appendLine(rec logpipe.Record, line, key string, limit int) []logpipe.Record {
	var out []logpipe.Record
	if g.text.Len() > 0 && g.text.Len()+1+len(line) > limit {
		out = g.flush(key)
	}
	if g.first == nil {
		g.first = &rec
	}
	if n := g.text.Len(); n > 0 && !strings.HasSuffix(g.text.String(), "\n") {
		g.text.WriteByte('\n')
	}
	if line == "" {
		g.text.WriteByte('\n')
	} else {
		g.text.WriteString(line)
	}
	return out
}

// appendPart adds a CRI partial line: parts join with nothing between
// them, as they are pieces of one line.
func (g *group) appendPart(rec logpipe.Record, part, key string, limit int) []logpipe.Record {
	var out []logpipe.Record
	if g.text.Len() > 0 && g.text.Len()+len(part) > limit {
		out = g.flush(key)
	}
	if g.first == nil {
		g.first = &rec
	}
	g.text.WriteString(part)
	return out
}

// flush emits the message: the first record with key set to the joined
// text. It keeps state, as Fluent Bit does.
func (g *group) flush(key string) []logpipe.Record {
	if !g.pending() {
		return nil
	}
	rec := *g.first
	rec.Fields = maps.Clone(rec.Fields)
	if rec.Fields == nil {
		rec.Fields = map[string]any{}
	}
	if g.text.Len() > 0 {
		rec.Fields[key] = g.text.String()
	}
	g.first = nil
	g.text.Reset()
	return []logpipe.Record{rec}
}

// parserState is one parser's groups for one stream (tag). Regex parsers
// have one group; cri has one per container stream (stdout, stderr), as
// Fluent Bit groups it by the "stream" field.
type parserState struct {
	groups map[string]*group
	order  []string // group names in first-seen order, for a stable Flush
}

func (s *parserState) group(name string) *group {
	if g, ok := s.groups[name]; ok {
		return g
	}
	if s.groups == nil {
		s.groups = map[string]*group{}
	}
	g := &group{}
	s.groups[name] = g
	s.order = append(s.order, name)
	return g
}

func (s *parserState) pending() bool {
	for _, g := range s.groups {
		if g.pending() {
			return true
		}
	}
	return false
}

func (s *parserState) flush(key string) []logpipe.Record {
	var out []logpipe.Record
	for _, name := range s.order {
		out = append(out, s.groups[name].flush(key)...)
	}
	return out
}
