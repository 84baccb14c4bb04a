package join

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"k8s.io/cluster-bootstrap/token/jws"
)

// Timings of the discovery of the cluster CA.
var (
	// discoveryTimeout bounds the wait for the bootstrap-signer, which
	// signs cluster-info some time after the token Secret appears.
	discoveryTimeout = 60 * time.Second
	// discoveryPoll is short: a host joining a starting server waits
	// on it, and a GET of cluster-info is cheap.
	discoveryPoll = 200 * time.Millisecond
	// authGrace is how long a 401 or 403 counts as the apiserver's caches
	// not yet knowing a token or role just created, rather than a wrong
	// token or server.
	authGrace = 10 * time.Second
)

// errNotSigned means cluster-info has no signature for the token yet.
var errNotSigned = errors.New("cluster-info is not signed for this token yet")

// discoverCA reads kube-public/cluster-info from server with the bootstrap
// token, over TLS verified against the CA the token pins (pinnedTransport),
// and returns the CA bundle once verifyClusterInfo trusts it.
func discoverCA(ctx context.Context, server string, t Token) ([]byte, error) {
	transport, err := pinnedTransport(server, t.CAHash)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(&rest.Config{
		Host:        server,
		BearerToken: t.Bootstrap(),
		Transport:   transport,
		Timeout:     10 * time.Second,
		// The poll below paces the requests.
		QPS: -1,
	})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var ca []byte
	var last error
	err = wait.PollUntilContextTimeout(ctx, discoveryPoll, discoveryTimeout, true, func(ctx context.Context) (bool, error) {
		cm, err := cs.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, bootstrapapi.ConfigMapClusterInfo, metav1.GetOptions{})
		late := time.Since(start) > authGrace
		switch {
		case apierrors.IsUnauthorized(err) && late:
			return false, fmt.Errorf("%s rejects join token %s: the token is wrong or was deleted; "+
				"use the token of this server (fargo server prints it; it is in <data-dir>/token)", server, t.ID)
		case apierrors.IsForbidden(err) && late:
			return false, fmt.Errorf("%s does not let join token %s read %s/%s (%v): is it a fargo server?",
				server, t.ID, metav1.NamespacePublic, bootstrapapi.ConfigMapClusterInfo, err)
		case errors.As(err, new(*pinError)):
			return false, err
		case err != nil:
			if ctx.Err() == nil { // else it is only the poll's deadline
				last = err
			}
			return false, nil
		}
		ca, err = verifyClusterInfo(cm, t)
		if errors.Is(err, errNotSigned) {
			last = err
			return false, nil
		}
		return err == nil, err
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		if last == nil {
			last = err
		}
		return nil, fmt.Errorf("reading the cluster CA from %s for %s: %w", server, discoveryTimeout, last)
	}
	return ca, err
}

// verifyClusterInfo returns the CA bundle of cluster-info when its
// signature for t's ID verifies with t's secret and the bundle holds the
// CA t pins. errNotSigned means the signature is missing, which is only
// worth waiting for.
func verifyClusterInfo(cm *corev1.ConfigMap, t Token) ([]byte, error) {
	content, ok := cm.Data[bootstrapapi.KubeConfigKey]
	if !ok {
		return nil, fmt.Errorf("%s has no %s key: the server is not set up for joining", cm.Name, bootstrapapi.KubeConfigKey)
	}
	sig, ok := cm.Data[bootstrapapi.JWSSignatureKeyPrefix+t.ID]
	if !ok {
		return nil, errNotSigned
	}
	if !jws.DetachedTokenIsValid(sig, content, t.ID, t.Secret) {
		return nil, fmt.Errorf("the signature of %s does not verify with join token %s: "+
			"this is not the server the token came from, or the connection to it is tampered with", cm.Name, t.ID)
	}
	ca, err := clusterCA(content)
	if err != nil {
		return nil, err
	}
	certs, err := parseCerts(ca)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cm.Name, err)
	}
	var seen []string
	for _, c := range certs {
		h := certHash(c)
		if h == t.CAHash {
			return ca, nil
		}
		seen = append(seen, h)
	}
	return nil, fmt.Errorf("the server's CA %v is not the CA %s pinned in the join token: "+
		"this is not the server the token came from", seen, t.CAHash)
}

// clusterCA returns the CA data of the only cluster of a cluster-info
// kubeconfig.
func clusterCA(content string) ([]byte, error) {
	cfg, err := clientcmd.Load([]byte(content))
	if err != nil {
		return nil, fmt.Errorf("cluster-info kubeconfig: %w", err)
	}
	if len(cfg.Clusters) != 1 {
		return nil, fmt.Errorf("cluster-info kubeconfig has %d clusters, want 1", len(cfg.Clusters))
	}
	for _, c := range cfg.Clusters {
		if len(c.CertificateAuthorityData) == 0 {
			return nil, errors.New("cluster-info kubeconfig has no CA data")
		}
		return c.CertificateAuthorityData, nil
	}
	return nil, nil
}
