package file

import (
	"fmt"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
)

// format is how a record becomes a line.
type format int

const (
	formatOutFile format = iota
	formatPlain
	formatCSV
	formatLTSV
	formatTemplate
)

// layout is a format with its settings.
type layout struct {
	format         format
	delimiter      string
	labelDelimiter string
	columnNames    bool
	template       string
}

func readLayout(p logpipe.Params) (layout, error) {
	l := layout{delimiter: ",", labelDelimiter: ":", template: p.String("Template", "{time} {message}")}
	switch f := strings.ToLower(strings.TrimSpace(p.String("Format", "out_file"))); f {
	case "out_file", "":
		l.format = formatOutFile
	case "plain":
		l.format = formatPlain
	case "csv":
		l.format = formatCSV
	case "ltsv":
		l.format, l.delimiter = formatLTSV, "\t"
	case "template":
		l.format = formatTemplate
	case "msgpack":
		return l, fmt.Errorf("Format msgpack is not written by fargo: choose out_file, plain, csv, ltsv or template")
	default:
		return l, fmt.Errorf("Format is %q: write out_file, plain, csv, ltsv or template", f)
	}
	// Fluent Bit takes only these delimiter names and ignores others.
	if d, ok := delimiter(p.String("Delimiter", "")); ok {
		l.delimiter = d
	}
	if d, ok := delimiter(p.String("Label_Delimiter", "")); ok {
		l.labelDelimiter = d
	}
	var err error
	l.columnNames, err = p.Bool("csv_column_names", false)
	return l, err
}

func delimiter(v string) (string, bool) {
	switch strings.ToLower(v) {
	case `\t`, "tab":
		return "\t", true
	case "space":
		return " ", true
	case "comma":
		return ",", true
	}
	return "", false
}

// line writes rec as one line of the layout, newline included.
func (l layout) line(rec logpipe.Record) (string, error) {
	switch l.format {
	case formatPlain:
		b, err := httpout.MarshalJSON(fieldsOrEmpty(rec.Fields))
		return string(b) + "\n", err
	case formatCSV:
		return l.csv(rec), nil
	case formatLTSV:
		return l.ltsv(rec), nil
	case formatTemplate:
		return l.fill(rec) + "\n", nil
	}
	b, err := httpout.MarshalJSON(fieldsOrEmpty(rec.Fields))
	return rec.Tag + ": [" + httpout.DoubleTime(rec.Time) + ", " + string(b) + "]\n", err
}

func (l layout) csv(rec logpipe.Record) string {
	parts := []string{httpout.DoubleTime(rec.Time)}
	for _, k := range httpout.SortedKeys(rec.Fields) {
		parts = append(parts, httpout.PrintValue(rec.Fields[k]))
	}
	return strings.Join(parts, l.delimiter) + "\n"
}

// csvHeader is the csv_column_names line written at the top of a new
// file.
func (l layout) csvHeader(rec logpipe.Record) string {
	return strings.Join(append([]string{"timestamp"}, httpout.SortedKeys(rec.Fields)...), l.delimiter) + "\n"
}

func (l layout) ltsv(rec logpipe.Record) string {
	parts := []string{`"time"` + l.labelDelimiter + httpout.DoubleTime(rec.Time)}
	for _, k := range httpout.SortedKeys(rec.Fields) {
		parts = append(parts, httpout.PrintValue(k)+l.labelDelimiter+httpout.PrintValue(rec.Fields[k]))
	}
	return strings.Join(parts, l.delimiter) + "\n"
}

// fill replaces {time} and {key} in the template; strings go in bare,
// other values as msgpack prints them; a key the record lacks is left
// empty.
func (l layout) fill(rec logpipe.Record) string {
	var b strings.Builder
	s := l.template
	for {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			break
		}
		b.WriteString(s[:open])
		b.WriteString(placeholder(rec, s[open+1:open+end]))
		s = s[open+end+1:]
	}
	b.WriteString(s)
	return b.String()
}

func placeholder(rec logpipe.Record, key string) string {
	if key == "time" {
		return httpout.DoubleTime(rec.Time)
	}
	v, ok := rec.Fields[key]
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return httpout.PrintValue(v)
}

func fieldsOrEmpty(f map[string]any) map[string]any {
	if f == nil {
		return map[string]any{}
	}
	return f
}
