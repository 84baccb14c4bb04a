package bench

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	kubeletconfig "k8s.io/kubelet/config/v1beta1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/fargo-dev/fargo/internal/image/imagetest"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// The stock node is what a Kubernetes user runs instead of fargo's host
// agent: upstream's kubelet (of the Kubernetes version fargo embeds) on
// Debian's containerd, runc and CNI bridge plugin, joined to the same
// `fargo up`. Everything it writes lives under the benchmark's temporary
// directory, except what the programs hard-code (containerd's shim
// sockets in /run/containerd/s, the kubelet's device-plugin directory and
// container log links, CNI's result cache);
// teardown removes those too.

const (
	// stockBinDefault is where hack/install-stock-node.sh puts the
	// kubelet and pause; FARGO_STOCK_BIN overrides it.
	stockBinDefault = "/var/cache/fargo/bin"
	// cniBinDir is where Debian's containernetworking-plugins installs.
	cniBinDir = "/usr/lib/cni"
	// stockPauseImage is the sandbox image kubeadm configures at this
	// Kubernetes version; the benchmark builds it from upstream's pause.
	stockPauseImage = "registry.k8s.io/pause:3.10.2"
	// stockNamespace holds the stock node's pods; no Fargate profile
	// selects it, so fargo's admission leaves its pods alone.
	stockNamespace = "stock"
	stockNodeName  = "stock-node"
	stockInstall   = "run hack/install-stock-node.sh (Debian's containerd, runc and containernetworking-plugins; " +
		"builds the kubelet of fargo's Kubernetes version and upstream's pause into " + stockBinDefault + ")"
)

// stockBinaries are the stock node's programs.
type stockBinaries struct{ kubelet, pause, containerd, ctr string }

// requireStockNode skips, saying how to get them, unless the stock node's
// programs are installed and the kubelet is fargo's Kubernetes version.
func requireStockNode(b *testing.B) stockBinaries {
	harness.RequireRoot(b)
	dir := os.Getenv("FARGO_STOCK_BIN")
	if dir == "" {
		dir = stockBinDefault
	}
	bins := stockBinaries{kubelet: filepath.Join(dir, "kubelet"), pause: filepath.Join(dir, "pause")}
	var missing []string
	for _, p := range []string{bins.kubelet, bins.pause, cniBinDir + "/bridge", cniBinDir + "/host-local", cniBinDir + "/loopback"} {
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	for _, prog := range []string{"containerd", "ctr", "containerd-shim-runc-v2", "runc"} {
		path, err := exec.LookPath(prog)
		if err != nil {
			missing = append(missing, prog)
		}
		switch prog {
		case "containerd":
			bins.containerd = path
		case "ctr":
			bins.ctr = path
		}
	}
	if len(missing) > 0 {
		b.Skipf("skipped: the stock node needs %s: %s", strings.Join(missing, ", "), stockInstall)
	}
	out, err := exec.Command(bins.kubelet, "--version").Output()
	if want := "Kubernetes " + embeddedKubernetes(b); err != nil || strings.TrimSpace(string(out)) != want {
		b.Skipf("skipped: %s says %q (%v), fargo embeds %s: %s", bins.kubelet, strings.TrimSpace(string(out)), err, want, stockInstall)
	}
	return bins
}

// embeddedKubernetes is the k8s.io/kubernetes version the fargo binary
// under test is built with, as its build information says.
func embeddedKubernetes(b *testing.B) string {
	info, err := buildinfo.ReadFile(harness.Binary(b))
	if err != nil {
		b.Fatalf("reading fargo's build information: %v", err)
	}
	for _, d := range info.Deps {
		if d.Path == "k8s.io/kubernetes" {
			return d.Version
		}
	}
	b.Fatalf("%s has no k8s.io/kubernetes in its build information", harness.Binary(b))
	return ""
}

// stockNode is one running stock node.
type stockNode struct {
	name, dir, sock       string
	cgroupRoot, bridge    string
	podCIDR               string
	bins                  stockBinaries
	containerd, kubelet   *exec.Cmd
	host                  hostState
	kubeletPath, ctrdPath string // their log files
}

func (n *stockNode) path(elem ...string) string {
	return filepath.Join(append([]string{n.dir}, elem...)...)
}

// startStockNode starts containerd and the kubelet, joins the kubelet to
// srv's cluster as node stock-node and waits until it is Ready and its
// namespace can take pods; the benchmark's cleanup tears it all down.
func startStockNode(ctx context.Context, b *testing.B, srv *harness.Server, cs kubernetes.Interface, bins stockBinaries) *stockNode {
	suffix := fmt.Sprintf("%05x", rand.IntN(1<<20))
	n := &stockNode{name: stockNodeName, dir: b.TempDir(), bins: bins,
		cgroupRoot: "/bench-stock-" + suffix, bridge: "stk" + suffix}
	n.sock = n.path("containerd.sock")
	n.host = recordHostState()
	b.Cleanup(func() { n.teardown(b, cs) })

	// A range no address or route uses, and not fargo's (whose bridge may
	// not have its address yet).
	for n.podCIDR = harness.FreePodCIDR(b); n.podCIDR == srv.PodCIDR; {
		n.podCIDR = harness.FreePodCIDR(b)
	}
	n.writeCNIConfig(b)
	n.startContainerd(b)
	n.importImages(b)
	n.makeCgroupRoot(b)
	writeBootstrapKubeconfig(ctx, b, srv, cs, n.path("bootstrap.kubeconfig"))
	n.writeKubeletConfig(b, filepath.Join(srv.DataDir, "pki", "ca.crt"), clusterDNSIP(ctx, b, cs))
	n.startKubelet(b)
	waitNodeReady(ctx, b, cs, n)
	createStockNamespace(ctx, b, cs, stockNamespace)
	return n
}

// writeCNIConfig writes the network containerd's CRI plugin gives pods: a
// bridge with host-local addresses, the plugins of containerd's own
// example conflist less portmap (no hostPorts here, and it needs
// iptables). No masquerade: the pods talk to nothing off the machine.
func (n *stockNode) writeCNIConfig(b *testing.B) {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "bench-stock",
		"plugins": []any{map[string]any{
			"type": "bridge", "bridge": n.bridge, "isGateway": true, "ipMasq": false,
			"ipam": map[string]any{
				"type":    "host-local",
				"ranges":  [][]map[string]string{{{"subnet": n.podCIDR}}},
				"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				"dataDir": n.path("cni", "ipam"),
			},
		}},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	writeNodeFile(b, n.path("cni", "net.d", "10-bench-stock.conflist"), data)
}

// containerdConfig keeps containerd's root, state (pod network namespaces
// included), socket and runc state under the node's directory. restrict_oom_score_adj: this machine lacks
// CAP_SYS_RESOURCE, so no sandbox may ask for a lower oom_score_adj than
// containerd's own. Plugins for storage this machine lacks, and the /opt
// installer, are off.
const containerdConfig = `version = 2
root = "%[1]s/containerd/root"
state = "%[1]s/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "%[2]s"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "%[3]s"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "%[1]s/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "%[4]s"
    conf_dir = "%[1]s/cni/net.d"
`

func (n *stockNode) startContainerd(b *testing.B) {
	cfg := n.path("containerd.toml")
	writeNodeFile(b, cfg, fmt.Appendf(nil, containerdConfig, n.dir, n.sock, stockPauseImage, cniBinDir))
	n.ctrdPath = n.path("containerd.log")
	n.containerd = startDaemon(b, n.ctrdPath, n.bins.containerd, "--config", cfg)
	deadline := time.Now().Add(30 * time.Second)
	for n.ctr("version") != nil {
		if time.Now().After(deadline) {
			b.Fatalf("containerd did not answer on %s within 30 s\n%s", n.sock, n.logTails())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// importImages puts the seed images (busybox, the same tarball and so the
// same digest fargo imports) and the pause image in containerd's k8s.io
// namespace, unpacked: the stock node starts with both cached, as fargo's
// host does.
func (n *stockNode) importImages(b *testing.B) {
	pause := n.path("pause.tar")
	if err := writePauseTarball(pause, n.bins.pause); err != nil {
		b.Fatalf("building the pause image from %s: %v", n.bins.pause, err)
	}
	for _, tar := range []string{harness.SeedTarball(b), pause} {
		if err := n.ctr("-n", "k8s.io", "images", "import", tar); err != nil {
			b.Fatalf("ctr images import %s: %v", tar, err)
		}
	}
}

// writePauseTarball writes the pause image as upstream's build/pause
// Dockerfile makes it: FROM scratch, /pause, user 65535, entrypoint /pause.
func writePauseTarball(path, pauseBin string) error {
	data, err := os.ReadFile(pauseBin)
	if err != nil {
		return err
	}
	layer, err := imagetest.Layer([]imagetest.Entry{{Name: "pause", Mode: 0o755, Content: data}})
	if err != nil {
		return err
	}
	img, err := imagetest.Image(v1.Config{Entrypoint: []string{"/pause"}, User: "65535:65535"}, layer)
	if err != nil {
		return err
	}
	ref, err := name.ParseReference(stockPauseImage)
	if err != nil {
		return err
	}
	return tarball.MultiRefWriteToFile(path, map[name.Reference]v1.Image{ref: img})
}

// ctr runs ctr against this node's containerd.
func (n *stockNode) ctr(args ...string) error {
	out, err := exec.Command(n.bins.ctr, append([]string{"--address", n.sock}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// writeKubeletConfig writes the kubelet's configuration: upstream's
// defaults except where this machine or the shared host needs otherwise.
func (n *stockNode) writeKubeletConfig(b *testing.B, caFile, dnsIP string) {
	cfg := kubeletconfig.KubeletConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: kubeletconfig.SchemeGroupVersion.String(), Kind: "KubeletConfiguration"},
		// This machine mounts cgroup v1 (hybrid), which kubelet 1.35+
		// refuses unless told; no systemd manages cgroups here.
		FailCgroupV1: ptr.To(false),
		CgroupDriver: "cgroupfs",
		// Pods' cgroups in a tree of the node's own, removed afterwards.
		CgroupRoot:               n.cgroupRoot,
		ContainerRuntimeEndpoint: "unix://" + n.sock,
		PodLogsDir:               n.path("pod-logs"),
		VolumePluginDir:          n.path("volume-plugins"),
		// Its API on loopback and a free port: fargo's own kubelet API, or a
		// user's, may hold 10250; no read-only or healthz port.
		Address:     "127.0.0.1",
		Port:        int32(harness.FreePort(b)),
		HealthzPort: ptr.To[int32](0),
		Authentication: kubeletconfig.KubeletAuthentication{
			X509:      kubeletconfig.KubeletX509Authentication{ClientCAFile: caFile},
			Webhook:   kubeletconfig.KubeletWebhookAuthentication{Enabled: ptr.To(true)},
			Anonymous: kubeletconfig.KubeletAnonymousAuthentication{Enabled: ptr.To(false)},
		},
		Authorization: kubeletconfig.KubeletAuthorization{Mode: kubeletconfig.KubeletAuthorizationModeWebhook},
		ClusterDNS:    []string{dnsIP},
		ClusterDomain: "cluster.local",
		// Its default, -999, needs CAP_SYS_RESOURCE, which this machine
		// lacks.
		OOMScoreAdj: ptr.To[int32](0),
		// The canary chains are for other components (the kubelet says
		// so); fargo's host is nftables-only and must not get iptables
		// tables from a benchmark.
		MakeIPTablesUtilChains: ptr.To(false),
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	writeNodeFile(b, n.path("kubelet.yaml"), data)
}

func (n *stockNode) startKubelet(b *testing.B) {
	n.kubeletPath = n.path("kubelet.log")
	n.kubelet = startDaemon(b, n.kubeletPath, n.bins.kubelet,
		"--config", n.path("kubelet.yaml"),
		"--bootstrap-kubeconfig", n.path("bootstrap.kubeconfig"),
		"--kubeconfig", n.path("kubelet.kubeconfig"),
		"--root-dir", n.path("kubelet"),
		"--hostname-override", n.name)
}

// startDaemon starts a program in its own process group with its output
// in logPath.
func startDaemon(b *testing.B, logPath, prog string, args ...string) *exec.Cmd {
	log, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(prog, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", prog, err)
	}
	log.Close() // the child has its own descriptor
	return cmd
}

// logTails is the end of containerd's and the kubelet's logs.
func (n *stockNode) logTails() string {
	var s strings.Builder
	for _, p := range []string{n.ctrdPath, n.kubeletPath} {
		if p == "" {
			continue
		}
		data, _ := os.ReadFile(p)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&s, "--- %s (end)\n%s\n", p, data)
	}
	return s.String()
}

func writeNodeFile(b *testing.B, path string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}
