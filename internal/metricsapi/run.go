// Package metricsapi serves metrics.k8s.io, the API behind `kubectl top`,
// inside `fargo server`: upstream metrics-server, driven by its own flags,
// scrapes the pod-nodes' kubelet endpoints (/metrics/resource, over TLS
// verified against the cluster CA, with a client certificate authorised
// by SubjectAccessReview for nodes/metrics) and is registered, as in any
// cluster, as the APIService v1beta1.metrics.k8s.io backed by the Service
// kube-system/metrics-server.
package metricsapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/metrics-server/cmd/metrics-server/app/options"

	"github.com/fargo-dev/fargo/internal/pki"
)

// DefaultPort is where metrics-server listens on the advertise address.
const DefaultPort = 10271

// resolution is how often the kubelets are scraped: upstream's manifests
// use 15s, so `kubectl top` has a rate (two readings) 15s after a start.
const resolution = 15 * time.Second

// Config is what the server hands to its metrics API.
type Config struct {
	// Admin is a client configuration with full rights, to install the
	// APIService, its Service and endpoints and metrics-server's RBAC.
	Admin *rest.Config
	// ServerURL is where metrics-server reaches the apiserver.
	ServerURL string
	// CA is the cluster CA: it issues metrics-server's serving and client
	// certificates, and verifies the kubelets' serving certificates.
	CA *pki.Authority
	// PKIDir receives the certificates; Kubeconfig is written for
	// metrics-server's own clients.
	PKIDir     string
	Kubeconfig string
	// Address is where the apiserver's aggregator reaches metrics-server:
	// a non-loopback address of this machine (the advertise address).
	Address net.IP
	Port    int
}

// Run installs what registers metrics.k8s.io, closes ready, and serves it
// with metrics-server until ctx ends.
func Run(ctx context.Context, cfg Config, ready chan<- struct{}) error {
	if cfg.Address == nil || cfg.Address.IsLoopback() || cfg.Address.IsUnspecified() {
		return fmt.Errorf("metrics API: address %v cannot be reached from the aggregator: pass --advertise-address with a non-loopback IP of this machine", cfg.Address)
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	files, err := ensureCredentials(cfg)
	if err != nil {
		return err
	}
	// RBAC first: building metrics-server's delegated authentication
	// reads the front-proxy settings in kube-system, which its role grants.
	if err := install(ctx, cfg, files.caBundle); err != nil {
		return err
	}
	opts, err := metricsServerOptions(cfg, files)
	if err != nil {
		return err
	}
	server, err := newServer(ctx, cfg, opts)
	if err != nil {
		return err
	}
	close(ready)
	if err := server.RunUntil(ctx.Done()); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("metrics-server: %w", err)
	}
	return ctx.Err()
}

// runner is the metrics-server that Config.Complete builds.
type runner interface {
	RunUntil(stopCh <-chan struct{}) error
}

// newServer builds metrics-server. Building it opens its listener and
// reads the front-proxy settings with its own identity, so it is built
// once, after the RBAC applied by install is in force.
func newServer(ctx context.Context, cfg Config, opts *options.Options) (runner, error) {
	if err := waitAuthorized(ctx, cfg.Admin); err != nil {
		return nil, err
	}
	config, err := opts.ServerConfig()
	if err != nil {
		return nil, fmt.Errorf("metrics-server: %w", err)
	}
	v2, v3 := config.Apiserver.OpenAPIConfig, config.Apiserver.OpenAPIV3Config
	v2.GetDefinitions, v2.Definitions = withModelNames(v2.GetDefinitions), addModelNames(v2.Definitions)
	v3.GetDefinitions, v3.Definitions = withModelNames(v3.GetDefinitions), addModelNames(v3.Definitions)
	s, err := config.Complete()
	if err != nil {
		return nil, fmt.Errorf("metrics-server: %w", err)
	}
	return s, nil
}

// metricsServerOptions are metrics-server's options, set through its own
// flags as its Deployment manifest sets them. Options.Validate is not
// called: it applies logging settings process-wide, which belong to the
// server; the checks that matter here hold by construction.
func metricsServerOptions(cfg Config, f credentialFiles) (*options.Options, error) {
	opts := options.NewOptions()
	fs := pflag.NewFlagSet("metrics-server", pflag.ContinueOnError)
	for _, set := range opts.Flags().FlagSets {
		if set.Name() != "logging" {
			fs.AddFlagSet(set)
		}
	}
	args := []string{
		"--bind-address=" + cfg.Address.String(),
		"--secure-port=" + strconv.Itoa(cfg.Port),
		"--tls-cert-file=" + f.serving.CertFile,
		"--tls-private-key-file=" + f.serving.KeyFile,
		"--kubeconfig=" + cfg.Kubeconfig,
		"--authentication-kubeconfig=" + cfg.Kubeconfig,
		"--authorization-kubeconfig=" + cfg.Kubeconfig,
		"--kubelet-certificate-authority=" + cfg.CA.CertFile,
		"--kubelet-client-certificate=" + f.client.CertFile,
		"--kubelet-client-key=" + f.client.KeyFile,
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-use-node-status-port",
		"--metric-resolution=" + resolution.String(),
		"--profiling=false",
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("metrics-server flags: %w", err)
	}
	if errs := opts.KubeletClient.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("metrics-server flags: %v", errs)
	}
	return opts, nil
}
