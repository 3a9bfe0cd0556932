// Package buildkit connects to a BuildKit daemon — the Docker Engine's embedded one or a
// standalone buildkitd — and builds Dockerfiles with the Dockerfile frontend run
// client-side, getting the result into the engine's image store.
package buildkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer" // docker-container:// addresses
	_ "github.com/moby/buildkit/client/connhelper/kubepod"         // kube-pod:// addresses
	mobyclient "github.com/moby/moby/client"
)

// Engine is what the builder needs of the Docker Engine API.
type Engine interface {
	DialHijack(ctx context.Context, url, proto string, meta map[string][]string) (net.Conn, error)
	ImageLoad(ctx context.Context, input io.Reader, opts ...mobyclient.ImageLoadOption) (mobyclient.ImageLoadResult, error)
	ImageInspect(ctx context.Context, ref string, opts ...mobyclient.ImageInspectOption) (mobyclient.ImageInspectResult, error)
	ImageSave(ctx context.Context, refs []string, opts ...mobyclient.ImageSaveOption) (mobyclient.ImageSaveResult, error)
	ImagePush(ctx context.Context, image string, options mobyclient.ImagePushOptions) (mobyclient.ImagePushResponse, error)
	Info(ctx context.Context, options mobyclient.InfoOptions) (mobyclient.SystemInfoResult, error)
}

// Builder is a connected BuildKit daemon.
type Builder struct {
	// Name is "docker" for the engine's embedded BuildKit, else the daemon's address.
	Name    string
	Workers []*client.WorkerInfo

	client   *client.Client
	engine   Engine
	embedded bool
}

// EmbeddedName names the Docker Engine's own BuildKit, as buildx's docker driver does.
const EmbeddedName = "docker"

// probeTimeout bounds the capability probe, so a daemon that accepts connections but
// never answers gives an error rather than a hang.
const probeTimeout = 30 * time.Second

// Connect reaches the BuildKit daemon of ep (Resolve), or the engine's embedded BuildKit
// when ep has no address, and probes that it answers.
func Connect(ctx context.Context, engine Engine, ep Endpoint) (*Builder, error) {
	if ep.Addr == "" {
		return connectEmbedded(ctx, engine)
	}
	c, err := client.New(ctx, ep.Addr, ep.opts...)
	if err != nil {
		return nil, fmt.Errorf("builder %s: %w", ep.Name, err)
	}
	b := &Builder{Name: ep.Name, client: c, engine: engine}
	if err := b.probe(ctx); err != nil {
		c.Close()
		if ep.Name != ep.Addr {
			return nil, fmt.Errorf("cannot reach BuildKit of builder %s at %s: %w\nSee 'docker buildx inspect --bootstrap %s', or give another with --builder", ep.Name, ep.Addr, err, ep.Name)
		}
		return nil, fmt.Errorf("cannot reach BuildKit at %s: %w\nStart buildkitd there, or check the address given with --builder or BUILDKIT_HOST", ep.Addr, err)
	}
	return b, nil
}

// connectEmbedded talks to the engine's BuildKit the way buildx's docker driver does:
// the gRPC API over a hijacked /grpc connection (h2c), sessions over /session.
func connectEmbedded(ctx context.Context, engine Engine) (*Builder, error) {
	c, err := client.New(ctx, "",
		client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return engine.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		client.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return engine.DialHijack(ctx, "/session", proto, meta)
		}),
	)
	if err != nil {
		return nil, err
	}
	b := &Builder{Name: EmbeddedName, client: c, engine: engine, embedded: true}
	if err := b.probe(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("the Docker Engine's embedded BuildKit does not answer on /grpc: %w\n"+
			"Use a standalone BuildKit daemon instead: --builder unix:///run/buildkit/buildkitd.sock (or set BUILDKIT_HOST)", err)
	}
	return b, nil
}

func (b *Builder) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	ws, err := b.client.ListWorkers(ctx)
	if err != nil {
		return unwrapGRPC(err)
	}
	if len(ws) == 0 {
		return errors.New("it has no workers")
	}
	b.Workers = ws
	return nil
}

// containerdStore reports whether the engine keeps images in containerd (its embedded
// BuildKit can then push what it builds).
func (b *Builder) containerdStore(ctx context.Context) bool {
	info, err := b.engine.Info(ctx, mobyclient.InfoOptions{})
	if err != nil {
		return false
	}
	for _, kv := range info.Info.DriverStatus {
		if len(kv) == 2 && kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			return true
		}
	}
	return false
}

// Embedded reports whether builds export straight into the engine's image store.
func (b *Builder) Embedded() bool { return b.embedded }

// Snapshotter is the first worker's snapshotter, when the daemon says. On the engine's
// embedded BuildKit a containerd snapshotter means the containerd image store.
func (b *Builder) Snapshotter() string {
	for _, w := range b.Workers {
		if s := w.Labels["org.mobyproject.buildkit.worker.snapshotter"]; s != "" {
			return s
		}
	}
	return ""
}

func (b *Builder) Close() error { return b.client.Close() }

// Describe names the builder, its BuildKit version (daemons older than 0.11 do not say)
// and its worker's snapshotter.
func (b *Builder) Describe(ctx context.Context) string {
	d := b.Name
	if b.embedded {
		d += " (the engine's embedded BuildKit"
	} else {
		d += " (standalone BuildKit"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if info, err := b.client.Info(ctx); err == nil && info.BuildkitVersion.Version != "" && !strings.HasPrefix(info.BuildkitVersion.Version, "v0.0.0") {
		d += " " + info.BuildkitVersion.Version
	}
	if s := b.Snapshotter(); s != "" {
		d += ", snapshotter " + s
	}
	return d + ")"
}

// unwrapGRPC shortens gRPC's "rpc error: code = Unavailable desc = …" to its description.
func unwrapGRPC(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "desc = "); i >= 0 {
		return errors.New(msg[i+len("desc = "):])
	}
	return err
}
