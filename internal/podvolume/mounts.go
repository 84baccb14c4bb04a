package podvolume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// Mounts turns c's volumeMounts into bind mounts from the directories
// Setup returned. subPath (or subPathExpr expanded with env, the
// container's KEY=VALUE list) picks a path inside the volume; it is
// resolved inside the volume, symlinks included, so a container cannot
// point a later mount at the host, and created as a directory when
// missing, as on a kubelet. configMap, secret, downwardAPI and projected
// volumes are always read-only.
func Mounts(pod *corev1.Pod, c *corev1.Container, dirs map[string]string, env []string) ([]sandbox.Mount, error) {
	var mounts []sandbox.Mount
	for i, vm := range c.VolumeMounts {
		dir, ok := dirs[vm.Name]
		if !ok {
			return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
		}
		source, err := mountSource(c, vm, dir, env)
		if err != nil {
			return nil, err
		}
		projection := alwaysReadOnly(pod, vm.Name)
		if projection && source != dir {
			pin := fmt.Sprintf("%s.%d", c.Name, i)
			if source, err = pinSubPath(dir, source, pin); err != nil {
				return nil, fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q: %w", vm.Name, c.Name, err)
			}
		}
		mounts = append(mounts, sandbox.Mount{
			Source:      source,
			Destination: vm.MountPath,
			ReadOnly:    vm.ReadOnly || projection,
		})
	}
	return mounts, nil
}

func mountSource(c *corev1.Container, vm corev1.VolumeMount, dir string, env []string) (string, error) {
	subPath := vm.SubPath
	if vm.SubPathExpr != "" {
		var err error
		if subPath, err = expandSubPath(vm.SubPathExpr, env); err != nil {
			return "", err
		}
	}
	if subPath == "" {
		return dir, nil
	}
	if filepath.IsAbs(subPath) {
		return "", fmt.Errorf("error SubPath `%s` must not be an absolute path", subPath)
	}
	if slices.Contains(strings.Split(filepath.ToSlash(subPath), "/"), "..") {
		return "", fmt.Errorf("unable to provision SubPath `%s`: must not contain '..'", subPath)
	}
	source, err := securejoin.SecureJoin(dir, subPath)
	if err != nil {
		return "", fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q", vm.Name, c.Name)
	}
	if err := makeSubPath(dir, source); err != nil {
		// The detail could tell the user about the host's filesystem.
		return "", fmt.Errorf("failed to create subPath directory for volumeMount %q of container %q", vm.Name, c.Name)
	}
	return source, nil
}

// expandSubPath expands $(VAR) with the container's env; an unknown or
// empty variable is an error, as on a kubelet, since the path would
// otherwise point somewhere unintended.
func expandSubPath(expr string, env []string) (string, error) {
	values := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		values[k] = v
	}
	var missing []string
	expanded := expansion.Expand(expr, func(name string) string {
		v := values[name]
		if v == "" && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("missing value for %s", strings.Join(missing, ", "))
	}
	return expanded, nil
}

// makeSubPath creates a missing subPath as a directory with the volume's
// mode, setgid and sticky bits included (a kubelet's SafeMakeDir with the
// volume's mode), so a container can use it as it could the volume.
func makeSubPath(volumeDir, source string) error {
	if _, err := os.Stat(source); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	info, err := os.Stat(volumeDir)
	if err != nil {
		return err
	}
	mode := info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if err := os.MkdirAll(source, mode.Perm()); err != nil {
		return err
	}
	return os.Chmod(source, mode)
}

func alwaysReadOnly(pod *corev1.Pod, volume string) bool {
	for i := range pod.Spec.Volumes {
		if v := &pod.Spec.Volumes[i]; v.Name == volume {
			return isProjection(v)
		}
	}
	return false
}
