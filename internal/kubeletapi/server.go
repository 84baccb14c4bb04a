// Package kubeletapi serves the kubelet API of every pod-node of a host:
// container logs, exec, attach, port-forward, stats and metrics, the
// endpoints the apiserver, metrics-server and kubectl reach at a node's
// address on port 10250. One listener serves all of a host's pod-nodes;
// the host's firewall redirects POD_IP:10250 to it (internal/network), and
// the original destination of each connection says which pod-node it is
// for, so each gets its own serving certificate and sees only its pod.
// Requests are authenticated (client certificate or bearer token through
// TokenReview) and authorised (SubjectAccessReview) as by a kubelet.
package kubeletapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// Pods is what the endpoint asks of the host's pod runner.
type Pods interface {
	// PodNodeAt returns the pod-node whose address is ip and its pod.
	PodNodeAt(ip netip.Addr) (node string, pod *corev1.Pod, ok bool)
	// Container returns an attempt of the pod's container: the latest, or
	// with previous the one before it. The error wraps ErrNotFound, with
	// the kubelet's message, when there is no such attempt.
	Container(pod types.UID, name string, previous bool) (Container, error)
}

// Container is one attempt of a pod's container.
type Container struct {
	ID      string
	LogPath string
	Running bool
}

// ErrNotFound marks a pod, container or attempt that does not exist.
var ErrNotFound = errors.New("not found")

// Runtime is the part of the sandbox runtime the endpoint drives.
type Runtime interface {
	ExecStream(ctx context.Context, podUID, id string, argv []string, s sandbox.Streams) (int, error)
	Attach(ctx context.Context, podUID, id string, s sandbox.Streams) error
	PortForward(ctx context.Context, podUID string, port int32, stream io.ReadWriteCloser) error
	Stats(ctx context.Context, podUID string) (sandbox.PodUsage, error)
}

// Certificates hands out each pod-node's serving certificate.
type Certificates interface {
	Certificate(ctx context.Context, node string, ip netip.Addr) (*tls.Certificate, error)
}

// Config is what Serve needs.
type Config struct {
	// Addr is the listen address, e.g. ":10250".
	Addr    string
	Pods    Pods
	Runtime Runtime
	Certs   Certificates
	// Authn and Authz check every request, as a kubelet's do.
	Authn authenticator.Request
	Authz authorizer.Authorizer
	// StreamIdleTimeout ends an exec, attach or port-forward session with no
	// traffic (kubelet's streamingConnectionIdleTimeout); zero means 4h.
	StreamIdleTimeout time.Duration
	Log               klog.Logger
}

// handshakeTimeout bounds a TLS handshake, which may wait for a new
// pod-node's certificate to be issued.
const handshakeTimeout = 30 * time.Second

// Listen opens cfg.Addr; Serve then serves on it. Apart so that the
// caller learns of a taken port before it reports ready.
func Listen(cfg Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("kubelet API: listen on %s: %w (pass --kubelet-port with a free port)", cfg.Addr, err)
	}
	return ln, nil
}

// Serve serves the kubelet API on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	if cfg.StreamIdleTimeout == 0 {
		cfg.StreamIdleTimeout = 4 * time.Hour
	}
	if cfg.Log.GetSink() == nil {
		cfg.Log = klog.Background()
	}
	s := &server{cfg: cfg, log: cfg.Log.WithName("kubeletapi")}
	hs := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: handshakeTimeout,
		ConnContext:       withDestination,
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: s.certificate,
			// The client certificate is verified by the authenticator,
			// against the cluster CA, like a kubelet's.
			ClientAuth: tls.RequestClientCert,
		},
		ErrorLog: nil,
	}
	stop := context.AfterFunc(ctx, func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdown)
		_ = hs.Close()
	})
	defer stop()
	err := hs.ServeTLS(ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

type server struct {
	cfg Config
	log klog.Logger
}

// certificate picks the pod-node's certificate by the connection's
// original destination.
func (s *server) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	ip, ok := destination(hello.Context())
	if !ok {
		return nil, errors.New("kubelet API: no destination address for the connection")
	}
	node, _, ok := s.cfg.Pods.PodNodeAt(ip)
	if !ok {
		return nil, fmt.Errorf("kubelet API: no pod-node at %v on this host", ip)
	}
	ctx, cancel := context.WithTimeout(hello.Context(), handshakeTimeout)
	defer cancel()
	cert, err := s.cfg.Certs.Certificate(ctx, node, ip)
	if err != nil {
		s.log.Error(err, "No serving certificate for a pod-node", "node", node)
	}
	return cert, err
}
