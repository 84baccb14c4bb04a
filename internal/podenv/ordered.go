package podenv

import (
	"slices"
	"sort"
)

// orderedEnv is a set of variables that remembers where each was last
// defined, so the result is stable and free of duplicates.
type orderedEnv struct {
	names  []string
	values map[string]string
}

func newOrderedEnv() *orderedEnv {
	return &orderedEnv{values: map[string]string{}}
}

// set defines name; a redefinition moves it to the end.
func (e *orderedEnv) set(name, value string) {
	if _, ok := e.values[name]; ok {
		e.names = slices.DeleteFunc(e.names, func(n string) bool { return n == name })
	}
	e.names = append(e.names, name)
	e.values[name] = value
}

// lookup is the mapping for $(VAR) expansion: a defined variable gives its
// value, an unknown one stays as written, as on a kubelet.
func (e *orderedEnv) lookup(name string) string {
	if v, ok := e.values[name]; ok {
		return v
	}
	return "$(" + name + ")"
}

func (e *orderedEnv) list() []string {
	out := make([]string, 0, len(e.names))
	for _, n := range e.names {
		out = append(out, n+"="+e.values[n])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
