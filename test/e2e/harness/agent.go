package harness

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// NewAgent prepares `fargo agent` joining srv with srv's join token, as a
// host called name. netns, when not empty, is the network namespace it
// runs in; server is the URL it reaches srv at from there.
func NewAgent(t testing.TB, srv *Server, netns, server, name, dataDir string, extra ...string) *Server {
	t.Helper()
	args := []string{"agent", "--server", server, "--token-file", srv.DataDir + "/token",
		"--name", name, "--data-dir", dataDir}
	a := &Server{DataDir: dataDir, Kubeconfig: srv.Kubeconfig, ReadyLine: "joined"}
	if netns != "" {
		// nsenter, not `ip netns exec`: that also remounts /sys for the
		// namespace, which hides the cgroup hierarchies a host needs.
		// The namespace's removal takes its pod network with it.
		a.Wrapper = []string{"nsenter", "--net=/var/run/netns/" + netns, "--"}
	} else {
		args = a.ownBridge(t, args, extra)
	}
	a.Args = append(args, extra...)
	return a
}

// Pause stops the process without ending it (SIGSTOP), as a host that
// hangs would: it holds its state but sends no heartbeat. Resume undoes it.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

// Resume continues a paused process.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// Kill ends the process and its group with SIGKILL, like a crash.
func (s *Server) Kill() { s.kill() }

// Netns is a network namespace standing for another machine, joined to
// this one by a veth pair: HostIP is this machine's end, IP the other's.
type Netns struct {
	Name, HostIP, IP string
}

// NewNetns creates network namespace name with a veth pair on the /30
// 10.201.N.0 (HostIP .1 here, IP .2 inside) and loopback up; cleanup
// deletes both.
func NewNetns(t testing.TB, name string, n int) *Netns {
	t.Helper()
	RequireRoot(t)
	ns := &Netns{Name: name, HostIP: fmt.Sprintf("10.201.%d.1", n), IP: fmt.Sprintf("10.201.%d.2", n)}
	hostEnd, nsEnd := fmt.Sprintf("fgv%dh", n), fmt.Sprintf("fgv%dn", n)
	run(t, "ip", "netns", "del", name) // left over from a killed run
	steps := [][]string{
		{"ip", "netns", "add", name},
		{"ip", "link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd},
		{"ip", "link", "set", nsEnd, "netns", name},
		{"ip", "addr", "add", ns.HostIP + "/30", "dev", hostEnd},
		{"ip", "link", "set", hostEnd, "up"},
		{"ip", "-n", name, "addr", "add", ns.IP + "/30", "dev", nsEnd},
		{"ip", "-n", name, "link", "set", nsEnd, "up"},
		{"ip", "-n", name, "link", "set", "lo", "up"},
	}
	t.Cleanup(func() {
		run(t, "ip", "link", "del", hostEnd)
		run(t, "ip", "netns", "del", name)
	})
	for _, step := range steps {
		if out, err := run(t, step...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(step, " "), err, out)
		}
	}
	return ns
}

func run(t testing.TB, argv ...string) (string, error) {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}
