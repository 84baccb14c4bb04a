// Package vltest runs VictoriaLogs for the tests of fargo's es and loki
// outputs: a real receiver with an Elasticsearch _bulk endpoint and a
// Loki push endpoint, and a LogsQL query API to read back what arrived.
// hack/install-victorialogs.sh installs the binary; tests skip without
// it.
package vltest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Server is a running victoria-logs.
type Server struct {
	// URL is its base, http://127.0.0.1:<port>.
	URL string
}

// binary is where hack/install-victorialogs.sh puts victoria-logs.
func binary() string {
	dir := os.Getenv("FARGO_TOOLS_BIN")
	if dir == "" {
		dir = "/var/cache/fargo/bin"
	}
	return filepath.Join(dir, "victoria-logs")
}

// Start runs victoria-logs on a free loopback port with its data in a
// temporary directory, stopped when the test ends. It skips the test
// when the binary is not installed.
func Start(t *testing.T) *Server {
	t.Helper()
	bin := binary()
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("victoria-logs is not installed at %s: run hack/install-victorialogs.sh", bin)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin,
		"-httpListenAddr="+addr,
		"-storageDataPath="+t.TempDir(),
		"-retentionPeriod=100y",
		"-loggerLevel=ERROR",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting victoria-logs: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	s := &Server{URL: "http://" + addr}
	s.waitReady(t)
	return s
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (s *Server) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("victoria-logs at %s not ready after 60s: %v", s.URL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Query runs a LogsQL query over all time and returns the rows, each a
// map of field to value.
func (s *Server) Query(t *testing.T, logsql string, header http.Header) []map[string]string {
	t.Helper()
	// Make what was ingested searchable now rather than after a second.
	if resp, err := http.Get(s.URL + "/internal/force_flush"); err == nil {
		resp.Body.Close()
	}
	req, err := http.NewRequest(http.MethodPost, s.URL+"/select/logsql/query", strings.NewReader(url.Values{"query": {logsql}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("query %q: %v", logsql, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query %q: status %d", logsql, resp.StatusCode)
	}
	var rows []map[string]string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		row := map[string]string{}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("query %q: row %q: %v", logsql, sc.Text(), err)
		}
		rows = append(rows, row)
	}
	return rows
}

// WaitRows polls the query until it returns want rows (failing at once
// if it returns more), then returns them. The deadline is generous: a
// loaded machine may take a while to make new data searchable.
func (s *Server) WaitRows(t *testing.T, logsql string, header http.Header, want int) []map[string]string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows := s.Query(t, logsql, header)
		if len(rows) > want {
			t.Fatalf("query %q: %d rows, want %d: %v", logsql, len(rows), want, rows)
		}
		if len(rows) == want {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %q: %d rows after 60s, want %d: %v", logsql, len(rows), want, rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// String describes the server for messages.
func (s *Server) String() string { return fmt.Sprintf("victoria-logs at %s", s.URL) }
