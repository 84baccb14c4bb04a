package awslogging

import (
	"errors"
	"strings"
	"testing"
)

// The configuration of the EKS user guide, indented as published.
const (
	eksOutput = `[OUTPUT]
    Name cloudwatch_logs
    Match   kube.*
    region region-code
    log_group_name my-logs
    log_stream_prefix from-fluent-bit-
    log_retention_days 60
    auto_create_group true
`
	eksFilters = `[FILTER]
    Name parser
    Match *
    Key_name log
    Parser crio
`
	eksParsers = `[PARSER]
    Name crio
    Format Regex
    Regex ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$
    Time_Key    time
    Time_Format %Y-%m-%dT%H:%M:%S.%L%z
`
)

func eksData() map[string]string {
	return map[string]string{
		KeyOutput:   eksOutput,
		KeyFilters:  eksFilters,
		KeyParsers:  eksParsers,
		KeyFlbLogCW: "false",
	}
}

// output returns data holding only an output.conf with that text.
func output(text string) map[string]string {
	return map[string]string{KeyOutput: text}
}

// withOutput adds a valid output.conf to data, so a case tests one rule.
func withOutput(data map[string]string) map[string]string {
	data[KeyOutput] = "[OUTPUT]\n    Name es\n    Match *\n"
	return data
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		data map[string]string
	}{
		{"EKS user guide example", eksData()},
		{"output only", output("[OUTPUT]\n  Name kinesis\n  Match kube.*\n")},
		{"keys are case-insensitive", output("[OUTPUT]\n  NAME es\n  match *\n")},
		{"plugin names are case-insensitive", output("[OUTPUT]\n  Name CloudWatch_Logs\n  Match *\n")},
		{"section names are case-insensitive", output("[output]\n  Name es\n  Match *\n")},
		{"comments and blank lines are ignored", output("# logs to es\n\n[OUTPUT]\n  # the plugin\n  Name es\n\n  Match *\n")},
		{"tabs throughout are consistent", output("[OUTPUT]\n\tName\tes\n\tMatch\t*\n")},
		{"headers may be indented", output("  [OUTPUT]\n    Name es\n    Match *\n  [OUTPUT]\n    Name kinesis\n    Match *\n")},
		{"CRLF line endings", output("[OUTPUT]\r\n  Name es\r\n  Match *\r\n")},
		{"a # inside a value is part of it", output("[OUTPUT]\n  Name es\n  Match *\n  Index logs#1\n")},
		{"a dollar without braces is fine", output("[OUTPUT]\n  Name es\n  Match *\n  Index $logs\n")},
		{"repeated keys other than Name and Match", withOutput(map[string]string{
			KeyFilters: "[FILTER]\n  Name grep\n  Match *\n  Regex log a\n  Regex log b\n"})},
		{"flb_log_cw true", withOutput(map[string]string{KeyFlbLogCW: "true"})},
		{"flb_log_cw True", withOutput(map[string]string{KeyFlbLogCW: "True"})},
		{"exactly 5300 characters", output(padTo("[OUTPUT]\n  Name es\n  Match *\n", MaxConfigChars))},
		{"characters, not bytes, are counted", output(padRunesTo("[OUTPUT]\n  Name es\n  Match *\n", MaxConfigChars, 'é'))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.data); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestParseAllowedPlugins(t *testing.T) {
	for _, name := range []string{"es", "firehose", "kinesis_firehose", "cloudwatch", "cloudwatch_logs", "kinesis"} {
		t.Run("output "+name, func(t *testing.T) {
			if _, err := Parse(output("[OUTPUT]\n  Name " + name + "\n  Match *\n")); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, name := range []string{"grep", "parser", "record_modifier", "rewrite_tag", "throttle", "nest", "modify", "kubernetes"} {
		t.Run("filter "+name, func(t *testing.T) {
			data := withOutput(map[string]string{KeyFilters: "[FILTER]\n  Name " + name + "\n  Match *\n"})
			if _, err := Parse(data); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseResult(t *testing.T) {
	c, err := Parse(eksData())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Outputs) != 1 || len(c.Filters) != 1 || len(c.Parsers) != 1 || c.RouterLogsToCloudWatch {
		t.Fatalf("got %d outputs, %d filters, %d parsers, flb_log_cw %v", len(c.Outputs), len(c.Filters), len(c.Parsers), c.RouterLogsToCloudWatch)
	}
	out := c.Outputs[0]
	if got, _ := out.Get("match"); got != "kube.*" {
		t.Errorf("Match = %q, want kube.* (spaces after the key are not part of the value)", got)
	}
	if got, _ := c.Parsers[0].Get("Time_Key"); got != "time" {
		t.Errorf("Time_Key = %q, want time", got)
	}
	if got, _ := c.Parsers[0].Get("Regex"); !strings.HasSuffix(got, "(?<log>.*)$") {
		t.Errorf("Regex = %q: a value keeps its inner spaces", got)
	}
	if out.Line != 1 || out.Params[0].Line != 2 {
		t.Errorf("lines: section %d, first param %d; want 1 and 2", out.Line, out.Params[0].Line)
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		data map[string]string
		want []string // every problem, in order
	}{
		{"5301 characters", output(padTo("[OUTPUT]\n  Name es\n  Match *\n", MaxConfigChars+1)),
			[]string{"the configmap has 5301 characters: at most 5300 are allowed"}},
		{"size is the only problem of an oversized configmap", output(padTo("[OUTPUT]\n  Name stdout\n", MaxConfigChars+1)),
			[]string{"the configmap has 5301 characters: at most 5300 are allowed"}},
		{"unsupported key", withOutput(map[string]string{"fluent-bit.conf": "[SERVICE]\n"}),
			[]string{`key "fluent-bit.conf" is not supported: use output.conf, filters.conf, parsers.conf or flb_log_cw`}},
		{"output under filters.conf", withOutput(map[string]string{KeyFilters: "[OUTPUT]\n  Name es\n  Match *\n"}),
			[]string{"filters.conf line 1: [OUTPUT] belongs under output.conf, not filters.conf"}},
		{"parser under output.conf", output("[OUTPUT]\n  Name es\n  Match *\n[PARSER]\n  Name p\n  Format json\n"),
			[]string{"output.conf line 4: [PARSER] belongs under parsers.conf, not output.conf"}},
		{"INPUT section", output("[INPUT]\n  Name tail\n[OUTPUT]\n  Name es\n  Match *\n"),
			[]string{"output.conf line 1: [INPUT] sections are not supported: output.conf holds [OUTPUT] sections only"}},
		{"SERVICE section", withOutput(map[string]string{KeyParsers: "[SERVICE]\n  Flush 1\n"}),
			[]string{"parsers.conf line 1: [SERVICE] sections are not supported: parsers.conf holds [PARSER] sections only"}},
		{"output without Name", output("[OUTPUT]\n  Match *\n"),
			[]string{"output.conf line 1: [OUTPUT] has no Name: Name is required"}},
		{"output without Match", output("[OUTPUT]\n  Name es\n"),
			[]string{"output.conf line 1: [OUTPUT] has no Match: Match is required"}},
		{"filter without Name", withOutput(map[string]string{KeyFilters: "[FILTER]\n  Match *\n"}),
			[]string{"filters.conf line 1: [FILTER] has no Name: Name is required"}},
		{"filter without Match", withOutput(map[string]string{KeyFilters: "[FILTER]\n  Name grep\n"}),
			[]string{"filters.conf line 1: [FILTER] has no Match: Match is required"}},
		{"parser without Name", withOutput(map[string]string{KeyParsers: "[PARSER]\n  Format json\n"}),
			[]string{"parsers.conf line 1: [PARSER] has no Name: Name is required"}},
		{"parser without Format", withOutput(map[string]string{KeyParsers: "[PARSER]\n  Name p\n"}),
			[]string{"parsers.conf line 1: [PARSER] has no Format: Format is required"}},
		{"Name twice", output("[OUTPUT]\n  Name es\n  Match *\n  name stdout\n"),
			[]string{"output.conf line 1: [OUTPUT] sets Name 2 times: set it once"}},
		{"unsupported output plugin", output("[OUTPUT]\n    Match *\n    Name stdout\n"),
			[]string{`output.conf line 3: unsupported output plugin "stdout"`}},
		{"unsupported filter plugin", withOutput(map[string]string{KeyFilters: "[FILTER]\n  Name lua\n  Match *\n"}),
			[]string{`filters.conf line 2: unsupported filter plugin "lua"`}},
		{"environment variable", output("[OUTPUT]\n  Name es\n  Match *\n  Host ${ES_HOST}\n"),
			[]string{"output.conf line 4: environment variables like ${ES_HOST} are not allowed"}},
		{"unterminated environment variable", output("[OUTPUT]\n  Name es\n  Match *\n  Host ${ES_HOST\n"),
			[]string{"output.conf line 4: environment variables like ${ES_HOST are not allowed"}},
		{"inconsistent key-value indentation", output("[OUTPUT]\n    Name es\n  Match *\n"),
			[]string{"output.conf line 3: key-value pair is indented 2 spaces, but line 2 is indented 4 spaces: use the same indentation throughout"}},
		{"tab after spaces", output("[OUTPUT]\n    Name es\n\tMatch *\n"),
			[]string{"output.conf line 3: key-value pair is indented 1 tab, but line 2 is indented 4 spaces: use the same indentation throughout"}},
		{"inconsistent header indentation", output("[OUTPUT]\n    Name es\n    Match *\n  [OUTPUT]\n    Name kinesis\n    Match *\n"),
			[]string{"output.conf line 4: section header is indented 2 spaces, but line 1 is indented not at all: use the same indentation throughout"}},
		{"key-value pairs not indented", output("[OUTPUT]\nName es\nMatch *\n"),
			[]string{"output.conf line 2: key-value pairs must be indented more than section headers"}},
		{"key-value pairs indented like headers", output("  [OUTPUT]\n  Name es\n  Match *\n"),
			[]string{"output.conf line 2: key-value pairs must be indented more than section headers"}},
		{"key-value pair outside a section", output("  Name es\n[OUTPUT]\n  Name es\n  Match *\n"),
			[]string{`output.conf line 1: "Name es" is outside a section: start the section with its [NAME] header`}},
		{"key without value", output("[OUTPUT]\n  Name es\n  Match\n"),
			[]string{"output.conf line 1: [OUTPUT] has no Match: Match is required", `output.conf line 3: key "Match" has no value`}},
		{"malformed header", output("[OUTPUT\n  Name es\n  Match *\n"),
			[]string{`output.conf line 1: malformed section header "[OUTPUT": write it like [OUTPUT]`,
				`output.conf line 2: "Name es" is outside a section: start the section with its [NAME] header`,
				`output.conf line 3: "Match *" is outside a section: start the section with its [NAME] header`,
				"no [OUTPUT] section: at least one output is required in output.conf"}},
		{"@INCLUDE", output("@INCLUDE other.conf\n[OUTPUT]\n  Name es\n  Match *\n"),
			[]string{"output.conf line 1: @INCLUDE is not allowed: the configuration must be self-contained"}},
		{"flb_log_cw not a bool", withOutput(map[string]string{KeyFlbLogCW: "yes"}),
			[]string{`flb_log_cw is "yes": write "true" or "false"`}},
		{"no output at all", map[string]string{KeyFilters: eksFilters},
			[]string{"no [OUTPUT] section: at least one output is required in output.conf"}},
		{"output.conf with comments only", output("# nothing yet\n"),
			[]string{"no [OUTPUT] section: at least one output is required in output.conf"}},
		{"empty data", nil,
			[]string{"no [OUTPUT] section: at least one output is required in output.conf"}},
		{"problems of one key come in line order", output("[OUTPUT]\n  Host ${H}\n  Name stdout\n"),
			[]string{
				"output.conf line 1: [OUTPUT] has no Match: Match is required",
				"output.conf line 2: environment variables like ${H} are not allowed",
				`output.conf line 3: unsupported output plugin "stdout"`,
			}},
		{"problems come key by key, in key order", map[string]string{
			KeyParsers: "[PARSER]\n  Name p\n",
			KeyOutput:  "[OUTPUT]\n  Name stdout\n  Match *\n",
			KeyFilters: "[FILTER]\n  Name lua\n  Match *\n",
		}, []string{
			`filters.conf line 2: unsupported filter plugin "lua"`,
			`output.conf line 2: unsupported output plugin "stdout"`,
			"parsers.conf line 1: [PARSER] has no Format: Format is required",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.data)
			var invalid *InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("Parse = %v, %v; want an *InvalidError", c, err)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			if got, want := strings.Join(invalid.Problems, "\n"), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("problems:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// padTo appends a comment line so that text has exactly n characters.
func padTo(text string, n int) string {
	return padRunesTo(text, n, 'x')
}

func padRunesTo(text string, n int, r rune) string {
	prefix := text + "#"
	return prefix + strings.Repeat(string(r), n-len([]rune(prefix)))
}
