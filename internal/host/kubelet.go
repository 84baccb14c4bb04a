package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/containerlog"
	"github.com/fargo-dev/fargo/internal/kubeletapi"
	"github.com/fargo-dev/fargo/internal/podrunner"
	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/servingcert"
)

// certSyncInterval is how often new pod-nodes' serving certificates are
// requested and those of pod-nodes that went removed.
const certSyncInterval = time.Second

// certDeferral is how long serving certificates wait for the host's pod
// starts to end. A certificate is a CSR round trip through the apiserver,
// fargo's approver and the controller manager's signer: in a burst of
// starts that is CPU the starts want, and the first kubelet API handshake
// of a pod-node asks for its certificate by itself anyway.
const certDeferral = 10 * time.Second

// certQuiet is how long no pod must have been starting for the host to
// count as quiet.
const certQuiet = 2 * time.Second

// serveKubeletAPI starts the kubelet API of this host's pod-nodes and the
// rotation of their containers' logs; both run until ctx ends.
func serveKubeletAPI(ctx context.Context, c Config, cs kubernetes.Interface, cfg *rest.Config, pods *podrunner.Agent, rt sandbox.Runtime) error {
	ca, err := clusterCA(cfg)
	if err != nil {
		return err
	}
	authn, authz, err := kubeletapi.NewAuth(cs, ca)
	if err != nil {
		return err
	}
	log := klog.FromContext(ctx)
	certs, err := servingcert.New(cs, filepath.Join(c.DataDir, "serving"), log)
	if err != nil {
		return err
	}
	api := kubeletapi.Config{
		Addr: ":" + strconv.Itoa(c.KubeletPort), Pods: pods, Runtime: rt, Certs: certs,
		Authn: authn, Authz: authz, Log: log,
	}
	ln, err := kubeletapi.Listen(api)
	if err != nil {
		return err
	}
	rotator, err := containerlog.NewRotator(pods, containerlog.RotatorConfig{
		MaxSize: c.ContainerLogMaxSize.Value(), MaxFiles: c.ContainerLogMaxFiles,
	})
	if err != nil {
		ln.Close()
		return err
	}
	go func() {
		if err := kubeletapi.Serve(ctx, ln, api); err != nil {
			log.Error(err, "Kubelet API stopped")
		}
	}()
	go rotator.Run(ctx)
	pacer := certPacer{wait: certDeferral, quiet: certQuiet}
	go every(ctx, certSyncInterval, func() {
		nodes := pods.PodNodes()
		if pacer.due(time.Now(), pods.Starting()) {
			certs.Prefetch(nodes)
		}
		if err := certs.Keep(nodes); err != nil {
			log.Error(err, "Removing serving certificates of gone pod-nodes")
		}
	})
	return nil
}

// certPacer says when serving certificates are requested: once no pod
// has been starting for quiet, and while pods keep starting, once per
// wait. Pods of a burst reach the host one by one, so a single moment
// without a start does not end it.
type certPacer struct {
	wait, quiet time.Duration
	lastBusy    time.Time // when a pod was last seen starting
	lastDue     time.Time // when requests were last due
}

func (p *certPacer) due(now time.Time, starting int) bool {
	if starting > 0 {
		p.lastBusy = now
	}
	if now.Sub(p.lastBusy) < p.quiet && now.Sub(p.lastDue) < p.wait {
		return false
	}
	p.lastDue = now
	return true
}

// clusterCA is the CA the agent trusts the apiserver with, which also
// signs the clients the kubelet API accepts.
func clusterCA(cfg *rest.Config) ([]byte, error) {
	if len(cfg.TLSClientConfig.CAData) > 0 {
		return cfg.TLSClientConfig.CAData, nil
	}
	data, err := os.ReadFile(cfg.TLSClientConfig.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster CA for the kubelet API: %w", err)
	}
	return data, nil
}

// every calls f every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
