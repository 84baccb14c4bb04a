package controlplane

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	controllermanageroptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

// The upstream components are driven through their own flags, exactly as a
// kubeadm or k3s cluster configures them, but run under our context instead
// of their commands' signal handlers, so one Ctrl-C stops them in order.

// apiserverArgs are the kube-apiserver flags for this cluster.
func apiserverArgs(c *Config, s *certs, ds *datastore, advertise net.IP, admissionConfig string) []string {
	args := []string{
		"--bind-address=" + c.BindAddress,
		"--secure-port=" + strconv.Itoa(c.HTTPSPort),
		"--advertise-address=" + advertise.String(),
		"--etcd-servers=" + strings.Join(ds.endpoints, ","),
		"--client-ca-file=" + s.ca.CertFile,
		"--tls-cert-file=" + s.apiserverChain,
		"--tls-private-key-file=" + s.apiserver.KeyFile,
		"--kubelet-client-certificate=" + s.kubeletClient.CertFile,
		"--kubelet-client-key=" + s.kubeletClient.KeyFile,
		"--kubelet-preferred-address-types=InternalIP",
		// Each pod-node serves a certificate from the cluster CA
		// (internal/servingcert); nothing else is trusted.
		"--kubelet-certificate-authority=" + s.ca.CertFile,
		// fargo server runs no Service proxy: the aggregator dials
		// metrics-server's endpoint itself.
		"--enable-aggregator-routing=true",
		"--service-account-issuer=https://kubernetes.default.svc." + c.ClusterDomain,
		"--service-account-key-file=" + s.serviceAccountPub,
		"--service-account-signing-key-file=" + s.serviceAccountKey,
		"--service-cluster-ip-range=" + c.ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		// TaintNodesByCondition gives every new node the not-ready taint
		// until its kubelet posts Ready. A pod-node is made for the one pod
		// bound to it at once, and the node lifecycle controller removed
		// the taint again before the agent posted Ready: two node writes,
		// each sent to every node watcher, per pod start for nothing. A
		// real kubelet's node that is not Ready still gets the taint, from
		// that controller.
		"--disable-admission-plugins=TaintNodesByCondition",
		"--admission-control-config-file=" + admissionConfig,
		"--anonymous-auth=false",
		"--enable-bootstrap-token-auth=true",
		// Fargate refuses privileged pods itself, with the exact event users
		// expect; the apiserver must let them be created for that to happen.
		"--allow-privileged=true",
		"--profiling=false",
		"--requestheader-client-ca-file=" + s.frontProxyCA.CertFile,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-username-headers=X-Remote-User",
		"--proxy-client-cert-file=" + s.frontProxyClient.CertFile,
		"--proxy-client-key-file=" + s.frontProxyClient.KeyFile,
	}
	if ds.tls.TrustedCAFile != "" {
		args = append(args, "--etcd-cafile="+ds.tls.TrustedCAFile)
	}
	if ds.tls.CertFile != "" {
		args = append(args, "--etcd-certfile="+ds.tls.CertFile, "--etcd-keyfile="+ds.tls.KeyFile)
	}
	return args
}

// controllerManagerArgs are the kube-controller-manager flags. Every default
// controller but the TTL controller runs, plus the bootstrap-token signer
// and cleaner that host joins rely on.
func controllerManagerArgs(c *Config, l Layout, s *certs) []string {
	return []string{
		"--kubeconfig=" + l.ControllerManagerKubeconfig(),
		// The TTL controller annotates every node with how long its
		// kubelet may cache secrets and configMaps: pod-nodes have no
		// kubelet to read it, and the annotation is a node write per pod
		// start.
		"--controllers=*,bootstrap-signer-controller,token-cleaner-controller,-ttl-controller",
		// Every controller uses the controller manager's own credential
		// (in system:masters, like the admin's, beside which it is kept)
		// rather than a service account each: minting ~40 accounts and
		// tokens one after another held every start up by 5 s here.
		"--use-service-account-credentials=false",
		"--service-account-private-key-file=" + s.serviceAccountKey,
		"--root-ca-file=" + s.ca.CertFile,
		"--cluster-signing-cert-file=" + s.ca.CertFile,
		"--cluster-signing-key-file=" + s.ca.KeyFile,
		"--service-cluster-ip-range=" + c.ServiceCIDR,
		"--cluster-name=fargo",
		// fargo serves no controller-manager endpoint: health is read
		// through the apiserver, and a fixed port would collide between
		// clusters sharing a machine.
		"--secure-port=0",
		// One server owns its embedded etcd; with an external datastore
		// several servers may run, and then exactly one must lead.
		"--leader-elect=" + strconv.FormatBool(!c.embeddedEtcd()),
	}
}

// runAPIServer runs kube-apiserver until ctx ends, with fargo's own
// checks in its /readyz: the steps of apiserver.Run, with the checks
// added before the server is prepared.
func runAPIServer(ctx context.Context, args []string, readyz ...healthz.HealthChecker) error {
	s := apiserveroptions.NewServerRunOptions()
	if err := parseFlags("kube-apiserver", s.Flags(), args); err != nil {
		return err
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	// The apiserver's loopback clients should not log self-issued warnings.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	completed, err := s.Complete(ctx)
	if err != nil {
		return err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return fmt.Errorf("kube-apiserver: %v", errs)
	}
	config, err := apiserver.NewConfig(completed)
	if err != nil {
		return err
	}
	done, err := config.Complete()
	if err != nil {
		return err
	}
	server, err := apiserver.CreateServerChain(done)
	if err != nil {
		return err
	}
	if err := server.GenericAPIServer.AddReadyzChecks(readyz...); err != nil {
		return err
	}
	prepared, err := server.PrepareRun()
	if err != nil {
		return err
	}
	return prepared.Run(ctx)
}

// runControllerManager runs kube-controller-manager until ctx ends.
func runControllerManager(ctx context.Context, args []string) error {
	s, err := controllermanageroptions.NewKubeControllerManagerOptions()
	if err != nil {
		return err
	}
	all, disabled, aliases := controllermanager.KnownControllers(), controllermanager.ControllersDisabledByDefault(), controllermanager.ControllerAliases()
	sets := s.Flags(all, disabled, aliases)
	s.ParsedFlags = &sets
	if err := parseFlags("kube-controller-manager", sets, args); err != nil {
		return err
	}
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	cfg, err := s.Config(ctx, all, disabled, aliases)
	if err != nil {
		return fmt.Errorf("kube-controller-manager: %w", err)
	}
	return controllermanager.Run(ctx, cfg.Complete())
}

func parseFlags(name string, sets cliflag.NamedFlagSets, args []string) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	for _, set := range sets.FlagSets {
		fs.AddFlagSet(set)
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s flags: %w", name, err)
	}
	return nil
}
