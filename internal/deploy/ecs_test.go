package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/golden"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

var testECS = ECSOptions{
	Env:              map[string]string{"ANTHROPIC_BASE_URL": "https://gateway.example.com"},
	Var:              "CLAUDE_CODE_OAUTH_TOKEN",
	SecretARN:        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:docker-magents/claude-auth-magents-AbCdEf",
	ExecutionRoleARN: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
	EFSID:            "fs-0123456789abcdef0",
	Region:           "eu-west-1",
}

func ecsFleet(n int) *fleet.Fleet {
	f := testFleet(n)
	if n > 1 {
		f.Headless, f.Tasks = true, []string{"Write the parser", "Test it", "Review it"}
	}
	return f
}

func TestECSGolden(t *testing.T) {
	for _, n := range []int{1, 3} {
		docs, err := ECS(ecsFleet(n), testECS)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != n {
			t.Fatalf("%d task definitions for %d agents", len(docs), n)
		}
		var all []string
		for _, d := range docs {
			all = append(all, "# "+d.Name+"\n"+string(d.Content))
		}
		all = append(all, "# commands\n"+ECSCommands(ecsFleet(n), testECS, "agents"))
		golden.Assert(t, strings.Join(all, "\n"), "ecs-"+string(rune('0'+n))+".txt")
	}
	// Least privilege, as compose gives it: the image's user, no privileged mode, a
	// read-only root (task storage for what the agent writes besides its volumes), and no
	// task role unless given (so no AWS credentials in the task's metadata endpoint).
	docs, err := ECS(ecsFleet(1), testECS)
	if err != nil {
		t.Fatal(err)
	}
	in := object(t, docs[0]).(*ecs.RegisterTaskDefinitionInput)
	c := in.ContainerDefinitions[0]
	if c.User == nil || *c.User != "1000:1000" || c.Privileged == nil || *c.Privileged || c.ReadonlyRootFilesystem == nil || !*c.ReadonlyRootFilesystem {
		t.Errorf("agent container: user %v privileged %v read-only root %v", c.User, c.Privileged, c.ReadonlyRootFilesystem)
	}
	if testECS.TaskRoleARN == "" && in.TaskRoleArn != nil {
		t.Errorf("a task role nobody gave: %v", *in.TaskRoleArn)
	}
	if _, err := ECS(ecsFleet(1), ECSOptions{Var: "ANTHROPIC_API_KEY", Region: "eu-west-1"}); err == nil ||
		!strings.Contains(err.Error(), "--secret-arn") || !strings.Contains(err.Error(), "--efs-id") {
		t.Errorf("missing ARNs: %v", err)
	}
}

// The AWS CLI checks a request's parameters against the ECS API model before it sends
// anything: a task definition it accepts gets as far as connecting (to a closed loopback
// port), and one with a mistyped field does not.
func TestECSTaskDefinitionPassesTheAWSCLI(t *testing.T) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("MAGENTS_REQUIRE_TOOLS") == "1" || os.Getenv("CI") == "true" {
			t.Fatal("the AWS CLI is not installed (hack/install-engine.sh installs Debian's awscli)")
		}
		t.Skip("the AWS CLI is not installed: apt-get install awscli")
	}
	docs, err := ECS(ecsFleet(3), testECS)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	check := func(name string, doc []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(aws, "ecs", "register-task-definition", "--cli-input-json", "file://"+path,
			"--endpoint-url", "http://127.0.0.1:9", "--region", "eu-west-1", "--cli-connect-timeout", "1")
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_MAX_ATTEMPTS=1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	for i, d := range docs {
		if out := check(strings.ReplaceAll(d.Name, "/", "-"), d.Content); !strings.Contains(out, "Could not connect to the endpoint URL") {
			t.Errorf("%s: the AWS CLI refused it before sending:\n%s", d.Name, out)
		}
		if i > 0 {
			continue
		}
		bad := strings.Replace(string(d.Content), `"essential"`, `"esential"`, 1)
		if out := check("bad.json", []byte(bad)); !strings.Contains(out, "esential") || strings.Contains(out, "Could not connect") {
			t.Errorf("a mistyped field was not refused by the AWS CLI:\n%s", out)
		}
	}
}
