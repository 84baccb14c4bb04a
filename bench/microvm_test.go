package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// microVMPods is how many pods each microVM measure starts.
const microVMPods = 10

// BenchmarkMicroVMPodStart measures pod start in the microvm tier, with
// the OCI tier in the same cluster and run for comparison: create to
// Ready of 10 sequential pods in each, the microVM's share of it (VM
// boot to fargo-init's hello, then the guest's set-up), QEMU's memory
// beyond what the guest uses, and a burst of 10 microVM pods.
func BenchmarkMicroVMPodStart(b *testing.B) {
	srv, cs := podStartCluster(b, "--tier", "microvm/qemu", "--tier", "oci/runc")
	ctx := context.Background()
	vmDir := filepath.Join(srv.DataDir, "agent", "microvm", "pods")
	for b.Loop() {
		var vm, oci, hello, setup []time.Duration
		for i := range microVMPods {
			vm = append(vm, startInTier(ctx, b, cs, fmt.Sprintf("vm-%d", i), "fargo-microvm"))
			h, s := bootSplit(b, cs, vmDir, fmt.Sprintf("vm-%d", i))
			hello, setup = append(hello, h), append(setup, s)
			oci = append(oci, startInTier(ctx, b, cs, fmt.Sprintf("oci-%d", i), "fargo-oci"))
		}
		b.ReportMetric(ms(percentile(vm, 50)), "microvm-ready-p50-ms")
		b.ReportMetric(ms(percentile(vm, 99)), "microvm-ready-max-ms")
		b.ReportMetric(ms(percentile(hello, 50)), "vm-boot-p50-ms")
		b.ReportMetric(ms(percentile(setup, 50)-percentile(hello, 50)), "guest-setup-p50-ms")
		b.ReportMetric(ms(percentile(oci, 50)), "oci-ready-p50-ms")
		b.ReportMetric(qemuIdleMillicores(10*time.Second), "vmm-idle-millicores")
		m := qemuMemoryMiB()
		b.ReportMetric(m.overheadPss/float64(max(m.n, 1)), "vmm-overhead-pss-MiB")
		b.ReportMetric(m.overheadRss/float64(max(m.n, 1)), "vmm-overhead-rss-MiB")
		b.ReportMetric(m.guest/float64(max(m.n, 1)), "guest-resident-MiB")
		deleteAll(ctx, b, cs)

		burst := burstOf(ctx, b, cs, microVMPods, func(name string) *corev1.Pod { return tierPod(name, "fargo-microvm") })
		b.ReportMetric(burst.Seconds(), "microvm-burst-10-s")
		deleteAll(ctx, b, cs)
	}
}

func tierPod(name, class string) *corev1.Pod {
	p := idlePod(name, "busybox")
	p.Spec.RuntimeClassName = &class
	return p
}

// startInTier creates one pod of RuntimeClass class and returns how long
// until a watch sees it Ready.
func startInTier(ctx context.Context, b *testing.B, cs kubernetes.Interface, name, class string) time.Duration {
	return startPod(ctx, b, cs, tierPod(name, class))
}

// bootSplit reads what the microvm runtime noted of the pod's VM: time
// to fargo-init's hello and to the end of the guest's set-up.
func bootSplit(b *testing.B, cs kubernetes.Interface, vmDir, name string) (hello, setup time.Duration) {
	p, err := cs.CoreV1().Pods("start").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(vmDir, string(p.UID), "boot.txt"))
	if err != nil {
		b.Fatalf("pod %s has no VM boot record: %v", name, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "hello":
			hello = time.Duration(v) * time.Millisecond
		case "setup":
			setup = time.Duration(v) * time.Millisecond
		}
	}
	return hello, setup
}

// vmMemory is the QEMU processes' memory, in MiB: what is not guest RAM
// (QEMU's own: code and libraries, TCG's translation cache, device
// state), proportionally (Pss: libraries shared by all VMs counted once)
// and resident (Rss), and the guest RAM that is resident.
type vmMemory struct {
	overheadPss, overheadRss, guest float64
	n                               int
}

// qemuMemoryMiB reads every QEMU process's smaps. Guest RAM is its
// largest mapping (the -m memory).
func qemuMemoryMiB() vmMemory {
	var m vmMemory
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		comm, _ := os.ReadFile(p + "/comm")
		if !strings.HasPrefix(strings.TrimSpace(string(comm)), "qemu-system") {
			continue
		}
		s := readSmaps(p)
		m.overheadPss += float64(s.pss-s.ramPss) / 1024
		m.overheadRss += float64(s.rss-s.ramRss) / 1024
		m.guest += float64(s.ramRss) / 1024
		m.n++
	}
	return m
}

// smaps are a process's totals (KiB) and those of its largest mapping.
type smaps struct{ rss, pss, ramRss, ramPss int64 }

func readSmaps(proc string) smaps {
	var out smaps
	f, err := os.Open(proc + "/smaps")
	if err != nil {
		return out
	}
	defer f.Close()
	var largest, size, rss int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "Size:":
			size = v
		case "Rss:":
			rss = v
			out.rss += v
		case "Pss:":
			out.pss += v
			if size > largest {
				largest, out.ramRss, out.ramPss = size, rss, v
			}
		}
	}
	return out
}

// qemuIdleMillicores is the CPU the QEMU processes use per VM over d
// while their pods idle (sleep): the guest kernel's timer and QEMU's own
// housekeeping.
func qemuIdleMillicores(d time.Duration) float64 {
	cpu := func() (total float64, n int) {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		for _, p := range procs {
			comm, _ := os.ReadFile(p + "/comm")
			if strings.HasPrefix(strings.TrimSpace(string(comm)), "qemu-system") {
				total += cpuSeconds(mustAtoi(filepath.Base(p)))
				n++
			}
		}
		return total, n
	}
	before, n := cpu()
	time.Sleep(d)
	after, _ := cpu()
	return (after - before) / d.Seconds() * 1000 / float64(max(n, 1))
}

func mustAtoi(s string) int { n, _ := strconv.Atoi(s); return n }
