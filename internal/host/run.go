package host

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/hostregistration"
	"github.com/fargo-dev/fargo/internal/join"
	"github.com/fargo-dev/fargo/internal/pidlock"
)

// Run joins the control plane, registers the host and serves it until ctx
// ends. ready, when not nil, is closed once the Host is registered.
func Run(ctx context.Context, c Config, ready chan<- struct{}) error {
	if err := c.Validate(); err != nil {
		return err
	}
	token, err := join.ParseToken(c.Token)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.credentialsDir(), 0o700); err != nil {
		return fmt.Errorf("cannot create %s (%v): pass --data-dir with a writable directory", c.credentialsDir(), err)
	}
	lock, err := pidlock.Acquire(lockFile(c.DataDir))
	if err != nil {
		return fmt.Errorf("data dir %s is in use by another host agent (%v): stop it with fargo agent cleanup --data-dir %s, or pass another --data-dir", c.DataDir, err, c.DataDir)
	}
	defer lock.Release()
	rec, err := c.record()
	if err != nil {
		return err
	}
	if err := writeRecord(c.DataDir, rec); err != nil {
		return err
	}
	kubeconfig, err := join.Bootstrap(ctx, c.Server, token, c.Name, c.credentialsDir())
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("reading %s: %w", kubeconfig, err)
	}
	// One host serves hundreds of pod-nodes; client-go's default 5 QPS
	// would make their heartbeats queue behind each other.
	cfg.QPS, cfg.Burst = 200, 400
	// What must end before the agent returns: kube-proxy, its child, and
	// the log router, which commits what it delivered as it stops.
	ctx, cancel := context.WithCancel(ctx)
	var stopping sync.WaitGroup
	defer func() { cancel(); stopping.Wait() }()
	hc, err := newHostConfig(ctx, c, cfg, &stopping)
	if err != nil {
		return err
	}
	stopping.Go(func() { runServiceProxy(ctx, c, kubeconfig) })
	errs := make(chan error, 1)
	go func() { errs <- hostregistration.Run(ctx, hc) }()
	if ready != nil {
		if err := waitRegistered(ctx, hc, errs); err != nil {
			return err
		}
		close(ready)
	}
	return <-errs
}

// newHostConfig starts the host's parts on ctx; those the agent waits for
// as it stops join stopping.
func newHostConfig(ctx context.Context, c Config, cfg *rest.Config, stopping *sync.WaitGroup) (hostregistration.Config, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return hostregistration.Config{}, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return hostregistration.Config{}, err
	}
	info, err := cs.CoreV1().ConfigMaps(v1.SystemNamespace).Get(ctx, v1.ClusterInfoName, metav1.GetOptions{})
	if err != nil {
		return hostregistration.Config{}, fmt.Errorf("reading the cluster's region from %s/%s: %w", v1.SystemNamespace, v1.ClusterInfoName, err)
	}
	zone := c.Zone
	if zone == "" {
		zone = info.Data[v1.ClusterInfoRegionKey] + "a"
	}
	infos := map[string]corev1.NodeSystemInfo{}
	for _, t := range c.Tiers {
		info, err := hostregistration.DetectNodeInfo(t, c.KubernetesVersion)
		if err != nil {
			return hostregistration.Config{}, err
		}
		infos[v1.TierKind(t)] = info
	}
	allocatable, err := c.allocatable()
	if err != nil {
		return hostregistration.Config{}, err
	}
	runner, err := newPodRunner(ctx, c, cs, info)
	if err != nil {
		return hostregistration.Config{}, err
	}
	var vmAccel string
	if runner.vm != nil {
		infos[v1.TierMicroVM] = runner.vm.nodeInfo(infos[v1.TierMicroVM])
		vmAccel = string(runner.vm.accel)
	}
	go runner.pods.Run(ctx)
	go collectImages(ctx, c, runner.images, runner.pods, runner.vm)
	if err := serveKubeletAPI(ctx, c, cs, cfg, runner.pods, runner.runtime); err != nil {
		return hostregistration.Config{}, err
	}
	go keepRoutes(ctx, dyn, c.Name, runner.network)
	go keepHostServices(ctx, cs, runner.network)
	stopping.Go(func() { runLogRouter(ctx, c, cs, dyn, info) })
	return hostregistration.Config{
		Client:     cs,
		Sandboxes:  runner.pods,
		Hosts:      hostclient.New(dyn),
		Name:       c.Name,
		NodeInfo:   infos[v1.TierKind(c.Tiers[0])],
		TierInfo:   infos,
		TierStatus: tierStatus(c.Tiers, infos, vmAccel),
		Spec: v1.HostSpec{
			Zone:        zone,
			Allocatable: allocatable,
			PodCIDRs:    c.PodCIDRs,
			Tiers:       c.Tiers,
			Address:     c.Address,
		},
	}, nil
}

// allocatable is --cpu and --memory, or what the machine has: its CPUs
// times CPUOvercommit and its memory, less the reserves.
func (c Config) allocatable() (corev1.ResourceList, error) {
	machine, err := hostregistration.DetectAllocatable(c.ReserveCPU, c.ReserveMemory)
	if err != nil {
		return nil, fmt.Errorf("%v: pass --cpu and --memory", err)
	}
	cpu, memory := c.CPU, c.Memory
	if cpu.IsZero() {
		cpu = *resource.NewMilliQuantity(machine.Cpu().MilliValue()*CPUOvercommit, resource.DecimalSI)
	}
	if memory.IsZero() {
		memory = machine.Memory().DeepCopy()
	}
	return corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: memory}, nil
}

// waitRegistered waits until the Host exists, or the agent fails.
func waitRegistered(ctx context.Context, hc hostregistration.Config, errs <-chan error) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-errs:
			return false, fmt.Errorf("host agent stopped: %w", err)
		default:
		}
		_, err := hc.Hosts.Get(ctx, hc.Name)
		return err == nil, nil
	})
}

// tierStatus is how each of tiers runs: the runtime its pod-nodes report
// and, for the microvm tier, vmAccel.
func tierStatus(tiers []string, infos map[string]corev1.NodeSystemInfo, vmAccel string) []v1.HostTierStatus {
	out := make([]v1.HostTierStatus, 0, len(tiers))
	for _, t := range tiers {
		st := v1.HostTierStatus{Name: t, ContainerRuntimeVersion: infos[v1.TierKind(t)].ContainerRuntimeVersion}
		if v1.TierKind(t) == v1.TierMicroVM {
			st.VMAccel = vmAccel
		}
		out = append(out, st)
	}
	return out
}
