// Package harness starts real `fargo` processes for end-to-end tests and
// gives tests clients for them. It runs the binary a user runs: $FARGO_BIN
// (set by `make test`), or one it builds from this module once per test
// binary when that is unset.
package harness

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// Binary returns the path of the fargo binary under test.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("FARGO_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fargo-bin")
		if err != nil {
			buildErr = err
			return
		}
		// Readable by all: some tests run it as an unprivileged user.
		os.Chmod(dir, 0o755)
		built = filepath.Join(dir, "fargo")
		out, err := exec.Command("go", "build", "-o", built, "github.com/fargo-dev/fargo/cmd/fargo").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		// fargo finds fargo-shim and fargo-init (the microvm tier's guest)
		// beside it.
		for _, bin := range []string{"fargo-shim", "fargo-init"} {
			b := exec.Command("go", "build", "-o", filepath.Join(dir, bin), "github.com/fargo-dev/fargo/cmd/"+bin)
			b.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := b.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", bin, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("building fargo (set FARGO_BIN to skip this): %v", buildErr)
	}
	return built
}

// RequireRoot skips, saying why, when the test needs root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (CI runs as root)")
	}
}

// FreePort returns a TCP port that was free on loopback a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.handed == nil {
		ports.handed = map[int]bool{}
		ports.next = freePortLow + rand.IntN(freePortHigh-freePortLow)
	}
	for range freePortHigh - freePortLow {
		port := ports.next
		ports.next++
		if ports.next >= freePortHigh {
			ports.next = freePortLow
		}
		if ports.handed[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		ports.handed[port] = true
		return port
	}
	t.Fatalf("no free TCP port on loopback between %d and %d", freePortLow, freePortHigh)
	return 0
}

// FreePort's ports are below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range, 32768 and up by default), from which
// outgoing connections take their local ports: one made between
// FreePort and the bind it is for (a port-forward's, an agent's) must
// not take the port. Each is handed out once per test process.
const freePortLow, freePortHigh = 20000, 32768

var ports struct {
	mu     sync.Mutex
	next   int
	handed map[int]bool
}

// FreeUDPPort returns a port that was free for both TCP and UDP on
// loopback a moment ago (cluster DNS serves both).
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	for range 20 {
		port := FreePort(t)
		if pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

// Server is a `fargo server` (or `fargo up`) process.
type Server struct {
	DataDir string
	Port    int
	// DNSPort is where its cluster DNS answers, on loopback too.
	DNSPort    int
	Kubeconfig string
	Args       []string
	// ReadyLine is the output that says the process is up; Wrapper, when
	// set, runs the binary (like ip netns exec NAME).
	ReadyLine string
	Wrapper   []string
	// Env is added to the process's environment (KEY=VALUE).
	Env []string
	// PodCIDR is the pod range of a host in this network namespace.
	PodCIDR string

	cmd     *exec.Cmd
	output  *syncBuffer
	exited  chan struct{}
	started time.Time
}

// NewServer prepares a server on dataDir with free ports; Start runs it.
func NewServer(t testing.TB, verb, dataDir string, extra ...string) *Server {
	t.Helper()
	port, dnsPort := FreePort(t), FreeUDPPort(t)
	args := []string{verb, "--data-dir", dataDir,
		"--bind-address", "127.0.0.1", "--advertise-address", advertiseIP(t),
		"--https-listen-port", strconv.Itoa(port),
		"--etcd-client-port", strconv.Itoa(FreePort(t)),
		"--etcd-peer-port", strconv.Itoa(FreePort(t)),
		"--webhook-port", strconv.Itoa(FreePort(t)),
		"--metrics-port", strconv.Itoa(FreePort(t)),
		"--dns-port", strconv.Itoa(dnsPort),
		"--dns-health-port", strconv.Itoa(FreePort(t)),
		"--dns-ready-port", strconv.Itoa(FreePort(t)),
	}
	s := &Server{DataDir: dataDir, Port: port, DNSPort: dnsPort, Kubeconfig: filepath.Join(dataDir, "admin.kubeconfig"), ReadyLine: "fargo is ready"}
	if verb == "up" {
		// The local registry's default port may be taken by the user's
		// own cluster; tests import images through the data dir.
		args = append(args, "--registry-address", "127.0.0.1:0")
		args = s.ownBridge(t, args, extra)
	}
	s.Args = append(args, extra...)
	return s
}

// ownBridge gives a host in this network namespace a bridge of its own,
// so that tests never touch the user's fargo0, and a pod range nothing on
// this machine uses (fargo's default when it is free), unless extra has
// its own --pod-cidr.
func (s *Server) ownBridge(t testing.TB, args, extra []string) []string {
	bridge := fmt.Sprintf("fgt%05x", rand.IntN(1<<20))
	for i, a := range extra {
		if a == "--pod-cidr" && i+1 < len(extra) {
			s.PodCIDR = extra[i+1]
		}
	}
	if s.PodCIDR == "" {
		s.PodCIDR = FreePodCIDR(t)
		args = append(args, "--pod-cidr", s.PodCIDR)
	}
	// Its kubelet API port too: the user's own fargo may hold 10250.
	return append(args, "--bridge", bridge, "--kubelet-port", strconv.Itoa(FreePort(t)))
}

// Start runs the server and waits until it says it is ready; the test's
// cleanup kills it if the test did not Stop it.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	// Registered first: a start that fails halfway has made a bridge too.
	t.Cleanup(func() {
		s.kill()
		s.sweep(t)
	})
	s.StartShared(t)
}

// StartShared is Start for a server that outlives the test starting it; its
// owner ends it with Shutdown.
func (s *Server) StartShared(t testing.TB) {
	t.Helper()
	s.output = &syncBuffer{}
	s.exited = make(chan struct{})
	argv := append(append(slices.Clone(s.Wrapper), Binary(t)), s.Args...)
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	if len(s.Env) > 0 {
		s.cmd.Env = append(os.Environ(), s.Env...)
	}
	// Its own process group, so Stop can prove nothing of it is left.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	deadline := time.After(3 * time.Minute)
	for !strings.Contains(s.output.String(), s.ReadyLine) {
		select {
		case <-s.exited:
			t.Fatalf("fargo %s exited before it was ready: %v\n%s", s.Args[0], s.cmd.ProcessState, s.output)
		case <-deadline:
			s.kill()
			t.Fatalf("fargo %s not ready after 3 minutes:\n%s", s.Args[0], s.output)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Since is how long after the process started text appeared in its output,
// or -1 if it has not.
func (s *Server) Since(text string) time.Duration {
	at := s.output.firstSeen(text)
	if at.IsZero() {
		return -1
	}
	return at.Sub(s.started)
}

// Output is what the server printed so far.
func (s *Server) Output() string { return s.output.String() }

// Stop sends SIGTERM and fails the test unless the server exits cleanly
// within a minute and leaves no process of its group behind.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		t.Fatalf("fargo did not stop within a minute of SIGTERM:\n%s", s.output)
	}
	if !s.cmd.ProcessState.Success() {
		t.Fatalf("fargo exited with %v after SIGTERM:\n%s", s.cmd.ProcessState, s.output)
	}
	// A child's own children (kube-proxy runs nft) may take a moment to
	// finish after fargo returned; the group must empty on its own.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-s.cmd.Process.Pid, 0) != syscall.ESRCH {
		if time.Now().After(deadline) {
			out, _ := exec.Command("ps", "-e", "-o", "pid,pgid,stat,args").CombinedOutput()
			t.Fatalf("processes of fargo's group %d are still running 5 s after it exited:\n%s", s.cmd.Process.Pid, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Running tells whether the process is still there.
func (s *Server) Running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return s.cmd != nil
	}
}

// Shutdown stops a shared server outside any test: SIGTERM, then SIGKILL
// to its whole group after a minute.
func (s *Server) Shutdown() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
	}
	s.kill()
}

func (s *Server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// RESTConfig is the admin client configuration.
func (s *Server) RESTConfig(t testing.TB) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// client-go's default of 5 requests a second would hide what the
	// server does behind the client's own rate limiter.
	cfg.QPS, cfg.Burst = 1000, 1000
	return cfg
}

// Client is an admin clientset.
func (s *Server) Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	return kubernetes.NewForConfigOrDie(s.RESTConfig(t))
}

// Kubectl runs `fargo kubectl --kubeconfig <admin> args...`.
func (s *Server) Kubectl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Binary(t), append([]string{"kubectl", "--kubeconfig", s.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// KubectlStdin is Kubectl with stdin, for `apply -f -`.
func (s *Server) KubectlStdin(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Binary(t), append([]string{"kubectl", "--kubeconfig", s.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// advertiseIP is a non-loopback address of this machine for the kubernetes
// Service; tests never send traffic to it.
func advertiseIP(t testing.TB) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP.String()
		}
	}
	t.Fatal("no non-loopback IPv4 address on this machine for --advertise-address")
	return ""
}

// syncBuffer collects a process's output and when each piece arrived, so
// benchmarks can time start stages from the lines the server prints.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes []timedWrite
}

type timedWrite struct {
	end int // offset just past this write
	at  time.Time
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	b.writes = append(b.writes, timedWrite{end: b.buf.Len(), at: time.Now()})
	return n, err
}

// firstSeen is when text was first complete in the output (zero if never).
func (b *syncBuffer) firstSeen(text string) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := strings.Index(b.buf.String(), text)
	if i < 0 {
		return time.Time{}
	}
	for _, w := range b.writes {
		if w.end >= i+len(text) {
			return w.at
		}
	}
	return time.Time{}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
