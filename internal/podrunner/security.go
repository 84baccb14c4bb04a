package podrunner

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/node/util/sysctl"
	"k8s.io/kubernetes/pkg/securitycontext"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// security is what the runtime enforces of c's effective securityContext
// (the container's over the pod's), as a kubelet hands it to its runtime.
func security(pod *corev1.Pod, c *corev1.Container) sandbox.Security {
	var out sandbox.Security
	sc := securitycontext.DetermineEffectiveSecurityContext(pod, c)
	if sc != nil {
		out.ReadOnlyRootfs = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
		out.NoNewPrivileges = securitycontext.AddNoNewPrivileges(sc)
		if caps := sc.Capabilities; caps != nil {
			out.AddCapabilities = capNames(caps.Add)
			out.DropCapabilities = capNames(caps.Drop)
		}
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		for _, g := range psc.SupplementalGroups {
			out.SupplementalGroups = append(out.SupplementalGroups, uint32(g))
		}
		if psc.FSGroup != nil {
			out.SupplementalGroups = append(out.SupplementalGroups, uint32(*psc.FSGroup))
		}
		if len(psc.Sysctls) > 0 {
			out.Sysctls = map[string]string{}
			for _, s := range psc.Sysctls {
				out.Sysctls[sysctl.NormalizeName(s.Name)] = s.Value
			}
		}
	}
	return out
}

func capNames(caps []corev1.Capability) []string {
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = string(c)
	}
	return out
}

// verifyRunAsNonRoot refuses to start c as root when runAsNonRoot asks
// for a non-root user, in a kubelet's words (kuberuntime's
// verifyRunAsNonRoot); imageUser is the image's USER.
func verifyRunAsNonRoot(pod *corev1.Pod, c *corev1.Container, imageUser string) error {
	sc := securitycontext.DetermineEffectiveSecurityContext(pod, c)
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	desc := fmt.Sprintf("(pod: %q, container: %s)", fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID), c.Name)
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return fmt.Errorf("container's runAsUser breaks non-root policy %s", desc)
		}
		return nil
	}
	user, _, _ := strings.Cut(imageUser, ":")
	if user == "" {
		user = "0" // no USER: the image runs as root
	}
	uid, err := strconv.ParseInt(user, 10, 64)
	switch {
	case err != nil:
		return fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root %s", user, desc)
	case uid == 0:
		return fmt.Errorf("container has runAsNonRoot and image will run as root %s", desc)
	}
	return nil
}
