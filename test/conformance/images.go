package conformance

import (
	"archive/tar"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/fargo-dev/fargo/internal/image/imagetest"
)

// The images the node conformance specs pull, by the names
// k8s.io/kubernetes/test/utils/image gives them at this Kubernetes version.
const (
	agnhostRef    = "registry.k8s.io/e2e-test-images/agnhost:2.63.0"
	busyboxRef    = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1"
	nginxRef      = "registry.k8s.io/e2e-test-images/nginx:1.15-4"
	nginxNewRef   = "registry.k8s.io/e2e-test-images/nginx:1.27-0"
	pauseRef      = "registry.k8s.io/pause:3.10.2"
	nonRootRef    = "registry.k8s.io/e2e-test-images/nonroot:1.5"
	nonewprivsRef = "registry.k8s.io/e2e-test-images/nonewprivs:1.4"
)

// buildImages writes stand-ins for the conformance images to a
// `docker save`-style tarball at path: Debian's busybox-static with every
// applet in /bin for busybox, nginx (busybox httpd on port 80), nonroot (USER
// 1234) and pause; upstream's agnhost and nnp binaries, built from the
// Kubernetes module, for agnhost and nonewprivs. bin holds agnhost and nnp.
func buildImages(path, bin string) error {
	base, err := busyboxLayer()
	if err != nil {
		return err
	}
	images := map[string]func() (v1.Image, error){
		busyboxRef:    func() (v1.Image, error) { return image(config{cmd: []string{"sh"}}, base) },
		agnhostRef:    func() (v1.Image, error) { return agnhostImage(base, filepath.Join(bin, "agnhost")) },
		nginxRef:      func() (v1.Image, error) { return nginxImage(base) },
		nginxNewRef:   func() (v1.Image, error) { return nginxImage(base) },
		pauseRef:      func() (v1.Image, error) { return pauseImage(base) },
		nonRootRef:    func() (v1.Image, error) { return image(config{cmd: []string{"sh"}, user: "1234"}, base) },
		nonewprivsRef: func() (v1.Image, error) { return nonewprivsImage(base, filepath.Join(bin, "nnp")) },
	}
	refs := map[name.Reference]v1.Image{}
	for ref, build := range images {
		img, err := build()
		if err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			return err
		}
		refs[r] = img
	}
	return tarball.MultiRefWriteToFile(path, refs)
}

// busyboxLayer is Debian's static busybox with every applet it has at
// the path busybox itself gives (busybox --list-full), and the /etc files
// and directories a container expects.
func busyboxLayer() (v1.Layer, error) {
	data, err := os.ReadFile(imagetest.BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("the stand-in images need %s: apt-get install busybox-static: %w", imagetest.BusyboxPath, err)
	}
	list, err := exec.Command(imagetest.BusyboxPath, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list-full: %w", err)
	}
	entries := dirs("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "etc", "proc", "sys", "root", "var", "home", "run")
	entries = append(entries,
		imagetest.Entry{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		imagetest.Entry{Name: "bin/busybox", Mode: 0o755, Content: data},
		imagetest.Entry{Name: "etc/passwd", Mode: 0o644, Content: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")},
		imagetest.Entry{Name: "etc/group", Mode: 0o644, Content: []byte("root:x:0:\nnobody:x:65534:\n")},
	)
	seen := map[string]bool{}
	for _, p := range strings.Fields(string(list)) {
		// Every applet in /bin, as upstream's busybox image has them.
		name := "bin/" + path.Base(p)
		if name == "bin/busybox" || seen[name] {
			continue
		}
		seen[name] = true
		entries = append(entries, imagetest.Entry{Name: name, Type: tar.TypeSymlink, Mode: 0o777, Linkname: "busybox"})
	}
	return imagetest.Layer(entries)
}

// bashPath is where Debian's bash-static package installs bash.
const bashPath = "/bin/bash-static"

func dirs(names ...string) []imagetest.Entry {
	out := make([]imagetest.Entry, 0, len(names))
	for _, d := range names {
		out = append(out, imagetest.Entry{Name: d + "/", Type: tar.TypeDir, Mode: 0o755})
	}
	return out
}

// config is the part of an image's configuration the stand-ins set.
type config struct {
	entrypoint, cmd []string
	user            string
	ports           []string
}

func image(c config, layers ...v1.Layer) (v1.Image, error) {
	cfg := v1.Config{Entrypoint: c.entrypoint, Cmd: c.cmd, User: c.user}
	if len(c.ports) > 0 {
		cfg.ExposedPorts = map[string]struct{}{}
		for _, p := range c.ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	return imagetest.Image(cfg, layers...)
}

// agnhostImage is upstream's agnhost image in the shape its Dockerfile
// gives: /agnhost with /agnhost-2 linking to it, /uploads, the user
// user-defined-in-image (1000) in the group group-defined-in-image (50000),
// entrypoint /agnhost and default argument pause.
func agnhostImage(base v1.Layer, agnhost string) (v1.Image, error) {
	data, err := os.ReadFile(agnhost)
	if err != nil {
		return nil, err
	}
	// agnhost's image has bash (specs run /bin/bash -c in it).
	bash, err := os.ReadFile(bashPath)
	if err != nil {
		return nil, fmt.Errorf("the agnhost stand-in needs %s: apt-get install bash-static: %w", bashPath, err)
	}
	layer, err := imagetest.Layer([]imagetest.Entry{
		{Name: "bin/bash", Mode: 0o755, Content: bash},
		{Name: "agnhost", Mode: 0o755, Content: data},
		{Name: "agnhost-2", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "agnhost"},
		{Name: "uploads/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "home/user-defined-in-image/", Type: tar.TypeDir, Mode: 0o755, UID: 1000, GID: 1000},
		{Name: "etc/passwd", Mode: 0o644, Content: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n" +
			"user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n")},
		{Name: "etc/group", Mode: 0o644, Content: []byte("root:x:0:\nnobody:x:65534:\nuser-defined-in-image:x:1000:\n" +
			"group-defined-in-image:x:50000:user-defined-in-image\n")},
	})
	if err != nil {
		return nil, err
	}
	return image(config{entrypoint: []string{"/agnhost"}, cmd: []string{"pause"}, ports: []string{"80/tcp", "8080/tcp", "8081/tcp", "9376/tcp", "5000/tcp"}}, base, layer)
}

// nginxImage serves /usr/share/nginx/html on port 80 with busybox httpd
// behind the command line nginx's image has.
func nginxImage(base v1.Layer) (v1.Image, error) {
	layer, err := imagetest.Layer(append(dirs("usr/share", "usr/share/nginx", "usr/share/nginx/html"),
		imagetest.Entry{Name: "usr/share/nginx/html/index.html", Mode: 0o644, Content: []byte("<html><body><h1>Welcome to nginx!</h1></body></html>\n")},
		imagetest.Entry{Name: "usr/sbin/nginx", Mode: 0o755, Content: []byte("#!/bin/sh\nexec httpd -f -p 80 -h /usr/share/nginx/html\n")},
	))
	if err != nil {
		return nil, err
	}
	return image(config{cmd: []string{"nginx", "-g", "daemon off;"}, ports: []string{"80/tcp"}}, base, layer)
}

// pauseImage sleeps until it is told to stop, as /pause does.
func pauseImage(base v1.Layer) (v1.Image, error) {
	layer, err := imagetest.Layer([]imagetest.Entry{
		{Name: "pause", Mode: 0o755, Content: []byte("#!/bin/sh\ntrap 'exit 0' TERM INT\nwhile :; do sleep 3600 & wait $!; done\n")},
	})
	if err != nil {
		return nil, err
	}
	return image(config{entrypoint: []string{"/pause"}}, base, layer)
}

// nonewprivsImage holds upstream's nnp, setuid root, as its Dockerfile does.
func nonewprivsImage(base v1.Layer, nnp string) (v1.Image, error) {
	data, err := os.ReadFile(nnp)
	if err != nil {
		return nil, err
	}
	layer, err := imagetest.Layer(append(dirs("usr/local", "usr/local/bin"),
		imagetest.Entry{Name: "usr/local/bin/nnp", Mode: 0o4755, Content: data}))
	if err != nil {
		return nil, err
	}
	return image(config{cmd: []string{"nnp"}}, base, layer)
}
