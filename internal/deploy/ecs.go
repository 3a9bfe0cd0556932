package deploy

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/docker-magents/docker-magents/internal/agentspec"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/templates"
)

// ECSOptions are what the guide's task definition left as xxx.
type ECSOptions struct {
	Templates        string
	Env              map[string]string
	Var              string // the credential's variable: ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN …
	SecretARN        string // the Secrets Manager secret holding it (docker magents auth deploy ecs)
	ExecutionRoleARN string // lets ECS read the secret and write logs
	TaskRoleARN      string // optional: what the agent itself may do in AWS
	EFSID            string // the file system for the workspaces and config dirs
	Region           string
}

// ECSFamily is agent's task definition family: every agent has its own task definition
// (its AGENT_ID and task differ, and an ECS service cannot override a container).
func ECSFamily(project, agent string) string { return project + "-" + agent }

// ECS renders one task definition per agent (agent-N/task-definition.json), each decoded
// checked against ecs.RegisterTaskDefinitionInput's shape.
func ECS(f *fleet.Fleet, o ECSOptions) ([]Document, error) {
	var missing []string
	for _, m := range []struct{ flag, v string }{
		{"--secret-arn (create the secret with docker magents auth deploy ecs)", o.SecretARN},
		{"--execution-role-arn", o.ExecutionRoleARN}, {"--efs-id", o.EFSID}, {"--region", o.Region},
	} {
		if m.v == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("an ECS task definition needs %s", strings.Join(missing, ", "))
	}
	if o.Var == "" {
		return nil, errors.New("no credential variable for the task definition's secret")
	}
	l, err := agentspec.LimitsOf(f)
	if err != nil {
		return nil, err
	}
	mem, cpu := l.MemoryBytes>>20, int(l.CPUsOrDefault()*1024)
	sec, err := agentspec.SecurityOf(f, true)
	if err != nil {
		return nil, err
	}
	var docs []Document
	for i, agent := range f.AgentNames() {
		env := map[string]string{}
		for k, v := range o.Env {
			env[k] = v
		}
		maps.Copy(env, agentEnv(f, i+1))
		data := map[string]any{
			"Family": ECSFamily(f.Project, agent), "Agent": agent, "Image": f.Image,
			"CPU": strconv.Itoa(cpu), "Memory": strconv.FormatInt(mem, 10), "User": fmt.Sprintf("%d:%d", sec.UID, sec.GID),
			"ExecutionRoleARN": o.ExecutionRoleARN, "TaskRoleARN": o.TaskRoleARN,
			"Env": sortedEnv(env), "Var": o.Var, "SecretARN": o.SecretARN,
			"LogGroup": "/docker-magents/" + f.Project, "Region": o.Region, "EFSID": o.EFSID,
			"WorkspaceDir": "/" + f.Project + "/" + agent + "/workspace", "ConfigDir": "/" + f.Project + "/" + agent + "/config",
		}
		b, err := templates.Render(o.Templates, "ecs/task-definition.json.tmpl", data)
		if err != nil {
			return nil, err
		}
		var in struct {
			Family               *string
			ContainerDefinitions []struct{ Secrets []any }
		}
		if err := checkJSON(awsShapes(), "RegisterTaskDefinitionInput", b, &in); err != nil {
			return nil, fmt.Errorf("%s's task definition is not an ecs.RegisterTaskDefinitionInput: %w", agent, err)
		}
		if in.Family == nil || len(in.ContainerDefinitions) != 1 || len(in.ContainerDefinitions[0].Secrets) == 0 {
			return nil, fmt.Errorf("%s's task definition lacks its family, its container or its secret", agent)
		}
		docs = append(docs, Document{Name: agent + "/task-definition.json", Content: b})
	}
	return docs, nil
}

// ECSCommands are the AWS CLI commands that register the task definitions and run each
// agent as a one-task service.
func ECSCommands(f *fleet.Fleet, o ECSOptions, cluster string) string {
	var b strings.Builder
	for _, agent := range f.AgentNames() {
		fmt.Fprintf(&b, "aws ecs register-task-definition --region %s --cli-input-json file://%s/task-definition.json\n", o.Region, agent)
	}
	for _, agent := range f.AgentNames() {
		fmt.Fprintf(&b, "aws ecs create-service --region %s --cluster %s --service-name %s --task-definition %s --desired-count 1 "+
			"--launch-type FARGATE --enable-execute-command --network-configuration 'awsvpcConfiguration={subnets=[SUBNET],securityGroups=[SG]}'\n",
			o.Region, cluster, ECSFamily(f.Project, agent), ECSFamily(f.Project, agent))
	}
	fmt.Fprintf(&b, "# attach: aws ecs execute-command --region %s --cluster %s --task TASK_ID --container agent --interactive --command 'tmux attach -t claude'\n", o.Region, cluster)
	return b.String()
}
