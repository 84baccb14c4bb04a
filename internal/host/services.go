package host

import (
	"context"
	"net/netip"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/network"
	"github.com/fargo-dev/fargo/internal/serviceproxy"
)

// runServiceProxy keeps this host's kube-proxy running until ctx ends.
func runServiceProxy(ctx context.Context, c Config, kubeconfig string) {
	addr, _ := netip.ParseAddr(c.Address)
	p := serviceproxy.Process{
		LogFile: filepath.Join(c.DataDir, "kube-proxy.log"),
		Options: serviceproxy.Options{Kubeconfig: kubeconfig, HostName: c.Name, NodeIP: addr, Bridge: c.Bridge},
	}
	if err := p.Run(ctx); err != nil {
		klog.FromContext(ctx).Error(err, "kube-proxy cannot run; Services will not work from this host's pods")
	}
}

// hostServices are the Services whose endpoints are hosts' own services,
// which pods may reach through them: the apiserver and cluster DNS.
var hostServices = map[string]bool{
	metav1.NamespaceDefault + "/kubernetes": true,
	metav1.NamespaceSystem + "/kube-dns":    true,
}

// keepHostServices tells the pod firewall, until ctx ends, which host
// services pods may reach through a Service: the endpoints of hostServices.
func keepHostServices(ctx context.Context, cs kubernetes.Interface, net *network.Network) {
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = discoveryv1.LabelServiceName + " in (kubernetes, kube-dns)"
	}))
	slices := factory.Discovery().V1().EndpointSlices().Informer()
	factory.Start(ctx.Done())
	follow(ctx, slices, "Updating the pod firewall's host services", func(store cache.Store) error {
		return net.SetHostServices(hostServiceEndpoints(store.List()))
	})
}

// hostServiceEndpoints lists every address and port of the hostServices'
// EndpointSlices among objs.
func hostServiceEndpoints(objs []any) []network.HostService {
	var out []network.HostService
	for _, obj := range objs {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || !hostServices[s.Namespace+"/"+s.Labels[discoveryv1.LabelServiceName]] || s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range s.Endpoints {
			for _, a := range ep.Addresses {
				addr, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				for _, p := range s.Ports {
					if p.Port == nil {
						continue
					}
					out = append(out, network.HostService{Addr: addr, Proto: protoOf(p.Protocol), Port: uint16(*p.Port)})
				}
			}
		}
	}
	return out
}

func protoOf(p *corev1.Protocol) uint8 {
	if p != nil && *p == corev1.ProtocolUDP {
		return unix.IPPROTO_UDP
	}
	return unix.IPPROTO_TCP
}
