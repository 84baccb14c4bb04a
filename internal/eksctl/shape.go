package eksctl

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// shape is the schema of the accepted fields, used to report every unknown
// field and every value of the wrong type in one go. A strict decoder
// stops at the first one, which turns fixing a file into a loop.
type shape struct {
	kind   shapeKind
	fields map[string]*shape // for mappings
	elem   *shape            // for lists
}

type shapeKind int

const (
	scalar    shapeKind = iota // string; numbers and booleans become strings
	mapping                    // known fields only
	list                       // of elem
	stringMap                  // any keys, scalar values: labels, tags
)

var (
	scalarShape    = &shape{kind: scalar}
	stringMapShape = &shape{kind: stringMap}
)

func mappingOf(fields map[string]*shape) *shape { return &shape{kind: mapping, fields: fields} }
func listOf(elem *shape) *shape                 { return &shape{kind: list, elem: elem} }

// clusterConfigShape mirrors ClusterConfig and the spec's list of fields.
var clusterConfigShape = mappingOf(map[string]*shape{
	"apiVersion": scalarShape,
	"kind":       scalarShape,
	"metadata": mappingOf(map[string]*shape{
		"name":    scalarShape,
		"region":  scalarShape,
		"version": scalarShape,
	}),
	"vpc": mappingOf(map[string]*shape{
		"cidr": scalarShape,
	}),
	"fargateProfiles": listOf(mappingOf(map[string]*shape{
		"name": scalarShape,
		"selectors": listOf(mappingOf(map[string]*shape{
			"namespace": scalarShape,
			"labels":    stringMapShape,
		})),
		"subnets":             listOf(scalarShape),
		"podExecutionRoleARN": scalarShape,
		"tags":                stringMapShape,
	})),
})

// checkShape returns a problem for every unknown field and every value of
// the wrong type in doc, in path order.
func checkShape(doc map[string]any) []string {
	problems := walk(doc, clusterConfigShape, "")
	return append(problems, versionProblems(doc)...)
}

// walk checks v against s. A null value is accepted anywhere: YAML writes
// an empty `labels:` as null, and it means "not set".
func walk(v any, s *shape, path string) []string {
	if v == nil {
		return nil
	}
	switch s.kind {
	case mapping:
		return walkMapping(v, s, path)
	case list:
		return walkList(v, s, path)
	case stringMap:
		return walkStringMap(v, path)
	}
	if !isScalar(v) {
		return []string{fmt.Sprintf("%s: expected a string, found %s", path, describe(v))}
	}
	return nil
}

func walkMapping(v any, s *shape, path string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: expected a mapping of fields, found %s", path, describe(v))}
	}
	var problems []string
	for _, key := range slices.Sorted(maps.Keys(m)) {
		child, known := s.fields[key]
		if !known {
			problems = append(problems, unknownField(join(path, key), key, s.fields))
			continue
		}
		problems = append(problems, walk(m[key], child, join(path, key))...)
	}
	return problems
}

func walkList(v any, s *shape, path string) []string {
	items, ok := v.([]any)
	if !ok {
		return []string{fmt.Sprintf("%s: expected a list, found %s", path, describe(v))}
	}
	var problems []string
	for i, item := range items {
		problems = append(problems, walk(item, s.elem, fmt.Sprintf("%s[%d]", path, i))...)
	}
	return problems
}

func walkStringMap(v any, path string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: expected a mapping of key: value, found %s", path, describe(v))}
	}
	var problems []string
	for _, key := range slices.Sorted(maps.Keys(m)) {
		if !isScalar(m[key]) {
			problems = append(problems, fmt.Sprintf("%s: expected a string, found %s", mapEntry(path, key), describe(m[key])))
		}
	}
	return problems
}

// versionProblems refuses an unquoted version: YAML reads 1.30 as the
// number 1.3, and a silently wrong version is worse than an error.
func versionProblems(doc map[string]any) []string {
	meta, _ := doc["metadata"].(map[string]any)
	n, isNumber := meta["version"].(float64)
	if !isNumber {
		return nil
	}
	return []string{fmt.Sprintf(`metadata.version: quote the version, as in version: "1.30": YAML reads an unquoted version as a number (here %s)`,
		strconv.FormatFloat(n, 'f', -1, 64))}
}

func unknownField(path, key string, known map[string]*shape) string {
	msg := fmt.Sprintf("unknown field %q", path)
	if s := suggest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

// suggest returns the known field closest to key, if it is close enough to
// be a typo, a case slip or a missing plural "s".
func suggest(key string, known map[string]*shape) string {
	best, bestDistance := "", -1
	for _, name := range slices.Sorted(maps.Keys(known)) {
		d := distance(strings.ToLower(key), strings.ToLower(name))
		if d <= 2 && 3*d <= len(name) && (bestDistance < 0 || d < bestDistance) {
			best, bestDistance = name, d
		}
	}
	return best
}

// distance is the optimal string alignment distance between a and b: the
// Levenshtein distance with a swap of neighbours counting as one edit, the
// commonest typo. On bytes: field names are ASCII.
func distance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// mapEntry writes label and tag keys such as app.kubernetes.io/name in
// brackets, so that their dots are not read as nesting.
func mapEntry(path, key string) string {
	if plainKey.MatchString(key) {
		return join(path, key)
	}
	return fmt.Sprintf("%s[%q]", path, key)
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, float64, bool:
		return true
	}
	return false
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", v)
	case float64:
		return "the number " + strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	}
	return fmt.Sprintf("a %T", v)
}

// quoteValue shows a scalar as the user wrote it, and anything else by type.
func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return describe(v)
}
