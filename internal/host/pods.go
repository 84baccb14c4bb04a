package host

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostregistration"
	"github.com/fargo-dev/fargo/internal/image"
	"github.com/fargo-dev/fargo/internal/network"
	"github.com/fargo-dev/fargo/internal/podrunner"
	"github.com/fargo-dev/fargo/internal/podvolume"
	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/sandbox/oci"
	"github.com/fargo-dev/fargo/internal/sandbox/tiers"
)

// runtimeOf is the OCI runtime binary an oci/* tier runs pods with.
func runtimeOf(tier string) (string, error) {
	name, ok := strings.CutPrefix(tier, "oci/")
	if !ok {
		return "", fmt.Errorf("tier %s is not an OCI runtime tier", tier)
	}
	return name, nil
}

// sandboxTier is the kind of sandbox a host tier gives.
func sandboxTier(hostTier string) sandbox.Tier {
	switch {
	case hostTier == hostregistration.TierRunsc:
		return sandbox.TierGVisor
	case strings.HasPrefix(hostTier, "microvm/"):
		return sandbox.TierMicroVM
	}
	return sandbox.TierOCI
}

// newRuntimes makes a runtime per tier the host offers, the first being
// the default, and the name each one's container IDs carry.
func newRuntimes(ctx context.Context, c Config) (*tiers.Runtime, map[sandbox.Tier]string, *vmTier, error) {
	var all []tiers.Tier
	var vm *vmTier
	names := map[sandbox.Tier]string{}
	for _, hostTier := range hostTiers(c) {
		t := tiers.Tier{Tier: sandboxTier(hostTier)}
		var err error
		if t.Tier == sandbox.TierMicroVM {
			var info vmTier
			t.Runtime, info, err = newMicroVM(ctx, c)
			vm = &info
			names[t.Tier] = "qemu"
		} else {
			name, _ := runtimeOf(hostTier)
			t.Runtime, err = oci.New(oci.Config{Root: filepath.Join(c.DataDir, "sandboxes"), Runtime: name, ShimPath: c.ShimPath})
			names[t.Tier] = name
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("sandbox tier %s: %w", hostTier, err)
		}
		all = append(all, t)
	}
	rt, err := tiers.New(all...)
	return rt, names, vm, err
}

// podRunner is what runs this host's pods: the node agent over the pod
// network and the sandbox runtime.
type podRunner struct {
	pods    *podrunner.Agent
	network *network.Network
	runtime sandbox.Runtime
	images  *image.Store
	vm      *vmTier // nil without the microvm tier
}

// newPodRunner makes what runs this host's pods: image store and puller,
// pod network, volumes and the OCI sandbox runtime, under the node agent.
func newPodRunner(ctx context.Context, c Config, cs kubernetes.Interface, info *corev1.ConfigMap) (podRunner, error) {
	store, err := image.Open(filepath.Join(c.DataDir, "images"))
	if err != nil {
		return podRunner{}, err
	}
	mirrors, err := image.ParseMirrors(c.RegistryMirrors)
	if err != nil {
		return podRunner{}, err
	}
	net, err := podNetwork(ctx, c)
	if err != nil {
		return podRunner{}, err
	}
	rt, names, vm, err := newRuntimes(ctx, c)
	if err != nil {
		return podRunner{}, err
	}
	pods, err := podrunner.New(podrunner.Config{
		Client:        cs,
		Runtime:       rt,
		RuntimeName:   names[rt.Default()],
		RuntimeNames:  names,
		Images:        images{image.NewPuller(image.PullerConfig{Store: store, Mirrors: mirrors, LocalRegistry: c.LocalRegistry}), store},
		Network:       net,
		Volumes:       &podvolume.Manager{Client: cs, Root: filepath.Join(c.DataDir, "pods")},
		LogDir:        c.LogDir,
		LogIndex:      podLogIndex(c.DataDir),
		Region:        info.Data[v1.ClusterInfoRegionKey],
		ClusterDNS:    info.Data[v1.ClusterInfoDNSKey],
		ClusterDomain: info.Data[v1.ClusterInfoDomainKey],
	})
	return podRunner{pods: pods, network: net, runtime: rt, images: store, vm: vm}, err
}

// images is the node agent's view of images: the puller fills the store,
// which answers for images already on the host.
type images struct {
	*image.Puller
	*image.Store
}

// podNetwork sets up the host's bridge for its pod blocks.
func podNetwork(ctx context.Context, c Config) (*network.Network, error) {
	rec, err := c.record()
	if err != nil {
		return nil, err
	}
	cfg, err := rec.networkConfig(c.DataDir)
	if err != nil {
		return nil, err
	}
	n, err := network.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := n.Setup(ctx); err != nil {
		return nil, fmt.Errorf("setting up the pod network on bridge %s: %w", c.Bridge, err)
	}
	return n, nil
}

// hostTiers are the tiers the host offers, the default first.
func hostTiers(c Config) []string { return c.Tiers }

// podLogIndex is where the agent of dataDir records the pods whose logs
// it made (podrunner.PodLogs), for Collect and Cleanup.
func podLogIndex(dataDir string) string { return filepath.Join(dataDir, "podlogs") }
