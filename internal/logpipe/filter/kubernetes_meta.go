package filter

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"strings"
	"time"
)

// PodSource looks up a pod's metadata, as Fluent Bit asks the API server
// (or the kubelet) for /api/v1/namespaces/NS/pods/NAME.
type PodSource interface {
	Pod(ctx context.Context, namespace, name string) (*PodMeta, error)
}

// PodMeta is what the kubernetes filter reads from a pod.
type PodMeta struct {
	UID  string // metadata.uid, written as pod_id
	Host string // spec.nodeName, written as host
	// Labels and Annotations are metadata.labels and .annotations.
	Labels, Annotations map[string]string
	// Containers are the pod's container statuses by container name
	// (init containers included).
	Containers map[string]ContainerMeta
}

// ContainerMeta is one container's status.
type ContainerMeta struct {
	Image   string // status image, written as container_image
	ImageID string // status imageID, written (scheme removed) as container_hash
}

// tagMeta is what the log file name in the tag says.
type tagMeta struct {
	pod, namespace, container, dockerID string
}

// kubeTagRegex is Fluent Bit's KUBE_TAG_TO_REGEX, with the container ids
// fargo's runtimes give besides the 64 hex digits of a Docker or
// containerd id: the OCI tier's <uid 8>-<uid 3>-<container>-<attempt>
// (which holds dashes, so the container name is taken lazily) and the
// microVM tier's 16 hex digits.
var kubeTagRegex = regexp.MustCompile(`^(?P<pod_name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*)_(?P<namespace_name>[^_]+)_(?P<container_name>.+?)-(?P<docker_id>[0-9a-f]{8}-[0-9a-f]{3}-.+-[0-9]+|[0-9a-f]{16}|[a-z0-9]{64})\.log$`)

// parseTag reads pod, namespace, container and id from a tag such as
// kube.var.log.containers.web-1_default_nginx-0123abcd.log. ok is false
// for a tag that is not a container log's, which passes untouched.
func (k *kubernetes) parseTag(tag string) (tagMeta, bool) {
	rest, ok := strings.CutPrefix(tag, k.tagPrefix)
	if !ok || rest == "" {
		return tagMeta{}, false
	}
	var m tagMeta
	if k.regexParser != nil {
		fields, _, ok := k.regexParser.Parse(rest)
		if !ok {
			return tagMeta{}, false
		}
		text := func(key string) string { s, _ := fields[key].(string); return s }
		m = tagMeta{text("pod_name"), text("namespace_name"), text("container_name"), text("docker_id")}
	} else {
		sub := kubeTagRegex.FindStringSubmatch(rest)
		if sub == nil {
			return tagMeta{}, false
		}
		m = tagMeta{sub[1], sub[2], sub[3], sub[4]}
	}
	return m, m.pod != "" && m.namespace != ""
}

// podCacheLimit bounds the cache as Fluent Bit's hash table is bounded;
// beyond it expired entries go first, then any.
const podCacheLimit = 1024

// lookupTimeout bounds one PodSource call, which runs in the pipeline.
const lookupTimeout = 10 * time.Second

type podKey struct{ namespace, name string }

type cachedPod struct {
	meta    *PodMeta
	fetched time.Time
}

// pod returns a pod's metadata from the cache, or from the PodSource
// when it is missing or older than Kube_Meta_Cache_TTL (0: never
// expires). Failures are not cached, as in Fluent Bit: the next record
// of the pod asks again.
func (k *kubernetes) pod(namespace, name string) (*PodMeta, error) {
	key := podKey{namespace, name}
	now := k.deps.now()
	if c, ok := k.cache[key]; ok && !k.expired(c, now) {
		return c.meta, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	meta, err := k.deps.Pods.Pod(ctx, namespace, name)
	if err == nil && meta == nil {
		err = errors.New("no metadata")
	}
	if err != nil {
		return nil, err
	}
	k.store(key, cachedPod{meta, now}, now)
	return meta, nil
}

func (k *kubernetes) expired(c cachedPod, now time.Time) bool {
	return k.cacheTTL > 0 && now.Sub(c.fetched) >= k.cacheTTL
}

func (k *kubernetes) store(key podKey, c cachedPod, now time.Time) {
	if len(k.cache) >= podCacheLimit {
		maps.DeleteFunc(k.cache, func(_ podKey, c cachedPod) bool { return k.expired(c, now) })
	}
	for old := range k.cache {
		if len(k.cache) < podCacheLimit {
			break
		}
		delete(k.cache, old) // map order is random: Fluent Bit evicts at random too
	}
	k.cache[key] = c
}

// metadata builds the record's "kubernetes" map with Fluent Bit's keys.
// It is built afresh for each record, so later filters may change it.
func (k *kubernetes) metadata(t tagMeta, pod *PodMeta) map[string]any {
	m := map[string]any{
		"pod_name":       t.pod,
		"namespace_name": t.namespace,
	}
	if pod.UID != "" {
		m["pod_id"] = pod.UID
	}
	if k.labels && len(pod.Labels) > 0 {
		m["labels"] = stringMap(pod.Labels)
	}
	if k.annotations && len(pod.Annotations) > 0 {
		m["annotations"] = stringMap(pod.Annotations)
	}
	if pod.Host != "" {
		m["host"] = pod.Host
	}
	if t.container != "" {
		m["container_name"] = t.container
	}
	if t.dockerID != "" {
		m["docker_id"] = t.dockerID
	}
	if c, ok := pod.Containers[t.container]; ok {
		if h, ok := containerHash(c.ImageID); ok {
			m["container_hash"] = h
		}
		if c.Image != "" {
			m["container_image"] = c.Image
		}
	}
	return m
}

func stringMap(in map[string]string) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// containerHash is extract_hash of kube_meta.c: the imageID without a
// scheme:// prefix ("docker-pullable://nginx@sha256:…" → "nginx@sha256:…");
// an id with no ':' at all gives none.
func containerHash(imageID string) (string, bool) {
	colon := strings.IndexByte(imageID, ':')
	if len(imageID) <= 1 || colon < 0 {
		return "", false
	}
	rest := imageID[colon+1:]
	if trimmed := strings.TrimLeft(rest, "/"); len(trimmed) < len(rest) {
		return trimmed, trimmed != ""
	}
	return imageID, true
}
