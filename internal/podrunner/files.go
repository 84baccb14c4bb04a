package podrunner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// hostnameOf is the pod's hostname: spec.hostname, else its name, cut to
// the 63 characters a hostname may have.
func hostnameOf(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// podFiles are /etc/hosts, /etc/hostname and /etc/resolv.conf as a
// kubelet writes them, with spec section 6's resolv.conf.
func (w *podWorker) podFiles(pod *corev1.Pod) map[string][]byte {
	return map[string][]byte{
		"/etc/hosts":       []byte(w.hostsFile(pod)),
		"/etc/hostname":    []byte(hostnameOf(pod) + "\n"),
		"/etc/resolv.conf": []byte(w.resolvConf(pod)),
	}
}

func (w *podWorker) hostsFile(pod *corev1.Pod) string {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	names := hostnameOf(pod)
	if pod.Spec.Subdomain != "" {
		fqdn := fmt.Sprintf("%s.%s.%s.svc.%s", hostnameOf(pod), pod.Spec.Subdomain, pod.Namespace, w.a.cfg.ClusterDomain)
		names = fqdn + "\t" + names
	}
	fmt.Fprintf(&b, "%s\t%s\n", w.ip, names)
	for _, ha := range pod.Spec.HostAliases {
		fmt.Fprintf(&b, "\n# Entries added by HostAliases.\n%s\t%s\n", ha.IP, strings.Join(ha.Hostnames, "\t"))
	}
	return b.String()
}

// resolvConf follows the pod's dnsPolicy: cluster DNS by default (the
// spec's search path), dnsConfig on top, or only dnsConfig for None.
func (w *podWorker) resolvConf(pod *corev1.Pod) string {
	domain := w.a.cfg.ClusterDomain
	search := []string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}
	if w.a.cfg.Region != "" {
		search = append(search, w.a.cfg.Region+".compute.internal")
	}
	servers := []string{w.a.cfg.ClusterDNS}
	options := []string{"ndots:5"}
	if pod.Spec.DNSPolicy == corev1.DNSNone {
		search, servers, options = nil, nil, nil
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		servers = append(servers, dc.Nameservers...)
		search = append(search, dc.Searches...)
		for _, o := range dc.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			options = append(options, opt)
		}
	}
	var b strings.Builder
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	for _, s := range servers {
		if s != "" {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.String()
}

// podLogDir is kubelet's /var/log/pods/NS_POD_UID.
func podLogDir(root string, pod *corev1.Pod) string {
	return filepath.Join(root, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

// logPath is the CRI log of one attempt: .../NAME/ATTEMPT.log.
func logPath(root string, pod *corev1.Pod, name string, attempt int) string {
	return filepath.Join(podLogDir(root, pod), name, fmt.Sprintf("%d.log", attempt))
}

// linkLog makes /var/log/containers/POD_NS_NAME-ID.log, where log
// shippers such as Fluent Bit tail.
func linkLog(root string, pod *corev1.Pod, name, id, target string) {
	dir := filepath.Join(root, "containers")
	_ = os.MkdirAll(dir, 0o755)
	link := filepath.Join(dir, fmt.Sprintf("%s_%s_%s-%s.log", pod.Name, pod.Namespace, name, id))
	_ = os.Remove(link)
	_ = os.Symlink(target, link)
}
