package awslogging

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxConfigChars is the size limit of the aws-logging ConfigMap. fargo
// counts the characters (not bytes) of all data values; the key names are
// fixed and short, and EKS does not say whether it counts them.
const MaxConfigChars = 5300

// The ConfigMap keys EKS reads, each holding one kind of section.
const (
	KeyOutput   = "output.conf"
	KeyFilters  = "filters.conf"
	KeyParsers  = "parsers.conf"
	KeyFlbLogCW = "flb_log_cw"
)

// Section kinds, as written between the brackets.
const (
	KindOutput = "OUTPUT"
	KindFilter = "FILTER"
	KindParser = "PARSER"
)

// kindOfKey says which section kind lives under which key.
var kindOfKey = map[string]string{
	KeyOutput:  KindOutput,
	KeyFilters: KindFilter,
	KeyParsers: KindParser,
}

// keyOfKind is the inverse of kindOfKey, for "belongs under" messages.
var keyOfKind = map[string]string{
	KindOutput: KeyOutput,
	KindFilter: KeyFilters,
	KindParser: KeyParsers,
}

// The plugins EKS accepts; anything else could not run inside the
// log router (no stdout to read, no files to write to).
var (
	allowedFilters = set("grep", "parser", "record_modifier", "rewrite_tag", "throttle", "nest", "modify", "kubernetes")
	allowedOutputs = set("es", "firehose", "kinesis_firehose", "cloudwatch", "cloudwatch_logs", "kinesis")
)

// What fargo adds with --logging-outputs=extended: receivers users run
// outside AWS (aws/containers-roadmap #1242, #1525, #1858, #2446), and the
// multiline filter (#1317, #1326).
var (
	extendedFilters = set("multiline")
	extendedOutputs = set("http", "loki", "opentelemetry", "file", "stdout")
)

// Options are the rules beyond EKS's that a cluster turns on.
type Options struct {
	// Extended accepts the extended outputs and filters besides EKS's.
	Extended bool
	// Check, when set, runs after the syntax rules on a config that
	// passed them, and returns what else is wrong with it (a plugin that
	// refuses its params); the log router supplies it.
	Check func(*Config) []string
}

// requiredParams are the keys every section of a kind must set.
var requiredParams = map[string][]string{
	KindOutput: {"Name", "Match"},
	KindFilter: {"Name", "Match"},
	KindParser: {"Name", "Format"},
}

// Config is a valid aws-logging ConfigMap, read.
type Config struct {
	Outputs []Section
	Filters []Section
	Parsers []Section
	// RouterLogsToCloudWatch is flb_log_cw: ship the log router's own logs
	// to CloudWatch as well.
	RouterLogsToCloudWatch bool
}

// InvalidError lists what is wrong with a ConfigMap, in a fixed order: each
// key in alphabetical order, line by line, then a missing output. Each
// problem names the key and the line where there is one. A ConfigMap over
// the size limit has that one problem only.
type InvalidError struct {
	Problems []string
}

func (e *InvalidError) Error() string {
	return "invalid aws-logging configmap: " + strings.Join(e.Problems, "; ")
}

// Parse reads the data of an aws-logging ConfigMap and checks it against the
// rules of spec section 7. It returns an *InvalidError listing every problem,
// or the config.
func Parse(data map[string]string) (*Config, error) { return ParseWith(data, Options{}) }

// ParseWith is Parse under a cluster's options.
func ParseWith(data map[string]string, opts Options) (*Config, error) {
	// An oversized ConfigMap (the apiserver takes up to 1 MiB) is not
	// parsed: Decide runs for every new Fargate pod, and the size alone
	// makes it invalid.
	if n := countChars(data); n > MaxConfigChars {
		return nil, &InvalidError{Problems: []string{
			fmt.Sprintf("the configmap has %d characters: at most %d are allowed", n, MaxConfigChars)}}
	}
	c := &Config{}
	var problems []string
	for _, key := range slices.Sorted(maps.Keys(data)) {
		problems = append(problems, c.readKey(key, data[key], opts)...)
	}
	if len(c.Outputs) == 0 {
		problems = append(problems, fmt.Sprintf("no [OUTPUT] section: at least one output is required in %s", KeyOutput))
	}
	if len(problems) == 0 && opts.Check != nil {
		problems = opts.Check(c)
	}
	if len(problems) > 0 {
		return nil, &InvalidError{Problems: problems}
	}
	return c, nil
}

func (c *Config) readKey(key, value string, opts Options) []string {
	if key == KeyFlbLogCW {
		return c.readFlbLogCW(value)
	}
	kind, ok := kindOfKey[key]
	if !ok {
		return []string{fmt.Sprintf("key %q is not supported: use %s, %s, %s or %s", key, KeyOutput, KeyFilters, KeyParsers, KeyFlbLogCW)}
	}
	sections, problems := parseClassic(value)
	for i := range sections {
		s := &sections[i]
		problems = append(problems, sectionProblems(key, kind, s, opts)...)
		if s.Kind == kind {
			c.add(s)
		}
	}
	// Parsing finds some problems and the section rules others; the user
	// reads them best top to bottom.
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].line < problems[j].line })
	texts := make([]string, len(problems))
	for i, p := range problems {
		texts[i] = fmt.Sprintf("%s line %d: %s", key, p.line, p.text)
	}
	return texts
}

func (c *Config) add(s *Section) {
	switch s.Kind {
	case KindOutput:
		c.Outputs = append(c.Outputs, *s)
	case KindFilter:
		c.Filters = append(c.Filters, *s)
	case KindParser:
		c.Parsers = append(c.Parsers, *s)
	}
}

// readFlbLogCW accepts true and false in any case; the EKS examples write
// "true" and "false", and Terraform renders a bool that way too.
func (c *Config) readFlbLogCW(value string) []string {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "true":
		c.RouterLogsToCloudWatch = true
	case "false":
		c.RouterLogsToCloudWatch = false
	default:
		return []string{fmt.Sprintf("%s is %q: write \"true\" or \"false\"", KeyFlbLogCW, value)}
	}
	return nil
}

// sectionProblems checks one section found under key, which holds kind.
func sectionProblems(key, kind string, s *Section, opts Options) []lineProblem {
	at := func(line int, format string, args ...any) lineProblem {
		return lineProblem{line: line, text: fmt.Sprintf(format, args...)}
	}
	if s.Kind != kind {
		if home, known := keyOfKind[s.Kind]; known {
			return []lineProblem{at(s.Line, "[%s] belongs under %s, not %s", s.Kind, home, key)}
		}
		return []lineProblem{at(s.Line, "[%s] sections are not supported: %s holds [%s] sections only", s.Kind, key, kind)}
	}
	var problems []lineProblem
	for _, param := range requiredParams[kind] {
		switch n := s.count(param); {
		case n == 0:
			problems = append(problems, at(s.Line, "[%s] has no %s: %s is required", kind, param, param))
		case n > 1:
			problems = append(problems, at(s.Line, "[%s] sets %s %d times: set it once", kind, param, n))
		}
	}
	if name, ok := s.Get("Name"); ok && !pluginAllowed(kind, name, opts.Extended) {
		problems = append(problems, at(nameLine(s), "unsupported %s plugin %q", strings.ToLower(kind), name))
	}
	return append(problems, paramProblems(s)...)
}

// pluginAllowed checks output and filter plugin names; a parser's Name is
// the user's own label. fluent-bit matches plugin names ignoring case.
func pluginAllowed(kind, name string, extended bool) bool {
	n := strings.ToLower(name)
	switch kind {
	case KindOutput:
		return allowedOutputs[n] || (extended && extendedOutputs[n])
	case KindFilter:
		return allowedFilters[n] || (extended && extendedFilters[n])
	}
	return true
}

func nameLine(s *Section) int {
	for _, p := range s.Params {
		if strings.EqualFold(p.Key, "Name") {
			return p.Line
		}
	}
	return s.Line
}

func countChars(data map[string]string) int {
	n := 0
	for _, v := range data {
		n += utf8.RuneCountInString(v)
	}
	return n
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
