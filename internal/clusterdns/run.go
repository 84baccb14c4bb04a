// Package clusterdns serves cluster DNS from `fargo server`: upstream
// CoreDNS, as a library, with its kubernetes, forward, cache, errors,
// health and ready plugins, configured by a Corefile fargo writes, behind
// the kube-dns Service at the cluster DNS address, as in any cluster. It
// answers as soon as the control plane is up: it does not wait for a
// pod-node to run it.
package clusterdns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	// The plugins the Corefile uses, and no others.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/fargo-dev/fargo/internal/pki"
)

// UserName is CoreDNS's identity towards the apiserver.
const UserName = "system:coredns"

// readyPoll is how often CoreDNS's readiness is checked once it is ready.
const readyPoll = 2 * time.Second

// Config is what cluster DNS needs.
type Config struct {
	// Admin installs kube-dns and CoreDNS's RBAC.
	Admin *rest.Config
	// ServerURL is where CoreDNS reaches the apiserver; CA issues its
	// client certificate into PKIDir, and Kubeconfig is written for it.
	ServerURL  string
	CA         *pki.Authority
	PKIDir     string
	Kubeconfig string
	// Corefile is where the generated configuration is written, for
	// users to read.
	Corefile string
	// Address is where pods' DNS traffic arrives through kube-dns (the
	// advertise address); CoreDNS also listens on loopback.
	Address netip.Addr
	// ClusterIP is kube-dns's address (--cluster-dns); Domain the
	// cluster domain.
	ClusterIP netip.Addr
	Domain    string
	// Port serves DNS (UDP and TCP); HealthPort and ReadyPort, on
	// loopback, CoreDNS's health and ready plugins.
	Port, HealthPort, ReadyPort int
	// Upstreams get every other name: resolv.conf files or IP[:port].
	Upstreams []string
	// Log receives CoreDNS's own log lines (the standard logger's).
	Log io.Writer
}

// Run serves cluster DNS until ctx ends, keeping kube-dns's endpoint ready
// while CoreDNS says it is. ready is closed once it answers.
func Run(ctx context.Context, cfg Config, ready chan<- struct{}) error {
	if err := validate(cfg); err != nil {
		return err
	}
	client, err := cfg.CA.Ensure(cfg.PKIDir, pki.Leaf{Name: "coredns-client", CommonName: UserName, Usage: pki.ClientAuth})
	if err != nil {
		return fmt.Errorf("cluster DNS client certificate: %w", err)
	}
	if err := pki.WriteKubeconfig(cfg.Kubeconfig, cfg.ServerURL, cfg.CA.CertFile, client, UserName); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg.Admin)
	if err != nil {
		return err
	}
	if err := errors.Join(applyRBAC(ctx, cs), applyService(ctx, cs, cfg)); err != nil {
		return fmt.Errorf("cluster DNS: installing kube-dns: %w", err)
	}
	instance, err := start(cfg)
	if err != nil {
		return err
	}
	defer stop(instance)
	return keepEndpoint(ctx, cs, cfg, ready)
}

func validate(cfg Config) error {
	if !cfg.Address.Is4() || cfg.Address.IsLoopback() {
		return fmt.Errorf("cluster DNS: address %v cannot be reached by pods: pass --advertise-address with a non-loopback IPv4 address of this machine", cfg.Address)
	}
	if len(cfg.Upstreams) == 0 {
		return errors.New("cluster DNS: no upstream resolvers: pass --dns-upstream /etc/resolv.conf or a resolver's IP")
	}
	for _, u := range cfg.Upstreams {
		if err := ValidateUpstream(u); err != nil {
			return err
		}
	}
	return nil
}

// start writes the Corefile and starts CoreDNS. Caddy, CoreDNS's server
// framework, keeps one instance per process.
func start(cfg Config) (*caddy.Instance, error) {
	corefile := Corefile(cfg)
	if err := os.MkdirAll(filepath.Dir(cfg.Corefile), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfg.Corefile, []byte(corefile), 0o644); err != nil {
		return nil, fmt.Errorf("cluster DNS: writing %s: %w", cfg.Corefile, err)
	}
	caddy.Quiet, dnsserver.Quiet = true, true
	caddy.AppName, caddy.AppVersion = "CoreDNS", "fargo"
	if cfg.Log != nil {
		// CoreDNS's plugins log with the standard logger; the terminal
		// is kept for fargo's progress lines.
		log.SetOutput(cfg.Log)
	}
	instance, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: cfg.Corefile, ServerTypeName: "dns"})
	if err != nil {
		return nil, fmt.Errorf("cluster DNS: starting CoreDNS on port %d (pass --dns-port, --dns-health-port or --dns-ready-port with free ports): %w", cfg.Port, err)
	}
	// CoreDNS's kubernetes plugin, as it starts, hands the process's klog
	// to a logger of its own that prints messages without their keys,
	// into CoreDNS's log: klog goes back to the output fargo gave it.
	klog.ClearLogger()
	return instance, nil
}

// stop stops CoreDNS's servers and then its plugins: the kubernetes
// plugin's watches must end before the apiserver stops, which waits for
// requests in flight to drain.
func stop(instance *caddy.Instance) {
	_ = instance.Stop()
	_ = instance.ShutdownCallbacks()
}

// keepEndpoint marks kube-dns's endpoint ready while CoreDNS's ready
// plugin says so, until ctx ends; ready is closed the first time.
func keepEndpoint(ctx context.Context, cs kubernetes.Interface, cfg Config, ready chan<- struct{}) error {
	url := "http://" + netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(cfg.ReadyPort)).String() + "/ready"
	client := &http.Client{Timeout: time.Second}
	published, first := false, true
	for {
		now := isReady(ctx, client, url)
		if now != published || first {
			if err := applySlice(ctx, cs, cfg, now); err != nil {
				klog.FromContext(ctx).Error(err, "Updating kube-dns's endpoint, will retry")
			} else {
				published, first = now, false
			}
		}
		if published && ready != nil {
			close(ready)
			ready = nil
		}
		wait := readyPoll
		if !published {
			wait = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			// Pods' lookups fail over fast instead of timing out.
			stop, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = applySlice(stop, cs, cfg, false)
			return nil
		case <-time.After(wait):
		}
	}
}

func isReady(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
