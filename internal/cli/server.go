package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fargo-dev/fargo/internal/controlplane"
	"github.com/fargo-dev/fargo/internal/heaptrim"
)

// serverFlags are `fargo server`'s flags; `fargo up` shares them.
type serverFlags struct {
	controlplane.Config
}

func (f *serverFlags) register(fs *pflag.FlagSet) {
	d := controlplane.Default()
	f.Config = d
	fs.StringVar(&f.DataDir, "data-dir", d.DataDir, "directory for the cluster's state: etcd, PKI, kubeconfigs, logs")
	fs.StringVar(&f.BindAddress, "bind-address", d.BindAddress, "address the apiserver listens on")
	fs.StringVar(&f.AdvertiseAddress, "advertise-address", "", "address hosts and the kubernetes Service use to reach the apiserver (default: this machine's primary address)")
	fs.IntVar(&f.HTTPSPort, "https-listen-port", d.HTTPSPort, "apiserver HTTPS port")
	fs.StringSliceVar(&f.TLSSANs, "tls-san", nil, "extra names or IPs for the apiserver's serving certificate")
	fs.IntVar(&f.EtcdClientPort, "etcd-client-port", d.EtcdClientPort, "embedded etcd client port (loopback only)")
	fs.IntVar(&f.EtcdPeerPort, "etcd-peer-port", d.EtcdPeerPort, "embedded etcd peer port (loopback only)")
	fs.StringSliceVar(&f.DatastoreEndpoints, "datastore-endpoint", nil, "external etcd cluster URLs, comma-separated, instead of the embedded etcd")
	fs.StringVar(&f.DatastoreCAFile, "datastore-cafile", "", "CA bundle that signed the external etcd's certificates")
	fs.StringVar(&f.DatastoreCertFile, "datastore-certfile", "", "client certificate for the external etcd")
	fs.StringVar(&f.DatastoreKeyFile, "datastore-keyfile", "", "client key for the external etcd")
	fs.IntVar(&f.WebhookPort, "webhook-port", d.WebhookPort, "loopback port of fargo's admission webhook, called by the apiserver")
	fs.IntVar(&f.MetricsPort, "metrics-port", d.MetricsPort, "port of metrics-server (kubectl top) on the advertise address, called by the apiserver")
	fs.IntVar(&f.DNSPort, "dns-port", d.DNSPort, "port of cluster DNS (CoreDNS, UDP and TCP) on the advertise address and loopback; pods reach it as kube-dns, --cluster-dns:53")
	fs.IntVar(&f.DNSHealthPort, "dns-health-port", d.DNSHealthPort, "port of CoreDNS's /health on loopback")
	fs.IntVar(&f.DNSReadyPort, "dns-ready-port", d.DNSReadyPort, "port of CoreDNS's /ready on loopback")
	fs.StringSliceVar(&f.DNSUpstreams, "dns-upstream", d.DNSUpstreams, "resolv.conf file or IP[:port] that cluster DNS forwards other names to (repeatable)")
	fs.IntVar(&f.MaxFargateProfiles, "max-fargate-profiles", d.MaxFargateProfiles, "most Fargate profiles the cluster may hold")
	fs.StringVar(&f.ServiceCIDR, "service-cidr", d.ServiceCIDR, "range of Service ClusterIPs")
	fs.StringVar(&f.ClusterDNS, "cluster-dns", d.ClusterDNS, "ClusterIP of the cluster DNS service, inside --service-cidr")
	fs.StringVar(&f.ClusterDomain, "cluster-domain", d.ClusterDomain, "cluster DNS domain")
	fs.StringVar(&f.Region, "region", d.Region, "region of the cluster: names pod-nodes (fargate-ip-….REGION.compute.internal) and labels them")
	fs.StringVar(&f.ClusterName, "cluster-name", d.ClusterName, "name of the cluster, as EKS names it: the log router's own logs go to the CloudWatch group <name>-fluent-bit-logs")
	fs.StringVar(&f.LoggingOutputs, "logging-outputs", d.LoggingOutputs, "outputs the aws-logging ConfigMap may use: eks (EKS's: cloudwatch_logs, firehose, kinesis, es) or extended (also http, loki, opentelemetry, file, stdout, and the multiline filter)")
	fs.Float64Var(&f.LaunchQPS, "launch-qps", d.LaunchQPS, "pods the fargate-scheduler launches per second, sustained")
	fs.StringSliceVar(&f.LBAddressPool, "lb-address-pool", nil, "CIDRs LoadBalancer Services take an address from (route them to any host); default: the Ready hosts' own addresses")
	fs.IntVar(&f.LaunchBurst, "launch-burst", d.LaunchBurst, "pods the fargate-scheduler may launch at once above --launch-qps")
	fs.StringVar(&f.WriteKubeconfig, "write-kubeconfig", "", "also write the admin kubeconfig to this path (mode 0600)")
	fs.StringVar(&f.LogFile, "log-file", "", "file for the components' logs (default <data-dir>/logs/server.log)")
}

func newServerCommand(streams Streams) *cobra.Command {
	var flags serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: etcd, kube-apiserver and kube-controller-manager",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(streams, &flags)
		},
	}
	flags.register(cmd.Flags())
	return cmd
}

func runServer(streams Streams, flags *serverFlags) error {
	cfg := flags.Config
	cfg.Progress = streams.Out
	ctx := signalContext()
	go heaptrim.Run(ctx, heaptrim.Period)
	return controlplane.Run(ctx, cfg)
}
