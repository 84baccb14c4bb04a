package filter

import (
	"regexp"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

type conditionKind int

const (
	condKeyExists conditionKind = iota
	condKeyDoesNotExist
	condAKeyMatches
	condNoKeyMatches
	condKeyValueEquals
	condKeyValueDoesNotEqual
	condKeyValueMatches
	condKeyValueDoesNotMatch
	condMatchingKeysHaveMatchingValues
	condMatchingKeysDoNotHaveMatchingValues
)

// conditionSpecs: kind, parameter count, and which parameters are
// regexes.
var conditionSpecs = map[string]struct {
	kind         conditionKind
	args         int
	aRegex, bRex bool
}{
	"key_exists":                                {condKeyExists, 1, false, false},
	"key_does_not_exist":                        {condKeyDoesNotExist, 1, false, false},
	"a_key_matches":                             {condAKeyMatches, 1, true, false},
	"no_key_matches":                            {condNoKeyMatches, 1, true, false},
	"key_value_equals":                          {condKeyValueEquals, 2, false, false},
	"key_value_does_not_equal":                  {condKeyValueDoesNotEqual, 2, false, false},
	"key_value_matches":                         {condKeyValueMatches, 2, false, true},
	"key_value_does_not_match":                  {condKeyValueDoesNotMatch, 2, false, true},
	"matching_keys_have_matching_values":        {condMatchingKeysHaveMatchingValues, 2, true, true},
	"matching_keys_do_not_have_matching_values": {condMatchingKeysDoNotHaveMatchingValues, 2, true, true},
}

// modifyCondition is one Condition line. A key parameter may be a
// record accessor ($kubernetes['namespace_name']).
type modifyCondition struct {
	kind  conditionKind
	key   logpipe.Accessor
	value string
	keyRe *regexp.Regexp
	valRe *regexp.Regexp
}

func parseCondition(v string) (modifyCondition, error) {
	toks, err := splitTokens(v, 3, splitQuotes)
	if err != nil {
		return modifyCondition{}, errorf("modify", "Condition %q: %v", v, err)
	}
	if len(toks) == 0 {
		return modifyCondition{}, errorf("modify", `Condition is empty: write e.g. "Condition Key_exists log"`)
	}
	spec, ok := conditionSpecs[strings.ToLower(toks[0])]
	if !ok {
		return modifyCondition{}, errorf("modify", "Condition %q: unknown condition %s: use Key_exists, Key_does_not_exist, A_key_matches, No_key_matches, Key_value_equals, Key_value_does_not_equal, Key_value_matches, Key_value_does_not_match, Matching_keys_have_matching_values or Matching_keys_do_not_have_matching_values", v, toks[0])
	}
	if len(toks)-1 != spec.args {
		hint := "one parameter"
		if spec.args == 2 {
			hint = "two parameters (quote one with spaces)"
		}
		return modifyCondition{}, errorf("modify", "Condition %q: %s takes %s", v, toks[0], hint)
	}
	c := modifyCondition{kind: spec.kind}
	what := "modify: Condition " + v
	if spec.aRegex {
		if c.keyRe, err = compileRegex(what, toks[1]); err != nil {
			return c, errorf("modify", "%v", err)
		}
	} else if c.key, err = logpipe.ParseAccessor(toks[1]); err != nil {
		return c, errorf("modify", "Condition %q: %v", v, err)
	}
	if spec.args == 2 {
		c.value = toks[2]
		if spec.bRex {
			if c.valRe, err = compileRegex(what, toks[2]); err != nil {
				return c, errorf("modify", "%v", err)
			}
		}
	}
	return c, nil
}

func (c modifyCondition) holds(fields map[string]any) bool {
	switch c.kind {
	case condKeyExists:
		return c.exists(fields)
	case condKeyDoesNotExist:
		return !c.exists(fields)
	case condAKeyMatches:
		return c.aKeyMatches(fields)
	case condNoKeyMatches:
		return !c.aKeyMatches(fields)
	case condKeyValueEquals:
		return c.valueEquals(fields)
	case condKeyValueDoesNotEqual:
		return c.exists(fields) && !c.valueEquals(fields)
	case condKeyValueMatches:
		return c.valueMatches(fields)
	case condKeyValueDoesNotMatch:
		return c.exists(fields) && !c.valueMatches(fields)
	case condMatchingKeysHaveMatchingValues:
		return c.matchingKeysMatch(fields)
	case condMatchingKeysDoNotHaveMatchingValues:
		return !c.matchingKeysMatch(fields)
	}
	return false
}

func (c modifyCondition) exists(fields map[string]any) bool {
	_, ok := c.key.Get(fields)
	return ok
}

func (c modifyCondition) aKeyMatches(fields map[string]any) bool {
	for k := range fields {
		if c.keyRe.MatchString(k) {
			return true
		}
	}
	return false
}

// valueEquals compares a string value; other types never equal, as in
// Fluent Bit.
func (c modifyCondition) valueEquals(fields map[string]any) bool {
	v, ok := c.key.Get(fields)
	s, isString := v.(string)
	return ok && isString && s == c.value
}

func (c modifyCondition) valueMatches(fields map[string]any) bool {
	v, ok := c.key.Get(fields)
	return ok && valueMatchesRegex(v, c.valRe)
}

// matchingKeysMatch is true when every top-level key matching the key
// regex has a value matching the value regex (and so when no key
// matches).
func (c modifyCondition) matchingKeysMatch(fields map[string]any) bool {
	for k, v := range fields {
		if c.keyRe.MatchString(k) && !valueMatchesRegex(v, c.valRe) {
			return false
		}
	}
	return true
}

// valueMatchesRegex matches strings, and booleans as "true"/"false";
// Fluent Bit's modify matches no other type.
func valueMatchesRegex(v any, re *regexp.Regexp) bool {
	switch v := v.(type) {
	case string:
		return re.MatchString(v)
	case bool:
		if v {
			return re.MatchString("true")
		}
		return re.MatchString("false")
	}
	return false
}
