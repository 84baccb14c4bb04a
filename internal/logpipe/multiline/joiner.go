package multiline

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// DefaultBufferLimit is how long a joined message may grow before it is
// emitted, as Fluent Bit's multiline_buffer_limit (2 MiB).
const DefaultBufferLimit = 2 << 20

// Joiner is Fluent Bit's multiline filter with built-in parsers: it joins
// the records of one stream (tag) whose content field continues a
// multiline message. It is a logpipe.Filter and a logpipe.Flusher: the
// router calls Flush when no line has come for FlushTimeout.
type Joiner struct {
	parsers      []mlParser
	key          string
	flushTimeout time.Duration
	limit        int

	mu      sync.Mutex
	streams map[string]*stream
	order   []string // tags in first-seen order, for a stable Flush
}

// mlParser is one built-in multiline parser.
type mlParser interface {
	// feed offers rec, whose content field holds line; processed false
	// means the parser does not take the line.
	feed(s *parserState, rec logpipe.Record, line string, j *Joiner) (out []logpipe.Record, processed bool)
	// outKey is the field the joined text goes to.
	outKey(j *Joiner) string
}

func (r *ruleParser) outKey(j *Joiner) string { return j.key }

// stream is one tag's state: each parser's groups, and which parser took
// the last line (tried first, as Fluent Bit's lru_parser).
type stream struct {
	states []parserState
	last   int
}

// New builds a Joiner from built-in parser names (go, java, python, ruby,
// cri; tried in this order), the field holding the text (default "log")
// and the time after which the router flushes pending lines.
func New(names []string, key string, flushTimeout time.Duration) (*Joiner, error) {
	if key == "" {
		key = "log"
	}
	if flushTimeout <= 0 {
		return nil, fmt.Errorf("flush_ms must be more than 0")
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("multiline.parser is missing: write one or more of go, java, python, ruby, cri")
	}
	j := &Joiner{key: key, flushTimeout: flushTimeout, limit: DefaultBufferLimit, streams: map[string]*stream{}}
	for _, name := range names {
		p, err := builtin(name)
		if err != nil {
			return nil, err
		}
		j.parsers = append(j.parsers, p)
	}
	return j, nil
}

func builtin(name string) (mlParser, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if specs, ok := builtinRules[n]; ok {
		return newRuleParser(n, specs), nil
	}
	switch n {
	case "cri":
		return newCRIParser(), nil
	case "docker":
		return nil, fmt.Errorf("multiline.parser %q joins Docker's JSON log lines, which fargo's containers do not write (they log in CRI format): use cri", name)
	}
	return nil, fmt.Errorf("multiline.parser %q is not a built-in parser fargo has: use go, java, python, ruby or cri ([MULTILINE_PARSER] sections are not supported yet)", name)
}

// FromParams builds a Joiner from a [FILTER] multiline section:
// multiline.parser (a comma-separated list, the key may repeat),
// multiline.key_content (default log) and flush_ms (default 2000).
func FromParams(p logpipe.Params) (*Joiner, error) {
	var names []string
	for _, v := range p.All("multiline.parser") {
		for n := range strings.SplitSeq(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if mode := p.String("mode", "parser"); !strings.EqualFold(strings.TrimSpace(mode), "parser") {
		return nil, fmt.Errorf("mode %q is not supported: fargo's containers log in CRI format, so remove mode and use multiline.parser cri to join partial lines", mode)
	}
	ms, err := p.Int("flush_ms", 2000)
	if err != nil {
		return nil, err
	}
	if ms <= 0 {
		return nil, fmt.Errorf("flush_ms is %d: write a number of milliseconds above 0", ms)
	}
	return New(names, p.String("multiline.key_content", "log"), time.Duration(ms)*time.Millisecond)
}

// FlushTimeout is how long the router waits after the last line before it
// calls Flush (flush_ms).
func (j *Joiner) FlushTimeout() time.Duration { return j.flushTimeout }

// SetBufferLimit sets the most bytes a joined message may hold before it
// is emitted (DefaultBufferLimit unless set).
func (j *Joiner) SetBufferLimit(bytes int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.limit = max(bytes, 1)
}

func (j *Joiner) stream(tag string) *stream {
	s, ok := j.streams[tag]
	if !ok {
		s = &stream{states: make([]parserState, len(j.parsers))}
		j.streams[tag] = s
		j.order = append(j.order, tag)
	}
	return s
}
