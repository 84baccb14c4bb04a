package podvolume

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// tokenServer answers TokenRequests like the API server: token-N, valid
// for the asked seconds from the test clock.
type tokenServer struct {
	mu       sync.Mutex
	clock    *clock
	requests []*authenticationv1.TokenRequest
	accounts []string
}

func (s *tokenServer) install(cs *fake.Clientset) {
	cs.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		create := a.(k8stesting.CreateAction)
		if create.GetSubresource() != "token" {
			return false, nil, nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		req := create.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		s.requests = append(s.requests, req)
		s.accounts = append(s.accounts, create.(k8stesting.CreateActionImpl).Name)
		req.Status = authenticationv1.TokenRequestStatus{
			Token:               fmt.Sprintf("token-%d", len(s.requests)),
			ExpirationTimestamp: metav1.NewTime(s.clock.now().Add(time.Duration(*req.Spec.ExpirationSeconds) * time.Second)),
		}
		return true, req, nil
	})
}

func (s *tokenServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// kubeAPIAccess is the projected volume the API server injects in pods.
func kubeAPIAccess(expiration *int64, audience string) corev1.Volume {
	return corev1.Volume{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr(int32(0o644)),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: expiration, Audience: audience}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}}}
}

func tokenSetup(t *testing.T, vol corev1.Volume) (*Manager, *tokenServer, *corev1.Pod, string) {
	t.Helper()
	requireMounts(t)
	m, cs, clk := newManager(t, configMap("kube-root-ca.crt", map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\n"}))
	srv := &tokenServer{clock: clk}
	srv.install(cs)
	pod := newPod(vol)
	dir := setUp(t, m, pod)[vol.Name]
	return m, srv, pod, dir
}

func TestProjectedServiceAccountVolume(t *testing.T) {
	_, srv, pod, dir := tokenSetup(t, kubeAPIAccess(nil, "vault"))
	want := map[string]string{"token": "token-1", "ca.crt": "-----BEGIN CERTIFICATE-----\n", "namespace": "shop"}
	for p, content := range want {
		t.Run(p, func(t *testing.T) {
			if got := readFile(t, filepath.Join(dir, p)); got != content {
				t.Errorf("%s = %q, want %q", p, got, content)
			}
		})
	}
	t.Run("token request is bound to the pod", func(t *testing.T) {
		req := srv.requests[0]
		if srv.accounts[0] != "runner" {
			t.Errorf("service account = %q, want runner", srv.accounts[0])
		}
		ref := req.Spec.BoundObjectRef
		if ref == nil || ref.Kind != "Pod" || ref.APIVersion != "v1" || ref.Name != pod.Name || ref.UID != pod.UID {
			t.Errorf("BoundObjectRef = %+v, want the pod", ref)
		}
		if len(req.Spec.Audiences) != 1 || req.Spec.Audiences[0] != "vault" {
			t.Errorf("audiences = %v, want [vault]", req.Spec.Audiences)
		}
		if *req.Spec.ExpirationSeconds != 3607 {
			t.Errorf("expirationSeconds = %d, want the kubelet's default 3607", *req.Spec.ExpirationSeconds)
		}
	})
	t.Run("volume is a tmpfs", func(t *testing.T) {
		if mounted, err := mountinfo.Mounted(dir); err != nil || !mounted {
			t.Errorf("projected volume not on a tmpfs: %v, %v", mounted, err)
		}
	})
}

func TestTokenRotation(t *testing.T) {
	tests := []struct {
		name       string
		expiration *int64
		notYet     time.Duration // Refresh after this: same token
		due        time.Duration // Refresh after this (in total): new token
	}{
		{name: "default 3607s renews at 80% of its life", notYet: 48 * time.Minute, due: 48*time.Minute + 10*time.Second},
		{name: "10 minute token renews after 8 minutes", expiration: ptr(int64(600)), notYet: 7*time.Minute + 59*time.Second, due: 8 * time.Minute},
		{name: "2 day token renews after 24 hours", expiration: ptr(int64(172800)), notYet: 23*time.Hour + 59*time.Minute, due: 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, srv, pod, dir := tokenSetup(t, kubeAPIAccess(tt.expiration, ""))
			clk := srv.clock
			start := clk.t
			clk.t = start.Add(tt.notYet)
			if err := m.Refresh(t.Context(), pod, podCPU, podMem); err != nil {
				t.Fatal(err)
			}
			if n := srv.count(); n != 1 {
				t.Fatalf("%d token requests after %v, want 1 (not due)", n, tt.notYet)
			}
			if got := readFile(t, filepath.Join(dir, "token")); got != "token-1" {
				t.Errorf("token = %q, want token-1", got)
			}
			clk.t = start.Add(tt.due)
			if err := m.Refresh(t.Context(), pod, podCPU, podMem); err != nil {
				t.Fatal(err)
			}
			if n := srv.count(); n != 2 {
				t.Fatalf("%d token requests after %v, want 2 (due)", n, tt.due)
			}
			if got := readFile(t, filepath.Join(dir, "token")); got != "token-2" {
				t.Errorf("token = %q after rotation, want token-2", got)
			}
		})
	}
}

func TestTokenKeptWhenRenewalFailsBeforeExpiry(t *testing.T) {
	m, srv, pod, dir := tokenSetup(t, kubeAPIAccess(ptr(int64(600)), ""))
	srv.clock.advance(9 * time.Minute) // due, not expired
	failing := m.Client.(*fake.Clientset)
	failing.PrependReactor("create", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, fmt.Errorf("apiserver unavailable")
	})
	if err := m.Refresh(t.Context(), pod, podCPU, podMem); err != nil {
		t.Errorf("Refresh with a still valid token: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "token")); got != "token-1" {
		t.Errorf("token = %q, want the held token-1", got)
	}
	srv.clock.advance(2 * time.Minute) // expired now
	err := m.Refresh(t.Context(), pod, podCPU, podMem)
	want := `MountVolume.SetUp failed for volume "kube-api-access-x7k2p" : failed to fetch token: apiserver unavailable`
	if err == nil || err.Error() != want {
		t.Errorf("Refresh error = %v, want %s", err, want)
	}
}

func TestTokenModeWithFSGroup(t *testing.T) {
	requireMounts(t)
	m, cs, clk := newManager(t, configMap("kube-root-ca.crt", map[string]string{"ca.crt": "ca"}))
	(&tokenServer{clock: clk}).install(cs)
	pod := newPod(kubeAPIAccess(nil, ""))
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(3000))}
	dir := setUp(t, m, pod)["kube-api-access-x7k2p"]
	if got := permOf(t, filepath.Join(dir, "token")); got != 0o640 {
		t.Errorf("token mode = %o, want 640 with fsGroup", got)
	}
}
