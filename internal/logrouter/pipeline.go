package logrouter

import (
	"regexp"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// maxReentries bounds how often rewrite_tag may send a record back to the
// first filter: a rule that matches its own new tag would loop forever.
// Fluent Bit's emitter has the same guard.
const maxReentries = 4

// matcher is a section's Match pattern or Match_Regex.
type matcher struct {
	pattern string
	re      *regexp.Regexp
}

func (m matcher) match(tag string) bool {
	if m.re != nil {
		return m.re.MatchString(tag)
	}
	return logpipe.Match(m.pattern, tag)
}

type stage struct {
	name   string // the filter's Name, for the router's log
	match  matcher
	filter logpipe.Filter
}

type route struct {
	name  string // the output's Name and index, as Fluent Bit names instances: cloudwatch_logs.0
	match matcher
	out   logpipe.Output
}

// Pipeline is one pod's filters and outputs, built from the config the
// pod started with. It is used by one goroutine.
type Pipeline struct {
	stages []stage
	routes []route
}

// Process runs records through the filters and returns, for each output
// (in config order), the records it matches.
func (p *Pipeline) Process(records []logpipe.Record) [][]logpipe.Record {
	var out []logpipe.Record
	for _, r := range records {
		out = append(out, p.apply(r, 0, 0)...)
	}
	return p.route(out)
}

// Flush hands on what filters hold back (multiline's pending lines),
// through the filters after them, and routes it.
func (p *Pipeline) Flush() [][]logpipe.Record {
	var out []logpipe.Record
	for i, s := range p.stages {
		f, ok := s.filter.(logpipe.Flusher)
		if !ok {
			continue
		}
		for _, r := range f.Flush() {
			out = append(out, p.apply(r, i+1, 0)...)
		}
	}
	return p.route(out)
}

// apply runs rec through the filters from stage from on. A record whose
// tag a filter changed starts again at the first filter.
func (p *Pipeline) apply(rec logpipe.Record, from, depth int) []logpipe.Record {
	for i := from; i < len(p.stages); i++ {
		s := p.stages[i]
		if !s.match.match(rec.Tag) {
			continue
		}
		res := s.filter.Filter(rec)
		if len(res) == 1 && res[0].Tag == rec.Tag {
			rec = res[0]
			continue
		}
		var out []logpipe.Record
		for _, r := range res {
			switch {
			case r.Tag == rec.Tag:
				out = append(out, p.apply(r, i+1, depth)...)
			case depth < maxReentries:
				out = append(out, p.apply(r, 0, depth+1)...)
			}
		}
		return out
	}
	return []logpipe.Record{rec}
}

func (p *Pipeline) route(records []logpipe.Record) [][]logpipe.Record {
	batches := make([][]logpipe.Record, len(p.routes))
	for _, r := range records {
		for i, rt := range p.routes {
			if rt.match.match(r.Tag) {
				batches[i] = append(batches[i], r)
			}
		}
	}
	return batches
}

// Close closes the outputs.
func (p *Pipeline) Close() {
	for _, r := range p.routes {
		r.out.Close()
	}
}
