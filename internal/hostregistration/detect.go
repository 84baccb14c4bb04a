package hostregistration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/fargo-dev/fargo/internal/podnode"
)

// Sandbox tiers: the kinds of sandbox a host can run a pod in, as named in
// HostSpec.Tiers.
const (
	TierRunc  = "oci/runc"
	TierCrun  = "oci/crun"
	TierRunsc = "oci/runsc"
	TierQEMU  = "microvm/qemu"
)

// runtimeTool is the program behind a tier, how a node names it in its
// container runtime version, and the Debian package that installs it.
type runtimeTool struct{ binary, scheme, debianPackage string }

func toolFor(tier, goarch string) (runtimeTool, error) {
	switch tier {
	case TierRunc:
		return runtimeTool{"runc", "runc", "runc"}, nil
	case TierCrun:
		return runtimeTool{"crun", "crun", "crun"}, nil
	case TierRunsc:
		return runtimeTool{"runsc", "runsc", "runsc"}, nil
	case TierQEMU:
		if goarch == "arm64" {
			return runtimeTool{"qemu-system-aarch64", "qemu", "qemu-system-arm"}, nil
		}
		return runtimeTool{"qemu-system-x86_64", "qemu", "qemu-system-x86"}, nil
	}
	return runtimeTool{}, fmt.Errorf("unknown sandbox tier %q: use one of %s", tier,
		strings.Join([]string{TierRunc, TierCrun, TierRunsc, TierQEMU}, ", "))
}

// machine is what detection reads of the host; tests pass their own.
type machine struct {
	readFile func(path string) ([]byte, error)
	// version returns what `binary --version` prints.
	version func(binary string) ([]byte, error)
	kernel  func() (string, error)
}

func thisMachine() machine {
	return machine{
		readFile: os.ReadFile,
		version:  func(binary string) ([]byte, error) { return exec.Command(binary, "--version").Output() },
		kernel: func() (string, error) {
			var u unix.Utsname
			if err := unix.Uname(&u); err != nil {
				return "", err
			}
			return unix.ByteSliceToString(u.Release[:]), nil
		},
	}
}

// DetectNodeInfo returns what this machine's pod-nodes report: the kubelet
// version for a control plane at kubernetesVersion (like v1.36.3), the
// container runtime of tier with its installed version, the kernel, OS
// image and machine ID. A tier whose program is not installed is an error
// that names the Debian package to install.
func DetectNodeInfo(tier string, kubernetesVersion string) (corev1.NodeSystemInfo, error) {
	return detectNodeInfo(thisMachine(), tier, kubernetesVersion)
}

func detectNodeInfo(m machine, tier, kubernetesVersion string) (corev1.NodeSystemInfo, error) {
	if kubernetesVersion == "" {
		return corev1.NodeSystemInfo{}, errors.New("no Kubernetes version to report as the pod-nodes' kubelet version")
	}
	rt, err := runtimeVersion(m, tier)
	if err != nil {
		return corev1.NodeSystemInfo{}, err
	}
	kernel, err := m.kernel()
	if err != nil {
		return corev1.NodeSystemInfo{}, fmt.Errorf("reading the kernel version: %w", err)
	}
	machineID, _ := m.readFile("/etc/machine-id") // optional, as for kubelets
	return corev1.NodeSystemInfo{
		MachineID:               strings.TrimSpace(string(machineID)),
		KernelVersion:           kernel,
		OSImage:                 osImage(m),
		ContainerRuntimeVersion: rt,
		KubeletVersion:          podnode.KubeletVersion(kubernetesVersion),
		OperatingSystem:         "linux",
		Architecture:            runtime.GOARCH,
	}, nil
}

// runtimeVersion is tier's runtime as a node reports it, like runc://1.1.5.
func runtimeVersion(m machine, tier string) (string, error) {
	tool, err := toolFor(tier, runtime.GOARCH)
	if err != nil {
		return "", err
	}
	out, err := m.version(tool.binary)
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("sandbox tier %s needs %s, which is not installed: install the Debian package %s (apt-get install %s)",
			tier, tool.binary, tool.debianPackage, tool.debianPackage)
	}
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", tool.binary, err)
	}
	v, err := parseVersion(out)
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", tool.binary, err)
	}
	return tool.scheme + "://" + v, nil
}

// parseVersion returns the word after "version" on the first line, as in
// "runc version 1.1.5" or "QEMU emulator version 7.2.5 (Debian ...)".
func parseVersion(out []byte) (string, error) {
	first, _, _ := bytes.Cut(out, []byte("\n"))
	words := strings.Fields(string(first))
	for i, w := range words {
		if w == "version" && i+1 < len(words) {
			return words[i+1], nil
		}
	}
	return "", fmt.Errorf("no version in %q", first)
}

// osImage is PRETTY_NAME of os-release, or "Linux" as cadvisor reports
// when there is none.
func osImage(m machine) string {
	for _, path := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		data, err := m.readFile(path)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
				if unquoted, err := strconv.Unquote(v); err == nil {
					return unquoted
				}
				return strings.Trim(v, `'"`)
			}
		}
	}
	return "Linux"
}

// DetectAllocatable returns this machine's CPUs and memory (MemTotal of
// /proc/meminfo) less the reserves; it is an error when nothing is left.
func DetectAllocatable(reserveCPU, reserveMemory resource.Quantity) (corev1.ResourceList, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	total, err := memTotal(f)
	if err != nil {
		return nil, err
	}
	return allocatable(runtime.NumCPU(), total, reserveCPU, reserveMemory)
}

func allocatable(cpus int, memBytes int64, reserveCPU, reserveMemory resource.Quantity) (corev1.ResourceList, error) {
	cpu := int64(cpus)*1000 - reserveCPU.MilliValue()
	if cpu <= 0 {
		return nil, fmt.Errorf("this machine has %d CPUs and %s are reserved: none is left for pods", cpus, reserveCPU.String())
	}
	// Whole MiB, so that the figure reads well in kubectl; under 1MiB is lost.
	mem := (memBytes - reserveMemory.Value()) &^ (1<<20 - 1)
	if mem <= 0 {
		return nil, fmt.Errorf("this machine has %s of memory and %s is reserved: none is left for pods",
			resource.NewQuantity(memBytes, resource.BinarySI), reserveMemory.String())
	}
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(cpu, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(mem, resource.BinarySI),
	}, nil
}

// memTotal reads MemTotal, in bytes, from /proc/meminfo.
func memTotal(r io.Reader) (int64, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) != 3 || fields[0] != "MemTotal:" || fields[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/meminfo: MemTotal %q: %w", fields[1], err)
		}
		return kb * 1024, nil
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("/proc/meminfo has no MemTotal in kB")
}
