// Package podvolume materializes a pod's volumes on its host, as a kubelet's
// volume manager does: emptyDir (on disk, or a tmpfs for medium Memory),
// configMap, secret, downwardAPI and projected volumes (service account
// tokens from the TokenRequest API, rotated before they expire). Contents
// are published atomically through a ..data symlink, so a container that
// sees the volume through a bind mount never reads half an update.
//
// Each volume lives in Root/<pod UID>/volumes/<name>. Secret and projected
// volumes sit on a tmpfs so secrets never reach the disk, as on a kubelet.
package podvolume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// Manager sets up, refreshes and removes the volumes of the pods on this
// host. Its methods are safe for concurrent use; calls for one pod are
// serialized.
type Manager struct {
	Client kubernetes.Interface
	// Root holds one directory per pod: Root/<uid>/volumes/<name>.
	Root string
	// Now is the clock for token rotation; nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	pods map[string]*podState
}

// podState is what the Manager remembers of one pod between calls.
type podState struct {
	mu     sync.Mutex
	tokens map[string]*issuedToken
}

// SetUpError is a volume that could not be set up. Its message is the text
// of the FailedMount event a kubelet posts, e.g.
// `MountVolume.SetUp failed for volume "config" : configmap "x" not found`.
type SetUpError struct {
	Volume string
	Err    error
}

func (e *SetUpError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

func (e *SetUpError) Unwrap() error { return e.Err }

// size is the pod's provisioned size, the bound of memory-backed volumes
// and what a missing limit reads as in the downward API.
type size struct{ milliCPU, memoryBytes int64 }

// Setup makes every volume of pod ready and returns volume name -> host
// directory. It is idempotent: calling it again brings contents up to date.
// A failure is one *SetUpError per volume that failed (joined), and no map.
func (m *Manager) Setup(ctx context.Context, pod *corev1.Pod, podCPUMillis, podMemoryBytes int64) (map[string]string, error) {
	if err := m.checkPod(pod); err != nil {
		return nil, err
	}
	st := m.lockPod(string(pod.UID))
	defer st.mu.Unlock()
	dirs := map[string]string{}
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		dir, err := m.volumeDir(string(pod.UID), v.Name)
		if err == nil {
			err = m.setUpVolume(ctx, st, pod, v, dir, size{podCPUMillis, podMemoryBytes})
		}
		if err != nil {
			errs = append(errs, &SetUpError{Volume: v.Name, Err: err})
			continue
		}
		dirs[v.Name] = dir
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return dirs, nil
}

// Refresh brings configMap, secret, downwardAPI and projected volumes up to
// date and rotates service account tokens that are due. Only volumes Setup
// made are touched, so a Refresh racing Teardown leaves nothing behind.
// Nothing is written when nothing changed. A volume that fails keeps its
// previous contents, as on a kubelet.
func (m *Manager) Refresh(ctx context.Context, pod *corev1.Pod, podCPUMillis, podMemoryBytes int64) error {
	if err := m.checkPod(pod); err != nil {
		return err
	}
	st := m.lockPod(string(pod.UID))
	defer st.mu.Unlock()
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		dir, err := m.volumeDir(string(pod.UID), v.Name)
		if err != nil || !isProjection(v) || !exists(dir) {
			continue
		}
		if err := m.setUpVolume(ctx, st, pod, v, dir, size{podCPUMillis, podMemoryBytes}); err != nil {
			errs = append(errs, &SetUpError{Volume: v.Name, Err: err})
		}
	}
	return errors.Join(errs...)
}

// Teardown unmounts and removes everything Setup made for the pod and
// forgets its tokens. A pod with nothing on disk is not an error.
func (m *Manager) Teardown(podUID string) error {
	if err := checkName("pod UID", podUID); err != nil {
		return err
	}
	if m.Root == "" {
		return errors.New("podvolume: Manager.Root is empty; set it to the agent's pods directory")
	}
	st := m.lockPod(podUID)
	defer st.mu.Unlock()
	if err := removePodDir(filepath.Join(m.Root, podUID)); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.pods, podUID)
	m.mu.Unlock()
	return nil
}

func (m *Manager) setUpVolume(ctx context.Context, st *podState, pod *corev1.Pod, v *corev1.Volume, dir string, sz size) error {
	switch {
	case v.EmptyDir != nil:
		return setUpEmptyDir(pod, v.EmptyDir, dir, sz)
	case v.ConfigMap != nil:
		return m.setUpConfigMap(ctx, pod, v.ConfigMap, dir)
	case v.Secret != nil:
		return m.setUpSecret(ctx, pod, v.Secret, dir, sz)
	case v.DownwardAPI != nil:
		return m.setUpDownwardAPI(pod, v.DownwardAPI, dir, sz)
	case v.Projected != nil:
		return m.setUpProjected(ctx, st, pod, v, dir, sz)
	case v.PersistentVolumeClaim != nil:
		return fmt.Errorf("persistentVolumeClaim volumes are not supported on fargo hosts yet (claim %q): use emptyDir for scratch space", v.PersistentVolumeClaim.ClaimName)
	}
	return errors.New("volume type not supported on fargo hosts: use emptyDir, configMap, secret, downwardAPI or projected")
}

// isProjection tells the volumes whose contents come from the API and are
// kept in sync; an emptyDir belongs to the pod once made.
func isProjection(v *corev1.Volume) bool {
	return v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil
}

// lockPod returns the pod's state, locked.
func (m *Manager) lockPod(uid string) *podState {
	m.mu.Lock()
	if m.pods == nil {
		m.pods = map[string]*podState{}
	}
	st, ok := m.pods[uid]
	if !ok {
		st = &podState{tokens: map[string]*issuedToken{}}
		m.pods[uid] = st
	}
	m.mu.Unlock()
	st.mu.Lock()
	return st
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) checkPod(pod *corev1.Pod) error {
	if m.Root == "" {
		return errors.New("podvolume: Manager.Root is empty; set it to the agent's pods directory")
	}
	return checkName("pod UID", string(pod.UID))
}

func (m *Manager) volumeDir(uid, volume string) (string, error) {
	if err := checkName("volume name", volume); err != nil {
		return "", err
	}
	return filepath.Join(m.Root, uid, "volumes", volume), nil
}

// checkName refuses anything that is not one plain path element, so no
// name from a pod spec can point outside Root.
func checkName(what, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("podvolume: invalid %s %q: it must be a single path element", what, name)
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
