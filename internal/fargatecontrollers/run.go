// Package fargatecontrollers runs fargo's own control loops inside `fargo
// server`, next to the upstream controllers: the FargateProfile and Host
// CRDs, the admission webhook that places matching pods on Fargate, the
// profile lifecycle controller, what lets hosts join (token, RBAC, CSR
// approval), the host heartbeat monitor, the fargate-scheduler and the
// controller that gives LoadBalancer Services their addresses.
package fargatecontrollers

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/admission"
	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/loadbalancer"
	"github.com/fargo-dev/fargo/internal/profileclient"
	"github.com/fargo-dev/fargo/internal/profilecontroller"
	"github.com/fargo-dev/fargo/internal/webhook"
)

// Config is what the server hands to its Fargate controllers.
type Config struct {
	// Admin is a client configuration with full rights on the cluster.
	Admin       *rest.Config
	WebhookPort int
	// WebhookListener has the webhook's serving certificate and the CA of
	// the apiserver's client certificate; its Addr is filled in by Run.
	WebhookListener webhook.Listener
	// CABundle verifies the webhook's serving certificate.
	CABundle    []byte
	MaxProfiles int

	// ServerURL is where hosts reach the apiserver (the advertise address).
	ServerURL string
	// TokenFile receives the join token of hosts.
	TokenFile     string
	Region        string
	ClusterName   string
	ClusterDNS    string
	ClusterDomain string
	LaunchQPS     float64
	LaunchBurst   int

	// LBAddressPool, when not empty, is where LoadBalancer Services get
	// their address from instead of the hosts' (internal/loadbalancer).
	LBAddressPool []netip.Prefix
	// LBReservedPorts are the hosts' own ports, which LoadBalancer Services
	// may not take on host addresses; 22/TCP always is.
	LBReservedPorts []loadbalancer.ReservedPort

	// Logging are the aws-logging rules: EKS's, or extended.
	Logging awslogging.Options
}

// WebhookHost is where the apiserver reaches fargo's webhook.
func WebhookHost(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Run installs the CRDs, serves and registers admission, lets hosts join,
// and runs the profile controller, the host monitor, the fargate-scheduler
// and the load-balancer controller until ctx ends. ready is closed once
// pods are admitted.
func Run(ctx context.Context, cfg Config, ready chan<- struct{}) error {
	// fargo's loops talk to their own apiserver; client-go's default of 5
	// requests a second would make a burst of pods wait on the client, not
	// on the server. The scheduler's launch rate has its own token bucket.
	admin := rest.CopyConfig(cfg.Admin)
	admin.QPS, admin.Burst = 2000, 4000
	cfg.Admin = admin
	cs, err := kubernetes.NewForConfig(cfg.Admin)
	if err != nil {
		return err
	}
	var established time.Time
	for _, crd := range []*apiextensionsv1.CustomResourceDefinition{v1.CRD(), v1.HostCRD()} {
		at, err := installCRD(ctx, cfg.Admin, crd)
		if err != nil {
			return err
		}
		if at.After(established) {
			established = at
		}
	}
	dyn, err := dynamic.NewForConfig(cfg.Admin)
	if err != nil {
		return err
	}
	profiles := profileclient.NewInformer(dyn, 10*time.Minute)
	sources, err := newSources(cs, profiles, cfg.Logging)
	if err != nil {
		return err
	}
	controller := profilecontroller.New(profileclient.New(dyn), cs)
	if err := controller.Register(profiles); err != nil {
		return err
	}
	sources.start(ctx)
	go profiles.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), append(sources.synced(), profiles.HasSynced)...) {
		return ctx.Err()
	}
	hosts, err := newHostSide(ctx, cfg, cs, dyn, sources)
	if err != nil {
		return err
	}
	loopErrs := make(chan error, 4)
	if err := hosts.start(ctx, loopErrs); err != nil {
		return err
	}

	host := WebhookHost(cfg.WebhookPort)
	listener := cfg.WebhookListener
	listener.Addr = host
	served, err := webhook.Serve(ctx, listener, admission.NewHandler(sources, admission.Options{MaxProfiles: cfg.MaxProfiles, Logging: cfg.Logging}))
	if err != nil {
		return err
	}
	if err := webhook.Register(ctx, cs, webhook.Endpoints{
		MutatePods:       "https://" + host + admission.MutatePodsPath,
		ValidateProfiles: "https://" + host + admission.ValidateProfilesPath,
		ValidateLogging:  "https://" + host + admission.ValidateLoggingPath,
		CABundle:         cfg.CABundle,
		ProfileGroup:     v1.GroupName,
	}); err != nil {
		return err
	}
	if err := settle(ctx, established); err != nil {
		return nil
	}
	close(ready)
	go controller.Run(ctx)
	go func() {
		err := loadbalancer.Run(ctx, loadbalancer.Config{Client: cs, Dynamic: dyn, AddressPool: cfg.LBAddressPool, ReservedPorts: cfg.LBReservedPorts})
		if err != nil && ctx.Err() == nil {
			loopErrs <- fmt.Errorf("load-balancer controller: %w", err)
		}
	}()
	select {
	case <-ctx.Done():
		return nil
	case err := <-served:
		return fmt.Errorf("admission webhook: %w", err)
	case err := <-loopErrs:
		return err
	}
}
