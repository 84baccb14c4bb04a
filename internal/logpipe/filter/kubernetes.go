package filter

import (
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// kubernetes adds a pod's metadata to its container's log records under
// "kubernetes", and with Merge_Log lifts a JSON log into the record.
type kubernetes struct {
	deps Deps

	tagPrefix   string
	regexParser logpipe.Parser // Regex_Parser: reads the tag instead of kubeTagRegex

	mergeLog     bool
	mergeLogKey  string
	mergeLogTrim bool
	mergeParser  logpipe.Parser
	keepLog      bool

	labels, annotations   bool
	k8sParser, k8sExclude bool

	cacheTTL time.Duration
	cache    map[podKey]cachedPod
}

// defaultCacheTTL is fargo's Kube_Meta_Cache_TTL when the section has
// none. Fluent Bit's default, 0, keeps metadata forever, so a pod's new
// labels never show; fargo refreshes every half hour.
const defaultCacheTTL = 30 * time.Minute

func newKubernetes(p logpipe.Params, deps Deps) (*kubernetes, error) {
	if deps.Pods == nil {
		return nil, errorf("kubernetes", "no pod metadata source was given to the filter (a fargo bug: Deps.Pods is nil)")
	}
	k := &kubernetes{
		deps:      deps,
		tagPrefix: p.String("Kube_Tag_Prefix", "kube.var.log.containers."),
		cache:     map[podKey]cachedPod{},
	}
	if err := k.readBools(p); err != nil {
		return nil, err
	}
	var err error
	if k.cacheTTL, err = p.Duration("Kube_Meta_Cache_TTL", defaultCacheTTL); err != nil {
		return nil, errorf("kubernetes", "%v", err)
	}
	// Buffer_Size bounds Fluent Bit's API responses; fargo reads pods
	// another way, but a malformed size is still a config mistake.
	if _, err := p.Size("Buffer_Size", 0); err != nil {
		return nil, errorf("kubernetes", "%v", err)
	}
	k.mergeLogKey = strings.TrimSpace(p.String("Merge_Log_Key", ""))
	if k.mergeParser, err = namedParser(p, deps, "Merge_Parser"); err != nil {
		return nil, err
	}
	if k.regexParser, err = namedParser(p, deps, "Regex_Parser"); err != nil {
		return nil, err
	}
	// Use_Kubelet, Kubelet_Port, Kube_URL, Kube_CA_File, Kube_CA_Path,
	// Kube_Token_File, Kube_Token_Command and tls.* say how Fluent Bit
	// reaches the API server. fargo sets them in the Fargate config and
	// the ConfigMap validator refuses them from users; metadata comes from
	// Deps.Pods, so they are read by nobody.
	return k, nil
}

func (k *kubernetes) readBools(p logpipe.Params) error {
	for _, b := range []struct {
		key string
		def bool
		dst *bool
	}{
		{"Merge_Log", false, &k.mergeLog},
		{"Merge_Log_Trim", true, &k.mergeLogTrim},
		{"Keep_Log", true, &k.keepLog},
		{"Labels", true, &k.labels},
		{"Annotations", true, &k.annotations},
		{"K8S-Logging.Parser", false, &k.k8sParser},
		{"K8S-Logging.Exclude", false, &k.k8sExclude},
	} {
		v, err := boolParam(p, "kubernetes", b.key, b.def)
		if err != nil {
			return err
		}
		*b.dst = v
	}
	return nil
}

func namedParser(p logpipe.Params, deps Deps, key string) (logpipe.Parser, error) {
	name := strings.TrimSpace(p.String(key, ""))
	if name == "" {
		return nil, nil
	}
	parser, ok := deps.parser(name)
	if !ok {
		return nil, errorf("kubernetes", "%s %q is not defined: add a [PARSER] section with Name %s to parsers.conf", key, name, name)
	}
	return parser, nil
}

func (k *kubernetes) Filter(rec logpipe.Record) []logpipe.Record {
	t, ok := k.parseTag(rec.Tag)
	if !ok {
		return []logpipe.Record{rec}
	}
	if rec.Fields == nil {
		rec.Fields = map[string]any{}
	}
	// A failed lookup leaves the record without metadata but still merges
	// its log, as Fluent Bit does when the API server does not answer.
	var meta map[string]any
	var props podProps
	if pod, err := k.pod(t.namespace, t.pod); err == nil {
		meta = k.metadata(t, pod)
		props = k.props(pod, t.container)
	}
	exclude, parserName := props.forStream(rec.Fields["stream"])
	if exclude {
		return nil
	}
	if k.mergeLog {
		var annotated logpipe.Parser
		if parserName != "" {
			annotated, _ = k.deps.parser(parserName)
		}
		k.merge(&rec, annotated)
	}
	if meta != nil {
		rec.Fields["kubernetes"] = meta
	}
	return []logpipe.Record{rec}
}
