// Package serviceproxy gives a host Kubernetes Services: upstream kube-proxy
// (k8s.io/kubernetes/cmd/kube-proxy/app, nftables mode) programs the
// host's network namespace so that traffic leaving a pod for a ClusterIP
// or a load-balancer address reaches a ready endpoint, on this host or
// another.
//
// kube-proxy runs as its own process (`fargo kube-proxy`, started and
// restarted by Run): its informers and sync loop are built to live as long
// as their process, and a host agent must be able to stop without leaving
// them behind. Serve is that process's body.
package serviceproxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/events"
	proxyapp "k8s.io/kubernetes/cmd/kube-proxy/app"
	proxyconfig "k8s.io/kubernetes/pkg/proxy/apis/config"
	proxyconfigscheme "k8s.io/kubernetes/pkg/proxy/apis/config/scheme"
	"k8s.io/kubernetes/pkg/proxy/nftables"
	proxyutil "k8s.io/kubernetes/pkg/proxy/util"
)

// Upstream kube-proxy's defaults, which fargo keeps.
const (
	syncPeriod       = 30 * time.Second
	minSyncPeriod    = 1 * time.Second
	configSyncPeriod = 15 * time.Minute
	masqueradeBit    = 14
)

// noNodePorts is a node-port address no interface can have: NodePort
// Services are not supported on Fargate, so kube-proxy opens none, while
// ClusterIPs and load-balancer addresses are programmed as usual.
const noNodePorts = "255.255.255.255/32"

// Options are what one host's kube-proxy needs.
type Options struct {
	// Kubeconfig is the host's own credentials (it may read Services and
	// EndpointSlices and write events).
	Kubeconfig string
	// HostName names the proxy in events; endpoints are on pod-nodes, so
	// none is "local" to it and externalTrafficPolicy: Local finds none.
	HostName string
	// NodeIP is the host's address (kube-proxy checks
	// loadBalancerSourceRanges against it); may be invalid.
	NodeIP netip.Addr
	// Bridge is the pods' bridge: traffic from it is pod traffic, which
	// kube-proxy does not masquerade on its way to a Service.
	Bridge string
	// MetricsAddress, when set, serves kube-proxy's /metrics and /healthz.
	MetricsAddress string
}

// Serve runs kube-proxy until ctx ends. Its rules stay in place when it
// returns, as upstream's do, so Services keep working across a restart.
func Serve(ctx context.Context, o Options) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kube-proxy: reading %s: %w", o.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	server, err := newProxyServer(ctx, client, o)
	if err != nil {
		return err
	}
	errs := make(chan error, 1)
	// ProxyServer.Run returns only if a listener fails in hard-fail mode;
	// the process ends with ctx.
	go func() { errs <- server.Run(ctx) }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-errs:
		return err
	}
}

// newProxyServer assembles what upstream's newProxyServer would, minus the
// wait for a Node object named after this machine: a host is not a Node,
// and upstream would wait 30 s for one before proxying anything.
func newProxyServer(ctx context.Context, client kubernetes.Interface, o Options) (*proxyapp.ProxyServer, error) {
	nodeIP := net.IPv4(127, 0, 0, 1)
	if o.NodeIP.IsValid() {
		nodeIP = net.IP(o.NodeIP.AsSlice())
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	recorder := broadcaster.NewRecorder(proxyconfigscheme.Scheme, "kube-proxy")
	proxier, err := nftables.NewProxier(ctx, corev1.IPv4Protocol, syncPeriod, minSyncPeriod,
		false, masqueradeBit, proxyutil.NewDetectLocalByBridgeInterface(o.Bridge),
		o.HostName, nodeIP, recorder, nil, []string{noNodePorts}, false)
	if err != nil {
		return nil, fmt.Errorf("kube-proxy (nftables mode needs the nft command, package nftables, and kernel 5.13 or later): %w", err)
	}
	return &proxyapp.ProxyServer{
		Config: &proxyconfig.KubeProxyConfiguration{
			Mode:               proxyconfig.ProxyModeNFTables,
			ConfigSyncPeriod:   metav1.Duration{Duration: configSyncPeriod},
			MetricsBindAddress: o.MetricsAddress,
		},
		Client:          client,
		Broadcaster:     broadcaster,
		Recorder:        recorder,
		NodeRef:         &corev1.ObjectReference{Kind: "Node", Name: o.HostName},
		NodeName:        o.HostName,
		PrimaryIPFamily: corev1.IPv4Protocol,
		NodeIPs:         map[corev1.IPFamily]net.IP{corev1.IPv4Protocol: nodeIP},
		Proxier:         proxier,
	}, nil
}
