package logpipe

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Param is one "Key Value" line of a section, in the order written.
// Fluent Bit matches keys ignoring case; some keys (Rule, Regex, Add,
// Record, Set) may repeat.
type Param struct {
	Key, Value string
}

// Params are a section's lines: what a plugin is configured with.
type Params []Param

// Get returns the last value of key (case-insensitive), as Fluent Bit
// lets a later line override an earlier one.
func (p Params) Get(key string) (string, bool) {
	for i := len(p) - 1; i >= 0; i-- {
		if strings.EqualFold(p[i].Key, key) {
			return p[i].Value, true
		}
	}
	return "", false
}

// String returns key's value, or def when it is not set.
func (p Params) String(key, def string) string {
	if v, ok := p.Get(key); ok {
		return v
	}
	return def
}

// All returns every value of a repeatable key, in order.
func (p Params) All(key string) []string {
	var out []string
	for _, kv := range p {
		if strings.EqualFold(kv.Key, key) {
			out = append(out, kv.Value)
		}
	}
	return out
}

// Bool reads a Fluent Bit boolean: on/off, true/false, yes/no, 1/0.
func (p Params) Bool(key string, def bool) (bool, error) {
	v, ok := p.Get(key)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return def, fmt.Errorf("%s is %q: write On or Off", key, v)
}

// Int reads a whole number.
func (p Params) Int(key string, def int) (int, error) {
	v, ok := p.Get(key)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return def, fmt.Errorf("%s is %q: write a whole number", key, v)
	}
	return n, nil
}

// Size reads a Fluent Bit size: a number with an optional K, M or G
// suffix (KB, MB, GB too), in bytes.
func (p Params) Size(key string, def int64) (int64, error) {
	v, ok := p.Get(key)
	if !ok {
		return def, nil
	}
	n, err := ParseSize(v)
	if err != nil {
		return def, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}

// ParseSize reads "32k", "5MB", "1G" or a plain number of bytes.
func ParseSize(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	s = strings.TrimSuffix(s, "B")
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: write a number with an optional K, M or G", v)
	}
	return int64(n * float64(mult)), nil
}

// Duration reads a Fluent Bit time: a number of seconds, or a number with
// an s, m, h or d suffix.
func (p Params) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := p.Get(key)
	if !ok {
		return def, nil
	}
	d, err := ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}

// ParseDuration reads "30", "300s", "30m", "1h", "1d".
func ParseDuration(v string) (time.Duration, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	unit := time.Second
	switch {
	case strings.HasSuffix(s, "ms"):
		unit, s = time.Millisecond, strings.TrimSuffix(s, "ms")
	case strings.HasSuffix(s, "s"):
		s = strings.TrimSuffix(s, "s")
	case strings.HasSuffix(s, "m"):
		unit, s = time.Minute, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "h"):
		unit, s = time.Hour, strings.TrimSuffix(s, "h")
	case strings.HasSuffix(s, "d"):
		unit, s = 24*time.Hour, strings.TrimSuffix(s, "d")
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("time %q: write seconds, or a number with s, m, h or d", v)
	}
	return time.Duration(n * float64(unit)), nil
}
