package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"

	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/clusterdns"
	"github.com/fargo-dev/fargo/internal/componentlog"
	"github.com/fargo-dev/fargo/internal/fargatecontrollers"
	"github.com/fargo-dev/fargo/internal/loadbalancer"
	"github.com/fargo-dev/fargo/internal/logrouter"
	"github.com/fargo-dev/fargo/internal/metricsapi"
	"github.com/fargo-dev/fargo/internal/version"
	"github.com/fargo-dev/fargo/internal/webhook"
)

// shutdownTimeout bounds how long stopping may take before Run gives up on a
// component; the apiserver drains requests within its own limits first.
const shutdownTimeout = 60 * time.Second

// Run starts the control plane, reports each stage on c.Progress, and serves
// until ctx ends; then it stops the controller manager, the apiserver and
// etcd in that order and returns. An error from any stage stops what was
// already started and is returned as one line naming the fix.
func Run(ctx context.Context, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	progress := newProgress(c.Progress)
	dir, err := OpenDataDir(c.DataDir)
	if err != nil {
		return err
	}
	defer dir.Close()
	logFile, err := redirectLogs(dir.Layout, c.LogFile)
	if err != nil {
		return err
	}
	defer logFile.Close()
	progress.linef("fargo %s (Kubernetes %s), data dir %s, logs in %s", version.Fargo, version.Kubernetes(), dir.Dir, logFile.Name())

	advertise, err := advertiseAddress(&c)
	if err != nil {
		return err
	}
	if err := checkPorts(&c, advertise); err != nil {
		return err
	}
	var s *certs
	if err := progress.stage("certificates", func() (err error) {
		s, err = writeCredentials(dir.Layout, &c, advertise)
		return err
	}); err != nil {
		return err
	}
	var ds *datastore
	if err := progress.stage(datastoreStage(&c), func() (err error) {
		if ds, err = startDatastore(ctx, dir.Layout, &c, s, dir.Logs()+"/etcd.log"); err != nil {
			return err
		}
		return ds.claim(ctx, dir.Identity.ClusterID, dir.Dir)
	}); err != nil {
		if ds != nil {
			ds.Close()
		}
		return err
	}
	defer ds.Close()

	components := newSupervisor(ctx)
	err = startComponents(ctx, progress, components, dir.Layout, &c, s, ds, advertise)
	if err == nil {
		progress.ready(dir.Layout, &c, advertise)
		err = components.wait()
	}
	progress.linef("stopping")
	if stopErr := components.stop(shutdownTimeout); err == nil {
		err = stopErr
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func startComponents(ctx context.Context, progress *progress, components *supervisor, l Layout, c *Config, s *certs, ds *datastore, advertise net.IP) error {
	admin, err := newAdminClient(l)
	if err != nil {
		return err
	}
	fargoReady, cmReady := make(chan struct{}), make(chan struct{})
	check := fargoReadyz(readyzPart{"controller-manager", cmReady}, readyzPart{"fargate controllers", fargoReady})
	apiArgs := apiserverArgs(c, s, ds, advertise, l.AdmissionConfig())
	components.start("kube-apiserver", func(ctx context.Context) error { return runAPIServer(ctx, apiArgs, check) })
	// fargo's controllers need only the CRD API, which serves before the
	// apiserver is ready: their CRDs are then older, and upstream delays
	// the first create of a custom resource for 2 s after its CRD is
	// established (the host agent's Host, a user's profile). The host
	// agent also needs the join token they write. The rest waits for the
	// apiserver's readiness, then starts side by side.
	return inParallel(ctx,
		func(ctx context.Context) error {
			if err := components.until(ctx, 3*time.Minute, admin.crdsServed); err != nil {
				return err
			}
			if err := startFargateControllers(ctx, progress, components, l, c, s, admin, advertise, fargoReady); err != nil {
				return err
			}
			return handOverJoin(ctx, progress, components, l, c)
		},
		func(ctx context.Context) error {
			if err := progress.stage("apiserver", func() error { return components.until(ctx, 3*time.Minute, admin.apiserverReady) }); err != nil {
				return err
			}
			return inParallel(ctx,
				func(ctx context.Context) error {
					if err := startControllerManager(ctx, progress, components, l, c, s, admin); err != nil {
						return err
					}
					close(cmReady)
					return nil
				},
				func(ctx context.Context) error {
					return startMetricsAPI(ctx, progress, components, l, c, s, admin.config, advertise)
				},
				func(ctx context.Context) error {
					return startClusterDNS(ctx, progress, components, l, c, s, admin.config, advertise)
				},
			)
		},
	)
}

// inParallel runs the start functions side by side and returns the first
// error; the others are then told to give up through ctx.
func inParallel(ctx context.Context, starts ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(starts))
	for _, start := range starts {
		go func() { errs <- start(ctx) }()
	}
	var first error
	for range starts {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

func startControllerManager(ctx context.Context, progress *progress, components *supervisor, l Layout, c *Config, s *certs, admin *adminClient) error {
	cmArgs := controllerManagerArgs(c, l, s)
	return progress.stage("controller-manager", func() error {
		components.start("kube-controller-manager", func(ctx context.Context) error { return runControllerManager(ctx, cmArgs) })
		return components.until(ctx, 2*time.Minute, admin.controllersWorking)
	})
}

// startFargateControllers runs fargo's CRDs, admission webhook, host join
// and fargate-scheduler; ready is closed once they serve, which also
// passes the apiserver's fargo readyz check.
func startFargateControllers(ctx context.Context, progress *progress, components *supervisor, l Layout, c *Config, s *certs, admin *adminClient, advertise net.IP, ready chan struct{}) error {
	fargate := fargatecontrollers.Config{
		Admin:           admin.config,
		WebhookPort:     c.WebhookPort,
		WebhookListener: webhook.Listener{CertFile: s.webhookServing.CertFile, KeyFile: s.webhookServing.KeyFile, ClientCA: s.ca.CertFile},
		CABundle:        s.ca.CertPEM(),
		MaxProfiles:     c.MaxFargateProfiles,
		ServerURL:       serverURL(advertise, c.HTTPSPort),
		TokenFile:       l.TokenFile(),
		Region:          c.Region,
		ClusterName:     c.ClusterName,
		Logging:         awslogging.Options{Extended: c.LoggingOutputs == LoggingOutputsExtended, Check: logrouter.Check},
		ClusterDNS:      c.ClusterDNS,
		ClusterDomain:   c.ClusterDomain,
		LaunchQPS:       c.LaunchQPS,
		LaunchBurst:     c.LaunchBurst,
		LBAddressPool:   lbPool(c),
		LBReservedPorts: reservedPorts(c),
	}
	return progress.stage("fargate controllers", func() error {
		components.start("fargate-controllers", func(ctx context.Context) error { return fargatecontrollers.Run(ctx, fargate, ready) })
		return components.until(ctx, time.Minute, closed(ready, "webhook not registered yet"))
	})
}

// closed is a readiness check that passes once ch is closed.
func closed(ch <-chan struct{}, notYet string) func(context.Context) error {
	return func(context.Context) error {
		select {
		case <-ch:
			return nil
		default:
			return errors.New(notYet)
		}
	}
}

// startClusterDNS runs CoreDNS behind kube-dns and waits until it answers.
func startClusterDNS(ctx context.Context, progress *progress, components *supervisor, l Layout, c *Config, s *certs, admin *rest.Config, advertise net.IP) error {
	addr, _ := netip.AddrFromSlice(advertise.To4())
	logFile, err := os.OpenFile(filepath.Join(l.Logs(), "coredns.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cluster DNS log: %w", err)
	}
	cfg := clusterdns.Config{
		Admin: admin, ServerURL: serverURL(net.IPv4(127, 0, 0, 1), c.HTTPSPort),
		CA: s.ca, PKIDir: l.PKI(), Kubeconfig: l.PKIFile("coredns.kubeconfig"), Corefile: filepath.Join(l.Dir, "Corefile"),
		Address: addr, ClusterIP: netip.MustParseAddr(c.ClusterDNS), Domain: c.ClusterDomain,
		Port: c.DNSPort, HealthPort: c.DNSHealthPort, ReadyPort: c.DNSReadyPort, Upstreams: c.DNSUpstreams, Log: logFile,
	}
	return progress.stage("cluster DNS", func() error {
		ready := make(chan struct{})
		components.start("cluster DNS", func(ctx context.Context) error {
			defer logFile.Close()
			return clusterdns.Run(ctx, cfg, ready)
		})
		return components.until(ctx, time.Minute, closed(ready, "cluster DNS not ready yet"))
	})
}

// lbPool is --lb-address-pool, validated by Config.Validate.
func lbPool(c *Config) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.LBAddressPool {
		out = append(out, netip.MustParsePrefix(s).Masked())
	}
	return out
}

// reservedPorts are the ports fargo itself listens on at host addresses:
// a LoadBalancer there would take them over.
func reservedPorts(c *Config) []loadbalancer.ReservedPort {
	ports := []loadbalancer.ReservedPort{
		{Port: int32(c.HTTPSPort), Name: "kube-apiserver"},
		{Port: int32(c.MetricsPort), Name: "metrics-server"},
		{Port: 10250, Name: "the kubelet API of pod-nodes"},
	}
	if c.embeddedEtcd() {
		ports = append(ports, loadbalancer.ReservedPort{Port: int32(c.EtcdClientPort), Name: "etcd"},
			loadbalancer.ReservedPort{Port: int32(c.EtcdPeerPort), Name: "etcd"})
	}
	return ports
}

// startMetricsAPI runs metrics-server for `kubectl top` and waits until
// metrics.k8s.io is registered.
func startMetricsAPI(ctx context.Context, progress *progress, components *supervisor, l Layout, c *Config, s *certs, admin *rest.Config, advertise net.IP) error {
	cfg := metricsapi.Config{
		Admin: admin, ServerURL: serverURL(net.IPv4(127, 0, 0, 1), c.HTTPSPort),
		CA: s.ca, PKIDir: l.PKI(), Kubeconfig: l.PKIFile("metrics-server.kubeconfig"),
		Address: advertise, Port: c.MetricsPort,
	}
	return progress.stage("metrics API", func() error {
		ready := make(chan struct{})
		components.start("metrics-server", func(ctx context.Context) error { return metricsapi.Run(ctx, cfg, ready) })
		return components.until(ctx, 2*time.Minute, closed(ready, "metrics.k8s.io not registered yet"))
	})
}

// handOverJoin sends what a host needs to join on c.Joins, if any, and
// waits for the parts of c.Await, each as a stage.
func handOverJoin(ctx context.Context, progress *progress, components *supervisor, l Layout, c *Config) error {
	if c.Joins != nil {
		token, err := readToken(l)
		if err != nil {
			return err
		}
		select {
		case c.Joins <- Join{Server: serverURL(net.IPv4(127, 0, 0, 1), c.HTTPSPort), Token: token, Region: c.Region}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, part := range c.Await {
		if err := progress.stage(part.Name, func() error {
			return components.until(ctx, 2*time.Minute, closed(part.Ready, part.Name+" not ready yet"))
		}); err != nil {
			return err
		}
	}
	return nil
}

func readToken(l Layout) (string, error) {
	b, err := os.ReadFile(l.TokenFile())
	if err != nil {
		return "", fmt.Errorf("reading the join token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func serverURL(ip net.IP, port int) string {
	return "https://" + net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

// writeCredentials ensures the PKI and writes the kubeconfigs built on it.
func writeCredentials(l Layout, c *Config, advertise net.IP) (*certs, error) {
	s, err := ensureCerts(l, c, advertise)
	if err != nil {
		return nil, err
	}
	local := "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(c.HTTPSPort))
	if err := writeKubeconfig(l.AdminKubeconfig(), local, s.ca, s.admin, "fargo-admin"); err != nil {
		return nil, err
	}
	if err := writeKubeconfig(l.ControllerManagerKubeconfig(), local, s.ca, s.controllerManager, "system:kube-controller-manager"); err != nil {
		return nil, err
	}
	if err := webhook.WriteAPIServerConfig(l.AdmissionConfig(), l.WebhookClientKubeconfig(),
		fargatecontrollers.WebhookHost(c.WebhookPort), s.webhookClient); err != nil {
		return nil, err
	}
	if c.WriteKubeconfig != "" {
		return s, copyKubeconfig(l.AdminKubeconfig(), c.WriteKubeconfig)
	}
	return s, nil
}

func datastoreStage(c *Config) string {
	if c.embeddedEtcd() {
		return "etcd"
	}
	return "external etcd"
}

// advertiseAddress is the address the kubernetes Service points at.
func advertiseAddress(c *Config) (net.IP, error) {
	if c.AdvertiseAddress != "" {
		return net.ParseIP(c.AdvertiseAddress), nil
	}
	ip, err := utilnet.ResolveBindAddress(net.ParseIP(c.BindAddress))
	if err != nil || ip.IsLoopback() {
		return nil, fmt.Errorf("cannot find this machine's address for the kubernetes Service (%v): pass --advertise-address with a non-loopback IP of this machine", err)
	}
	return ip, nil
}

// checkPorts fails early, and by name, when a port the control plane needs is
// taken, instead of after etcd has started.
func checkPorts(c *Config, advertise net.IP) error {
	type port struct {
		flag, host string
		n          int
	}
	ports := []port{{"--https-listen-port", c.BindAddress, c.HTTPSPort}, {"--webhook-port", "127.0.0.1", c.WebhookPort},
		{"--metrics-port", advertise.String(), c.MetricsPort}, {"--dns-port", advertise.String(), c.DNSPort},
		{"--dns-port", "127.0.0.1", c.DNSPort}, {"--dns-health-port", "127.0.0.1", c.DNSHealthPort},
		{"--dns-ready-port", "127.0.0.1", c.DNSReadyPort}}
	if c.embeddedEtcd() {
		ports = append(ports, port{"--etcd-client-port", "127.0.0.1", c.EtcdClientPort},
			port{"--etcd-peer-port", "127.0.0.1", c.EtcdPeerPort})
	}
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(p.host, strconv.Itoa(p.n)))
		if err != nil {
			return fmt.Errorf("port %d is not free (%v): stop what listens there (another fargo server?) or pass %s with a free port", p.n, err, p.flag)
		}
		ln.Close()
	}
	for _, host := range []string{advertise.String(), "127.0.0.1"} {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(c.DNSPort)))
		if err != nil {
			return fmt.Errorf("UDP port %d is not free (%v): stop what listens there or pass --dns-port with a free port", c.DNSPort, err)
		}
		pc.Close()
	}
	return nil
}

// redirectLogs sends the components' klog output to a file, keeping the
// terminal for progress lines.
func redirectLogs(l Layout, path string) (*os.File, error) {
	if path == "" {
		path = l.Logs() + "/server.log"
	}
	return componentlog.Redirect(path, "--log-file")
}

// progress prints one line per start stage with the time it took; stages
// run side by side, so lines are written whole, one at a time.
type progress struct {
	mu    sync.Mutex
	out   io.Writer
	start time.Time
}

func newProgress(out io.Writer) *progress {
	if out == nil {
		out = io.Discard
	}
	return &progress{out: out, start: time.Now()}
}

func (p *progress) linef(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format+"\n", args...)
}

func (p *progress) stage(name string, fn func() error) error {
	began := time.Now()
	if err := fn(); err != nil {
		return err
	}
	p.linef("%s ready (%.1f s)", name, time.Since(began).Seconds())
	return nil
}

func (p *progress) ready(l Layout, c *Config, advertise net.IP) {
	p.linef("fargo is ready (%.1f s). Use it with:", time.Since(p.start).Seconds())
	if l.Dir == Default().DataDir {
		p.linef("  fargo kubectl get namespaces")
	} else {
		p.linef("  FARGO_DATA_DIR=%s fargo kubectl get namespaces", l.Dir)
	}
	p.linef("  kubectl --kubeconfig %s get namespaces", l.AdminKubeconfig())
	token, err := readToken(l)
	if err != nil {
		p.linef("(no join token: %v)", err)
		return
	}
	p.linef("Add a host that runs pods, on that machine (the token is also in %s):", l.TokenFile())
	p.linef("  fargo agent --server %s --token %s", serverURL(advertise, c.HTTPSPort), token)
}
