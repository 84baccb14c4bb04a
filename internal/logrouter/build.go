package logrouter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/filter"
	"github.com/fargo-dev/fargo/internal/logpipe/multiline"
	"github.com/fargo-dev/fargo/internal/logpipe/parser"
)

// Plugins is what building a pipeline needs besides the config.
type Plugins struct {
	Env logpipe.Env
	// Pods answers the kubernetes filter's metadata lookups.
	Pods filter.PodSource
	// Stdout receives the stdout output's records (the router's own log).
	Stdout io.Writer
	// Now is the filters' clock (throttle, metadata cache); nil is time.Now.
	Now func() time.Time
}

// Build makes a pod's pipeline from a validated config. It fails, naming
// the section, when a plugin refuses its params; nothing is left open
// then.
func Build(cfg *awslogging.Config, plugins Plugins) (*Pipeline, error) {
	now := plugins.Now
	if now == nil {
		now = time.Now
	}
	parsers, err := parser.NewSet(paramsOf(cfg.Parsers))
	if err != nil {
		return nil, err
	}
	p := &Pipeline{}
	for _, s := range cfg.Filters {
		st, err := newStage(s, filter.Deps{Parsers: parsers, Pods: plugins.Pods, Now: now})
		if err != nil {
			p.Close()
			return nil, err
		}
		p.stages = append(p.stages, st)
	}
	counts := map[string]int{}
	for _, s := range cfg.Outputs {
		n, _ := s.Get("Name")
		name := strings.ToLower(n)
		rt, err := newRoute(s, plugins)
		if err != nil {
			p.Close()
			return nil, err
		}
		rt.name = fmt.Sprintf("%s.%d", name, counts[name])
		counts[name]++
		p.routes = append(p.routes, rt)
	}
	return p, nil
}

func newStage(s awslogging.Section, deps filter.Deps) (stage, error) {
	name, _ := s.Get("Name")
	m, err := matcherOf(s)
	if err != nil {
		return stage{}, err
	}
	params := paramsOf1(s)
	var f logpipe.Filter
	if strings.EqualFold(name, "multiline") {
		f, err = multiline.FromParams(params)
	} else {
		f, err = filter.New(params, deps)
	}
	if err != nil {
		return stage{}, fmt.Errorf("%s line %d: %w", awslogging.KeyFilters, s.Line, err)
	}
	return stage{name: strings.ToLower(name), match: m, filter: f}, nil
}

func newRoute(s awslogging.Section, plugins Plugins) (route, error) {
	name, _ := s.Get("Name")
	m, err := matcherOf(s)
	if err != nil {
		return route{}, err
	}
	out, err := newOutput(strings.ToLower(name), paramsOf1(s), plugins)
	if err != nil {
		return route{}, fmt.Errorf("%s line %d: %w", awslogging.KeyOutput, s.Line, err)
	}
	return route{match: m, out: out}, nil
}

// matcherOf reads Match, or Match_Regex, which Fluent Bit prefers when
// both are set.
func matcherOf(s awslogging.Section) (matcher, error) {
	if expr, ok := s.Get("Match_Regex"); ok {
		re, err := regexp.Compile(expr)
		if err != nil {
			return matcher{}, fmt.Errorf("[%s] line %d: Match_Regex %q: %v", s.Kind, s.Line, expr, err)
		}
		return matcher{re: re}, nil
	}
	pattern, _ := s.Get("Match")
	return matcher{pattern: pattern}, nil
}

func paramsOf(sections []awslogging.Section) []logpipe.Params {
	out := make([]logpipe.Params, len(sections))
	for i, s := range sections {
		out[i] = paramsOf1(s)
	}
	return out
}

func paramsOf1(s awslogging.Section) logpipe.Params {
	p := make(logpipe.Params, len(s.Params))
	for i, kv := range s.Params {
		p[i] = logpipe.Param{Key: kv.Key, Value: kv.Value}
	}
	return p
}

// Check builds a config's pipeline without starting it, and returns what
// its plugins refuse, for awslogging.Options.Check: a config fargo could
// not run is refused where the user applies it, not found at pod start.
func Check(cfg *awslogging.Config) []string {
	p, err := Build(cfg, Plugins{Stdout: io.Discard, Pods: notRunning{}})
	if err != nil {
		return []string{err.Error()}
	}
	p.Close()
	return nil
}

// notRunning stands in for the pod source of a pipeline that is built to
// be checked, never run.
type notRunning struct{}

func (notRunning) Pod(context.Context, string, string) (*filter.PodMeta, error) {
	return nil, errors.New("a pipeline built to be checked does not look pods up")
}
