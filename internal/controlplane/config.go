// Package controlplane runs fargo's Kubernetes control plane in one process:
// an embedded etcd (or an external etcd cluster), the upstream kube-apiserver
// and kube-controller-manager as libraries, and the PKI and kubeconfigs they
// need, all kept under one data dir so that a restart finds every object.
package controlplane

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/fargo-dev/fargo/internal/clusterdns"
)

// Config is what `fargo server` was asked for.
type Config struct {
	DataDir string
	// BindAddress is where the apiserver listens; AdvertiseAddress is the
	// address other hosts and the kubernetes Service use (found when empty).
	BindAddress      string
	AdvertiseAddress string
	HTTPSPort        int
	TLSSANs          []string

	EtcdClientPort int
	EtcdPeerPort   int
	// DatastoreEndpoints, when set, replace the embedded etcd.
	DatastoreEndpoints []string
	DatastoreCAFile    string
	DatastoreCertFile  string
	DatastoreKeyFile   string

	// WebhookPort is where fargo's admission webhook listens, on loopback:
	// only this machine's apiserver calls it.
	WebhookPort int
	// MetricsPort is where metrics-server (metrics.k8s.io, for kubectl
	// top) listens, on the advertise address: the aggregator calls it.
	MetricsPort int
	// DNSPort serves cluster DNS (UDP and TCP) on the advertise address
	// and loopback, behind the kube-dns Service; DNSHealthPort and
	// DNSReadyPort serve CoreDNS's health and ready plugins on loopback.
	DNSPort, DNSHealthPort, DNSReadyPort int
	// DNSUpstreams get the names cluster DNS does not own: resolv.conf
	// files or IP[:port].
	DNSUpstreams []string
	// MaxFargateProfiles caps the profiles of the cluster (EKS: 10).
	MaxFargateProfiles int

	ServiceCIDR   string
	ClusterDNS    string
	ClusterDomain string
	// Region names pod-nodes (fargate-ip-….<region>.compute.internal) and
	// is their topology.kubernetes.io/region.
	Region string
	// ClusterName is what EKS calls the cluster; the log router names the
	// flb_log_cw group after it.
	ClusterName string
	// LoggingOutputs is "eks" (the aws-logging ConfigMap takes EKS's
	// outputs only) or "extended" (also http, loki, opentelemetry, file,
	// stdout and the multiline filter).
	LoggingOutputs string
	// LBAddressPool, when not empty, is where LoadBalancer Services get
	// their address; otherwise they get the Ready hosts' addresses.
	LBAddressPool []string
	// LaunchQPS and LaunchBurst are the fargate-scheduler's token bucket.
	LaunchQPS   float64
	LaunchBurst int

	// Joins, when set, receives what a host needs to join this control
	// plane once hosts can join (one value; give it room for one).
	// `fargo up` hands it to the host agent it runs beside Run.
	Joins chan<- Join
	// Await are parts running beside the control plane, each a stage
	// Run waits for before it reports ready (`fargo up`'s host agent).
	Await []Part

	// WriteKubeconfig, when set, gets a copy of admin.kubeconfig.
	WriteKubeconfig string
	// LogFile receives the components' own logs, keeping the terminal for
	// progress lines.
	LogFile string
	// Progress receives one line per start stage.
	Progress io.Writer
}

// Default returns the configuration `fargo server` uses without flags.
func Default() Config {
	return Config{
		DataDir:            "/var/lib/fargo",
		BindAddress:        "0.0.0.0",
		HTTPSPort:          6443,
		EtcdClientPort:     2379,
		EtcdPeerPort:       2380,
		WebhookPort:        10270,
		MetricsPort:        10271,
		DNSPort:            10053,
		DNSHealthPort:      10054,
		DNSReadyPort:       10055,
		DNSUpstreams:       []string{"/etc/resolv.conf"},
		MaxFargateProfiles: 10,
		ServiceCIDR:        "172.20.0.0/16",
		ClusterDNS:         "172.20.0.10",
		ClusterDomain:      "cluster.local",
		Region:             "us-east-1",
		ClusterName:        "fargo",
		LoggingOutputs:     LoggingOutputsEKS,
		LaunchQPS:          500,
		LaunchBurst:        1000,
	}
}

// Validate reports the first flag that cannot work, naming the fix.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir is empty: give a directory for the cluster's state")
	}
	prefix, err := netip.ParsePrefix(c.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("--service-cidr %q is not a CIDR (example: 172.20.0.0/16)", c.ServiceCIDR)
	}
	dns, err := netip.ParseAddr(c.ClusterDNS)
	if err != nil || !prefix.Contains(dns) {
		return fmt.Errorf("--cluster-dns %q must be an address inside --service-cidr %s (example: %s)", c.ClusterDNS, c.ServiceCIDR, nthAddr(prefix, 10))
	}
	if net.ParseIP(c.BindAddress) == nil {
		return fmt.Errorf("--bind-address %q is not an IP address", c.BindAddress)
	}
	if c.AdvertiseAddress != "" {
		ip := net.ParseIP(c.AdvertiseAddress)
		if ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
			return fmt.Errorf("--advertise-address %q must be a non-loopback IP address of this machine", c.AdvertiseAddress)
		}
	}
	for _, port := range []struct {
		flag string
		n    int
	}{{"--https-listen-port", c.HTTPSPort}, {"--etcd-client-port", c.EtcdClientPort}, {"--etcd-peer-port", c.EtcdPeerPort}, {"--webhook-port", c.WebhookPort}, {"--metrics-port", c.MetricsPort},
		{"--dns-port", c.DNSPort}, {"--dns-health-port", c.DNSHealthPort}, {"--dns-ready-port", c.DNSReadyPort}} {
		if port.n < 1 || port.n > 65535 {
			return fmt.Errorf("%s %d is not a TCP port (1-65535)", port.flag, port.n)
		}
	}
	if !regionPattern.MatchString(c.Region) {
		return fmt.Errorf("--region %q is not a region name: lowercase letters, digits and dashes, like us-east-1", c.Region)
	}
	if c.LaunchQPS <= 0 || c.LaunchBurst < 1 {
		return fmt.Errorf("--launch-qps %g and --launch-burst %d must be positive", c.LaunchQPS, c.LaunchBurst)
	}
	if c.LoggingOutputs != LoggingOutputsEKS && c.LoggingOutputs != LoggingOutputsExtended {
		return fmt.Errorf("--logging-outputs %q: write %s (EKS's outputs) or %s (also http, loki, opentelemetry, file, stdout)", c.LoggingOutputs, LoggingOutputsEKS, LoggingOutputsExtended)
	}
	if !clusterNamePattern.MatchString(c.ClusterName) {
		return fmt.Errorf("--cluster-name %q: use 1 to 100 letters, digits, - and _, starting with a letter or digit, as EKS does", c.ClusterName)
	}
	if c.MaxFargateProfiles < 1 {
		return fmt.Errorf("--max-fargate-profiles %d must be at least 1", c.MaxFargateProfiles)
	}
	for _, u := range c.DNSUpstreams {
		if err := clusterdns.ValidateUpstream(u); err != nil {
			return err
		}
	}
	for _, p := range c.LBAddressPool {
		if _, err := netip.ParsePrefix(p); err != nil {
			return fmt.Errorf("--lb-address-pool %q is not a CIDR (example: 192.168.50.240/28, or 192.168.50.240/32 for one address)", p)
		}
	}
	for _, ep := range c.DatastoreEndpoints {
		if !strings.HasPrefix(ep, "https://") && !strings.HasPrefix(ep, "http://") {
			return fmt.Errorf("--datastore-endpoint %q must be an http:// or https:// URL", ep)
		}
	}
	return nil
}

// The values of --logging-outputs.
const (
	LoggingOutputsEKS      = "eks"
	LoggingOutputsExtended = "extended"
)

// clusterNamePattern is EKS's rule for cluster names.
var clusterNamePattern = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$`)

var regionPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Join is what a host agent needs to join this control plane.
type Join struct {
	// Server is the apiserver's URL as this machine reaches it.
	Server string
	// Token is the join token (also in Layout.TokenFile).
	Token string
	// Region is the cluster's region.
	Region string
}

// Part is something running beside the control plane that Run waits for
// before it reports ready: Ready is closed once it is.
type Part struct {
	Name  string
	Ready <-chan struct{}
}

// embeddedEtcd tells whether this server runs its own etcd.
func (c *Config) embeddedEtcd() bool { return len(c.DatastoreEndpoints) == 0 }

// firstServiceIP is the kubernetes Service's ClusterIP, which the apiserver
// serving certificate must name.
func (c *Config) firstServiceIP() net.IP {
	return net.IP(nthAddr(netip.MustParsePrefix(c.ServiceCIDR), 1).AsSlice())
}

func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr()
	for range n {
		a = a.Next()
	}
	return a
}

// Layout names the files of a data dir.
type Layout struct{ Dir string }

func (l Layout) PKI() string             { return filepath.Join(l.Dir, "pki") }
func (l Layout) Etcd() string            { return filepath.Join(l.Dir, "etcd") }
func (l Layout) Logs() string            { return filepath.Join(l.Dir, "logs") }
func (l Layout) IdentityFile() string    { return filepath.Join(l.Dir, "fargo.json") }
func (l Layout) Lock() string            { return filepath.Join(l.Dir, ".lock") }
func (l Layout) AdminKubeconfig() string { return filepath.Join(l.Dir, "admin.kubeconfig") }
func (l Layout) ControllerManagerKubeconfig() string {
	return filepath.Join(l.Dir, "controller-manager.kubeconfig")
}
func (l Layout) AdmissionConfig() string { return filepath.Join(l.Dir, "admission.yaml") }
func (l Layout) WebhookClientKubeconfig() string {
	return filepath.Join(l.Dir, "webhook-client.kubeconfig")
}

// TokenFile holds the join token hosts use with `fargo agent --token`.
func (l Layout) TokenFile() string { return filepath.Join(l.Dir, "token") }

// AgentDir is the data dir of the host agent that `fargo up` runs.
func (l Layout) AgentDir() string { return filepath.Join(l.Dir, "agent") }

// Registry is the local registry's directory.
func (l Layout) Registry() string { return filepath.Join(l.Dir, "registry") }

// RegistryAddressFile holds the address the running `fargo up` serves the
// local registry on; it is believed only while that fargo holds Lock.
func (l Layout) RegistryAddressFile() string { return filepath.Join(l.Dir, "registry.address") }

func (l Layout) PKIFile(name string) string { return filepath.Join(l.PKI(), name) }
