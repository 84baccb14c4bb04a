package harness

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"testing"
)

// PortForward starts `kubectl port-forward TARGET 0:PORT` in namespace ns
// and returns the local port kubectl chose and a stop function (safe to
// call twice).
func (s *Server) PortForward(t testing.TB, ns, target, port string) (string, func()) {
	t.Helper()
	cmd := exec.Command(Binary(t), "kubectl", "--kubeconfig", s.Kubeconfig, "-n", ns, "port-forward", target, "0:"+port)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	re := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> ` + port)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stdout)
			return m[1], stop
		}
	}
	stop()
	t.Fatalf("kubectl port-forward %s printed no forwarding line", target)
	return "", nil
}
