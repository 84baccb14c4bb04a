package podrunner

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

func TestVerifyRunAsNonRoot(t *testing.T) {
	tests := []struct {
		name      string
		runAsUser *int64
		nonRoot   *bool
		imageUser string
		wantErr   string // "" for none
	}{
		{"not asked", nil, nil, "", ""},
		{"asked, false", nil, ptr.To(false), "", ""},
		{"explicit non-root uid", ptr.To[int64](1000), ptr.To(true), "", ""},
		{"explicit root uid", ptr.To[int64](0), ptr.To(true), "1234", "container's runAsUser breaks non-root policy"},
		{"image user", nil, ptr.To(true), "1234", ""},
		{"image user and group", nil, ptr.To(true), "1234:5", ""},
		{"image without a user runs as root", nil, ptr.To(true), "", "container has runAsNonRoot and image will run as root"},
		{"image root", nil, ptr.To(true), "0", "container has runAsNonRoot and image will run as root"},
		{"image user by name", nil, ptr.To(true), "nginx", "image has non-numeric user (nginx), cannot verify user is non-root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := corev1.Container{Name: "c", SecurityContext: &corev1.SecurityContext{RunAsUser: tt.runAsUser, RunAsNonRoot: tt.nonRoot}}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
			err := verifyRunAsNonRoot(pod, &pod.Spec.Containers[0], tt.imageUser)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
			case err != nil && !strings.HasSuffix(err.Error(), `(pod: "p_ns(u)", container: c)`):
				t.Fatalf("error %q does not end with kubelet's pod and container", err)
			}
		})
	}
}

func TestSecurity(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			SupplementalGroups: []int64{60000}, FSGroup: ptr.To[int64](70000),
			Sysctls:      []corev1.Sysctl{{Name: "kernel/shm_rmid_forced", Value: "1"}},
			RunAsNonRoot: ptr.To(true),
		},
		Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
			ReadOnlyRootFilesystem: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
		}}},
	}}
	got := security(pod, &pod.Spec.Containers[0])
	want := sandbox.Security{
		ReadOnlyRootfs: true, NoNewPrivileges: true,
		SupplementalGroups: []uint32{60000, 70000},
		AddCapabilities:    []string{"NET_BIND_SERVICE"}, DropCapabilities: []string{"ALL"},
		Sysctls: map[string]string{"kernel.shm_rmid_forced": "1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("security %+v, want %+v", got, want)
	}
	if got := security(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}, &corev1.Container{Name: "c"}); !reflect.DeepEqual(got, sandbox.Security{}) {
		t.Fatalf("no securityContext gives %+v, want nothing set (privilege escalation allowed, as a kubelet's default)", got)
	}
}
