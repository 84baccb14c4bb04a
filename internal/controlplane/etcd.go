package controlplane

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// clusterIDKey is where a fargo cluster writes its identity into etcd, so
// that a data dir pointed at another cluster's etcd is refused before the
// apiserver serves objects signed by a different CA.
const clusterIDKey = "/fargo/cluster-id"

// datastore is the etcd the apiserver talks to: embedded or external.
type datastore struct {
	endpoints []string
	tls       transport.TLSInfo
	embedded  *embed.Etcd
}

// startDatastore starts the embedded etcd, or checks that the external one
// answers, and returns how the apiserver reaches it.
func startDatastore(ctx context.Context, l Layout, c *Config, s *certs, logFile string) (*datastore, error) {
	if !c.embeddedEtcd() {
		d := &datastore{endpoints: c.DatastoreEndpoints, tls: transport.TLSInfo{
			TrustedCAFile: c.DatastoreCAFile, CertFile: c.DatastoreCertFile, KeyFile: c.DatastoreKeyFile}}
		return d, d.ping(ctx)
	}
	client := url.URL{Scheme: "https", Host: "127.0.0.1:" + strconv.Itoa(c.EtcdClientPort)}
	peer := url.URL{Scheme: "https", Host: "127.0.0.1:" + strconv.Itoa(c.EtcdPeerPort)}
	cfg := embed.NewConfig()
	cfg.Name = "fargo"
	cfg.Dir = l.Etcd()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = "fargo=" + peer.String()
	cfg.ClientTLSInfo = transport.TLSInfo{CertFile: s.etcdServer.CertFile, KeyFile: s.etcdServer.KeyFile,
		TrustedCAFile: s.etcdCA.CertFile, ClientCertAuth: true}
	cfg.PeerTLSInfo = transport.TLSInfo{CertFile: s.etcdPeer.CertFile, KeyFile: s.etcdPeer.KeyFile,
		TrustedCAFile: s.etcdCA.CertFile, ClientCertAuth: true}
	cfg.Logger, cfg.LogOutputs, cfg.LogLevel = "zap", []string{logFile}, "warn"
	// The apiserver compacts etcd itself every five minutes; the embedded
	// server only needs the backend quota that kubeadm clusters use.
	cfg.QuotaBackendBytes = 2 << 30
	// One member, on loopback: it elects itself after one election
	// timeout, which etcd's default of 1 s (for members across a
	// network) made part of every start.
	cfg.TickMs, cfg.ElectionMs = 10, 100

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: %w (details in %s)", err, logFile)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd: %w (details in %s)", err, logFile)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &datastore{endpoints: []string{client.String()}, embedded: e,
		tls: transport.TLSInfo{TrustedCAFile: s.etcdCA.CertFile, CertFile: s.etcdClient.CertFile, KeyFile: s.etcdClient.KeyFile}}, nil
}

// Close stops the embedded etcd; an external one is left running.
func (d *datastore) Close() {
	if d.embedded != nil {
		d.embedded.Close()
	}
}

func (d *datastore) client() (*clientv3.Client, error) {
	cfg := clientv3.Config{Endpoints: d.endpoints, DialTimeout: 5 * time.Second}
	if d.tls.TrustedCAFile != "" || d.tls.CertFile != "" {
		tlsCfg, err := d.tls.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd TLS files: %w: check --datastore-cafile, --datastore-certfile and --datastore-keyfile", err)
		}
		cfg.TLS = tlsCfg
	}
	return clientv3.New(cfg)
}

func (d *datastore) ping(ctx context.Context) error {
	cli, err := d.client()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Get(ctx, clusterIDKey); err != nil {
		return fmt.Errorf("cannot reach etcd at %s (%v): check --datastore-endpoint and the --datastore-cafile/--datastore-certfile/--datastore-keyfile flags",
			strings.Join(d.endpoints, ","), err)
	}
	return nil
}

// claim writes clusterID into etcd on first use and refuses an etcd that
// already belongs to another cluster.
func (d *datastore) claim(ctx context.Context, clusterID, dataDir string) error {
	cli, err := d.client()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(clusterIDKey), "=", 0)).
		Then(clientv3.OpPut(clusterIDKey, clusterID)).
		Else(clientv3.OpGet(clusterIDKey)).
		Commit()
	if err != nil {
		return fmt.Errorf("etcd at %s: %w", strings.Join(d.endpoints, ","), err)
	}
	if resp.Succeeded {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 1 && string(kvs[0].Value) != clusterID {
		return fmt.Errorf("etcd at %s belongs to fargo cluster %s, but data dir %s belongs to cluster %s: use that cluster's data dir, or an empty etcd",
			strings.Join(d.endpoints, ","), kvs[0].Value, dataDir, clusterID)
	}
	return nil
}
