package hostregistration

import (
	"errors"
	"io/fs"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name, out, want string
	}{
		{"runc", "runc version 1.1.5\ncommit: v1.1.5-0-gf19387a\nspec: 1.0.2-dev\ngo: go1.19.8\n", "1.1.5"},
		{"crun", "crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\n+SYSTEMD +SELINUX\n", "1.8.1"},
		{"runsc", "runsc version 0.0~20221219.0\nspec: 1.0.2\n", "0.0~20221219.0"},
		{"qemu", "QEMU emulator version 7.2.17 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright (c) 2003-2022\n", "7.2.17"},
		{"version on a later line only", "usage: runc\nrunc version 1.1.5\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVersion([]byte(tt.out))
			if got != tt.want || (err != nil) != (tt.want == "") {
				t.Errorf("parseVersion = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// fakeMachine answers version and file reads from maps.
func fakeMachine(versions map[string]string, files map[string]string) machine {
	return machine{
		readFile: func(path string) ([]byte, error) {
			if f, ok := files[path]; ok {
				return []byte(f), nil
			}
			return nil, fs.ErrNotExist
		},
		version: func(binary string) ([]byte, error) {
			if v, ok := versions[binary]; ok {
				return []byte(v), nil
			}
			return nil, &exec.Error{Name: binary, Err: exec.ErrNotFound}
		},
		kernel: func() (string, error) { return "6.1.0-32-amd64", nil },
	}
}

func TestRuntimeVersion(t *testing.T) {
	qemu := "qemu-system-x86_64"
	if runtime.GOARCH == "arm64" {
		qemu = "qemu-system-aarch64"
	}
	m := fakeMachine(map[string]string{
		"runc": "runc version 1.1.5\n", "crun": "crun version 1.8.1\n", "runsc": "runsc version 0.0~20221219.0\n",
		qemu: "QEMU emulator version 7.2.17 (Debian)\n",
	}, nil)
	tests := []struct {
		name, tier, want, wantErr string
		m                         machine
	}{
		{"runc", TierRunc, "runc://1.1.5", "", m},
		{"crun", TierCrun, "crun://1.8.1", "", m},
		{"gvisor", TierRunsc, "runsc://0.0~20221219.0", "", m},
		{"qemu", TierQEMU, "qemu://7.2.17", "", m},
		{"missing runc names the package", TierRunc, "", "apt-get install runc", fakeMachine(nil, nil)},
		{"missing runsc names the package", TierRunsc, "", "apt-get install runsc", fakeMachine(nil, nil)},
		{"unknown tier", "oci/docker", "", "unknown sandbox tier", m},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runtimeVersion(tt.m, tt.tier)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("runtimeVersion(%s) = %q, %v; want %q, error containing %q", tt.tier, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDetectNodeInfo(t *testing.T) {
	files := map[string]string{
		"/etc/machine-id": "0123456789abcdef0123456789abcdef\n",
		"/etc/os-release": "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
	}
	got, err := detectNodeInfo(fakeMachine(map[string]string{"runc": "runc version 1.1.5\n"}, files), TierRunc, "v1.36.3")
	if err != nil {
		t.Fatal(err)
	}
	want := corev1.NodeSystemInfo{
		MachineID: "0123456789abcdef0123456789abcdef", KernelVersion: "6.1.0-32-amd64", OSImage: "Debian GNU/Linux 12 (bookworm)",
		ContainerRuntimeVersion: "runc://1.1.5", KubeletVersion: "v1.36.3-fargo", OperatingSystem: "linux", Architecture: runtime.GOARCH,
	}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := detectNodeInfo(fakeMachine(map[string]string{"runc": "runc version 1.1.5\n"}, files), TierRunc, ""); err == nil {
		t.Error("no error without a Kubernetes version")
	}
}

func TestOSImage(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"quoted", map[string]string{"/etc/os-release": "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\n"}, "Ubuntu 24.04 LTS"},
		{"unquoted", map[string]string{"/etc/os-release": "ID=alpine\nPRETTY_NAME=Alpine\n"}, "Alpine"},
		{"only in /usr/lib", map[string]string{"/usr/lib/os-release": "PRETTY_NAME='Fedora 40'\n"}, "Fedora 40"},
		{"none", nil, "Linux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := osImage(fakeMachine(nil, tt.files)); got != tt.want {
				t.Errorf("osImage = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMemTotal(t *testing.T) {
	tests := []struct {
		name, meminfo string
		want          int64
	}{
		{"debian", "MemTotal:       16318056 kB\nMemFree:         1203440 kB\nMemAvailable:    9876543 kB\n", 16318056 * 1024},
		{"not first", "MemFree: 1 kB\nMemTotal: 2048 kB\n", 2048 * 1024},
		{"missing", "MemFree: 1 kB\n", 0},
		{"garbage", "MemTotal: lots kB\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := memTotal(strings.NewReader(tt.meminfo))
			if got != tt.want || (err != nil) != (tt.want == 0) {
				t.Errorf("memTotal = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestAllocatable(t *testing.T) {
	const gi = int64(1) << 30
	tests := []struct {
		name                  string
		cpus                  int
		mem                   int64
		reserveCPU, reserveMe string
		wantCPU, wantMem      string // empty: an error
	}{
		{"nothing reserved", 4, 16 * gi, "0", "0", "4", "16Gi"},
		{"reserves taken off", 4, 16 * gi, "500m", "1Gi", "3500m", "15Gi"},
		{"odd memory rounds down to MiB", 2, 8*gi + 123456, "0", "0", "2", "8Gi"},
		{"all CPUs reserved", 2, 8 * gi, "2", "0", "", ""},
		{"all memory reserved", 2, 8 * gi, "0", "8Gi", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := allocatable(tt.cpus, tt.mem, resource.MustParse(tt.reserveCPU), resource.MustParse(tt.reserveMe))
			if tt.wantCPU == "" {
				if err == nil || !strings.Contains(err.Error(), "none is left") {
					t.Errorf("got %v, %v; want an error saying none is left", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Cpu().Cmp(resource.MustParse(tt.wantCPU)) != 0 || got.Memory().Cmp(resource.MustParse(tt.wantMem)) != 0 {
				t.Errorf("got cpu %s memory %s, want %s and %s", got.Cpu(), got.Memory(), tt.wantCPU, tt.wantMem)
			}
		})
	}
}

// TestDetectAllocatableHere reads this machine, which has a CPU and more
// than 1MiB of memory.
func TestDetectAllocatableHere(t *testing.T) {
	got, err := DetectAllocatable(resource.MustParse("0"), resource.MustParse("0"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no /proc/meminfo")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.Cpu().MilliValue() != int64(runtime.NumCPU())*1000 || got.Memory().Value() < 1<<20 {
		t.Errorf("got cpu %s memory %s for %d CPUs", got.Cpu(), got.Memory(), runtime.NumCPU())
	}
}
