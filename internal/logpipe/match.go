package logpipe

import "strings"

// Match reports whether tag matches a Fluent Bit Match pattern, where *
// stands for any run of characters (kube.* matches
// kube.var.log.containers.a.log; * matches everything).
func Match(pattern, tag string) bool {
	for {
		star := strings.IndexByte(pattern, '*')
		if star < 0 {
			return pattern == tag
		}
		if !strings.HasPrefix(tag, pattern[:star]) {
			return false
		}
		tag, pattern = tag[star:], pattern[star+1:]
		if pattern == "" {
			return true
		}
		// Try every place the rest could begin; patterns are short.
		for i := 0; i <= len(tag); i++ {
			if Match(pattern, tag[i:]) {
				return true
			}
		}
		return false
	}
}
