package buildkit

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// localStoreID names the session's OCI store that carries the engine's images.
const localStoreID = "magents-engine-images"

// localImages makes images from the engine's image store usable by a standalone BuildKit
// daemon, which cannot see that store: each image present in the engine is saved, turned
// into an OCI manifest in a content store that travels with the build session, and named
// as a build context (oci-layout://…), so FROM takes it instead of asking a registry.
// Images the engine does not have are left for the daemon to pull.
type localImages struct {
	dir      string
	store    content.Store
	contexts map[string]string // frontend attribute "context:NAME" → oci-layout://store@digest
}

func exportLocalImages(ctx context.Context, engine Engine, refs []string) (*localImages, error) {
	dir, err := os.MkdirTemp("", "docker-magents-images-")
	if err != nil {
		return nil, err
	}
	li := &localImages{dir: dir, contexts: map[string]string{}}
	for _, ref := range refs {
		if _, err := engine.ImageInspect(ctx, ref); err != nil {
			if errdefs.IsNotFound(err) {
				continue
			}
			li.Close()
			return nil, fmt.Errorf("looking up %s in the Docker Engine: %w", ref, err)
		}
		dgst, err := li.save(ctx, engine, ref)
		if err != nil {
			li.Close()
			return nil, fmt.Errorf("handing %s from the Docker Engine to BuildKit: %w", ref, err)
		}
		li.contexts["context:"+ref] = "oci-layout://" + localStoreID + "@" + dgst.String()
	}
	if len(li.contexts) == 0 {
		li.Close()
		return nil, nil
	}
	if li.store, err = local.NewStore(dir); err != nil {
		li.Close()
		return nil, err
	}
	return li, nil
}

func (li *localImages) Close() error { return os.RemoveAll(li.dir) }

// save streams `docker save REF` into the store's blobs and writes an OCI manifest for it.
// Both archive layouts carry manifest.json: the classic one (<id>.json, <id>/layer.tar)
// and the OCI-based one of newer engines (blobs/sha256/…); every layer is an uncompressed tar.
func (li *localImages) save(ctx context.Context, engine Engine, ref string) (digest.Digest, error) {
	rc, err := engine.ImageSave(ctx, []string{ref})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	blobs := map[string]ocispec.Descriptor{} // archive path → blob
	var manifest []struct {
		Config string
		Layers []string
	}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		name := path.Clean(hdr.Name)
		switch {
		case name == "manifest.json":
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				return "", fmt.Errorf("reading manifest.json: %w", err)
			}
		case hdr.Typeflag == tar.TypeReg:
			desc, err := li.writeBlob(tr)
			if err != nil {
				return "", err
			}
			blobs[name] = desc
		case hdr.Typeflag == tar.TypeSymlink:
			// Classic archives link repeated layers to the first copy.
			if target, ok := blobs[path.Join(path.Dir(name), hdr.Linkname)]; ok {
				blobs[name] = target
			}
		}
	}
	if len(manifest) != 1 {
		return "", fmt.Errorf("the engine's archive of %s holds %d images, want 1", ref, len(manifest))
	}
	cfg, ok := blobs[path.Clean(manifest[0].Config)]
	if !ok {
		return "", fmt.Errorf("the engine's archive lacks the image config %s", manifest[0].Config)
	}
	m := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfg.Digest, Size: cfg.Size},
	}
	m.SchemaVersion = 2
	for _, l := range manifest[0].Layers {
		desc, ok := blobs[path.Clean(l)]
		if !ok {
			return "", fmt.Errorf("the engine's archive lacks layer %s", l)
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: desc.Digest, Size: desc.Size})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	desc, err := li.writeBlob(bytes.NewReader(b))
	return desc.Digest, err
}

// writeBlob stores r under blobs/sha256/<hex>, the layout of containerd's local store.
func (li *localImages) writeBlob(r io.Reader) (ocispec.Descriptor, error) {
	blobDir := filepath.Join(li.dir, "blobs", "sha256")
	if err := os.MkdirAll(blobDir, 0o700); err != nil {
		return ocispec.Descriptor{}, err
	}
	f, err := os.CreateTemp(blobDir, ".ingest-")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(f.Name(), filepath.Join(blobDir, sum)); err != nil && !errors.Is(err, os.ErrExist) {
		return ocispec.Descriptor{}, err
	}
	return ocispec.Descriptor{Digest: digest.NewDigestFromEncoded(digest.SHA256, sum), Size: n}, nil
}
