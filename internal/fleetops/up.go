package fleetops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/cli/cli/config"
	mobyclient "github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/images/supervisor/lifecycle"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
	"github.com/docker-magents/docker-magents/internal/agentimage"
	"github.com/docker-magents/docker-magents/internal/agentspec"
	"github.com/docker-magents/docker-magents/internal/atomicfile"
	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetauth"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetqueue"
	"github.com/docker-magents/docker-magents/internal/fleetusage"
	"github.com/docker-magents/docker-magents/internal/sharedconfig"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

// UpRequest is what up is asked to do.
type UpRequest struct {
	ComposeFile string // absolute
	Project     string // the project asked for (-p, COMPOSE_PROJECT_NAME), or ""
	Settings    Settings
	// Credential is the one given on the command line (--api-key-file, --oauth-token-file),
	// or nil; CredentialFiles are the files it was read from, masked from the agents.
	Credential      *auth.Credential
	CredentialFiles []string
	// Force writes over a compose file changed behind docker magents' back.
	Force bool
	// BuildMissing builds the images the fleet needs and the engine lacks, the agents' from
	// plan when the project's devcontainer makes it (plan nil: none does) (nil: none is
	// built; compose pulls what is missing).
	BuildMissing func(ctx context.Context, f *fleet.Fleet, plan *agentimage.Plan) error
	// Log takes up's warnings and notes, as they come (the command's standard error).
	Log io.Writer
}

// UpResult is what up did.
type UpResult struct {
	Fleet *fleet.Fleet
	// Queued are the tasks beyond one per agent, put on the fleet's work queue.
	Queued []workqueue.Task
}

// Up writes the fleet's compose file and starts its agents, waiting until each is
// healthy. Under the project's lock it reads the saved fleet once, applies the settings
// once and validates the result once; a request refused before the file is written leaves
// everything as it was (a new project, not even its state dir).
func (s *Service) Up(ctx context.Context, req UpRequest) (*UpResult, error) {
	path := req.ComposeFile
	if err := atomicfile.CheckWritable(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("cannot write the compose file in %s: %w", filepath.Dir(path), err)
	}
	ping, err := s.cli.Client().Ping(ctx, mobyclient.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return nil, fmt.Errorf("no Docker engine answers (%w): start it, or choose one with --context or DOCKER_HOST; nothing was written", err)
	}
	lock, err := fleet.LockProject(path)
	if err != nil {
		return nil, err
	}
	p, err := s.prepareUp(ctx, req, versions.GreaterThanOrEqualTo(ping.APIVersion, "1.44"))
	if err != nil {
		lock.Abandon()
		return nil, err
	}
	f := p.fleet
	c, err := shellout.New(s.cli).Compose(ctx)
	if err != nil {
		lock.Abandon()
		return nil, fmt.Errorf("%w; nothing was written", err)
	}
	if err := s.claimVolumes(ctx, f); err != nil {
		lock.Abandon()
		return nil, err
	}
	defer lock.Unlock()
	if err := s.writeUp(ctx, f, p.cred, req); err != nil {
		return nil, err
	}
	if req.BuildMissing != nil {
		if err := req.BuildMissing(ctx, f, p.plan); err != nil {
			return nil, err
		}
	}
	if err := shellout.Run(c.Command(ctx, path, f.Project, ComposeArgs(f, "up", "-d", "--wait", "--remove-orphans")...)); err != nil {
		return nil, fmt.Errorf("starting the agents: %w\nSee 'docker magents ps' and 'docker magents logs AGENT'", err)
	}
	// A new shared config is given to running agents, whose containers compose does not
	// recreate for a config's content.
	if len(f.ConfigSet) > 0 && p.generation != nil && *p.generation != f.Config.Generation {
		if err := sharedconfig.Push(ctx, s.cli.Client(), s.cli.Out(), f, f.AgentNames(), false); err != nil {
			return nil, fmt.Errorf("giving the running agents the changed shared config: %w\nRun docker magents config sync to try again", err)
		}
	}
	res := &UpResult{Fleet: f}
	if len(f.Queued) > 0 {
		tasks := make([]workqueue.NewTask, len(f.Queued))
		for i, prompt := range f.Queued {
			tasks[i] = workqueue.NewTask{Prompt: prompt}
		}
		if res.Queued, err = fleetqueue.Add(ctx, fleetgateway.Find(ctx, s.cli.Client(), f), f, tasks); err != nil {
			return nil, fmt.Errorf("queueing the tasks beyond one per agent: %w\nAdd them with docker magents queue add --file", err)
		}
	}
	return res, nil
}

// prepareUp is the fleet up writes: the saved one (or a new project's) with the settings
// applied and validated, its file checked against the record of what docker magents
// wrote, its image planned, its credential decided. Nothing is written.
func (s *Service) prepareUp(ctx context.Context, req UpRequest, startInterval bool) (*prepared, error) {
	f, saved, err := Open(req.ComposeFile, req.Project)
	if err != nil {
		return nil, err
	}
	var generation *string
	if saved {
		g := f.Config.Generation
		generation = &g
	}
	if err := req.Settings.Apply(f, !saved); err != nil {
		return nil, err
	}
	f.HealthStartInterval = startInterval
	if err := checkRecord(f, req); err != nil {
		return nil, err
	}
	plan, err := planImage(f, req.Log)
	if err != nil {
		return nil, err
	}
	// Which credential the agents get decides whether the gateway relays the model.
	cred, err := fleetauth.Decide(s.cli, f, req.Credential)
	if err != nil {
		return nil, err
	}
	if f.HasBudgets() {
		if err := fleetusage.NoGateway(f); err != nil {
			return nil, fmt.Errorf("--budget-usd and --fleet-budget-usd are enforced by the model gateway, and %w; nothing was written", err)
		}
	}
	// A credential file stays where it is: masked from the agents, now and at every later up.
	for _, file := range req.CredentialFiles {
		if rel := f.Rel(file); file != "" && file != "-" && !slices.Contains(f.CredentialFiles, rel) {
			f.CredentialFiles = append(f.CredentialFiles, rel)
		}
	}
	return &prepared{fleet: f, generation: generation, plan: plan, cred: cred}, nil
}

// prepared is the fleet up is to write, and what it found on the way.
type prepared struct {
	fleet *fleet.Fleet
	// generation is the saved fleet's shared config generation (nil for a new project).
	generation *string
	plan       *agentimage.Plan // nil: no devcontainer
	cred       *fleetauth.Decided
}

// writeUp writes what the agents are given, then the compose file and its record.
func (s *Service) writeUp(ctx context.Context, f *fleet.Fleet, cred *fleetauth.Decided, req UpRequest) error {
	log := req.Log
	if f.Docker {
		fmt.Fprintf(log, "WARNING: the agents get the Docker socket (%s): whoever controls an agent is root on this host\n", fleet.DockerSocket)
	}
	if err := compose.PrepareEnvFile(f.Abs(f.EnvFile)); err != nil {
		return err
	}
	if err := cred.Hand(s.cli, f); err != nil {
		return err
	}
	if err := f.WriteAgentKey(); err != nil {
		return fmt.Errorf("making the fleet's key: %w", err)
	}
	switch {
	case f.ModelGateway():
		fmt.Fprintf(log, "Model: through the fleet's gateway, which alone holds the %s (each agent has a token of its own; see docker magents usage)\n", f.Credential)
	case f.Egress == fleet.EgressAllowlist && f.Credential != "":
		fmt.Fprintf(log, "note: each agent holds the %s itself: the model gateway (usage, budgets) relays API keys and auth tokens only\n", f.Credential)
	}
	if err := f.WriteGitCredentials(); err != nil {
		return err
	}
	if err := relayedRemotes(f, log); err != nil {
		return err
	}
	content, err := compose.Render(ctx, f)
	if err != nil {
		return err
	}
	// What the agents are given is made first: an include refused (a symlink out of the
	// repository) leaves the file as it was.
	if err := workspace.PrepareAgents(f, log); err != nil {
		return err
	}
	if err := f.MakeEgressSocketDirs(); err != nil {
		return err
	}
	if err := atomicfile.Write(f.ComposeFile, content, 0o644); err != nil {
		return err
	}
	if err := f.WriteRecord(RecordsDir(), content); err != nil {
		return err
	}
	if err := f.IgnoreStateDir(); err != nil {
		fmt.Fprintf(log, "warning: could not add %s/ and the env file to .gitignore: %v\n", fleet.StateDirName, err)
	}
	return nil
}

// checkRecord refuses to go on from a compose file that is not what docker magents last
// wrote (an agent may share its directory) unless forced; and, even then, to take from it
// a setting that widens what the agents reach: each must be given again. The trusted
// settings are those recorded, or, with no record on this machine, those of a new project
// with the same settings.
func checkRecord(f *fleet.Fleet, req UpRequest) error {
	rec, err := fleet.ReadRecord(RecordsDir(), f.ComposeFile)
	if err != nil {
		return err
	}
	why, err := fleet.Unrecorded(rec, f.ComposeFile)
	if err != nil || why == "" {
		return err
	}
	file := filepath.Base(f.ComposeFile)
	if !req.Force {
		return fmt.Errorf("%s: %s. Keep your own changes in another compose file (docker compose -f %s -f yours.yml …), "+
			"or run 'docker magents up --force' to write it anew", f.ComposeFile, why, file)
	}
	var trusted map[string]string
	if rec != nil {
		trusted = rec.Privileged
	} else {
		fresh := fleet.New(f.Project, f.ComposeFile)
		if err := req.Settings.Apply(fresh, true); err != nil {
			return err
		}
		trusted = fresh.Privileged()
	}
	if changes := f.PrivilegeChanges(trusted, req.Settings.Given); len(changes) > 0 {
		return fmt.Errorf("%s: %s, and it widens what the agents reach:\n  %s\n"+
			"Such a setting is never taken from a file changed behind docker magents' back (an agent may have written it): "+
			"give each of these flags with the value you want", f.ComposeFile, why, strings.Join(changes, "\n  "))
	}
	return nil
}

// relayedRemotes finds the remotes the gateway's git relay serves the agents
// (fleet.GitRemotes) and says what the agents' git reaches.
func relayedRemotes(f *fleet.Fleet, w io.Writer) error {
	f.GitRemotes = nil
	if f.Config.GitCredentials == "" {
		return nil
	}
	creds, err := os.ReadFile(f.Abs(f.Config.GitCredentials))
	if err != nil {
		return fmt.Errorf("reading the git credentials: %w", err)
	}
	if repo, err := workspace.Open(f.Abs(f.Workspace)); err == nil && repo != nil {
		if f.GitRemotes, err = repo.RelayedRemotes(creds); err != nil {
			return err
		}
	}
	if len(f.GitRemotes) == 0 {
		fmt.Fprintln(w, "note: no https remote of this repository has a line in the git credentials: the agents' git reaches no remote (queue add --push and docker magents push still push)")
		return nil
	}
	fmt.Fprintf(w, "Git: the agents reach %s through the fleet's gateway, which alone holds the git credentials; each pushes only its own magents/ branch or its task's, never forced, never a delete\n", strings.Join(f.GitRemotes, ", "))
	return nil
}

// claimVolumes refuses an up whose project's volumes belong to another fleet (another
// checkout's compose file, with the same project name), and records this fleet as the
// owner of its project's volumes. Volumes made before owners were recorded are taken
// over, with a note.
func (s *Service) claimVolumes(ctx context.Context, f *fleet.Fleet) error {
	owner, err := fleet.ReadOwner(config.Dir(), f.Project)
	if err != nil {
		return err
	}
	vols, err := s.projectVolumes(ctx, f)
	if err != nil {
		return err
	}
	var names []string
	for _, v := range vols {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	switch {
	case owner != nil && owner.ComposeFile == f.ComposeFile:
		return nil
	case owner != nil && len(names) > 0:
		return f.OwnerMismatch(owner, names)
	case owner == nil && len(names) > 0:
		fmt.Fprintf(s.cli.Err(), "note: project %s has volumes made before docker-magents recorded which checkout they serve; this fleet (%s) takes them\n", f.Project, f.ComposeFile)
	}
	return f.WriteOwner(config.Dir())
}

// ComposeArgs are args for compose on the fleet, with compose's .env never read: an agent
// may write the directory of the compose file (shared isolation), and since every value
// docker magents writes is literal, .env could only reach COMPOSE_* settings — a file an
// agent made must not. The empty mask file stands in for it.
func ComposeArgs(f *fleet.Fleet, args ...string) []string {
	return append([]string{"--env-file", f.MaskFile()}, args...)
}

// planImage makes the agents' image the devcontainer's, when the fleet has one: tagged by
// a digest of all that goes into it, so a changed devcontainer is a new image, said in
// one line.
func planImage(f *fleet.Fleet, log io.Writer) (*agentimage.Plan, error) {
	plan, err := agentimage.For(f)
	if err != nil || plan == nil {
		return nil, err
	}
	switch {
	case f.Image == plan.Tag:
	case strings.HasPrefix(f.Image, agentimage.TagPrefix):
		fmt.Fprintf(log, "The devcontainer (%s) changed: the agents' image is now %s\n", f.Devcontainer, plan.Tag)
	default:
		fmt.Fprintf(log, "Agents' image: %s, from the devcontainer %s\n", plan.Tag, f.Devcontainer)
	}
	f.Image = plan.Tag
	for _, note := range plan.Notes() {
		fmt.Fprintln(log, note)
	}
	f.ProjectCommands = ""
	c := plan.Config
	if cmds := (lifecycle.Commands{OnCreate: c.OnCreateCommand, UpdateContent: c.UpdateContentCommand, PostCreate: c.PostCreateCommand, PostStart: c.PostStartCommand}); cmds != (lifecycle.Commands{}) {
		b, err := json.Marshal(cmds)
		if err != nil {
			return nil, err
		}
		f.ProjectCommands = string(b)
	}
	f.ProjectEnv = nil
	for _, name := range slices.Sorted(maps.Keys(plan.Config.ContainerEnv)) {
		if agentspec.Reserved(name) {
			fmt.Fprintf(log, "devcontainer: containerEnv %s ignored (the fleet sets it, or it reaches an agent's credentials, proxy or supervisor)\n", name)
			continue
		}
		if f.ProjectEnv == nil {
			f.ProjectEnv = map[string]string{}
		}
		f.ProjectEnv[name] = plan.Config.ContainerEnv[name]
	}
	return plan, nil
}
