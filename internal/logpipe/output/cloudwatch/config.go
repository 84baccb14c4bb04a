package cloudwatch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// Defaults of the cloudwatch Go plugin, used when its $(...) templates
// name a field a record lacks.
const (
	defaultGroupFallback  = "fluentbit-default"
	defaultStreamFallback = "/fluentbit-default"
)

// validRetentionDays are the retention periods CloudWatch Logs takes.
var validRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// naming decides each record's log group and stream.
type naming struct {
	group        string
	groupTmpl    template
	stream       string
	streamPrefix string
	streamTmpl   template
}

// destination is the group and stream rec goes to: the template's when
// it renders, else the plain name, else prefix and tag.
func (n naming) destination(rec logpipe.Record) (group, stream string) {
	group = n.group
	if g, ok := n.groupTmpl.render(rec); ok && n.groupTmpl != nil {
		group = g
	}
	if s, ok := n.streamTmpl.render(rec); ok && n.streamTmpl != nil {
		return group, s
	}
	if n.stream != "" {
		return group, n.stream
	}
	return group, n.streamPrefix + rec.Tag
}

// readNaming reads the group and stream keys of both plugins.
func readNaming(name string, p logpipe.Params) (naming, error) {
	var n naming
	var err error
	n.group = strings.TrimSpace(p.String("log_group_name", ""))
	n.stream = strings.TrimSpace(p.String("log_stream_name", ""))
	n.streamPrefix = strings.TrimSpace(p.String("log_stream_prefix", ""))
	if n.group == "" {
		return n, fmt.Errorf("output %q: log_group_name is required (log_group_template falls back to it)", name)
	}
	if n.stream == "" && n.streamPrefix == "" {
		return n, fmt.Errorf("output %q: set log_stream_name or log_stream_prefix (log_stream_template falls back to them)", name)
	}
	if n.stream != "" && n.streamPrefix != "" {
		return n, fmt.Errorf("output %q: log_stream_name and log_stream_prefix are both set: keep one", name)
	}
	// The Go plugin's templates live in the names themselves.
	if strings.Contains(n.group, "$(") {
		if n.groupTmpl, err = parseGoPluginTemplate(n.group); err != nil {
			return n, fmt.Errorf("output %q: log_group_name: %w", name, err)
		}
		n.group = p.String("default_log_group_name", defaultGroupFallback)
	}
	if strings.Contains(n.stream, "$(") {
		if n.streamTmpl, err = parseGoPluginTemplate(n.stream); err != nil {
			return n, fmt.Errorf("output %q: log_stream_name: %w", name, err)
		}
		n.stream = p.String("default_log_stream_name", defaultStreamFallback)
	}
	if v := strings.TrimSpace(p.String("log_group_template", "")); v != "" {
		if n.groupTmpl, err = parseRecordAccessorTemplate(v); err != nil {
			return n, fmt.Errorf("output %q: log_group_template: %w", name, err)
		}
	}
	if v := strings.TrimSpace(p.String("log_stream_template", "")); v != "" {
		if n.streamTmpl, err = parseRecordAccessorTemplate(v); err != nil {
			return n, fmt.Errorf("output %q: log_stream_template: %w", name, err)
		}
	}
	return n, nil
}

// groupSettings are what a log group the output creates gets.
type groupSettings struct {
	autoCreate    bool
	retentionDays int32
	class         types.LogGroupClass
}

func readGroupSettings(name string, p logpipe.Params) (groupSettings, error) {
	var g groupSettings
	var err error
	if g.autoCreate, err = p.Bool("auto_create_group", false); err != nil {
		return g, fmt.Errorf("output %q: %w", name, err)
	}
	days, err := p.Int("log_retention_days", 0)
	if err != nil {
		return g, fmt.Errorf("output %q: %w", name, err)
	}
	if days > 0 && !slices.Contains(validRetentionDays, days) {
		return g, fmt.Errorf("output %q: log_retention_days %d is not a period CloudWatch Logs takes: use one of %v", name, days, validRetentionDays)
	}
	g.retentionDays = int32(days)
	if v := strings.TrimSpace(p.String("log_group_class", "")); v != "" {
		g.class = types.LogGroupClass(strings.ToUpper(v))
		if !slices.Contains(g.class.Values(), g.class) {
			return g, fmt.Errorf("output %q: log_group_class %q: use STANDARD or INFREQUENT_ACCESS", name, v)
		}
	}
	return g, nil
}

// readEMF reads log_format: json/emf marks events as CloudWatch embedded
// metric format; it is the only format CloudWatch Logs has a header for.
func readEMF(name string, p logpipe.Params) (bool, error) {
	v := strings.ToLower(strings.TrimSpace(p.String("log_format", "")))
	switch v {
	case "":
		return false, nil
	case "json/emf", "json_emf":
		return true, nil
	}
	return false, fmt.Errorf("output %q: log_format %q is not supported: use json/emf, or remove log_format", name, v)
}
