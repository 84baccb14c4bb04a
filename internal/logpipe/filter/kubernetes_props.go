package filter

import (
	"maps"
	"slices"
	"strings"
)

// podProps is what a pod's fluentbit.io/ annotations ask of its logs
// (kube_property.c), for one container: a parser for the log and whether
// to drop it, per stream.
type podProps struct {
	stdoutParser, stderrParser   string
	stdoutExclude, stderrExclude *bool // nil: not set
}

// Streams an annotation applies to.
const (
	streamBoth = iota
	streamStdout
	streamStderr
)

// props reads the annotations that K8S-Logging.Parser and
// K8S-Logging.Exclude allow:
//
//	fluentbit.io/parser[_stdout|_stderr][-CONTAINER]: PARSER
//	fluentbit.io/exclude[_stdout|_stderr][-CONTAINER]: true
//
// A container-specific annotation overrides a general one; among general
// ones the first (by name, the order the API server writes them) wins.
func (k *kubernetes) props(pod *PodMeta, container string) podProps {
	var p podProps
	if !k.k8sParser && !k.k8sExclude {
		return p
	}
	for _, name := range slices.Sorted(maps.Keys(pod.Annotations)) {
		prop, ok := strings.CutPrefix(name, "fluentbit.io/")
		if !ok {
			continue
		}
		value := pod.Annotations[name]
		var isParser bool
		switch {
		case strings.HasPrefix(prop, "parser") && k.k8sParser:
			isParser, prop = true, prop[len("parser"):]
		case strings.HasPrefix(prop, "exclude") && k.k8sExclude:
			prop = prop[len("exclude"):]
		default:
			continue
		}
		stream, forContainer, ok := annotationScope(prop)
		if !ok || (forContainer != "" && forContainer != container) {
			continue
		}
		specific := forContainer != ""
		if isParser {
			if _, known := k.deps.parser(value); known {
				p.setParser(stream, specific, value)
			}
			continue
		}
		p.setExclude(stream, specific, isTrue(value))
	}
	return p
}

// annotationScope reads the [_stdout|_stderr][-CONTAINER] tail of an
// annotation name.
func annotationScope(s string) (stream int, container string, ok bool) {
	if rest, found := strings.CutPrefix(s, "_"); found {
		switch {
		case strings.HasPrefix(rest, "stdout"):
			stream, s = streamStdout, rest[len("stdout"):]
		case strings.HasPrefix(rest, "stderr"):
			stream, s = streamStderr, rest[len("stderr"):]
		default:
			return 0, "", false
		}
	}
	if s == "" {
		return stream, "", true
	}
	container, found := strings.CutPrefix(s, "-")
	return stream, container, found && container != ""
}

func (p *podProps) setParser(stream int, specific bool, name string) {
	if stream != streamStderr && (specific || p.stdoutParser == "") {
		p.stdoutParser = name
	}
	if stream != streamStdout && (specific || p.stderrParser == "") {
		p.stderrParser = name
	}
}

func (p *podProps) setExclude(stream int, specific bool, exclude bool) {
	if stream != streamStderr && (specific || p.stdoutExclude == nil) {
		p.stdoutExclude = &exclude
	}
	if stream != streamStdout && (specific || p.stderrExclude == nil) {
		p.stderrExclude = &exclude
	}
}

// forStream says, for a record's "stream" field, whether to drop it and
// which parser to merge its log with. A record without a stream is
// dropped only when both streams are excluded, and parsed only when both
// name the same parser.
func (p podProps) forStream(stream any) (exclude bool, parser string) {
	yes := func(b *bool) bool { return b != nil && *b }
	switch stream {
	case "stdout":
		return yes(p.stdoutExclude), p.stdoutParser
	case "stderr":
		return yes(p.stderrExclude), p.stderrParser
	}
	if p.stdoutParser == p.stderrParser {
		parser = p.stdoutParser
	}
	return yes(p.stdoutExclude) && yes(p.stderrExclude), parser
}

// isTrue reads a boolean as flb_utils_bool does.
func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "yes":
		return true
	}
	return false
}
