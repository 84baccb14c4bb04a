package support

import (
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

// rootShellPod is the seeds' root-shell pod: busybox, privileged, in the
// host's network, PID and IPC namespaces, with the host's / mounted.
func rootShellPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "root-shell", Namespace: "default"},
		Spec: corev1.PodSpec{
			HostNetwork: true,
			HostPID:     true,
			HostIPC:     true,
			Containers: []corev1.Container{{
				Name:            "shell",
				Image:           "busybox",
				Command:         []string{"sleep", "infinity"},
				SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)},
				VolumeMounts:    []corev1.VolumeMount{{Name: "hostroot", MountPath: "/host"}},
			}},
			Volumes: []corev1.Volume{{
				Name:         "hostroot",
				VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}},
			}},
		},
	}
}

// plainPod is a supported pod using every supported volume type.
func plainPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "nginx",
				Ports: []corev1.ContainerPort{{ContainerPort: 80}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:              resource.MustParse("500m"),
						corev1.ResourceMemory:           resource.MustParse("500Mi"),
						corev1.ResourceEphemeralStorage: resource.MustParse("1Gi"),
					},
					Limits: corev1.ResourceList{
						corev1.ResourceMemory:           resource.MustParse("1Gi"),
						corev1.ResourceName("vendor/x"): resource.MustParse("0"),
					},
				},
				SecurityContext: &corev1.SecurityContext{
					Privileged:               ptr(false),
					AllowPrivilegeEscalation: ptr(false),
					Capabilities: &corev1.Capabilities{
						Add:  []corev1.Capability{"NET_BIND_SERVICE", "cap_chown", "Kill"},
						Drop: []corev1.Capability{"ALL"},
					},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
				{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
				{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}},
				{Name: "data", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "efs-claim"}}},
				{Name: "defaulted"},
			},
		},
	}
}

// with returns plainPod changed by edit.
func with(edit func(p *corev1.Pod)) *corev1.Pod {
	p := plainPod()
	edit(p)
	return p
}

func allBound(string, string) bool { return true }

func TestRootShellPodMessage(t *testing.T) {
	const want = "Pod not supported on Fargate: fields not supported: HostNetwork, HostPID, HostIPC, " +
		"volumes not supported: hostroot is of an unsupported volume Type, " +
		"invalid SecurityContext fields: Privileged"
	for _, bound := range []func(string, string) bool{nil, allBound} {
		if got := Message(Reasons(rootShellPod(), bound)); got != want {
			t.Errorf("message\n got %q\nwant %q", got, want)
		}
	}
}

func TestMessage(t *testing.T) {
	cases := []struct {
		name    string
		reasons []string
		want    string
	}{
		{"none", nil, ""},
		{"empty", []string{}, ""},
		{"one", []string{"port contains HostIP or HostPort"}, "Pod not supported on Fargate: port contains HostIP or HostPort"},
		{"two", []string{"a", "b"}, "Pod not supported on Fargate: a, b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Message(tc.reasons); got != tc.want {
				t.Errorf("Message = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReasons(t *testing.T) {
	unbound := func(ns, claim string) bool { return !(ns == "apps" && claim == "efs-claim") }
	cases := []struct {
		name  string
		pod   *corev1.Pod
		bound func(string, string) bool
		want  []string
	}{
		{"nil pod", nil, allBound, nil},
		{"supported pod", plainPod(), allBound, nil},
		{"supported pod without PVC check", plainPod(), nil, nil},
		{"PVC bound", plainPod(), unbound, []string{
			"volumes not supported: data not supported because: PVC efs-claim not bound"}},

		// host namespaces, alone and in their fixed order
		{"HostNetwork", with(func(p *corev1.Pod) { p.Spec.HostNetwork = true }), allBound,
			[]string{"fields not supported: HostNetwork"}},
		{"HostPID", with(func(p *corev1.Pod) { p.Spec.HostPID = true }), allBound,
			[]string{"fields not supported: HostPID"}},
		{"HostIPC", with(func(p *corev1.Pod) { p.Spec.HostIPC = true }), allBound,
			[]string{"fields not supported: HostIPC"}},
		{"HostIPC and HostNetwork", with(func(p *corev1.Pod) { p.Spec.HostIPC, p.Spec.HostNetwork = true, true }), allBound,
			[]string{"fields not supported: HostNetwork, HostIPC"}},

		// ports
		{"HostPort", with(func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].HostPort = 8080 }), allBound,
			[]string{"port contains HostIP or HostPort"}},
		{"HostIP", with(func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].HostIP = "0.0.0.0" }), allBound,
			[]string{"port contains HostIP or HostPort"}},
		{"HostPort in init container and container once", with(func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports[0].HostPort = 80
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Ports: []corev1.ContainerPort{{ContainerPort: 1, HostPort: 1}}}}
		}), allBound, []string{"port contains HostIP or HostPort"}},

		// volumes
		{"hostPath volume", with(func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, hostPath("logs")) }), allBound,
			[]string{"volumes not supported: logs is of an unsupported volume Type"}},
		{"other volume types", with(func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes,
				corev1.Volume{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}},
				corev1.Volume{Name: "csi", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d"}}},
				corev1.Volume{Name: "eph", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
				corev1.Volume{Name: "img", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "busybox"}}})
		}), allBound, []string{"volumes not supported: nfs is of an unsupported volume Type, " +
			"csi is of an unsupported volume Type, eph is of an unsupported volume Type, img is of an unsupported volume Type"}},
		{"unsupported and unbound in volume order", with(func(p *corev1.Pod) {
			p.Spec.Volumes = append([]corev1.Volume{hostPath("first")}, append(p.Spec.Volumes, hostPath("last"))...)
		}), unbound, []string{"volumes not supported: first is of an unsupported volume Type, " +
			"data not supported because: PVC efs-claim not bound, last is of an unsupported volume Type"}},
		{"PVC looked up in the pod's namespace", with(func(p *corev1.Pod) { p.Namespace = "other" }), unbound, nil},

		// security context
		{"Privileged", with(func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.Privileged = ptr(true) }), allBound,
			[]string{"invalid SecurityContext fields: Privileged"}},
		{"AllowPrivilegeEscalation", with(func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr(true)
		}), allBound, []string{"invalid SecurityContext fields: AllowPrivilegeEscalation"}},
		{"Capabilities added", with(func(p *corev1.Pod) { addCaps(p, "NET_ADMIN") }), allBound,
			[]string{"invalid SecurityContext fields: Capabilities added: NET_ADMIN"}},
		{"Capabilities spelled differently", with(func(p *corev1.Pod) {
			addCaps(p, "cap_net_admin", "CAP_SYS_ADMIN", "sys_ptrace", "Net_Admin", "CAP_KILL", "audit_write")
		}), allBound, []string{"invalid SecurityContext fields: Capabilities added: NET_ADMIN, SYS_ADMIN, SYS_PTRACE"}},
		{"every default capability", with(func(p *corev1.Pod) {
			addCaps(p, "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
				"SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")
		}), allBound, nil},
		{"ALL capabilities", with(func(p *corev1.Pod) { addCaps(p, "ALL") }), allBound,
			[]string{"invalid SecurityContext fields: Capabilities added: ALL"}},
		{"security items combined over containers", with(func(p *corev1.Pod) {
			addCaps(p, "NET_ADMIN")
			p.Spec.InitContainers = []corev1.Container{{Name: "i", SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(true),
				Capabilities:             &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN", "NET_ADMIN"}},
			}}}
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}}}}
		}), allBound, []string{
			"invalid SecurityContext fields: Privileged, AllowPrivilegeEscalation, Capabilities added: SYS_ADMIN, NET_ADMIN"}},

		// resources
		{"GPU request", with(func(p *corev1.Pod) { setResource(p, true, "nvidia.com/gpu", "1") }), allBound,
			[]string{"resources not supported: nvidia.com/gpu"}},
		{"GPU limit", with(func(p *corev1.Pod) { setResource(p, false, "nvidia.com/gpu", "1") }), allBound,
			[]string{"resources not supported: nvidia.com/gpu"}},
		{"zero GPU", with(func(p *corev1.Pod) { setResource(p, true, "nvidia.com/gpu", "0") }), allBound, nil},
		{"several resources sorted once each", with(func(p *corev1.Pod) {
			setResource(p, true, "nvidia.com/gpu", "1")
			setResource(p, false, "nvidia.com/gpu", "1")
			setResource(p, false, "hugepages-2Mi", "64Mi")
			setResource(p, true, "aws.amazon.com/neuron", "1")
		}), allBound, []string{"resources not supported: aws.amazon.com/neuron, hugepages-2Mi, nvidia.com/gpu"}},
		{"init container GPU", with(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}}}}
		}), allBound, []string{"resources not supported: nvidia.com/gpu"}},
		{"pod-level hugepages", with(func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{
				Requests: corev1.ResourceList{"hugepages-1Gi": resource.MustParse("1Gi"), "cpu": resource.MustParse("1")}}
		}), allBound, []string{"resources not supported: hugepages-1Gi"}},

		// everything at once, in the fixed order
		{"every fragment", with(func(p *corev1.Pod) {
			p.Spec.HostPID = true
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 80
			p.Spec.Volumes = append(p.Spec.Volumes, hostPath("hostroot"))
			p.Spec.Containers[0].SecurityContext.Privileged = ptr(true)
			p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr(true)
			addCaps(p, "NET_ADMIN")
			setResource(p, true, "nvidia.com/gpu", "1")
		}), unbound, []string{
			"fields not supported: HostNetwork, HostPID",
			"port contains HostIP or HostPort",
			"volumes not supported: data not supported because: PVC efs-claim not bound, hostroot is of an unsupported volume Type",
			"invalid SecurityContext fields: Privileged, AllowPrivilegeEscalation, Capabilities added: NET_ADMIN",
			"resources not supported: nvidia.com/gpu",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Reasons(tc.pod, tc.bound)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Reasons\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestReasonsDoesNotModifyPod(t *testing.T) {
	p := rootShellPod()
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "d"}}}
	before := p.DeepCopy()
	Reasons(p, allBound)
	if !reflect.DeepEqual(before, p) {
		t.Error("Reasons changed the pod")
	}
}

func hostPath(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}}
}

func addCaps(p *corev1.Pod, caps ...string) {
	sc := p.Spec.Containers[0].SecurityContext
	for _, c := range caps {
		sc.Capabilities.Add = append(sc.Capabilities.Add, corev1.Capability(c))
	}
}

func setResource(p *corev1.Pod, request bool, name, qty string) {
	r := &p.Spec.Containers[0].Resources
	l := r.Limits
	if request {
		l = r.Requests
	}
	l[corev1.ResourceName(name)] = resource.MustParse(qty)
}
