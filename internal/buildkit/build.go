package buildkit

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/progress/progressui"
	mobyclient "github.com/moby/moby/client"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
)

// Request is one Dockerfile build.
type Request struct {
	Context    fsutil.FS // the build context; the Dockerfile is read from it too, unless DockerfileDir
	Dockerfile string    // the Dockerfile's path inside Context (or DockerfileDir)
	// DockerfileDir is where the Dockerfile is when it is not in the context (a project's
	// devcontainer may keep it beside devcontainer.json and build from the repository).
	DockerfileDir fsutil.FS
	Target        string
	Args          map[string]string
	Tags          []string
	Platforms     []string
	NoCache       bool
	Pull          bool                 // always resolve base images from their registry
	BaseImages    []string             // images the Dockerfile starts FROM; a standalone daemon gets the engine's copies
	Secrets       map[string][]byte    // BuildKit secrets (RUN --mount=type=secret,id=…)
	Session       []session.Attachable // give an auth provider (docker login credentials) to pull or push
	// Push pushes the image to the registry each tag names, besides loading it into the
	// engine. RegistryAuth gives the engine's push its credentials (base64 JSON, as the
	// Engine API takes them) for a tag, when the engine pushes.
	Push         bool
	RegistryAuth func(ref string) (string, error)
}

// Build solves req with the Dockerfile frontend running in this process (so the newest
// Dockerfile syntax works on old daemons and nothing is pulled for it), shows progress
// in mode on out, and puts the image into the engine: with the moby exporter on the
// embedded BuildKit, else as a docker tarball loaded through the Engine API.
func (b *Builder) Build(ctx context.Context, req Request, mode progressui.DisplayMode, out io.Writer) error {
	if len(req.Tags) == 0 {
		return errors.New("nothing to tag the image with: give at least one --tag")
	}
	attrs := map[string]string{
		"filename": req.Dockerfile,
		"target":   req.Target,
	}
	for k, v := range req.Args {
		attrs["build-arg:"+k] = v
	}
	if len(req.Platforms) > 0 {
		attrs["platform"] = strings.Join(req.Platforms, ",")
	}
	if req.NoCache {
		attrs["no-cache"] = ""
	}
	if req.Pull {
		attrs["image-resolve-mode"] = "pull"
	}
	opt := client.SolveOpt{
		FrontendAttrs: attrs,
		LocalMounts: map[string]fsutil.FS{
			"context":    req.Context,
			"dockerfile": cmp.Or(req.DockerfileDir, req.Context),
		},
		Session: append([]session.Attachable{secretsprovider.FromMap(maps.Clone(req.Secrets))}, req.Session...),
	}

	if !b.embedded && !req.Pull && len(req.BaseImages) > 0 {
		li, err := exportLocalImages(ctx, b.engine, req.BaseImages)
		if err != nil {
			return err
		}
		if li != nil {
			defer li.Close()
			maps.Copy(attrs, li.contexts)
			opt.OCIStores = map[string]content.Store{localStoreID: li.store}
		}
	}

	display, err := progressui.NewDisplay(out, mode)
	if err != nil {
		return err
	}
	statusCh := make(chan *client.SolveStatus)
	displayCh := make(chan *client.SolveStatus)
	var failed failedSteps
	parent := ctx // the errgroup's context ends with the build; the push comes after
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		defer close(displayCh)
		for st := range statusCh {
			failed.record(st)
			displayCh <- st
		}
		return nil
	})
	eg.Go(func() error {
		// The display drains the channel to its end, even when the build fails.
		_, err := display.UpdateFrom(context.WithoutCancel(ctx), displayCh)
		return err
	})

	name := strings.Join(req.Tags, ",")
	var load *io.PipeWriter
	enginePush := false
	if b.embedded {
		attrs := map[string]string{"name": name}
		if req.Push {
			// The containerd image store lets the engine's BuildKit push what it builds;
			// the graph-driver store does not: then the engine pushes it (as buildx's docker driver does).
			if b.containerdStore(ctx) {
				attrs["push"] = "true"
			} else {
				enginePush = true
			}
		}
		opt.Exports = []client.ExportEntry{{Type: "moby", Attrs: attrs}}
	} else {
		pr, pw := io.Pipe()
		load = pw
		opt.Exports = []client.ExportEntry{{
			Type:   client.ExporterDocker,
			Attrs:  map[string]string{"name": name},
			Output: func(map[string]string) (io.WriteCloser, error) { return pw, nil },
		}}
		eg.Go(func() error { return loadImage(ctx, b.engine, pr) })
		if req.Push {
			opt.Exports = append(opt.Exports, client.ExportEntry{Type: client.ExporterImage, Attrs: map[string]string{"name": name, "push": "true"}})
		}
	}

	eg.Go(func() error {
		_, err := b.client.Build(ctx, opt, "docker-magents", builder.Build, statusCh)
		if load != nil {
			// On success the exporter has closed the pipe already; on failure this ends the load.
			load.CloseWithError(fmt.Errorf("build failed"))
		}
		return err
	})
	if err := eg.Wait(); err != nil {
		return describe(err, failed.names)
	}
	if enginePush {
		for _, tag := range req.Tags {
			if err := pushImage(parent, b.engine, tag, req.RegistryAuth, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// pushImage pushes ref from the engine's image store to its registry.
func pushImage(ctx context.Context, engine Engine, ref string, registryAuth func(string) (string, error), out io.Writer) error {
	var encoded string
	if registryAuth != nil {
		var err error
		if encoded, err = registryAuth(ref); err != nil {
			return err
		}
	}
	resp, err := engine.ImagePush(ctx, ref, mobyclient.ImagePushOptions{RegistryAuth: encoded})
	if err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("pushing %s: %s (log in with docker login, or check the name)", ref, msg.Error.Message)
		}
		if msg.Aux == nil && msg.Status != "" && msg.Progress == nil {
			fmt.Fprintf(out, "push %s: %s %s\n", ref, msg.ID, msg.Status)
		}
	}
	return nil
}

// failedSteps collects the names of the vertices BuildKit reports as failed (cancelled
// siblings excepted), so the error can name the step as well as the cause.
type failedSteps struct {
	names []string
}

func (f *failedSteps) record(st *client.SolveStatus) {
	for _, v := range st.Vertexes {
		if v.Error != "" && !strings.Contains(v.Error, context.Canceled.Error()) && !slices.Contains(f.names, v.Name) {
			f.names = append(f.names, v.Name)
		}
	}
}

// loadImage streams a docker image tarball into the engine and reports load errors.
func loadImage(ctx context.Context, engine Engine, r io.ReadCloser) error {
	defer r.Close()
	resp, err := engine.ImageLoad(ctx, r, mobyclient.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("loading the image into the Docker Engine: %w", err)
	}
	defer resp.Close()
	dec := json.NewDecoder(resp)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("loading the image into the Docker Engine: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return fmt.Errorf("loading the image into the Docker Engine: %s", msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return fmt.Errorf("loading the image into the Docker Engine: %s", msg.Error)
		}
	}
}

// describe turns a solve error into what buildx prints: the failing step, its place in
// the Dockerfile (when the daemon reports it), and the cause.
func describe(err error, steps []string) error {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "failing step: %s\n", shorten(s, 120))
	}
	for _, src := range errdefs.Sources(err) {
		if src.Info == nil {
			continue
		}
		_ = src.Print(&b)
	}
	// Older daemons already say "failed to solve:".
	msg := strings.TrimPrefix(unwrapGRPC(err).Error(), "failed to solve: ")
	if b.Len() == 0 {
		return fmt.Errorf("failed to solve: %s", msg)
	}
	return fmt.Errorf("failed to solve: %s\n%s", msg, strings.TrimRight(b.String(), "\n"))
}

// shorten collapses runs of blanks (a RUN step's continuation lines) and cuts s to n runes.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
