package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times.
const clockTicks = 100

// counters is what the breakdown reads before and after a burst.
type counters struct {
	at time.Time
	// writes are the apiserver's mutating requests by resource
	// (resource/subresource verb); watchEvents the events it sent to
	// watchers, by resource.
	writes, watchEvents map[string]float64
	// events is how many Events exist in the cluster.
	events int
	// busy is the machine's non-idle CPU time; fargo that of `fargo up`
	// and its children still running (kube-proxy).
	busy, fargo time.Duration
}

func snapshotCounters(ctx context.Context, b *testing.B, cs kubernetes.Interface, pid int) counters {
	c := counters{at: time.Now(), writes: map[string]float64{}, watchEvents: map[string]float64{}}
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		b.Fatalf("apiserver metrics: %v", err)
	}
	for _, m := range parseMetrics(raw) {
		switch m.name {
		case "apiserver_request_total":
			verb := m.labels["verb"]
			if verb == "POST" || verb == "PUT" || verb == "PATCH" || verb == "DELETE" || verb == "APPLY" {
				key := m.labels["resource"]
				if sub := m.labels["subresource"]; sub != "" {
					key += "/" + sub
				}
				c.writes[key+" "+verb] += m.value
			}
		case "apiserver_watch_events_total":
			key := m.labels["resource"]
			if key == "" {
				key = m.labels["kind"]
			}
			c.watchEvents[key] += m.value
		}
	}
	evs, err := cs.CoreV1().Events("").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		b.Fatal(err)
	}
	c.events = len(evs.Items)
	c.busy = machineBusy(b)
	for _, p := range append([]int{pid}, childPids(pid)...) {
		if st, err := readProcStat(fmt.Sprintf("/proc/%d/stat", p)); err == nil {
			c.fargo += st.cpu
		}
	}
	return c
}

// logBurstCosts writes, per pod of the burst, what the apiserver, the
// machine and fargo spent between before and after.
func logBurstCosts(b *testing.B, before, after counters, pods int, elapsed time.Duration) {
	n := float64(pods)
	var t strings.Builder
	fmt.Fprintf(&t, "a burst of %d pods, all Ready in %.2f s; per pod:\n", pods, elapsed.Seconds())
	fmt.Fprintf(&t, "| API writes (resource verb) | per pod |\n|---|---|\n")
	writes := delta(before.writes, after.writes)
	var total float64
	for _, k := range sortedKeys(writes) {
		fmt.Fprintf(&t, "| %s | %.2f |\n", k, writes[k]/n)
		total += writes[k]
	}
	fmt.Fprintf(&t, "| all writes | %.2f |\n\n", total/n)
	b.ReportMetric(total/n, "api-writes/pod")
	fmt.Fprintf(&t, "| watch events sent (resource) | per pod |\n|---|---|\n")
	watches := delta(before.watchEvents, after.watchEvents)
	total = 0
	for _, k := range sortedKeys(watches) {
		fmt.Fprintf(&t, "| %s | %.1f |\n", k, watches[k]/n)
		total += watches[k]
	}
	fmt.Fprintf(&t, "| all watch events | %.1f |\n\n", total/n)
	b.ReportMetric(total/n, "watch-events/pod")
	events := float64(after.events-before.events) / n
	b.ReportMetric(events, "events/pod")
	busy := (after.busy - before.busy).Seconds()
	fargo := (after.fargo - before.fargo).Seconds()
	wall := after.at.Sub(before.at).Seconds()
	fmt.Fprintf(&t, "Events recorded per pod: %.2f\n\n", events)
	fmt.Fprintf(&t, "| CPU over the burst (%.2f s wall, 2 cores = %.2f CPU-s) | CPU-s | per pod, ms |\n|---|---|---|\n", wall, 2*wall)
	fmt.Fprintf(&t, "| the whole machine | %.2f | %.1f |\n", busy, 1000*busy/n)
	fmt.Fprintf(&t, "| fargo up (server, agent, kube-proxy) | %.2f | %.1f |\n", fargo, 1000*fargo/n)
	fmt.Fprintf(&t, "| the rest: OCI runtime, shims, kernel | %.2f | %.1f |\n", busy-fargo, 1000*(busy-fargo)/n)
	b.ReportMetric(1000*busy/n, "cpu-ms/pod")
	b.ReportMetric(1000*(busy-fargo)/n, "runtime-cpu-ms/pod")
	b.Log("\n" + t.String())
}

func delta(before, after map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if v-before[k] > 0 {
			d[k] = v - before[k]
		}
	}
	return d
}

// machineBusy is the CPU time all cores spent not idle (/proc/stat).
func machineBusy(b *testing.B) time.Duration {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var ticks int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// procStat is what the breakdown needs of /proc/PID/stat.
type procStat struct {
	pid, ppid int
	// cpu is the process's user and system time.
	cpu time.Duration
}

func readProcStat(path string) (procStat, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return procStat{}, err
	}
	// The command may hold spaces and parentheses: fields start after the
	// last ")".
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("%s: no command", path)
	}
	f := strings.Fields(string(raw[i+1:])) // state ppid ... utime(12) stime(13)
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("%s: short", path)
	}
	var st procStat
	st.pid, _ = strconv.Atoi(strings.Fields(string(raw[:i]))[0])
	st.ppid, _ = strconv.Atoi(f[1])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	st.cpu = time.Duration(utime+stime) * time.Second / clockTicks
	return st, nil
}

// metric is one sample of Prometheus's text format.
type metric struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the samples of Prometheus's text exposition format;
// comments and malformed lines are skipped.
func parseMetrics(raw []byte) []metric {
	var out []metric
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		m := metric{labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			m.name = line[:i]
			parseLabels(line[i+1:j], m.labels)
			rest = strings.TrimSpace(line[j+1:])
		} else {
			name, value, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			m.name, rest = name, value
		}
		value, _, _ := strings.Cut(rest, " ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		m.value = v
		out = append(out, m)
	}
	return out
}

// parseLabels reads `a="x",b="y"` into labels; values keep their escapes
// but for \" (none of the labels read here has any).
func parseLabels(s string, labels map[string]string) {
	for s != "" {
		name, rest, ok := strings.Cut(s, `="`)
		if !ok {
			return
		}
		end := 0
		for end < len(rest) && (rest[end] != '"' || (end > 0 && rest[end-1] == '\\')) {
			end++
		}
		labels[strings.TrimLeft(name, ",")] = strings.ReplaceAll(rest[:end], `\"`, `"`)
		if end >= len(rest) {
			return
		}
		s = strings.TrimPrefix(rest[end+1:], ",")
	}
}

// waitQuiet waits until the machine is idle (under 10% of its cores busy
// over half a second), at most a minute: the teardown of the pods before
// (the kernel frees network namespaces in a worker, after the API
// objects are gone) must not run inside a measured burst.
func waitQuiet(b *testing.B) {
	cores := time.Duration(runtime.NumCPU())
	const window = 500 * time.Millisecond
	deadline := time.Now().Add(time.Minute)
	for {
		before := machineBusy(b)
		time.Sleep(window)
		busy := machineBusy(b) - before
		if busy < window*cores/10 {
			return
		}
		if time.Now().After(deadline) {
			b.Logf("the machine is still busy (%v of CPU in %v) a minute after the last wave: measuring anyway", busy, window)
			return
		}
	}
}
