package loki

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// pair is one label (or structured metadata entry): a fixed value, or the
// value of a record accessor.
type pair struct {
	name     string
	value    string
	acc      logpipe.Accessor // nil for a fixed value
	sanitize bool             // the name was derived from the accessor
}

// parsePairs reads a comma-separated labels list: key=value, key=$acc or
// $acc. It returns the pairs and the accessors whose keys leave the line.
func parsePairs(key, list string) ([]pair, []logpipe.Accessor, error) {
	var pairs []pair
	var used []logpipe.Accessor
	for _, item := range splitList(list) {
		if strings.HasPrefix(item, "$") {
			p, err := accessorPair(key, item)
			if err != nil {
				return nil, nil, err
			}
			pairs, used = append(pairs, p), append(used, p.acc)
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || value == "" {
			return nil, nil, fmt.Errorf("%s: %q is not a label: write name=value, name=$record_key or $record_key", key, item)
		}
		if !strings.HasPrefix(value, "$") {
			pairs = append(pairs, pair{name: name, value: value})
			continue
		}
		acc, err := logpipe.ParseAccessor(value)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", key, err)
		}
		pairs, used = append(pairs, pair{name: name, acc: acc}), append(used, acc)
	}
	return pairs, used, nil
}

// accessorPair is a label named after its accessor, as Fluent Bit names
// it: $kubernetes['namespace_name'] is kubernetes_namespace_name.
func accessorPair(key, item string) (pair, error) {
	if len(item) > 1 && item[1] >= '0' && item[1] <= '9' {
		return pair{}, fmt.Errorf("%s: %q: a record key cannot start with a digit", key, item)
	}
	acc, err := logpipe.ParseAccessor(item)
	if err != nil {
		return pair{}, fmt.Errorf("%s: %w", key, err)
	}
	return pair{name: strings.Join(acc, "_"), acc: acc, sanitize: true}, nil
}

// splitList splits a Fluent Bit comma list, trimming each item.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// readLabelMap reads label_map_path: a JSON object whose string leaves
// are label names and whose paths are the record keys they take.
func readLabelMap(path string) ([]pair, []logpipe.Accessor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("label_map_path: %w", err)
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, nil, fmt.Errorf("label_map_path %s: %w: write a JSON object", path, err)
	}
	var pairs []pair
	var walk func(prefix logpipe.Accessor, m map[string]any) error
	walk = func(prefix logpipe.Accessor, m map[string]any) error {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			acc := append(append(logpipe.Accessor{}, prefix...), k)
			switch v := m[k].(type) {
			case string:
				pairs = append(pairs, pair{name: v, acc: acc})
			case map[string]any:
				if err := walk(acc, v); err != nil {
					return err
				}
			default:
				return fmt.Errorf("label_map_path %s: %s is neither a label name nor an object", path, acc)
			}
		}
		return nil
	}
	if err := walk(nil, root); err != nil {
		return nil, nil, err
	}
	used := make([]logpipe.Accessor, len(pairs))
	for i, p := range pairs {
		used[i] = p.acc
	}
	return pairs, used, nil
}

// resolve returns the pairs' values for fields; a pair whose accessor
// finds nothing (or an empty value, or a map) is left out.
func resolve(pairs []pair, fields map[string]any, into map[string]string) {
	for _, p := range pairs {
		name, value := p.name, p.value
		if p.acc != nil {
			v, ok := p.acc.Get(fields)
			if !ok {
				continue
			}
			switch v.(type) {
			case map[string]any, []any, nil:
				continue
			}
			value = logpipe.ValueText(v)
		}
		if value == "" {
			continue
		}
		if p.sanitize {
			name = sanitizeLabel(name)
		}
		into[name] = value
	}
}

// kubernetesLabels adds $kubernetes['labels'] entries with string values,
// names made valid for Loki.
func kubernetesLabels(fields map[string]any, into map[string]string) {
	k8s, _ := fields["kubernetes"].(map[string]any)
	labels, _ := k8s["labels"].(map[string]any)
	for k, v := range labels {
		if s, ok := v.(string); ok {
			into[sanitizeLabel(k)] = s
		}
	}
}

// sanitizeLabel makes name a valid Loki label name as Fluent Bit does:
// characters other than letters, digits and _ become _, and a leading
// digit gets a _ before it.
func sanitizeLabel(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}
