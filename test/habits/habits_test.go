// Package habits holds tests of the code itself rather than of what it
// does, as tailscale keeps its habits: rules every change must keep, that a
// reviewer would otherwise have to remember. Each test says the rule and
// fails naming what breaks it.
package habits

import (
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// module is the pattern of every package of fargo's module.
const module = "github.com/fargo-dev/fargo/..."

// guestCommands run inside a pod's sandbox (as its PID 1, or beside its
// processes): they must stay small and static, so no Kubernetes library
// may reach them. Names of commands not yet written are listed too, so
// that the rule holds from their first commit.
var guestCommands = []string{
	"cmd/fargo-shim",
	"cmd/fargo-init", // the microVM tier's guest init (DESIGN.md)
}

// kubernetesPrefixes are the import paths of Kubernetes' libraries.
var kubernetesPrefixes = []string{"k8s.io/", "sigs.k8s.io/"}

// listed is what the tests read of `go list -json`.
type listed struct {
	ImportPath   string
	Dir          string
	Doc          string
	TestGoFiles  []string
	XTestGoFiles []string
	Imports      []string
}

// goList runs `go list -json args...` in the module and decodes its output.
func goList(t *testing.T, args ...string) []listed {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []listed
	for dec := json.NewDecoder(strings.NewReader(string(out))); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
}

// TestEveryPackageHasADocComment: a newcomer reads what a package is for
// before its code. A package of tests only (e2e, bench) may carry its
// comment in a test file.
func TestEveryPackageHasADocComment(t *testing.T) {
	pkgs := goList(t, module)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages: the pattern is wrong", len(pkgs))
	}
	for _, p := range pkgs {
		if p.Doc == "" && !testFileHasDoc(t, p) {
			t.Errorf("package %s (%s) has no package doc comment", p.ImportPath, p.Dir)
		}
	}
}

// testFileHasDoc reports whether a test file of p has a package comment.
func testFileHasDoc(t *testing.T, p listed) bool {
	t.Helper()
	for _, name := range append(p.TestGoFiles, p.XTestGoFiles...) {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			return true
		}
	}
	return false
}

// TestGuestCommandsImportNoKubernetes: a guest command links no
// Kubernetes library, directly or through a fargo package.
func TestGuestCommandsImportNoKubernetes(t *testing.T) {
	root := moduleRoot(t)
	for _, dir := range guestCommands {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(root, dir)); errors.Is(err, os.ErrNotExist) {
				t.Skipf("%s is not written yet; the rule will hold once it is", dir)
			}
			pkgs := goList(t, "-deps", "github.com/fargo-dev/fargo/"+dir)
			for _, path := range kubernetesImports(pkgs) {
				t.Errorf("%s imports Kubernetes: %s", dir, strings.Join(path, " -> "))
			}
		})
	}
}

// kubernetesImports returns, for each Kubernetes package in pkgs (the
// output of go list -deps, whose last package is the command), one chain
// of imports that leads from the command to it.
func kubernetesImports(pkgs []listed) [][]string {
	byPath := map[string]listed{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	cmd := pkgs[len(pkgs)-1].ImportPath
	via := map[string]string{cmd: ""}
	var chains [][]string
	for queue := []string{cmd}; len(queue) > 0; queue = queue[1:] {
		for _, imp := range byPath[queue[0]].Imports {
			if _, seen := via[imp]; seen {
				continue
			}
			via[imp] = queue[0]
			if isKubernetes(imp) {
				chains = append(chains, chain(via, imp))
				continue // one chain per library is enough
			}
			queue = append(queue, imp)
		}
	}
	return chains
}

func isKubernetes(path string) bool {
	for _, prefix := range kubernetesPrefixes {
		if strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// chain is the import path from the root of via to pkg.
func chain(via map[string]string, pkg string) []string {
	var out []string
	for p := pkg; p != ""; p = via[p] {
		out = append([]string{p}, out...)
	}
	return out
}

// moduleRoot is the directory of fargo's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}
