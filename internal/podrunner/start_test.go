package podrunner

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/internal/image"
)

func TestCommandLine(t *testing.T) {
	img := image.Config{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"}}
	env := []string{"GREETING=hello", "N=3"}
	tests := []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"the image's entrypoint and cmd", nil, nil, []string{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}},
		{"args replace the cmd only", nil, []string{"echo", "$(GREETING)"}, []string{"/docker-entrypoint.sh", "echo", "hello"}},
		{"command replaces both", []string{"sh", "-c"}, nil, []string{"sh", "-c"}},
		{"command and args, expanded", []string{"sleep"}, []string{"$(N)", "$$(N)", "$(MISSING)"}, []string{"sleep", "3", "$(N)", "$(MISSING)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := commandLine(&corev1.Container{Command: tt.command, Args: tt.args}, img, env)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/usr/bin", "LANG=C"}, []string{"LANG=en_US.UTF-8", "X=1"})
	want := []string{"PATH=/usr/bin", "LANG=en_US.UTF-8", "X=1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestUserOf(t *testing.T) {
	tests := []struct {
		name      string
		pod, ctr  *corev1.SecurityContext
		podSC     *corev1.PodSecurityContext
		imageUser string
		want      string
	}{
		{"the image's user", nil, nil, nil, "nginx", "nginx"},
		{"the pod's runAsUser", nil, nil, &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}, "nginx", "1000"},
		{"the container's over the pod's", nil, &corev1.SecurityContext{RunAsUser: ptr.To[int64](7), RunAsGroup: ptr.To[int64](8)},
			&corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}, "", "7:8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: tt.podSC}}
			if got := userOf(pod, &corev1.Container{SecurityContext: tt.ctr}, tt.imageUser); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		policy corev1.RestartPolicy
		code   int
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, true},
		{corev1.RestartPolicyAlways, 1, true},
		{corev1.RestartPolicyOnFailure, 0, false},
		{corev1.RestartPolicyOnFailure, 137, true},
		{corev1.RestartPolicyNever, 1, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			if got := shouldRestart(tt.policy, tt.code); got != tt.want {
				t.Errorf("exit %d: got %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}

func TestPodFiles(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "game"},
		Spec: corev1.PodSpec{HostAliases: []corev1.HostAlias{{IP: "10.9.9.9", Hostnames: []string{"db"}}}}}
	w := &podWorker{a: &Agent{cfg: Config{Region: "us-east-1", ClusterDNS: "10.96.0.10", ClusterDomain: "cluster.local"}}}
	w.ip = mustAddr("10.42.0.7")
	files := w.podFiles(pod)
	wantResolv := "search game.svc.cluster.local svc.cluster.local cluster.local us-east-1.compute.internal\nnameserver 10.96.0.10\noptions ndots:5\n"
	if got := string(files["/etc/resolv.conf"]); got != wantResolv {
		t.Errorf("resolv.conf:\n%s\nwant:\n%s", got, wantResolv)
	}
	if got := string(files["/etc/hostname"]); got != "web-1\n" {
		t.Errorf("hostname %q", got)
	}
	hosts := string(files["/etc/hosts"])
	for _, line := range []string{"127.0.0.1\tlocalhost\n", "10.42.0.7\tweb-1\n", "10.9.9.9\tdb\n"} {
		if !contains(hosts, line) {
			t.Errorf("/etc/hosts lacks %q:\n%s", line, hosts)
		}
	}
}
