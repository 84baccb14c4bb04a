package host

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestValidate(t *testing.T) {
	valid := func() Config {
		c := Default()
		c.Server, c.Token, c.Name, c.PodCIDRs = "https://10.0.0.5:6443", "t", "host-a", []string{"10.42.1.0/24"}
		return c
	}
	cases := []struct {
		name    string
		change  func(*Config)
		wantErr string // empty: valid
	}{
		{"valid", func(*Config) {}, ""},
		{"http server", func(c *Config) { c.Server = "http://10.0.0.5:6443" }, "--server"},
		{"no token", func(c *Config) { c.Token = "" }, "--token"},
		{"bad name", func(c *Config) { c.Name = "Host_A" }, "--name"},
		{"no pod cidr", func(c *Config) { c.PodCIDRs = nil }, "--pod-cidr"},
		{"public pod cidr", func(c *Config) { c.PodCIDRs = []string{"8.8.8.0/24"} }, "private"},
		{"tiny pod cidr", func(c *Config) { c.PodCIDRs = []string{"10.42.1.0/30"} }, "too small"},
		{"not a cidr", func(c *Config) { c.PodCIDRs = []string{"10.42.1.0"} }, "not a CIDR"},
		{"unknown tier", func(c *Config) { c.Tiers = []string{"docker"} }, "--tier"},
		{"microvm first, oci second", func(c *Config) { c.Tiers = []string{"microvm/qemu", "oci/runc"} }, ""},
		{"a tier twice", func(c *Config) { c.Tiers = []string{"oci/runc", "oci/runc"} }, "twice"},
		{"two OCI runtimes", func(c *Config) { c.Tiers = []string{"oci/runc", "oci/crun"} }, "twice"},
		{"no tier", func(c *Config) { c.Tiers = nil }, "--tier"},
		{"bad address", func(c *Config) { c.Address = "host-a" }, "--address"},
		{"negative image cache age", func(c *Config) { c.ImageCacheMaxUnused = -time.Hour }, "--image-cache-max-unused"},
		{"image cache limits off", func(c *Config) { c.ImageCacheMaxSize, c.ImageCacheMaxUnused = resource.Quantity{}, 0 }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := valid()
			c.change(&cfg)
			err := cfg.Validate()
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one naming %q", err, c.wantErr)
			}
		})
	}
}

func TestDefaultOCITierIsCrunWhereInstalled(t *testing.T) {
	installed := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			if slices.Contains(names, name) {
				return "/usr/bin/" + name, nil
			}
			return "", exec.ErrNotFound
		}
	}
	for _, c := range []struct {
		installed []string
		want      string
	}{
		{[]string{"runc", "crun"}, "oci/crun"},
		{[]string{"crun"}, "oci/crun"},
		{[]string{"runc"}, "oci/runc"},
		// Nothing installed: runc's tier, whose check then names the package.
		{nil, "oci/runc"},
	} {
		if got := DefaultOCITier(installed(c.installed...)); got != c.want {
			t.Errorf("with %v installed: default tier %s, want %s", c.installed, got, c.want)
		}
	}
}
