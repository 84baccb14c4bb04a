package parser

import (
	"encoding/json"
	"strings"
	"time"
)

// jsonParser is Format json: the text is one JSON object. Values decode
// as encoding/json decodes into any (numbers are float64). Types does not
// apply, as in Fluent Bit.
type jsonParser struct {
	time timeKey
}

// Parse decodes text. Anything but exactly one object (an array, a
// string, two objects, trailing text) does not match. A time field that
// does not fit Time_Format stays in the record and t stays zero; a
// non-string time field is left alone.
func (j *jsonParser) Parse(text string) (map[string]any, time.Time, bool) {
	dec := json.NewDecoder(strings.NewReader(text))
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, time.Time{}, false
	}
	if strings.TrimSpace(text[dec.InputOffset():]) != "" {
		return nil, time.Time{}, false
	}
	if !j.time.active() {
		return fields, time.Time{}, true
	}
	value, ok := fields[j.time.key].(string)
	if !ok {
		return fields, time.Time{}, true
	}
	t, ok := j.time.parse(value)
	if !ok {
		return fields, time.Time{}, true
	}
	if !j.time.keep {
		delete(fields, j.time.key)
	}
	return fields, t, true
}
