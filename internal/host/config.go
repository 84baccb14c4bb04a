// Package host runs a host: it joins a control plane with a join token,
// learns the cluster's region, registers the machine as a Host and serves
// the pod-nodes the fargate-scheduler gives it (internal/hostregistration). It is
// what `fargo agent` runs, and what `fargo up` runs next to its server.
package host

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/fargo-dev/fargo/internal/hostregistration"
)

// Config is what `fargo agent` was asked for.
type Config struct {
	// Server is the apiserver URL and Token the join token.
	Server string
	Token  string
	// Name of the Host; default this machine's hostname.
	Name string
	// Zone of the host; default <region>a.
	Zone string
	// CPU and Memory the host offers pods; zero means the machine's, with
	// CPU overcommitted CPUOvercommit times, minus the reserves.
	CPU, Memory               resource.Quantity
	ReserveCPU, ReserveMemory resource.Quantity
	PodCIDRs                  []string
	// Tiers are the sandbox tiers the host offers, its default first.
	Tiers []string
	// Address is where other hosts reach this one (optional).
	Address string
	// DataDir keeps the host's credentials across restarts.
	DataDir string
	// KubernetesVersion is reported, with a -fargo suffix, as the pod-nodes'
	// kubelet version.
	KubernetesVersion string
	// RegistryMirrors are "registry=URL" pairs tried before a registry;
	// LocalRegistry ("127.0.0.1:5000") is tried next when it holds the
	// repository.
	RegistryMirrors []string
	LocalRegistry   string
	// Bridge is the host bridge pods attach to; hosts sharing one network
	// namespace need one each.
	Bridge string
	// LogDir holds pod logs (pods/ and containers/), as /var/log does on a
	// kubelet's node.
	LogDir string
	// ShimPath is the fargo-shim binary; empty means next to this
	// executable, then PATH.
	ShimPath string
	// KubeletPort is where the host serves its pod-nodes' kubelet API;
	// the firewall steers POD_IP:10250 there.
	KubeletPort int
	// ContainerLogMaxSize and ContainerLogMaxFiles rotate containers'
	// logs, as a kubelet's containerLogMaxSize and containerLogMaxFiles.
	ContainerLogMaxSize  resource.Quantity
	ContainerLogMaxFiles int
	// ImageCacheMaxSize and ImageCacheMaxUnused bound the host's cache of
	// unpacked image layers: past the size, or once unused that long, the
	// layers no pod uses are removed, least recently used first. Zero
	// turns a limit off.
	ImageCacheMaxSize   resource.Quantity
	ImageCacheMaxUnused time.Duration
	// MicroVM configures the microvm tier (microvm.go).
	MicroVM MicroVMConfig
}

// CPUOvercommit is how many vCPUs of provisioned Fargate sizes a host offers
// per CPU when --cpu is not given. A pod's vCPU is a CFS quota, a cap on
// shared time rather than a reserved core, so a host can carry more of them
// than it has cores; memory is not compressible and is never overcommitted.
const CPUOvercommit = 4

// Tiers a host can run, preferred first when several are given.
var Tiers = []string{hostregistration.TierRunc, hostregistration.TierCrun, hostregistration.TierRunsc, hostregistration.TierQEMU}

// DefaultOCITier is the tier a host runs without --tier: oci/crun where
// crun is installed, else oci/runc. crun, one C process where runc is two
// Go ones, starts a container for about half of runc's CPU and a third of
// its time (49 against 95 ms of CPU per pod, 30 against 104 ms; bench/
// RESULTS.md, "Pod start after the runtime changes"); on a busy host that
// is a large part of a pod's start.
func DefaultOCITier(lookPath func(string) (string, error)) string {
	if _, err := lookPath("crun"); err == nil {
		return hostregistration.TierCrun
	}
	return hostregistration.TierRunc
}

// Default returns the configuration `fargo agent` uses without flags.
func Default() Config {
	return Config{
		ReserveCPU:    resource.MustParse("0"),
		ReserveMemory: resource.MustParse("1Gi"),
		Tiers:         []string{DefaultOCITier(exec.LookPath)},
		DataDir:       "/var/lib/fargo-agent",
		Bridge:        "fargo0",
		LogDir:        "/var/log",
		KubeletPort:   10250,

		ContainerLogMaxSize:  resource.MustParse("10Mi"),
		ContainerLogMaxFiles: 5,

		ImageCacheMaxSize:   resource.MustParse("10Gi"),
		ImageCacheMaxUnused: 7 * 24 * time.Hour,
	}
}

// Validate reports the first setting that cannot work, naming the fix.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Server)
	if c.Server == "" || err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--server %q must be the apiserver's https:// URL, as printed by fargo server", c.Server)
	}
	if c.Token == "" {
		return fmt.Errorf("no join token: pass --token, or --token-file with a copy of the server's <data-dir>/token")
	}
	if c.Name == "" {
		name, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("cannot read this machine's hostname (%v): pass --name", err)
		}
		c.Name = strings.ToLower(name)
	}
	if errs := validation.IsDNS1123Subdomain(c.Name); len(errs) > 0 {
		return fmt.Errorf("host name %q is not a valid name (%s): pass --name with lowercase letters, digits, '-' and '.'", c.Name, strings.Join(errs, "; "))
	}
	if err := validatePodCIDRs(c.PodCIDRs); err != nil {
		return err
	}
	if err := validateTiers(c.Tiers); err != nil {
		return err
	}
	if c.Address == "" {
		c.Address = primaryAddress()
	}
	if c.Address != "" {
		if _, err := netip.ParseAddr(c.Address); err != nil {
			return fmt.Errorf("--address %q is not an IP address", c.Address)
		}
	}
	if c.Bridge == "" || len(c.Bridge) > 15 {
		return fmt.Errorf("--bridge %q must be a network interface name of 1 to 15 characters", c.Bridge)
	}
	if c.KubeletPort <= 0 || c.KubeletPort > 65535 {
		return fmt.Errorf("--kubelet-port %d is not a TCP port", c.KubeletPort)
	}
	if c.ContainerLogMaxSize.Value() < 1<<10 {
		return fmt.Errorf("--container-log-max-size %s is too small: use at least 1Ki, like the default 10Mi", c.ContainerLogMaxSize.String())
	}
	if c.ContainerLogMaxFiles < 2 {
		return fmt.Errorf("--container-log-max-files %d must be at least 2 (the current file and one rotated)", c.ContainerLogMaxFiles)
	}
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir is empty: give a directory for the host's credentials")
	}
	if c.ImageCacheMaxSize.Sign() < 0 || c.ImageCacheMaxUnused < 0 {
		return fmt.Errorf("--image-cache-max-size %s and --image-cache-max-unused %s must not be negative (0 turns a limit off)", c.ImageCacheMaxSize.String(), c.ImageCacheMaxUnused)
	}
	return nil
}

// validatePodCIDRs wants private IPv4 blocks with room for pods: the first
// usable address of each is the host's own gateway address.
func validatePodCIDRs(cidrs []string) error {
	if len(cidrs) == 0 {
		return fmt.Errorf("no --pod-cidr: give this host a private block no other host uses, like 10.42.1.0/24")
	}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		switch {
		case err != nil:
			return fmt.Errorf("--pod-cidr %q is not a CIDR (example: 10.42.1.0/24)", c)
		case !p.Addr().Is4() || !p.Addr().IsPrivate():
			return fmt.Errorf("--pod-cidr %s must be a private IPv4 range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)", c)
		case p.Bits() > 29:
			return fmt.Errorf("--pod-cidr %s is too small for pods: use /29 or larger", c)
		}
	}
	return nil
}

// primaryAddress is the address of the interface with the default route,
// as the apiserver finds its own; empty when there is none (a host in a
// network namespace without one must be given --address).
func primaryAddress() string {
	ip, err := utilnet.ChooseHostInterface()
	if err != nil || ip.IsLoopback() {
		return ""
	}
	return ip.String()
}

// credentialsDir is where the host's key, certificate and kubeconfig live.
func (c *Config) credentialsDir() string { return filepath.Join(c.DataDir, "credentials") }

// validateTiers checks --tier: known tiers, none twice, and at most one
// OCI runtime (the OCI tiers share one sandbox state directory).
func validateTiers(tiers []string) error {
	if len(tiers) == 0 {
		return fmt.Errorf("no --tier given: use one or more of %s", strings.Join(Tiers, ", "))
	}
	seen := map[string]bool{}
	oci := 0
	for _, t := range tiers {
		if !slices.Contains(Tiers, t) {
			return fmt.Errorf("--tier %q is not a sandbox tier; use one of %s", t, strings.Join(Tiers, ", "))
		}
		kind := sandboxTier(t)
		if seen[string(kind)] {
			return fmt.Errorf("--tier %s is given twice, or with another tier of kind %s: give each kind once", t, kind)
		}
		seen[string(kind)] = true
		if strings.HasPrefix(t, "oci/") {
			oci++
		}
	}
	if oci > 1 {
		return fmt.Errorf("--tier names %d OCI runtimes: a host runs one of runc, crun and runsc", oci)
	}
	return nil
}
