// Package pki creates and reuses fargo's certificate authorities and the
// certificates they sign. Everything lives as PEM files in one directory so a
// restart on the same data dir keeps the cluster's identity; a leaf whose
// names no longer cover what the caller needs, that is near expiry, or that
// another CA signed is issued again, while a CA is never replaced.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// renewBefore is how close to expiry a leaf may get before a start
	// issues it again, so a cluster restarted now and then never expires.
	renewBefore = 30 * 24 * time.Hour
)

// Authority is a certificate authority kept as <name>.crt and <name>.key.
type Authority struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CertFile string
	KeyFile  string
}

// Usage says what a leaf certificate is for.
type Usage int

const (
	ClientAuth Usage = 1 << iota
	ServerAuth
)

// Leaf describes a certificate to be signed by an Authority.
type Leaf struct {
	// Name is the file stem: <dir>/<Name>.crt and <dir>/<Name>.key.
	Name         string
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	Usage        Usage
}

// Pair is where a signed certificate and its key were written.
type Pair struct {
	CertFile string
	KeyFile  string
}

// Read returns the PEM contents of the pair, for kubeconfigs that embed
// their credentials.
func (p Pair) Read() (cert, key []byte, err error) {
	if cert, err = os.ReadFile(p.CertFile); err != nil {
		return nil, nil, err
	}
	if key, err = os.ReadFile(p.KeyFile); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// LoadOrCreateCA returns the CA stored as <dir>/<name>.crt/.key, creating it
// when neither file exists. A lone certificate or key is an error rather than
// a reason to start over: replacing a CA would lock out every client.
func LoadOrCreateCA(dir, name, commonName string) (*Authority, error) {
	a := &Authority{
		CertFile: filepath.Join(dir, name+".crt"),
		KeyFile:  filepath.Join(dir, name+".key"),
	}
	certExists, keyExists := exists(a.CertFile), exists(a.KeyFile)
	switch {
	case certExists && keyExists:
		return a, a.load()
	case certExists || keyExists:
		return nil, fmt.Errorf("CA %s is incomplete (one of %s, %s is missing): restore both files from a backup, or start a new cluster with an empty data dir", name, a.CertFile, a.KeyFile)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"fargo"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	// Key first: a crash between the two writes leaves a key without a
	// certificate, which the next start reports instead of silently reusing.
	if err := writeKey(a.KeyFile, key); err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(a.CertFile, pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return nil, err
	}
	return a, a.load()
}

func (a *Authority) load() error {
	cert, err := readCert(a.CertFile)
	if err != nil {
		return err
	}
	key, err := readKey(a.KeyFile)
	if err != nil {
		return err
	}
	a.Cert, a.Key = cert, key
	return nil
}

// CertPEM returns the CA certificate in PEM form, for kubeconfigs and bundles.
func (a *Authority) CertPEM() []byte { return pemBlock("CERTIFICATE", a.Cert.Raw) }

// Ensure returns the leaf at <dir>/<l.Name>.crt/.key, issuing it when it is
// missing, unreadable, signed by another CA, close to expiry, or lacks a
// name or address that l asks for. The key is kept when it is still good.
func (a *Authority) Ensure(dir string, l Leaf) (Pair, error) {
	p := Pair{CertFile: filepath.Join(dir, l.Name+".crt"), KeyFile: filepath.Join(dir, l.Name+".key")}
	if cert, err := readCert(p.CertFile); err == nil && a.covers(cert, l) {
		if _, err := readKey(p.KeyFile); err == nil {
			return p, nil
		}
	}
	return p, a.issue(p, l)
}

func (a *Authority) covers(cert *x509.Certificate, l Leaf) bool {
	if cert.CheckSignatureFrom(a.Cert) != nil || time.Until(cert.NotAfter) < renewBefore {
		return false
	}
	if cert.Subject.CommonName != l.CommonName || !slices.Equal(cert.Subject.Organization, l.Organization) {
		return false
	}
	for _, name := range l.DNSNames {
		if !slices.Contains(cert.DNSNames, name) {
			return false
		}
	}
	for _, ip := range l.IPs {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func (a *Authority) issue(p Pair, l Leaf) error {
	key, err := readKey(p.KeyFile)
	if err != nil {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return err
		}
		if err := writeKey(p.KeyFile, key); err != nil {
			return err
		}
	}
	der, err := a.Sign(key.Public(), l, leafValidity)
	if err != nil {
		return err
	}
	return WriteFileAtomic(p.CertFile, pemBlock("CERTIFICATE", der), 0o644)
}

// Sign issues a DER certificate for pub as described by l.
func (a *Authority) Sign(pub crypto.PublicKey, l Leaf, validity time.Duration) ([]byte, error) {
	var usage []x509.ExtKeyUsage
	if l.Usage&ClientAuth != 0 {
		usage = append(usage, x509.ExtKeyUsageClientAuth)
	}
	if l.Usage&ServerAuth != 0 {
		usage = append(usage, x509.ExtKeyUsageServerAuth)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: l.Organization},
		DNSNames:     l.DNSNames,
		IPAddresses:  l.IPs,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usage,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, a.Cert, pub, a.Key)
}

// LoadOrCreateSigningKey returns the key at path (for service-account token
// signing), creating it once, and writes its public half beside it as pubPath.
func LoadOrCreateSigningKey(path, pubPath string) error {
	key, err := readKey(path)
	if err != nil {
		if exists(path) {
			return fmt.Errorf("signing key %s is unreadable (%v): restore it from a backup; a new key would invalidate every service account token", path, err)
		}
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return err
		}
		if err := writeKey(path, key); err != nil {
			return err
		}
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	want := pemBlock("PUBLIC KEY", der)
	if have, err := os.ReadFile(pubPath); err == nil && bytes.Equal(have, want) {
		return nil
	}
	return WriteFileAtomic(pubPath, want, 0o644)
}

// WriteFileAtomic writes data to path through a temporary file and a rename,
// so an interrupted start never leaves a half-written file behind.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, pemBlock("PRIVATE KEY", der), 0o600)
}

func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM data", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key cannot sign", path)
	}
	return signer, nil
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return n
}
