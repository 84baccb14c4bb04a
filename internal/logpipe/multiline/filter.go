package multiline

import "github.com/fargo-dev/fargo/internal/logpipe"

// Filter takes rec and returns the records that are complete: messages
// the line completed or ended, and rec itself when no parser takes it.
//
// The parser that took the stream's last line is tried first, then the
// others in order; the first that takes the line wins. A record whose
// content field is missing or not a string, or whose line no parser
// takes, ends every pending message of its stream and passes unchanged,
// after them. Fluent Bit leaves another parser's pending message waiting
// for the flush timer when a different parser takes a line; fargo emits
// it first, so records keep their order.
func (j *Joiner) Filter(rec logpipe.Record) []logpipe.Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stream(rec.Tag)
	if line, ok := rec.Fields[j.key].(string); ok {
		for _, i := range s.tryOrder() {
			out, processed := j.parsers[i].feed(&s.states[i], rec, line, j)
			if !processed {
				continue
			}
			s.last = i
			return append(j.flushExcept(s, i), out...)
		}
	}
	return append(j.flushExcept(s, -1), rec)
}

// tryOrder lists parser indexes, the last one used first.
func (s *stream) tryOrder() []int {
	order := make([]int, 0, len(s.states))
	order = append(order, s.last)
	for i := range s.states {
		if i != s.last {
			order = append(order, i)
		}
	}
	return order
}

// flushExcept emits the stream's pending messages of every parser but
// skip.
func (j *Joiner) flushExcept(s *stream, skip int) []logpipe.Record {
	var out []logpipe.Record
	for i := range s.states {
		if i != skip && s.states[i].pending() {
			out = append(out, s.states[i].flush(j.parsers[i].outKey(j))...)
		}
	}
	return out
}

// Flush emits every pending message, of every stream: what Fluent Bit's
// flush timer does when flush_ms passes without a new line.
func (j *Joiner) Flush() []logpipe.Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []logpipe.Record
	for _, tag := range j.order {
		out = append(out, j.flushExcept(j.streams[tag], -1)...)
	}
	return out
}
