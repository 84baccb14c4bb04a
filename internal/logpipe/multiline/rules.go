package multiline

import (
	"regexp"
	"slices"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// rule is one line of a regex multiline parser: in any of the states
// from, a line matching re moves the parser to state to. Rules from
// "start_state" begin a message.
type rule struct {
	from  []string
	re    *regexp.Regexp
	to    string
	start bool
	// next are the rules that may follow this one: those whose from
	// holds this rule's to, in definition order (Fluent Bit's
	// to_state_map).
	next []*rule
	// ends says a start rule may follow, so the message is complete once
	// this rule matched: Fluent Bit flushes right away then.
	ends bool
}

// ruleParser is a built-in regex multiline parser (java, python, go,
// ruby), run as Fluent Bit's flb_ml_rule_process runs it.
type ruleParser struct {
	name  string
	rules []*rule
}

// ruleSpec is a rule as Fluent Bit writes it: "from1, from2", regex, to.
// The regexes are Fluent Bit's, in Go syntax; (?m) gives ^ and $ Ruby's
// line meaning.
type ruleSpec struct{ from, re, to string }

func newRuleParser(name string, specs []ruleSpec) *ruleParser {
	p := &ruleParser{name: name}
	for _, s := range specs {
		r := &rule{re: regexp.MustCompile("(?m)" + s.re), to: s.to}
		for f := range strings.SplitSeq(s.from, ",") {
			r.from = append(r.from, strings.TrimSpace(f))
		}
		r.start = slices.Contains(r.from, "start_state")
		p.rules = append(p.rules, r)
	}
	for _, r := range p.rules {
		for _, cand := range p.rules {
			if slices.Contains(cand.from, r.to) {
				r.next = append(r.next, cand)
				r.ends = r.ends || cand.start
			}
		}
	}
	return p
}

// startRule returns the first start rule line matches.
func (p *ruleParser) startRule(line string) *rule {
	for _, r := range p.rules {
		if r.start && r.re.MatchString(line) {
			return r
		}
	}
	return nil
}

// continuation returns the rule line continues g's message with, if any.
// Start rules are left out: a line matching one begins a new message.
func continuation(g *group, line string) *rule {
	if g.state == nil {
		return nil
	}
	for _, r := range g.state.next {
		if !r.start && r.re.MatchString(line) {
			return r
		}
	}
	return nil
}

// feed offers rec, whose content field holds line, to the parser.
// processed is false when the line neither continues the pending message
// nor starts one: the caller then flushes and passes rec on.
//
// As in Fluent Bit, the state survives a flush (a timeout, or a line no
// parser took), so a stack trace cut by a pause goes on as a new record.
func (p *ruleParser) feed(s *parserState, rec logpipe.Record, line string, j *Joiner) (out []logpipe.Record, processed bool) {
	g := s.group("")
	r := continuation(g, line)
	switch {
	case r != nil:
		out = g.appendLine(rec, line, j.key, j.limit)
	default:
		if r = p.startRule(line); r == nil {
			return nil, false
		}
		out = g.flush(j.key)
		g.begin(rec, line)
	}
	g.state = r
	if r.ends {
		out = append(out, g.flush(j.key)...)
	}
	return out, true
}

// Fluent Bit's built-in rules (src/multiline/flb_ml_parser_*.c).
var builtinRules = map[string][]ruleSpec{
	"java": {
		{"start_state, java_start_exception", `(.)(?:Exception|Error|Throwable|V8 errors stack trace)[:\r\n]`, "java_after_exception"},
		{"java_after_exception", `^[\t ]*nested exception is:[\t ]*`, "java_start_exception"},
		{"java_after_exception", `^[\r\n]*$`, "java_after_exception"},
		{"java_after_exception, java", `^[\t ]+(?:eval )?at `, "java"},
		{"java_after_exception, java", `^[\t ]+--- End of inner exception stack trace ---$`, "java"},
		{"java_after_exception, java", `^--- End of stack trace from previous location where exception was thrown ---$`, "java"},
		{"java_after_exception, java", `^[\t ]*(?:Caused by|Suppressed):`, "java_after_exception"},
		{"java_after_exception, java", `^[\t ]*... \d+ (?:more|common frames omitted)`, "java"},
	},
	"python": {
		{"start_state", `^Traceback \(most recent call last\):$`, "python"},
		{"python", `^[\t ]+File `, "python_code"},
		{"python_code", `[^\t ]`, "python"},
		{"python", `^(?:[^\s.():]+\.)*[^\s.():]+:`, "start_state"},
	},
	"go": {
		{"start_state", `\bpanic: `, "go_after_panic"},
		{"start_state", `http: panic serving`, "go_goroutine"},
		{"start_state", `\bfatal error: `, "go_after_panic"},
		{"go_after_panic", `^$`, "go_goroutine"},
		{"go_after_panic, go_after_signal, go_frame_1", `^$`, "go_goroutine"},
		{"go_after_panic", `^\[signal `, "go_after_signal"},
		{"go_goroutine", `^goroutine \d+ \[[^\]]+\]:$`, "go_frame_1"},
		{"go_frame_1", `^(?:[^\s.:]+\.)*[^\s.():]+\(|^created by `, "go_frame_2"},
		{"go_frame_2", `^\s`, "go_frame_1"},
	},
	"ruby": {
		{"start_state, ruby_start_exception", `^.+:\d+:in\s+.*`, "ruby_after_exception"},
		{"ruby_after_exception, ruby", `^\s+from\s+.*:\d+:in\s+.*`, "ruby"},
	},
}
