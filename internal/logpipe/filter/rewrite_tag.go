package filter

import (
	"regexp"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// rewriteRule is one Rule line: $KEY REGEX NEW_TAG KEEP.
type rewriteRule struct {
	key  logpipe.Accessor
	re   *regexp.Regexp
	tag  tagTemplate
	keep bool
}

// rewriteTag re-emits records under a new tag. The router sends a record
// whose Tag changed through the pipeline again from the first filter, as
// Fluent Bit's emitter does; a new tag that this filter's Match also
// matches loops there as it would in Fluent Bit.
type rewriteTag struct {
	rules []rewriteRule
}

func newRewriteTag(p logpipe.Params) (*rewriteTag, error) {
	f := &rewriteTag{}
	for _, v := range p.All("Rule") {
		r, err := parseRewriteRule(v)
		if err != nil {
			return nil, err
		}
		f.rules = append(f.rules, r)
	}
	if len(f.rules) == 0 {
		return nil, errorf("rewrite_tag", `Rule is required: add a line such as "Rule $log ^ERROR errors.$TAG false"`)
	}
	// Emitter_Name, Emitter_Storage.type and Emitter_Mem_Buf_Limit
	// configure Fluent Bit's emitter input, which fargo does not have.
	return f, nil
}

func parseRewriteRule(v string) (rewriteRule, error) {
	toks, err := splitTokens(v, 4, slistQuotes)
	if err != nil {
		return rewriteRule{}, errorf("rewrite_tag", "Rule %q: %v", v, err)
	}
	if len(toks) != 4 {
		return rewriteRule{}, errorf("rewrite_tag", `Rule %q: write $KEY REGEX NEW_TAG KEEP (four parts; quote a regex with spaces), e.g. Rule $log ^ERROR errors.$TAG false`, v)
	}
	var r rewriteRule
	if r.key, err = logpipe.ParseAccessor(toks[0]); err != nil {
		return r, errorf("rewrite_tag", "Rule %q: %v", v, err)
	}
	if r.re, err = compileRegex("rewrite_tag: Rule "+v, toks[1]); err != nil {
		return r, errorf("rewrite_tag", "%v", err)
	}
	if r.tag, err = parseTagTemplate(toks[2]); err != nil {
		return r, errorf("rewrite_tag", "Rule %q: %v", v, err)
	}
	switch strings.ToLower(toks[3]) {
	case "true", "on", "yes":
		r.keep = true
	case "false", "off", "no":
	default:
		return r, errorf("rewrite_tag", "Rule %q: KEEP is %q: write true to keep the original record too, false to drop it", v, toks[3])
	}
	return r, nil
}

// Filter applies the first rule whose regex matches; later rules are not
// tried, as in Fluent Bit.
func (f *rewriteTag) Filter(rec logpipe.Record) []logpipe.Record {
	for _, r := range f.rules {
		v, ok := r.key.Get(rec.Fields)
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			continue
		}
		captures := r.re.FindStringSubmatch(s)
		if captures == nil {
			continue
		}
		emitted := rec.Clone()
		emitted.Tag = r.tag.expand(rec.Tag, rec.Fields, captures)
		if r.keep {
			return []logpipe.Record{rec, emitted}
		}
		return []logpipe.Record{emitted}
	}
	return []logpipe.Record{rec}
}
