package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fargo-dev/fargo/internal/image/registry"
)

// PullerConfig says where a Puller keeps images and where it looks for them.
type PullerConfig struct {
	Store *Store
	// Mirrors maps a registry host to a mirror base URL, tried first:
	// "docker.io" -> "http://127.0.0.1:5001".
	Mirrors map[string]string
	// LocalRegistry is fargo's own registry ("127.0.0.1:5000") or "";
	// tried after the mirrors when it holds the repository.
	LocalRegistry string
}

// Puller resolves references and brings images into its Store.
type Puller struct {
	store    *Store
	mirrors  map[string]*url.URL
	local    string
	platform v1.Platform
}

// NewPuller returns a Puller for this machine's platform (linux/GOARCH).
func NewPuller(cfg PullerConfig) *Puller {
	return &Puller{
		store:    cfg.Store,
		mirrors:  parsedMirrors(cfg.Mirrors),
		local:    cfg.LocalRegistry,
		platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
	}
}

// Pull resolves ref against a registry, as imagePullPolicy Always asks,
// and fetches the layers this host does not have yet. auth gives
// credentials per registry (see Keychain); nil means anonymous. Errors
// read as an ErrImagePull event should.
func (p *Puller) Pull(ctx context.Context, ref string, auth authn.Keychain) (*Image, error) {
	r, err := parseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("failed to pull and unpack image %q: %v", ref, err)
	}
	if auth == nil {
		auth = authn.NewMultiKeychain()
	}
	img, err := p.pull(ctx, r, auth)
	if err != nil {
		return nil, fmt.Errorf("failed to pull and unpack image %q: %w", registry.Name(r), err)
	}
	return img, nil
}

func (p *Puller) pull(ctx context.Context, ref name.Reference, auth authn.Keychain) (*Image, error) {
	desc, src, err := p.resolve(ctx, ref, auth)
	if err != nil {
		return nil, err
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("%s has no image for %s/%s: %w", src, p.platform.OS, p.platform.Architecture, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("manifest from %s: %w", src, err)
	}
	cfg, err := p.config(img, m.Config.Digest)
	if err != nil {
		return nil, fmt.Errorf("image config from %s: %w", src, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image from %s is malformed: %d layers but %d diff IDs in its config", src, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	if err := p.fetchLayers(ctx, src, m.Layers, cfg.RootFS.DiffIDs); err != nil {
		return nil, fmt.Errorf("from %s: %w", src, err)
	}
	rec := record{
		Name: registry.Name(ref), Digest: desc.Digest.String(), ID: m.Config.Digest.String(),
		DiffIDs: cfg.RootFS.DiffIDs, Config: configOf(cfg),
	}
	byDigest := registry.RepositoryName(ref) + "@" + rec.Digest
	if err := p.store.save(rec, rec.Name, byDigest); err != nil {
		return nil, fmt.Errorf("cannot record the image on this host: %w", err)
	}
	return p.store.image(rec)
}

// resolve finds ref's manifest at the first source that has it. Mirrors
// and the local registry are optional: any failure there moves on, and
// the image's own registry decides the outcome.
func (p *Puller) resolve(ctx context.Context, ref name.Reference, auth authn.Keychain) (*remote.Descriptor, source, error) {
	sources, err := p.sources(ref, auth)
	if err != nil {
		return nil, source{}, err
	}
	var skipped []error
	for i, src := range sources {
		desc, err := remote.Get(src.ref, p.options(ctx, src.auth)...)
		if err == nil {
			return desc, src, nil
		}
		if i == len(sources)-1 {
			return nil, src, resolveError(ref, src, err, skipped)
		}
		if src.kind == "mirror" {
			skipped = append(skipped, fmt.Errorf("%s: %s", src, reason(err)))
		}
	}
	panic("unreachable: the image's own registry is always a source")
}

func (p *Puller) options(ctx context.Context, auth authn.Keychain) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(auth),
		remote.WithPlatform(p.platform),
		remote.WithUserAgent("fargo"),
	}
}

// config reads the image config from this host when a pull already
// stored it, else from the registry, keeping a copy.
func (p *Puller) config(img v1.Image, digest v1.Hash) (*v1.ConfigFile, error) {
	raw, err := os.ReadFile(p.store.blobPath(digest))
	if err != nil {
		if raw, err = img.RawConfigFile(); err != nil {
			return nil, err
		}
		if err := p.store.writeAtomic(p.store.blobPath(digest), raw); err != nil {
			return nil, err
		}
	}
	return v1.ParseConfigFile(bytes.NewReader(raw))
}

// fetchLayers brings in the layers this host lacks, in parallel. A layer
// download is shared with other pulls, so it does not end with this
// pull's ctx (ensureLayer stops only the waiting).
func (p *Puller) fetchLayers(ctx context.Context, src source, layers []v1.Descriptor, diffIDs []v1.Hash) error {
	opts := p.options(context.WithoutCancel(ctx), src.auth)
	errs := make([]error, len(layers))
	var wg sync.WaitGroup
	for i := range layers {
		wg.Go(func() {
			open := func() (io.ReadCloser, error) {
				l, err := remote.Layer(src.ref.Context().Digest(layers[i].Digest.String()), opts...)
				if err != nil {
					return nil, err
				}
				return l.Uncompressed()
			}
			if _, err := p.store.ensureLayer(ctx, diffIDs[i], open); err != nil {
				errs[i] = fmt.Errorf("layer %s: %w", layers[i].Digest, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func configOf(cf *v1.ConfigFile) Config {
	c := cf.Config
	return Config{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User}
}
