package compose

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cliloader "github.com/docker/cli/cli/compose/loader"
	clitypes "github.com/docker/cli/cli/compose/types"
	"go.yaml.in/yaml/v4"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/gatewaypolicy"
	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
	"github.com/docker-magents/docker-magents/internal/agentspec"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// StackVersion is the compose file format a Swarm stack file is written in: docker stack
// deploy validates against docker/cli's own v3 schemas, which reject what only the
// Compose Specification allows (a top-level name:, for one).
const StackVersion = "3.9"

// StackSecret is the credential a stack gives its agents: a Swarm secret created by
// docker stack deploy from File. Swarm secrets cannot change, so Name carries a digest of
// the value: a rotated credential is a new secret.
type StackSecret struct {
	Var  string // the variable Claude reads: ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN …
	File string // absolute path of the file holding the value
	Name string // the Swarm secret's name
}

// StackSecretKey is the secret's key in the stack file, and its file name in the agents
// (/run/secrets/claude-auth).
const StackSecretKey = "claude-auth"

// StackConfig is one file of the shared agent config as a Swarm config: created by docker
// stack deploy from File, under a Name with a digest of its content (Swarm configs cannot
// change either), delivered to Path under the agents' config delivery dir.
type StackConfig struct {
	Key  string // the config's key in the stack file
	Name string
	File string // absolute path of the file on this host
	Path string // its path under fleet.ConfigDeliveredDir
}

// StackGateway is the fleet's gateway in a stack: the work queue's dispatcher and, when the
// credential is one it relays (fleet.GatewayRelays), the model gateway — one service of the
// supervisor binary in its proxy role, which alone holds the fleet's key and then the
// credential. Agents reach it over the stack's network, each known by its token, a secret
// of its own.
type StackGateway struct {
	Key    StackSecret            // the fleet's key (Var unused)
	Tokens map[string]StackSecret // each agent's token, by agent (Var unused)
	// Relays: the credential is the gateway's; agents get their token in its place.
	Relays bool
	// GitCredentials, when set, are the fleet's git credentials, for queue add --push.
	GitCredentials *StackSecret
}

// Where the gateway service's secrets and state are (its name and port: fleet.GatewayService, fleet.GatewayPort).
const (
	stackKeySecret     = "magents-key"
	stackTokenSecret   = "magents-agent-token"
	stackGitSecret     = "magents-git-credentials"
	stackGatewayVolume = "gateway-state"
)

// Stack renders the fleet as a Swarm stack file: one service per agent (agent-1 …, one
// replica each, its own AGENT_ID and volumes for Claude's config and the workspace),
// deploy resources and restart policy, the credential as a Swarm secret. There is no
// container_name, build or host bind mount: tasks may land on any node.
//
// env is the shared env file's settings, written into each service's environment so the
// stack file stands alone (an env_file would be read from wherever it is deployed). With gw
// the stack has the fleet's gateway too (StackGateway).
func Stack(f *fleet.Fleet, secret *StackSecret, env map[string]string, configs []StackConfig, gw *StackGateway) ([]byte, error) {
	cfg := clitypes.Config{Version: StackVersion, Volumes: map[string]clitypes.VolumeConfig{}, Secrets: map[string]clitypes.SecretConfig{}}
	if secret != nil {
		cfg.Secrets[StackSecretKey] = clitypes.SecretConfig{Name: secret.Name, File: secret.File}
	}
	if gw != nil {
		cfg.Secrets[stackKeySecret] = clitypes.SecretConfig{Name: gw.Key.Name, File: gw.Key.File}
		for _, name := range f.AgentNames() {
			tok, ok := gw.Tokens[name]
			if !ok {
				return nil, fmt.Errorf("no gateway token for %s (a bug in docker-magents)", name)
			}
			cfg.Secrets[stackTokenSecret+"-"+name] = clitypes.SecretConfig{Name: tok.Name, File: tok.File}
		}
		if gw.GitCredentials != nil {
			cfg.Secrets[stackGitSecret] = clitypes.SecretConfig{Name: gw.GitCredentials.Name, File: gw.GitCredentials.File}
		}
	}
	if len(cfg.Secrets) == 0 {
		cfg.Secrets = nil
	}
	if len(configs) > 0 {
		cfg.Configs = map[string]clitypes.ConfigObjConfig{}
		for _, c := range configs {
			cfg.Configs[c.Key] = clitypes.ConfigObjConfig{Name: c.Name, File: c.File}
		}
	}
	agentSecret := secret
	if gw != nil && gw.Relays {
		agentSecret = nil // the gateway's alone
	}
	for i, name := range f.AgentNames() {
		svc, err := stackService(f, name, i+1, agentSecret, env, configs)
		if err != nil {
			return nil, err
		}
		if gw != nil {
			stackGatewayClient(f, &svc, name, gw)
		}
		cfg.Services = append(cfg.Services, svc)
		cfg.Volumes[fleet.ConfigVolume(name)] = clitypes.VolumeConfig{}
		cfg.Volumes[fleet.CloneVolume(name)] = clitypes.VolumeConfig{}
	}
	if gw != nil {
		cfg.Services = append(cfg.Services, stackGatewayService(f, secret, env, gw))
		cfg.Volumes[stackGatewayVolume] = clitypes.VolumeConfig{}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&cfg); err != nil {
		return nil, err
	}
	b, err := literalYAML(buf.Bytes())
	if err != nil {
		return nil, err
	}
	loaded, err := loadStack(b, f.Dir())
	if err != nil {
		return nil, fmt.Errorf("the generated stack file does not load (a bug in docker-magents): %w", err)
	}
	got := map[string]clitypes.MappingWithEquals{}
	for _, s := range loaded.Services {
		got[s.Name] = s.Environment
	}
	for _, s := range cfg.Services {
		for k, v := range s.Environment {
			if g := got[s.Name][k]; g == nil || *g != *v {
				return nil, fmt.Errorf("the generated stack file does not give %s its %s as it is (a bug in docker-magents)", s.Name, k)
			}
		}
	}
	return b, nil
}

func stackService(f *fleet.Fleet, name string, n int, secret *StackSecret, shared map[string]string, configs []StackConfig) (clitypes.ServiceConfig, error) {
	env := clitypes.MappingWithEquals{}
	for k, v := range shared {
		env[k] = ptr(v)
	}
	id := strconv.Itoa(n)
	for k, v := range agentspec.Env(f, n) {
		env[k] = ptr(v)
	}
	if secret != nil {
		env[secret.Var+"_FILE"] = ptr("/run/secrets/" + StackSecretKey)
	}
	if len(configs) > 0 {
		env[agentenv.SharedConfig] = ptr("1") // the configs the stack delivers
	}
	s := clitypes.ServiceConfig{
		Name:        name,
		Image:       f.Image,
		Environment: env,
		WorkingDir:  fleet.WorkspaceDir,
		Labels:      clitypes.Labels{fleet.AgentLabel: id},
		Volumes: []clitypes.ServiceVolumeConfig{
			{Type: "volume", Source: fleet.ConfigVolume(name), Target: fleet.ClaudeConfigDir},
			{Type: "volume", Source: fleet.CloneVolume(name), Target: fleet.WorkspaceDir},
		},
		HealthCheck: &clitypes.HealthCheckConfig{
			Test:        clitypes.HealthCheckTest{"CMD", "/usr/local/bin/magents-supervisor", "health"},
			Interval:    durationPtr(5 * time.Second),
			Timeout:     durationPtr(5 * time.Second),
			Retries:     ptr(uint64(3)),
			StartPeriod: durationPtr(30 * time.Second),
		},
		StopGracePeriod: durationPtr(15 * time.Second),
		Logging:         &clitypes.LoggingConfig{Driver: "json-file", Options: map[string]string{"max-size": LogMaxSize, "max-file": LogMaxFiles}},
		Deploy: clitypes.DeployConfig{
			Replicas: ptr(uint64(1)),
			Labels:   clitypes.Labels{fleet.AgentLabel: id},
			RestartPolicy: &clitypes.RestartPolicy{
				Condition: "any", Delay: durationPtr(5 * time.Second),
			},
		},
	}
	if f.Headless {
		// A finished headless run stays up with its result; a crash is restarted.
		s.Deploy.RestartPolicy.Condition = "on-failure"
	}
	if secret != nil {
		// Readable by the image's user only (the stack sets no user: the image's 1000:1000).
		s.Secrets = []clitypes.ServiceSecretConfig{{Source: StackSecretKey, UID: "1000", GID: "1000", Mode: ptr(uint32(0o400))}}
	}
	for _, c := range configs {
		s.Configs = append(s.Configs, clitypes.ServiceConfigObjConfig{
			Source: c.Key, Target: fleet.ConfigDeliveredDir + "/" + c.Path, Mode: ptr(uint32(0o444)),
		})
	}
	l, err := agentspec.LimitsOf(f)
	if err != nil {
		return s, err
	}
	limits := &clitypes.ResourceLimit{MemoryBytes: clitypes.UnitBytes(l.MemoryBytes), Pids: max(l.Pids, 0)}
	if l.CPUs > 0 {
		limits.NanoCPUs = strconv.FormatFloat(l.CPUs, 'f', -1, 64)
	}
	s.Deploy.Resources.Limits = limits
	// The stack sets no user: the image's own (agentspec.SecurityOf with remote).
	sec, err := agentspec.SecurityOf(f, true)
	if err != nil {
		return s, err
	}
	if sec.DropAllCaps {
		s.CapDrop = []string{"ALL"}
	}
	if sec.ReadOnlyRootfs {
		s.ReadOnly = true
		for _, dir := range sec.Writable {
			s.Volumes = append(s.Volumes, clitypes.ServiceVolumeConfig{Type: "tmpfs", Target: dir})
		}
	}
	return s, nil
}

// stackGatewayClient gives agent's service its token and the gateway's address: for the
// work queue, and in the credential's place when the gateway relays it.
func stackGatewayClient(f *fleet.Fleet, s *clitypes.ServiceConfig, agent string, gw *StackGateway) {
	token := "/run/secrets/" + stackTokenSecret
	s.Secrets = append(s.Secrets, clitypes.ServiceSecretConfig{
		Source: stackTokenSecret + "-" + agent, Target: stackTokenSecret, UID: "1000", GID: "1000", Mode: ptr(uint32(0o400)),
	})
	s.Environment[agentenv.AgentTokenFile] = ptr(token)
	s.Environment[agentenv.DispatcherURL] = ptr(fleet.GatewayURL)
	if gw.GitCredentials != nil {
		// The fleet's remotes through the gateway's git relay: the agent's git sends its
		// own token, and the gateway alone holds the credential.
		s.Environment[gitrelay.URLEnv] = ptr(fleet.GatewayURL)
		for k, v := range f.GitConfigEnv(f.GitRelayConfig(fleet.GatewayURL)...) {
			s.Environment[k] = ptr(v)
		}
	}
	if gw.Relays {
		s.Environment["ANTHROPIC_BASE_URL"] = ptr(fleet.GatewayURL)
		s.Environment[agentenv.GatewayTokenFile] = ptr(token)
	}
}

// stackGatewayService is the gateway's service: the supervisor in its proxy role, serving
// the agents by token on fleet.GatewayPort and its own port (usage, budgets, the queue
// through docker exec) on loopback, its queue and account on a volume of its own. It runs
// as the image's user, with no capability and a read-only root.
func stackGatewayService(f *fleet.Fleet, secret *StackSecret, shared map[string]string, gw *StackGateway) clitypes.ServiceConfig {
	env := clitypes.MappingWithEquals{}
	for k, v := range shared {
		env[k] = ptr(v) // the model's endpoint (ANTHROPIC_BASE_URL) and the proxy settings
	}
	state := fleet.WorkspaceDir
	names := strings.Join(f.AgentNames(), ",")
	for k, v := range map[string]string{
		agentenv.ProxyAddr:    "127.0.0.1:" + fleet.ProxyPort,
		agentenv.AgentAddr:    ":" + fleet.GatewayPort,
		agentenv.AgentNames:   names,
		agentenv.AgentKeyFile: "/run/secrets/" + stackKeySecret,
		agentenv.QueueState:   state + "/" + fleet.QueueStateFile,
	} {
		env[k] = ptr(v)
	}
	own := func(source string) clitypes.ServiceSecretConfig {
		return clitypes.ServiceSecretConfig{Source: source, UID: "1000", GID: "1000", Mode: ptr(uint32(0o400))}
	}
	secrets := []clitypes.ServiceSecretConfig{own(stackKeySecret)}
	if gw.Relays && secret != nil {
		env[agentenv.ModelGateway] = ptr("1")
		env[secret.Var+"_FILE"] = ptr("/run/secrets/" + StackSecretKey)
		env[agentenv.GatewayState] = ptr(state + "/" + fleet.GatewayStateFile)
		if f.HasBudgets() {
			env[agentenv.GatewayBudgets] = ptr(string(gatewayBudgets(f)))
		}
		if len(f.GatewayAllow) > 0 {
			env[agentenv.GatewayAllow] = ptr(gatewaypolicy.Allowed(f.GatewayAllow).String())
		}
		secrets = append(secrets, own(StackSecretKey))
	}
	if gw.GitCredentials != nil {
		env[gitrelay.CredentialsEnv] = ptr("/run/secrets/" + stackGitSecret)
		if len(f.GitRemotes) > 0 {
			env[gitrelay.RemotesEnv] = ptr(strings.Join(f.GitRemotes, ","))
		}
		secrets = append(secrets, own(stackGitSecret))
	}
	return clitypes.ServiceConfig{
		Name:        fleet.GatewayService,
		Image:       f.Image,
		Command:     clitypes.ShellCommand{"proxy"},
		Environment: env,
		Secrets:     secrets,
		Volumes: []clitypes.ServiceVolumeConfig{
			{Type: "volume", Source: stackGatewayVolume, Target: state},
			{Type: "tmpfs", Target: "/tmp", Tmpfs: &clitypes.ServiceVolumeTmpfs{Size: 1 << 30}},
		},
		ReadOnly: true,
		CapDrop:  []string{"ALL"},
		// A model endpoint on the node itself, as for up's egress proxy.
		ExtraHosts: clitypes.HostsList{"host.docker.internal:host-gateway"},
		HealthCheck: &clitypes.HealthCheckConfig{
			Test:     clitypes.HealthCheckTest{"CMD", "/usr/local/bin/magents-supervisor", "proxy-denied"},
			Interval: durationPtr(5 * time.Second), Timeout: durationPtr(5 * time.Second), Retries: ptr(uint64(3)),
			StartPeriod: durationPtr(10 * time.Second),
		},
		StopGracePeriod: durationPtr(15 * time.Second),
		Logging:         &clitypes.LoggingConfig{Driver: "json-file", Options: map[string]string{"max-size": LogMaxSize, "max-file": LogMaxFiles}},
		Deploy: clitypes.DeployConfig{
			Replicas: ptr(uint64(1)),
			// Agents reach its one task by its name's address: no virtual IP, which needs
			// the node's IPVS (absent from some kernels) and buys nothing for one replica.
			EndpointMode:  "dnsrr",
			RestartPolicy: &clitypes.RestartPolicy{Condition: "any", Delay: durationPtr(5 * time.Second)},
			Resources:     clitypes.Resources{Limits: &clitypes.ResourceLimit{MemoryBytes: clitypes.UnitBytes(512 << 20), Pids: 256}},
		},
	}
}

func durationPtr(d time.Duration) *clitypes.Duration { return ptr(clitypes.Duration(d)) }

// ValidateStack loads a stack file as docker stack deploy does: docker/cli's compose
// loader, its v3 schema for the file's version and its list of forbidden properties.
func ValidateStack(b []byte, dir string) error {
	_, err := loadStack(b, dir)
	return err
}

// loadStack is ValidateStack, which returns what it loaded.
// The environment it interpolates in has a value for every variable of this process's.
func loadStack(b []byte, dir string) (*clitypes.Config, error) {
	dict, err := cliloader.ParseYAML(b)
	if err != nil {
		return nil, err
	}
	if v, _ := dict["version"].(string); v != StackVersion {
		return nil, fmt.Errorf("stack file version %q, want %q", v, StackVersion)
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		env[k] = "INTERPOLATED"
	}
	cfg, err := cliloader.Load(clitypes.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []clitypes.ConfigFile{{Filename: filepath.Join(dir, "stack.yml"), Config: dict}},
		Environment: env,
	})
	if err != nil {
		return nil, err
	}
	if unsupported := cliloader.GetUnsupportedProperties(dict); len(unsupported) > 0 {
		return nil, fmt.Errorf("properties docker stack deploy ignores: %v", unsupported)
	}
	if len(cfg.Services) == 0 {
		return nil, fmt.Errorf("no services")
	}
	return cfg, nil
}

// WriteStackConfigs writes the fleet's shared agent config and its manifest under dir
// (where docker stack deploy reads them) and returns them as Swarm configs; none without
// a shared config.
func WriteStackConfigs(f *fleet.Fleet, dir string) ([]StackConfig, error) {
	if len(f.ConfigSet) == 0 {
		return nil, nil
	}
	var out []StackConfig
	for _, file := range f.ConfigSet.Delivered(f.Config.Generation) {
		path := filepath.Join(dir, filepath.FromSlash(file.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(file.Content), 0o600); err != nil {
			return nil, err
		}
		sum := strings.TrimPrefix(agentconfig.Digest(file.Content), "sha256:")[:12]
		out = append(out, StackConfig{Key: configObjectName(file.Name), Name: f.Project + "-" + agentconfig.ObjectName(file.Name) + "-" + sum, File: path, Path: file.Name})
	}
	return out, nil
}
