package host

import (
	"bufio"
	"context"
	"io"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/logrouter"
	"github.com/fargo-dev/fargo/internal/profileclient"
)

// logRouterStateDir keeps the log router's per-pod config snapshots and
// positions; each pod's goes when its logs are shipped and the pod is gone.
func logRouterStateDir(dataDir string) string { return filepath.Join(dataDir, "logrouter") }

// runLogRouter routes the logs of this host's pods by the aws-logging
// ConfigMap until ctx ends. AWS credentials come from the Secret a pod's
// profile names, else from the agent's environment by the AWS SDK's
// default chain.
func runLogRouter(ctx context.Context, c Config, cs kubernetes.Interface, dyn dynamic.Interface, info *corev1.ConfigMap) {
	cluster := info.Data[v1.ClusterInfoNameKey]
	if cluster == "" {
		cluster = "fargo"
	}
	stdout := klogLines("Log router stdout output")
	defer stdout.Close()
	logrouter.New(logrouter.Config{
		LogDir:   c.LogDir,
		StateDir: logRouterStateDir(c.DataDir),
		Client:   cs,
		Profiles: profileclient.New(dyn),
		Cluster:  cluster,
		Region:   info.Data[v1.ClusterInfoRegionKey],
		Stdout:   stdout,
	}).Run(ctx)
}

// klogLines is a writer whose every line becomes a klog line: the stdout
// output's records land in the agent's log, as Fluent Bit's land in its
// container's.
func klogLines(msg string) io.WriteCloser {
	r, w := io.Pipe()
	go func() {
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			// In the message, not a key: the embedded CoreDNS sets klog's
			// logger to one that prints messages only.
			klog.Infof("%s: %s", msg, s.Text())
		}
		r.CloseWithError(s.Err())
	}()
	return w
}
