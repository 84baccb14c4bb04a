package pki

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readLeaf(t *testing.T, p Pair) *x509.Certificate {
	t.Helper()
	cert, err := readCert(p.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestCAIsCreatedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateCA(dir, "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(dir, "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	if !first.Cert.Equal(again.Cert) {
		t.Fatal("second LoadOrCreateCA made a new CA instead of reusing the stored one")
	}
	if info, err := os.Stat(first.KeyFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("CA key mode %v, %v; want 0600", info.Mode(), err)
	}
}

func TestIncompleteCAIsRefused(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir, "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(ca.KeyFile)
	_, err = LoadOrCreateCA(dir, "ca", "test-ca")
	if err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("CA without key: %v, want an 'incomplete' error", err)
	}
	if _, statErr := os.Stat(ca.CertFile); statErr != nil {
		t.Fatalf("the lone certificate was removed: %v", statErr)
	}
}

func TestEnsure(t *testing.T) {
	base := Leaf{Name: "server", CommonName: "server", Usage: ServerAuth, DNSNames: []string{"a"}, IPs: []net.IP{net.IPv4(10, 0, 0, 1)}}
	tests := []struct {
		name      string
		change    func(l Leaf) Leaf
		otherCA   bool
		wantReuse bool
	}{
		{name: "same request reuses the certificate", change: func(l Leaf) Leaf { return l }, wantReuse: true},
		{name: "fewer names reuses the certificate", change: func(l Leaf) Leaf { l.DNSNames = nil; return l }, wantReuse: true},
		{name: "a new DNS name reissues", change: func(l Leaf) Leaf { l.DNSNames = []string{"a", "b"}; return l }},
		{name: "a new IP reissues", change: func(l Leaf) Leaf { l.IPs = append(l.IPs, net.IPv4(10, 0, 0, 2)); return l }},
		{name: "another subject reissues", change: func(l Leaf) Leaf { l.Organization = []string{"system:masters"}; return l }},
		{name: "another CA reissues", change: func(l Leaf) Leaf { return l }, otherCA: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ca, err := LoadOrCreateCA(dir, "ca", "test-ca")
			if err != nil {
				t.Fatal(err)
			}
			first, err := ca.Ensure(dir, base)
			if err != nil {
				t.Fatal(err)
			}
			before := readLeaf(t, first)
			if tt.otherCA {
				if ca, err = LoadOrCreateCA(dir, "other-ca", "other"); err != nil {
					t.Fatal(err)
				}
			}
			want := tt.change(base)
			second, err := ca.Ensure(dir, want)
			if err != nil {
				t.Fatal(err)
			}
			after := readLeaf(t, second)
			if reused := before.Equal(after); reused != tt.wantReuse {
				t.Fatalf("certificate reused = %v, want %v", reused, tt.wantReuse)
			}
			if err := after.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("certificate not signed by the CA: %v", err)
			}
			for _, name := range want.DNSNames {
				if err := after.VerifyHostname(name); err != nil {
					t.Errorf("certificate does not cover %s: %v", name, err)
				}
			}
		})
	}
}

func TestSigningKeyIsKept(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := LoadOrCreateSigningKey(key, pub); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(key)
	os.Remove(pub)
	if err := LoadOrCreateSigningKey(key, pub); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(key)
	if string(first) != string(second) {
		t.Fatal("signing key replaced: every service account token would be invalid")
	}
	data, err := os.ReadFile(pub)
	if block, _ := pem.Decode(data); err != nil || block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("public key not rewritten: %v", err)
	}
	os.WriteFile(key, []byte("garbage"), 0o600)
	if err := LoadOrCreateSigningKey(key, pub); err == nil || !strings.Contains(err.Error(), "restore it") {
		t.Fatalf("damaged signing key: %v, want a refusal", err)
	}
}
