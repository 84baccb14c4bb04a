package image

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
)

// dockerAuth is one registry's entry in a docker config.
type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// credential is a docker config entry: the registry host (which may start
// with a "*." wildcard label), an optional repository path prefix, and
// what to send there.
type credential struct {
	host, path string
	config     authn.AuthConfig
}

// secretKeychain finds credentials among a pod's imagePullSecrets.
type secretKeychain struct {
	credentials []credential
}

// Keychain turns a pod's imagePullSecrets (kubernetes.io/dockerconfigjson
// and the older kubernetes.io/dockercfg) into per-registry credentials, as
// kubelet does: the most specific entry matching the image's registry and
// repository wins, and an image no entry matches is pulled anonymously.
// Malformed secrets are skipped, as kubelet skips them.
func Keychain(secrets []*corev1.Secret) authn.Keychain {
	k := &secretKeychain{}
	for _, s := range secrets {
		if s == nil {
			continue
		}
		for key, a := range dockerAuths(s) {
			if c, ok := newCredential(key, a); ok {
				k.credentials = append(k.credentials, c)
			}
		}
	}
	return k
}

func dockerAuths(s *corev1.Secret) map[string]dockerAuth {
	var auths map[string]dockerAuth
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) == nil {
			auths = cfg.Auths
		}
	case corev1.SecretTypeDockercfg:
		json.Unmarshal(s.Data[corev1.DockerConfigKey], &auths)
	}
	return auths
}

// newCredential reads a docker config key, which may be a bare host, a
// host with a path, or a URL such as https://index.docker.io/v1/.
func newCredential(key string, a dockerAuth) (credential, bool) {
	if !strings.Contains(key, "://") {
		key = "https://" + key
	}
	u, err := url.Parse(key)
	if err != nil || u.Host == "" {
		return credential{}, false
	}
	p := strings.Trim(u.Path, "/")
	if p == "v1" || p == "v2" {
		p = "" // the API path of old docker logins, not a repository
	}
	cfg := authn.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
	if a.Auth != "" {
		if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			if user, pass, ok := strings.Cut(string(raw), ":"); ok {
				cfg.Username, cfg.Password = user, pass
			}
		}
	}
	return credential{host: canonicalHost(u.Host), path: p, config: cfg}, true
}

// Resolve implements authn.Keychain.
func (k *secretKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	host := canonicalHost(res.RegistryStr())
	repo := strings.TrimPrefix(res.String(), res.RegistryStr())
	repo = strings.Trim(repo, "/")
	var best *credential
	for i := range k.credentials {
		c := &k.credentials[i]
		if !hostMatches(c.host, host) || !pathMatches(c.path, repo) {
			continue
		}
		if best == nil || len(c.path) > len(best.path) || (len(c.path) == len(best.path) && !strings.Contains(c.host, "*") && strings.Contains(best.host, "*")) {
			best = c
		}
	}
	if best == nil {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(best.config), nil
}

// hostMatches compares hosts label by label; a pattern label may be "*".
// Ports must be equal.
func hostMatches(pattern, host string) bool {
	pl, hl := strings.Split(pattern, "."), strings.Split(host, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if ok, _ := path.Match(pl[i], hl[i]); !ok {
			return false
		}
	}
	return true
}

func pathMatches(prefix, repo string) bool {
	return prefix == "" || repo == prefix || strings.HasPrefix(repo, prefix+"/")
}
